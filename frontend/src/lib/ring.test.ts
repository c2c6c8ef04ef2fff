import { describe, expect, it } from 'vitest';
import { Ring, extent, polyline } from './ring';

describe('Ring', () => {
  it('keeps the newest capacity samples, oldest first', () => {
    const r = new Ring(3);
    for (let i = 1; i <= 5; i++) r.push(i * 1000, i);
    expect(r.size).toBe(3);
    expect(r.toArray().map((s) => s.v)).toEqual([3, 4, 5]);
    expect(r.last()).toEqual({ t: 5000, v: 5 });
  });
  it('filters by time and drops samples out of order or not finite', () => {
    const r = new Ring(10);
    r.push(1000, 1);
    r.push(2000, 2);
    r.push(1500, 9);
    r.push(3000, Number.NaN);
    r.push(4000, 4);
    expect(r.toArray().map((s) => s.v)).toEqual([1, 2, 4]);
    expect(r.toArray(2000).map((s) => s.v)).toEqual([2, 4]);
    r.clear();
    expect(r.size).toBe(0);
    expect(r.last()).toBeUndefined();
  });
  it('refuses a capacity below 1', () => {
    expect(() => new Ring(0)).toThrow();
  });
});

describe('polyline and extent', () => {
  it('scales samples into the box, y down, clamped to the range', () => {
    const pts = [
      { t: 0, v: 0 },
      { t: 50, v: 5 },
      { t: 100, v: 20 },
    ];
    expect(polyline(pts, 0, 100, 0, 10, 200, 100)).toBe('0.0,100.0 100.0,50.0 200.0,0.0');
    expect(polyline(pts, 60, 100, 0, 10, 200, 100)).toBe('200.0,0.0');
  });
  it('pads the range; a flat series gets ±1; none gives 0..1', () => {
    expect(extent([[{ t: 0, v: 10 }, { t: 1, v: 20 }]], 0.1)).toEqual([9, 21]);
    expect(extent([[{ t: 0, v: 5 }]])).toEqual([4, 6]);
    expect(extent([])).toEqual([0, 1]);
  });
});
