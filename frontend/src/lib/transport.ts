// The one place that talks to the server: fetch for REST, WebSocket for live
// data, and the Wails desktop binding for the engine's address. Nothing else
// in the frontend touches fetch, WebSocket or window.go.

import { dispositionFilename, parseAuditEvents } from './audit';
import { Backoff } from './backoff';
import { parseDevices, type DeviceStats } from './devices';
import { parseNorthbound, type NorthboundStatus } from './northbound';
import { parseServerMessage } from './messages';
import type { AuditEvent, Info, ServerMessage, Session, TagInfo, TagScalar, WriteResult } from './types';

declare global {
  interface Window {
    go?: {
      app?: {
        App?: {
          ServerURL?: (() => Promise<string> | string) | string;
          Kiosk?: () => Promise<boolean>;
          Quit?: (token: string) => Promise<void>;
        };
      };
    };
  }
}

/** An HTTP error with the server's sentence ({"error": "..."}) as message. */
/** The most patterns the server takes in one subscribe message (maxSubscribed in backend/web/client.go). */
export const MAX_PATTERNS_PER_MESSAGE = 256;

/** Subscribe (or unsubscribe) messages for patterns, in chunks the server accepts. */
export function subscriptionMessages(type: 'subscribe' | 'unsubscribe', patterns: readonly string[]): { type: string; tags: string[] }[] {
  const out: { type: string; tags: string[] }[] = [];
  for (let i = 0; i < patterns.length; i += MAX_PATTERNS_PER_MESSAGE) out.push({ type, tags: patterns.slice(i, i + MAX_PATTERNS_PER_MESSAGE) });
  return out;
}

export class ApiError extends Error {
  readonly status: number;
  /** The server's list of problems ("errors"), e.g. FILE:LINE:COL lines of a bad project file. */
  details: string[] = [];
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

// Token from the last login, for shells that do not keep cookies. Memory only.
let bearer: string | null = null;

const STATUS_TEXT: Record<number, string> = {
  400: 'The server rejected the request.',
  401: 'Not logged in.',
  403: 'Your role may not do this.',
  404: 'Not found.',
  409: 'Not possible in the current state.',
  429: 'Too many attempts: wait a moment and try again.',
  502: 'The device reported an error.',
  503: 'The server is not ready.',
  504: 'The device did not answer in time.',
};

/**
 * Sends a request with the session and reads the answer with `read`; the
 * timeout covers both. Throws ApiError for a network failure, a timeout or a
 * non-2xx answer (with the server's sentence).
 */
async function exchange<T>(
  method: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  accept: string,
  read: (res: Response) => Promise<T>,
): Promise<T> {
  const headers: Record<string, string> = { Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
      });
    } catch (e) {
      const aborted = (e as Error)?.name === 'AbortError';
      throw new ApiError(0, aborted ? 'The server did not answer in time.' : 'Cannot reach the server.');
    }
    if (!res.ok) throw new ApiError(res.status, errorSentence(res.status, await res.text().catch(() => '')));
    try {
      return await read(res);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError(0, ctrl.signal.aborted ? 'The server did not answer in time.' : 'The answer was cut off.');
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The server's sentence ({"error": "..."}), or a sentence for the status. */
export function errorSentence(status: number, text: string): string {
  if (text) {
    try {
      const data: unknown = JSON.parse(text);
      if (data && typeof data === 'object' && typeof (data as { error?: unknown }).error === 'string') {
        return (data as { error: string }).error;
      }
    } catch {
      /* not JSON */
    }
  }
  return STATUS_TEXT[status] ?? `The server answered ${status}.`;
}

/**
 * A JSON request with the session (cookie, and the bearer token after a
 * login): the answer parsed, or null for an empty one. Throws ApiError.
 * Feature clients (opcua.ts) build on this rather than on fetch.
 */
export function request<T>(method: string, path: string, body?: unknown, timeoutMs = 15000): Promise<T> {
  return exchange(method, path, body, timeoutMs, 'application/json', async (res) => {
    const text = await res.text();
    if (!text) return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return null as T;
    }
  });
}

/** The "errors" list of an error answer ({"error","errors":[...]}), or []. */
export function errorDetails(text: string): string[] {
  try {
    const data: unknown = JSON.parse(text);
    const list = data && typeof data === 'object' ? (data as { errors?: unknown }).errors : undefined;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * POSTs a text body (a project file) with the session and returns the JSON
 * answer. Throws ApiError; a 400 carries the server's problems in details.
 */
export async function postText<T>(path: string, text: string, contentType: string, timeoutMs = 60000): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': contentType };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(path, { method: 'POST', headers, credentials: 'same-origin', body: text, signal: ctrl.signal });
    } catch (e) {
      const aborted = (e as Error)?.name === 'AbortError';
      throw new ApiError(0, aborted ? 'The server did not answer in time.' : 'Cannot reach the server.');
    }
    const body = await res.text().catch(() => '');
    if (!res.ok) {
      const err = new ApiError(res.status, errorSentence(res.status, body));
      err.details = errorDetails(body);
      throw err;
    }
    return (body ? JSON.parse(body) : null) as T;
  } finally {
    clearTimeout(timer);
  }
}

/** The desktop window's bindings (window.go.app.App); absent in a browser. */
export const desktop = {
  /** Whether this is the desktop window in kiosk mode. */
  async kiosk(): Promise<boolean> {
    const f = typeof window === 'undefined' ? undefined : window.go?.app?.App?.Kiosk;
    if (typeof f !== 'function') return false;
    try {
      return (await f()) === true;
    } catch {
      return false;
    }
  },
  /**
   * Closes the kiosk window: the shell asks the server whether token (an
   * engineer's login; default this page's session) is an engineer's or
   * admin's, and refuses otherwise (the promise rejects with its sentence).
   */
  async quit(token?: string): Promise<void> {
    const f = typeof window === 'undefined' ? undefined : window.go?.app?.App?.Quit;
    if (typeof f !== 'function') throw new Error('not the desktop window');
    await f(token ?? bearer ?? '');
  },
  /**
   * Checks an engineer's name and password with the server without making
   * them this page's session: the answer's role and token (for quit).
   */
  async verify(user: string, password: string): Promise<{ role: string; token: string }> {
    const r = await request<Session & { token?: string }>('POST', '/api/v1/login', { user, password });
    return { role: r?.role ?? '', token: typeof r?.token === 'string' ? r.token : '' };
  },
};

/** A file the server sent: its bytes and the name from Content-Disposition (or null). */
export interface Download {
  blob: Blob;
  filename: string | null;
}

export const api = {
  info(): Promise<Info> {
    return request<Info>('GET', '/api/v1/info');
  },

  /** The logged-in user, or null when not logged in. */
  async me(): Promise<Session | null> {
    try {
      return await request<Session>('GET', '/api/v1/me');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  },

  async login(user: string, password: string): Promise<Session> {
    const r = await request<Session & { token?: string }>('POST', '/api/v1/login', { user, password });
    bearer = typeof r?.token === 'string' && r.token !== '' ? r.token : null;
    return { user: r.user, role: r.role };
  },

  async logout(): Promise<void> {
    try {
      await request<unknown>('POST', '/api/v1/logout', {});
    } finally {
      bearer = null;
    }
  },

  tags(): Promise<TagInfo[]> {
    return request<TagInfo[]>('GET', '/api/v1/tags');
  },

  writeTag(name: string, value: TagScalar, reason = ''): Promise<WriteResult> {
    return request<WriteResult>('POST', `/api/v1/tags/${encodeURIComponent(name)}/write`, { value, reason }, 20000);
  },

  /** Audit entries, newest first; `query` is a query string from auditQuery (kind=audit…). */
  async auditEvents(query: string): Promise<AuditEvent[]> {
    return parseAuditEvents(await request<unknown>('GET', `/api/v1/events?${query}`, undefined, 30000));
  },

  /** Every device's link state and counters (no login needed). */
  async devices(): Promise<DeviceStats[]> {
    return parseDevices(await request<unknown>('GET', '/api/v1/devices', undefined, 5000));
  },
  async northbound(): Promise<NorthboundStatus> {
    return parseNorthbound(await request<unknown>('GET', '/api/v1/northbound', undefined, 5000));
  },

  /** GET a file with the session (cookie and bearer token), e.g. a CSV export. */
  download(path: string, accept = '*/*'): Promise<Download> {
    return exchange('GET', path, undefined, 60000, accept, async (res) => ({
      blob: await res.blob(),
      filename: dispositionFilename(res.headers.get('Content-Disposition')),
    }));
  },

  /**
   * GET a long file (a history export) as a stream: onStart sees the
   * response's headers (e.g. X-Row-Estimate), onChunk each chunk of bytes
   * as it arrives, for a progress bar.
   */
  downloadStream(
    path: string,
    onStart: (headers: Headers) => void,
    onChunk: (chunk: Uint8Array) => void,
    timeoutMs = 30 * 60_000,
  ): Promise<Download> {
    return exchange('GET', path, undefined, timeoutMs, 'text/csv', async (res) => {
      onStart(res.headers);
      const filename = dispositionFilename(res.headers.get('Content-Disposition'));
      const reader = res.body?.getReader();
      if (!reader) return { blob: await res.blob(), filename };
      const parts: BlobPart[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        onChunk(value);
      }
      return { blob: new Blob(parts, { type: 'text/csv' }), filename };
    });
  },
};

// ---------------------------------------------------------------- websocket

/**
 * connecting: opening a socket; open: socket open, waiting for the snapshot;
 * live: snapshot received, values are current; down: no socket, a retry is
 * scheduled.
 */
export type LinkState = 'connecting' | 'open' | 'live' | 'down';

export interface LiveHandlers {
  onMessage(msg: ServerMessage): void;
  onState(state: LinkState, detail: string): void;
  /** A frame that could not be used, or an error message from the server. */
  onProtocolError?(error: string): void;
}

export interface LiveOptions {
  patterns?: string[];
  backoff?: Backoff;
  /** Give up on a socket that opened but sent no snapshot within this time. */
  snapshotTimeoutMs?: number;
}

const CONNECTING = 0;
const OPEN = 1;

let serverBase: Promise<string | null> | null = null;

/** The desktop shell's engine address (e.g. http://127.0.0.1:8080), or null in a browser. */
function desktopBase(): Promise<string | null> {
  if (!serverBase) {
    serverBase = (async () => {
      const f = typeof window === 'undefined' ? undefined : window.go?.app?.App?.ServerURL;
      if (f === undefined) return null;
      try {
        const url = typeof f === 'function' ? await f() : f;
        return typeof url === 'string' && url !== '' ? url : null;
      } catch {
        return null;
      }
    })();
    // Ask again next time if the shell was not ready.
    serverBase.then((v) => {
      if (v === null) serverBase = null;
    });
  }
  return serverBase;
}

/** The websocket URL for a base URL (http → ws, https → wss), or for this page. */
export function websocketURL(base: string | null, loc?: { protocol: string; host: string }): string {
  if (base) {
    const u = new URL(base);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.pathname = '/ws';
    u.search = '';
    u.hash = '';
    return u.toString();
  }
  const l = loc ?? location;
  return `${l.protocol === 'https:' ? 'wss:' : 'ws:'}//${l.host}/ws`;
}

export class LiveConnection {
  private ws: WebSocket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private patterns: string[];
  private readonly backoff: Backoff;
  private readonly snapshotTimeoutMs: number;
  private generation = 0;

  constructor(
    private readonly handlers: LiveHandlers,
    opts: LiveOptions = {},
  ) {
    this.patterns = opts.patterns ?? ['*'];
    this.backoff = opts.backoff ?? new Backoff();
    this.snapshotTimeoutMs = opts.snapshotTimeoutMs ?? 10000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    globalThis.addEventListener?.('online', this.onOnline);
    void this.connect();
  }

  stop(): void {
    this.running = false;
    globalThis.removeEventListener?.('online', this.onOnline);
    this.generation++;
    this.clearTimers();
    this.ws?.close(1000, 'client stopped');
    this.ws = null;
  }

  /** Drop the socket and connect again at once (e.g. after a login changed the session). */
  restart(): void {
    if (!this.running) return this.start();
    this.generation++;
    this.clearTimers();
    this.ws?.close(1000, 'client restart');
    this.ws = null;
    this.backoff.reset();
    void this.connect();
  }

  /** Changes the subscription; applies now if connected, and on every reconnect. */
  setPatterns(patterns: string[]): void {
    const now = new Set(patterns);
    const before = new Set(this.patterns);
    const removed = this.patterns.filter((p) => !now.has(p));
    const added = patterns.filter((p) => !before.has(p));
    this.patterns = [...patterns];
    if (this.ws?.readyState === OPEN) {
      for (const m of subscriptionMessages('unsubscribe', removed)) this.send(m);
      for (const m of subscriptionMessages('subscribe', added)) this.send(m);
    }
  }

  private onOnline = (): void => {
    if (this.running && !this.ws) {
      this.clearTimers();
      this.backoff.reset();
      void this.connect();
    }
  };

  private send(msg: unknown): void {
    this.ws?.send(JSON.stringify(msg));
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    this.retryTimer = this.snapshotTimer = null;
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    this.handlers.onState('connecting', this.backoff.attempts ? `attempt ${this.backoff.attempts + 1}` : '');
    const url = websocketURL(await desktopBase());
    if (gen !== this.generation || !this.running) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      this.lost(gen, (e as Error)?.message || 'cannot open websocket');
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (gen !== this.generation) return;
      this.handlers.onState('open', '');
      const subs = subscriptionMessages('subscribe', this.patterns);
      // No tags yet: subscribe to none, for the snapshot that says we are in.
      for (const m of subs.length ? subs : [{ type: 'subscribe', tags: [] }]) this.send(m);
      this.snapshotTimer = setTimeout(() => {
        if (gen !== this.generation) return;
        this.handlers.onProtocolError?.('no snapshot from the server; reconnecting');
        ws.close(4000, 'no snapshot');
        this.lost(gen, 'no snapshot');
      }, this.snapshotTimeoutMs);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (gen !== this.generation) return;
      const r = parseServerMessage(ev.data);
      if (!r.ok) {
        this.handlers.onProtocolError?.(r.error);
        return;
      }
      if (r.dropped) this.handlers.onProtocolError?.(`${r.dropped} malformed entries ignored in ${r.msg.type}`);
      if (r.msg.type === 'snapshot') {
        if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
        this.snapshotTimer = null;
        this.backoff.reset();
        this.handlers.onMessage(r.msg);
        this.handlers.onState('live', '');
        return;
      }
      if (r.msg.type === 'error') this.handlers.onProtocolError?.(`server: ${r.msg.error}`);
      this.handlers.onMessage(r.msg);
    };
    ws.onerror = () => {
      // onclose follows; nothing to do here.
    };
    ws.onclose = (ev: CloseEvent) => {
      this.lost(gen, ev.reason || `closed (${ev.code})`);
    };
  }

  private lost(gen: number, detail: string): void {
    if (gen !== this.generation || !this.running) return;
    this.generation++;
    this.clearTimers();
    if (this.ws) {
      this.ws.onopen = this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
      if (this.ws.readyState === CONNECTING || this.ws.readyState === OPEN) this.ws.close();
    }
    this.ws = null;
    const delay = this.backoff.next();
    this.handlers.onState('down', detail);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.running) void this.connect();
    }, delay);
  }
}
