import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff';

describe('Backoff', () => {
  it('doubles from 0.5 s up to 5 s without jitter', () => {
    const b = new Backoff({ jitter: 0 });
    const seq = Array.from({ length: 8 }, () => b.next());
    expect(seq).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);
  });

  it('jitters within ±20 % and never exceeds the maximum', () => {
    const lo = new Backoff({ random: () => 0 });
    expect([lo.next(), lo.next(), lo.next(), lo.next(), lo.next()]).toEqual([400, 800, 1600, 3200, 4000]);
    const hi = new Backoff({ random: () => 0.999999 });
    expect([hi.next(), hi.next(), hi.next(), hi.next(), hi.next()]).toEqual([600, 1200, 2400, 4800, 5000]);
    const rnd = new Backoff();
    for (let i = 0; i < 200; i++) {
      const d = rnd.next();
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(5000);
    }
  });

  it('starts again after a reset', () => {
    const b = new Backoff({ jitter: 0 });
    b.next();
    b.next();
    expect(b.attempts).toBe(2);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(500);
  });
});
