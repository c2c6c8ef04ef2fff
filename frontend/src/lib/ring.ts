// A fixed-size ring buffer of timed samples for the faceplates' mini trends,
// and the SVG polyline for them. Pure.

export interface Sample {
  /** Unix ms. */
  t: number;
  v: number;
}

export class Ring {
  private buf: (Sample | undefined)[];
  private start = 0;
  private n = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error('capacity must be at least 1');
    this.buf = new Array<Sample | undefined>(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Adds a sample; the oldest goes when full. Samples older than the newest are dropped. */
  push(t: number, v: number): void {
    if (!Number.isFinite(t) || !Number.isFinite(v)) return;
    const last = this.last();
    if (last && t < last.t) return;
    if (this.n < this.capacity) {
      this.buf[(this.start + this.n) % this.capacity] = { t, v };
      this.n++;
    } else {
      this.buf[this.start] = { t, v };
      this.start = (this.start + 1) % this.capacity;
    }
  }

  last(): Sample | undefined {
    return this.n ? this.buf[(this.start + this.n - 1) % this.capacity] : undefined;
  }

  /** The samples, oldest first; only those at or after `since` when given. */
  toArray(since = -Infinity): Sample[] {
    const out: Sample[] = [];
    for (let i = 0; i < this.n; i++) {
      const s = this.buf[(this.start + i) % this.capacity]!;
      if (s.t >= since) out.push(s);
    }
    return out;
  }

  clear(): void {
    this.start = 0;
    this.n = 0;
    this.buf = new Array<Sample | undefined>(this.capacity);
  }
}

/** The points attribute of an SVG polyline for samples in [from, to] × [lo, hi] scaled to w × h (y down). */
export function polyline(samples: readonly Sample[], from: number, to: number, lo: number, hi: number, w: number, h: number): string {
  const span = to - from || 1;
  const range = hi - lo || 1;
  const pts: string[] = [];
  for (const s of samples) {
    if (s.t < from || s.t > to) continue;
    const x = ((s.t - from) / span) * w;
    const y = h - ((Math.max(lo, Math.min(hi, s.v)) - lo) / range) * h;
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  return pts.join(' ');
}

/** Min and max over several series, padded a little; [0, 1] for none. */
export function extent(series: readonly (readonly Sample[])[], pad = 0.05): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) for (const p of s) {
    if (p.v < lo) lo = p.v;
    if (p.v > hi) hi = p.v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}
