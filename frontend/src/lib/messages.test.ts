import { describe, expect, it } from 'vitest';
import { Conflator, mergeValues, parseServerMessage, type ValueHolder } from './messages';
import type { TagValue } from './types';

const create = (v: TagValue): ValueHolder & { name: string } => ({ ...v });

describe('parseServerMessage', () => {
  it('parses a snapshot', () => {
    const r = parseServerMessage(
      JSON.stringify({
        type: 'snapshot',
        tags: [
          { name: 'T101.Level', value: 54.3, quality: 'good', ts: 1000 },
          { name: 'XV101.Open', value: true, quality: 'good', ts: 1000 },
          { name: 'Spare', value: null, quality: 'bad', reason: 'device offline', ts: 999 },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok || r.msg.type !== 'snapshot') throw new Error('not a snapshot');
    expect(r.dropped).toBe(0);
    expect(r.msg.tags).toHaveLength(3);
    expect(r.msg.tags[2]).toEqual({ name: 'Spare', value: null, quality: 'bad', reason: 'device offline', ts: 999 });
  });

  it('parses alarms and error messages', () => {
    const a = parseServerMessage({
      type: 'alarms',
      alarms: [
        {
          name: 'T101.LevelHi',
          tag: 'T101.Level',
          type: 'hi',
          priority: 'high',
          state: 'unacked',
          active: true,
          message: 'Tank T101 level high',
          area: 'T101',
          value: 86.1,
          since: 5,
        },
      ],
    });
    expect(a.ok && a.msg.type === 'alarms' && a.msg.alarms[0].priority).toBe('high');
    const e = parseServerMessage('{"type":"error","error":"unknown message type"}');
    expect(e).toEqual({ ok: true, msg: { type: 'error', error: 'unknown message type' }, dropped: 0 });
  });

  it('parses the ISA-18.2 states, the unacked flag, hidden flags and the summary', () => {
    const r = parseServerMessage({
      type: 'alarms',
      alarms: [
        { name: 'L', priority: 'high', state: 'latched_acked', unacked: false, active: false, since: 1, changed: 2, acked_by: 'op' },
        { name: 'M', priority: 'low', state: 'latched_unacked', since: 1 },
        { name: 'S', priority: 'low', state: 'acked', shelved: true, shelved_by: 'anna', shelved_until: 99, one_shot: true, shelve_reason: 'r', first_out: true, group: 'g' },
      ],
      summary: { alarms: 2, total: { high: 1, low: 1 }, unacked: { low: 1, medium: -3 }, horn: true, silenced: 7, shelved: 1, suppressed: 0, out_of_service: 0 },
    });
    if (!r.ok || r.msg.type !== 'alarms') throw new Error('not alarms');
    expect(r.dropped).toBe(0);
    expect(r.msg.alarms[0]).toMatchObject({ state: 'latched_acked', unacked: false, changed: 2, acked_by: 'op' });
    // No unacked field (an older server): from the state.
    expect(r.msg.alarms[1].unacked).toBe(true);
    expect(r.msg.alarms[2]).toMatchObject({ shelved: true, shelved_by: 'anna', shelved_until: 99, one_shot: true, shelve_reason: 'r', first_out: true, group: 'g' });
    expect(r.msg.alarms[2].suppressed).toBeUndefined();
    expect(r.msg.summary).toEqual({
      alarms: 2,
      total: { critical: 0, high: 1, medium: 0, low: 1 },
      unacked: { critical: 0, high: 0, medium: 0, low: 1 },
      horn: true,
      silenced: 7,
      shelved: 1,
      suppressed: 0,
      out_of_service: 0,
    });
    const noSummary = parseServerMessage({ type: 'alarms', alarms: [] });
    expect(noSummary.ok && noSummary.msg.type === 'alarms' && noSummary.msg.summary).toBeNull();
  });

  it('rejects what is not a usable message, without throwing', () => {
    expect(parseServerMessage('{not json')).toEqual({ ok: false, error: 'message is not valid JSON' });
    expect(parseServerMessage('[1,2]').ok).toBe(false);
    expect(parseServerMessage('null').ok).toBe(false);
    expect(parseServerMessage('{"type":"bogus"}')).toEqual({ ok: false, error: 'unknown message type "bogus"' });
    expect(parseServerMessage('{"tags":[]}').ok).toBe(false);
    expect(parseServerMessage('{"type":"update","tags":{}}').ok).toBe(false);
    expect(parseServerMessage('{"type":"alarms"}').ok).toBe(false);
  });

  it('drops malformed entries but keeps the good ones', () => {
    const r = parseServerMessage({
      type: 'update',
      tags: [
        { name: 'A', value: 1, quality: 'good', ts: 1 },
        { value: 2, quality: 'good', ts: 1 }, // no name
        { name: 'B', value: { nested: true }, quality: 'good', ts: 1 }, // not a scalar
        'junk',
        { name: 'C', value: 3, quality: 'excellent', ts: 'yesterday' }, // bad quality word, bad ts
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok || r.msg.type !== 'update') throw new Error('not an update');
    expect(r.dropped).toBe(3);
    expect(r.msg.tags.map((t) => t.name)).toEqual(['A', 'C']);
    // An unknown quality is never shown as good.
    expect(r.msg.tags[1]).toMatchObject({ quality: 'bad', ts: 0, reason: 'invalid quality from server' });
  });

  it('drops alarms with an unknown priority or state', () => {
    const r = parseServerMessage({
      type: 'alarms',
      alarms: [
        { name: 'x', priority: 'urgent', state: 'unacked' },
        { name: 'y', priority: 'low', state: 'weird' },
        { name: 'z', priority: 'low', state: 'acked' },
      ],
    });
    expect(r.ok && r.dropped).toBe(2);
    expect(r.ok && r.msg.type === 'alarms' && r.msg.alarms[0]).toMatchObject({ name: 'z', message: 'z', active: false });
  });
});

describe('mergeValues', () => {
  it('creates tags from a snapshot and updates them in place', () => {
    const map = new Map<string, ValueHolder & { name: string }>();
    const added = mergeValues(
      map,
      [
        { name: 'A', value: 1, quality: 'good', ts: 1 },
        { name: 'B', value: false, quality: 'good', ts: 1 },
      ],
      create,
    );
    expect(added).toEqual(['A', 'B']);
    const a = map.get('A')!;
    const again = mergeValues(map, [{ name: 'A', value: 2, quality: 'uncertain', reason: 'stale', ts: 2 }], create);
    expect(again).toEqual([]);
    expect(map.get('A')).toBe(a); // same object: only its fields changed
    expect(a).toMatchObject({ value: 2, quality: 'uncertain', reason: 'stale', ts: 2 });
    mergeValues(map, [{ name: 'A', value: 3, quality: 'good', ts: 3 }], create);
    expect(a.reason).toBeUndefined();
    expect(map.get('B')!.value).toBe(false);
  });

  it('assigns only fields that changed', () => {
    const writes: string[] = [];
    const holder = new Proxy<ValueHolder>(
      { value: 1, quality: 'good', ts: 1 },
      {
        set(t, k, v) {
          writes.push(String(k));
          return Reflect.set(t, k, v);
        },
      },
    );
    const map = new Map([['A', holder]]);
    mergeValues(map, [{ name: 'A', value: 1, quality: 'good', ts: 2 }], () => holder);
    expect(writes).toEqual(['ts']);
  });
});

describe('Conflator', () => {
  it('keeps the newest value per tag between frames', () => {
    const c = new Conflator();
    c.push([
      { name: 'A', value: 1, quality: 'good', ts: 1 },
      { name: 'B', value: 1, quality: 'good', ts: 1 },
    ]);
    c.push([{ name: 'A', value: 2, quality: 'good', ts: 2 }]);
    c.push([{ name: 'A', value: 0, quality: 'good', ts: 1 }]); // older: ignored
    expect(c.size).toBe(2);
    expect(c.drain()).toEqual([
      { name: 'A', value: 2, quality: 'good', ts: 2 },
      { name: 'B', value: 1, quality: 'good', ts: 1 },
    ]);
    expect(c.size).toBe(0);
  });

  it('handles a burst of many updates at the cost of one entry per tag', () => {
    const c = new Conflator();
    for (let i = 0; i < 10000; i++) c.push([{ name: `T${i % 100}`, value: i, quality: 'good', ts: i }]);
    const out = c.drain();
    expect(out).toHaveLength(100);
    expect(out.find((t) => t.name === 'T7')!.value).toBe(9907);
  });
});
