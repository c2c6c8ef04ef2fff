import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { alarmApi, alarmPath } from './alarm-api';
import { ApiError } from './transport';

describe('alarmApi', () => {
  let calls: { url: string; init: RequestInit }[];
  let answers: Response[];
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const body = () => JSON.parse(String(calls.at(-1)!.init.body));

  beforeEach(() => {
    calls = [];
    answers = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      const r = answers.shift();
      if (!r) throw new TypeError('network down');
      return r;
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('percent-encodes alarm names in paths', () => {
    expect(alarmPath('T101.LevelHi', 'ack')).toBe('/api/v1/alarms/T101.LevelHi/ack');
    expect(alarmPath('line2/T1:hi', 'out-of-service')).toBe('/api/v1/alarms/line2%2FT1%3Ahi/out-of-service');
  });

  it('posts acknowledgements with an optional comment', async () => {
    answers.push(json(200, {}));
    await alarmApi.ack('a/b', '  checked  ');
    expect(calls[0].url).toBe('/api/v1/alarms/a%2Fb/ack');
    expect(calls[0].init.method).toBe('POST');
    expect(body()).toEqual({ comment: 'checked' });
    answers.push(json(200, {}));
    await alarmApi.ack('x', '');
    expect(body()).toEqual({});

    answers.push(json(409, { error: 'T101.LevelHi has nothing to acknowledge.' }));
    const e = (await alarmApi.ack('T101.LevelHi').catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.message).toBe('T101.LevelHi has nothing to acknowledge.');
  });

  it('acknowledges many and reads what was skipped', async () => {
    answers.push(json(200, { acked: ['a', 'b'], skipped: { c: 'not unacknowledged' } }));
    const r = await alarmApi.ackMany(['a', 'b', 'c'], 'flood');
    expect(calls[0].url).toBe('/api/v1/alarms/ack');
    expect(body()).toEqual({ names: ['a', 'b', 'c'], comment: 'flood' });
    expect(r).toEqual({ acked: ['a', 'b'], skipped: { c: 'not unacknowledged' } });
  });

  it('shelves with minutes, one-shot and a reason; the others with their fields', async () => {
    for (let i = 0; i < 5; i++) answers.push(json(200, {}));
    await alarmApi.shelve('x', { minutes: 60, one_shot: false, reason: ' swap ' });
    expect(body()).toEqual({ minutes: 60, one_shot: false, reason: 'swap' });
    await alarmApi.unshelve('x');
    expect(calls.at(-1)!.url).toBe('/api/v1/alarms/x/unshelve');
    await alarmApi.reset('x', 'fixed');
    expect(body()).toEqual({ comment: 'fixed' });
    await alarmApi.outOfService('x', 'calibration');
    expect(calls.at(-1)!.url).toBe('/api/v1/alarms/x/out-of-service');
    expect(body()).toEqual({ reason: 'calibration' });
    await alarmApi.returnToService('x', 'done');
    expect(calls.at(-1)!.url).toBe('/api/v1/alarms/x/return-to-service');
    expect(body()).toEqual({ reason: 'done' });
    answers.push(json(200, { alarms: 1, total: { high: 1 }, unacked: { high: 1 }, horn: false, silenced: 77 }));
    const s = await alarmApi.silence();
    expect(calls.at(-1)!.url).toBe('/api/v1/alarms/silence');
    expect(s).toMatchObject({ horn: false, silenced: 77, total: { high: 1, low: 0 } });
  });

  it('reads the list, the history and the KPIs', async () => {
    answers.push(json(200, [{ name: 'S', priority: 'low', state: 'normal', shelved: true, shelved_by: 'anna', unacked: false }, { bad: 1 }]));
    const l = await alarmApi.list(true);
    expect(calls.at(-1)!.url).toBe('/api/v1/alarms?all=1');
    expect(l).toHaveLength(1);
    expect(l[0]).toMatchObject({ name: 'S', shelved: true, shelved_by: 'anna', unacked: false });
    answers.push(json(200, [{ id: 1, ts: 5, alarm: 'S', kind: 'shelve' }]));
    expect((await alarmApi.history('from=1&limit=10'))[0].kind).toBe('shelve');
    expect(calls.at(-1)!.url).toBe('/api/v1/alarms/history?from=1&limit=10');
    answers.push(json(200, { activations: 3 }));
    expect((await alarmApi.kpi('from=1&to=2'))?.activations).toBe(3);
  });
});
