// Displays: the user's own screens, one YAML file each on the server
// (docs/displays.md). This module holds their types, the REST calls and the
// pure helpers the renderer and the editor share.

import { request } from './transport';
import type { TagScalar, Quality } from './types';

export const DISPLAY_LEVELS = ['overview', 'area', 'equipment', 'diagnostics'] as const;
export type DisplayLevel = (typeof DISPLAY_LEVELS)[number];

export const OBJECT_TYPES = ['symbol', 'value', 'bar', 'trend', 'button', 'setpoint', 'text', 'line', 'pipe', 'link'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export const SYMBOLS = ['tank', 'pump', 'valve', 'control_valve', 'motor', 'conveyor', 'heat_exchanger', 'mixer', 'instrument'] as const;
export type SymbolName = (typeof SYMBOLS)[number];

export interface Point {
  x: number;
  y: number;
}

/** One object on a display; `type` says which fields apply. */
export interface DisplayObject {
  type: ObjectType;
  id: string;
  x: number;
  y: number;
  w?: number;
  h?: number;
  symbol?: SymbolName;
  label?: string;
  tag?: string;
  fault?: string;
  equipment?: string;
  faceplate?: string;
  decimals?: number;
  hide_unit?: boolean;
  min?: number;
  max?: number;
  value?: string;
  pulse?: boolean;
  text?: string;
  size?: number;
  points?: Point[];
  target?: string;
  group?: string;
}

export interface Display {
  version: number;
  title?: string;
  level: DisplayLevel;
  width: number;
  height: number;
  background?: { color?: string; svg?: string };
  objects: DisplayObject[];
}

export interface DisplayInfo {
  name: string;
  title: string;
  level: string;
  file: string;
  project: boolean;
  error?: string;
}

export interface DisplayDoc {
  name: string;
  file: string;
  hash: string;
  display: Display;
}

export interface DisplayVersion {
  id: string;
  ts: number;
  hash: string;
  size: number;
}

export const displayApi = {
  list: () => request<DisplayInfo[]>('GET', '/api/v1/displays'),
  get: (name: string) => request<DisplayDoc>('GET', `/api/v1/displays/${encodeURIComponent(name)}`),
  save: (name: string, display: Display, reason = '') =>
    request<DisplayDoc>('PUT', `/api/v1/displays/${encodeURIComponent(name)}`, { display, reason }),
  versions: (name: string) => request<DisplayVersion[]>('GET', `/api/v1/displays/${encodeURIComponent(name)}/versions`),
  restore: (name: string, id: string, reason = '') =>
    request<DisplayDoc>('POST', `/api/v1/displays/${encodeURIComponent(name)}/versions/${encodeURIComponent(id)}/restore`, { reason }),
};

/** Every tag a display binds, once each, in order: what the page subscribes to. */
export function tagsOf(d: Display): string[] {
  const seen = new Set<string>();
  for (const o of d.objects) {
    if (o.tag) seen.add(o.tag);
    if (o.fault) seen.add(o.fault);
  }
  return [...seen];
}

/** The alarm area whose marker a symbol shows: its equipment, else its tag's prefix. */
export function equipmentOf(o: DisplayObject): string {
  if (o.equipment) return o.equipment;
  if (o.tag) return o.tag.split('.')[0];
  return o.id;
}

/** ISA-101 states a symbol shows. */
export type SymbolState = 'running' | 'stopped' | 'transition' | 'fault' | 'oos' | 'bad';

export interface TagLike {
  value: TagScalar;
  quality: Quality;
  reason?: string;
  low?: number;
  high?: number;
}

/**
 * The state of a symbol from its main binding and its fault binding:
 * fault wins; Bad quality shows Bad (out of service when the device is
 * disabled); a bool is running or stopped; a number is stopped at its low
 * end, running at its high end and in transition between (a control valve
 * moving, a drive ramping). No binding: stopped (static equipment).
 */
export function symbolState(main: TagLike | undefined, fault?: TagLike | undefined, bound = true): SymbolState {
  if (fault && fault.quality !== 'bad' && fault.value === true) return 'fault';
  if (!bound) return 'stopped';
  if (!main) return 'bad';
  if (main.quality === 'bad') return /disabled|out of service/i.test(main.reason ?? '') ? 'oos' : 'bad';
  const v = main.value;
  if (typeof v === 'boolean') return v ? 'running' : 'stopped';
  if (typeof v === 'number') {
    const lo = main.low ?? 0;
    const hi = main.high ?? 100;
    if (v <= lo) return 'stopped';
    if (v >= hi) return 'running';
    return 'transition';
  }
  return 'bad';
}

/** A value as a fraction 0..1 of [min, max] (the object's, else the tag's), or null. */
export function fraction(t: TagLike | undefined, min?: number, max?: number): number | null {
  if (!t || t.quality === 'bad' || typeof t.value !== 'number') return null;
  const lo = min ?? t.low ?? 0;
  const hi = max ?? t.high ?? 100;
  if (!(hi > lo)) return null;
  return Math.max(0, Math.min(1, (t.value - lo) / (hi - lo)));
}

/** The value a command button writes, typed for the tag. */
export function buttonValue(v: string | undefined): TagScalar {
  if (v === 'true') return true;
  if (v === 'false') return false;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** SVG points attribute of a line or pipe. */
export function pointsAttr(p: Point[] | undefined): string {
  return (p ?? []).map((q) => `${q.x},${q.y}`).join(' ');
}

/** The bounding box of an object (lines and pipes: of their points). */
export function boxOf(o: DisplayObject): { x: number; y: number; w: number; h: number } {
  if ((o.type === 'line' || o.type === 'pipe') && o.points?.length) {
    const xs = o.points.map((p) => p.x);
    const ys = o.points.map((p) => p.y);
    const x = Math.min(...xs);
    const y = Math.min(...ys);
    return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
  }
  return { x: o.x, y: o.y, w: o.w ?? 0, h: o.h ?? 0 };
}

/**
 * The box (display units) of a live object's own layer: its w x h plus room
 * for what a symbol draws around itself (the label and hit area above, the
 * FAULT flag below, the alarm marker at the right, a long label). Nothing
 * is clipped to it (what overflows is drawn), but it places the layer.
 */
export function cellBox(o: DisplayObject): { x: number; y: number; w: number; h: number } {
  const w = o.w ?? 0;
  const h = o.h ?? 0;
  if (o.type === 'line' || o.type === 'pipe') {
    const b = boxOf(o);
    return { x: o.x + b.x - 4, y: o.y + b.y - 4, w: b.w + 8, h: b.h + 8 };
  }
  if (o.type === 'text') {
    const size = o.size ?? 16;
    return { x: o.x - 4, y: o.y - 4, w: Math.max(w, (o.text?.length ?? 1) * size * 0.6) + 8, h: size * 1.4 + 8 };
  }
  if (o.type !== 'symbol') return { x: o.x - 4, y: o.y - 4, w: w + 8, h: h + 8 };
  // Label: 17 px bold, about 11 px a letter, from x.
  const label = o.label && o.symbol !== 'instrument' ? o.label.length * 11 : 0;
  const right = Math.max(w + 40, label + 4);
  return { x: o.x - 8, y: o.y - 28, w: right + 8, h: h + 28 + 28 };
}

/** Why `name` cannot name a new display (the server's rule: a file's base name), or null. */
export function displayNameError(name: string, existing: readonly string[] = []): string | null {
  if (!name) return 'Enter a name.';
  if (name.length > 64) return 'At most 64 characters.';
  if (!/^[a-z0-9_-]+$/.test(name)) return 'Only lower-case letters, digits, - and _.';
  if (!/^[a-z0-9]/.test(name)) return 'Start with a letter or a digit.';
  if (existing.includes(name)) return `There is already a display "${name}".`;
  return null;
}

/** The demo's equipment with a faceplate of its own (components/Faceplate.svelte). */
export const EQUIPMENT_FACEPLATES = ['P101', 'XV101', 'TIC101', 'CV201'] as const;

/** What a touch on an object opens: its equipment's own faceplate, the generic faceplate of its tags, or nothing. */
export type FaceplateTarget = { kind: 'equipment'; equipment: (typeof EQUIPMENT_FACEPLATES)[number] } | { kind: 'tags'; title: string; tags: string[] };

export function faceplateOf(o: DisplayObject): FaceplateTarget | null {
  if (o.type !== 'symbol') return null;
  const eq = EQUIPMENT_FACEPLATES.find((e) => e === o.faceplate);
  if (eq) return { kind: 'equipment', equipment: eq };
  const tags = [...new Set([o.tag, o.fault].filter((t): t is string => !!t))];
  if (!tags.length) return null;
  return { kind: 'tags', title: o.faceplate || o.label || o.id, tags };
}

/** How the generic faceplate lets a user write a tag: a setpoint (numbers), on/off commands (bools), or not at all. */
export function writeKind(t: { writable?: boolean; value: unknown } | undefined): 'setpoint' | 'command' | null {
  if (!t?.writable) return null;
  if (typeof t.value === 'boolean') return 'command';
  if (typeof t.value === 'number') return 'setpoint';
  return null;
}

/** A tag's range for people: "0 … 100 %", "≥ 0 %", "≤ 100", or "" without limits. */
export function limitsText(low: number | undefined, high: number | undefined, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  if (low !== undefined && high !== undefined) return `${low} … ${high}${u}`;
  if (low !== undefined) return `≥ ${low}${u}`;
  if (high !== undefined) return `≤ ${high}${u}`;
  return '';
}
