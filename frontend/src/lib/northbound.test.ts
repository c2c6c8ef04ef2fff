import { describe, expect, it } from 'vitest';
import { formatAge, northboundView, parseNorthbound } from './northbound';

describe('parseNorthbound', () => {
  it('fills what is missing and drops bad numbers', () => {
    const s = parseNorthbound({ enabled: true, state: 'online', buffer_rows: -3, messages_out: 12, broker: 5 });
    expect(s.enabled).toBe(true);
    expect(s.buffer_rows).toBe(0);
    expect(s.messages_out).toBe(12);
    expect(s.broker).toBe('');
    expect(s.last_error).toBe('');
  });
  it('refuses what is not an object', () => {
    expect(() => parseNorthbound(null)).toThrow();
  });
});

describe('northboundView', () => {
  const base = parseNorthbound({ enabled: true, state: 'online', group_id: 'plant', edge_node: 'hmi1' });
  it('is quiet when online with an empty buffer', () => {
    const v = northboundView(base, 0);
    expect(v.linkText).toBe('Online');
    expect(v.down).toBe(false);
    expect(v.bufferText).toBe('empty');
    expect(v.buffering).toBe(false);
    expect(v.identity).toBe('spBv1.0/plant/…/hmi1');
  });
  it('flags an offline node with a buffer and its age', () => {
    const v = northboundView({ ...base, state: 'offline', buffer_rows: 1234, buffer_oldest_ts: 1_000, buffer_dropped: 2 }, 1_000 + 12 * 60_000);
    expect(v.down).toBe(true);
    expect(v.linkText).toBe('Disconnected');
    expect(v.bufferText).toBe('1,234 rows, oldest 12 min');
    expect(v.buffering).toBe(true);
    expect(v.dropped).toBe(2);
  });
  it('names the primary host it waits for', () => {
    expect(northboundView({ ...base, state: 'waiting for primary host', primary_host: 'scada' }, 0).linkText).toBe(
      'Connected, waiting for primary host scada',
    );
  });
  it('is not abnormal when there is no edge node', () => {
    const v = northboundView(parseNorthbound({ enabled: false, state: 'disabled' }), 0);
    expect(v.enabled).toBe(false);
    expect(v.down).toBe(false);
  });
});

describe('formatAge', () => {
  it('picks a unit', () => {
    expect(formatAge(0)).toBe('0 s');
    expect(formatAge(42_000)).toBe('42 s');
    expect(formatAge(12 * 60_000)).toBe('12 min');
    expect(formatAge(3.5 * 3_600_000)).toBe('3.5 h');
  });
});
