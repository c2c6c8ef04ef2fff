import { describe, expect, it } from 'vitest';
import { deviceRow, deviceRows, driverLabel, formatCount, formatNs, parseDevices, type DeviceStats } from './devices';

const MS = 1e6;

function dev(over: Partial<DeviceStats> = {}): DeviceStats {
  return {
    name: 'plc1',
    driver: 'modbus-tcp',
    connected: true,
    polls: 100,
    errors: 0,
    timeouts: 0,
    overruns: 0,
    reconnects: 0,
    scan_period_ns: 500 * MS,
    last_scan_ns: 1.6764 * MS,
    p99_scan_ns: 3.2 * MS,
    p99_jitter_ns: 0.12 * MS,
    requests: 240,
    last_rtt_ns: 0.8 * MS,
    p99_rtt_ns: 1.45 * MS,
    ...over,
  };
}

describe('formatNs', () => {
  it('shows milliseconds with decimals that suit the size', () => {
    expect(formatNs(42_000)).toBe('0.042 ms');
    expect(formatNs(189_277)).toBe('0.19 ms');
    expect(formatNs(1_676_378)).toBe('1.68 ms');
    expect(formatNs(9_994_000)).toBe('9.99 ms');
    expect(formatNs(12_345_678)).toBe('12.3 ms');
    expect(formatNs(250 * MS)).toBe('250 ms');
    expect(formatNs(1000 * MS)).toBe('1000 ms');
    expect(formatNs(9999 * MS)).toBe('9999 ms');
  });

  it('switches to seconds from 10 s, and keeps tiny and empty values readable', () => {
    expect(formatNs(10_000 * MS)).toBe('10.0 s');
    expect(formatNs(12_500 * MS)).toBe('12.5 s');
    expect(formatNs(250_000 * MS)).toBe('250 s');
    expect(formatNs(400)).toBe('< 0.001 ms');
    expect(formatNs(0)).toBe('0 ms');
    expect(formatNs(-5)).toBe('0 ms');
    expect(formatNs(Number.NaN)).toBe('0 ms');
  });
});

describe('driverLabel', () => {
  it('names the drivers for people', () => {
    expect(driverLabel('modbus-tcp')).toBe('Modbus TCP');
    expect(driverLabel('opcua')).toBe('OPC UA');
    expect(driverLabel('s7')).toBe('s7');
    expect(driverLabel('')).toBe('—');
  });
});

describe('parseDevices', () => {
  it('keeps named entries and reads missing counters as 0 (older servers send fewer fields)', () => {
    const d = parseDevices([
      { name: 'plc1', driver: 'modbus-tcp', connected: true, polls: 19, errors: 0, overruns: 0, reconnects: 0, last_scan_ns: 1676378 },
      { name: 'plc2', driver: 'modbus-tcp', connected: false, polls: 'x', last_error: 'dial tcp: connection refused' },
      { driver: 'opcua' },
      null,
      'junk',
    ]);
    expect(d).toHaveLength(2);
    expect(d[0]).toEqual({
      name: 'plc1',
      driver: 'modbus-tcp',
      connected: true,
      polls: 19,
      errors: 0,
      timeouts: 0,
      overruns: 0,
      reconnects: 0,
      scan_period_ns: 0,
      last_scan_ns: 1676378,
      p99_scan_ns: 0,
      p99_jitter_ns: 0,
      requests: 0,
      last_rtt_ns: 0,
      p99_rtt_ns: 0,
    });
    expect(d[1]).toMatchObject({ connected: false, polls: 0, requests: 0, p99_rtt_ns: 0, last_error: 'dial tcp: connection refused' });
  });

  it('reads the request counter, round trips and jitter; bad values read as 0', () => {
    const [ok, bad] = parseDevices([
      { name: 'plc1', requests: 1234, last_rtt_ns: 812_000, p99_rtt_ns: 1_450_000, p99_jitter_ns: 120_000 },
      { name: 'plc2', requests: '5', last_rtt_ns: -1, p99_rtt_ns: Number.POSITIVE_INFINITY, p99_jitter_ns: null },
    ]);
    expect(ok).toMatchObject({ requests: 1234, last_rtt_ns: 812_000, p99_rtt_ns: 1_450_000, p99_jitter_ns: 120_000 });
    expect(bad).toMatchObject({ requests: 0, last_rtt_ns: 0, p99_rtt_ns: 0, p99_jitter_ns: 0 });
  });

  it('refuses an answer that is not a list', () => {
    expect(() => parseDevices({ error: 'x' })).toThrow(/no device list/);
    expect(() => parseDevices(null)).toThrow();
  });
});

describe('deviceRows', () => {
  it('sorts by name, numbers in names in numeric order', () => {
    const rows = deviceRows([dev({ name: 'plc10' }), dev({ name: 'heater', driver: 'opcua' }), dev({ name: 'plc2' }), dev({ name: 'Conveyor' })]);
    expect(rows.map((r) => r.name)).toEqual(['Conveyor', 'heater', 'plc2', 'plc10']);
  });

  it('does not change the list it is given', () => {
    const list = [dev({ name: 'b' }), dev({ name: 'a' })];
    deviceRows(list);
    expect(list.map((d) => d.name)).toEqual(['b', 'a']);
  });

  it('shows a polled device with its scan times and load', () => {
    const r = deviceRow(dev());
    expect(r).toMatchObject({
      driverLabel: 'Modbus TCP',
      subscription: false,
      linkText: 'Connected',
      down: false,
      slow: false,
      period: '500 ms',
      lastScan: '1.68 ms',
      p99: '3.20 ms',
      requests: 240,
      lastRtt: '0.80 ms',
      rtt: '1.45 ms',
      jitter: '0.12 ms',
    });
    expect(r.load).toBeCloseTo(0.0064);
    expect(r.loadTitle).toMatch(/1 % of the 500 ms period$/);
  });

  it('shows a subscription device (OPC UA) without scan times', () => {
    const r = deviceRow(dev({ name: 'heater', driver: 'opcua', scan_period_ns: 0, last_scan_ns: 0, p99_scan_ns: 0, polls: 7 }));
    expect(r).toMatchObject({ driverLabel: 'OPC UA', subscription: true, period: '—', lastScan: '—', p99: '—', load: null, slow: false, polls: 7 });
    // No requests, round trips or jitter for a subscription, even if a server sent some.
    expect(r).toMatchObject({ requests: null, lastRtt: '—', rtt: '—', jitter: '' });
    // Even if a server sent scan times for it, there is no scan to show.
    expect(deviceRow(dev({ driver: 'opcua', p99_scan_ns: 900 * MS })).slow).toBe(false);
  });

  it('flags a disconnected device with its last error', () => {
    const r = deviceRow(dev({ connected: false, last_error: 'modbus 127.0.0.1:5020: connect: i/o timeout', reconnects: 3 }));
    expect(r).toMatchObject({ down: true, connected: false, linkText: 'Disconnected', lastError: 'modbus 127.0.0.1:5020: connect: i/o timeout', reconnects: 3 });
    expect(deviceRow(dev()).lastError).toBe('');
  });

  it('flags a p99 scan longer than the period, with the bar full', () => {
    const r = deviceRow(dev({ scan_period_ns: 100 * MS, p99_scan_ns: 150 * MS }));
    expect(r.slow).toBe(true);
    expect(r.load).toBe(1);
    expect(r.loadTitle).toMatch(/150 % .*longer than the period/);
    // Equal is not over.
    expect(deviceRow(dev({ scan_period_ns: 100 * MS, p99_scan_ns: 100 * MS })).slow).toBe(false);
  });

  it('shows dashes and no bar when a polled device reports no period or no scans yet', () => {
    const r = deviceRow(dev({ scan_period_ns: 0, last_scan_ns: 0, p99_scan_ns: 0, p99_jitter_ns: 0, requests: 0, last_rtt_ns: 0, p99_rtt_ns: 0 }));
    expect(r).toMatchObject({ period: '—', lastScan: '—', p99: '—', load: null, slow: false, requests: 0, lastRtt: '—', rtt: '—', jitter: '' });
  });
});

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});
