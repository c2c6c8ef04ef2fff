// Reconnect delays: 0.5 s doubling to 5 s, each with ±20 % jitter so that a
// room full of panels does not reconnect in lockstep after a server restart.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the nominal delay to jitter by, either way (0..1). */
  jitter?: number;
  /** Returns a number in [0, 1); injectable for tests. */
  random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 5000;
    this.factor = opts.factor ?? 2;
    this.jitter = opts.jitter ?? 0.2;
    this.random = opts.random ?? Math.random;
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay without jitter for a given attempt (0-based). */
  nominal(attempt: number): number {
    return Math.min(this.maxMs, this.initialMs * Math.pow(this.factor, attempt));
  }

  /** The next delay in milliseconds; never below 0 nor above maxMs. */
  next(): number {
    const base = this.nominal(this.attempt);
    this.attempt++;
    const spread = base * this.jitter;
    const delay = base - spread + 2 * spread * this.random();
    return Math.round(Math.max(0, Math.min(this.maxMs, delay)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
