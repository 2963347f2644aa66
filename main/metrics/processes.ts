/**
 * What the metrics need of watched processes: at scrape time, each watched process's latest walk summed by region
 * type, each name group's sums, and each watch's health. The process inspector's watchers (main/inspect) are adapted
 * to this in one place (./watched-processes), so the registry never depends on how walks are made.
 */
import type { ProcessErrorCode } from '../../native';

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
  /** When the process started, seconds since the epoch; null when the OS does not say. */
  readonly startTime: number | null;
}

/** Every process of one name (a name group, like process-exporter's namegroup): its members' latest walks summed. */
export interface NameGroupMetrics {
  /** The name as given to `--watch`. */
  readonly group: string;
  /** Processes of that name walked now. */
  readonly processes: number;
  /** Processes that joined the group since the watch began (starts, restarts, new workers). */
  readonly started: number;
  readonly regions: number;
  readonly byType: readonly ProcessTypeBytes[];
}

/** Every reason a walk can fail (native's ProcessErrorCode); compile-checked below. */
export const WALK_ERROR_REASONS = [
  'no-such-process',
  'access-denied',
  'exited',
  'invalid-argument',
  'unsupported',
  'unknown',
] as const satisfies readonly ProcessErrorCode[];
const everyCodeListed: [Exclude<ProcessErrorCode, (typeof WALK_ERROR_REASONS)[number]>] extends [never] ? true : never =
  true;
void everyCodeListed;

/**
 * The reasons a walk of a running, valid target fails (exported at 0 for every watch from the start): the others are
 * an exit (`no-such-process`, `exited`: the watcher ends, no error) or a bad pid, and appear only if they ever count.
 */
export const WALK_FAILURES: readonly (typeof WALK_ERROR_REASONS)[number][] = [
  'access-denied',
  'unsupported',
  'unknown',
];

/** How a watch (`--watch PID` or `--watch NAME`) is doing: exported even when it walks nothing. */
export interface WatchHealth {
  /** The watch as given: a pid or a name. */
  readonly watch: string;
  /** Processes it walks now (0: not running yet, ended, or unreadable: see `errors`). */
  readonly processes: number;
  /** Walks done (every process of the watch), since it began. */
  readonly walks: number;
  /** The latest walk's duration, seconds; null before the first. */
  readonly lastWalkSeconds: number | null;
  /** Failed walks (and process listings), by reason, in WALK_ERROR_REASONS order. */
  readonly errors: readonly number[];
}

/** The processes watched now. A process that ended is no longer listed, so its series stop being exported. */
export interface WatchedProcessSource {
  list(): readonly WatchedProcessMetrics[];
  /** The name groups watched now. Default: none. */
  groups?(): readonly NameGroupMetrics[];
  /** Every watch begun, with its health, until it is removed. Default: none. */
  watches?(): readonly WatchHealth[];
}
