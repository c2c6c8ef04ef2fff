import { describe, expect, it } from 'vitest';
import { DisplayEditor } from './displayEditor';
import type { Display } from './display';

function base(): Display {
  return {
    version: 1,
    title: 'T',
    level: 'area',
    width: 1000,
    height: 600,
    objects: [
      { type: 'symbol', id: 'tank1', symbol: 'tank', x: 100, y: 100, w: 120, h: 200, tag: 'T101.Level' },
      { type: 'value', id: 'value1', x: 300, y: 110, w: 140, h: 30, tag: 'T101.Level' },
      { type: 'setpoint', id: 'sp1', x: 520, y: 130, w: 200, h: 44, tag: 'TIC101.SP' },
      { type: 'pipe', id: 'pipe1', x: 0, y: 0, points: [{ x: 0, y: 0 }, { x: 50, y: 0 }] },
    ],
  };
}

/** Runs an action; undo gives back exactly the display and selection before, redo exactly those after. */
function undoRedo(act: (e: DisplayEditor) => void, prepare?: (e: DisplayEditor) => void) {
  const e = new DisplayEditor(base());
  prepare?.(e);
  const before = structuredClone({ d: e.display, s: e.selection });
  const undoDepth = e.canUndo;
  act(e);
  const after = structuredClone({ d: e.display, s: e.selection });
  expect(after).not.toEqual(before);
  expect(e.canUndo).toBe(true);
  expect(e.undo()).toBe(true);
  expect({ d: e.display, s: e.selection }).toEqual(before);
  expect(e.canRedo).toBe(true);
  expect(e.redo()).toBe(true);
  expect({ d: e.display, s: e.selection }).toEqual(after);
  expect(e.canRedo).toBe(false);
  // Undo again, then a new change clears the redo stack.
  e.undo();
  e.move(['tank1'], 1, 0);
  expect(e.canRedo).toBe(false);
  void undoDepth;
  return { e, after: after.d };
}

describe('DisplayEditor: each action, undone and redone', () => {
  it('place (snapped to the grid, a fresh id, selected)', () => {
    const { after } = undoRedo((e) => {
      const id = e.place('symbol', 203, 398, { symbol: 'pump', tag: 'P101.Running' });
      expect(id).toBe('pump1');
      expect(e.selection).toEqual(['pump1']);
    });
    expect(after.objects.at(-1)).toMatchObject({ id: 'pump1', x: 200, y: 400, w: 60, h: 60, symbol: 'pump' });
  });

  it('place a tank and a setpoint (the browser test scenario)', () => {
    const e = new DisplayEditor({ version: 1, level: 'area', width: 800, height: 500, objects: [] });
    e.place('symbol', 100, 100, { symbol: 'tank', tag: 'T101.Level' });
    e.place('setpoint', 300, 100, { tag: 'TIC101.SP' });
    expect(e.display.objects.map((o) => o.id)).toEqual(['tank1', 'setpoint1']);
    expect(e.display.objects[0]).toMatchObject({ w: 120, h: 200 });
    e.undo();
    e.undo();
    expect(e.display.objects).toEqual([]);
    e.redo();
    e.redo();
    expect(e.display.objects.map((o) => o.id)).toEqual(['tank1', 'setpoint1']);
  });

  it('move', () => {
    const { after } = undoRedo((e) => e.move(['tank1', 'value1'], 10, -20));
    expect(after.objects[0]).toMatchObject({ x: 110, y: 80 });
    expect(after.objects[1]).toMatchObject({ x: 310, y: 90 });
  });

  it('drag: many live moves make one undo step, snapped', () => {
    const { after } = undoRedo(
      (e) => {
        e.startDrag();
        for (let i = 1; i <= 30; i++) e.dragBy(i, i / 2);
        e.endDrag();
      },
      (e) => e.select(['tank1']),
    );
    expect(after.objects[0]).toMatchObject({ x: 130, y: 120 });
  });

  it('a drag that ends where it started is no undo step', () => {
    const e = new DisplayEditor(base());
    e.select(['tank1']);
    e.startDrag();
    e.dragBy(3, 2);
    e.endDrag();
    expect(e.canUndo).toBe(false);
  });

  it('resize (snapped, at least 4)', () => {
    const { after } = undoRedo((e) => e.resize('value1', 203, 41));
    expect(after.objects[1]).toMatchObject({ w: 200, h: 40 });
  });

  it.each([
    ['left', { x: 100 }, { x: 100 }],
    ['right', { x: 600 }, { x: 520 }],
    ['top', { y: 100 }, { y: 100 }],
    ['bottom', { y: 100 }, { y: 256 }],
    ['center', { x: 350 }, { x: 310 }],
    ['middle', { y: 100 }, { y: 178 }],
  ] as const)('align %s', (edge, tank, sp) => {
    const { after } = undoRedo((e) => e.align(['tank1', 'sp1'], edge));
    expect(after.objects[0]).toMatchObject(tank);
    expect(after.objects[2]).toMatchObject(sp);
  });

  it('distribute moves the middle object', () => {
    const { after } = undoRedo(
      (e) => e.distribute(['tank1', 'value1', 'sp1'], 'horizontal'),
      (e) => e.move(['value1'], 50, 0),
    );
    // span 100..720, sizes 120 + 140 + 200 = 460: gaps of 80
    expect(after.objects.map((o) => o.x).slice(0, 3)).toEqual([100, 300, 520]);
  });

  it('distribute vertically', () => {
    const { after } = undoRedo((e) => e.distribute(['tank1', 'value1', 'sp1'], 'vertical'));
    // sorted by y: tank1 100 (h 200), value1 110 (h 30), sp1 130 (h 44): they overlap, the gap is -100
    expect(after.objects.map((o) => o.y).slice(0, 3)).toEqual([100, 200, 130]);
  });

  it('snap to grid', () => {
    const { after } = undoRedo(
      (e) => e.snapToGrid(['tank1']),
      (e) => {
        e.snap = false;
        e.move(['tank1'], 3, 7);
        e.resize('tank1', 123, 196);
      },
    );
    expect(after.objects[0]).toMatchObject({ x: 100, y: 110, w: 120, h: 200 });
  });

  it('group: selecting one selects the group; moving one moves all', () => {
    undoRedo((e) => expect(e.group(['tank1', 'value1'])).toBe('g1'));
    const e = new DisplayEditor(base());
    e.group(['tank1', 'value1']);
    e.select(['tank1']);
    expect(e.selection.sort()).toEqual(['tank1', 'value1']);
    e.move(['tank1'], 5, 0);
    expect(e.object('value1')!.x).toBe(305);
  });

  it('ungroup', () => {
    const { after } = undoRedo(
      (e) => e.ungroup(['tank1']),
      (e) => e.group(['tank1', 'value1']),
    );
    expect(after.objects.every((o) => o.group === undefined)).toBe(true);
  });

  it('copy and paste: fresh ids and group, offset, selected', () => {
    const { after } = undoRedo(
      (e) => expect(e.paste()).toEqual(['tank2', 'value2']),
      (e) => {
        e.group(['tank1', 'value1']);
        e.copy(['tank1', 'value1']);
      },
    );
    expect(after.objects.slice(-2)).toMatchObject([
      { id: 'tank2', x: 120, y: 120, group: 'g2', tag: 'T101.Level' },
      { id: 'value2', x: 320, y: 130, group: 'g2' },
    ]);
  });

  it('copy alone is no undo step; paste of nothing does nothing', () => {
    const e = new DisplayEditor(base());
    expect(e.paste()).toEqual([]);
    e.copy(['tank1']);
    expect(e.canUndo).toBe(false);
  });

  it('delete (with its group)', () => {
    const { after } = undoRedo(
      (e) => e.delete(['tank1']),
      (e) => {
        e.group(['tank1', 'value1']);
        e.select(['tank1']);
      },
    );
    expect(after.objects.map((o) => o.id)).toEqual(['sp1', 'pipe1']);
  });

  it('setProp: bind a tag, clear a field, rename', () => {
    expect(undoRedo((e) => e.setProp('value1', 'tag', 'TIC101.PV')).after.objects[1].tag).toBe('TIC101.PV');
    expect(undoRedo((e) => e.setProp('value1', 'tag', '')).after.objects[1]).not.toHaveProperty('tag');
    const r = undoRedo(
      (e) => e.setProp('value1', 'id', 'level'),
      (e) => e.select(['value1']),
    );
    expect(r.after.objects[1].id).toBe('level');
  });

  it('setProp refuses an id in use', () => {
    const e = new DisplayEditor(base());
    e.setProp('value1', 'id', 'tank1');
    expect(e.canUndo).toBe(false);
  });

  it('setDisplayProp', () => {
    expect(undoRedo((e) => e.setDisplayProp('level', 'equipment')).after.level).toBe('equipment');
    expect(undoRedo((e) => e.setDisplayProp('background', { color: '#e0e0e0' })).after.background).toEqual({ color: '#e0e0e0' });
  });

  it('undo and redo walk the whole history', () => {
    const e = new DisplayEditor(base());
    const states = [structuredClone(e.display)];
    e.place('text', 10, 10);
    states.push(structuredClone(e.display));
    e.move(['text1'], 10, 10);
    states.push(structuredClone(e.display));
    e.resize('text1', 200, 50);
    states.push(structuredClone(e.display));
    for (let i = states.length - 2; i >= 0; i--) {
      e.undo();
      expect(e.display).toEqual(states[i]);
    }
    expect(e.undo()).toBe(false);
    for (let i = 1; i < states.length; i++) {
      e.redo();
      expect(e.display).toEqual(states[i]);
    }
    expect(e.redo()).toBe(false);
  });

  it('unchanged objects keep their identity (the renderer redraws only what changed)', () => {
    const e = new DisplayEditor(base());
    const [tank, value] = e.display.objects;
    e.move(['tank1'], 10, 0);
    expect(e.display.objects[0]).not.toBe(tank);
    expect(e.display.objects[1]).toBe(value);
  });
});
