// Trend logic without the DOM: presets, the #/trends hash, the server's
// bucketed history turned into points that keep every spike, live samples
// appended after it, pens aligned for the chart, and CSV export progress.

import { request } from './transport';

export interface Preset {
  label: string;
  ms: number;
}

export const PRESETS: readonly Preset[] = [
  { label: '10 min', ms: 10 * 60_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '8 h', ms: 8 * 3_600_000 },
  { label: '24 h', ms: 24 * 3_600_000 },
  { label: '7 d', ms: 7 * 24 * 3_600_000 },
];

/** At most this many pens in one trend (the server's limit per request). */
export const MAX_PENS = 8;

/** The pens named by a #/trends?tags=A,B hash (tags may repeat: tags=A&tags=B). */
export function parseTrendHash(hash: string): string[] {
  const q = hash.indexOf('?');
  if (!hash.startsWith('#/trends') || q < 0) return [];
  const params = new URLSearchParams(hash.slice(q + 1));
  const out: string[] = [];
  for (const v of params.getAll('tags')) {
    for (const name of v.split(',')) {
      const n = name.trim();
      if (n && !out.includes(n) && out.length < MAX_PENS) out.push(n);
    }
  }
  return out;
}

/** The hash of a trend of these pens. */
export function trendHash(tags: readonly string[]): string {
  return tags.length ? `#/trends?tags=${tags.map(encodeURIComponent).join(',')}` : '#/trends';
}

/** One tag's history as the server sends it (columns; null: no value). */
export interface HistorySeries {
  tag: string;
  t: number[];
  min: (number | null)[];
  max: (number | null)[];
  last: (number | null)[];
  q: number[];
  n: number[];
}

export interface HistoryAnswer {
  from: number;
  to: number;
  bucket_ms: number;
  series: HistorySeries[];
}

/** A pen's points: times (Unix ms) and values, in time order. */
export interface PenPoints {
  t: number[];
  v: (number | null)[];
}

/**
 * The points to draw for a bucketed series: a bucket holding one sample is
 * that sample; a bucket with a spread is its min and its max half a bucket
 * apart (the last value's end of the spread second), so that every spike
 * shows at any zoom.
 */
export function bucketsToPoints(s: HistorySeries, bucketMs: number): PenPoints {
  const t: number[] = [];
  const v: (number | null)[] = [];
  for (let k = 0; k < s.t.length; k++) {
    const lo = s.min[k];
    const hi = s.max[k];
    if (lo === null || hi === null || lo === hi || s.n[k] <= 1) {
      t.push(s.t[k]);
      v.push(s.last[k] ?? lo);
      continue;
    }
    const half = Math.max(1, Math.floor(bucketMs / 2));
    const last = s.last[k];
    const maxLast = last !== null && Math.abs(last - hi) < Math.abs(last - lo);
    t.push(s.t[k], s.t[k] + half);
    v.push(maxLast ? lo : hi, maxLast ? hi : lo);
  }
  return { t, v };
}

/**
 * Appends a live sample (Unix ms) after the history if it is newer than the
 * last point, and drops points before `from` (keeping one before it, so the
 * line enters the chart from its left edge). Returns whether it changed.
 */
export function appendLive(p: PenPoints, ts: number, value: number | null, from: number): boolean {
  let changed = false;
  const n = p.t.length;
  if (ts > 0 && (n === 0 || ts > p.t[n - 1])) {
    p.t.push(ts);
    p.v.push(value);
    changed = true;
  }
  let drop = 0;
  while (drop + 1 < p.t.length && p.t[drop + 1] < from) drop++;
  if (drop > 0) {
    p.t.splice(0, drop);
    p.v.splice(0, drop);
    changed = true;
  }
  return changed;
}

/**
 * The pens on one time axis, as uPlot wants it: [x in seconds, y of pen 0,
 * y of pen 1, ...], x the sorted union of the pens' times, a pen's y null
 * where it has no point.
 */
export function alignPens(pens: readonly PenPoints[]): (number | null)[][] {
  const xs = [...new Set(pens.flatMap((p) => p.t))].sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const out: (number | null)[][] = [xs.map((x) => x / 1000)];
  for (const p of pens) {
    const ys: (number | null)[] = new Array(xs.length).fill(null);
    p.t.forEach((t, i) => (ys[index.get(t)!] = p.v[i]));
    out.push(ys);
  }
  return out;
}

/** The query string of a history request. */
export function historyQuery(tags: readonly string[], from: number, to: number, points?: number): string {
  const q = new URLSearchParams();
  for (const t of tags) q.append('tag', t);
  q.set('from', String(Math.floor(from)));
  q.set('to', String(Math.ceil(to)));
  if (points !== undefined) q.set('points', String(Math.max(1, Math.min(10_000, Math.round(points)))));
  return q.toString();
}

/** Checks the shape of a history answer (throws on anything else). */
export function parseHistory(x: unknown): HistoryAnswer {
  const a = x as HistoryAnswer;
  if (!a || typeof a.bucket_ms !== 'number' || !Array.isArray(a.series)) throw new Error('The history answer is not understood.');
  for (const s of a.series) {
    if (typeof s.tag !== 'string' || !Array.isArray(s.t) || s.t.length !== s.min?.length || s.t.length !== s.max?.length || s.t.length !== s.last?.length) {
      throw new Error('The history answer is not understood.');
    }
  }
  return a;
}

/** GET /api/v1/history for the pens over [from, to). */
export async function fetchHistory(tags: readonly string[], from: number, to: number, points: number): Promise<HistoryAnswer> {
  return parseHistory(await request<unknown>('GET', `/api/v1/history?${historyQuery(tags, from, to, points)}`, undefined, 30_000));
}

/** The export's row estimate from its X-Row-Estimate header (0 when absent or unreadable). */
export function parseRowEstimate(header: string | null): number {
  const n = Number(header ?? '');
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** Counts the line ends in a chunk of CSV bytes. */
export function countLines(chunk: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) n++;
  return n;
}

/**
 * Export progress from 0 to 1: rows received (less the header line) of the
 * estimate; null when there is no estimate (the page shows rows only).
 */
export function exportProgress(lines: number, estimate: number): number | null {
  if (estimate <= 0) return null;
  return Math.min(1, Math.max(0, lines - 1) / estimate);
}
