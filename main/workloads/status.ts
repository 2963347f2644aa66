/**
 * What a workload looks like from outside, as plain data: its live progress and the summary it leaves. Browser-safe
 * (types only, over `main/host/types`), so that the contract shows these very types to the UI.
 */
import type { FailureCounts } from '../host/types';

/**
 * Why a workload ended. `completed`: its code returned by itself; `stopped`: stop(); `duration`: durationMs;
 * `max-calls`: maxCalls; `error`: it threw (scripts: threw, rejected, failed to load, or an uncaught error);
 * `hang`: a script neither called the host nor finished within hangTimeoutMs; `flood`: a script exceeded its
 * call cap or its pending-call cap; `exit`: a script's worker exited (process.exit) or ran out of memory.
 */
export type WorkloadEnd = 'completed' | 'stopped' | 'duration' | 'max-calls' | 'error' | 'hang' | 'flood' | 'exit';

export interface MemoryFigures {
  readonly reserved: number;
  readonly committed: number;
  /** Live host-heap bytes. */
  readonly heap: number;
}

export interface Holdings {
  readonly regions: number;
  readonly reserved: number;
  readonly committed: number;
  readonly heapBlocks: number;
  readonly heapBytes: number;
  readonly external: number;
}

/** Live figures of a running workload. */
export interface WorkloadProgress {
  readonly id: string;
  readonly name: string;
  readonly kind: 'scenario' | 'script';
  readonly state: 'running' | 'paused' | 'stopping' | 'ended';
  readonly elapsedMs: number;
  readonly calls: number;
  readonly failures: FailureCounts;
  /** What the workload holds now (its own allocations, not the whole host). */
  readonly held: Holdings;
  readonly peak: MemoryFigures;
}

export interface WorkloadSummary {
  readonly id: string;
  readonly name: string;
  readonly kind: 'scenario' | 'script';
  readonly seed: number;
  /** The validated parameters (defaults filled in). */
  readonly params: Readonly<Record<string, unknown>>;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly end: WorkloadEnd;
  /** The error's message when it ended on one (`error`, `hang`, `flood`, `exit`). */
  readonly error?: string;
  /** Host calls the workload made (the runner's clean-up calls not included). */
  readonly calls: number;
  readonly callsByMethod: Readonly<Record<string, number>>;
  /** Calls that did not return S_OK, grouped by critical level as the host groups them. */
  readonly failures: FailureCounts;
  /** The same failures by HRESULT name. */
  readonly failuresByHr: Readonly<Record<string, number>>;
  /** Script calls the runner refused before they reached the host (unknown method, bad argument, foreign memory). */
  readonly rejectedCalls: number;
  /** The workload's own peaks (its allocations, not the whole host's). */
  readonly peak: MemoryFigures;
  /** What the runner released for it at the end. */
  readonly released: Holdings;
  /** What is still held: `ctx.keep` (leak), or what could not be released yet (see `cleanupPending`). */
  readonly retained: Holdings;
  /**
   * The host was unavailable when the workload ended, so its memory could not be released: the runner releases it
   * as soon as the host is available again (after `host.reset()`).
   */
  readonly cleanupPending: boolean;
  /** The last log lines. */
  readonly log: readonly string[];
}
