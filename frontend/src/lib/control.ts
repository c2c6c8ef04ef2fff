// Client of the control endpoints (loops, interlocks, push buttons) and the
// tag detail the faceplates need. Every command goes to the server, which
// checks the role, limits and interlocks, and audits it.

import { request } from './transport';
import type { InterlockView } from './command';
import type { TagScalar } from './types';

export interface LoopView {
  name: string;
  pv_tag: string;
  sp_tag: string;
  out_tag?: string;
  unit: string;
  out_unit: string;
  pv: number | null;
  pv_quality: string;
  sp: number | null;
  sp_working: number | null;
  out: number | null;
  mode: string;
  target_mode: string;
  tracking: boolean;
  interlock?: string;
  reason?: string;
  kp: number;
  ti: number;
  td: number;
  sp_low: number | null;
  sp_high: number | null;
  sp_ramp: number;
  out_low: number;
  out_high: number;
  out_rate: number;
  sp_from?: string;
  fail_safe: unknown;
}

/** GET /api/v1/tags/{name}: the tag's view plus its definition. */
export interface TagDetail {
  name: string;
  value: TagScalar;
  quality: string;
  unit: string;
  writable: boolean;
  low?: number;
  high?: number;
  write_role?: string;
  momentary_ms?: number;
  confirm_delta?: number;
  interlocks?: string[];
}

const enc = encodeURIComponent;

export const control = {
  loop: (name: string) => request<LoopView>('GET', `/api/v1/loops/${enc(name)}`, undefined, 5000),
  interlocks: async () => (await request<InterlockView[]>('GET', '/api/v1/interlocks', undefined, 5000)) ?? [],
  tag: (name: string) => request<TagDetail>('GET', `/api/v1/tags/${enc(name)}`, undefined, 5000),
  mode: (name: string, mode: string) => request<LoopView>('POST', `/api/v1/loops/${enc(name)}/mode`, { mode, reason: '' }),
  setpoint: (name: string, value: number) => request<LoopView>('POST', `/api/v1/loops/${enc(name)}/sp`, { value, reason: '' }, 20000),
  output: (name: string, value: number) => request<LoopView>('POST', `/api/v1/loops/${enc(name)}/out`, { value, reason: '' }, 20000),
  tuning: (name: string, gains: { kp?: number; ti?: number; td?: number }) =>
    request<LoopView>('POST', `/api/v1/loops/${enc(name)}/tuning`, { ...gains, reason: '' }),
  /** Presses a push button (its momentary length); answers after the release. */
  pulse: (tag: string) => request<TagDetail>('POST', `/api/v1/tags/${enc(tag)}/pulse`, {}, 20000),
  write: (tag: string, value: TagScalar) =>
    request<TagDetail>('POST', `/api/v1/tags/${enc(tag)}/write`, { value, reason: '' }, 20000),
};

/** The historian's answer (GET /api/v1/history), as far as the mini trends need it. */
interface HistoryAnswer {
  series?: { tag: string; t?: number[]; last?: (number | null)[] }[];
}

/**
 * Recent history of a tag as [t, v] pairs, or [] when there is no historian
 * (404) or anything else goes wrong: the mini trends then start empty.
 */
export async function recentHistory(tag: string, from: number, to: number, points: number): Promise<[number, number][]> {
  try {
    const q = `tag=${enc(tag)}&from=${Math.floor(from)}&to=${Math.floor(to)}&points=${points}`;
    const h = await request<HistoryAnswer>('GET', `/api/v1/history?${q}`, undefined, 5000);
    const s = h?.series?.find((x) => x.tag === tag) ?? h?.series?.[0];
    if (!s?.t || !s.last) return [];
    const out: [number, number][] = [];
    s.t.forEach((t, i) => {
      const v = s.last?.[i];
      if (typeof t === 'number' && typeof v === 'number' && Number.isFinite(v)) out.push([t, v]);
    });
    return out;
  } catch {
    return [];
  }
}
