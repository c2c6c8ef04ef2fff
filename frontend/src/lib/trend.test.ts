import { describe, expect, it } from 'vitest';
import {
  PRESETS,
  alignPens,
  appendLive,
  bucketsToPoints,
  countLines,
  exportProgress,
  historyQuery,
  parseHistory,
  parseRowEstimate,
  parseTrendHash,
  trendHash,
  type HistorySeries,
} from './trend';

describe('trend', () => {
  it('has the presets of the issue, shortest first', () => {
    expect(PRESETS.map((p) => p.label)).toEqual(['10 min', '1 h', '8 h', '24 h', '7 d']);
    expect(PRESETS[4].ms).toBe(604_800_000);
  });

  it('reads and writes the #/trends hash', () => {
    expect(parseTrendHash('#/trends?tags=T101.Level,TIC101.PV')).toEqual(['T101.Level', 'TIC101.PV']);
    expect(parseTrendHash('#/trends?tags=A&tags=B,A')).toEqual(['A', 'B']);
    expect(parseTrendHash('#/trends')).toEqual([]);
    expect(parseTrendHash('#/tags?tags=A')).toEqual([]);
    expect(parseTrendHash(trendHash(['a b', 'x,y']))).toEqual(['a b', 'x', 'y']); // a comma splits
    expect(trendHash(['T101.Level'])).toBe('#/trends?tags=T101.Level');
    expect(parseTrendHash('#/trends?tags=' + 'abcdefghij'.split('').join(','))).toHaveLength(8);
  });

  it('turns buckets into points that keep the min and the max', () => {
    const s: HistorySeries = {
      tag: 'T',
      t: [0, 1000, 2000, 3000],
      min: [1, 2, null, 7],
      max: [1, 9, null, 8],
      last: [1, 3, null, 8],
      q: [2, 2, 0, 2],
      n: [1, 5, 1, 2],
    };
    const p = bucketsToPoints(s, 1000);
    // one sample; a spread ending low (max first); no value; a spread ending high (min first)
    expect(p.t).toEqual([0, 1000, 1500, 2000, 3000, 3500]);
    expect(p.v).toEqual([1, 9, 2, null, 7, 8]);
    expect(Math.max(...(p.v.filter((v) => v !== null) as number[]))).toBe(9);
  });

  it('appends live samples after the history and drops what left the window', () => {
    const p = { t: [1000, 2000, 3000], v: [1, 2, 3] };
    expect(appendLive(p, 3000, 9, 0)).toBe(false); // not newer
    expect(appendLive(p, 4000, 4, 0)).toBe(true);
    expect(p).toEqual({ t: [1000, 2000, 3000, 4000], v: [1, 2, 3, 4] });
    expect(appendLive(p, 5000, 5, 3500)).toBe(true); // keeps 3000, the point before the window
    expect(p).toEqual({ t: [3000, 4000, 5000], v: [3, 4, 5] });
    expect(appendLive(p, 0, 1, 0)).toBe(false); // never read
  });

  it('aligns pens on one time axis in seconds', () => {
    const d = alignPens([
      { t: [1000, 3000], v: [1, 3] },
      { t: [2000, 3000], v: [20, 30] },
    ]);
    expect(d).toEqual([
      [1, 2, 3],
      [1, null, 3],
      [null, 20, 30],
    ]);
    expect(alignPens([])).toEqual([[]]);
  });

  it('builds history queries', () => {
    const q = new URLSearchParams(historyQuery(['A', 'B'], 1.5, 2000.2, 20_000));
    expect(q.getAll('tag')).toEqual(['A', 'B']);
    expect(q.get('from')).toBe('1');
    expect(q.get('to')).toBe('2001');
    expect(q.get('points')).toBe('10000');
    expect(new URLSearchParams(historyQuery(['A'], 0, 1)).has('points')).toBe(false);
  });

  it('checks the history answer', () => {
    const ok = { from: 0, to: 1, bucket_ms: 1, series: [{ tag: 'A', t: [0], min: [1], max: [1], last: [1], q: [2], n: [1] }] };
    expect(parseHistory(ok).series[0].tag).toBe('A');
    expect(() => parseHistory({ series: [] })).toThrow();
    expect(() => parseHistory({ ...ok, series: [{ tag: 'A', t: [0, 1], min: [1], max: [1], last: [1] }] })).toThrow();
  });

  it('measures export progress from the row estimate and the lines received', () => {
    expect(parseRowEstimate('1200')).toBe(1200);
    expect(parseRowEstimate(null)).toBe(0);
    expect(parseRowEstimate('x')).toBe(0);
    expect(parseRowEstimate('-3')).toBe(0);
    const enc = new TextEncoder();
    expect(countLines(enc.encode('time,tag\n1,a\n2,'))).toBe(2);
    expect(exportProgress(1, 100)).toBe(0); // the header only
    expect(exportProgress(51, 100)).toBe(0.5);
    expect(exportProgress(500, 100)).toBe(1); // the estimate was low
    expect(exportProgress(10, 0)).toBeNull();
  });
});
