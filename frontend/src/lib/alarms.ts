// The alarm screens' pure parts: ordering, counts, the banner's selection,
// the equipment markers, the summary's filters and sort, and the reconciling
// of acknowledgements the page sent with what the server says. No DOM, no
// Svelte: unit tested in alarms.test.ts.

import type { Alarm, AlarmState, AlarmSummary, Priority } from './types';

export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'medium', 'low'];

const RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** ISA-101 style priority numbers shown inside alarm markers (priority is never colour alone). */
export const PRIORITY_NUMBER: Record<Priority, number> = { critical: 1, high: 2, medium: 3, low: 4 };

export const PRIORITY_LABEL: Record<Priority, string> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };

/** Short state words for rows and badges. */
export const STATE_TEXT: Record<AlarmState, string> = {
  normal: 'Normal',
  unacked: 'Unack',
  acked: 'Acked',
  rtn_unacked: 'RTN unack',
  latched_unacked: 'Latched unack',
  latched_acked: 'Latched',
};

/** Full state sentences for tooltips and screen readers. */
export const STATE_LONG: Record<AlarmState, string> = {
  normal: 'Normal',
  unacked: 'Active, not acknowledged',
  acked: 'Active, acknowledged',
  rtn_unacked: 'Returned to normal, not acknowledged',
  latched_unacked: 'Latched: returned, not acknowledged, needs a reset',
  latched_acked: 'Latched: acknowledged, needs a reset',
};

/** Shelved, suppressed by design or out of service: kept from the operator's list, the counts and the horn. */
export function isHidden(a: Pick<Alarm, 'shelved' | 'suppressed' | 'out_of_service'>): boolean {
  return a.shelved === true || a.suppressed === true || a.out_of_service === true;
}

/** A latched alarm that an operator may reset now (acknowledged, condition gone). */
export function canReset(a: Pick<Alarm, 'state'>): boolean {
  return a.state === 'latched_acked';
}

/**
 * Most important first, as the server orders its list: unacknowledged before
 * acknowledged, then by priority, then newest first, then by name.
 */
export function compareAlarms(a: Alarm, b: Alarm): number {
  if (a.unacked !== b.unacked) return a.unacked ? -1 : 1;
  if (a.priority !== b.priority) return RANK[a.priority] - RANK[b.priority];
  if (a.since !== b.since) return b.since - a.since;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function sortAlarms(alarms: readonly Alarm[]): Alarm[] {
  return [...alarms].sort(compareAlarms);
}

/**
 * The banner's rows: the `n` most important visible alarms (compareAlarms),
 * picked in one pass without sorting the whole list (10,000 alarms in a
 * storm cost one pass, not a sort).
 */
export function topAlarms(alarms: readonly Alarm[], n: number): Alarm[] {
  const top: Alarm[] = [];
  if (n <= 0) return top;
  for (const a of alarms) {
    if (isHidden(a) || a.state === 'normal') continue;
    if (top.length === n && compareAlarms(a, top[n - 1]) >= 0) continue;
    let i = top.length === n ? n - 1 : top.length;
    while (i > 0 && compareAlarms(a, top[i - 1]) < 0) i--;
    top.splice(i, 0, a);
    if (top.length > n) top.pop();
  }
  return top;
}

export type PriorityCounts = Record<Priority, { total: number; unacked: number }>;

/** Visible alarms (not normal, not hidden) by priority: all, and those waiting for an acknowledgement. */
export function countByPriority(alarms: readonly Alarm[]): PriorityCounts {
  const c: PriorityCounts = {
    critical: { total: 0, unacked: 0 },
    high: { total: 0, unacked: 0 },
    medium: { total: 0, unacked: 0 },
    low: { total: 0, unacked: 0 },
  };
  for (const a of alarms) {
    if (isHidden(a) || a.state === 'normal') continue;
    c[a.priority].total++;
    if (a.unacked) c[a.priority].unacked++;
  }
  return c;
}

/** The banner's counts: the server's summary when it sent one, else counted from the list. */
export function bannerCounts(summary: AlarmSummary | null, alarms: readonly Alarm[]): PriorityCounts {
  if (!summary) return countByPriority(alarms);
  const c = {} as PriorityCounts;
  for (const p of PRIORITIES) c[p] = { total: summary.total[p], unacked: summary.unacked[p] };
  return c;
}

export function sumCounts(c: PriorityCounts): { total: number; unacked: number } {
  let total = 0;
  let unacked = 0;
  for (const p of PRIORITIES) {
    total += c[p].total;
    unacked += c[p].unacked;
  }
  return { total, unacked };
}

/** The alarm belongs to a piece of equipment: its area is the equipment's id, or its tag is one of the equipment's tags. */
export function belongsTo(a: Pick<Alarm, 'area' | 'tag'>, equipment: string): boolean {
  return a.area === equipment || (equipment !== '' && a.tag.startsWith(equipment + '.'));
}

/** What an equipment's alarm marker shows. */
export interface EquipmentMarker {
  /** The highest-priority alarm (shape and number). */
  alarm: Alarm;
  /** Some alarm of the equipment waits for an acknowledgement: the marker blinks. */
  unacked: boolean;
  /** How many visible alarms the equipment has. */
  count: number;
}

/**
 * The marker of a piece of equipment: its highest-priority visible alarm
 * (active, or returned but waiting for an acknowledgement or a reset),
 * blinking while any of its alarms is unacknowledged, steady once all are
 * acknowledged (ISA-101). Undefined when it has none.
 */
export function equipmentMarker(alarms: readonly Alarm[], equipment: string): EquipmentMarker | undefined {
  return equipmentMarkers(alarms, [equipment]).get(equipment);
}

function better(a: Alarm, best: Alarm): boolean {
  if (a.priority !== best.priority) return RANK[a.priority] < RANK[best.priority];
  if (a.unacked !== best.unacked) return a.unacked;
  return a.since > best.since;
}

function addTo(m: Map<string, EquipmentMarker>, eq: string, a: Alarm): void {
  const cur = m.get(eq);
  if (!cur) {
    m.set(eq, { alarm: a, unacked: a.unacked, count: 1 });
    return;
  }
  cur.count++;
  if (a.unacked) cur.unacked = true;
  if (better(a, cur.alarm)) cur.alarm = a;
}

/**
 * The markers of several pieces of equipment in one pass over the alarms
 * (an alarm belongs to the equipment of its area and to that of its tag's
 * first name part, as belongsTo says). Equipment without alarms is absent.
 */
export function equipmentMarkers(alarms: readonly Alarm[], equipment: readonly string[]): Map<string, EquipmentMarker> {
  const ids = new Set(equipment);
  const out = new Map<string, EquipmentMarker>();
  for (const a of alarms) {
    if (a.state === 'normal' || isHidden(a)) continue;
    const byArea = ids.has(a.area) ? a.area : '';
    const dot = a.tag.indexOf('.');
    let byTag = '';
    // The tag's equipment is any prefix ending before a '.' (T101.Level → T101; A.B.C → A, A.B).
    for (let i = dot; i > 0; i = a.tag.indexOf('.', i + 1)) {
      const pre = a.tag.slice(0, i);
      if (pre !== byArea && ids.has(pre)) {
        byTag = pre;
        break;
      }
    }
    if (byArea) addTo(out, byArea, a);
    if (byTag) addTo(out, byTag, a);
  }
  return out;
}

// ------------------------------------------------------------------ summary

export type SortKey = 'priority' | 'time' | 'name';

export interface SummarySort {
  key: SortKey;
  /** Reversed from the key's natural order (priority: most important first; time: newest first; name: A→Z). */
  reverse: boolean;
}

export const DEFAULT_SORT: SummarySort = { key: 'priority', reverse: false };

/** Which alarms the summary lists: the operator's list, the hidden ones, or every configured alarm. */
export type Scope = 'active' | 'hidden' | 'all';

export interface SummaryFilter {
  /** Area or equipment id ('' for any); matches as belongsTo does. */
  area: string;
  priority: Priority | '';
  /** Words that must all appear in the name, message, tag, area or device (any case). */
  text: string;
}

export const EMPTY_FILTER: SummaryFilter = { area: '', priority: '', text: '' };

export function isFiltered(f: SummaryFilter): boolean {
  return f.area !== '' || f.priority !== '' || f.text.trim() !== '';
}

export function filterAlarms(alarms: readonly Alarm[], f: SummaryFilter): Alarm[] {
  const words = f.text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!f.area && !f.priority && words.length === 0) return [...alarms];
  return alarms.filter((a) => {
    if (f.priority && a.priority !== f.priority) return false;
    if (f.area && !belongsTo(a, f.area)) return false;
    if (words.length) {
      const hay = `${a.name}\n${a.message}\n${a.tag}\n${a.area}\n${a.device ?? ''}`.toLowerCase();
      for (const w of words) if (!hay.includes(w)) return false;
    }
    return true;
  });
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function compareBy(key: SortKey): (a: Alarm, b: Alarm) => number {
  switch (key) {
    case 'priority':
      return (a, b) =>
        RANK[a.priority] - RANK[b.priority] ||
        (a.unacked === b.unacked ? 0 : a.unacked ? -1 : 1) ||
        b.since - a.since ||
        collator.compare(a.name, b.name);
    case 'time':
      return (a, b) => b.since - a.since || RANK[a.priority] - RANK[b.priority] || collator.compare(a.name, b.name);
    case 'name':
      return (a, b) => collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }
}

export function sortSummary(alarms: readonly Alarm[], s: SummarySort): Alarm[] {
  const cmp = compareBy(s.key);
  const out = [...alarms].sort(cmp);
  if (s.reverse) out.reverse();
  return out;
}

/** Clicking a column: the same key reverses, another key starts in its natural order. */
export function nextSort(cur: SummarySort, key: SortKey): SummarySort {
  return cur.key === key ? { key, reverse: !cur.reverse } : { key, reverse: false };
}

/** aria-sort of a column. */
export function ariaSort(cur: SummarySort, key: SortKey): 'ascending' | 'descending' | 'none' {
  if (cur.key !== key) return 'none';
  // Natural orders: priority 1→4 and name A→Z ascend; time newest first descends.
  const ascending = key === 'time' ? cur.reverse : !cur.reverse;
  return ascending ? 'ascending' : 'descending';
}

/** The alarms of a scope: the operator's list (live), or from GET /alarms?all=1 the hidden ones or all. */
export function scopeAlarms(scope: Scope, live: readonly Alarm[], all: readonly Alarm[] | null): Alarm[] {
  if (scope === 'active' || !all) return [...live];
  if (scope === 'hidden') return all.filter(isHidden);
  return [...all];
}

/** Distinct areas (and equipment), sorted, for the area filter. */
export function areasOf(alarms: readonly Alarm[]): string[] {
  const s = new Set<string>();
  for (const a of alarms) if (a.area) s.add(a.area);
  return [...s].sort(collator.compare);
}

/** The names among `alarms` that wait for an acknowledgement and are not being acknowledged already. */
export function ackableNames(alarms: readonly Alarm[], pending?: ReadonlyMap<string, unknown>): string[] {
  const out: string[] = [];
  for (const a of alarms) if (a.unacked && !pending?.has(a.name)) out.push(a.name);
  return out;
}

/** "Shelved by anna until 14:30 (one-shot): filter cleaning" and the like, for the hidden view. */
export interface FlagText {
  flag: 'shelved' | 'suppressed' | 'out_of_service' | 'first_out';
  label: string;
  detail: string;
}

export function flagTexts(a: Alarm, fmtTime: (ms: number) => string): FlagText[] {
  const out: FlagText[] = [];
  if (a.shelved) {
    const parts: string[] = [];
    if (a.shelved_by) parts.push(`by ${a.shelved_by}`);
    if (a.one_shot) parts.push('one-shot, until it returns');
    if (a.shelved_until) parts.push(`${a.one_shot ? 'at most ' : ''}until ${fmtTime(a.shelved_until)}`);
    let detail = parts.join(', ');
    if (a.shelve_reason) detail += `${detail ? ': ' : ''}${a.shelve_reason}`;
    out.push({ flag: 'shelved', label: 'Shelved', detail });
  }
  if (a.suppressed) out.push({ flag: 'suppressed', label: 'Suppressed', detail: 'by design (its condition holds)' });
  if (a.out_of_service) out.push({ flag: 'out_of_service', label: 'Out of service', detail: a.out_of_service_by ? `by ${a.out_of_service_by}` : '' });
  if (a.first_out) out.push({ flag: 'first_out', label: 'First out', detail: a.group ? `of group ${a.group}` : '' });
  return out;
}

// ------------------------------------------------------- pending acknowledgements

/** An acknowledgement the page sent and the server's alarm list does not show yet. */
export interface PendingAck {
  /** The alarm's `changed` when the operator pressed Ack. */
  changed: number;
  /** The server answered 2xx. */
  answered: boolean;
  /** When it was sent (ms). */
  at: number;
}

/** Give up waiting for the alarm list to confirm after this long: show what the server says. */
export const PENDING_TIMEOUT_MS = 15000;

/**
 * The pending acknowledgements that still wait, given the server's newest
 * alarm list: one ends when the list shows the alarm acknowledged or gone,
 * when the server answered and the alarm has changed since (the list is the
 * truth), or after PENDING_TIMEOUT_MS. Returns the same map when nothing
 * ended (so a caller can skip a re-render).
 */
export function settlePending(
  pending: ReadonlyMap<string, PendingAck>,
  alarms: readonly Alarm[],
  now: number,
): ReadonlyMap<string, PendingAck> {
  if (pending.size === 0) return pending;
  const byName = new Map<string, Alarm>();
  if (pending.size < 16) {
    for (const a of alarms) if (pending.has(a.name)) byName.set(a.name, a);
  } else {
    for (const a of alarms) byName.set(a.name, a);
  }
  let out: Map<string, PendingAck> | null = null;
  for (const [name, p] of pending) {
    const a = byName.get(name);
    const done =
      !a || !a.unacked || isHidden(a) || (p.answered && (a.changed ?? 0) !== p.changed) || now - p.at > PENDING_TIMEOUT_MS;
    if (done) {
      out ??= new Map(pending);
      out.delete(name);
    }
  }
  return out ?? pending;
}
