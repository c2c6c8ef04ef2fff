import { afterEach, describe, expect, it } from 'vitest';
import { faceplates } from './faceplate.svelte';

describe('faceplates', () => {
  afterEach(() => faceplates.close());

  it('opens one faceplate at a time: the generic one of tags or an equipment one', () => {
    faceplates.showTags('P201', ['P201.Running', 'P201.Fault']);
    expect(faceplates.tagsOpen).toEqual({ title: 'P201', tags: ['P201.Running', 'P201.Fault'] });
    expect(faceplates.open).toBeNull();
    faceplates.show('P101');
    expect(faceplates.open).toBe('P101');
    expect(faceplates.tagsOpen).toBeNull();
    faceplates.showTags('X', ['X.Y']);
    expect(faceplates.open).toBeNull();
    faceplates.close();
    expect(faceplates.tagsOpen).toBeNull();
  });

  it('records the mini trend of the tags a generic faceplate shows', () => {
    expect(faceplates.rings.has('GEN.Level')).toBe(false);
    faceplates.track(['GEN.Level', 'TIC101.PV']);
    expect(faceplates.rings.has('GEN.Level')).toBe(true);
    expect(faceplates.series('GEN.Level', 0)).toEqual([]);
  });
});
