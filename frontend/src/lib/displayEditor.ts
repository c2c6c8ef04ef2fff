// The display editor's document model: pure TypeScript, no DOM. Every
// command replaces the display (and the objects it changes) with new
// values, so an undo entry is just the previous display and selection, and
// the renderer redraws only the objects that changed.

import { boxOf, type Display, type DisplayObject, type ObjectType, type SymbolName } from './display';

export type Edge = 'left' | 'center' | 'right' | 'top' | 'middle' | 'bottom';
export type Axis = 'horizontal' | 'vertical';

interface Snapshot {
  display: Display;
  selection: string[];
  label: string;
}

/** Sizes an object gets when placed. */
export const DEFAULT_SIZE: Record<ObjectType, { w: number; h: number }> = {
  symbol: { w: 60, h: 60 },
  value: { w: 140, h: 30 },
  bar: { w: 160, h: 16 },
  trend: { w: 240, h: 80 },
  button: { w: 100, h: 40 },
  setpoint: { w: 200, h: 44 },
  text: { w: 120, h: 24 },
  line: { w: 0, h: 0 },
  pipe: { w: 0, h: 0 },
  link: { w: 180, h: 32 },
};

const SYMBOL_SIZE: Partial<Record<SymbolName, { w: number; h: number }>> = {
  tank: { w: 120, h: 200 },
  conveyor: { w: 300, h: 30 },
  mixer: { w: 160, h: 220 },
  heat_exchanger: { w: 140, h: 70 },
  instrument: { w: 54, h: 54 },
};

export class DisplayEditor {
  display: Display;
  selection: string[] = [];
  grid = 10;
  snap = true;
  clipboard: DisplayObject[] = [];
  private undoStack: Snapshot[] = [];
  private redoStack: Snapshot[] = [];
  private drag: { before: Snapshot; origin: Map<string, DisplayObject> } | null = null;
  /** Called after every change (the component redraws). */
  onchange: () => void = () => {};

  constructor(display: Display) {
    this.display = { ...display, objects: [...display.objects] };
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }
  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }
  /** What undo would undo ('' if nothing). */
  get undoLabel(): string {
    return this.undoStack.at(-1)?.label ?? '';
  }
  get redoLabel(): string {
    return this.redoStack.at(-1)?.label ?? '';
  }

  object(id: string): DisplayObject | undefined {
    return this.display.objects.find((o) => o.id === id);
  }

  /** The selected objects, in display order. */
  selected(): DisplayObject[] {
    const s = new Set(this.selection);
    return this.display.objects.filter((o) => s.has(o.id));
  }

  // ------------------------------------------------------------ history

  private snapshot(label: string): Snapshot {
    return { display: this.display, selection: [...this.selection], label };
  }

  /** Runs a change as one undoable step. */
  private change(label: string, f: () => void): void {
    const before = this.snapshot(label);
    f();
    if (this.display === before.display && sameIds(this.selection, before.selection)) return;
    this.undoStack.push(before);
    this.redoStack = [];
    this.onchange();
  }

  undo(): boolean {
    const s = this.undoStack.pop();
    if (!s) return false;
    this.redoStack.push(this.snapshot(s.label));
    this.display = s.display;
    this.selection = s.selection;
    this.onchange();
    return true;
  }

  redo(): boolean {
    const s = this.redoStack.pop();
    if (!s) return false;
    this.undoStack.push(this.snapshot(s.label));
    this.display = s.display;
    this.selection = s.selection;
    this.onchange();
    return true;
  }

  private replace(changed: Map<string, DisplayObject>): void {
    if (!changed.size) return;
    this.display = { ...this.display, objects: this.display.objects.map((o) => changed.get(o.id) ?? o) };
  }

  private s(v: number): number {
    return this.snap && this.grid > 1 ? Math.round(v / this.grid) * this.grid : v;
  }

  // ------------------------------------------------------------ selection (not undoable)

  select(ids: string[], add = false): void {
    const want = add ? [...this.selection, ...ids] : ids;
    this.selection = [...new Set(this.withGroups(want))];
    this.onchange();
  }

  /** ids plus every object grouped with one of them. */
  withGroups(ids: string[]): string[] {
    const groups = new Set(this.display.objects.filter((o) => ids.includes(o.id) && o.group).map((o) => o.group));
    if (!groups.size) return ids;
    return [...new Set([...ids, ...this.display.objects.filter((o) => o.group && groups.has(o.group)).map((o) => o.id)])];
  }

  // ------------------------------------------------------------ commands

  /** A fresh id: prefix plus the smallest number not in use. */
  newId(prefix: string): string {
    const ids = new Set(this.display.objects.map((o) => o.id));
    for (let n = 1; ; n++) if (!ids.has(`${prefix}${n}`)) return `${prefix}${n}`;
  }

  /** Places a new object at (x, y); it becomes the selection. Returns its id. */
  place(type: ObjectType, x: number, y: number, props: Partial<DisplayObject> = {}): string {
    const size = (type === 'symbol' && props.symbol && SYMBOL_SIZE[props.symbol]) || DEFAULT_SIZE[type];
    const id = props.id ?? this.newId(type === 'symbol' ? (props.symbol ?? 'symbol') : type);
    const o: DisplayObject = { type, id, x: this.s(x), y: this.s(y), ...props };
    if (type === 'line' || type === 'pipe') {
      o.points ??= [
        { x: 0, y: 0 },
        { x: 100, y: 0 },
      ];
    } else {
      o.w ??= size.w;
      o.h ??= size.h;
    }
    if ((type === 'text' || type === 'link' || type === 'button') && o.text === undefined) o.text = type === 'link' ? 'Go to…' : type;
    this.change(`place ${id}`, () => {
      this.display = { ...this.display, objects: [...this.display.objects, o] };
      this.selection = [id];
    });
    return id;
  }

  /** Moves objects (and their groups) by dx, dy. */
  move(ids: string[], dx: number, dy: number): void {
    const all = this.withGroups(ids);
    this.change('move', () => {
      const m = new Map<string, DisplayObject>();
      for (const o of this.display.objects) if (all.includes(o.id)) m.set(o.id, { ...o, x: o.x + dx, y: o.y + dy });
      this.replace(m);
    });
  }

  /** Starts dragging the selection: dragBy moves it live, endDrag makes it one undo step. */
  startDrag(): void {
    const origin = new Map(this.selected().map((o) => [o.id, o]));
    this.drag = { before: this.snapshot('move'), origin };
  }

  /** The shift dragBy(dx, dy) would apply: (dx, dy) with the first dragged object snapped to the grid. */
  dragDelta(dx: number, dy: number): { dx: number; dy: number } {
    const first = this.drag?.origin.values().next().value;
    if (!first) return { dx, dy };
    return { dx: this.s(first.x + dx) - first.x, dy: this.s(first.y + dy) - first.y };
  }

  /** Moves the dragged objects to their start plus (dx, dy), the first of them snapped to the grid. */
  dragBy(dx: number, dy: number): void {
    if (!this.drag) return;
    ({ dx, dy } = this.dragDelta(dx, dy));
    const m = new Map<string, DisplayObject>();
    for (const [id, o] of this.drag.origin) m.set(id, { ...o, x: o.x + dx, y: o.y + dy });
    this.replace(m);
    this.onchange();
  }

  endDrag(): void {
    if (!this.drag) return;
    const { before, origin } = this.drag;
    this.drag = null;
    const moved = [...origin.values()].some((o) => {
      const now = this.object(o.id);
      return now !== undefined && (now.x !== o.x || now.y !== o.y);
    });
    if (!moved) this.display = before.display;
    else {
      this.undoStack.push(before);
      this.redoStack = [];
    }
    this.onchange();
  }

  /** Sets an object's size (at least 4 x 4), snapped. */
  resize(id: string, w: number, h: number): void {
    this.change(`resize ${id}`, () => {
      const o = this.object(id);
      if (!o || o.type === 'line' || o.type === 'pipe') return;
      this.replace(new Map([[id, { ...o, w: Math.max(4, this.s(w)), h: Math.max(4, this.s(h)) }]]));
    });
  }

  /** Aligns objects to the first one's (left: the smallest x, etc.) edge or centre. */
  align(ids: string[], edge: Edge): void {
    const objs = this.display.objects.filter((o) => ids.includes(o.id) && o.type !== 'line' && o.type !== 'pipe');
    if (objs.length < 2) return;
    const boxes = objs.map(boxOf);
    const minX = Math.min(...boxes.map((b) => b.x));
    const maxX = Math.max(...boxes.map((b) => b.x + b.w));
    const minY = Math.min(...boxes.map((b) => b.y));
    const maxY = Math.max(...boxes.map((b) => b.y + b.h));
    this.change(`align ${edge}`, () => {
      const m = new Map<string, DisplayObject>();
      for (const o of objs) {
        const w = o.w ?? 0;
        const h = o.h ?? 0;
        const n = { ...o };
        if (edge === 'left') n.x = minX;
        if (edge === 'right') n.x = maxX - w;
        if (edge === 'center') n.x = (minX + maxX) / 2 - w / 2;
        if (edge === 'top') n.y = minY;
        if (edge === 'bottom') n.y = maxY - h;
        if (edge === 'middle') n.y = (minY + maxY) / 2 - h / 2;
        if (n.x !== o.x || n.y !== o.y) m.set(o.id, n);
      }
      this.replace(m);
    });
  }

  /** Spaces three or more objects evenly between the outermost two. */
  distribute(ids: string[], axis: Axis): void {
    const objs = this.display.objects.filter((o) => ids.includes(o.id) && o.type !== 'line' && o.type !== 'pipe');
    if (objs.length < 3) return;
    const pos = (o: DisplayObject) => (axis === 'horizontal' ? o.x : o.y);
    const size = (o: DisplayObject) => (axis === 'horizontal' ? (o.w ?? 0) : (o.h ?? 0));
    const sorted = [...objs].sort((a, b) => pos(a) - pos(b));
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    const total = sorted.reduce((s, o) => s + size(o), 0);
    const gap = (pos(last) + size(last) - pos(first) - total) / (sorted.length - 1);
    this.change(`distribute ${axis}`, () => {
      const m = new Map<string, DisplayObject>();
      let at = pos(first);
      for (const o of sorted) {
        const n = axis === 'horizontal' ? { ...o, x: at } : { ...o, y: at };
        if (n.x !== o.x || n.y !== o.y) m.set(o.id, n);
        at += size(o) + gap;
      }
      this.replace(m);
    });
  }

  /** Moves (and sizes) objects onto the grid. */
  snapToGrid(ids: string[]): void {
    const g = this.grid;
    const r = (v: number) => Math.round(v / g) * g;
    this.change('snap to grid', () => {
      const m = new Map<string, DisplayObject>();
      for (const o of this.display.objects) {
        if (!ids.includes(o.id)) continue;
        const n = { ...o, x: r(o.x), y: r(o.y) };
        if (o.w !== undefined && o.type !== 'line' && o.type !== 'pipe') n.w = Math.max(g, r(o.w));
        if (o.h !== undefined && o.type !== 'line' && o.type !== 'pipe') n.h = Math.max(g, r(o.h));
        if (n.x !== o.x || n.y !== o.y || n.w !== o.w || n.h !== o.h) m.set(o.id, n);
      }
      this.replace(m);
    });
  }

  /** Ties two or more objects into a group (they select and move together). */
  group(ids: string[]): string | null {
    if (ids.length < 2) return null;
    const used = new Set(this.display.objects.map((o) => o.group).filter(Boolean));
    let n = 1;
    while (used.has(`g${n}`)) n++;
    const g = `g${n}`;
    this.change('group', () => {
      const m = new Map<string, DisplayObject>();
      for (const o of this.display.objects) if (ids.includes(o.id)) m.set(o.id, { ...o, group: g });
      this.replace(m);
    });
    return g;
  }

  ungroup(ids: string[]): void {
    const all = this.withGroups(ids);
    this.change('ungroup', () => {
      const m = new Map<string, DisplayObject>();
      for (const o of this.display.objects) {
        if (all.includes(o.id) && o.group) {
          const n = { ...o };
          delete n.group;
          m.set(o.id, n);
        }
      }
      this.replace(m);
    });
  }

  /** Copies objects to the editor's clipboard (not an undo step). */
  copy(ids: string[]): void {
    this.clipboard = this.display.objects.filter((o) => ids.includes(o.id)).map((o) => structuredClone(o));
  }

  /** Pastes the clipboard offset by (dx, dy), with fresh ids (and groups); the pasted become the selection. */
  paste(dx = 20, dy = 20): string[] {
    if (!this.clipboard.length) return [];
    const ids: string[] = [];
    this.change('paste', () => {
      const objects = [...this.display.objects];
      const groups = new Map<string, string>();
      const usedGroups = new Set(objects.map((o) => o.group).filter(Boolean));
      for (const c of this.clipboard) {
        const idsNow = new Set(objects.map((o) => o.id));
        const base = c.id.replace(/\d+$/, '') || c.type;
        let n = 1;
        while (idsNow.has(`${base}${n}`)) n++;
        const o: DisplayObject = { ...structuredClone(c), id: `${base}${n}`, x: c.x + dx, y: c.y + dy };
        if (c.group) {
          if (!groups.has(c.group)) {
            let k = 1;
            while (usedGroups.has(`g${k}`)) k++;
            usedGroups.add(`g${k}`);
            groups.set(c.group, `g${k}`);
          }
          o.group = groups.get(c.group);
        }
        objects.push(o);
        ids.push(o.id);
      }
      this.display = { ...this.display, objects };
      this.selection = ids;
    });
    return ids;
  }

  delete(ids: string[]): void {
    const all = new Set(this.withGroups(ids));
    this.change('delete', () => {
      this.display = { ...this.display, objects: this.display.objects.filter((o) => !all.has(o.id)) };
      this.selection = this.selection.filter((id) => !all.has(id));
    });
  }

  /** Sets (or, with undefined or '', removes) one field of an object; a new id renames it. */
  setProp<K extends keyof DisplayObject>(id: string, key: K, value: DisplayObject[K] | undefined): void {
    this.change(`set ${String(key)}`, () => {
      const o = this.object(id);
      if (!o || o[key] === value) return;
      const n = { ...o };
      if (value === undefined || value === '') delete n[key];
      else n[key] = value;
      if (key === 'id') {
        if (typeof value !== 'string' || !value || this.object(value)) return;
        this.display = { ...this.display, objects: this.display.objects.map((x) => (x.id === id ? n : x)) };
        this.selection = this.selection.map((s) => (s === id ? value : s));
        return;
      }
      this.replace(new Map([[id, n]]));
    });
  }

  /** Sets a field of the display itself (title, level, size, background). */
  setDisplayProp<K extends 'title' | 'level' | 'width' | 'height' | 'background'>(key: K, value: Display[K]): void {
    this.change(`set ${key}`, () => {
      if (this.display[key] === value) return;
      this.display = { ...this.display, [key]: value };
    });
  }
}

function sameIds(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
