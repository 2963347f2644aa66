/**
 * What every running workload shares, scenario or script: its id and parameters, the stop signal and the reason it
 * ended, pause/resume, the duration and call caps, the log, the ledger and the clean-up at the end, the summary.
 */
import { HR, type HostEvent, type HostMemoryManager } from '../host';
import { seededRandom } from '../host/random';
import { EMPTY_HOLDINGS, Ledger, TrackedHost } from './ledger';
import type {
  Holdings,
  StartOptions,
  WorkloadContext,
  WorkloadEnd,
  WorkloadHandle,
  WorkloadLogEntry,
  WorkloadProgress,
  WorkloadSummary,
} from './types';

let counter = 0;

/** A process-unique workload id: w1, w2, … */
export function nextWorkloadId(): string {
  return `w${++counter}`;
}

export interface RunSetup {
  readonly name: string;
  readonly kind: 'scenario' | 'script';
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly durationMs: number;
  readonly rate: number;
  readonly maxCalls: number;
}

/** Yield to the macrotask queue (timers, I/O, other workloads). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class WorkloadRun implements WorkloadHandle {
  readonly id: string;
  readonly name: string;
  readonly kind: 'scenario' | 'script';
  readonly params: Readonly<Record<string, unknown>>;
  readonly startedAt = Date.now();
  readonly done: Promise<WorkloadSummary>;
  readonly ledger: Ledger;
  readonly tracked: TrackedHost;
  readonly controller = new AbortController();
  readonly setup: RunSetup;

  private endReason: WorkloadEnd | undefined;
  private endError: string | undefined;
  private pausedNow = false;
  private resumeWaiters: Array<() => void> = [];
  private readonly started = performance.now();
  private endedAt: number | undefined;
  private ended = false;
  private readonly lines: string[] = [];
  private readonly logLimit: number;
  private readonly onLog: ((entry: WorkloadLogEntry) => void) | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (summary: WorkloadSummary) => void;
  private readonly pauseListeners = new Set<(paused: boolean) => void>();

  constructor(
    readonly host: HostMemoryManager,
    setup: RunSetup,
    options: StartOptions,
  ) {
    this.setup = setup;
    this.id = options.id ?? nextWorkloadId();
    this.name = setup.name;
    this.kind = setup.kind;
    this.params = setup.params;
    this.logLimit = options.logLines ?? 200;
    this.onLog = options.onLog;
    this.ledger = new Ledger(host);
    this.tracked = new TrackedHost(host, this.ledger, () => {
      if (this.setup.maxCalls > 0 && this.ledger.calls >= this.setup.maxCalls) this.requestStop('max-calls');
    });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  // ------------------------------------------------------------------ control

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** The first reason given wins. */
  requestStop(reason: WorkloadEnd, error?: string): void {
    if (this.endReason === undefined) {
      this.endReason = reason;
      this.endError = error;
    }
    if (!this.controller.signal.aborted) this.controller.abort(new Error(`workload ${reason}`));
    this.wakeResumeWaiters();
  }

  stop(): Promise<WorkloadSummary> {
    this.requestStop('stopped');
    return this.done;
  }

  pause(): void {
    if (this.pausedNow || this.ended) return;
    this.pausedNow = true;
    this.log('paused');
    for (const l of this.pauseListeners) l(true);
  }

  resume(): void {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    this.log('resumed');
    this.wakeResumeWaiters();
    for (const l of this.pauseListeners) l(false);
  }

  onPauseChange(listener: (paused: boolean) => void): void {
    this.pauseListeners.add(listener);
  }

  /** Resolves when not paused (at once if not paused), or when the workload stops. */
  whenResumed(): Promise<void> {
    if (!this.pausedNow || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.resumeWaiters.push(resolve));
  }

  private wakeResumeWaiters(): void {
    for (const w of this.resumeWaiters.splice(0)) w();
  }

  log(message: string): void {
    const entry: WorkloadLogEntry = { time: Date.now(), workload: this.id, name: this.name, message };
    this.lines.push(`${new Date(entry.time).toISOString()} ${message}`);
    if (this.lines.length > this.logLimit) this.lines.splice(0, this.lines.length - this.logLimit);
    try {
      this.onLog?.(entry);
    } catch {
      // The embedder's logger must not stop the workload.
    }
  }

  elapsed(): number {
    return (this.endedAt ?? performance.now()) - this.started;
  }

  progress(): WorkloadProgress {
    return {
      id: this.id,
      name: this.name,
      kind: this.kind,
      state: this.ended ? 'ended' : this.stopping ? 'stopping' : this.pausedNow ? 'paused' : 'running',
      elapsedMs: Math.round(this.elapsed()),
      calls: this.ledger.calls,
      failures: { ...this.ledger.failures },
      held: this.ledger.holdings(),
      peak: this.ledger.peaks(),
    };
  }

  // ------------------------------------------------------------------ a scenario's context

  /** The context a scenario runs with (scripts get theirs inside the worker). */
  context(): WorkloadContext {
    const isStopping = (): boolean => this.stopping;
    const calls = (): number => this.ledger.calls;
    const signal = this.controller.signal;
    const rng = seededRandom(this.setup.seed);
    const rate = this.setup.rate;
    let t0 = performance.now();
    let base = 0;
    let lastYield = t0;
    const rebase = (): void => {
      t0 = performance.now();
      base = calls();
    };
    /** Set by ctx.sleep: time idled on purpose is not made up for by the next paces. */
    let idled = false;
    const wait = (ms: number): Promise<boolean> => {
      if (isStopping()) return Promise.resolve(false);
      return new Promise((resolve) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          resolve(false);
        };
        const timer = setTimeout(
          () => {
            signal.removeEventListener('abort', onAbort);
            resolve(true);
          },
          Math.max(0, ms),
        );
        signal.addEventListener('abort', onAbort, { once: true });
      });
    };
    return {
      seed: this.setup.seed,
      rng,
      signal,
      get stopping() {
        return isStopping();
      },
      sleep(ms: number): Promise<boolean> {
        idled = true;
        return wait(ms);
      },
      pace: async (): Promise<boolean> => {
        if (isStopping()) return false;
        if (this.paused) {
          await this.whenResumed();
          idled = true;
          if (isStopping()) return false;
        }
        if (idled) {
          idled = false;
          rebase();
          lastYield = performance.now();
        }
        const now = performance.now();
        if (rate > 0) {
          const due = t0 + ((calls() - base) * 1000) / rate;
          if (due - now >= 1) {
            const slept = await wait(due - now);
            lastYield = performance.now();
            return slept && !isStopping();
          }
          // Far behind (a long eProcessCritical wait, a pause): start a new schedule rather than burst to catch up.
          if (now - due > 1000) rebase();
        }
        if (now - lastYield >= 10) {
          await yieldToLoop();
          lastYield = performance.now();
        }
        return !isStopping();
      },
      log: (message) => this.log(message),
      keep: (address) => this.ledger.keep(address),
      elapsed: () => this.elapsed(),
    };
  }

  // ------------------------------------------------------------------ running and ending

  /**
   * Run `body` (which must end soon after the signal aborts), then release what the workload holds and resolve
   * `done`. `body` errors end the workload with `error`.
   */
  start(body: () => Promise<void>): void {
    this.ledger.attach();
    if (this.setup.durationMs > 0) {
      this.durationTimer = setTimeout(() => this.requestStop('duration'), this.setup.durationMs);
    }
    void (async () => {
      try {
        await body();
      } catch (error) {
        this.requestStop('error', error instanceof Error ? error.message : String(error));
      }
      this.requestStop('completed');
      this.endedAt = performance.now();
      clearTimeout(this.durationTimer);
      this.resolveDone(await this.finish());
    })();
  }

  private async finish(): Promise<WorkloadSummary> {
    let released: Holdings = EMPTY_HOLDINGS;
    let pending = false;
    try {
      ({ released, pending } = await this.ledger.releaseAll());
    } catch (error) {
      this.log(`clean-up failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const retained = this.ledger.holdings();
    if (pending) {
      this.log(
        `the host is unavailable: ${retained.regions} region(s) and ${retained.heapBlocks} heap block(s) ` +
          'will be released when it is reset',
      );
      this.releaseAfterReset();
    } else {
      const kept = this.ledger.keptHoldings();
      if (kept.regions + kept.heapBlocks > 0) {
        this.log(`left behind on purpose: ${kept.regions} region(s), ${kept.heapBlocks} heap block(s)`);
      }
      this.ledger.detach();
    }
    this.ended = true;
    const summary: WorkloadSummary = {
      id: this.id,
      name: this.name,
      kind: this.kind,
      seed: this.setup.seed,
      params: this.params,
      startedAt: this.startedAt,
      durationMs: Math.round(this.elapsed()),
      end: this.endReason ?? 'completed',
      ...(this.endError !== undefined ? { error: this.endError } : {}),
      calls: this.ledger.calls,
      callsByMethod: { ...this.ledger.callsByMethod },
      failures: { ...this.ledger.failures },
      failuresByHr: { ...this.ledger.failuresByHr },
      rejectedCalls: this.ledger.rejectedCalls,
      peak: this.ledger.peaks(),
      released,
      retained,
      cleanupPending: pending,
      log: [...this.lines],
    };
    return summary;
  }

  /** The host was unavailable at the end: release the rest when it is available again, then let go. */
  private releaseAfterReset(): void {
    let busy = false;
    const unsubscribe = this.host.subscribe((event: HostEvent) => {
      if (busy || event.kind !== 'state' || event.state !== 'available') return;
      busy = true;
      void this.ledger.releaseAll().then(
        ({ released, pending }) => {
          busy = false;
          if (pending) return;
          unsubscribe();
          this.log(`released after reset: ${released.regions} region(s), ${released.heapBlocks} heap block(s)`);
          this.ledger.detach();
        },
        () => {
          busy = false;
        },
      );
    });
  }
}

/** HRESULT check helper for scenarios. */
export function ok(r: { readonly hr: number }): boolean {
  return r.hr === HR.S_OK;
}
