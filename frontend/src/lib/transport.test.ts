import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from './backoff';
import { ApiError, LiveConnection, api, errorSentence, websocketURL, type LinkState } from './transport';
import type { ServerMessage } from './types';

describe('websocketURL', () => {
  it('follows the page in a browser', () => {
    expect(websocketURL(null, { protocol: 'http:', host: 'hmi.local:8080' })).toBe('ws://hmi.local:8080/ws');
    expect(websocketURL(null, { protocol: 'https:', host: 'hmi.example' })).toBe('wss://hmi.example/ws');
  });

  it("uses the desktop engine's base URL", () => {
    expect(websocketURL('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws');
    expect(websocketURL('https://10.0.0.5:8443/')).toBe('wss://10.0.0.5:8443/ws');
  });
});

// ------------------------------------------------------------ LiveConnection


class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(d: string) {
    this.sent.push(JSON.parse(d));
  }
  close() {
    this.readyState = 3;
  }
  // test side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

describe('LiveConnection', () => {
  let states: LinkState[];
  let messages: ServerMessage[];
  let errors: string[];
  let conn: LiveConnection;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('location', { protocol: 'http:', host: 'hmi:8080' });
    states = [];
    messages = [];
    errors = [];
    conn = new LiveConnection(
      {
        onMessage: (m) => messages.push(m),
        onState: (s) => states.push(s),
        onProtocolError: (e) => errors.push(e),
      },
      { patterns: ['*'], backoff: new Backoff({ jitter: 0 }), snapshotTimeoutMs: 3000 },
    );
  });

  afterEach(() => {
    conn.stop();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  const flush = () => vi.advanceTimersByTimeAsync(0);

  it('subscribes on open, goes live on the snapshot, passes updates on', async () => {
    conn.start();
    await flush();
    const ws = FakeSocket.all[0];
    expect(ws.url).toBe('ws://hmi:8080/ws');
    ws.open();
    expect(ws.sent).toEqual([{ type: 'subscribe', tags: ['*'] }]);
    ws.receive({ type: 'snapshot', tags: [{ name: 'A', value: 1, quality: 'good', ts: 1 }] });
    ws.receive({ type: 'update', tags: [{ name: 'A', value: 2, quality: 'good', ts: 2 }] });
    ws.receive('garbage');
    ws.receive({ type: 'error', error: 'bad pattern' });
    expect(states).toEqual(['connecting', 'open', 'live']);
    expect(messages.map((m) => m.type)).toEqual(['snapshot', 'update', 'error']);
    expect(errors).toEqual(['message is not valid JSON', 'server: bad pattern']);
  });

  it('with no tags to show yet, subscribes to none and still goes live; then subscribes to what comes on screen', async () => {
    conn.setPatterns([]);
    conn.start();
    await flush();
    const ws = FakeSocket.all[0];
    ws.open();
    expect(ws.sent).toEqual([{ type: 'subscribe', tags: [] }]);
    ws.receive({ type: 'snapshot', tags: [] });
    expect(states.at(-1)).toBe('live');
    conn.setPatterns(['T101.Level']);
    expect(ws.sent.at(-1)).toEqual({ type: 'subscribe', tags: ['T101.Level'] });
    await vi.advanceTimersByTimeAsync(5000);
    expect(FakeSocket.all).toHaveLength(1); // no snapshot timeout, no reconnect
  });

  it('reconnects with backoff after a loss, re-subscribes and takes the new snapshot', async () => {
    conn.start();
    await flush();
    FakeSocket.all[0].open();
    FakeSocket.all[0].receive({ type: 'snapshot', tags: [] });
    FakeSocket.all[0].drop();
    expect(states.at(-1)).toBe('down');

    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    // Refused again: the next wait doubles.
    FakeSocket.all[1].drop();
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    const ws = FakeSocket.all[2];
    ws.open();
    expect(ws.sent).toEqual([{ type: 'subscribe', tags: ['*'] }]);
    ws.receive({ type: 'snapshot', tags: [] });
    expect(states.at(-1)).toBe('live');
    // After a good snapshot the backoff starts again at 0.5 s.
    ws.drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it('gives up on a socket that sends no snapshot', async () => {
    conn.start();
    await flush();
    FakeSocket.all[0].open();
    await vi.advanceTimersByTimeAsync(3000);
    expect(states.at(-1)).toBe('down');
    expect(errors[0]).toMatch(/no snapshot/);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('ignores events from a socket it has left', async () => {
    conn.start();
    await flush();
    const old = FakeSocket.all[0];
    old.open();
    conn.restart();
    await flush();
    old.receive({ type: 'snapshot', tags: [] });
    expect(messages).toEqual([]);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('sends subscription changes to an open socket', async () => {
    conn.start();
    await flush();
    const ws = FakeSocket.all[0];
    ws.open();
    conn.setPatterns(['TIC101.*']);
    expect(ws.sent.slice(1)).toEqual([
      { type: 'unsubscribe', tags: ['*'] },
      { type: 'subscribe', tags: ['TIC101.*'] },
    ]);
  });
});

// ------------------------------------------------------------ REST

describe('REST calls', () => {
  let calls: { url: string; init: RequestInit }[];
  let answers: Response[];

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

  afterEach(async () => {
    answers.push(new Response('{}', { status: 200 }));
    await api.logout().catch(() => {}); // forget the token
    vi.unstubAllGlobals();
  });

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

  it('shows the server sentence of a refused login (rate limit, no users)', async () => {
    answers.push(json(429, { error: 'too many failed logins: try again in 45 s' }));
    await expect(api.login('operator', 'x')).rejects.toMatchObject({ status: 429, message: 'too many failed logins: try again in 45 s' });
    answers.push(json(401, { error: 'no users exist yet: create an admin with `edgehmi user add NAME --role admin`' }));
    await expect(api.login('admin', 'x')).rejects.toThrow(/no users exist yet/);
    expect(errorSentence(429, '')).toMatch(/Too many attempts/);
    expect(errorSentence(502, '<html>')).toBe('The device reported an error.');
  });

  it('reads audit entries with the session and the bearer token', async () => {
    answers.push(json(200, { user: 'operator', role: 'operator', token: 'T0K' }));
    await api.login('operator', 'operator');
    answers.push(json(200, [{ id: 3, ts: 10, kind: 'audit', action: 'write', source: 'TIC101.SP', old: '60', new: '61' }, { bogus: 1 }]));
    const ev = await api.auditEvents('kind=audit&limit=10');
    expect(ev).toEqual([{ id: 3, ts: 10, kind: 'audit', action: 'write', source: 'TIC101.SP', old: '60', new: '61' }]);
    const c = calls.at(-1)!;
    expect(c.url).toBe('/api/v1/events?kind=audit&limit=10');
    expect(c.init.credentials).toBe('same-origin');
    expect((c.init.headers as Record<string, string>).Authorization).toBe('Bearer T0K');
  });

  it('answers 401 as an ApiError when not logged in', async () => {
    answers.push(json(401, { error: 'log in first' }));
    const e = await api.auditEvents('kind=audit').catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 401, message: 'log in first' });
  });

  it('downloads a file with its name from Content-Disposition', async () => {
    answers.push(
      new Response('time,user\n', {
        status: 200,
        headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="edgehmi-audit-1.csv"' },
      }),
    );
    const d = await api.download('/api/v1/events?kind=audit&format=csv', 'text/csv');
    expect(d.filename).toBe('edgehmi-audit-1.csv');
    expect(d.blob.type).toMatch(/^text\/csv/);
    expect(await d.blob.text()).toBe('time,user\n');
    expect((calls[0].init.headers as Record<string, string>).Accept).toBe('text/csv');
  });

  it('reads the device list without a login and validates it', async () => {
    answers.push(json(200, [{ name: 'plc1', driver: 'modbus-tcp', connected: true, polls: 5 }, { bogus: true }]));
    const d = await api.devices();
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ name: 'plc1', connected: true, polls: 5, timeouts: 0 });
    expect(calls.at(-1)!.url).toBe('/api/v1/devices');
    expect(calls.at(-1)!.init.method).toBe('GET');
  });

  it('turns a network failure into a sentence', async () => {
    await expect(api.info()).rejects.toMatchObject({ status: 0, message: 'Cannot reach the server.' });
  });
});
