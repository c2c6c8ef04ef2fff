// The horn's sound: a WebAudio oscillator beeping two tones, no audio files.
// Browsers (and the desktop app's webview) keep an AudioContext suspended
// until the user has touched the page; unlock() is called on the first
// pointerdown/keydown, and `unlocked` says whether sound can play.

import type { Beeper } from './horn';

type AudioContextCtor = typeof AudioContext;

function audioContextCtor(): AudioContextCtor | null {
  const w = globalThis as unknown as { AudioContext?: AudioContextCtor; webkitAudioContext?: AudioContextCtor };
  return w.AudioContext ?? w.webkitAudioContext ?? null;
}

/** Beep pattern: 0.4 s tone, 0.2 s pause, alternating 880 Hz and 660 Hz. */
const TONES = [880, 660];
const ON_S = 0.4;
const PERIOD_S = 0.6;
/** How far ahead beeps are scheduled on the audio clock. */
const AHEAD_S = 1.2;
const VOLUME = 0.18;

export class WebAudioHorn implements Beeper {
  private ctx: AudioContext | null = null;
  private osc: OscillatorNode | null = null;
  private gain: GainNode | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private nextAt = 0;
  private beep = 0;
  private wanted = false;
  /** Called when `unlocked` changes. */
  onchange: ((unlocked: boolean) => void) | null = null;

  /** True when audio can play now. */
  get unlocked(): boolean {
    return this.ctx?.state === 'running';
  }

  /** True when this browser has no WebAudio at all (no horn possible). */
  get unsupported(): boolean {
    return audioContextCtor() === null;
  }

  /**
   * Creates or resumes the AudioContext. Call it from a user gesture; a
   * call without one may still work where the browser allows autoplay.
   */
  async unlock(): Promise<boolean> {
    const Ctor = audioContextCtor();
    if (!Ctor) return false;
    try {
      if (!this.ctx) {
        this.ctx = new Ctor();
        this.ctx.onstatechange = () => {
          this.onchange?.(this.unlocked);
          if (this.wanted && this.unlocked) this.play();
        };
      }
      if (this.ctx.state === 'suspended') await this.ctx.resume();
    } catch {
      /* not allowed yet: the next gesture tries again */
    }
    const ok = this.unlocked;
    this.onchange?.(ok);
    if (ok && this.wanted) this.play();
    return ok;
  }

  start(): void {
    this.wanted = true;
    if (this.unlocked) this.play();
  }

  stop(): void {
    this.wanted = false;
    this.silence();
  }

  private play(): void {
    const ctx = this.ctx;
    if (!ctx || this.osc) return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    gain.gain.value = 0;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    this.osc = osc;
    this.gain = gain;
    this.nextAt = ctx.currentTime + 0.02;
    this.beep = 0;
    this.schedule();
    this.timer = setInterval(() => this.schedule(), 250);
  }

  /** Schedules beeps on the audio clock up to AHEAD_S ahead (timers in a background tab are throttled). */
  private schedule(): void {
    const ctx = this.ctx;
    const osc = this.osc;
    const g = this.gain?.gain;
    if (!ctx || !osc || !g) return;
    if (this.nextAt < ctx.currentTime) this.nextAt = ctx.currentTime + 0.02;
    while (this.nextAt < ctx.currentTime + AHEAD_S) {
      const t = this.nextAt;
      osc.frequency.setValueAtTime(TONES[this.beep % TONES.length], t);
      g.setValueAtTime(0, t);
      g.linearRampToValueAtTime(VOLUME, t + 0.01);
      g.setValueAtTime(VOLUME, t + ON_S - 0.01);
      g.linearRampToValueAtTime(0, t + ON_S);
      this.beep++;
      this.nextAt += PERIOD_S;
    }
  }

  /** Stops at once: the gain drops to 0 now, scheduled beeps are dropped with the oscillator. */
  private silence(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const ctx = this.ctx;
    if (ctx && this.gain) {
      this.gain.gain.cancelScheduledValues(0);
      this.gain.gain.setValueAtTime(0, ctx.currentTime);
    }
    try {
      this.osc?.stop();
    } catch {
      /* already stopped */
    }
    this.osc?.disconnect();
    this.gain?.disconnect();
    this.osc = null;
    this.gain = null;
  }
}
