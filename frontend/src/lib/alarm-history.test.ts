import { describe, expect, it } from 'vitest';
import { DEFAULT_HISTORY, historyFilename, historyFiltered, historyQuery, historyValue, kindText, parseAlarmEvents } from './alarm-history';

const NOW = Date.UTC(2025, 10, 25, 14, 0, 0);

describe('alarm history', () => {
  it('builds the query: range as from, exact filters, limit, csv', () => {
    const q = new URLSearchParams(historyQuery({ ...DEFAULT_HISTORY, range: '1h' }, NOW));
    expect(q.get('from')).toBe(String(NOW - 3600_000));
    expect(q.has('to')).toBe(false);
    expect(q.get('limit')).toBe('10000');
    expect([...q.keys()].sort()).toEqual(['from', 'limit']);

    const f = { range: '7d' as const, alarm: ' a/b:c.d ', area: 'T101', priority: 'high' as const, kind: 'ack' as const };
    const s = historyQuery(f, NOW, { format: 'csv', limit: 50 });
    const q2 = new URLSearchParams(s);
    expect(q2.get('from')).toBe(String(NOW - 7 * 24 * 3600_000));
    expect(q2.get('alarm')).toBe('a/b:c.d');
    expect(s).toContain('alarm=a%2Fb%3Ac.d');
    expect(q2.get('area')).toBe('T101');
    expect(q2.get('priority')).toBe('high');
    expect(q2.get('kind')).toBe('ack');
    expect(q2.get('limit')).toBe('50');
    expect(q2.get('format')).toBe('csv');
    expect(historyFiltered(f)).toBe(true);
    expect(historyFiltered(DEFAULT_HISTORY)).toBe(false);
  });

  it('keeps usable rows and fills what is missing', () => {
    const rows = parseAlarmEvents([
      { id: 2, ts: 20, alarm: 'T101.LevelHi', kind: 'ack', from: 'unacked', to: 'acked', value: 86.1234, user: 'operator', comment: 'seen', priority: 'high', area: 'T101', message: 'Tank T101 level high', flags: ['first_out', 3] },
      { id: 1, ts: 10, alarm: 'T101.LevelHi', kind: 'activate', priority: 'urgent' },
      { ts: 'x', alarm: 'bad' },
      'junk',
      { ts: 5, kind: 'ack' },
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ user: 'operator', comment: 'seen', flags: ['first_out'], priority: 'high' });
    expect(rows[1]).toMatchObject({ from: '', to: '', user: '', value: null, priority: '', flags: [] });
    expect(parseAlarmEvents({ error: 'x' })).toEqual([]);
  });

  it('words and values', () => {
    expect(kindText('out_of_service')).toBe('Out of service');
    expect(kindText('activate')).toBe('Activated');
    expect(kindText('new_kind')).toBe('new kind');
    expect(historyValue(86.12345)).toBe('86.123');
    expect(historyValue(3)).toBe('3');
    expect(historyValue(null)).toBe('');
    expect(historyValue(true)).toBe('true');
    expect(historyFilename(new Date(2025, 10, 25, 14, 3, 7).getTime())).toBe('edgehmi-alarms-20251125-140307.csv');
  });
});
