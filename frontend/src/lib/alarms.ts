// Ordering and counting of alarms for the banner and the equipment markers.

import type { Alarm, Priority } from './types';

export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'medium', 'low'];

const RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** ISA-101 style priority numbers shown inside alarm markers. */
export const PRIORITY_NUMBER: Record<Priority, number> = { critical: 1, high: 2, medium: 3, low: 4 };

/**
 * Most important first: active before returned-to-normal, then priority, then
 * unacknowledged before acknowledged, then newest first.
 */
export function compareAlarms(a: Alarm, b: Alarm): number {
  if (a.active !== b.active) return a.active ? -1 : 1;
  if (a.priority !== b.priority) return RANK[a.priority] - RANK[b.priority];
  const ua = a.state !== 'acked';
  const ub = b.state !== 'acked';
  if (ua !== ub) return ua ? -1 : 1;
  if (a.since !== b.since) return b.since - a.since;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function sortAlarms(alarms: readonly Alarm[]): Alarm[] {
  return [...alarms].sort(compareAlarms);
}

export type PriorityCounts = Record<Priority, { total: number; unacked: number }>;

export function countByPriority(alarms: readonly Alarm[]): PriorityCounts {
  const c: PriorityCounts = {
    critical: { total: 0, unacked: 0 },
    high: { total: 0, unacked: 0 },
    medium: { total: 0, unacked: 0 },
    low: { total: 0, unacked: 0 },
  };
  for (const a of alarms) {
    c[a.priority].total++;
    if (a.state !== 'acked') c[a.priority].unacked++;
  }
  return c;
}

/**
 * The most important active alarm that belongs to a piece of equipment: its
 * area is the equipment id or its tag is one of the equipment's tags.
 */
export function equipmentAlarm(alarms: readonly Alarm[], equipment: string): Alarm | undefined {
  let best: Alarm | undefined;
  for (const a of alarms) {
    if (!a.active) continue;
    if (a.area !== equipment && !a.tag.startsWith(equipment + '.')) continue;
    if (!best || compareAlarms(a, best) < 0) best = a;
  }
  return best;
}
