/**
 * What the publisher pushes to a UI, transport-neutral: plain, JSON-serialisable types (no Map, BigInt, Date,
 * undefined-valued fields or functions), and `applyMessage`, the client-side function that folds a full message and
 * the deltas after it into a view of the host. The renderer reuses `applyMessage`; this module therefore imports
 * types only (nothing that would pull Node or koffi into a browser bundle).
 *
 * Protocol, per subscriber:
 * - the first push is `full` (`seq` 1 after subscribe or resync): host info, live region rows (at most
 *   `maxRowsPerPush`; when there are more, `complete` is false and the remaining rows follow as `added` rows of
 *   later deltas), recent failures, sample history;
 * - then `delta` pushes, `seq` incrementing by one: new samples, region rows added / updated / removed (keyed by
 *   base), new failures, and state / notification / policy changes. A delta is applied on top of everything before
 *   it; a gap in `seq` means the client missed something and must ask for a resync.
 */
import type {
  Backend,
  FailureCounts,
  FailureEvent,
  HostPolicy,
  HostState,
  LevelName,
  MemoryAvailableName,
} from '../host/types';

export type { MemoryAvailableName } from '../host/types';

/** The gauges of a sample (what may be min / max'd over a bucket). Null: not known on this OS. */
export interface SampleGauges {
  /** Bytes of address space held by host reservations (committed pages included). */
  readonly reserved: number;
  /** Committed bytes of host reservations. */
  readonly committed: number;
  /** Address space reported through AcquiredVirtualAddressSpace. */
  readonly external: number;
  /** Live bytes of host heaps. */
  readonly heap: number;
  /** Live host reservations. */
  readonly regions: number;
  /** The OS's memory load, percent of physical memory in use (GlobalMemoryStatusEx / /proc/meminfo). */
  readonly memoryLoad: number | null;
  /**
   * The host's own load against its commit limit, percent, as GetMemoryLoad computes it ((committed + heap) /
   * limit); null when no commit limit is set (GetMemoryLoad then answers with the OS load).
   */
  readonly hostLoad: number | null;
  /** The policy's commit limit at the time, bytes; null when none. */
  readonly commitLimit: number | null;
  /** The process's working set / resident set, bytes. */
  readonly workingSet: number | null;
  /** The process's private bytes. */
  readonly privateBytes: number | null;
}

/** One sample of the sampler. */
export interface Sample extends SampleGauges {
  /** ms since the epoch. */
  readonly t: number;
  /** Failures recorded during the interval that ends at `t` (since the previous sample), by level. */
  readonly failures: FailureCounts;
  readonly state: HostState;
  readonly memoryAvailable: MemoryAvailableName;
}

/**
 * A point of sample history: a single sample, or (with `span`) a downsampled bucket of several. For a bucket the
 * gauges and `state` / `memoryAvailable` are those of its last sample, `failures` the sum over the bucket, and
 * `span` gives the first time, the number of samples and each gauge's minimum and maximum.
 */
export interface HistoryPoint extends Sample {
  readonly span?: {
    readonly from: number;
    readonly n: number;
    readonly min: SampleGauges;
    readonly max: SampleGauges;
  };
}

/** One live host reservation, as the allocation table shows it. */
export interface RegionRow {
  readonly base: number;
  /** Reserved bytes. */
  readonly size: number;
  readonly committed: number;
  readonly level: LevelName;
  readonly tag: string | null;
  /** PAGE_* of the committed pages when they all share one, 'mixed' when they differ, 0 when none is committed. */
  readonly protect: number | 'mixed';
  /** The protection given at reservation (AllocationProtect). */
  readonly allocationProtect: number;
  /** ms since the epoch. */
  readonly created: number;
  /** Committed page runs (the page map's size; its detail is asked for separately). */
  readonly runs: number;
}

/** A failure event as pushed: the host's FailureEvent with `tag` null rather than undefined (JSON has no undefined). */
export interface FailureRow extends Omit<FailureEvent, 'tag'> {
  readonly tag: string | null;
}

/** The host's books now. `failures` are cumulative counts by level since the host started. */
export interface StatsRow {
  readonly reserved: number;
  readonly committed: number;
  readonly external: number;
  readonly heap: number;
  readonly regions: number;
  readonly failures: FailureCounts;
}

export interface StateInfo {
  readonly state: HostState;
  /** Why it last changed (null when unknown, e.g. at start). */
  readonly cause: string | null;
  /** When it last changed, ms since the epoch (null when unknown). */
  readonly since: number | null;
}

export interface HostInfo {
  readonly backend: Backend;
  readonly pageSize: number;
  readonly allocationGranularity: number;
  readonly policy: HostPolicy;
  readonly state: StateInfo;
  readonly memoryAvailable: MemoryAvailableName;
}

export interface FullMessage {
  readonly type: 'full';
  /** 1 after subscribe or resync; each later push of the same subscriber adds one. */
  readonly seq: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly host: HostInfo;
  readonly stats: StatsRow;
  /** Live regions in address order: all of them when `complete`, else the first ones. */
  readonly rows: RegionRow[];
  /** True when `rows` holds every live region; false when the rest follow as `added` rows of later deltas. */
  readonly complete: boolean;
  /** The last failure events, oldest first. */
  readonly failures: FailureRow[];
  /** Sample history, oldest first (possibly downsampled: see HistoryPoint). */
  readonly samples: HistoryPoint[];
}

export interface DeltaMessage {
  readonly type: 'delta';
  readonly seq: number;
  readonly time: number;
  readonly stats: StatsRow;
  /** Samples taken since the previous push, oldest first. */
  readonly samples: Sample[];
  /** Rows the client does not have yet. */
  readonly added: RegionRow[];
  /** Rows the client has, with their latest values (replace by base). */
  readonly updated: RegionRow[];
  /** Bases of rows to drop. */
  readonly removed: number[];
  /** Failure events since the previous push, oldest first. */
  readonly failures: FailureRow[];
  /** Failure events that happened since the previous push but were too many to send (counts stay exact). */
  readonly failuresDropped: number;
  /** Present when the state changed. */
  readonly state?: StateInfo;
  /** Present when the notification state changed. */
  readonly memoryAvailable?: MemoryAvailableName;
  /** Present when the policy changed. */
  readonly policy?: HostPolicy;
  /** True when, once this is applied, the client holds every live region (no rows left to send). */
  readonly complete: boolean;
}

export type PushMessage = FullMessage | DeltaMessage;

// ---------------------------------------------------------------------------------------------- the client side

/** What a client knows of the host, built by `applyMessage`. Not a message: holds a Map, and is mutated in place. */
export interface ClientView {
  seq: number;
  time: number;
  host: HostInfo;
  stats: StatsRow;
  /** Live regions by base. */
  readonly rows: Map<number, RegionRow>;
  /** Recent failures, oldest first, at most `maxFailures`. */
  failures: FailureRow[];
  /** Sample history, oldest first, at most about `maxSamples`. */
  samples: HistoryPoint[];
  /** True when `rows` is the host's whole region list. */
  complete: boolean;
}

export interface ApplyLimits {
  /** Failures kept in the view. Default 1,000. */
  readonly maxFailures?: number;
  /** Samples kept in the view (the oldest leave first). Default 20,000. */
  readonly maxSamples?: number;
}

/** A delta that does not follow the view the client has: ask the publisher for a resync. */
export class OutOfSyncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfSyncError';
  }
}

function trimFront<T>(list: T[], max: number): T[] {
  // Trim in steps, not on every push, so appending stays amortised O(1).
  return list.length > max + (max >> 2) ? list.slice(list.length - max) : list;
}

/**
 * Fold one pushed message into the view and return it: a full message starts a new view (the old one is left as
 * it was); a delta mutates `view` in place. Throws OutOfSyncError for a delta without a view or out of sequence.
 */
export function applyMessage(view: ClientView | undefined, message: PushMessage, limits: ApplyLimits = {}): ClientView {
  const maxFailures = limits.maxFailures ?? 1000;
  const maxSamples = limits.maxSamples ?? 20_000;
  if (message.type === 'full') {
    const rows = new Map<number, RegionRow>();
    for (const row of message.rows) rows.set(row.base, row);
    return {
      seq: message.seq,
      time: message.time,
      host: message.host,
      stats: message.stats,
      rows,
      failures: message.failures.slice(-maxFailures),
      samples: message.samples.slice(-maxSamples),
      complete: message.complete,
    };
  }
  if (view === undefined) throw new OutOfSyncError(`delta ${message.seq} arrived before any full message`);
  if (message.seq !== view.seq + 1) {
    throw new OutOfSyncError(`delta ${message.seq} does not follow ${view.seq}`);
  }
  view.seq = message.seq;
  view.time = message.time;
  view.stats = message.stats;
  for (const base of message.removed) view.rows.delete(base);
  for (const row of message.added) view.rows.set(row.base, row);
  for (const row of message.updated) view.rows.set(row.base, row);
  if (message.failures.length > 0) {
    view.failures.push(...message.failures);
    if (view.failures.length > maxFailures) view.failures = view.failures.slice(-maxFailures);
  }
  if (message.samples.length > 0) {
    view.samples.push(...message.samples);
    view.samples = trimFront(view.samples, maxSamples);
  }
  if (message.state !== undefined || message.memoryAvailable !== undefined || message.policy !== undefined) {
    view.host = {
      ...view.host,
      ...(message.state !== undefined && { state: message.state }),
      ...(message.memoryAvailable !== undefined && { memoryAvailable: message.memoryAvailable }),
      ...(message.policy !== undefined && { policy: message.policy }),
    };
  }
  view.complete = message.complete;
  return view;
}

/** The view's rows in address order (as the host lists them). */
export function sortedRows(view: ClientView): RegionRow[] {
  return [...view.rows.values()].sort((a, b) => a.base - b.base);
}
