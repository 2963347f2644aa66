/**
 * The contract's process section: watching a real process (another program on this machine) through the same
 * transport as the host. Requests list processes, start and stop a watch, take and diff snapshots of a watched
 * process and export its report; pushes carry, per watched process, a first `full` picture, then only what changed
 * since the previous push (the totals by type, one sample, the regions added / updated / removed), and its exit or
 * the reason it cannot be read.
 *
 * Browser-safe like the rest of the contract: zod and types only. `applyProcessMessage` is the client side (the
 * renderer's store and the tests fold pushes with it).
 */
import { z } from 'zod';
import type {
  ProcessDiff,
  ProcessEnd,
  ProcessRegionRow,
  ProcessSample,
  ProcessTypeTotals,
} from '../telemetry/process-messages';

export * from '../telemetry/process-messages';

/** At most this many processes are watched at once (every UI together): a walk of a big process is not free. */
export const MAX_PROCESS_WATCHES = 4;
export const DEFAULT_WATCH_INTERVAL_MS = 1000;
export const MIN_WATCH_INTERVAL_MS = 250;
export const MAX_WATCH_INTERVAL_MS = 60_000;
/** Snapshots kept per watched process (the oldest go first). */
export const MAX_PROCESS_SNAPSHOTS = 20;
/** …and at most this many regions in all (a snapshot holds its walk: 20 of 100,000 regions would be ~1 GB). */
export const MAX_PROCESS_SNAPSHOT_REGIONS = 1_000_000;
/** Samples a full message carries at most (the watch's history, oldest dropped first). */
export const MAX_PROCESS_HISTORY = 3600;
/** One process of `listProcesses`. Figures are null when the OS would not say (access denied). */
export interface ProcessEntry {
  readonly pid: number;
  readonly name: string;
  /** Committed bytes, the OS's commit charge: Windows PrivateUsage / Linux the mappings the kernel charges (`ac`). */
  readonly committed: number | null;
  /** Resident bytes (working set / RSS). */
  readonly resident: number | null;
  /**
   * False when the OS would not even give this process's counters (then its map cannot be read either: a watch
   * would be refused). True does not promise a walk: on Linux another user's counters are readable, its map is not.
   */
  readonly accessible: boolean;
}

/** What the client learns first about a watched process (and after `watchProcess` again). */
export interface ProcessFullMessage {
  readonly type: 'process';
  readonly kind: 'full';
  readonly pid: number;
  /** 1 for the full message; each later message of this pid to this client adds one. */
  readonly seq: number;
  readonly time: number;
  readonly name: string;
  readonly intervalMs: number;
  readonly totals: readonly ProcessTypeTotals[];
  /** Every region of the last walk, in address order. */
  readonly rows: readonly ProcessRegionRow[];
  /** The watch's samples so far, oldest first (at most MAX_PROCESS_HISTORY). */
  readonly history: readonly ProcessSample[];
  /** Set when the process has already exited (its last picture stays). */
  readonly exited?: ProcessEnd;
}

/** The changes of one walk: only regions whose row differs from the previous walk's. */
export interface ProcessDeltaMessage {
  readonly type: 'process';
  readonly kind: 'delta';
  readonly pid: number;
  readonly seq: number;
  readonly time: number;
  readonly sample: ProcessSample;
  /** Sent only when a type's totals changed. */
  readonly totals?: readonly ProcessTypeTotals[];
  readonly added: readonly ProcessRegionRow[];
  readonly updated: readonly ProcessRegionRow[];
  readonly removed: readonly number[];
}

/** The watch ended: the process exited, or reading it became impossible. The client keeps the last picture. */
export interface ProcessEndMessage extends ProcessEnd {
  readonly type: 'process';
  readonly kind: 'end';
  readonly pid: number;
  readonly seq: number;
}

export type ProcessMessage = ProcessFullMessage | ProcessDeltaMessage | ProcessEndMessage;

/** A snapshot of a watched process (a copy of one walk). */
export interface ProcessSnapshotInfo {
  readonly id: number;
  readonly pid: number;
  readonly time: number;
  readonly label: string | null;
  readonly regions: number;
  readonly committed: number;
  readonly reserved: number;
  readonly resident: number | null;
}

export interface WatchResult {
  readonly pid: number;
  readonly name: string;
  readonly intervalMs: number;
  /** Every process watched now (all UIs), this one included. */
  readonly watching: readonly { readonly pid: number; readonly name: string }[];
}

// ---------------------------------------------------------------------------------------------- request params

const pid = z.number().int().min(1).max(0x7fffffff);
const label = z.string().max(200);

/** The params of the process requests (spread into the contract's `requestSchemas`). */
export const processRequestSchemas = {
  /** Every process this user can see, largest committed first; `query` keeps those whose name or PID contains it. */
  listProcesses: z
    .strictObject({
      query: z.string().max(200).optional(),
      limit: z.number().int().min(1).max(10_000).optional(),
    })
    .optional(),
  /**
   * Watch a process: walk it every `intervalMs` (default 1 s) and push to this client (the first push is full).
   * Watching a pid already watched joins that watch (and sends this client a full message again). Refused past
   * MAX_PROCESS_WATCHES processes, for a process that is gone, and when the OS refuses to read it.
   */
  watchProcess: z.strictObject({
    pid,
    intervalMs: z.number().int().min(MIN_WATCH_INTERVAL_MS).max(MAX_WATCH_INTERVAL_MS).optional(),
  }),
  /** Stop this client's watch (the walk stops when no client watches the pid any more). */
  unwatchProcess: z.strictObject({ pid }),
  takeProcessSnapshot: z.strictObject({ pid, label: label.optional() }),
  processSnapshots: z.strictObject({ pid }),
  diffProcessSnapshots: z.strictObject({ pid, a: z.number().int().positive(), b: z.number().int().positive() }),
} as const;

export interface ProcessResults {
  listProcesses: { readonly processes: readonly ProcessEntry[]; readonly total: number };
  watchProcess: WatchResult;
  unwatchProcess: {
    readonly pid: number;
    readonly watching: readonly { readonly pid: number; readonly name: string }[];
  };
  takeProcessSnapshot: { readonly id: number; readonly snapshot: ProcessSnapshotInfo };
  processSnapshots: { readonly snapshots: readonly ProcessSnapshotInfo[] };
  diffProcessSnapshots: { readonly diff: ProcessDiff };
}

// ---------------------------------------------------------------------------------------------- the client side

/** What a client knows of one watched process, built by `applyProcessMessage` (mutated in place). */
export interface ProcessView {
  readonly pid: number;
  seq: number;
  time: number;
  name: string;
  intervalMs: number;
  totals: readonly ProcessTypeTotals[];
  /** Regions by base. */
  readonly rows: Map<number, ProcessRegionRow>;
  /** Samples, oldest first (at most MAX_PROCESS_HISTORY). */
  readonly history: ProcessSample[];
  /** Set once the watch ended (the rows keep the last picture). */
  end: ProcessEnd | null;
}

export class ProcessOutOfSyncError extends Error {
  constructor(
    readonly pid: number,
    readonly expected: number,
    readonly got: number,
  ) {
    super(`process ${pid}: expected message ${expected}, got ${got}`);
    this.name = 'ProcessOutOfSyncError';
  }
}

/**
 * Fold one message into the view of its process: a full message starts a new view; a delta or an end must follow
 * the view's seq by one (else `ProcessOutOfSyncError`: watch again to get a full message).
 */
export function applyProcessMessage(view: ProcessView | undefined, message: ProcessMessage): ProcessView {
  if (message.kind === 'full') {
    const rows = new Map<number, ProcessRegionRow>();
    for (const r of message.rows) rows.set(r.base, r);
    return {
      pid: message.pid,
      seq: message.seq,
      time: message.time,
      name: message.name,
      intervalMs: message.intervalMs,
      totals: message.totals,
      rows,
      history: message.history.slice(-MAX_PROCESS_HISTORY),
      end: message.exited ?? null,
    };
  }
  if (view === undefined || view.pid !== message.pid || message.seq !== view.seq + 1) {
    throw new ProcessOutOfSyncError(message.pid, (view?.seq ?? 0) + 1, message.seq);
  }
  view.seq = message.seq;
  view.time = message.time;
  if (message.kind === 'end') {
    view.end = { reason: message.reason, time: message.time, message: message.message };
    return view;
  }
  for (const base of message.removed) view.rows.delete(base);
  for (const r of message.added) view.rows.set(r.base, r);
  for (const r of message.updated) view.rows.set(r.base, r);
  if (message.totals) view.totals = message.totals;
  view.history.push(message.sample);
  if (view.history.length > MAX_PROCESS_HISTORY) view.history.splice(0, view.history.length - MAX_PROCESS_HISTORY);
  return view;
}
