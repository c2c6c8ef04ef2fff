// Faceplate state: which one is open, the interlocks (polled while one is
// open), and the mini trends' recorder (the last 10 minutes of a few tags,
// sampled from the live values once a second, prefilled from the historian
// when there is one).

import { hmi } from './store.svelte';
import { Ring, type Sample } from './ring';
import { control, recentHistory } from './control';
import type { InterlockView } from './command';

export type Equipment = 'P101' | 'XV101' | 'TIC101' | 'CV201';

export const TREND_TAGS = ['TIC101.PV', 'TIC101.SP', 'TIC101.OUT'] as const;
const TREND_MS = 10 * 60 * 1000;
const SAMPLE_MS = 1000;

class Faceplates {
  open = $state<Equipment | null>(null);
  /** The generic faceplate open (a symbol without an equipment faceplate): its title and tags. */
  tagsOpen = $state.raw<{ title: string; tags: string[] } | null>(null);
  interlocks = $state.raw<InterlockView[]>([]);
  /** Bumped on every recorder sample: trends re-read their rings. */
  tick = $state(0);
  readonly rings = new Map<string, Ring>(TREND_TAGS.map((t) => [t, new Ring(TREND_MS / SAMPLE_MS + 60)]));

  private returnFocus: HTMLElement | null = null;
  private recorder: ReturnType<typeof setInterval> | null = null;
  private poller: ReturnType<typeof setInterval> | null = null;
  private prefilled = false;

  show(eq: Equipment): void {
    this.returnFocus = typeof document !== 'undefined' ? (document.activeElement as HTMLElement | null) : null;
    this.tagsOpen = null;
    this.open = eq;
    void this.refreshInterlocks();
    if (!this.poller) this.poller = setInterval(() => void this.refreshInterlocks(), 1000);
  }

  /** Opens the generic faceplate of `tags`; their mini trend is recorded from now on (and prefilled from the historian). */
  showTags(title: string, tags: string[]): void {
    this.returnFocus = typeof document !== 'undefined' ? (document.activeElement as HTMLElement | null) : null;
    this.open = null;
    this.tagsOpen = { title, tags };
    this.track(tags);
    void this.refreshInterlocks();
    if (!this.poller) this.poller = setInterval(() => void this.refreshInterlocks(), 1000);
  }

  /** Records tags' values for the mini trends (ring per tag, kept while the page lives). */
  track(tags: readonly string[]): void {
    const fresh = tags.filter((t) => !this.rings.has(t));
    for (const t of fresh) this.rings.set(t, new Ring(TREND_MS / SAMPLE_MS + 60));
    if (fresh.length && hmi.session) this.prefillTags(fresh);
  }

  close(): void {
    this.open = null;
    this.tagsOpen = null;
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    const f = this.returnFocus;
    this.returnFocus = null;
    queueMicrotask(() => f?.focus?.());
  }

  async refreshInterlocks(): Promise<void> {
    try {
      this.interlocks = await control.interlocks();
    } catch {
      /* keep the last list; the comm banner tells about a lost server */
    }
  }

  /** Starts the recorder once (the overview mounts it); idempotent. */
  startRecorder(): void {
    if (this.recorder) return;
    this.recorder = setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Prefills the rings from the historian, once logged in (no historian, or 404: nothing). */
  private prefill(): void {
    this.prefilled = true;
    this.prefillTags([...this.rings.keys()]);
  }

  private prefillTags(tags: readonly string[]): void {
    const now = Date.now();
    for (const tag of tags) {
      void recentHistory(tag, now - TREND_MS, now, 300).then((pts) => {
        const ring = this.rings.get(tag);
        if (!ring || !pts.length) return;
        const live = ring.toArray();
        ring.clear();
        for (const [t, v] of pts) ring.push(t, v);
        for (const s of live) ring.push(s.t, s.v);
        this.tick++;
      });
    }
  }

  private sample(): void {
    if (hmi.stale) return;
    if (!this.prefilled && hmi.session) this.prefill();
    const now = Date.now();
    for (const [tag, ring] of this.rings) {
      const t = hmi.tag(tag);
      if (t && t.quality !== 'bad' && (typeof t.value === 'number' || typeof t.value === 'boolean')) ring.push(now, Number(t.value));
    }
    this.tick++;
  }

  series(tag: string, since: number): Sample[] {
    void this.tick;
    return this.rings.get(tag)?.toArray(since) ?? [];
  }
}

export const faceplates = new Faceplates();
