/**
 * What the metrics need of watched processes: at scrape time, each watched process's latest walk summed by region
 * type. The process inspector's watcher (main/inspect) is adapted to this in one place (./inspect-source), so the
 * registry never depends on how walks are made.
 */

/** Bytes of one region type in one process. `null`: the OS does not say (e.g. resident bytes on some systems). */
export interface ProcessTypeBytes {
  /** The region type as the inspector names it (image, mapped, heap, stack, private, …). */
  readonly type: string;
  readonly committed: number;
  readonly reserved: number;
  readonly resident: number | null;
  readonly private: number | null;
}

export interface WatchedProcessMetrics {
  readonly pid: number;
  /** The executable's name (a label value: any string). */
  readonly name: string;
  /** Regions in the latest walk. */
  readonly regions: number;
  readonly byType: readonly ProcessTypeBytes[];
}

/** The processes watched now. A process that ended is no longer listed, so its series stop being exported. */
export interface WatchedProcessSource {
  list(): readonly WatchedProcessMetrics[];
}
