import { describe, expect, it } from 'vitest';
import { boxOf, buttonValue, cellBox, displayNameError, equipmentOf, faceplateOf, fraction, limitsText, writeKind, symbolState, tagsOf, type Display } from './display';
import { DisplayNav } from './nav.svelte';
import { MAX_PATTERNS_PER_MESSAGE, subscriptionMessages } from './transport';

const good = (value: number | boolean, extra = {}) => ({ value, quality: 'good' as const, ...extra });

describe('display helpers', () => {
  it('tagsOf: every bound tag once, in order', () => {
    const d: Display = {
      version: 1,
      level: 'area',
      width: 100,
      height: 100,
      objects: [
        { type: 'symbol', id: 'a', x: 0, y: 0, tag: 'P.Run', fault: 'P.Fault' },
        { type: 'value', id: 'b', x: 0, y: 0, tag: 'P.Run' },
        { type: 'text', id: 'c', x: 0, y: 0, text: 'x' },
        { type: 'setpoint', id: 'd', x: 0, y: 0, tag: 'T.SP' },
      ],
    };
    expect(tagsOf(d)).toEqual(['P.Run', 'P.Fault', 'T.SP']);
  });

  it('symbolState: fault wins, bad and out of service, bools, numbers in transition, unbound', () => {
    expect(symbolState(good(true), good(true))).toBe('fault');
    expect(symbolState(good(true), { value: true, quality: 'bad' })).toBe('running');
    expect(symbolState({ value: null, quality: 'bad', reason: 'device disabled' })).toBe('oos');
    expect(symbolState({ value: null, quality: 'bad', reason: 'timeout' })).toBe('bad');
    expect(symbolState(undefined)).toBe('bad');
    expect(symbolState(good(false))).toBe('stopped');
    expect(symbolState(good(true))).toBe('running');
    expect(symbolState(good(0))).toBe('stopped');
    expect(symbolState(good(40))).toBe('transition');
    expect(symbolState(good(100))).toBe('running');
    expect(symbolState(good(5, { low: 5, high: 10 }))).toBe('stopped');
    expect(symbolState(undefined, undefined, false)).toBe('stopped');
  });

  it('fraction: the object range, else the tag range; clamped; null when bad', () => {
    expect(fraction(good(50))).toBe(0.5);
    expect(fraction(good(50), 0, 200)).toBe(0.25);
    expect(fraction(good(15, { low: 10, high: 20 }))).toBe(0.5);
    expect(fraction(good(500))).toBe(1);
    expect(fraction({ value: 1, quality: 'bad' })).toBeNull();
    expect(fraction(good(1), 5, 5)).toBeNull();
  });

  it('buttonValue, equipmentOf, boxOf', () => {
    expect(buttonValue('true')).toBe(true);
    expect(buttonValue('false')).toBe(false);
    expect(buttonValue('12.5')).toBe(12.5);
    expect(buttonValue('open')).toBeNull();
    expect(equipmentOf({ type: 'symbol', id: 'x', x: 0, y: 0, tag: 'P101.Running' })).toBe('P101');
    expect(equipmentOf({ type: 'symbol', id: 'x', x: 0, y: 0, tag: 'P101.Running', equipment: 'AREA1' })).toBe('AREA1');
    expect(boxOf({ type: 'pipe', id: 'p', x: 0, y: 0, points: [{ x: 5, y: 9 }, { x: 25, y: 1 }] })).toEqual({ x: 5, y: 1, w: 20, h: 8 });
  });

  it('subscriptionMessages: chunks the server accepts', () => {
    const names = Array.from({ length: 600 }, (_, i) => `T${i}`);
    const m = subscriptionMessages('subscribe', names);
    expect(m.map((x) => x.tags.length)).toEqual([MAX_PATTERNS_PER_MESSAGE, MAX_PATTERNS_PER_MESSAGE, 88]);
    expect(m.flatMap((x) => x.tags)).toEqual(names);
    expect(subscriptionMessages('unsubscribe', [])).toEqual([]);
  });
});

describe('DisplayNav: back and forward like a browser', () => {
  it('open, back, forward; opening clears forward', () => {
    const n = new DisplayNav();
    n.open('a');
    n.open('b');
    n.open('c');
    n.goBack();
    expect(n.current).toBe('b');
    n.goBack();
    expect(n.current).toBe('a');
    n.goBack();
    expect(n.current).toBe('a');
    n.goForward();
    expect(n.current).toBe('b');
    n.open('d');
    expect(n.forward).toEqual([]);
    expect(n.back).toEqual(['a', 'b']);
    n.open('d');
    expect(n.back).toEqual(['a', 'b']);
  });
});

describe('Conflator.drain(max): a burst spread over frames', () => {
  it('takes the oldest max, keeps the rest, newest value per tag', async () => {
    const { Conflator } = await import('./messages');
    const c = new Conflator();
    c.push(Array.from({ length: 600 }, (_, i) => ({ name: `T${i}`, value: i, quality: 'good' as const, ts: 1 })));
    c.push([{ name: 'T599', value: -1, quality: 'good', ts: 2 }]);
    const a = c.drain(250);
    expect(a.map((v) => v.name)).toEqual(Array.from({ length: 250 }, (_, i) => `T${i}`));
    expect(c.size).toBe(350);
    expect(c.drain(250).length).toBe(250);
    const rest = c.drain(250);
    expect(rest.length).toBe(100);
    expect(rest.at(-1)).toMatchObject({ name: 'T599', value: -1 });
    expect(c.size).toBe(0);
  });
});

describe('displayNameError', () => {
  it('follows the server rule and refuses taken names', () => {
    expect(displayNameError('line-a')).toBeNull();
    expect(displayNameError('a_1', ['b'])).toBeNull();
    expect(displayNameError('')).toMatch(/Enter/);
    expect(displayNameError('Line')).toMatch(/lower-case/);
    expect(displayNameError('a b')).toMatch(/lower-case/);
    expect(displayNameError('-a')).toMatch(/Start/);
    expect(displayNameError('x'.repeat(65))).toMatch(/64/);
    expect(displayNameError('x'.repeat(64))).toBeNull();
    expect(displayNameError('overview', ['overview'])).toMatch(/already/);
  });
});

describe('cellBox', () => {
  it('gives a symbol room for its label, marker and fault flag', () => {
    const b = cellBox({ type: 'symbol', id: 's', x: 100, y: 200, w: 60, h: 60, symbol: 'pump', label: 'P101' });
    expect(b.x).toBeLessThanOrEqual(100 - 6); // the hit area
    expect(b.y).toBeLessThanOrEqual(200 - 24); // the label and hit area above
    expect(b.x + b.w).toBeGreaterThanOrEqual(100 + 60 + 30); // the marker (r 22 at w + 8)
    expect(b.y + b.h).toBeGreaterThanOrEqual(200 + 60 + 24); // the FAULT flag
    const long = cellBox({ type: 'symbol', id: 's', x: 0, y: 0, w: 20, h: 20, symbol: 'pump', label: 'Feed pump number one' });
    expect(long.x + long.w).toBeGreaterThan(200);
    expect(cellBox({ type: 'bar', id: 'b', x: 10, y: 10, w: 50, h: 14 })).toEqual({ x: 6, y: 6, w: 58, h: 22 });
    // A pipe's points are relative to its x, y.
    expect(cellBox({ type: 'pipe', id: 'p', x: 100, y: 100, points: [{ x: 0, y: 10 }, { x: 50, y: 0 }] })).toEqual({ x: 96, y: 96, w: 58, h: 18 });
    const t = cellBox({ type: 'text', id: 't', x: 10, y: 10, text: 'Mixing line', size: 20 });
    expect(t.w).toBeGreaterThan(11 * 20 * 0.5);
    expect(t.h).toBeGreaterThan(20);
  });
});

describe('faceplateOf, writeKind, limitsText', () => {
  it('opens the equipment faceplate, else the generic one of the symbol tags', () => {
    expect(faceplateOf({ type: 'symbol', id: 'p', x: 0, y: 0, tag: 'P101.Running', faceplate: 'P101' })).toEqual({ kind: 'equipment', equipment: 'P101' });
    expect(faceplateOf({ type: 'symbol', id: 'p2', x: 0, y: 0, tag: 'P201.Running', fault: 'P201.Fault', label: 'P201' })).toEqual({
      kind: 'tags',
      title: 'P201',
      tags: ['P201.Running', 'P201.Fault'],
    });
    // An equipment name without a faceplate of its own titles the generic one.
    expect(faceplateOf({ type: 'symbol', id: 't', x: 0, y: 0, tag: 'T2.Level', faceplate: 'T2' })).toMatchObject({ kind: 'tags', title: 'T2', tags: ['T2.Level'] });
    expect(faceplateOf({ type: 'symbol', id: 'm', x: 0, y: 0, tag: 'M.Run', fault: 'M.Run' })).toMatchObject({ title: 'm', tags: ['M.Run'] });
    expect(faceplateOf({ type: 'symbol', id: 'static', x: 0, y: 0 })).toBeNull();
    expect(faceplateOf({ type: 'value', id: 'v', x: 0, y: 0, tag: 'A.B' })).toBeNull();
  });

  it('writeKind: setpoints for numbers, commands for bools, nothing when read only', () => {
    expect(writeKind({ writable: true, value: 12.5 })).toBe('setpoint');
    expect(writeKind({ writable: true, value: false })).toBe('command');
    expect(writeKind({ writable: false, value: 1 })).toBeNull();
    expect(writeKind({ writable: true, value: null })).toBeNull();
    expect(writeKind(undefined)).toBeNull();
  });

  it('limitsText', () => {
    expect(limitsText(0, 100, '%')).toBe('0 … 100 %');
    expect(limitsText(0, undefined, '°C')).toBe('≥ 0 °C');
    expect(limitsText(undefined, 5)).toBe('≤ 5');
    expect(limitsText(undefined, undefined, 'bar')).toBe('');
  });
});
