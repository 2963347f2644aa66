/**
 * Admission: the policy (commit and reserve limits, thresholds by critical level, fault injection), the memory
 * notifications (Low / Neutral / High, and the client's callbacks), GetMemoryLoad, and the eProcessCritical wait —
 * a request over its threshold waits for memory to be freed, is woken when it fits, or times out.
 */
import type { OsMemory } from '../../native/os-memory';
import { HostBase, OK } from './base';
import { FaultInjector, policyProblem } from './faults';
import { HR } from './hresult';
import {
  DEFAULT_POLICY,
  MEMORY_AVAILABLE,
  type FailureReason,
  type HostPolicy,
  type HostResult,
  type LevelName,
  type MemoryAvailable,
  type MemoryLoadResult,
} from './types';

type WaitOutcome = 'ready' | 'timeout' | 'abandoned';

interface Waiter {
  readonly charge: number;
  settle: (outcome: WaitOutcome) => void;
}

/** Notification thresholds: Low at 90 % and High under 50 %, left again only 5 points past the line. */
const LOW_ENTER = 0.9;
const LOW_EXIT = 0.85;
const HIGH_ENTER = 0.5;
const HIGH_EXIT = 0.55;

export function classifyLoad(ratio: number, current: MemoryAvailable): MemoryAvailable {
  if (current === MEMORY_AVAILABLE.Low && ratio >= LOW_EXIT) return MEMORY_AVAILABLE.Low;
  if (current === MEMORY_AVAILABLE.High && ratio < HIGH_EXIT) return MEMORY_AVAILABLE.High;
  if (ratio >= LOW_ENTER) return MEMORY_AVAILABLE.Low;
  if (ratio < HIGH_ENTER) return MEMORY_AVAILABLE.High;
  return MEMORY_AVAILABLE.Neutral;
}

export abstract class AdmissionHost extends HostBase {
  /** Charge promised to woken eProcessCritical waiters that have not finished their allocation yet. */
  protected pendingCharge = 0;
  protected currentPolicy: HostPolicy = DEFAULT_POLICY;
  protected faults = new FaultInjector(DEFAULT_POLICY);
  private readonly waiters: Waiter[] = [];
  private memoryAvailable: MemoryAvailable = MEMORY_AVAILABLE.Neutral;
  private readonly callbacks: Array<(m: MemoryAvailable) => void> = [];

  constructor(os: OsMemory, policy: HostPolicy, now: () => number) {
    super(os, now);
    this.setPolicy(policy);
    this.memoryAvailable = this.classifyNow(MEMORY_AVAILABLE.Neutral);
  }

  // ---------------------------------------------------------------- policy and notifications

  policy(): HostPolicy {
    return this.currentPolicy;
  }

  setPolicy(policy: HostPolicy): void {
    const problem = policyProblem(policy);
    if (problem) throw new RangeError(`invalid policy: ${problem}`);
    this.currentPolicy = policy;
    this.faults = new FaultInjector(policy);
    if (this.listeners.size > 0) this.emit({ kind: 'policy', seq: ++this.seq, time: this.now(), policy });
    this.afterChange(true);
  }

  /** Bytes the commit limit is charged with: committed pages and live host-heap blocks. */
  protected get charged(): number {
    return this.committedBytes + this.heapBytes;
  }

  protected fits(charge: number, level: LevelName): boolean {
    const limit = this.currentPolicy.commitLimit;
    if (limit === null) return true;
    return this.charged + this.pendingCharge + charge <= this.currentPolicy.thresholds[level] * limit;
  }

  protected classifyNow(current: MemoryAvailable): MemoryAvailable {
    const limit = this.currentPolicy.commitLimit;
    if (limit !== null) return classifyLoad(this.charged / limit, current);
    const s = this.os.memoryStatus();
    return s.ok ? classifyLoad(s.value.memoryLoad / 100, current) : current;
  }

  protected notify(next: MemoryAvailable): void {
    if (next === this.memoryAvailable) return;
    this.memoryAvailable = next;
    if (this.listeners.size > 0) {
      this.emit({ kind: 'notification', seq: ++this.seq, time: this.now(), memoryAvailable: next });
    }
    for (const cb of this.callbacks) {
      try {
        cb(next);
      } catch {
        // The callback is the client's; its failure is not the host's.
      }
    }
  }

  /** After any change of the books: notifications, and waiters when memory was freed. */
  protected afterChange(freed: boolean): void {
    // Without a commit limit the OS load decides, read on GetMemoryLoad rather than on every call.
    if (this.currentPolicy.commitLimit !== null) this.notify(this.classifyNow(this.memoryAvailable));
    if (freed && this.waiters.length > 0) this.wakeWaiters();
  }

  protected wakeWaiters(): void {
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]!;
      if (this.fits(w.charge, 'eProcessCritical')) {
        this.waiters.splice(i, 1);
        this.pendingCharge += w.charge;
        w.settle('ready');
      } else i++;
    }
  }

  /**
   * The policy's answer for a request that would add `charge` bytes at `level`: go on, or the failure.
   * (Callers test `fits` first, so the common case costs no extra await.)
   * eProcessCritical waits for memory to be freed; when it is woken its charge stays promised in
   * `pendingCharge` until the caller calls `settleCharge`.
   */
  protected async admit(
    charge: number,
    level: LevelName,
  ): Promise<{ hr: number; reason: FailureReason } | 'go' | 'go-pending'> {
    if (this.fits(charge, level)) return 'go';
    if (level !== 'eProcessCritical') return { hr: HR.E_OUTOFMEMORY, reason: 'policy' };
    const outcome = await new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = { charge, settle: resolve };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve('timeout');
      }, this.currentPolicy.processCriticalWaitMs);
      waiter.settle = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
      this.waiters.push(waiter);
    });
    if (outcome === 'ready') return 'go-pending';
    if (outcome === 'abandoned') return { hr: HR.HOST_E_ABANDONED, reason: 'unavailable' };
    return { hr: HR.HOST_E_TIMEOUT, reason: 'timeout' };
  }

  /** A memory failure at eProcessCritical leaves the runtime unusable: the host turns unavailable. */
  protected processCriticalFailed(level: LevelName, hr: number): void {
    if (level === 'eProcessCritical' && (hr === HR.E_OUTOFMEMORY || hr === HR.HOST_E_TIMEOUT)) {
      this.setState('unavailable', 'an eProcessCritical allocation failed');
    }
  }

  GetMemoryLoad(): Promise<MemoryLoadResult> {
    const started = this.callStart;
    const answer = this.implGetMemoryLoad();
    return this.listening ? this.told('GetMemoryLoad', [], answer, started) : this.counted('GetMemoryLoad', answer);
  }

  RegisterMemoryNotificationCallback(callback: (memoryAvailable: MemoryAvailable) => void): Promise<HostResult> {
    const method = 'RegisterMemoryNotificationCallback';
    const started = this.callStart;
    const answer = this.implRegisterMemoryNotificationCallback(callback);
    return this.listening ? this.told(method, [callback], answer, started) : this.counted(method, answer);
  }

  reset(): void {
    this.abandonWaiters();
    this.setState('available', 'Reset');
    if (this.listeners.size > 0) this.emit({ kind: 'reset', seq: ++this.seq, time: this.now() });
  }

  /** Every waiting request ends with HOST_E_ABANDONED (Reset, dispose). */
  protected abandonWaiters(): void {
    for (const w of this.waiters.splice(0)) w.settle('abandoned');
  }

  // ---------------------------------------------------------------- load and notifications

  protected async implGetMemoryLoad(): Promise<MemoryLoadResult> {
    if (this.state === 'unavailable') {
      return this.fail<MemoryLoadResult>(
        'GetMemoryLoad',
        HR.HOST_E_CLRNOTAVAILABLE,
        'unavailable',
        'other',
        0,
        null,
        0,
        undefined,
        {
          memoryLoad: 0,
          availableBytes: 0,
        },
      );
    }
    const limit = this.currentPolicy.commitLimit;
    if (limit !== null) {
      const used = this.charged;
      return {
        hr: HR.S_OK,
        memoryLoad: Math.min(100, Math.max(0, Math.round((100 * used) / limit))),
        availableBytes: Math.max(0, limit - used),
      };
    }
    const s = this.os.memoryStatus();
    if (!s.ok) {
      return this.fail<MemoryLoadResult>('GetMemoryLoad', HR.E_FAIL, 'os', 'other', 0, null, 0, undefined, {
        memoryLoad: 0,
        availableBytes: 0,
      });
    }
    this.notify(classifyLoad(s.value.memoryLoad / 100, this.memoryAvailable));
    return { hr: HR.S_OK, memoryLoad: s.value.memoryLoad, availableBytes: s.value.availPhys };
  }

  protected async implRegisterMemoryNotificationCallback(
    callback: (memoryAvailable: MemoryAvailable) => void,
  ): Promise<HostResult> {
    if (this.state === 'unavailable') {
      return this.fail<HostResult>(
        'RegisterMemoryNotificationCallback',
        HR.HOST_E_CLRNOTAVAILABLE,
        'unavailable',
        'other',
        0,
        null,
        0,
        undefined,
        {},
      );
    }
    if (typeof callback !== 'function') {
      return this.fail<HostResult>(
        'RegisterMemoryNotificationCallback',
        HR.E_INVALIDARG,
        'invalid',
        'other',
        0,
        null,
        0,
        undefined,
        {},
      );
    }
    this.callbacks.push(callback);
    return OK;
  }

  /** The notification state now (Low / Neutral / High). */
  memoryState(): MemoryAvailable {
    return this.memoryAvailable;
  }
}
