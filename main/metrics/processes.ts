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
  /**
   * The leak signal: growth over the watcher's window, bytes per second; null or absent before the walks span a
   * second (and where the OS gives no figure).
   */
  readonly committedGrowth?: number | null;
  readonly residentGrowth?: number | null;
  readonly privateGrowth?: number | null;
}

/** The leak signal's gauges, one series per process and region type (the registry makes one gauge per entry). */
export const PROCESS_GROWTH_GAUGES: ReadonlyArray<{
  readonly name: string;
  readonly help: string;
  readonly read: (t: ProcessTypeBytes) => number | null;
}> = [
  {
    name: 'hostmem_process_committed_growth_bytes_per_second',
    help: 'How fast committed bytes of a watched process grow, by region type (slope over its recent walks).',
    read: (t) => t.committedGrowth ?? null,
  },
  {
    name: 'hostmem_process_resident_growth_bytes_per_second',
    help: 'How fast resident bytes of a watched process grow, by region type (slope over its recent walks).',
    read: (t) => t.residentGrowth ?? null,
  },
  {
    name: 'hostmem_process_private_growth_bytes_per_second',
    help: 'How fast private bytes of a watched process grow, by region type (slope over its recent walks).',
    read: (t) => t.privateGrowth ?? null,
  },
];

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
