/**
 * A snapshot of the region map, the diff of two, and a stored snapshot's list entry, as plain JSON-serialisable
 * data. Browser-safe (types only, over `main/host/types`), so that the contract shows these very types to the UI;
 * `snapshot.ts` takes and compares them.
 */
import type { LevelName } from '../host/types';

export interface SnapshotRun {
  /** Page index of the first page, inclusive. */
  readonly start: number;
  /** Page index past the last page. */
  readonly end: number;
  readonly protect: number;
}

export interface SnapshotRegion {
  readonly base: number;
  readonly size: number;
  readonly committed: number;
  readonly level: LevelName;
  readonly tag: string | null;
  readonly allocationProtect: number;
  /** ms since the epoch. */
  readonly created: number;
  /** Committed page runs in page order; gaps are reserved pages. */
  readonly runs: readonly SnapshotRun[];
}

export interface Snapshot {
  /** ms since the epoch. */
  readonly time: number;
  readonly label: string | null;
  readonly pageSize: number;
  readonly reserved: number;
  readonly committed: number;
  readonly external: number;
  readonly heap: number;
  /** Every live region, in address order. */
  readonly regions: readonly SnapshotRegion[];
}

export interface Delta {
  readonly before: number;
  readonly after: number;
  readonly delta: number;
}

/** The bytes and regions of one group (a tag, a level, or everything) before and after. */
export interface GroupDelta {
  readonly regions: Delta;
  readonly reserved: Delta;
  readonly committed: Delta;
}

export interface TagDelta extends GroupDelta {
  /** null: regions reserved without a tag. */
  readonly tag: string | null;
}

export interface LevelDelta extends GroupDelta {
  readonly level: LevelName;
}

export interface ChangedRegion {
  readonly base: number;
  readonly size: number;
  readonly level: LevelName;
  readonly tag: string | null;
  readonly committed: Delta;
  /** True when the page map differs (commits, decommits or protections), even with the same committed bytes. */
  readonly pageMapChanged: boolean;
  readonly runsBefore: readonly SnapshotRun[];
  readonly runsAfter: readonly SnapshotRun[];
}

export interface SnapshotDiff {
  readonly from: { readonly time: number; readonly label: string | null };
  readonly to: { readonly time: number; readonly label: string | null };
  /** Regions live in `to` and not in `from`, in address order. */
  readonly appeared: readonly SnapshotRegion[];
  /** Regions live in `from` and not in `to`, in address order. */
  readonly vanished: readonly SnapshotRegion[];
  /** Regions live in both whose committed bytes or page map changed, in address order. */
  readonly changed: readonly ChangedRegion[];
  /** Regions live in both and identical. */
  readonly unchanged: number;
  /** One entry per tag present in either snapshot; largest committed change first (then reserved, then tag). */
  readonly byTag: readonly TagDelta[];
  /** One entry per critical level, always all three, in level order. */
  readonly byLevel: readonly LevelDelta[];
  readonly totals: GroupDelta;
}

export type SnapshotKind = 'manual' | 'periodic';

/** A stored snapshot without its regions (for lists). */
export interface SnapshotInfo {
  readonly id: number;
  readonly kind: SnapshotKind;
  readonly time: number;
  readonly label: string | null;
  readonly regions: number;
  readonly reserved: number;
  readonly committed: number;
}
