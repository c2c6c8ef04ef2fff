// Operator commands on faceplates: the command state machine, the confirm
// rule, limits, loop mode rules and interlock lookup. Pure; the server has
// the last word on everything (roles, limits, interlocks) and audits it.

import { validateSetpoint, type Limits } from './setpoint';

/**
 * idle → editing (the entry is open) → confirming (a large change, or a
 * start/stop, waits for Confirm) → pending (sent; until the read-back
 * agrees) → done | error. Esc (cancel) goes back to idle from editing and
 * confirming; nothing cancels a command already sent.
 */
export type CommandStep = 'idle' | 'editing' | 'confirming' | 'pending' | 'done' | 'error';

export interface CommandState {
  step: CommandStep;
  /** What the operator typed. */
  text: string;
  /** The value about to be / being written. */
  target: number | null;
  /** The value before the change, for "old → new". */
  old: number | null;
  /** The read-back the server (or the live value) reported. */
  readback: number | null;
  /** The entry's or the server's sentence. */
  error: string;
}

export const IDLE: CommandState = { step: 'idle', text: '', target: null, old: null, readback: null, error: '' };

export interface SubmitContext {
  limits: Limits;
  unit?: string;
  /** The value now (null: unknown). */
  current: number | null;
  /** Confirm when |new − old| > this; 0 or absent: never (unless current is unknown). */
  confirmDelta?: number;
}

export type CommandEvent =
  | { type: 'edit'; text: string }
  | { type: 'input'; text: string }
  | { type: 'submit'; ctx: SubmitContext }
  | { type: 'confirm' }
  | { type: 'cancel' }
  | { type: 'sent' }
  | { type: 'readback'; value: number | null; tolerance?: number }
  | { type: 'fail'; error: string };

/** A change needs a confirmation when it moves the value by more than confirmDelta. */
export function needsConfirm(current: number | null, next: number, confirmDelta: number | undefined): boolean {
  if (!confirmDelta || !(confirmDelta > 0)) return false;
  if (current === null || !Number.isFinite(current)) return true;
  return Math.abs(next - current) > confirmDelta;
}

/** The narrower of two sets of limits (the tag's and the loop's setpoint limits); null/undefined: none. */
export function narrowLimits(a: Limits, b: { low?: number | null; high?: number | null } = {}): Limits {
  const lows = [a.low, b.low].filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const highs = [a.high, b.high].filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const out: Limits = {};
  if (lows.length) out.low = Math.max(...lows);
  if (highs.length) out.high = Math.min(...highs);
  return out;
}

/** The read-back agrees with the target: equal within tolerance (relative for large values). */
export function agrees(target: number | null, got: number | null | undefined, tolerance?: number): boolean {
  if (target === null || got === null || got === undefined || !Number.isFinite(got)) return false;
  const tol = tolerance ?? Math.max(1e-6, Math.abs(target) * 1e-4);
  return Math.abs(got - target) <= tol;
}

/** The command state machine. Events that do not apply to the step leave the state as it is. */
export function commandReducer(s: CommandState, e: CommandEvent): CommandState {
  switch (e.type) {
    case 'edit':
      if (s.step === 'pending') return s;
      return { ...IDLE, step: 'editing', text: e.text };
    case 'input':
      if (s.step !== 'editing') return s;
      return { ...s, text: e.text, error: '' };
    case 'submit': {
      if (s.step !== 'editing') return s;
      const r = validateSetpoint(s.text, e.ctx.limits, e.ctx.unit ?? '');
      if (!r.ok) return { ...s, error: r.error };
      const step = needsConfirm(e.ctx.current, r.value, e.ctx.confirmDelta) ? 'confirming' : 'pending';
      return { ...s, step, target: r.value, old: e.ctx.current, error: '', readback: null };
    }
    case 'confirm':
      if (s.step !== 'confirming') return s;
      return { ...s, step: 'pending' };
    case 'cancel':
      if (s.step === 'pending') return s;
      if (s.step === 'confirming') return { ...s, step: 'editing' };
      return { ...IDLE };
    case 'sent':
      return s;
    case 'readback':
      if (s.step !== 'pending') return s;
      return agrees(s.target, e.value, e.tolerance) ? { ...s, step: 'done', readback: e.value } : { ...s, readback: e.value };
    case 'fail':
      if (s.step !== 'pending' && s.step !== 'confirming') return s;
      return { ...s, step: 'error', error: e.error };
  }
}

// ---------------------------------------------------------------- loops

export type LoopMode = 'auto' | 'manual' | 'cascade' | 'failsafe';

/** The output may be set by hand only when manual was asked for and no interlock forces it. */
export function outputEditable(targetMode: string | undefined, interlock?: string): boolean {
  return targetMode === 'manual' && !interlock;
}

/** Why the output cannot be set now, or null. */
export function outputBlock(targetMode: string | undefined, interlock?: string): string | null {
  if (interlock) return `Output forced by interlock ${interlock}`;
  if (targetMode !== 'manual') return 'Output can be set in manual only: switch the loop to manual';
  return null;
}

/** Why the setpoint cannot be set now (cascade: it comes from the primary), or null. */
export function setpointBlock(targetMode: string | undefined, spFrom?: string): string | null {
  if (targetMode === 'cascade') return `Setpoint comes from ${spFrom || 'the primary'} in cascade: switch to auto first`;
  return null;
}

/** The modes an operator may ask for: cascade only with a primary. */
export function selectableModes(spFrom?: string): LoopMode[] {
  return spFrom ? ['auto', 'manual', 'cascade'] : ['auto', 'manual'];
}

/** Tuning gains as "Kp 3 → 4" lines, only those that change; invalid input gives an error. */
export function tuningChanges(
  old: { kp: number; ti: number; td: number },
  input: { kp: string; ti: string; td: string },
): { ok: true; changes: { key: 'kp' | 'ti' | 'td'; from: number; to: number }[] } | { ok: false; error: string } {
  const changes: { key: 'kp' | 'ti' | 'td'; from: number; to: number }[] = [];
  for (const key of ['kp', 'ti', 'td'] as const) {
    const t = input[key].trim();
    if (t === '') continue;
    const v = Number(t.replace(',', '.'));
    if (!Number.isFinite(v)) return { ok: false, error: `${key.toUpperCase()}: "${t}" is not a number.` };
    if (key === 'kp' && v === 0) return { ok: false, error: 'Kp must not be 0.' };
    if (key !== 'kp' && v < 0) return { ok: false, error: `${key === 'ti' ? 'Ti' : 'Td'} must be 0 or more.` };
    if (v !== old[key]) changes.push({ key, from: old[key], to: v });
  }
  if (!changes.length) return { ok: false, error: 'Nothing changes.' };
  return { ok: true, changes };
}

// ---------------------------------------------------------------- interlocks

export interface InterlockCommand {
  tag: string;
  value?: number;
}

export interface InterlockView {
  name: string;
  active: boolean;
  message: string;
  reason: string;
  when: string;
  blocks: InterlockCommand[];
  forces: InterlockCommand[];
  since: number;
}

function sameValue(a: number | undefined, v: number | boolean | undefined): boolean {
  if (a === undefined || v === undefined) return true;
  const n = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  return a === n;
}

/** The active interlocks that block writing value to tag (value undefined: any write). */
export function blockingInterlocks(all: readonly InterlockView[], tag: string, value?: number | boolean): InterlockView[] {
  return all.filter((i) => i.active && i.blocks.some((b) => b.tag === tag && sameValue(b.value, value)));
}

/** The interlocks (active or not) that act on any of the tags. */
export function interlocksOn(all: readonly InterlockView[], tags: readonly string[]): InterlockView[] {
  return all.filter((i) => [...i.blocks, ...i.forces].some((c) => tags.includes(c.tag)));
}

/** A sentence for a blocking interlock: its name, message and why it holds. */
export function interlockSentence(i: InterlockView): string {
  return `Interlock ${i.name}: ${i.message || i.when}${i.reason ? ` (${i.reason})` : ''}`;
}
