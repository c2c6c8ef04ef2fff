// The typed client of the alarm endpoints (docs/api.md): acknowledge, shelve,
// reset, out of service, silence, history, KPIs. Built on transport's
// `request` (session cookie, bearer token, errors as ApiError with the
// server's sentence). Alarm names may hold '/', ':' and '.': every name in a
// path is percent-encoded.

import { parseAlarmEvents, type AlarmEvent } from './alarm-history';
import { parseKpi, type Kpi } from './kpi';
import { toAlarm, toSummary } from './messages';
import { request } from './transport';
import type { Alarm, AlarmSummary } from './types';

/** The path of an action on one alarm. */
export function alarmPath(name: string, action: string): string {
  return `/api/v1/alarms/${encodeURIComponent(name)}/${action}`;
}

/** The answer of POST /api/v1/alarms/ack. */
export interface AckManyResult {
  acked: string[];
  /** Name → why it was not acknowledged. */
  skipped: Record<string, string>;
}

export interface ShelveRequest {
  /** Minutes; ignored by the server for one-shot (the alarm's maximum applies). */
  minutes: number;
  one_shot: boolean;
  reason: string;
}

/** Shelve durations offered to the operator; the server enforces each alarm's maximum. */
export const SHELVE_PRESETS: readonly { id: string; label: string; minutes: number; oneShot: boolean }[] = [
  { id: '15m', label: '15 min', minutes: 15, oneShot: false },
  { id: '1h', label: '1 h', minutes: 60, oneShot: false },
  { id: '8h', label: '8 h', minutes: 480, oneShot: false },
  { id: 'oneshot', label: 'One-shot', minutes: 0, oneShot: true },
];

function parseAckMany(data: unknown): AckManyResult {
  const d = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const acked = Array.isArray(d.acked) ? d.acked.filter((x): x is string => typeof x === 'string') : [];
  const skipped: Record<string, string> = {};
  if (d.skipped && typeof d.skipped === 'object' && !Array.isArray(d.skipped)) {
    for (const [k, v] of Object.entries(d.skipped)) skipped[k] = typeof v === 'string' ? v : 'skipped';
  }
  return { acked, skipped };
}

const opt = (key: string, text: string | undefined): Record<string, string> => (text && text.trim() ? { [key]: text.trim() } : {});

export const alarmApi = {
  /** Every alarm (all=true: hidden and normal ones too, in project order). */
  async list(all: boolean): Promise<Alarm[]> {
    const data = await request<unknown>('GET', all ? '/api/v1/alarms?all=1' : '/api/v1/alarms', undefined, 20000);
    if (!Array.isArray(data)) return [];
    const out: Alarm[] = [];
    for (const raw of data) {
      const a = toAlarm(raw);
      if (a) out.push(a);
    }
    return out;
  },

  /** 409 when there is nothing to acknowledge. */
  ack(name: string, comment?: string): Promise<unknown> {
    return request('POST', alarmPath(name, 'ack'), opt('comment', comment));
  },

  async ackMany(names: readonly string[], comment?: string): Promise<AckManyResult> {
    return parseAckMany(await request<unknown>('POST', '/api/v1/alarms/ack', { names, ...opt('comment', comment) }, 60000));
  },

  shelve(name: string, r: ShelveRequest): Promise<unknown> {
    return request('POST', alarmPath(name, 'shelve'), { minutes: r.minutes, one_shot: r.one_shot, reason: r.reason.trim() });
  },

  unshelve(name: string, reason?: string): Promise<unknown> {
    return request('POST', alarmPath(name, 'unshelve'), opt('reason', reason));
  },

  reset(name: string, comment?: string): Promise<unknown> {
    return request('POST', alarmPath(name, 'reset'), opt('comment', comment));
  },

  /** Engineer role. */
  outOfService(name: string, reason: string): Promise<unknown> {
    return request('POST', alarmPath(name, 'out-of-service'), { reason: reason.trim() });
  },

  /** Engineer role. */
  returnToService(name: string, reason?: string): Promise<unknown> {
    return request('POST', alarmPath(name, 'return-to-service'), opt('reason', reason));
  },

  /** Silences the horn; answers the summary (null if the answer has none). */
  async silence(): Promise<AlarmSummary | null> {
    return toSummary(await request<unknown>('POST', '/api/v1/alarms/silence', {}));
  },

  /** `query` from historyQuery (without format=csv). */
  async history(query: string): Promise<AlarmEvent[]> {
    return parseAlarmEvents(await request<unknown>('GET', `/api/v1/alarms/history?${query}`, undefined, 30000));
  },

  async kpi(query: string): Promise<Kpi | null> {
    return parseKpi(await request<unknown>('GET', `/api/v1/alarms/kpi?${query}`, undefined, 30000));
  },
};
