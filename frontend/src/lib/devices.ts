// The Diagnostics screen's model: GET /api/v1/devices → one row per device,
// sorted by name, with durations as text and the abnormal states flagged. Pure.

/** One device as GET /api/v1/devices returns it (durations in ns). */
export interface DeviceStats {
  name: string;
  driver: string;
  connected: boolean;
  polls: number;
  errors: number;
  timeouts: number;
  overruns: number;
  reconnects: number;
  scan_period_ns: number;
  last_scan_ns: number;
  p99_scan_ns: number;
  /** How late scans started against their schedule, p99 (polled devices). */
  p99_jitter_ns: number;
  /** Answered requests (Modbus; 0 for OPC UA). */
  requests: number;
  /** Request round trips: the last one and the p99 over the last 128. */
  last_rtt_ns: number;
  p99_rtt_ns: number;
  last_error?: string;
}

const COUNTERS = ['polls', 'errors', 'timeouts', 'overruns', 'reconnects', 'scan_period_ns', 'last_scan_ns', 'p99_scan_ns',
  'p99_jitter_ns', 'requests', 'last_rtt_ns', 'p99_rtt_ns'] as const;

/** Validates the answer: entries without a name are dropped, missing numbers read as 0. */
export function parseDevices(data: unknown): DeviceStats[] {
  if (!Array.isArray(data)) throw new Error('the server sent no device list');
  const out: DeviceStats[] = [];
  for (const d of data) {
    if (!d || typeof d !== 'object') continue;
    const o = d as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') continue;
    const s: DeviceStats = {
      name: o.name,
      driver: typeof o.driver === 'string' ? o.driver : '',
      connected: o.connected === true,
      polls: 0,
      errors: 0,
      timeouts: 0,
      overruns: 0,
      reconnects: 0,
      scan_period_ns: 0,
      last_scan_ns: 0,
      p99_scan_ns: 0,
      p99_jitter_ns: 0,
      requests: 0,
      last_rtt_ns: 0,
      p99_rtt_ns: 0,
    };
    for (const k of COUNTERS) {
      const v = o[k];
      s[k] = typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
    }
    if (typeof o.last_error === 'string' && o.last_error !== '') s.last_error = o.last_error;
    out.push(s);
  }
  return out;
}

/**
 * A duration in ns as milliseconds, with decimals that suit its size:
 * 0.042 ms, 0.42 ms, 4.20 ms, 42.0 ms, 420 ms, 4200 ms; from 10 s on, seconds.
 */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns) || ns <= 0) return '0 ms';
  const ms = ns / 1e6;
  if (ms < 0.001) return '< 0.001 ms';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 1)} s`;
  const decimals = ms < 0.1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0;
  return `${ms.toFixed(decimals)} ms`;
}

const DRIVERS: Record<string, string> = {
  'modbus-tcp': 'Modbus TCP',
  modbus: 'Modbus TCP',
  modbustcp: 'Modbus TCP',
  opcua: 'OPC UA',
  'opc-ua': 'OPC UA',
};

export function driverLabel(driver: string): string {
  return DRIVERS[driver.toLowerCase()] ?? (driver || '—');
}

/** OPC UA devices get their values by subscription: no scan, polls are deliveries. */
export function isSubscription(driver: string): boolean {
  const d = driver.toLowerCase();
  return d === 'opcua' || d === 'opc-ua';
}

export interface DeviceRow {
  name: string;
  driver: string;
  driverLabel: string;
  subscription: boolean;
  connected: boolean;
  /** "Connected" or "Disconnected". */
  linkText: string;
  lastError: string;
  polls: number;
  errors: number;
  timeouts: number;
  overruns: number;
  reconnects: number;
  /** Answered requests; null for subscription devices (no requests to count). */
  requests: number | null;
  /** Duration texts; "—" for subscription devices and unknown values. */
  period: string;
  lastScan: string;
  p99: string;
  /** p99 scan start lateness; "" when there is none to show. */
  jitter: string;
  /** Request round trips: the last one and the p99. */
  lastRtt: string;
  rtt: string;
  /** p99 scan as a share of the period (0…1, clamped), null when there is nothing to compare. */
  load: number | null;
  /** Abnormal: the device is not connected (alarm colour, with a label). */
  down: boolean;
  /** Abnormal: the p99 scan takes longer than the scan period (amber bar). */
  slow: boolean;
  /** Hover text for the bar. */
  loadTitle: string;
}

const DASH = '—';

export function deviceRow(d: DeviceStats): DeviceRow {
  const subscription = isSubscription(d.driver);
  const scanned = !subscription;
  const hasPeriod = scanned && d.scan_period_ns > 0;
  const load = hasPeriod ? Math.min(1, d.p99_scan_ns / d.scan_period_ns) : null;
  const slow = hasPeriod && d.p99_scan_ns > d.scan_period_ns;
  const pct = hasPeriod ? Math.round((d.p99_scan_ns / d.scan_period_ns) * 100) : 0;
  return {
    name: d.name,
    driver: d.driver,
    driverLabel: driverLabel(d.driver),
    subscription,
    connected: d.connected,
    linkText: d.connected ? 'Connected' : 'Disconnected',
    lastError: d.last_error ?? '',
    polls: d.polls,
    errors: d.errors,
    timeouts: d.timeouts,
    overruns: d.overruns,
    reconnects: d.reconnects,
    requests: scanned ? d.requests : null,
    period: hasPeriod ? formatNs(d.scan_period_ns) : DASH,
    lastScan: scanned && d.last_scan_ns > 0 ? formatNs(d.last_scan_ns) : DASH,
    p99: scanned && d.p99_scan_ns > 0 ? formatNs(d.p99_scan_ns) : DASH,
    jitter: scanned && d.p99_jitter_ns > 0 ? formatNs(d.p99_jitter_ns) : '',
    lastRtt: scanned && d.last_rtt_ns > 0 ? formatNs(d.last_rtt_ns) : DASH,
    rtt: scanned && d.p99_rtt_ns > 0 ? formatNs(d.p99_rtt_ns) : DASH,
    load,
    down: !d.connected,
    slow,
    loadTitle: subscription
      ? 'Subscription: no scan'
      : hasPeriod
        ? `p99 scan ${formatNs(d.p99_scan_ns)} is ${pct} % of the ${formatNs(d.scan_period_ns)} period${slow ? ': longer than the period' : ''}`
        : 'No scan period reported',
  };
}

const byName = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Rows sorted by name (plc2 before plc10). */
export function deviceRows(devices: readonly DeviceStats[]): DeviceRow[] {
  return [...devices].sort((a, b) => byName.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(deviceRow);
}

/** Counts as text, grouped (12,345). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
