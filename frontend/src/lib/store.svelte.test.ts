import { describe, expect, it, vi } from 'vitest';
import { hmi } from './store.svelte';

describe('hmi store', () => {
  it('applies a snapshot at once and batches updates to the next frame', async () => {
    vi.useFakeTimers();
    try {
      hmi.handleMessage({
        type: 'snapshot',
        tags: [
          { name: 'T101.Level', value: 50, quality: 'good', ts: 1 },
          { name: 'A.B', value: true, quality: 'good', ts: 1 },
        ],
      });
      expect(hmi.names).toEqual(['A.B', 'T101.Level']);
      const level = hmi.tag('T101.Level')!;
      expect(level.value).toBe(50);

      hmi.handleMessage({ type: 'update', tags: [{ name: 'T101.Level', value: 51, quality: 'good', ts: 2 }] });
      hmi.handleMessage({ type: 'update', tags: [{ name: 'T101.Level', value: 52, quality: 'uncertain', reason: 'r', ts: 3 }] });
      expect(level.value).toBe(50); // not yet: waits for the frame
      await vi.advanceTimersByTimeAsync(20);
      expect(hmi.tag('T101.Level')).toBe(level); // same object, updated in place
      expect(level).toMatchObject({ value: 52, quality: 'uncertain', reason: 'r', ts: 3 });

      // A snapshot first applies what is still queued, then itself.
      hmi.handleMessage({ type: 'update', tags: [{ name: 'New.Tag', value: 1, quality: 'good', ts: 4 }] });
      hmi.handleMessage({ type: 'snapshot', tags: [{ name: 'T101.Level', value: 60, quality: 'good', ts: 5 }] });
      expect(hmi.names).toContain('New.Tag');
      expect(level.value).toBe(60);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps alarms sorted and merges tag definitions', () => {
    hmi.handleMessage({
      type: 'alarms',
      alarms: [
        { name: 'lo', tag: 'x', type: 'lo', priority: 'low', state: 'acked', active: true, message: '', area: '', value: 1, since: 1 },
        { name: 'hi', tag: 'x', type: 'hi', priority: 'critical', state: 'unacked', active: true, message: '', area: '', value: 1, since: 1 },
      ],
    });
    expect(hmi.alarms.map((a) => a.name)).toEqual(['hi', 'lo']);

    hmi.applyTagInfo([
      { name: 'TIC101.SP', value: 60, quality: 'good', ts: 10, unit: '°C', writable: true, low: 20, high: 110, description: 'SP', device: 'heater' },
    ]);
    expect(hmi.tag('TIC101.SP')).toMatchObject({ value: 60, unit: '°C', writable: true, low: 20, high: 110 });
  });

  it('takes write_role from the tag list and disables writes below it', () => {
    hmi.applyTagInfo([
      { name: 'TIC101.SP', value: 60, quality: 'good', ts: 10, unit: '°C', writable: true, description: '', device: 'heater' },
      { name: 'TIC101.Kp', value: 2, quality: 'good', ts: 10, unit: '', writable: true, write_role: 'engineer', description: '', device: 'heater' },
    ]);
    expect(hmi.tag('TIC101.Kp')?.writeRole).toBe('engineer');
    expect(hmi.tag('TIC101.SP')?.writeRole).toBeUndefined();
    hmi.session = { user: 'operator', role: 'operator' };
    expect(hmi.canWrite).toBe(true);
    expect(hmi.writeBlock('TIC101.SP')).toBeNull();
    expect(hmi.writeBlock('TIC101.Kp')).toBe('Needs role engineer or above (you are operator)');
    hmi.session = { user: 'e', role: 'engineer' };
    expect(hmi.writeBlock('TIC101.Kp')).toBeNull();
    hmi.session = { user: 'viewer', role: 'viewer' };
    expect(hmi.canWrite).toBe(false);
    expect(hmi.writeBlock('TIC101.SP')).toMatch(/Needs role operator/);
    // The role is dropped again when the server no longer sends it.
    hmi.applyTagInfo([{ name: 'TIC101.Kp', value: 2, quality: 'good', ts: 11, unit: '', writable: true, description: '', device: 'heater' }]);
    expect(hmi.tag('TIC101.Kp')?.writeRole).toBeUndefined();
    hmi.session = null;
  });
});
