import { describe, expect, it, vi } from 'vitest';
import { hmi } from './store.svelte';

describe('hmi store', () => {
  it('applies a snapshot at once and batches updates to the next frame', async () => {
    vi.useFakeTimers();
    try {
      hmi.handleMessage({
        type: 'snapshot',
        tags: [
          { name: 'T101.Level', value: 50, quality: 'good', ts: 1 },
          { name: 'A.B', value: true, quality: 'good', ts: 1 },
        ],
      });
      expect(hmi.names).toEqual(['A.B', 'T101.Level']);
      const level = hmi.tag('T101.Level')!;
      expect(level.value).toBe(50);

      hmi.handleMessage({ type: 'update', tags: [{ name: 'T101.Level', value: 51, quality: 'good', ts: 2 }] });
      hmi.handleMessage({ type: 'update', tags: [{ name: 'T101.Level', value: 52, quality: 'uncertain', reason: 'r', ts: 3 }] });
      expect(level.value).toBe(50); // not yet: waits for the frame
      await vi.advanceTimersByTimeAsync(20);
      expect(hmi.tag('T101.Level')).toBe(level); // same object, updated in place
      expect(level).toMatchObject({ value: 52, quality: 'uncertain', reason: 'r', ts: 3 });

      // A snapshot first applies what is still queued, then itself.
      hmi.handleMessage({ type: 'update', tags: [{ name: 'New.Tag', value: 1, quality: 'good', ts: 4 }] });
      hmi.handleMessage({ type: 'snapshot', tags: [{ name: 'T101.Level', value: 60, quality: 'good', ts: 5 }] });
      expect(hmi.names).toContain('New.Tag');
      expect(level.value).toBe(60);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps alarms sorted and merges tag definitions', () => {
    hmi.handleMessage({
      type: 'alarms',
      alarms: [
        { name: 'lo', tag: 'x', type: 'lo', priority: 'low', state: 'acked', active: true, unacked: false, message: '', area: '', value: 1, since: 1 },
        { name: 'hi', tag: 'x', type: 'hi', priority: 'critical', state: 'unacked', active: true, unacked: true, message: '', area: '', value: 1, since: 1 },
      ],
      summary: null,
    });
    expect(hmi.alarms.map((a) => a.name)).toEqual(['hi', 'lo']);

    hmi.applyTagInfo([
      { name: 'TIC101.SP', value: 60, quality: 'good', ts: 10, unit: '°C', writable: true, low: 20, high: 110, description: 'SP', device: 'heater' },
    ]);
    expect(hmi.tag('TIC101.SP')).toMatchObject({ value: 60, unit: '°C', writable: true, low: 20, high: 110 });
  });

  it('takes write_role from the tag list and disables writes below it', () => {
    hmi.applyTagInfo([
      { name: 'TIC101.SP', value: 60, quality: 'good', ts: 10, unit: '°C', writable: true, description: '', device: 'heater' },
      { name: 'TIC101.Kp', value: 2, quality: 'good', ts: 10, unit: '', writable: true, write_role: 'engineer', description: '', device: 'heater' },
    ]);
    expect(hmi.tag('TIC101.Kp')?.writeRole).toBe('engineer');
    expect(hmi.tag('TIC101.SP')?.writeRole).toBeUndefined();
    hmi.session = { user: 'operator', role: 'operator' };
    expect(hmi.canWrite).toBe(true);
    expect(hmi.writeBlock('TIC101.SP')).toBeNull();
    expect(hmi.writeBlock('TIC101.Kp')).toBe('Needs role engineer or above (you are operator)');
    hmi.session = { user: 'e', role: 'engineer' };
    expect(hmi.writeBlock('TIC101.Kp')).toBeNull();
    hmi.session = { user: 'viewer', role: 'viewer' };
    expect(hmi.canWrite).toBe(false);
    expect(hmi.writeBlock('TIC101.SP')).toMatch(/Needs role operator/);
    // The role is dropped again when the server no longer sends it.
    hmi.applyTagInfo([{ name: 'TIC101.Kp', value: 2, quality: 'good', ts: 11, unit: '', writable: true, description: '', device: 'heater' }]);
    expect(hmi.tag('TIC101.Kp')?.writeRole).toBeUndefined();
    hmi.session = null;
  });

  it('shows an acknowledgement as pending until the alarm list confirms it: never acked-then-unacked', async () => {
    const base = { tag: 'T101.Level', type: 'hi', priority: 'high' as const, active: true, message: 'Tank high', area: 'T101', value: 90, since: 1 };
    const unacked = { ...base, name: 'T101.LevelHi', state: 'unacked' as const, unacked: true, changed: 1 };
    const z = { critical: 0, high: 0, medium: 0, low: 0 };
    const summary = (horn: boolean) => ({ alarms: 1, total: { ...z, high: 1 }, unacked: { ...z, high: horn ? 1 : 0 }, horn, silenced: 0, shelved: 0, suppressed: 0, out_of_service: 0 });
    hmi.handleMessage({ type: 'alarms', alarms: [unacked], summary: summary(true) });
    expect(hmi.hornWanted).toBe(true);

    let answer: (r: Response) => void = () => {};
    const bodies: string[] = [];
    vi.stubGlobal('fetch', (_url: string, init: RequestInit) => {
      bodies.push(String(init.body));
      return new Promise<Response>((r) => (answer = r));
    });
    try {
      const done = hmi.ackAlarm('T101.LevelHi', 'seen it');
      expect(hmi.isPending('T101.LevelHi')).toBe(true);
      expect(hmi.hornWanted).toBe(false); // the horn stops at once
      expect(JSON.parse(bodies[0])).toEqual({ comment: 'seen it' });
      // An alarms message from before the ack: still pending, not shown as unacked again.
      hmi.handleMessage({ type: 'alarms', alarms: [unacked], summary: summary(true) });
      expect(hmi.isPending('T101.LevelHi')).toBe(true);
      answer(new Response(JSON.stringify({ ...unacked, state: 'acked', unacked: false }), { status: 200 }));
      await done;
      expect(hmi.isPending('T101.LevelHi')).toBe(true); // answered, the list not yet
      hmi.handleMessage({ type: 'alarms', alarms: [{ ...unacked, state: 'acked', unacked: false, changed: 2 }], summary: summary(false) });
      expect(hmi.isPending('T101.LevelHi')).toBe(false);
      expect(hmi.alarms[0].unacked).toBe(false);
      expect(hmi.hornWanted).toBe(false);

      // A failed ack ends the pending state and says why.
      hmi.handleMessage({ type: 'alarms', alarms: [{ ...unacked, changed: 3 }], summary: summary(true) });
      const failed = hmi.ackAlarm('T101.LevelHi').catch((e: Error) => e.message);
      answer(new Response(JSON.stringify({ error: 'Your role may not acknowledge.' }), { status: 403 }));
      expect(await failed).toBe('Your role may not acknowledge.');
      expect(hmi.isPending('T101.LevelHi')).toBe(false);
      expect(hmi.hornWanted).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('counts project loads, so that screens fetch their project data again', () => {
    const before = hmi.projectSeq;
    hmi.handleMessage({ type: 'project', name: 'plant', hash: 'h', id: 'i' });
    expect(hmi.projectSeq).toBe(before + 1);
    hmi.handleMessage({ type: 'alarms', alarms: [], summary: null });
    expect(hmi.projectSeq).toBe(before + 1);
  });
});

describe('the subscription follows what the page shows', () => {
  it('is every tag while no part says, none while a display loads, then its tags', () => {
    expect(hmi.patterns()).toEqual(['*']);
    hmi.need('display-view', []);
    expect(hmi.patterns()).toEqual([]);
    hmi.need('display', ['T101.Level', 'TIC101.SP']);
    expect(hmi.patterns()).toEqual(['T101.Level', 'TIC101.SP']);
    hmi.need('display', null);
    hmi.need('display-view', null);
    expect(hmi.patterns()).toEqual(['*']);
  });
});
