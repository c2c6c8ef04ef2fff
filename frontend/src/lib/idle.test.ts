import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleTimer } from './idle';

describe('IdleTimer', () => {
  let warns: (number | null)[];
  let expired: number;
  let t: IdleTimer;

  function make(timeoutMs: number, warnMs?: number) {
    t = new IdleTimer({ timeoutMs, warnMs, onWarn: (n) => warns.push(n), onExpire: () => expired++ });
    return t;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
    warns = [];
    expired = 0;
  });

  afterEach(() => {
    t?.stop();
    vi.useRealTimers();
  });

  it('warns once a second in the last 30 s, then expires once', () => {
    make(120_000).start();
    vi.advanceTimersByTime(89_999);
    expect(warns).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(warns).toEqual([30]);
    expect(t.isWarning).toBe(true);
    vi.advanceTimersByTime(5_000);
    expect(warns).toEqual([30, 29, 28, 27, 26, 25]);
    vi.advanceTimersByTime(24_999);
    expect(warns.at(-1)).toBe(1);
    expect(expired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(expired).toBe(1);
    expect(warns.at(-1)).toBe(null); // the warning goes away with the logout
    expect(t.isRunning).toBe(false);
    vi.advanceTimersByTime(600_000);
    expect(expired).toBe(1);
  });

  it('input before the warning moves the deadline without a warning', () => {
    make(60_000).start();
    vi.advanceTimersByTime(20_000);
    t.activity(); // idle since 20 s
    vi.advanceTimersByTime(20_000); // 40 s: 20 s idle, no warning yet
    expect(warns).toEqual([]);
    vi.advanceTimersByTime(10_000); // 30 s idle: the warning starts
    expect(warns).toEqual([30]);
    vi.advanceTimersByTime(30_000);
    expect(expired).toBe(1);
  });

  it('input during the warning ends it and starts over', () => {
    make(60_000).start();
    vi.advanceTimersByTime(35_000);
    expect(warns).toEqual([30, 29, 28, 27, 26, 25]);
    t.activity();
    expect(warns.at(-1)).toBe(null);
    expect(t.isWarning).toBe(false);
    vi.advanceTimersByTime(29_999);
    expect(warns.at(-1)).toBe(null);
    vi.advanceTimersByTime(1);
    expect(warns.at(-1)).toBe(30);
    vi.advanceTimersByTime(30_000);
    expect(expired).toBe(1);
  });

  it('many pointer moves cost no timers', () => {
    make(60_000).start();
    const before = vi.getTimerCount();
    for (let i = 0; i < 1000; i++) t.activity();
    expect(vi.getTimerCount()).toBe(before);
  });

  it('expires at once when the tab wakes up late', () => {
    make(60_000).start();
    // The page slept: the clock jumped, no timer ran meanwhile.
    vi.setSystemTime(Date.now() + 10 * 60_000);
    vi.advanceTimersByTime(30_000);
    expect(expired).toBe(1);
  });

  it('keeps the warning at most half of a short timeout', () => {
    make(10_000).start();
    vi.advanceTimersByTime(4_999);
    expect(warns).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(warns).toEqual([5]);
    vi.advanceTimersByTime(5_000);
    expect(expired).toBe(1);
  });

  it('stop ends the warning and never expires', () => {
    make(60_000).start();
    vi.advanceTimersByTime(40_000);
    t.stop();
    expect(warns.at(-1)).toBe(null);
    vi.advanceTimersByTime(60_000);
    expect(expired).toBe(0);
    t.activity(); // ignored while stopped
    expect(vi.getTimerCount()).toBe(0);
  });
});
