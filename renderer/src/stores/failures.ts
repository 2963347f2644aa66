/**
 * Failures grouped by critical level (Task, AppDomain, Process, other): cumulative counts from the host's books,
 * and from the events held (the last 1,000): bytes refused, reasons, and the events themselves, newest first.
 */
import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import { FAILURE_GROUPS, type FailureReason, type FailureRow, type FailureGroup } from '../api/contract';

export interface FailureGroupView {
  readonly group: FailureGroup;
  /** Cumulative since the host started (exact). */
  readonly count: number;
  /** Over the events held. */
  readonly held: number;
  readonly bytes: number;
  readonly reasons: readonly { readonly reason: FailureReason; readonly count: number }[];
  /** Newest first. */
  readonly events: readonly FailureRow[];
}

export type FailureCountsLike = Readonly<Record<FailureGroup, number>>;

/** FailureGroup events by level (pure: exported for tests). */
export function groupFailures(
  events: readonly FailureRow[],
  counts: FailureCountsLike,
): Record<FailureGroup, FailureGroupView> {
  const acc = {} as Record<FailureGroup, { bytes: number; reasons: Map<FailureReason, number>; events: FailureRow[] }>;
  for (const g of FAILURE_GROUPS) acc[g] = { bytes: 0, reasons: new Map(), events: [] };
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    const a = acc[FAILURE_GROUPS.includes(e.level) ? e.level : 'other'];
    a.bytes += e.size;
    a.reasons.set(e.reason, (a.reasons.get(e.reason) ?? 0) + 1);
    a.events.push(e);
  }
  const out = {} as Record<FailureGroup, FailureGroupView>;
  for (const g of FAILURE_GROUPS) {
    const a = acc[g];
    out[g] = {
      group: g,
      count: Math.max(counts[g], a.events.length),
      held: a.events.length,
      bytes: a.bytes,
      reasons: [...a.reasons.entries()].map(([reason, count]) => ({ reason, count })).sort((x, y) => y.count - x.count),
      events: a.events,
    };
  }
  return out;
}

const EMPTY_COUNTS: FailureCountsLike = { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 };

export const useFailuresStore = defineStore('failures', () => {
  const groups = shallowRef<Record<FailureGroup, FailureGroupView>>(groupFailures([], EMPTY_COUNTS));
  const dropped = shallowRef(0);
  let lastCounts: FailureCountsLike = EMPTY_COUNTS;

  function replace(events: readonly FailureRow[], counts: FailureCountsLike): void {
    lastCounts = counts;
    dropped.value = 0;
    groups.value = groupFailures(events, counts);
  }

  function update(
    events: readonly FailureRow[],
    counts: FailureCountsLike,
    newEvents: boolean,
    droppedNow: number,
  ): void {
    const countsChanged = FAILURE_GROUPS.some((g) => counts[g] !== lastCounts[g]);
    lastCounts = counts;
    if (droppedNow > 0) dropped.value += droppedNow;
    if (newEvents || countsChanged) groups.value = groupFailures(events, counts);
  }

  return { groups, dropped, replace, update };
});
