// The alarm history screen's pure parts: filters → query string of
// GET /api/v1/alarms/history (and its CSV export), answer validation, words
// for the kinds of transitions, the export's file name.

import type { Priority, TagScalar } from './types';

export type HistoryRange = '1h' | '8h' | '24h' | '7d';

export const HISTORY_RANGES: readonly { id: HistoryRange; label: string; phrase: string; ms: number }[] = [
  { id: '1h', label: '1 h', phrase: 'in the last hour', ms: 3600_000 },
  { id: '8h', label: '8 h', phrase: 'in the last 8 h', ms: 8 * 3600_000 },
  { id: '24h', label: '24 h', phrase: 'in the last 24 h', ms: 24 * 3600_000 },
  { id: '7d', label: '7 days', phrase: 'in the last 7 days', ms: 7 * 24 * 3600_000 },
];

/** The journal's kinds of transitions, in the order the filter offers them. */
export const HISTORY_KINDS = [
  'activate',
  'return',
  'ack',
  'reset',
  'shelve',
  'unshelve',
  'suppress',
  'unsuppress',
  'out_of_service',
  'in_service',
] as const;

export type HistoryKind = (typeof HISTORY_KINDS)[number];

export const KIND_TEXT: Record<HistoryKind, string> = {
  activate: 'Activated',
  return: 'Returned',
  ack: 'Acknowledged',
  reset: 'Reset',
  shelve: 'Shelved',
  unshelve: 'Unshelved',
  suppress: 'Suppressed',
  unsuppress: 'Unsuppressed',
  out_of_service: 'Out of service',
  in_service: 'Returned to service',
};

/** Words for a kind the page may not know (a newer server): the kind itself. */
export function kindText(kind: string): string {
  return (KIND_TEXT as Record<string, string>)[kind] ?? kind.replace(/_/g, ' ');
}

/** The most rows one request asks for. */
export const HISTORY_LIMIT = 10000;

export interface HistoryFilter {
  range: HistoryRange;
  /** Exact alarm name; blank for any. */
  alarm: string;
  area: string;
  priority: Priority | '';
  kind: HistoryKind | '';
}

export const DEFAULT_HISTORY: HistoryFilter = { range: '8h', alarm: '', area: '', priority: '', kind: '' };

export function historyFiltered(f: HistoryFilter): boolean {
  return f.alarm.trim() !== '' || f.area.trim() !== '' || f.priority !== '' || f.kind !== '';
}

/**
 * The query string (without "?") for the filter at `now` (Unix ms). No
 * `to`: the newest entries are always included, whatever this panel's clock
 * says compared with the server's.
 */
export function historyQuery(f: HistoryFilter, now: number, opts: { format?: 'csv'; limit?: number } = {}): string {
  const q = new URLSearchParams();
  const r = HISTORY_RANGES.find((p) => p.id === f.range) ?? HISTORY_RANGES[1];
  q.set('from', String(Math.floor(now - r.ms)));
  const alarm = f.alarm.trim();
  if (alarm) q.set('alarm', alarm);
  const area = f.area.trim();
  if (area) q.set('area', area);
  if (f.priority) q.set('priority', f.priority);
  if (f.kind) q.set('kind', f.kind);
  q.set('limit', String(Math.max(1, Math.min(HISTORY_LIMIT, Math.trunc(opts.limit ?? HISTORY_LIMIT)))));
  if (opts.format) q.set('format', opts.format);
  return q.toString();
}

/** One transition from the journal. */
export interface AlarmEvent {
  id: number;
  /** Unix ms. */
  ts: number;
  alarm: string;
  kind: string;
  /** State before and after. */
  from: string;
  to: string;
  value: TagScalar;
  user: string;
  comment: string;
  priority: Priority | '';
  area: string;
  message: string;
  flags: string[];
}

const PRIOS: ReadonlySet<string> = new Set(['critical', 'high', 'medium', 'low']);
const s = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Keeps the usable entries of an answer (objects with a numeric ts and an alarm name). */
export function parseAlarmEvents(data: unknown): AlarmEvent[] {
  if (!Array.isArray(data)) return [];
  const out: AlarmEvent[] = [];
  let seq = 0;
  for (const e of data) {
    seq++;
    if (!e || typeof e !== 'object') continue;
    const r = e as Record<string, unknown>;
    if (typeof r.ts !== 'number' || !Number.isFinite(r.ts) || typeof r.alarm !== 'string') continue;
    const v = r.value;
    out.push({
      // Rows are keyed by id; an answer without ids still gets unique ones.
      id: typeof r.id === 'number' ? r.id : -seq,
      ts: r.ts,
      alarm: r.alarm,
      kind: s(r.kind),
      from: s(r.from),
      to: s(r.to),
      value: v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : null,
      user: s(r.user),
      comment: s(r.comment),
      priority: typeof r.priority === 'string' && PRIOS.has(r.priority) ? (r.priority as Priority) : '',
      area: s(r.area),
      message: s(r.message),
      flags: Array.isArray(r.flags) ? r.flags.filter((x): x is string => typeof x === 'string' && x !== '') : [],
    });
  }
  return out;
}

/** The value as the journal keeps it: numbers with at most 3 decimals. */
export function historyValue(v: TagScalar): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  return String(v);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A file name for an export when the server gives none: edgehmi-alarms-20251125-140307.csv. */
export function historyFilename(now: number): string {
  const d = new Date(now);
  return `edgehmi-alarms-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.csv`;
}
