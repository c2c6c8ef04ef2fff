import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from './backoff';
import { LiveConnection, websocketURL, type LinkState } from './transport';
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
