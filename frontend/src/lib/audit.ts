// The audit trail screen's pure parts: filters → query string, row helpers,
// the file name of an export. GET /api/v1/events?kind=audit (docs/api.md).

import type { AuditEvent } from './types';

export type RangePreset = '1h' | '8h' | '24h' | '7d' | 'all';

export const RANGE_PRESETS: readonly { id: RangePreset; label: string; phrase: string; ms: number | null }[] = [
  { id: '1h', label: 'Last hour', phrase: 'in the last hour', ms: 3600_000 },
  { id: '8h', label: '8 h', phrase: 'in the last 8 h', ms: 8 * 3600_000 },
  { id: '24h', label: '24 h', phrase: 'in the last 24 h', ms: 24 * 3600_000 },
  { id: '7d', label: '7 days', phrase: 'in the last 7 days', ms: 7 * 24 * 3600_000 },
  { id: 'all', label: 'All', phrase: 'in the whole log', ms: null },
];

/** Actions the server audits today; the action field offers them, any text is allowed. */
export const KNOWN_ACTIONS: readonly string[] = [
  'login',
  'logout',
  'write',
  'project.load',
  'user.add',
  'user.passwd',
  'user.disable',
  'user.enable',
];

/** The most rows one request returns (the server's maximum). */
export const AUDIT_LIMIT = 10000;

export interface AuditFilter {
  range: RangePreset;
  /** Exact-match filters; blank means any. */
  user: string;
  source: string;
  action: string;
}

export const DEFAULT_FILTER: AuditFilter = { range: '24h', user: '', source: '', action: '' };

/**
 * The query string (without "?") for the filter at time `now` (Unix ms).
 * No `to`: the newest entries are always included, whatever the clock of this
 * panel says compared with the server's.
 */
export function auditQuery(f: AuditFilter, now: number, opts: { format?: 'csv'; limit?: number } = {}): string {
  const q = new URLSearchParams();
  q.set('kind', 'audit');
  const preset = RANGE_PRESETS.find((p) => p.id === f.range);
  if (preset?.ms) q.set('from', String(Math.floor(now - preset.ms)));
  for (const k of ['user', 'source', 'action'] as const) {
    const v = f[k].trim();
    if (v) q.set(k, v);
  }
  q.set('limit', String(Math.max(1, Math.min(AUDIT_LIMIT, Math.trunc(opts.limit ?? AUDIT_LIMIT)))));
  if (opts.format) q.set('format', opts.format);
  return q.toString();
}

/** True for an entry whose result is an error (anything but "ok"; no result is not a failure). */
export function isFailed(e: Pick<AuditEvent, 'result'>): boolean {
  return typeof e.result === 'string' && e.result !== '' && e.result !== 'ok';
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local "2025-11-25 14:03:07": an audit time always carries its date. */
export function formatStamp(ts: number): string {
  if (!Number.isFinite(ts) || ts <= 0) return '—';
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The file name in a Content-Disposition header, or null. */
export function dispositionFilename(header: string | null | undefined): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return safeName(decodeURIComponent(star[1].trim()));
    } catch {
      /* fall through to filename= */
    }
  }
  const m = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
  if (!m) return null;
  return safeName((m[1] ?? m[2]).replace(/\\(.)/g, '$1'));
}

function safeName(s: string): string | null {
  const base = s.split(/[\\/]/).pop()?.trim() ?? '';
  return base && base !== '.' && base !== '..' ? base : null;
}

/** A file name for an export when the server gives none: edgehmi-audit-20251125-140307.csv. */
export function fallbackFilename(now: number): string {
  const d = new Date(now);
  return `edgehmi-audit-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}.csv`;
}

/** Keeps the well-formed entries of an answer (an array of objects with a numeric ts). */
export function parseAuditEvents(data: unknown): AuditEvent[] {
  if (!Array.isArray(data)) return [];
  const out: AuditEvent[] = [];
  for (const e of data) {
    if (!e || typeof e !== 'object') continue;
    const ev = e as AuditEvent;
    if (typeof ev.ts !== 'number') continue;
    out.push(ev);
  }
  return out;
}
