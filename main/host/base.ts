/**
 * The ground floor of the host: its books' totals, its state, failures, and what it tells others — events to
 * subscribers and HRESULTs to call observers. Each concern above it is one layer, one file:
 * `admission.ts` (policy, notifications, the eProcessCritical wait) ← `heaps.ts` (IHostMalloc) ← `external.ts`
 * (address space got elsewhere) ← `host.ts` (reservations: VirtualAlloc, VirtualFree, VirtualQuery, VirtualProtect,
 * Fill, Check), with the audit in `audit.ts`.
 */
import type { OsError, OsMemory } from '../../native/os-memory';
import { HR } from './hresult';
import type { PageRun } from './page-runs';
import {
  callArgs,
  type Backend,
  type FailureCounts,
  type FailureGroup,
  type FailureReason,
  type HostCallObserver,
  type HostEvent,
  type HostEventListener,
  type HostMethod,
  type HostResult,
  type HostState,
  type LevelName,
  type RegionChange,
} from './types';

/** One host reservation and its page map. */
export interface Region {
  readonly base: number;
  /** Reserved bytes: whole pages. */
  readonly size: number;
  readonly pages: number;
  readonly level: LevelName;
  readonly tag: string | undefined;
  /** The protection given when it was reserved (MEMORY_BASIC_INFORMATION.AllocationProtect). */
  readonly allocationProtect: number;
  /** ms since the epoch. */
  readonly created: number;
  /** Committed page runs; gaps are reserved pages. */
  readonly runs: PageRun[];
  committed: number;
}

export const OK: HostResult = Object.freeze({ hr: HR.S_OK });

/** A result now, or a promise of it when the call has to wait (eProcessCritical admission). */
export type Answer<R> = R | Promise<R>;

/** The promise a public method returns: the answer itself when it is one already (no extra async frame). */
export function settle<R>(answer: Answer<R>): Promise<R> {
  return answer instanceof Promise ? answer : Promise.resolve(answer);
}

export abstract class HostBase {
  readonly backend: Backend;
  readonly pageSize: number;
  readonly allocationGranularity: number;

  protected readonly os: OsMemory;
  protected readonly now: () => number;

  protected reservedBytes = 0;
  protected committedBytes = 0;
  protected externalBytes = 0;
  protected heapBytes = 0;

  protected state: HostState = 'available';
  protected readonly failureCounts: FailureCounts = {
    eTaskCritical: 0,
    eAppDomainCritical: 0,
    eProcessCritical: 0,
    other: 0,
  };

  protected readonly listeners = new Set<HostEventListener>();
  /** Call observers (metrics): told method and HRESULT, nothing allocated for them. */
  private readonly observers: HostCallObserver[] = [];
  protected seq = 0;

  constructor(os: OsMemory, now: () => number) {
    this.os = os;
    this.now = now;
    this.backend = os.backend;
    this.pageSize = os.pageSize;
    this.allocationGranularity = os.allocationGranularity;
  }

  // ---------------------------------------------------------------- events and failures

  subscribe(listener: HostEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(event: HostEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not change what the host answers.
      }
    }
  }

  observeCalls(observer: HostCallObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /**
   * Whether anyone wants `call` events. The public methods test it first: when nobody does, a call builds no
   * argument record and no event (only call observers, if any, are told its HRESULT — see `counted`).
   */
  protected get listening(): boolean {
    return this.listeners.size > 0;
  }

  /**
   * When a call began (`performance.now()`), for its event's `durationMs`: read only while someone listens, NaN
   * otherwise, so the path with no listener does not read the clock.
   */
  protected get callStart(): number {
    return this.listeners.size > 0 ? performance.now() : Number.NaN;
  }

  private observe(method: HostMethod, hr: number): void {
    for (const o of this.observers) {
      try {
        o(method, hr);
      } catch {
        // An observer's bug must not change what the host answers.
      }
    }
  }

  /** A call's answer when nobody listens: call observers told its HRESULT, with no allocation for them. */
  protected counted<R extends HostResult>(method: HostMethod, answer: Answer<R>): Promise<R> {
    if (!(answer instanceof Promise)) {
      if (this.observers.length > 0) this.observe(method, answer.hr);
      return Promise.resolve(answer);
    }
    if (this.observers.length === 0) return answer;
    return answer.then((r) => {
      this.observe(method, r.hr);
      return r;
    });
  }

  /**
   * A call's answer when someone listens: observers told, then the `call` event with its arguments as the table
   * of calls names them (`heap`: the heap's id, for IHostMalloc calls).
   */
  protected told<R extends HostResult>(
    method: HostMethod,
    args: readonly unknown[],
    answer: Answer<R>,
    started: number,
    heap?: number,
  ): Promise<R> {
    return settle(answer).then((result) => {
      this.observe(method, result.hr);
      if (this.listeners.size > 0) {
        const event: HostEvent = {
          kind: 'call',
          seq: ++this.seq,
          time: this.now(),
          method,
          args: callArgs(method, args, heap),
          result,
          durationMs: performance.now() - started,
        };
        this.emit(event);
      }
      return result;
    });
  }

  protected emitRegion(region: RegionChange): void {
    if (this.listeners.size > 0) this.emit({ kind: 'region', seq: ++this.seq, time: this.now(), region });
  }

  protected fail<T extends HostResult>(
    method: HostMethod,
    hr: number,
    reason: FailureReason,
    group: FailureGroup,
    size: number,
    address: number | null,
    flags: number,
    tag: string | undefined,
    extra: Omit<T, 'hr' | 'reason'>,
  ): T {
    this.failureCounts[group]++;
    if (this.listeners.size > 0) {
      this.emit({
        kind: 'failure',
        failure: { seq: ++this.seq, time: this.now(), method, size, address, flags, level: group, hr, reason, tag },
      });
    }
    if (hr === HR.E_FAIL) this.setState('unavailable', `${method} failed unexpectedly`);
    return { ...extra, hr, reason } as T;
  }

  protected osFailure(error: OsError, addressExpected: boolean): { hr: number; reason: FailureReason } {
    if (error.code === 'out-of-memory') return { hr: HR.E_OUTOFMEMORY, reason: 'os' };
    if (error.code === 'invalid-address' && addressExpected) return { hr: HR.ERROR_INVALID_ADDRESS, reason: 'os' };
    return { hr: HR.E_FAIL, reason: 'os' };
  }

  protected setState(state: HostState, cause: string): void {
    if (this.state === state) return;
    this.state = state;
    if (this.listeners.size > 0) this.emit({ kind: 'state', seq: ++this.seq, time: this.now(), state, cause });
  }
}
