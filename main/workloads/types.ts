/**
 * The workload model: what a scenario is given (a host and a context), what a running workload looks like from
 * outside (a handle), and what it leaves (a summary).
 */
import type { z } from 'zod';
import type { HostMemoryManager } from '../host';
import type { CommonParams } from './params';
import type { WorkloadProgress, WorkloadSummary } from './status';

// What a workload looks like from outside (progress, summary) is plain data the contract shows: in status.ts.
export type * from './status';

/** What a workload's code is given besides the host. */
export interface WorkloadContext {
  readonly seed: number;
  /** Seeded PRNG in [0, 1) (mulberry32): the only source of randomness a workload may use. */
  readonly rng: () => number;
  /** Aborted when the workload must stop (stop(), durationMs, maxCalls). */
  readonly signal: AbortSignal;
  /** True once the workload must stop. */
  readonly stopping: boolean;
  /** Wait `ms`; resolves true after the full wait, false as soon as the workload must stop. Never rejects. */
  sleep(ms: number): Promise<boolean>;
  /**
   * Hold the workload's target rate of host calls (`rate` calls/s, counted by the runner) and wait while it is
   * paused. Resolves false when the workload must stop. Also yields to the event loop now and then, so that even
   * at rate 0 (flat out) timers, I/O and other workloads keep running. Call it once per step.
   */
  pace(): Promise<boolean>;
  /** A line for the workload's log (kept in the summary, passed to `onLog`). */
  log(message: string): void;
  /** Do not release this allocation (a reservation base or a heap block) when the workload ends (`leak`). */
  keep(address: number): void;
  /** ms since the workload started. */
  elapsed(): number;
}

/** A built-in (or embedder-defined) scenario. */
export interface Scenario<P extends CommonParams = CommonParams> {
  readonly name: string;
  /** One sentence for `hostmem scenarios` and the UI. */
  readonly description: string;
  /** Validates and completes the parameters (documented defaults). Input is what the CLI or the UI passes. */
  readonly params: z.ZodType<P, unknown>;
  /**
   * Run until `ctx.pace()` / `ctx.sleep()` say stop (or until done). The host given is the runner's tracking
   * wrapper: everything allocated through it that is still held when `run` returns is released by the runner
   * (except what `ctx.keep` marked).
   */
  run(host: HostMemoryManager, ctx: WorkloadContext, params: P): Promise<void>;
}

/** What to run: a scenario (by name or object) with parameters, or a user script. */
export type WorkloadSpec =
  | { readonly scenario: string | Scenario; readonly params?: unknown }
  | {
      /** Path of a JS module (ESM) whose default export is `async function (host, ctx)`. */
      readonly script: string;
      /** ScriptParams (seed, durationMs, rate, hangTimeoutMs, maxCalls, …). */
      readonly params?: unknown;
    }
  | {
      /** The module's source text itself (the UI's script editor); loaded as a data: URL module. */
      readonly source: string;
      readonly name?: string;
      readonly params?: unknown;
    };

export interface WorkloadLogEntry {
  readonly time: number;
  readonly workload: string;
  readonly name: string;
  readonly message: string;
}

export interface StartOptions {
  /** Defaults to `w1`, `w2`, … (unique in this process). */
  readonly id?: string;
  /** Every log line, as it is written. */
  readonly onLog?: (entry: WorkloadLogEntry) => void;
  /** Lines kept in the summary (the last ones); default 200. */
  readonly logLines?: number;
}

export interface WorkloadHandle {
  readonly id: string;
  readonly name: string;
  readonly kind: 'scenario' | 'script';
  /** The validated parameters. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly startedAt: number;
  /** Resolves when the workload has ended and its memory was released (never rejects). */
  readonly done: Promise<WorkloadSummary>;
  /** Ask it to stop; resolves with the summary. Idempotent. */
  stop(): Promise<WorkloadSummary>;
  /** Hold it at its next pace (scenarios) or next host call (scripts); the hang watchdog is suspended meanwhile. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  progress(): WorkloadProgress;
}
