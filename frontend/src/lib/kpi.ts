// The alarm KPI screen's pure parts: the period → query of
// GET /api/v1/alarms/kpi, answer validation, and the figures judged against
// ISA-18.2's targets (alarms per operator per 10 minutes: ~1 acceptable,
// ~2 the most that is manageable, more than 10 a flood).

import type { Priority } from './types';

export type KpiRange = '24h' | '7d';

export const KPI_RANGES: readonly { id: KpiRange; label: string; phrase: string; ms: number }[] = [
  { id: '24h', label: '24 h', phrase: 'the last 24 h', ms: 24 * 3600_000 },
  { id: '7d', label: '7 days', phrase: 'the last 7 days', ms: 7 * 24 * 3600_000 },
];

/** ISA-18.2 targets. */
export const TARGET = {
  /** Average alarms per 10 min: very likely acceptable up to this. */
  acceptable: 1,
  /** Average alarms per 10 min: the most that is manageable. */
  manageable: 2,
  /** More alarms than this in 10 min is a flood. */
  flood: 10,
  /** Share of 10-minute periods in flood (%): under this. */
  floodPercent: 1,
  /** Standing alarms: fewer than this. */
  standing: 5,
} as const;

export function kpiQuery(range: KpiRange, now: number): string {
  const r = KPI_RANGES.find((p) => p.id === range) ?? KPI_RANGES[0];
  const q = new URLSearchParams();
  q.set('from', String(Math.floor(now - r.ms)));
  q.set('to', String(Math.floor(now)));
  return q.toString();
}

export interface FloodPeriod {
  from: number;
  to: number;
  count: number;
}
export interface StandingAlarm {
  name: string;
  priority: Priority | '';
  area: string;
  since: number;
}
export interface NameCount {
  name: string;
  count: number;
}
export interface FrequentAlarm extends NameCount {
  priority: Priority | '';
  area: string;
}

export interface Kpi {
  from: number;
  to: number;
  activations: number;
  per10minAvg: number;
  per10minPeak: number;
  /** Start of the 10 minutes with the peak (Unix ms), 0 if not sent. */
  per10minPeakAt: number;
  /** Activations of shelved, suppressed or out-of-service alarms (not in the operator's load), if sent. */
  hiddenActivations: number;
  floodPeriods: FloodPeriod[];
  /** Share of the period's 10-minute intervals in flood, 0–100. */
  floodPercent: number;
  standing: StandingAlarm[];
  chattering: NameCount[];
  top10: FrequentAlarm[];
}

const PRIOS: ReadonlySet<string> = new Set(['critical', 'high', 'medium', 'low']);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const prio = (v: unknown): Priority | '' => (typeof v === 'string' && PRIOS.has(v) ? (v as Priority) : '');
const list = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => !!x && typeof x === 'object') : [];

/** The KPI answer, or null when it is not one (not an object). Missing figures count as 0 / empty. */
export function parseKpi(data: unknown): Kpi | null {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null;
  const d = data as Record<string, unknown>;
  return {
    from: num(d.from),
    to: num(d.to),
    activations: num(d.activations),
    per10minAvg: num(d.per_10min_avg),
    per10minPeak: num(d.per_10min_peak),
    per10minPeakAt: num(d.per_10min_peak_at),
    hiddenActivations: num(d.hidden_activations),
    floodPeriods: list(d.flood_periods).map((p) => ({ from: num(p.from), to: num(p.to), count: num(p.count) })),
    floodPercent: num(d.flood_percent),
    standing: list(d.standing)
      .filter((a) => typeof a.name === 'string')
      .map((a) => ({ name: str(a.name), priority: prio(a.priority), area: str(a.area), since: num(a.since) })),
    chattering: list(d.chattering)
      .filter((a) => typeof a.name === 'string')
      .map((a) => ({ name: str(a.name), count: num(a.count) }))
      .sort((a, b) => b.count - a.count),
    top10: list(d.top10)
      .filter((a) => typeof a.name === 'string')
      .map((a) => ({ name: str(a.name), count: num(a.count), priority: prio(a.priority), area: str(a.area) }))
      .sort((a, b) => b.count - a.count)
      .slice(0, 10),
  };
}

/** How a rate per 10 minutes compares with ISA-18.2's targets. */
export type Rating = 'ok' | 'manageable' | 'over' | 'flood';

export function rateRating(per10min: number): Rating {
  if (per10min <= TARGET.acceptable) return 'ok';
  if (per10min <= TARGET.manageable) return 'manageable';
  if (per10min <= TARGET.flood) return 'over';
  return 'flood';
}

export const RATING_TEXT: Record<Rating, string> = {
  ok: 'acceptable (target ~1)',
  manageable: 'manageable (at most ~2)',
  over: 'over target',
  flood: 'flood (over 10)',
};

/** The peak judged: a flood above 10 in 10 minutes. */
export function peakRating(peak: number): Rating {
  return peak > TARGET.flood ? 'flood' : peak > TARGET.manageable ? 'over' : 'ok';
}

export function floodRating(percent: number): Rating {
  return percent <= 0 ? 'ok' : percent < TARGET.floodPercent ? 'manageable' : 'over';
}

export function standingRating(n: number): Rating {
  return n < TARGET.standing ? 'ok' : 'over';
}

/** A rate with sensible precision: "0.04", "1.3", "12". */
export function formatRate(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '0';
  if (x < 0.1) return x.toFixed(2);
  if (x < 10) return x.toFixed(1);
  return String(Math.round(x));
}

/** A percentage: "0 %", "0.4 %", "12 %". */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '0 %';
  if (x < 10) return `${(Math.round(x * 10) / 10).toString()} %`;
  return `${Math.round(x)} %`;
}

/** Bar lengths in % of the largest count (at least 1 % for a non-zero count, so it shows). */
export function barPercents(counts: readonly number[]): number[] {
  const max = Math.max(0, ...counts);
  if (max <= 0) return counts.map(() => 0);
  return counts.map((c) => (c <= 0 ? 0 : Math.max(1, Math.round((c / max) * 1000) / 10)));
}

/** The share of all activations: "12 %" of the load this alarm made. */
export function shareText(count: number, total: number): string {
  if (total <= 0 || count <= 0) return '';
  return formatPercent((count / total) * 100);
}
