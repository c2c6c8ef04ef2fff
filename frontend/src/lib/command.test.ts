import { describe, expect, it } from 'vitest';
import {
  IDLE,
  agrees,
  blockingInterlocks,
  commandReducer,
  interlockSentence,
  interlocksOn,
  narrowLimits,
  needsConfirm,
  outputBlock,
  outputEditable,
  selectableModes,
  setpointBlock,
  tuningChanges,
  type CommandEvent,
  type CommandState,
  type InterlockView,
} from './command';

const ctx = { limits: { low: 20, high: 100 }, unit: '°C', current: 60, confirmDelta: 10 };

function run(events: CommandEvent[], from: CommandState = IDLE): CommandState {
  return events.reduce(commandReducer, from);
}

describe('command state machine', () => {
  it('idle → editing → pending → done for a small change (no confirm)', () => {
    let s = run([{ type: 'edit', text: '60' }]);
    expect(s.step).toBe('editing');
    s = run([{ type: 'input', text: '65' }, { type: 'submit', ctx }], s);
    expect(s).toMatchObject({ step: 'pending', target: 65, old: 60 });
    s = commandReducer(s, { type: 'readback', value: 65 });
    expect(s).toMatchObject({ step: 'done', readback: 65 });
  });

  it('a large change goes through confirming; cancel there goes back to editing, cancel again to idle', () => {
    let s = run([{ type: 'edit', text: '' }, { type: 'input', text: '75' }, { type: 'submit', ctx }]);
    expect(s.step).toBe('confirming');
    expect(s.target).toBe(75);
    s = commandReducer(s, { type: 'cancel' });
    expect(s.step).toBe('editing');
    s = commandReducer(s, { type: 'cancel' });
    expect(s).toEqual(IDLE);
  });

  it('confirm sends; a read-back that disagrees stays pending until one agrees', () => {
    let s = run([{ type: 'edit', text: '' }, { type: 'input', text: '90' }, { type: 'submit', ctx }, { type: 'confirm' }]);
    expect(s.step).toBe('pending');
    s = commandReducer(s, { type: 'readback', value: 61 });
    expect(s).toMatchObject({ step: 'pending', readback: 61 });
    s = commandReducer(s, { type: 'readback', value: 90.000001 });
    expect(s.step).toBe('done');
  });

  it('out-of-limits and non-numbers stay in editing with a sentence', () => {
    let s = run([{ type: 'edit', text: '' }, { type: 'input', text: '120' }, { type: 'submit', ctx }]);
    expect(s.step).toBe('editing');
    expect(s.error).toMatch(/20 to 100 °C/);
    s = run([{ type: 'input', text: 'abc' }, { type: 'submit', ctx }], s);
    expect(s.error).toMatch(/not a number/);
    s = commandReducer(s, { type: 'input', text: '50' });
    expect(s.error).toBe('');
  });

  it('a server error ends in error with its sentence; cancel cannot stop a pending command', () => {
    let s = run([{ type: 'edit', text: '61' }, { type: 'submit', ctx }]);
    expect(commandReducer(s, { type: 'cancel' }).step).toBe('pending');
    s = commandReducer(s, { type: 'fail', error: 'TIC101.SP: Interlock X' });
    expect(s).toMatchObject({ step: 'error', error: 'TIC101.SP: Interlock X' });
    // A new edit starts afresh.
    expect(commandReducer(s, { type: 'edit', text: '61' })).toMatchObject({ step: 'editing', error: '' });
  });

  it('ignores events that do not apply', () => {
    expect(commandReducer(IDLE, { type: 'confirm' })).toBe(IDLE);
    expect(commandReducer(IDLE, { type: 'readback', value: 1 })).toBe(IDLE);
    expect(commandReducer(IDLE, { type: 'submit', ctx })).toBe(IDLE);
  });
});

describe('confirm rule', () => {
  it('confirms only when |new − old| > confirm_delta', () => {
    expect(needsConfirm(60, 70, 10)).toBe(false);
    expect(needsConfirm(60, 70.5, 10)).toBe(true);
    expect(needsConfirm(60, 49, 10)).toBe(true);
    expect(needsConfirm(60, 100, 0)).toBe(false);
    expect(needsConfirm(60, 100, undefined)).toBe(false);
  });
  it('confirms when the current value is unknown', () => {
    expect(needsConfirm(null, 50, 10)).toBe(true);
  });
});

describe('limits', () => {
  it('takes the narrower of the tag and loop limits', () => {
    expect(narrowLimits({ low: 20, high: 110 }, { low: 20, high: 100 })).toEqual({ low: 20, high: 100 });
    expect(narrowLimits({ low: 0 }, { low: 5, high: null })).toEqual({ low: 5 });
    expect(narrowLimits({}, {})).toEqual({});
  });
  it('agrees within a tolerance', () => {
    expect(agrees(75, 75)).toBe(true);
    expect(agrees(75, 75.5)).toBe(false);
    expect(agrees(75, 75.5, 1)).toBe(true);
    expect(agrees(75, null)).toBe(false);
    expect(agrees(null, 75)).toBe(false);
  });
});

describe('loop mode rules', () => {
  it('OUT is editable only in manual and without a forcing interlock', () => {
    expect(outputEditable('manual')).toBe(true);
    expect(outputEditable('auto')).toBe(false);
    expect(outputEditable('cascade')).toBe(false);
    expect(outputEditable('manual', 'Heater.Trip')).toBe(false);
    expect(outputBlock('auto')).toMatch(/manual only/);
    expect(outputBlock('manual', 'Heater.Trip')).toMatch(/Heater.Trip/);
    expect(outputBlock('manual')).toBeNull();
  });
  it('SP is not entered in cascade; cascade is offered only with a primary', () => {
    expect(setpointBlock('cascade', 'FIC1')).toMatch(/FIC1/);
    expect(setpointBlock('auto')).toBeNull();
    expect(selectableModes()).toEqual(['auto', 'manual']);
    expect(selectableModes('FIC1')).toEqual(['auto', 'manual', 'cascade']);
  });
  it('tuning lists the gains that change, old → new', () => {
    expect(tuningChanges({ kp: 3, ti: 12, td: 0 }, { kp: '4', ti: '12', td: '' })).toEqual({
      ok: true,
      changes: [{ key: 'kp', from: 3, to: 4 }],
    });
    expect(tuningChanges({ kp: 3, ti: 12, td: 0 }, { kp: '0', ti: '', td: '' })).toMatchObject({ ok: false });
    expect(tuningChanges({ kp: 3, ti: 12, td: 0 }, { kp: '', ti: '-1', td: '' })).toMatchObject({ ok: false });
    expect(tuningChanges({ kp: 3, ti: 12, td: 0 }, { kp: '', ti: '', td: '' })).toMatchObject({ ok: false, error: 'Nothing changes.' });
  });
});

describe('interlocks', () => {
  const dry: InterlockView = {
    name: 'P101.DryRun',
    active: true,
    message: 'Tank low: pump would run dry',
    reason: 'T101.Level < 10 (T101.Level = 4.2)',
    when: 'T101.Level < 10',
    blocks: [
      { tag: 'P101.Start', value: 1 },
      { tag: 'P101.Running', value: 1 },
    ],
    forces: [{ tag: 'P101.Running', value: 0 }],
    since: 0,
  };
  it('finds the active interlock blocking a command value', () => {
    expect(blockingInterlocks([dry], 'P101.Start', 1)).toEqual([dry]);
    expect(blockingInterlocks([dry], 'P101.Running', true)).toEqual([dry]);
    expect(blockingInterlocks([dry], 'P101.Running', false)).toEqual([]);
    expect(blockingInterlocks([dry], 'P101.Stop', 1)).toEqual([]);
    expect(blockingInterlocks([{ ...dry, active: false }], 'P101.Start', 1)).toEqual([]);
    expect(blockingInterlocks([{ ...dry, blocks: [{ tag: 'P101.Start' }] }], 'P101.Start', 0)).toHaveLength(1);
  });
  it('lists the interlocks on an equipment, and says why one holds', () => {
    expect(interlocksOn([dry], ['P101.Running'])).toEqual([dry]);
    expect(interlocksOn([dry], ['XV101.Open'])).toEqual([]);
    expect(interlockSentence(dry)).toBe('Interlock P101.DryRun: Tank low: pump would run dry (T101.Level < 10 (T101.Level = 4.2))');
  });
});
