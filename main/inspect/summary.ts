/**
 * The summary of a walk by type, like the top pane of Sysinternals VMMap: one row per type with its size,
 * committed, resident and private bytes and its region count.
 */
import type { ProcessRegion, ProcessWalk } from '../../native';
import { REGION_TYPES, type RegionTypeName, type TypeSummary } from './types';

export * from './types';

/**
 * The type a region is counted under. Free is free; the OS's own word for heap, stack and file-less shared memory
 * comes next; then image and mapped by the region's MEM_ type; everything else private (reserved private memory
 * included, with 0 committed).
 */
export function regionType(region: ProcessRegion): RegionTypeName {
  if (region.state === 'MEM_FREE') return 'free';
  if (region.use !== null) return region.use;
  if (region.type === 'MEM_IMAGE') return 'image';
  if (region.type === 'MEM_MAPPED') return region.file === null ? 'shareable' : 'mapped';
  return 'private';
}

interface MutableTotals {
  size: number;
  committed: number;
  resident: number | null;
  private: number | null;
  regions: number;
}

const emptyTotals = (): MutableTotals => ({ size: 0, committed: 0, resident: null, private: null, regions: 0 });

function add(into: MutableTotals, r: ProcessRegion): void {
  into.size += r.size;
  into.committed += r.committed;
  if (r.resident !== null) into.resident = (into.resident ?? 0) + r.resident;
  if (r.private !== null) into.private = (into.private ?? 0) + r.private;
  into.regions++;
}

/** Totals by type of a walk's regions (or any list of regions). */
export function summarize(walk: ProcessWalk | readonly ProcessRegion[]): TypeSummary {
  const regions = 'regions' in walk ? walk.regions : walk;
  const byType = Object.fromEntries(REGION_TYPES.map((t) => [t, emptyTotals()])) as Record<
    RegionTypeName,
    MutableTotals
  >;
  const total = emptyTotals();
  for (const r of regions) {
    const t = regionType(r);
    add(byType[t], r);
    if (t !== 'free') add(total, r);
  }
  return { byType, total };
}
