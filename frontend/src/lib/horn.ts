// The horn's state logic. Pure: the sound itself is a Beeper (horn-audio.ts
// plays it with WebAudio), so the rules are unit tested without a browser.
//
// The server decides whether the horn sounds (summary.horn: some visible
// alarm is unacknowledged and activated after the last silence; shelved,
// suppressed and out-of-service alarms never count). The page adds what only
// it knows: whether the browser lets it play sound yet (a first user gesture
// unlocks audio), whether this panel is muted, a silence that was pressed
// and not yet confirmed, and acknowledgements on their way.

import { isHidden } from './alarms';
import type { Alarm, AlarmSummary } from './types';

/** Plays and stops the horn sound. */
export interface Beeper {
  start(): void;
  stop(): void;
}

/**
 * Whether the alarm situation calls for the horn, before the page's own
 * conditions: the server's summary.horn, except that it stops at once when
 * every alarm that could sound is being acknowledged (pending). Without a
 * summary (an older server), any visible unacknowledged alarm calls for it.
 */
export function hornWanted(
  summary: Pick<AlarmSummary, 'horn'> | null,
  alarms: readonly Alarm[],
  pending: ReadonlyMap<string, unknown> = new Map(),
): boolean {
  if (summary && !summary.horn) return false;
  for (const a of alarms) {
    if (a.unacked && !isHidden(a) && a.state !== 'normal' && !pending.has(a.name)) return true;
  }
  return false;
}

export interface HornInputs {
  /** hornWanted(...): the server says the horn sounds. */
  wanted: boolean;
  /** The browser allows audio (a gesture happened, or it never needed one). */
  unlocked: boolean;
  /** This panel's sound is switched off. */
  muted: boolean;
  /** Silence was pressed and the server has not confirmed it yet. */
  silencing: boolean;
}

/** The horn sounds only when wanted, unlocked, not muted and not being silenced. */
export function shouldSound(i: HornInputs): boolean {
  return i.wanted && i.unlocked && !i.muted && !i.silencing;
}

/**
 * Keeps the newest summary as far as silences go: a summary whose
 * `silenced` is older than one already seen was sent before that silence
 * (websocket messages and the silence answer can cross) and must not make
 * the horn sound again. Returns the summary to use.
 */
export function newerSummary<S extends Pick<AlarmSummary, 'silenced'>>(cur: S | null, next: S | null): S | null {
  if (!next) return cur;
  if (cur && next.silenced < cur.silenced) return { ...next, silenced: cur.silenced, horn: false } as S;
  return next;
}

/**
 * Drives a Beeper from the inputs: starts it when the horn should sound,
 * stops it at once when it should not. Calling update with unchanged
 * inputs does nothing.
 */
export class HornController {
  private inputs: HornInputs = { wanted: false, unlocked: false, muted: false, silencing: false };
  private on = false;

  constructor(private readonly beeper: Beeper) {}

  get sounding(): boolean {
    return this.on;
  }

  get state(): Readonly<HornInputs> {
    return this.inputs;
  }

  update(change: Partial<HornInputs>): boolean {
    this.inputs = { ...this.inputs, ...change };
    const want = shouldSound(this.inputs);
    if (want !== this.on) {
      this.on = want;
      if (want) this.beeper.start();
      else this.beeper.stop();
    }
    return this.on;
  }
}
