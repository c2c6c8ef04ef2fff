import { describe, expect, it } from 'vitest';
import { countByPriority, equipmentAlarm, sortAlarms } from './alarms';
import type { Alarm } from './types';

function alarm(p: Partial<Alarm> & Pick<Alarm, 'name'>): Alarm {
  return { tag: '', type: 'hi', priority: 'low', state: 'unacked', active: true, message: '', area: '', value: null, since: 0, ...p };
}

describe('alarms', () => {
  const list = [
    alarm({ name: 'low-new', priority: 'low', since: 9 }),
    alarm({ name: 'crit-rtn', priority: 'critical', state: 'rtn_unacked', active: false, since: 1 }),
    alarm({ name: 'high-acked', priority: 'high', state: 'acked', since: 5 }),
    alarm({ name: 'high-unacked-old', priority: 'high', since: 2 }),
    alarm({ name: 'high-unacked-new', priority: 'high', since: 3 }),
    alarm({ name: 'crit', priority: 'critical', since: 0, area: 'TIC101', tag: 'TIC101.PV' }),
  ];

  it('sorts active first, then priority, unacked, newest', () => {
    expect(sortAlarms(list).map((a) => a.name)).toEqual([
      'crit',
      'high-unacked-new',
      'high-unacked-old',
      'high-acked',
      'low-new',
      'crit-rtn',
    ]);
  });

  it('counts by priority', () => {
    const c = countByPriority(list);
    expect(c.critical).toEqual({ total: 2, unacked: 2 });
    expect(c.high).toEqual({ total: 3, unacked: 2 });
    expect(c.medium).toEqual({ total: 0, unacked: 0 });
    expect(c.low).toEqual({ total: 1, unacked: 1 });
  });

  it('finds the most important active alarm of a piece of equipment', () => {
    expect(equipmentAlarm(list, 'TIC101')?.name).toBe('crit');
    const byTag = [alarm({ name: 'p', tag: 'P101.Fault', priority: 'medium' })];
    expect(equipmentAlarm(byTag, 'P101')?.name).toBe('p');
    expect(equipmentAlarm(byTag, 'P10')).toBeUndefined();
    expect(equipmentAlarm([alarm({ name: 'r', area: 'T101', active: false })], 'T101')).toBeUndefined();
  });
});
