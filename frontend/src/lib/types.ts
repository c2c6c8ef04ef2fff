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
/** ISA-18.2 states (docs/api.md); latched alarms wait for a reset after their return. */
export type AlarmState = 'normal' | 'unacked' | 'acked' | 'rtn_unacked' | 'latched_unacked' | 'latched_acked';

/** One alarm as GET /api/v1/alarms and the websocket's alarms message send it. */
export interface Alarm {
  name: string;
  tag: string;
  type: string;
  priority: Priority;
  state: AlarmState;
  /** The condition is active (unacked, acked). */
  active: boolean;
  /** Waits for an acknowledgement (unacked, rtn_unacked, latched_unacked). */
  unacked: boolean;
  message: string;
  area: string;
  value: TagScalar;
  /** When it last activated (Unix ms; kept after the return). */
  since: number;
  /** When it last changed state (Unix ms); 0 if never. */
  changed?: number;
  acked_by?: string;
  device?: string;
  group?: string;
  first_out?: boolean;
  shelved?: boolean;
  /** Unix ms: the shelve ends at the latest then. */
  shelved_until?: number;
  one_shot?: boolean;
  shelved_by?: string;
  shelve_reason?: string;
  suppressed?: boolean;
  out_of_service?: boolean;
  out_of_service_by?: string;
}

export type PriorityNumbers = Record<Priority, number>;

/** The alarms message's summary: counts of the operator's list, horn, hidden counts. */
export interface AlarmSummary {
  alarms: number;
  total: PriorityNumbers;
  unacked: PriorityNumbers;
  horn: boolean;
  /** When the horn was last silenced (Unix ms), 0 if never. */
  silenced: number;
  shelved: number;
  suppressed: number;
  out_of_service: number;
}

export type ServerMessage =
  | { type: 'snapshot'; tags: TagValue[] }
  | { type: 'update'; tags: TagValue[] }
  | { type: 'alarms'; alarms: Alarm[]; summary: AlarmSummary | null }
  | { type: 'error'; error: string }
  | { type: 'project'; name: string; hash: string; id: string };

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
