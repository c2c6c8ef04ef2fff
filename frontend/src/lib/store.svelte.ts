// Application state: session, connection, live tag values and alarms.
// Tag values live in one reactive object per tag (fine-grained: a change of
// T101.Level re-renders only what shows T101.Level); websocket updates are
// conflated per tag and applied once per animation frame.

import { SvelteMap } from 'svelte/reactivity';
import { sortAlarms } from './alarms';
import { Backoff } from './backoff';
import { formatDuration, formatWithUnit } from './format';
import { Conflator, mergeValues, type ValueHolder } from './messages';
import { ApiError, LiveConnection, api, type LinkState } from './transport';
import { hasRole, writeBlock } from './roles';
import type { Alarm, Info, Quality, ServerMessage, Session, TagInfo, TagScalar, TagValue } from './types';

export class LiveTag implements ValueHolder {
  readonly name: string;
  value = $state<TagScalar>(null);
  quality = $state<Quality>('bad');
  reason = $state<string | undefined>('no value yet');
  ts = $state(0);
  unit = $state('');
  description = $state('');
  device = $state('');
  writable = $state(false);
  low = $state<number | undefined>(undefined);
  high = $state<number | undefined>(undefined);
  /** Lowest role that may write (write_role); undefined means operator. */
  writeRole = $state<string | undefined>(undefined);

  constructor(v: TagValue) {
    this.name = v.name;
    this.value = v.value;
    this.quality = v.quality;
    this.reason = v.reason;
    this.ts = v.ts;
  }
}

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

class Hmi {
  info = $state<Info | null>(null);
  session = $state<Session | null>(null);
  link = $state<LinkState>('connecting');
  linkDetail = $state('');
  /** When the connection was lost (ms), null while live or before the first attempt failed. */
  lostSince = $state<number | null>(null);
  alarms = $state.raw<Alarm[]>([]);
  readonly tags = new SvelteMap<string, LiveTag>();
  /** Tag names, sorted; changes only when tags appear. */
  names = $state.raw<string[]>([]);
  toasts = $state<Toast[]>([]);
  /** Last protocol problem, for diagnostics (shown as a tooltip on the link state). */
  protocolError = $state('');

  readonly stale = $derived(this.link !== 'live');
  /** The user may write tags at all (operator or above); see writeBlock for one tag. */
  readonly canWrite = $derived(hasRole(this.session, 'operator'));
  /** The Engineering screen (OPC UA browser, certificates) is for engineer and above. */
  readonly canEngineer = $derived(hasRole(this.session, 'engineer'));

  private conflator = new Conflator();
  private frame = 0;
  private live: LiveConnection | null = null;
  private explicitLogout = false;
  private toastSeq = 0;

  tag(name: string): LiveTag | undefined {
    return this.tags.get(name);
  }

  /** Why the user may not write the tag (a sentence), or null if the write is allowed. */
  writeBlock(name: string): string | null {
    return writeBlock(this.session, this.tags.get(name), name);
  }

  // ------------------------------------------------------------ live data

  private create = (v: TagValue): LiveTag => new LiveTag(v);

  private addNames(added: string[]): void {
    if (added.length) this.names = [...this.names, ...added].sort();
  }

  private flush = (): void => {
    this.frame = 0;
    if (this.conflator.size) this.addNames(mergeValues(this.tags, this.conflator.drain(), this.create));
  };

  private schedule(): void {
    if (this.frame) return;
    this.frame =
      typeof requestAnimationFrame === 'function'
        ? requestAnimationFrame(this.flush)
        : (setTimeout(this.flush, 16) as unknown as number);
  }

  handleMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'snapshot':
        // Anything still queued is older than the snapshot: apply it first.
        this.flush();
        this.addNames(mergeValues(this.tags, msg.tags, this.create));
        break;
      case 'update':
        this.conflator.push(msg.tags);
        this.schedule();
        break;
      case 'alarms':
        this.alarms = sortAlarms(msg.alarms);
        break;
      case 'error':
        this.protocolError = msg.error;
        break;
    }
  }

  private onLinkState(state: LinkState, detail: string): void {
    const wasLost = this.lostSince !== null;
    this.link = state;
    this.linkDetail = detail;
    if (state === 'down' && this.lostSince === null) this.lostSince = Date.now();
    if (state === 'live') {
      this.lostSince = null;
      if (wasLost) void this.afterReconnect();
    }
  }

  private async afterReconnect(): Promise<void> {
    // The server may have restarted: sessions and the tag list may be new.
    await this.refreshSession();
    await this.loadTagInfo();
  }

  /** Applies definitions (unit, limits, writable...) and, if newer, values from GET /tags. */
  applyTagInfo(list: TagInfo[]): void {
    const added: string[] = [];
    for (const t of list) {
      if (!t || typeof t.name !== 'string') continue;
      let cur = this.tags.get(t.name);
      if (!cur) {
        cur = new LiveTag({ name: t.name, value: t.value ?? null, quality: t.quality ?? 'bad', reason: t.reason, ts: t.ts ?? 0 });
        this.tags.set(t.name, cur);
        added.push(t.name);
      } else if ((t.ts ?? 0) > cur.ts) {
        mergeValues(this.tags, [{ name: t.name, value: t.value ?? null, quality: t.quality, reason: t.reason, ts: t.ts }], this.create);
      }
      cur.unit = t.unit ?? '';
      cur.description = t.description ?? '';
      cur.device = t.device ?? '';
      cur.writable = t.writable === true;
      cur.low = typeof t.low === 'number' ? t.low : undefined;
      cur.high = typeof t.high === 'number' ? t.high : undefined;
      cur.writeRole = typeof t.write_role === 'string' && t.write_role ? t.write_role : undefined;
    }
    this.addNames(added);
  }

  async loadTagInfo(): Promise<void> {
    try {
      this.applyTagInfo(await api.tags());
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) this.notify(`Tag list: ${(e as Error).message}`, 'error');
    }
  }

  // ------------------------------------------------------------ session

  private async refreshSession(): Promise<void> {
    try {
      let s = await api.me();
      if (!s && this.info?.demo && !this.explicitLogout) s = await api.login('operator', 'operator').catch(() => null);
      this.session = s;
    } catch {
      // Server unreachable: keep what we have; the link state shows the problem.
    }
  }

  /** Page start: server info, session (demo: log in as operator), tag list, websocket. */
  async start(): Promise<void> {
    const backoff = new Backoff();
    while (!this.info) {
      try {
        this.info = await api.info();
      } catch (e) {
        this.onLinkState('down', (e as Error).message);
        await new Promise((r) => setTimeout(r, backoff.next()));
      }
    }
    document.title = `${this.info.name} · edgehmi`;
    await this.refreshSession();
    await this.loadTagInfo();
    this.live = new LiveConnection(
      {
        onMessage: (m) => this.handleMessage(m),
        onState: (s, d) => this.onLinkState(s, d),
        onProtocolError: (err) => {
          this.protocolError = err;
          console.warn('edgehmi websocket:', err);
        },
      },
      { patterns: ['*'] },
    );
    this.live.start();
  }

  async login(user: string, password: string): Promise<void> {
    const s = await api.login(user, password);
    this.explicitLogout = false;
    this.session = s;
    this.notify(`Logged in as ${s.user} (${s.role}).`);
    await this.loadTagInfo();
    // The websocket was opened with the old session: open it again.
    this.live?.restart();
  }

  /**
   * Logs out. Demo mode then stays logged out (no automatic operator login)
   * until the page is loaded again. `idleSeconds`: the logout is the idle
   * timeout's, which the toast says.
   */
  async logout(idleSeconds?: number): Promise<void> {
    this.explicitLogout = true;
    try {
      await api.logout();
    } catch (e) {
      // A session the server already ended is as good as logged out.
      if (!(e instanceof ApiError && e.status === 401)) this.notify(`Logout: ${(e as Error).message}`, 'error');
    }
    this.session = null;
    if (idleSeconds !== undefined) this.notify(`Logged out after ${formatDuration(idleSeconds)} without input.`);
    this.live?.restart();
  }

  // ------------------------------------------------------------ writes

  /** Writes a value; on success applies the read-back at once and returns it. */
  async write(name: string, value: TagScalar): Promise<TagValue> {
    const r = await api.writeTag(name, value, '');
    const v: TagValue = { name: r.name || name, value: r.value, quality: r.quality ?? 'good', ts: r.ts ?? Date.now() };
    const cur = this.tags.get(v.name);
    if (cur && v.ts >= cur.ts) mergeValues(this.tags, [v], this.create);
    const t = this.tags.get(v.name);
    this.notify(`${v.name} = ${formatWithUnit({ ...v, unit: t?.unit })} (read back)`);
    return v;
  }

  notify(text: string, kind: Toast['kind'] = 'info'): void {
    const id = ++this.toastSeq;
    this.toasts = [...this.toasts.slice(-2), { id, text, kind }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }
}

export const hmi = new Hmi();
