// Parsing and merging of websocket messages. Pure: no DOM, no Svelte, so the
// rules can be unit tested and the store stays a thin reactive wrapper.

import type { Alarm, AlarmState, AlarmSummary, Priority, PriorityNumbers, Quality, ServerMessage, TagScalar, TagValue } from './types';

export type ParseResult =
  | { ok: true; msg: ServerMessage; /** entries dropped because they were malformed */ dropped: number }
  | { ok: false; error: string };

const QUALITIES: ReadonlySet<string> = new Set(['good', 'uncertain', 'bad']);
const PRIORITIES: ReadonlySet<string> = new Set(['critical', 'high', 'medium', 'low']);
const STATES: ReadonlySet<string> = new Set(['normal', 'unacked', 'acked', 'rtn_unacked', 'latched_unacked', 'latched_acked']);
/** States that wait for an acknowledgement, for a server that sends no `unacked`. */
const UNACKED_STATES: ReadonlySet<string> = new Set(['unacked', 'rtn_unacked', 'latched_unacked']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is TagScalar {
  return v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';
}

/** Validates one tag value; returns null when it cannot be used at all. */
export function toTagValue(raw: unknown): TagValue | null {
  if (!isObject(raw)) return null;
  const { name, value, quality, reason, ts } = raw;
  if (typeof name !== 'string' || name === '') return null;
  if (!isScalar(value)) return null;
  // An unknown or missing quality is not trusted: show it as bad.
  const q: Quality = typeof quality === 'string' && QUALITIES.has(quality) ? (quality as Quality) : 'bad';
  const out: TagValue = {
    name,
    value,
    quality: q,
    ts: typeof ts === 'number' && Number.isFinite(ts) ? ts : 0,
  };
  if (typeof reason === 'string' && reason !== '') out.reason = reason;
  else if (q !== quality) out.reason = 'invalid quality from server';
  return out;
}

const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const optMs = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);

export function toAlarm(raw: unknown): Alarm | null {
  if (!isObject(raw)) return null;
  const { name, tag, type, priority, state, active, unacked, message, area, value, since } = raw;
  if (typeof name !== 'string' || name === '') return null;
  if (typeof priority !== 'string' || !PRIORITIES.has(priority)) return null;
  if (typeof state !== 'string' || !STATES.has(state)) return null;
  // One object literal with every field (absent ones undefined): one shape
  // for all alarms, which keeps 10,000 of them cheap to build and to read.
  const r = raw;
  return {
    name,
    tag: typeof tag === 'string' ? tag : '',
    type: typeof type === 'string' ? type : '',
    priority: priority as Priority,
    state: state as AlarmState,
    active: active === true,
    // The server's flag when it sends one; latched_acked is not unacked.
    unacked: typeof unacked === 'boolean' ? unacked : UNACKED_STATES.has(state),
    message: typeof message === 'string' && message !== '' ? message : name,
    area: typeof area === 'string' ? area : '',
    value: isScalar(value) ? value : null,
    since: typeof since === 'number' && Number.isFinite(since) ? since : 0,
    changed: optMs(r.changed),
    acked_by: optStr(r.acked_by),
    device: optStr(r.device),
    group: optStr(r.group),
    first_out: r.first_out === true ? true : undefined,
    shelved: r.shelved === true ? true : undefined,
    shelved_until: optMs(r.shelved_until),
    one_shot: r.one_shot === true ? true : undefined,
    shelved_by: optStr(r.shelved_by),
    shelve_reason: optStr(r.shelve_reason),
    suppressed: r.suppressed === true ? true : undefined,
    out_of_service: r.out_of_service === true ? true : undefined,
    out_of_service_by: optStr(r.out_of_service_by),
  };
}

function toCounts(v: unknown): PriorityNumbers {
  const o = isObject(v) ? v : {};
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? Math.trunc(x) : 0);
  return { critical: n(o.critical), high: n(o.high), medium: n(o.medium), low: n(o.low) };
}

/** The alarms message's summary, or null when the server sent none (or not an object). */
export function toSummary(raw: unknown): AlarmSummary | null {
  if (!isObject(raw)) return null;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0);
  const total = toCounts(raw.total);
  return {
    alarms: typeof raw.alarms === 'number' ? n(raw.alarms) : total.critical + total.high + total.medium + total.low,
    total,
    unacked: toCounts(raw.unacked),
    horn: raw.horn === true,
    silenced: n(raw.silenced),
    shelved: n(raw.shelved),
    suppressed: n(raw.suppressed),
    out_of_service: n(raw.out_of_service),
  };
}

function validList<T>(list: unknown, conv: (raw: unknown) => T | null): { items: T[]; dropped: number } | null {
  if (!Array.isArray(list)) return null;
  const items: T[] = [];
  let dropped = 0;
  for (const raw of list) {
    const v = conv(raw);
    if (v) items.push(v);
    else dropped++;
  }
  return { items, dropped };
}

/** Parses one websocket frame. Never throws. */
export function parseServerMessage(data: unknown): ParseResult {
  let obj: unknown = data;
  if (typeof data === 'string') {
    try {
      obj = JSON.parse(data);
    } catch {
      return { ok: false, error: 'message is not valid JSON' };
    }
  }
  if (!isObject(obj)) return { ok: false, error: 'message is not a JSON object' };
  switch (obj.type) {
    case 'snapshot':
    case 'update': {
      const r = validList(obj.tags, toTagValue);
      if (!r) return { ok: false, error: `${obj.type} message has no tags array` };
      return { ok: true, msg: { type: obj.type, tags: r.items }, dropped: r.dropped };
    }
    case 'alarms': {
      const r = validList(obj.alarms, toAlarm);
      if (!r) return { ok: false, error: 'alarms message has no alarms array' };
      return { ok: true, msg: { type: 'alarms', alarms: r.items, summary: toSummary(obj.summary) }, dropped: r.dropped };
    }
    case 'error':
      return {
        ok: true,
        msg: { type: 'error', error: typeof obj.error === 'string' ? obj.error : 'unknown error' },
        dropped: 0,
      };
    case 'project': {
      const str = (v: unknown) => (typeof v === 'string' ? v : '');
      return { ok: true, msg: { type: 'project', name: str(obj.name), hash: str(obj.hash), id: str(obj.id) }, dropped: 0 };
    }
    default:
      return { ok: false, error: `unknown message type ${JSON.stringify(obj.type ?? null)}` };
  }
}

/**
 * Collects tag values between two screen refreshes, keeping only the newest
 * value per tag, so a burst of updates costs one render per tag at most.
 */
export class Conflator {
  private pending = new Map<string, TagValue>();

  push(values: readonly TagValue[]): void {
    for (const v of values) {
      const prev = this.pending.get(v.name);
      // An older sample (out of order) never overwrites a newer one.
      if (prev && v.ts !== 0 && prev.ts > v.ts) continue;
      this.pending.set(v.name, v);
    }
  }

  get size(): number {
    return this.pending.size;
  }

  /** Takes the pending values: all, or the max that waited longest. */
  drain(max = Infinity): TagValue[] {
    if (this.pending.size <= max) {
      const out = [...this.pending.values()];
      this.pending.clear();
      return out;
    }
    const out: TagValue[] = [];
    for (const [name, v] of this.pending) {
      if (out.length >= max) break;
      out.push(v);
      this.pending.delete(name);
    }
    return out;
  }

  clear(): void {
    this.pending.clear();
  }
}

/** Anything that holds a live value: plain objects in tests, reactive ones in the app. */
export interface ValueHolder {
  value: TagScalar;
  quality: Quality;
  reason?: string;
  ts: number;
}

/**
 * Merges values into a map keyed by tag name. Existing holders are mutated in
 * place (only fields that changed are assigned, so fine-grained reactivity
 * re-renders only what changed); unknown names are created with `create`.
 * Returns the names that were added.
 */
export function mergeValues<T extends ValueHolder>(
  map: Map<string, T>,
  values: readonly TagValue[],
  create: (v: TagValue) => T,
): string[] {
  const added: string[] = [];
  for (const v of values) {
    const cur = map.get(v.name);
    if (!cur) {
      map.set(v.name, create(v));
      added.push(v.name);
      continue;
    }
    if (!Object.is(cur.value, v.value)) cur.value = v.value;
    if (cur.quality !== v.quality) cur.quality = v.quality;
    if (cur.reason !== v.reason) cur.reason = v.reason;
    if (cur.ts !== v.ts) cur.ts = v.ts;
  }
  return added;
}
