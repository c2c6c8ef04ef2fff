// Turning tag values into the text an operator reads. Pure.

import type { Quality, TagScalar } from './types';

/** Units of things counted: shown without decimals. */
const COUNT_UNITS: ReadonlySet<string> = new Set(['parts', 'pcs', 'count', 'counts', 'items', 'n']);

/** Decimals to show when the tag does not say: counts 0, measurements 1. */
export function defaultDecimals(unit: string | undefined, value: number): number {
  const u = (unit ?? '').trim().toLowerCase();
  if (COUNT_UNITS.has(u)) return 0;
  if (u === '' && Number.isInteger(value)) return 0;
  return 1;
}

export function formatNumber(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return String(value);
  const d = Math.max(0, Math.min(6, Math.trunc(decimals)));
  // toFixed switches to exponent notation itself from 1e21; keep it readable earlier.
  if (Math.abs(value) >= 1e12) return value.toExponential(3);
  const s = value.toFixed(d);
  // Avoid "-0.0".
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Words for the two states of a boolean tag, from the last part of its name. */
export function boolLabels(name: string): [onText: string, offText: string] {
  const leaf = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  switch (leaf) {
    case 'open':
      return ['Open', 'Closed'];
    case 'closed':
      return ['Closed', 'Open'];
    case 'running':
    case 'run':
      return ['Running', 'Stopped'];
    case 'fault':
    case 'trip':
    case 'jam':
    case 'alarm':
      return [leaf === 'jam' ? 'Jammed' : 'Fault', 'Normal'];
    case 'auto':
      return ['Auto', 'Manual'];
    case 'enabled':
    case 'enable':
      return ['Enabled', 'Disabled'];
    default:
      return ['On', 'Off'];
  }
}

export interface FormatInput {
  name: string;
  value: TagScalar;
  quality: Quality;
  reason?: string;
  unit?: string;
}

export interface FormatOptions {
  decimals?: number;
}

export interface Formatted {
  /** The value as text, without the unit ("BAD" for bad quality). */
  text: string;
  /** The unit to show after the value ('' for none, for booleans and for bad values). */
  unit: string;
  /** What the display must make plain. */
  state: 'good' | 'uncertain' | 'bad' | 'empty';
  /** Hover text: the reason for a bad or uncertain value. */
  title?: string;
}

/** Value, unit and quality marker text for one tag. */
export function formatValue(tag: FormatInput, opts: FormatOptions = {}): Formatted {
  if (tag.quality === 'bad') {
    return { text: 'BAD', unit: '', state: 'bad', title: `Bad quality: ${tag.reason || 'no reason given'}` };
  }
  const unit = tag.unit ?? '';
  let text: string;
  let showUnit = unit;
  const v = tag.value;
  if (v === null || v === undefined) {
    return { text: '—', unit: '', state: 'empty', title: 'No value yet' };
  } else if (typeof v === 'number') {
    text = formatNumber(v, opts.decimals ?? defaultDecimals(unit, v));
  } else if (typeof v === 'boolean') {
    const [on, off] = boolLabels(tag.name);
    text = v ? on : off;
    showUnit = '';
  } else {
    text = v;
  }
  if (tag.quality === 'uncertain') {
    return {
      text,
      unit: showUnit,
      state: 'uncertain',
      title: `Uncertain quality: ${tag.reason || 'no reason given'}`,
    };
  }
  return { text, unit: showUnit, state: 'good' };
}

/** "75.0 °C", "Open", "BAD": value and unit as one string. */
export function formatWithUnit(tag: FormatInput, opts: FormatOptions = {}): string {
  const f = formatValue(tag, opts);
  return f.unit ? `${f.text} ${f.unit}` : f.text;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Local time "14:03:07"; with the date when it is not today (relative to `now`). */
export function formatTime(ts: number, now: number = Date.now()): string {
  if (!ts) return '—';
  const d = new Date(ts);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const n = new Date(now);
  if (d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate()) {
    return hms;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

/** "45 s", "5 min", "1 h 30 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
