// Idle logout: after `timeoutMs` without input, expire; in the last `warnMs`,
// report the seconds left once a second so the page can warn. Pure apart from
// setTimeout; time comes from `now` (Date.now by default), so a sleeping or
// throttled tab expires as soon as it wakes up.

export interface IdleOptions {
  timeoutMs: number;
  /** Length of the warning before the logout; at most half the timeout. Default 30 s. */
  warnMs?: number;
  /** Seconds left while warning (once a second), null when the warning ends. */
  onWarn(secondsLeft: number | null): void;
  /** The timeout passed without input. Called once; the timer then stops. */
  onExpire(): void;
  now?: () => number;
}

export class IdleTimer {
  private readonly timeoutMs: number;
  private readonly warnMs: number;
  private readonly now: () => number;
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private warning = false;

  constructor(private readonly opts: IdleOptions) {
    this.timeoutMs = Math.max(1000, opts.timeoutMs);
    this.warnMs = Math.max(0, Math.min(opts.warnMs ?? 30_000, this.timeoutMs / 2));
    this.now = opts.now ?? (() => Date.now());
  }

  get isRunning(): boolean {
    return this.running;
  }

  get isWarning(): boolean {
    return this.warning;
  }

  start(): void {
    this.stop();
    this.running = true;
    this.last = this.now();
    this.schedule(this.timeoutMs - this.warnMs);
  }

  stop(): void {
    this.running = false;
    this.clear();
    this.endWarning();
  }

  /**
   * Input happened. Cheap enough for every pointermove: outside the warning it
   * only records the time; the pending check looks at it when it fires.
   */
  activity(): void {
    if (!this.running) return;
    this.last = this.now();
    if (this.warning) {
      this.endWarning();
      this.clear();
      this.schedule(this.timeoutMs - this.warnMs);
    }
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private endWarning(): void {
    if (!this.warning) return;
    this.warning = false;
    this.opts.onWarn(null);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(this.check, Math.max(0, ms));
  }

  private check = (): void => {
    this.timer = null;
    if (!this.running) return;
    const left = this.timeoutMs - (this.now() - this.last);
    if (left <= 0) {
      this.stop();
      this.opts.onExpire();
      return;
    }
    if (left <= this.warnMs) {
      this.warning = true;
      this.opts.onWarn(Math.ceil(left / 1000));
      // Next tick when the whole seconds left change.
      this.schedule(((left - 1) % 1000) + 1);
      return;
    }
    this.schedule(left - this.warnMs);
  };
}
