// Shapes of the server contract (docs: shared API.md, v1).

export type Quality = 'good' | 'uncertain' | 'bad';
export type TagScalar = number | boolean | string | null;

/** One live value as the websocket sends it. */
export interface TagValue {
  name: string;
  value: TagScalar;
  quality: Quality;
  reason?: string;
  ts: number;
}

/** One tag as GET /api/v1/tags returns it: the value plus its definition. */
export interface TagInfo extends TagValue {
  unit: string;
  writable: boolean;
  low?: number;
  high?: number;
  description: string;
  device: string;
  /** Lowest role that may write this tag; operator when absent. */
  write_role?: Role;
}

export type Priority = 'critical' | 'high' | 'medium' | 'low';
export type AlarmState = 'unacked' | 'acked' | 'rtn_unacked';

export interface Alarm {
  name: string;
  tag: string;
  type: string;
  priority: Priority;
  state: AlarmState;
  active: boolean;
  message: string;
  area: string;
  value: TagScalar;
  since: number;
}

export type ServerMessage =
  | { type: 'snapshot'; tags: TagValue[] }
  | { type: 'update'; tags: TagValue[] }
  | { type: 'alarms'; alarms: Alarm[] }
  | { type: 'error'; error: string };

export interface Info {
  name: string;
  version: string;
  demo: boolean;
  /** Log out after this many seconds without input; 0 or absent: never. */
  ui_idle_logout_s?: number;
}

export type Role = 'viewer' | 'operator' | 'engineer' | 'admin';

export interface Session {
  user: string;
  role: Role;
}

export interface WriteResult {
  name: string;
  value: TagScalar;
  quality: Quality;
  ts: number;
}

/** One entry of the audit trail (GET /api/v1/events?kind=audit); empty fields are omitted. */
export interface AuditEvent {
  id: number;
  /** Unix ms. */
  ts: number;
  kind: string;
  source?: string;
  user?: string;
  address?: string;
  action?: string;
  old?: string;
  new?: string;
  readback?: string;
  reason?: string;
  result?: string;
  detail?: string;
}
