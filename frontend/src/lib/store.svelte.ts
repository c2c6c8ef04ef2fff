// Application state: session, connection, live tag values and alarms.
// Tag values live in one reactive object per tag (fine-grained: a change of
// T101.Level re-renders only what shows T101.Level); websocket updates are
// conflated per tag and applied once per animation frame.

import { SvelteMap } from 'svelte/reactivity';
import { PENDING_TIMEOUT_MS, bannerCounts, settlePending, sortAlarms, type PendingAck } from './alarms';
import { alarmApi, type AckManyResult } from './alarm-api';
import { HornController, hornWanted, newerSummary } from './horn';
import { WebAudioHorn } from './horn-audio';
import { Backoff } from './backoff';
import { formatDuration, formatWithUnit } from './format';
import { Conflator, mergeValues, type ValueHolder } from './messages';
import { ApiError, LiveConnection, api, type LinkState } from './transport';
import { hasRole, writeBlock } from './roles';
import { removedTags } from './project';
import type { Alarm, AlarmSummary, Info, Quality, ServerMessage, Session, TagInfo, TagScalar, TagValue } from './types';

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

/**
 * The most tag changes applied in one animation frame (see flush): 1,000
 * changes arriving at once are drawn over ten frames. 100 measured better
 * than 250 with each display object in its own layer (docs/benchmarks.md).
 */
export const FRAME_TAGS = 100;

/** Above this many tags on screen the page subscribes to every tag (see patterns). */
export const MAX_NAMED_TAGS = 5120;

class Hmi {
  info = $state<Info | null>(null);
  session = $state<Session | null>(null);
  link = $state<LinkState>('connecting');
  linkDetail = $state('');
  /** When the connection was lost (ms), null while live or before the first attempt failed. */
  lostSince = $state<number | null>(null);
  /** The operator's alarm list (not normal, not hidden), most important first. */
  alarms = $state.raw<Alarm[]>([]);
  /** The newest alarm summary (counts, horn), null until the server sent one. */
  alarmSummary = $state.raw<AlarmSummary | null>(null);
  /** Counts alarm messages; screens that load more (the hidden alarms) refresh on it. */
  alarmsSeq = $state(0);
  /** Counts project loads the server announced: screens that show project data (the display list) fetch it again on it. */
  projectSeq = $state(0);
  /** Acknowledgements sent and not yet confirmed by the alarm list: shown as pending, never as acked. */
  pendingAcks = $state.raw<ReadonlyMap<string, PendingAck>>(new Map());
  /** Silence pressed, the server's answer not here yet: the horn is already quiet. */
  silencing = $state(false);
  /** The browser lets the page play the horn (after a first touch or key). */
  hornUnlocked = $state(false);
  /** This panel's horn is switched off (the alarms still show). */
  hornMuted = $state(false);
  /** The horn sounds now. */
  hornSounding = $state(false);
  /** The server says the horn should sound (whether or not this page can play it). */
  hornWanted = $state(false);
  readonly tags = new SvelteMap<string, LiveTag>();
  /** Tag names, sorted; changes only when tags appear. */
  names = $state.raw<string[]>([]);
  toasts = $state<Toast[]>([]);
  /** Last protocol problem, for diagnostics (shown as a tooltip on the link state). */
  protocolError = $state('');

  readonly stale = $derived(this.link !== 'live');
  /** Banner counts by priority: the summary's, or counted from the list. */
  readonly alarmCounts = $derived(bannerCounts(this.alarmSummary, this.alarms));
  /** Acknowledge, shelve, silence: operator and above. */
  readonly canAck = $derived(hasRole(this.session, 'operator'));
  /** The user may write tags at all (operator or above); see writeBlock for one tag. */
  readonly canWrite = $derived(hasRole(this.session, 'operator'));
  /** The Engineering screen (OPC UA browser, certificates) is for engineer and above. */
  readonly canEngineer = $derived(hasRole(this.session, 'engineer'));

  private conflator = new Conflator();
  private frame = 0;
  private live: LiveConnection | null = null;
  private explicitLogout = false;
  private toastSeq = 0;
  private readonly hornAudio = new WebAudioHorn();
  private readonly horn = new HornController(this.hornAudio);
  private pendingTimer: ReturnType<typeof setTimeout> | null = null;

  tag(name: string): LiveTag | undefined {
    return this.tags.get(name);
  }

  // ------------------------------------------------------------ subscription

  private needs = new Map<string, readonly string[]>();

  /**
   * Says which tags a part of the page shows (patterns; "*" for all), or
   * that it shows none any more (null). The websocket subscribes to the
   * union (none, if every part says []); while no part has said anything,
   * to every tag. A display names its tags, so the server sends only what
   * is on the screen, and none while it loads.
   */
  need(part: string, patterns: readonly string[] | null): void {
    if (patterns === null) this.needs.delete(part);
    else this.needs.set(part, patterns);
    this.live?.setPatterns(this.patterns());
  }

  /** The patterns the websocket subscribes to now. */
  patterns(): string[] {
    if (this.needs.size === 0) return ['*'];
    const all = new Set<string>();
    for (const ps of this.needs.values()) {
      for (const p of ps) {
        if (p === '*') return ['*'];
        all.add(p);
      }
    }
    // Parts that show no tags (a display still loading): none at all.
    // Very many: every tag, rather than more subscribe messages than the
    // server lets a client send in a burst (40 of 256 names each).
    return all.size <= MAX_NAMED_TAGS ? [...all] : ['*'];
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
    // At most FRAME_TAGS changes a frame: a burst of thousands (every tag
    // of a display changing at once) is drawn over a few frames instead
    // of one long task that freezes the page.
    if (this.conflator.size) this.addNames(mergeValues(this.tags, this.conflator.drain(FRAME_TAGS), this.create));
    if (this.conflator.size) this.schedule();
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
        // Anything still queued is older than the snapshot: apply it all first.
        if (this.conflator.size) this.addNames(mergeValues(this.tags, this.conflator.drain(), this.create));
        this.addNames(mergeValues(this.tags, msg.tags, this.create));
        break;
      case 'update':
        this.conflator.push(msg.tags);
        this.schedule();
        break;
      case 'alarms':
        this.applyAlarms(msg.alarms, msg.summary);
        break;
      case 'error':
        this.protocolError = msg.error;
        break;
      case 'project':
        this.projectSeq++;
        void this.projectChanged(msg.name);
        break;
    }
  }

  /** An engineer loaded a project: tags may have come, gone or changed their definitions. */
  private async projectChanged(name: string): Promise<void> {
    try {
      const list = await api.tags();
      for (const gone of removedTags(this.tags.keys(), list)) this.tags.delete(gone);
      this.names = this.names.filter((n) => this.tags.has(n));
      this.applyTagInfo(list);
      if (this.info && name) this.info = { ...this.info, name };
      this.notify(name ? `Project "${name}" loaded.` : 'A new project was loaded.', 'info');
    } catch (e) {
      this.notify(`Tag list after a project load: ${(e as Error).message}`, 'error');
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
    this.installHornUnlock();
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
      { patterns: this.patterns() },
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

  // ------------------------------------------------------------ alarms

  applyAlarms(alarms: Alarm[], summary: AlarmSummary | null): void {
    this.alarms = sortAlarms(alarms);
    this.alarmSummary = newerSummary(this.alarmSummary, summary);
    this.alarmsSeq++;
    this.settle();
  }

  /** Ends the pending acknowledgements the alarm list has confirmed (or that waited too long). */
  private settle(): void {
    const next = settlePending(this.pendingAcks, this.alarms, Date.now());
    if (next !== this.pendingAcks) this.pendingAcks = next;
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = next.size ? setTimeout(() => this.settle(), PENDING_TIMEOUT_MS + 100) : null;
    this.updateHorn();
  }

  private setPending(names: readonly string[], f: (cur: PendingAck | undefined, name: string) => PendingAck | null): void {
    const m = new Map(this.pendingAcks);
    for (const n of names) {
      const v = f(m.get(n), n);
      if (v) m.set(n, v);
      else m.delete(n);
    }
    this.pendingAcks = m;
  }

  private startPending(names: readonly string[]): void {
    const now = Date.now();
    const changed = new Map<string, number>();
    const want = new Set(names);
    for (const a of this.alarms) if (want.has(a.name)) changed.set(a.name, a.changed ?? 0);
    this.setPending(names, (_, n) => ({ changed: changed.get(n) ?? 0, answered: false, at: now }));
    this.updateHorn();
  }

  isPending(name: string): boolean {
    return this.pendingAcks.has(name);
  }

  /**
   * Acknowledges one alarm. The row shows "pending" until the server's alarm
   * list shows it acknowledged: it never flips to acked and back. Throws the
   * server's sentence (ApiError) on failure; 409 means there was nothing to
   * acknowledge (someone else did).
   */
  async ackAlarm(name: string, comment?: string): Promise<void> {
    if (this.pendingAcks.has(name)) return;
    this.startPending([name]);
    try {
      await alarmApi.ack(name, comment);
      this.setPending([name], (p) => (p ? { ...p, answered: true } : null));
      this.settle();
    } catch (e) {
      this.setPending([name], () => null);
      this.updateHorn();
      throw e;
    }
  }

  /** Acknowledges several alarms in one request; those skipped are said why. */
  async ackAlarms(names: readonly string[], comment?: string): Promise<AckManyResult> {
    const list = names.filter((n) => !this.pendingAcks.has(n));
    this.startPending(list);
    try {
      const r = await alarmApi.ackMany(list, comment);
      const acked = new Set(r.acked);
      this.setPending(list, (p, n) => (p && acked.has(n) ? { ...p, answered: true } : null));
      this.settle();
      return r;
    } catch (e) {
      this.setPending(list, () => null);
      this.updateHorn();
      throw e;
    }
  }

  /** Silences the horn: quiet at once, then as the server's summary says. */
  async silence(): Promise<void> {
    this.silencing = true;
    this.updateHorn();
    try {
      const s = await alarmApi.silence();
      if (s) this.alarmSummary = newerSummary(this.alarmSummary, s);
    } catch (e) {
      this.notify(`Silence: ${(e as Error).message}`, 'error');
    } finally {
      this.silencing = false;
      this.updateHorn();
    }
  }

  setHornMuted(muted: boolean): void {
    this.hornMuted = muted;
    this.updateHorn();
  }

  private updateHorn(): void {
    this.hornWanted = hornWanted(this.alarmSummary, this.alarms, this.pendingAcks);
    this.hornSounding = this.horn.update({
      wanted: this.hornWanted,
      unlocked: this.hornUnlocked,
      muted: this.hornMuted,
      silencing: this.silencing,
    });
  }

  /** Unlocks audio: tried at start (kiosk webviews may allow it), then on the first touch or key. */
  private installHornUnlock(): void {
    this.hornAudio.onchange = (ok) => {
      if (ok !== this.hornUnlocked) {
        this.hornUnlocked = ok;
        this.updateHorn();
      }
    };
    if (this.hornAudio.unsupported) return;
    const opts = { capture: true } as const;
    const onGesture = () => {
      void this.hornAudio.unlock().then((ok) => {
        if (ok) {
          removeEventListener('pointerdown', onGesture, opts);
          removeEventListener('keydown', onGesture, opts);
        }
      });
    };
    addEventListener('pointerdown', onGesture, opts);
    addEventListener('keydown', onGesture, opts);
    // The desktop app's webview may play sound without a gesture: try at once there.
    if (typeof window !== 'undefined' && window.go) onGesture();
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
