// Navigation between displays: the one shown, with back and forward
// history like a browser's.

export class DisplayNav {
  current = $state<string | null>(null);
  back = $state<string[]>([]);
  forward = $state<string[]>([]);

  /** Opens a display; the one shown goes on the back stack. */
  open(name: string): void {
    if (name === this.current) return;
    if (this.current !== null) this.back = [...this.back, this.current];
    this.forward = [];
    this.current = name;
  }

  goBack(): void {
    const prev = this.back.at(-1);
    if (prev === undefined) return;
    this.back = this.back.slice(0, -1);
    if (this.current !== null) this.forward = [this.current, ...this.forward];
    this.current = prev;
  }

  goForward(): void {
    const next = this.forward[0];
    if (next === undefined) return;
    this.forward = this.forward.slice(1);
    if (this.current !== null) this.back = [...this.back, this.current];
    this.current = next;
  }
}

export const nav = new DisplayNav();
