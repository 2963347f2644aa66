/**
 * The diff of two walks of one process: regions added, removed, grown, shrunk and otherwise changed, and the change
 * of each type's totals. This is how a leak shows: a region that keeps growing, or regions that keep being added.
 *
 * Regions are matched by base address (with the same type, file and use: anything else at that address replaced the
 * region, and is listed as removed + added); a region whose base moved but whose end stayed (a reservation whose front
 * was committed, so the reserved rest now starts later) is matched by its end, with the same state and type. Free
 * regions are never listed (they are whatever the others leave); their totals are.
 */
import type { ProcessRegion, ProcessWalk } from '../../native';
import { REGION_TYPES, summarize, type RegionTypeName, type TypeSummary, type TypeTotals } from './summary';

/** What differs between the two sides of a matched region. */
export type RegionField = 'size' | 'state' | 'type' | 'protect' | 'file' | 'resident' | 'private';

export interface RegionChange {
  readonly before: ProcessRegion;
  readonly after: ProcessRegion;
  /** The fields that differ, in the order of `RegionField`. */
  readonly fields: readonly RegionField[];
  readonly sizeDelta: number;
  readonly committedDelta: number;
  /** Null when either side has no resident figure. */
  readonly residentDelta: number | null;
  readonly privateDelta: number | null;
}

export interface TotalsDelta {
  readonly before: TypeTotals;
  readonly after: TypeTotals;
  readonly size: number;
  readonly committed: number;
  readonly resident: number | null;
  readonly private: number | null;
  readonly regions: number;
}

export interface WalkDiff {
  readonly pid: number;
  /** `takenAt` of the two walks. */
  readonly from: number;
  readonly to: number;
  /** Regions only in the second walk, ascending (free regions never listed). */
  readonly added: readonly ProcessRegion[];
  /** Regions only in the first walk, ascending. */
  readonly removed: readonly ProcessRegion[];
  /** Matched regions that became larger, ascending by their new base. */
  readonly grown: readonly RegionChange[];
  /** Matched regions that became smaller. */
  readonly shrunk: readonly RegionChange[];
  /** Matched regions of the same size with another difference (state, protection, file, resident, private). */
  readonly changed: readonly RegionChange[];
  readonly byType: Readonly<Record<RegionTypeName, TotalsDelta>>;
  /** Every type but free. */
  readonly total: TotalsDelta;
}

export interface DiffOptions {
  /** Resident or private changes smaller than this many bytes (in absolute value) are not listed. Default 0. */
  readonly residentThreshold?: number;
  /** The two walks' summaries when the caller has them already (saves summarizing both again). */
  readonly summaries?: { readonly before: TypeSummary; readonly after: TypeSummary };
}

const nullableDelta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);

function totalsDelta(before: TypeTotals, after: TypeTotals): TotalsDelta {
  return {
    before,
    after,
    size: after.size - before.size,
    committed: after.committed - before.committed,
    resident: nullableDelta(before.resident, after.resident),
    private: nullableDelta(before.private, after.private),
    regions: after.regions - before.regions,
  };
}

function compare(a: ProcessRegion, b: ProcessRegion, threshold: number): RegionChange | undefined {
  const fields: RegionField[] = [];
  if (a.size !== b.size) fields.push('size');
  if (a.state !== b.state) fields.push('state');
  if (a.type !== b.type) fields.push('type');
  if (a.protect !== b.protect) fields.push('protect');
  if (a.file !== b.file) fields.push('file');
  const residentDelta = nullableDelta(a.resident, b.resident);
  const privateDelta = nullableDelta(a.private, b.private);
  if (a.resident !== b.resident && (residentDelta === null || Math.abs(residentDelta) > threshold))
    fields.push('resident');
  if (a.private !== b.private && (privateDelta === null || Math.abs(privateDelta) > threshold)) fields.push('private');
  if (fields.length === 0) return undefined;
  return {
    before: a,
    after: b,
    fields,
    sizeDelta: b.size - a.size,
    committedDelta: b.committed - a.committed,
    residentDelta,
    privateDelta,
  };
}

/** Differences from walk `a` to walk `b` (of the same process, `a` first). */
export function diffWalks(a: ProcessWalk, b: ProcessWalk, options: DiffOptions = {}): WalkDiff {
  const threshold = options.residentThreshold ?? 0;
  if (a.regions === b.regions) return unchanged(a, b, options.summaries?.before ?? summarize(a));
  const before = a.regions.filter((r) => r.state !== 'MEM_FREE');
  const after = b.regions.filter((r) => r.state !== 'MEM_FREE');
  // One merge walk by base over the two ascending lists.
  const pairs: Array<[ProcessRegion, ProcessRegion]> = [];
  let onlyBefore: ProcessRegion[] = [];
  let onlyAfter: ProcessRegion[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const x = before[i];
    const y = after[j];
    if (x !== undefined && (y === undefined || x.baseAddress < y.baseAddress)) {
      onlyBefore.push(x);
      i++;
    } else if (y !== undefined && (x === undefined || y.baseAddress < x.baseAddress)) {
      onlyAfter.push(y);
      j++;
    } else if (x !== undefined && y !== undefined) {
      // Something else at the same address (another file, another type) is a replacement, not a change.
      if (x.type === y.type && x.file === y.file && x.use === y.use) pairs.push([x, y]);
      else {
        onlyBefore.push(x);
        onlyAfter.push(y);
      }
      i++;
      j++;
    }
  }
  // A run whose front moved keeps its end: match those by end, state and type.
  if (onlyBefore.length > 0 && onlyAfter.length > 0) {
    const byEnd = new Map<number, ProcessRegion>();
    for (const r of onlyAfter) byEnd.set(r.baseAddress + r.size, r);
    const matched = new Set<ProcessRegion>();
    const stillBefore: ProcessRegion[] = [];
    for (const r of onlyBefore) {
      const m = byEnd.get(r.baseAddress + r.size);
      if (m !== undefined && !matched.has(m) && m.state === r.state && m.type === r.type && m.file === r.file) {
        matched.add(m);
        pairs.push([r, m]);
      } else stillBefore.push(r);
    }
    onlyBefore = stillBefore;
    onlyAfter = onlyAfter.filter((r) => !matched.has(r));
    pairs.sort((p, q) => p[1].baseAddress - q[1].baseAddress);
  }
  const grown: RegionChange[] = [];
  const shrunk: RegionChange[] = [];
  const changed: RegionChange[] = [];
  for (const [x, y] of pairs) {
    const c = compare(x, y, threshold);
    if (c === undefined) continue;
    if (c.sizeDelta > 0) grown.push(c);
    else if (c.sizeDelta < 0) shrunk.push(c);
    else changed.push(c);
  }
  const sa = options.summaries?.before ?? summarize(a);
  const sb = options.summaries?.after ?? summarize(b);
  const byType = Object.fromEntries(REGION_TYPES.map((t) => [t, totalsDelta(sa.byType[t], sb.byType[t])])) as Record<
    RegionTypeName,
    TotalsDelta
  >;
  return {
    pid: b.pid,
    from: a.takenAt,
    to: b.takenAt,
    added: onlyAfter,
    removed: onlyBefore,
    grown,
    shrunk,
    changed,
    byType,
    total: totalsDelta(sa.total, sb.total),
  };
}

/** The diff of two walks that share their regions (a watcher's reused walk): nothing moved; one summary. */
function unchanged(a: ProcessWalk, b: ProcessWalk, s: TypeSummary): WalkDiff {
  const byType = Object.fromEntries(REGION_TYPES.map((t) => [t, totalsDelta(s.byType[t], s.byType[t])])) as Record<
    RegionTypeName,
    TotalsDelta
  >;
  return {
    pid: b.pid,
    from: a.takenAt,
    to: b.takenAt,
    added: [],
    removed: [],
    grown: [],
    shrunk: [],
    changed: [],
    byType,
    total: totalsDelta(s.total, s.total),
  };
}

/** True when the diff lists nothing and no total moved. */
export function isEmptyDiff(d: WalkDiff): boolean {
  return (
    d.added.length === 0 &&
    d.removed.length === 0 &&
    d.grown.length === 0 &&
    d.shrunk.length === 0 &&
    d.changed.length === 0 &&
    REGION_TYPES.every((t) => {
      const x = d.byType[t];
      return x.size === 0 && x.committed === 0 && (x.resident ?? 0) === 0 && (x.private ?? 0) === 0 && x.regions === 0;
    })
  );
}
