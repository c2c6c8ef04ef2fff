import { describe, expect, it } from 'vitest';
import {
  PENDING_TIMEOUT_MS,
  ackableNames,
  areasOf,
  ariaSort,
  bannerCounts,
  countByPriority,
  equipmentMarker,
  equipmentMarkers,
  filterAlarms,
  flagTexts,
  nextSort,
  scopeAlarms,
  settlePending,
  sortAlarms,
  sortSummary,
  sumCounts,
  topAlarms,
  type PendingAck,
} from './alarms';
import type { Alarm, AlarmSummary } from './types';

const UNACKED = new Set(['unacked', 'rtn_unacked', 'latched_unacked']);

function alarm(p: Partial<Alarm> & Pick<Alarm, 'name'>): Alarm {
  const state = p.state ?? 'unacked';
  return {
    tag: '',
    type: 'hi',
    priority: 'low',
    active: state === 'unacked' || state === 'acked',
    unacked: UNACKED.has(state),
    message: '',
    area: '',
    value: null,
    since: 0,
    ...p,
    state,
  };
}

describe('ordering', () => {
  const list = [
    alarm({ name: 'low-new', priority: 'low', since: 9 }),
    alarm({ name: 'crit-rtn', priority: 'critical', state: 'rtn_unacked', since: 1 }),
    alarm({ name: 'high-acked', priority: 'high', state: 'acked', since: 5 }),
    alarm({ name: 'high-unacked-old', priority: 'high', since: 2 }),
    alarm({ name: 'high-unacked-new', priority: 'high', since: 3 }),
    alarm({ name: 'crit', priority: 'critical', since: 0, area: 'TIC101', tag: 'TIC101.PV' }),
    alarm({ name: 'latched-acked', priority: 'critical', state: 'latched_acked', since: 8 }),
  ];

  it('sorts unacknowledged first, then by priority, then newest (as the server does)', () => {
    expect(sortAlarms(list).map((a) => a.name)).toEqual([
      'crit-rtn',
      'crit',
      'high-unacked-new',
      'high-unacked-old',
      'low-new',
      'latched-acked',
      'high-acked',
    ]);
  });

  it('picks the banner rows without sorting everything, skipping hidden and normal alarms', () => {
    expect(topAlarms(list, 3).map((a) => a.name)).toEqual(['crit-rtn', 'crit', 'high-unacked-new']);
    expect(topAlarms(list, 100).map((a) => a.name)).toEqual(sortAlarms(list).map((a) => a.name));
    expect(topAlarms(list, 0)).toEqual([]);
    const hidden = [
      alarm({ name: 'shelved', priority: 'critical', shelved: true }),
      alarm({ name: 'oos', priority: 'critical', out_of_service: true }),
      alarm({ name: 'normal', priority: 'critical', state: 'normal' }),
      alarm({ name: 'shown', priority: 'low' }),
    ];
    expect(topAlarms(hidden, 3).map((a) => a.name)).toEqual(['shown']);
  });

  it('selects the same top rows as a full sort for a shuffled storm', () => {
    const prios = ['critical', 'high', 'medium', 'low'] as const;
    const storm: Alarm[] = [];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 2000; i++) {
      storm.push(alarm({ name: `a${i}`, priority: prios[Math.floor(rnd() * 4)], state: rnd() < 0.5 ? 'unacked' : 'acked', since: Math.floor(rnd() * 50) }));
    }
    expect(topAlarms(storm, 5).map((a) => a.name)).toEqual(sortAlarms(storm).slice(0, 5).map((a) => a.name));
  });

  it('counts by priority with the unacked flag (latched_acked is not unacked)', () => {
    const c = countByPriority(list);
    expect(c.critical).toEqual({ total: 3, unacked: 2 });
    expect(c.high).toEqual({ total: 3, unacked: 2 });
    expect(c.medium).toEqual({ total: 0, unacked: 0 });
    expect(c.low).toEqual({ total: 1, unacked: 1 });
    expect(sumCounts(c)).toEqual({ total: 7, unacked: 5 });
    expect(countByPriority([alarm({ name: 's', shelved: true })]).low).toEqual({ total: 0, unacked: 0 });
  });

  it("prefers the server's summary for the banner counts", () => {
    const summary: AlarmSummary = {
      alarms: 10000,
      total: { critical: 0, high: 10000, medium: 0, low: 0 },
      unacked: { critical: 0, high: 9999, medium: 0, low: 0 },
      horn: true,
      silenced: 0,
      shelved: 0,
      suppressed: 0,
      out_of_service: 0,
    };
    expect(bannerCounts(summary, []).high).toEqual({ total: 10000, unacked: 9999 });
    expect(bannerCounts(null, list).critical).toEqual({ total: 3, unacked: 2 });
  });
});

describe('equipment markers', () => {
  it('shows the highest priority, blinking while any alarm of the equipment is unacknowledged', () => {
    const list = [
      alarm({ name: 'T101.LevelLo', priority: 'medium', area: 'T101', state: 'unacked' }),
      alarm({ name: 'T101.LevelHi', priority: 'high', area: 'T101', state: 'acked' }),
      alarm({ name: 'P101.Fault', priority: 'critical', tag: 'P101.Fault', state: 'acked' }),
    ];
    const t = equipmentMarker(list, 'T101');
    expect(t?.alarm.name).toBe('T101.LevelHi');
    expect(t?.unacked).toBe(true);
    expect(t?.count).toBe(2);
    const p = equipmentMarker(list, 'P101');
    expect(p?.alarm.name).toBe('P101.Fault');
    expect(p?.unacked).toBe(false); // acked: steady
    expect(equipmentMarker(list, 'P10')).toBeUndefined();
  });

  it('finds every marker in one pass: by area and by the tag of the equipment', () => {
    const list = [
      alarm({ name: 'a', area: 'T101', tag: 'P101.Flow', priority: 'low' }), // both T101 (area) and P101 (tag)
      alarm({ name: 'b', area: 'Line2', tag: 'L2.M1.Speed', priority: 'high', state: 'acked' }),
      alarm({ name: 'c', area: 'T101', tag: 'T101.Level', priority: 'medium' }), // counted once for T101
    ];
    const m = equipmentMarkers(list, ['T101', 'P101', 'L2.M1', 'XV101']);
    expect(m.get('T101')).toMatchObject({ count: 2, unacked: true });
    expect(m.get('T101')?.alarm.name).toBe('c');
    expect(m.get('P101')?.alarm.name).toBe('a');
    expect(m.get('L2.M1')).toMatchObject({ count: 1, unacked: false });
    expect(m.has('XV101')).toBe(false);
  });

  it('keeps a returned alarm that waits for an ack, drops normal and hidden ones', () => {
    expect(equipmentMarker([alarm({ name: 'r', area: 'T101', state: 'rtn_unacked' })], 'T101')?.unacked).toBe(true);
    expect(equipmentMarker([alarm({ name: 'n', area: 'T101', state: 'normal' })], 'T101')).toBeUndefined();
    expect(equipmentMarker([alarm({ name: 's', area: 'T101', suppressed: true })], 'T101')).toBeUndefined();
  });
});

describe('summary filter and sort', () => {
  const list = [
    alarm({ name: 'T101.LevelHi', message: 'Tank T101 level high', priority: 'high', area: 'T101', tag: 'T101.Level', since: 30 }),
    alarm({ name: 'TIC101.TempHi', message: 'Mixer temperature high', priority: 'high', area: 'TIC101', tag: 'TIC101.PV', since: 20, state: 'acked' }),
    alarm({ name: 'a/b:c.d', message: 'Odd name', priority: 'low', area: 'Line 2', since: 40 }),
    alarm({ name: 'P101.Fault', message: 'Pump fault', priority: 'critical', tag: 'P101.Fault', since: 10 }),
    alarm({ name: 'T101.LevelHi2', message: 'Tank T101 level high 2', priority: 'medium', area: 'T101', since: 50 }),
  ];

  it('filters by area or equipment, priority and words', () => {
    expect(filterAlarms(list, { area: 'T101', priority: '', text: '' }).map((a) => a.name)).toEqual(['T101.LevelHi', 'T101.LevelHi2']);
    expect(filterAlarms(list, { area: 'P101', priority: '', text: '' }).map((a) => a.name)).toEqual(['P101.Fault']);
    expect(filterAlarms(list, { area: '', priority: 'high', text: '' })).toHaveLength(2);
    expect(filterAlarms(list, { area: '', priority: '', text: 'level  HIGH 2' }).map((a) => a.name)).toEqual(['T101.LevelHi2']);
    expect(filterAlarms(list, { area: '', priority: '', text: 'mixer' }).map((a) => a.name)).toEqual(['TIC101.TempHi']);
    expect(filterAlarms(list, { area: '', priority: '', text: '' })).toHaveLength(5);
  });

  it('sorts by priority, time and name, and reverses', () => {
    expect(sortSummary(list, { key: 'priority', reverse: false }).map((a) => a.name)).toEqual([
      'P101.Fault',
      'T101.LevelHi',
      'TIC101.TempHi',
      'T101.LevelHi2',
      'a/b:c.d',
    ]);
    expect(sortSummary(list, { key: 'time', reverse: false }).map((a) => a.since)).toEqual([50, 40, 30, 20, 10]);
    expect(sortSummary(list, { key: 'time', reverse: true }).map((a) => a.since)).toEqual([10, 20, 30, 40, 50]);
    expect(sortSummary(list, { key: 'name', reverse: false }).map((a) => a.name)).toEqual([
      'a/b:c.d',
      'P101.Fault',
      'T101.LevelHi',
      'T101.LevelHi2',
      'TIC101.TempHi',
    ]);
    expect(nextSort({ key: 'name', reverse: false }, 'name')).toEqual({ key: 'name', reverse: true });
    expect(nextSort({ key: 'name', reverse: true }, 'time')).toEqual({ key: 'time', reverse: false });
    expect(ariaSort({ key: 'time', reverse: false }, 'time')).toBe('descending');
    expect(ariaSort({ key: 'name', reverse: false }, 'name')).toBe('ascending');
    expect(ariaSort({ key: 'name', reverse: false }, 'priority')).toBe('none');
  });

  it('lists areas, the hidden scope and what "ack all visible" sends', () => {
    expect(areasOf(list)).toEqual(['Line 2', 'T101', 'TIC101']);
    const all = [...list, alarm({ name: 'S', shelved: true, shelved_by: 'anna' }), alarm({ name: 'N', state: 'normal' })];
    expect(scopeAlarms('hidden', list, all).map((a) => a.name)).toEqual(['S']);
    expect(scopeAlarms('all', list, all)).toHaveLength(7);
    expect(scopeAlarms('hidden', list, null)).toHaveLength(5); // not loaded yet
    expect(ackableNames(list)).toEqual(['T101.LevelHi', 'a/b:c.d', 'P101.Fault', 'T101.LevelHi2']);
    expect(ackableNames(list, new Map([['P101.Fault', 1]]))).not.toContain('P101.Fault');
  });

  it('says who hid an alarm and why', () => {
    const f = flagTexts(
      alarm({ name: 'x', shelved: true, shelved_by: 'anna', shelved_until: 1000, shelve_reason: 'sensor swap', out_of_service: true, out_of_service_by: 'eng' }),
      () => '14:30',
    );
    expect(f).toEqual([
      { flag: 'shelved', label: 'Shelved', detail: 'by anna, until 14:30: sensor swap' },
      { flag: 'out_of_service', label: 'Out of service', detail: 'by eng' },
    ]);
    expect(flagTexts(alarm({ name: 'y', shelved: true, one_shot: true }), () => 't')[0].detail).toBe('one-shot, until it returns');
  });
});

describe('pending acknowledgements', () => {
  const p = (x: Partial<PendingAck> = {}): PendingAck => ({ changed: 5, answered: false, at: 1000, ...x });

  it('stays pending until the alarm list shows the alarm acknowledged', () => {
    const pending = new Map([['A', p()]]);
    const still = settlePending(pending, [alarm({ name: 'A', changed: 5 })], 2000);
    expect(still).toBe(pending); // unchanged: no re-render
    // Answered, list not updated yet (same `changed`): still pending, never shown acked-then-unacked.
    const answered = new Map([['A', p({ answered: true })]]);
    expect(settlePending(answered, [alarm({ name: 'A', changed: 5 })], 2000).has('A')).toBe(true);
    // The list shows it acknowledged: done.
    expect(settlePending(answered, [alarm({ name: 'A', state: 'acked', changed: 6 })], 2000).size).toBe(0);
    // Gone from the list (returned and acked → normal): done.
    expect(settlePending(answered, [], 2000).size).toBe(0);
  });

  it('gives way to the server when the alarm changed after the answer, or after the timeout', () => {
    const answered = new Map([['A', p({ answered: true })]]);
    // Re-alarmed since (a new occurrence): the list's unacked is the truth.
    expect(settlePending(answered, [alarm({ name: 'A', changed: 9 })], 2000).size).toBe(0);
    // Not answered yet, the alarm returned meanwhile: keep waiting.
    const sent = new Map([['A', p()]]);
    expect(settlePending(sent, [alarm({ name: 'A', state: 'rtn_unacked', changed: 9 })], 2000).size).toBe(1);
    expect(settlePending(sent, [alarm({ name: 'A', changed: 5 })], 1000 + PENDING_TIMEOUT_MS + 1).size).toBe(0);
  });

  it('settles thousands at once', () => {
    const pending = new Map<string, PendingAck>();
    const list: Alarm[] = [];
    for (let i = 0; i < 10000; i++) {
      pending.set(`a${i}`, p({ answered: true }));
      list.push(alarm({ name: `a${i}`, state: i < 9990 ? 'acked' : 'unacked', changed: i < 9990 ? 6 : 5 }));
    }
    expect(settlePending(pending, list, 2000).size).toBe(10);
  });
});
