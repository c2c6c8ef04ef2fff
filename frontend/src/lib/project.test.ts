import { describe, expect, it } from 'vitest';
import { fileProblem, reloadSummary, removedTags, splitProblem, type ReloadResult } from './project';
import { errorDetails } from './transport';
import { parseServerMessage } from './messages';
import type { TagInfo } from './types';

describe('removedTags', () => {
  it('lists the known tags the new project no longer has', () => {
    const list = [{ name: 'A' }, { name: 'C' }] as TagInfo[];
    expect(removedTags(['A', 'B', 'C', 'D'], list)).toEqual(['B', 'D']);
    expect(removedTags([], list)).toEqual([]);
  });
});

describe('fileProblem', () => {
  it('refuses no file, empty, too large and not YAML', () => {
    expect(fileProblem(null)).toMatch(/Choose/);
    expect(fileProblem({ name: 'p.yaml', size: 0 })).toMatch(/empty/);
    expect(fileProblem({ name: 'p.yaml', size: 33 << 20 })).toMatch(/32 MiB/);
    expect(fileProblem({ name: 'p.json', size: 10 })).toMatch(/not a YAML/);
    expect(fileProblem({ name: 'P.YML', size: 10 })).toBeNull();
  });
});

describe('reloadSummary', () => {
  it('says what was kept, restarted, added and removed', () => {
    const r: ReloadResult = {
      id: 'x', name: 'Line 1', hash: 'h', file: 'p.yaml', loaded: 0, size: 1,
      kept: ['heater'], started: ['plc1', 'plc9'], stopped: ['plc1', 'old'], tags: 15, reload_ms: 41.6,
    };
    expect(reloadSummary(r)).toBe('Loaded "Line 1": 15 tags; 1 device kept running; restarted plc1; started plc9; stopped old (42 ms).');
    expect(reloadSummary({ ...r, kept: null, started: null, stopped: null })).toBe('Loaded "Line 1": 15 tags; 0 devices kept running (42 ms).');
  });
});

describe('the server\'s problem list', () => {
  it('reads "errors" from a 400 answer and splits FILE:LINE:COL', () => {
    const body = JSON.stringify({ error: 'the project file has an error; nothing was changed', errors: ['p.yaml:46:14: unknown data type "x"', 7] });
    expect(errorDetails(body)).toEqual(['p.yaml:46:14: unknown data type "x"']);
    expect(errorDetails('not json')).toEqual([]);
    expect(splitProblem('p.yaml:46:14: unknown data type "x"')).toEqual({ where: 'p.yaml:46:14', message: 'unknown data type "x"' });
    expect(splitProblem('p.yaml: the file is empty')).toEqual({ where: '', message: 'p.yaml: the file is empty' });
  });
});

describe('the project message', () => {
  it('is parsed, not refused as unknown', () => {
    const r = parseServerMessage('{"type":"project","name":"Demo","hash":"abc","id":"v1"}');
    expect(r).toEqual({ ok: true, msg: { type: 'project', name: 'Demo', hash: 'abc', id: 'v1' }, dropped: 0 });
  });
});
