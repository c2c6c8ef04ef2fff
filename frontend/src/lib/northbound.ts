// The Diagnostics screen's northbound panel: GET /api/v1/northbound → the
// Sparkplug B edge node's link, counters and store-and-forward buffer. Pure.

/** The edge node as GET /api/v1/northbound reports it (times in Unix ms). */
export interface NorthboundStatus {
  enabled: boolean;
  state: string;
  connected: boolean;
  broker: string;
  group_id: string;
  edge_node: string;
  primary_host: string;
  commands: boolean;
  bdseq: number;
  since: number;
  last_birth: number;
  last_error: string;
  messages_out: number;
  metrics_out: number;
  births: number;
  replayed: number;
  commands_ok: number;
  commands_failed: number;
  buffer_rows: number;
  buffer_oldest_ts: number;
  buffer_dropped: number;
}

const NUMBERS = ['bdseq', 'since', 'last_birth', 'messages_out', 'metrics_out', 'births', 'replayed', 'commands_ok', 'commands_failed',
  'buffer_rows', 'buffer_oldest_ts', 'buffer_dropped'] as const;
const STRINGS = ['state', 'broker', 'group_id', 'edge_node', 'primary_host', 'last_error'] as const;

/** Validates the answer: missing numbers read as 0, missing text as "". */
export function parseNorthbound(data: unknown): NorthboundStatus {
  if (!data || typeof data !== 'object') throw new Error('the server sent no northbound status');
  const o = data as Record<string, unknown>;
  const s = { enabled: o.enabled === true, connected: o.connected === true, commands: o.commands === true } as NorthboundStatus;
  for (const k of NUMBERS) {
    const v = o[k];
    s[k] = typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
  }
  for (const k of STRINGS) {
    const v = o[k];
    s[k] = typeof v === 'string' ? v : '';
  }
  return s;
}

/** A span in seconds as text: 42 s, 12 min, 3.5 h. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0 s';
  const s = ms / 1000;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export interface NorthboundView {
  /** The node exists (the project has a sparkplug section). */
  enabled: boolean;
  /** "Online", "Connected, waiting for primary host SCADA", "Disconnected"… */
  linkText: string;
  /** Abnormal: the node is not online (alarm colour). */
  down: boolean;
  /** spBv1.0/GROUP/…/EDGE */
  identity: string;
  /** "1,234 rows, oldest 12 min" or "empty". */
  bufferText: string;
  /** Abnormal: changes are waiting or were dropped. */
  buffering: boolean;
  dropped: number;
}

export function northboundView(s: NorthboundStatus, now: number): NorthboundView {
  let linkText: string;
  switch (s.state) {
    case 'online':
      linkText = 'Online';
      break;
    case 'waiting for primary host':
      linkText = `Connected, waiting for primary host ${s.primary_host}`.trim();
      break;
    case 'connecting':
      linkText = 'Connecting';
      break;
    case 'stopped':
      linkText = 'Stopped';
      break;
    default:
      linkText = 'Disconnected';
  }
  const age = s.buffer_rows > 0 && s.buffer_oldest_ts > 0 ? now - s.buffer_oldest_ts : 0;
  return {
    enabled: s.enabled,
    linkText,
    down: s.enabled && s.state !== 'online',
    identity: s.enabled ? `spBv1.0/${s.group_id}/…/${s.edge_node}` : '',
    bufferText: s.buffer_rows > 0 ? `${s.buffer_rows.toLocaleString('en-US')} rows, oldest ${formatAge(age)}` : 'empty',
    buffering: s.buffer_rows > 0 || s.buffer_dropped > 0,
    dropped: s.buffer_dropped,
  };
}
