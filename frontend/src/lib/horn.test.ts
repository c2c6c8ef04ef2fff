import { describe, expect, it } from 'vitest';
import { HornController, hornWanted, newerSummary, shouldSound, type Beeper } from './horn';
import type { Alarm, AlarmSummary } from './types';

function alarm(p: Partial<Alarm> & Pick<Alarm, 'name'>): Alarm {
  return { tag: '', type: 'hi', priority: 'high', state: 'unacked', active: true, unacked: true, message: '', area: '', value: null, since: 0, ...p };
}

function summary(p: Partial<AlarmSummary> = {}): AlarmSummary {
  const z = { critical: 0, high: 0, medium: 0, low: 0 };
  return { alarms: 0, total: z, unacked: z, horn: false, silenced: 0, shelved: 0, suppressed: 0, out_of_service: 0, ...p };
}

class FakeBeeper implements Beeper {
  log: string[] = [];
  start() {
    this.log.push('start');
  }
  stop() {
    this.log.push('stop');
  }
}

describe('horn', () => {
  it('sounds only when wanted, unlocked, not muted and not being silenced', () => {
    const base = { wanted: true, unlocked: true, muted: false, silencing: false };
    expect(shouldSound(base)).toBe(true);
    expect(shouldSound({ ...base, wanted: false })).toBe(false);
    expect(shouldSound({ ...base, unlocked: false })).toBe(false);
    expect(shouldSound({ ...base, muted: true })).toBe(false);
    expect(shouldSound({ ...base, silencing: true })).toBe(false);
  });

  it("follows the server's summary.horn", () => {
    const list = [alarm({ name: 'A' })];
    expect(hornWanted(summary({ horn: true }), list)).toBe(true);
    // Silenced on the server: horn false although A is still unacked.
    expect(hornWanted(summary({ horn: false, silenced: 5 }), list)).toBe(false);
  });

  it('stops at once when every sounding alarm is being acknowledged', () => {
    const list = [alarm({ name: 'A' }), alarm({ name: 'B', state: 'acked', unacked: false })];
    expect(hornWanted(summary({ horn: true }), list, new Map([['A', {}]]))).toBe(false);
    expect(hornWanted(summary({ horn: true }), [...list, alarm({ name: 'C' })], new Map([['A', {}]]))).toBe(true);
  });

  it('never sounds for shelved, suppressed or out-of-service alarms', () => {
    const hidden = [
      alarm({ name: 'S', shelved: true }),
      alarm({ name: 'U', suppressed: true }),
      alarm({ name: 'O', out_of_service: true }),
    ];
    expect(hornWanted(null, hidden)).toBe(false);
    expect(hornWanted(summary({ horn: true }), hidden)).toBe(false);
    expect(hornWanted(null, [...hidden, alarm({ name: 'V' })])).toBe(true);
  });

  it('ignores a summary older than a silence already seen, and sounds again for a newer alarm', () => {
    const afterSilence = summary({ horn: false, silenced: 100 });
    // A message sent before the silence arrives late: it must not re-sound the horn.
    const late = newerSummary(afterSilence, summary({ horn: true, silenced: 0 }));
    expect(late?.horn).toBe(false);
    expect(late?.silenced).toBe(100);
    // A new unacked alarm after the silence: the server says horn again.
    expect(newerSummary(afterSilence, summary({ horn: true, silenced: 100 }))?.horn).toBe(true);
    expect(newerSummary(afterSilence, null)).toBe(afterSilence);
  });

  it('starts and stops the beeper on changes only: silence stops it, a new alarm restarts it', () => {
    const b = new FakeBeeper();
    const h = new HornController(b);
    h.update({ wanted: true });
    expect(b.log).toEqual([]); // locked: no gesture yet
    h.update({ unlocked: true });
    expect(h.sounding).toBe(true);
    h.update({ wanted: true });
    expect(b.log).toEqual(['start']);
    h.update({ silencing: true }); // Silence pressed: quiet at once
    expect(b.log).toEqual(['start', 'stop']);
    h.update({ silencing: false, wanted: false }); // the server confirms
    expect(b.log).toEqual(['start', 'stop']);
    h.update({ wanted: true }); // a new alarm after the silence
    expect(b.log).toEqual(['start', 'stop', 'start']);
    h.update({ muted: true });
    expect(h.sounding).toBe(false);
    expect(b.log).toEqual(['start', 'stop', 'start', 'stop']);
  });
});
