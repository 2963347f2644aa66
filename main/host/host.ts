/**
 * The host memory manager (IHostMemoryManager) over an OsMemory backend.
 *
 * Every request is checked against the host's own books (region map, policy, state) *before* the OS is called,
 * so both backends give the same HRESULT for the same request. The books are then what the audit proves equal
 * to the OS's own answer. Owned memory is described from the books (VirtualQuery), foreign memory by the OS.
 */
import { MEM, type OsError, type OsMemory } from '../../native/os-memory';
import { FaultInjector, policyProblem } from './faults';
import {
  USER_ADDRESS_LIMIT,
  allocKind,
  isReadable,
  isValidAddress,
  isValidProtection,
  isValidSize,
  isWritable,
} from './flags';
import { HR } from './hresult';
import { clearRange, committedPagesIn, everyCommitted, fullMap, runAt, setRange, type PageRun } from './page-runs';
import { RegionMap } from './region-map';
import { SortedIndex } from './sorted-index';
import {
  DEFAULT_POLICY,
  LEVELS,
  MALLOC_EXECUTABLE,
  MALLOC_THREADSAFE,
  MEMORY_AVAILABLE,
  type AuditDrift,
  type CallArgs,
  type AuditResult,
  type CheckResult,
  type CreateMallocResult,
  type FailureCounts,
  type FailureGroup,
  type FailureReason,
  type HeapAllocResult,
  type HostEvent,
  type HostEventListener,
  type HostMalloc,
  type HostMemoryManager,
  type HostMethod,
  type HostPolicy,
  type HostQueryInfo,
  type HostResult,
  type HostState,
  type HostStats,
  type LevelName,
  type MemoryAvailable,
  type MemoryLoadResult,
  type RegionChange,
  type VirtualAllocResult,
  type VirtualProtectResult,
  type VirtualQueryResult,
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

interface HeapBlock {
  readonly base: number;
  readonly size: number;
  readonly heap: HostHeap;
  readonly level: LevelName;
  readonly tag: string | undefined;
}

type WaitOutcome = 'ready' | 'timeout' | 'abandoned';

interface Waiter {
  readonly charge: number;
  settle: (outcome: WaitOutcome) => void;
}

const OK: HostResult = Object.freeze({ hr: HR.S_OK });

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

class HostHeap implements HostMalloc {
  constructor(
    readonly id: number,
    readonly osHeap: number,
    private readonly host: Host,
  ) {}
  Alloc(size: number, level: number): Promise<HeapAllocResult> {
    return this.host.heapAlloc(this, 'Alloc', size, level, undefined, undefined);
  }
  DebugAlloc(size: number, level: number, file: string, line: number): Promise<HeapAllocResult> {
    return this.host.heapAlloc(this, 'DebugAlloc', size, level, file, line);
  }
  Free(address: number): Promise<HostResult> {
    return this.host.heapFree(this, address);
  }
}

export class Host implements HostMemoryManager {
  readonly backend: 'win32' | 'posix';
  readonly pageSize: number;
  readonly allocationGranularity: number;

  private readonly os: OsMemory;
  /** Reservations by address: O(1) for reservations up to 1 MiB, O(log n) above. */
  private readonly regions = new RegionMap<Region>();
  private readonly heapBlocks = new SortedIndex<HeapBlock>();
  private readonly heaps = new Map<number, HostHeap>();
  private readonly external = new Map<number, number>();
  private nextHeapId = 1;

  private reservedBytes = 0;
  private committedBytes = 0;
  private externalBytes = 0;
  private heapBytes = 0;
  /** Charge promised to woken eProcessCritical waiters that have not finished their allocation yet. */
  private pendingCharge = 0;

  private state: HostState = 'available';
  private currentPolicy: HostPolicy = DEFAULT_POLICY;
  private faults = new FaultInjector(DEFAULT_POLICY);
  private readonly waiters: Waiter[] = [];
  private readonly failureCounts: FailureCounts = {
    eTaskCritical: 0,
    eAppDomainCritical: 0,
    eProcessCritical: 0,
    other: 0,
  };

  private memoryAvailable: MemoryAvailable = MEMORY_AVAILABLE.Neutral;
  private readonly callbacks: Array<(m: MemoryAvailable) => void> = [];
  private readonly listeners = new Set<HostEventListener>();
  private seq = 0;
  private readonly now: () => number;

  constructor(os: OsMemory, policy: HostPolicy = DEFAULT_POLICY, now: () => number = Date.now) {
    this.os = os;
    this.now = now;
    this.backend = os.backend;
    this.pageSize = os.pageSize;
    this.allocationGranularity = os.allocationGranularity;
    this.setPolicy(policy);
    this.memoryAvailable = this.classifyNow(MEMORY_AVAILABLE.Neutral);
  }

  // ---------------------------------------------------------------- events and failures

  subscribe(listener: HostEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: HostEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not change what the host answers.
      }
    }
  }

  private emitRegion(region: RegionChange): void {
    if (this.listeners.size > 0) this.emit({ kind: 'region', seq: ++this.seq, time: this.now(), region });
  }

  private fail<T extends HostResult>(
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

  private osFailure(error: OsError, addressExpected: boolean): { hr: number; reason: FailureReason } {
    if (error.code === 'out-of-memory') return { hr: HR.E_OUTOFMEMORY, reason: 'os' };
    if (error.code === 'invalid-address' && addressExpected) return { hr: HR.ERROR_INVALID_ADDRESS, reason: 'os' };
    return { hr: HR.E_FAIL, reason: 'os' };
  }

  private setState(state: HostState, cause: string): void {
    if (this.state === state) return;
    this.state = state;
    if (this.listeners.size > 0) this.emit({ kind: 'state', seq: ++this.seq, time: this.now(), state, cause });
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
  private get charged(): number {
    return this.committedBytes + this.heapBytes;
  }

  private fits(charge: number, level: LevelName): boolean {
    const limit = this.currentPolicy.commitLimit;
    if (limit === null) return true;
    return this.charged + this.pendingCharge + charge <= this.currentPolicy.thresholds[level] * limit;
  }

  private classifyNow(current: MemoryAvailable): MemoryAvailable {
    const limit = this.currentPolicy.commitLimit;
    if (limit !== null) return classifyLoad(this.charged / limit, current);
    const s = this.os.memoryStatus();
    return s.ok ? classifyLoad(s.value.memoryLoad / 100, current) : current;
  }

  private notify(next: MemoryAvailable): void {
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
  private afterChange(freed: boolean): void {
    // Without a commit limit the OS load decides, read on GetMemoryLoad rather than on every call.
    if (this.currentPolicy.commitLimit !== null) this.notify(this.classifyNow(this.memoryAvailable));
    if (freed && this.waiters.length > 0) this.wakeWaiters();
  }

  private wakeWaiters(): void {
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
  private async admit(
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
  private processCriticalFailed(level: LevelName, hr: number): void {
    if (level === 'eProcessCritical' && (hr === HR.E_OUTOFMEMORY || hr === HR.HOST_E_TIMEOUT)) {
      this.setState('unavailable', 'an eProcessCritical allocation failed');
    }
  }

  reset(): void {
    for (const w of this.waiters.splice(0)) w.settle('abandoned');
    this.setState('available', 'Reset');
    if (this.listeners.size > 0) this.emit({ kind: 'reset', seq: ++this.seq, time: this.now() });
  }

  // ---------------------------------------------------------------- the public methods: one `call` event each

  /** `started`: performance.now() when the call began (taken only while someone listens; NaN if nobody did then). */
  private called<R extends HostResult>(method: HostMethod, args: CallArgs, result: R, started: number): R {
    if (this.listeners.size > 0) {
      const durationMs = performance.now() - started;
      this.emit({ kind: 'call', seq: ++this.seq, time: this.now(), method, args, result, durationMs });
    }
    return result;
  }

  VirtualAlloc(
    address: number | null,
    size: number,
    type: number,
    protect: number,
    level: number,
    tag?: string,
  ): Promise<VirtualAllocResult> {
    if (this.listeners.size === 0) return this.implVirtualAlloc(address, size, type, protect, level, tag);
    const started = performance.now();
    return this.implVirtualAlloc(address, size, type, protect, level, tag).then((r) =>
      this.called('VirtualAlloc', { address, size, type, protect, level, tag: tag ?? null }, r, started),
    );
  }
  VirtualFree(address: number, size: number, freeType: number): Promise<HostResult> {
    if (this.listeners.size === 0) return this.implVirtualFree(address, size, freeType);
    const started = performance.now();
    return this.implVirtualFree(address, size, freeType).then((r) =>
      this.called('VirtualFree', { address, size, type: freeType }, r, started),
    );
  }
  VirtualQuery(address: number): Promise<VirtualQueryResult> {
    if (this.listeners.size === 0) return this.implVirtualQuery(address);
    const started = performance.now();
    return this.implVirtualQuery(address).then((r) => this.called('VirtualQuery', { address }, r, started));
  }
  VirtualProtect(address: number, size: number, protect: number): Promise<VirtualProtectResult> {
    if (this.listeners.size === 0) return this.implVirtualProtect(address, size, protect);
    const started = performance.now();
    return this.implVirtualProtect(address, size, protect).then((r) =>
      this.called('VirtualProtect', { address, size, protect }, r, started),
    );
  }
  async GetMemoryLoad(): Promise<MemoryLoadResult> {
    const started = performance.now();
    return this.called('GetMemoryLoad', {}, await this.implGetMemoryLoad(), started);
  }
  async RegisterMemoryNotificationCallback(callback: (memoryAvailable: MemoryAvailable) => void): Promise<HostResult> {
    const started = performance.now();
    return this.called(
      'RegisterMemoryNotificationCallback',
      {},
      await this.implRegisterMemoryNotificationCallback(callback),
      started,
    );
  }
  async NeedsVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const started = performance.now();
    return this.called(
      'NeedsVirtualAddressSpace',
      { address, size },
      await this.implNeedsVirtualAddressSpace(address, size),
      started,
    );
  }
  async AcquiredVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const started = performance.now();
    return this.called(
      'AcquiredVirtualAddressSpace',
      { address, size },
      await this.implAcquiredVirtualAddressSpace(address, size),
      started,
    );
  }
  async ReleasedVirtualAddressSpace(address: number): Promise<HostResult> {
    const started = performance.now();
    return this.called(
      'ReleasedVirtualAddressSpace',
      { address },
      await this.implReleasedVirtualAddressSpace(address),
      started,
    );
  }
  async CreateMalloc(mallocType: number): Promise<CreateMallocResult> {
    const started = performance.now();
    return this.called('CreateMalloc', { type: mallocType }, await this.implCreateMalloc(mallocType), started);
  }
  async heapAlloc(
    heap: HostHeap,
    method: 'Alloc' | 'DebugAlloc',
    size: number,
    level: number,
    file: string | undefined,
    line: number | undefined,
  ): Promise<HeapAllocResult> {
    const started = this.listeners.size > 0 ? performance.now() : Number.NaN;
    const tag = file === undefined ? undefined : `${file}:${line ?? 0}`;
    const r = await this.implHeapAlloc(heap, method, size, level, tag);
    if (this.listeners.size === 0) return r;
    const args: CallArgs =
      method === 'Alloc'
        ? { malloc: heap.id, size, level }
        : { malloc: heap.id, size, level, file: file ?? null, line: line ?? null };
    return this.called(method, args, r, started);
  }
  async heapFree(heap: HostHeap, address: number): Promise<HostResult> {
    const started = this.listeners.size > 0 ? performance.now() : Number.NaN;
    const r = await this.implHeapFree(heap, address);
    return this.listeners.size > 0 ? this.called('Free', { malloc: heap.id, address }, r, started) : r;
  }
  Fill(address: number, size: number, byte: number): Promise<HostResult> {
    if (this.listeners.size === 0) return this.implFill(address, size, byte);
    const started = performance.now();
    return this.implFill(address, size, byte).then((r) => this.called('Fill', { address, size, byte }, r, started));
  }
  Check(address: number, size: number, byte: number): Promise<CheckResult> {
    if (this.listeners.size === 0) return this.implCheck(address, size, byte);
    const started = performance.now();
    return this.implCheck(address, size, byte).then((r) => this.called('Check', { address, size, byte }, r, started));
  }

  // ---------------------------------------------------------------- VirtualAlloc

  private async implVirtualAlloc(
    address: number | null,
    size: number,
    type: number,
    protect: number,
    level: number,
    tag?: string,
  ): Promise<VirtualAllocResult> {
    const levelName = LEVELS[level];
    const group: FailureGroup = levelName ?? 'other';
    const failWith = (hr: number, reason: FailureReason): VirtualAllocResult =>
      this.fail<VirtualAllocResult>('VirtualAlloc', hr, reason, group, size, address, type, tag, { address: null });

    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (levelName === undefined || !Number.isInteger(level)) return failWith(HR.E_INVALIDARG, 'invalid');
    if (!isValidSize(size) || !isValidProtection(protect)) return failWith(HR.E_INVALIDARG, 'invalid');
    if (address !== null && !isValidAddress(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    const kind = allocKind(type, address !== null && address !== 0);
    if (kind === undefined) return failWith(HR.E_INVALIDARG, 'invalid');
    const at = address === 0 ? null : address;

    if (kind === 'reserve' || kind === 'reserve-commit') {
      return this.reserve(at, size, type, protect, levelName, tag, kind === 'reserve-commit', failWith);
    }
    // Commit, reset and reset-undo work inside one host reservation.
    const region = this.regions.containing(at!);
    if (region === undefined) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    const first = Math.floor((at! - region.base) / this.pageSize);
    const end = Math.ceil((at! + size - region.base) / this.pageSize);
    if (end > region.pages) return failWith(HR.ERROR_INVALID_ADDRESS, 'invalid');
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;

    if (kind === 'reset' || kind === 'reset-undo') {
      if (everyCommitted(region.runs, first, end) !== 'yes') return failWith(HR.ERROR_INVALID_ADDRESS, 'invalid');
      const r = kind === 'reset' ? this.os.reset(start, bytes) : this.os.resetUndo(start, bytes);
      if (!r.ok) {
        const f = this.osFailure(r.error, false);
        return failWith(f.hr, f.reason);
      }
      return { hr: HR.S_OK, address: start };
    }

    const charge = (end - first - committedPagesIn(region.runs, first, end)) * this.pageSize;
    if (!this.faults.empty && this.faults.fires('VirtualAlloc', levelName, bytes)) {
      this.processCriticalFailed(levelName, HR.E_OUTOFMEMORY);
      return failWith(HR.E_OUTOFMEMORY, 'injected');
    }
    let pending = false;
    if (charge > 0) {
      const verdict = this.fits(charge, levelName) ? 'go' : await this.admit(charge, levelName);
      if (typeof verdict === 'object') {
        this.processCriticalFailed(levelName, verdict.hr);
        return failWith(verdict.hr, verdict.reason);
      }
      pending = verdict === 'go-pending';
      // The region may have been released while this request waited.
      if (pending && this.regions.containing(region.base) !== region) {
        this.pendingCharge -= charge;
        return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
      }
    }
    const r = this.os.commit(start, bytes, protect);
    if (pending) this.pendingCharge -= charge;
    if (!r.ok) {
      const f = this.osFailure(r.error, false);
      this.processCriticalFailed(levelName, f.hr);
      return failWith(f.hr, f.reason);
    }
    const added = setRange(region.runs, first, end, protect) * this.pageSize;
    region.committed += added;
    this.committedBytes += added;
    this.emitRegion({ change: 'commit', base: region.base, address: start, size: bytes, protect });
    this.afterChange(false);
    return { hr: HR.S_OK, address: start };
  }

  private async reserve(
    address: number | null,
    size: number,
    type: number,
    protect: number,
    level: LevelName,
    tag: string | undefined,
    commit: boolean,
    failWith: (hr: number, reason: FailureReason) => VirtualAllocResult,
  ): Promise<VirtualAllocResult> {
    const G = this.allocationGranularity;
    const page = this.pageSize;
    // A reservation starts on a 64 KiB boundary and spans every page that holds a byte of the request.
    const base = address === null ? null : Math.floor(address / G) * G;
    const bytes = address === null ? Math.ceil(size / page) * page : Math.ceil((address + size) / page) * page - base!;
    if (base !== null && (base + bytes > USER_ADDRESS_LIMIT || this.regions.overlapping(base, bytes) !== undefined)) {
      return failWith(HR.ERROR_INVALID_ADDRESS, 'invalid');
    }
    const limit = this.currentPolicy.reserveLimit;
    if (limit !== null && this.reservedBytes + this.externalBytes + bytes > limit) {
      this.processCriticalFailed(level, HR.E_OUTOFMEMORY);
      return failWith(HR.E_OUTOFMEMORY, 'policy');
    }
    if (!this.faults.empty && this.faults.fires('VirtualAlloc', level, bytes)) {
      this.processCriticalFailed(level, HR.E_OUTOFMEMORY);
      return failWith(HR.E_OUTOFMEMORY, 'injected');
    }
    let pending = false;
    if (commit) {
      const verdict = this.fits(bytes, level) ? 'go' : await this.admit(bytes, level);
      if (typeof verdict === 'object') {
        this.processCriticalFailed(level, verdict.hr);
        return failWith(verdict.hr, verdict.reason);
      }
      pending = verdict === 'go-pending';
    }
    const r = this.os.reserve(base, bytes, (type & MEM.TOP_DOWN) !== 0);
    if (!r.ok) {
      if (pending) this.pendingCharge -= bytes;
      const f = this.osFailure(r.error, base !== null);
      this.processCriticalFailed(level, f.hr);
      return failWith(f.hr, f.reason);
    }
    const at = r.value;
    if (commit) {
      const c = this.os.commit(at, bytes, protect);
      if (pending) this.pendingCharge -= bytes;
      if (!c.ok) {
        this.os.release(at, bytes);
        const f = this.osFailure(c.error, false);
        this.processCriticalFailed(level, f.hr);
        return failWith(f.hr, f.reason);
      }
    }
    const pages = bytes / page;
    const region: Region = {
      base: at,
      size: bytes,
      pages,
      level,
      tag,
      allocationProtect: protect,
      created: this.now(),
      runs: commit ? [{ start: 0, end: pages, protect }] : [],
      committed: commit ? bytes : 0,
    };
    this.regions.insert(region);
    this.reservedBytes += bytes;
    this.committedBytes += region.committed;
    if (this.listeners.size > 0) {
      this.emitRegion({ change: 'reserve', base: at, size: bytes, level, tag });
      if (commit) this.emitRegion({ change: 'commit', base: at, address: at, size: bytes, protect });
    }
    if (commit) this.afterChange(false);
    return { hr: HR.S_OK, address: at };
  }

  // ---------------------------------------------------------------- VirtualFree

  private async implVirtualFree(address: number, size: number, freeType: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('VirtualFree', hr, reason, 'other', size, address, freeType, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (freeType !== MEM.DECOMMIT && freeType !== MEM.RELEASE) return failWith(HR.E_INVALIDARG, 'invalid');
    if (!Number.isSafeInteger(size) || size < 0 || !isValidAddress(address))
      return failWith(HR.E_INVALIDARG, 'invalid');
    const region = this.regions.containing(address);
    if (region === undefined) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');

    if (freeType === MEM.RELEASE) {
      if (size !== 0 || address !== region.base) return failWith(HR.E_INVALIDARG, 'invalid');
      const r = this.os.release(region.base, region.size);
      if (!r.ok) return failWith(HR.E_FAIL, 'os');
      this.regions.remove(region);
      this.reservedBytes -= region.size;
      this.committedBytes -= region.committed;
      this.emitRegion({ change: 'release', base: region.base, size: region.size });
      this.afterChange(true);
      return OK;
    }

    let first: number;
    let end: number;
    if (size === 0) {
      if (address !== region.base) return failWith(HR.E_INVALIDARG, 'invalid');
      first = 0;
      end = region.pages;
    } else {
      first = Math.floor((address - region.base) / this.pageSize);
      end = Math.ceil((address + size - region.base) / this.pageSize);
      if (end > region.pages) return failWith(HR.ERROR_INVALID_ADDRESS, 'invalid');
    }
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;
    if (committedPagesIn(region.runs, first, end) > 0) {
      const r = this.os.decommit(start, bytes);
      if (!r.ok) return failWith(HR.E_FAIL, 'os');
    }
    const removed = clearRange(region.runs, first, end) * this.pageSize;
    region.committed -= removed;
    this.committedBytes -= removed;
    this.emitRegion({ change: 'decommit', base: region.base, address: start, size: bytes });
    this.afterChange(removed > 0);
    return OK;
  }

  // ---------------------------------------------------------------- VirtualQuery, VirtualProtect

  private async implVirtualQuery(address: number): Promise<VirtualQueryResult> {
    const failWith = (hr: number, reason: FailureReason): VirtualQueryResult =>
      this.fail<VirtualQueryResult>('VirtualQuery', hr, reason, 'other', 0, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidAddress(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    const region = this.regions.containing(address);
    if (region !== undefined) {
      return { hr: HR.S_OK, info: this.describe(region, address) };
    }
    const r = this.os.query(address);
    if (!r.ok) return failWith(HR.E_FAIL, 'os');
    const i = r.value;
    return {
      hr: HR.S_OK,
      info: {
        baseAddress: i.baseAddress,
        allocationBase: i.allocationBase,
        allocationProtect: i.allocationProtect,
        regionSize: i.regionSize,
        state: i.state,
        protect: i.protect,
        type: i.type,
        owned: false,
      },
    };
  }

  /** MEMORY_BASIC_INFORMATION of an owned address, from the books. */
  private describe(region: Region, address: number): HostQueryInfo {
    const page = Math.floor((address - region.base) / this.pageSize);
    const run = runAt(region.runs, page, region.pages);
    return {
      baseAddress: region.base + page * this.pageSize,
      allocationBase: region.base,
      allocationProtect: region.allocationProtect,
      regionSize: (run.end - page) * this.pageSize,
      state: run.protect === 0 ? 'MEM_RESERVE' : 'MEM_COMMIT',
      protect: run.protect,
      type: 'MEM_PRIVATE',
      owned: true,
      level: region.level,
      tag: region.tag,
    };
  }

  private async implVirtualProtect(address: number, size: number, protect: number): Promise<VirtualProtectResult> {
    const failWith = (hr: number, reason: FailureReason): VirtualProtectResult =>
      this.fail<VirtualProtectResult>('VirtualProtect', hr, reason, 'other', size, address, protect, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidSize(size) || !isValidProtection(protect) || !isValidAddress(address)) {
      return failWith(HR.E_INVALIDARG, 'invalid');
    }
    const region = this.regions.containing(address);
    if (region === undefined) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    const first = Math.floor((address - region.base) / this.pageSize);
    const end = Math.ceil((address + size - region.base) / this.pageSize);
    if (end > region.pages || everyCommitted(region.runs, first, end) !== 'yes') {
      return failWith(HR.ERROR_INVALID_ADDRESS, 'invalid');
    }
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;
    const old = runAt(region.runs, first, region.pages).protect;
    const r = this.os.protect(start, bytes, protect);
    if (!r.ok) return failWith(HR.E_FAIL, 'os');
    setRange(region.runs, first, end, protect);
    this.emitRegion({ change: 'protect', base: region.base, address: start, size: bytes, protect });
    return { hr: HR.S_OK, oldProtect: old };
  }

  // ---------------------------------------------------------------- load and notifications

  private async implGetMemoryLoad(): Promise<MemoryLoadResult> {
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

  private async implRegisterMemoryNotificationCallback(
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

  // ---------------------------------------------------------------- external address space

  private async implNeedsVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('NeedsVirtualAddressSpace', hr, reason, 'other', size, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidSize(size) || !isValidAddress(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    const limit = this.currentPolicy.reserveLimit;
    if (limit !== null && this.reservedBytes + this.externalBytes + size > limit) {
      return failWith(HR.E_OUTOFMEMORY, 'policy');
    }
    return OK;
  }

  private async implAcquiredVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('AcquiredVirtualAddressSpace', hr, reason, 'other', size, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidSize(size) || !isValidAddress(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    // Reported twice at the same start: the client's books are wrong, not the host's.
    if (this.external.has(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    this.external.set(address, size);
    this.externalBytes += size;
    if (this.listeners.size > 0) {
      this.emit({ kind: 'external', seq: ++this.seq, time: this.now(), change: 'acquired', address, size });
    }
    return OK;
  }

  private async implReleasedVirtualAddressSpace(address: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('ReleasedVirtualAddressSpace', hr, reason, 'other', 0, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    const size = this.external.get(address);
    if (size === undefined) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    this.external.delete(address);
    this.externalBytes -= size;
    if (this.listeners.size > 0) {
      this.emit({ kind: 'external', seq: ++this.seq, time: this.now(), change: 'released', address, size });
    }
    return OK;
  }

  // ---------------------------------------------------------------- host heaps

  private async implCreateMalloc(mallocType: number): Promise<CreateMallocResult> {
    const failWith = (hr: number, reason: FailureReason): CreateMallocResult =>
      this.fail<CreateMallocResult>('CreateMalloc', hr, reason, 'other', 0, null, mallocType, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (
      !Number.isInteger(mallocType) ||
      (mallocType & ~(MALLOC_THREADSAFE | MALLOC_EXECUTABLE)) !== 0 ||
      mallocType < 0
    ) {
      return failWith(HR.E_INVALIDARG, 'invalid');
    }
    const r = this.os.heapCreate({
      threadSafe: (mallocType & MALLOC_THREADSAFE) !== 0,
      executable: (mallocType & MALLOC_EXECUTABLE) !== 0,
    });
    if (!r.ok) {
      const f = this.osFailure(r.error, false);
      return failWith(f.hr, f.reason);
    }
    const heap = new HostHeap(this.nextHeapId++, r.value, this);
    this.heaps.set(heap.id, heap);
    return { hr: HR.S_OK, malloc: heap.id };
  }

  malloc(id: number): HostMalloc | undefined {
    return this.heaps.get(id);
  }

  /** IHostMalloc::Alloc / DebugAlloc: the same policy as VirtualAlloc, charged with the block's bytes. */
  private async implHeapAlloc(
    heap: HostHeap,
    method: 'Alloc' | 'DebugAlloc',
    size: number,
    level: number,
    tag: string | undefined,
  ): Promise<HeapAllocResult> {
    const levelName = LEVELS[level];
    const failWith = (hr: number, reason: FailureReason): HeapAllocResult =>
      this.fail<HeapAllocResult>(method, hr, reason, levelName ?? 'other', size, null, 0, tag, { address: null });
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (levelName === undefined || !Number.isInteger(level) || !isValidSize(size))
      return failWith(HR.E_INVALIDARG, 'invalid');
    if (this.heaps.get(heap.id) !== heap) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    if (!this.faults.empty && this.faults.fires(method, levelName, size)) {
      this.processCriticalFailed(levelName, HR.E_OUTOFMEMORY);
      return failWith(HR.E_OUTOFMEMORY, 'injected');
    }
    const verdict = this.fits(size, levelName) ? 'go' : await this.admit(size, levelName);
    if (typeof verdict === 'object') {
      this.processCriticalFailed(levelName, verdict.hr);
      return failWith(verdict.hr, verdict.reason);
    }
    const r = this.os.heapAlloc(heap.osHeap, size);
    if (verdict === 'go-pending') this.pendingCharge -= size;
    if (!r.ok) {
      const f = this.osFailure(r.error, false);
      this.processCriticalFailed(levelName, f.hr);
      return failWith(f.hr, f.reason);
    }
    const block: HeapBlock = { base: r.value, size, heap, level: levelName, tag };
    this.heapBlocks.insert(block);
    this.heapBytes += size;
    this.afterChange(false);
    return { hr: HR.S_OK, address: block.base };
  }

  private async implHeapFree(heap: HostHeap, address: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('Free', hr, reason, 'other', 0, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    const block = this.heapBlocks.containing(address);
    if (block === undefined || block.base !== address || block.heap !== heap) {
      return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    }
    const r = this.os.heapFree(heap.osHeap, address);
    if (!r.ok) return failWith(HR.E_FAIL, 'os');
    this.heapBlocks.remove(address);
    this.heapBytes -= block.size;
    this.afterChange(true);
    return OK;
  }

  // ---------------------------------------------------------------- Fill / Check

  /** Where [address, address+size) may be touched: the HRESULT that refuses it, or 0. */
  private touchable(address: number, size: number, accept: (protect: number) => boolean): number {
    const region = this.regions.containing(address);
    if (region !== undefined) {
      const first = Math.floor((address - region.base) / this.pageSize);
      const end = Math.ceil((address + size - region.base) / this.pageSize);
      if (end > region.pages) return HR.ERROR_INVALID_ADDRESS;
      const verdict = everyCommitted(region.runs, first, end, accept);
      if (verdict === 'uncommitted') return HR.ERROR_INVALID_ADDRESS;
      return verdict === 'refused' ? HR.ERROR_NOACCESS : 0;
    }
    const block = this.heapBlocks.containing(address);
    if (block !== undefined) return address + size <= block.base + block.size ? 0 : HR.ERROR_INVALID_ADDRESS;
    return HR.HOST_E_INVALIDOPERATION;
  }

  /** Why Fill/Check may not touch [address, address+size) with `byte`: an HRESULT, or 0 when they may. */
  private touchRefusal(address: number, size: number, byte: number, accept: (protect: number) => boolean): number {
    if (this.state === 'unavailable') return HR.HOST_E_CLRNOTAVAILABLE;
    if (!isValidSize(size) || !isValidAddress(address) || !Number.isInteger(byte) || byte < 0 || byte > 255) {
      return HR.E_INVALIDARG;
    }
    return this.touchable(address, size, accept);
  }

  private touchFailure<T extends HostResult>(method: 'Fill' | 'Check', hr: number, address: number, size: number): T {
    const reason: FailureReason = hr === HR.HOST_E_CLRNOTAVAILABLE ? 'unavailable' : 'invalid';
    return this.fail<T>(method, hr, reason, 'other', size, address, 0, undefined, {} as Omit<T, 'hr' | 'reason'>);
  }

  private async implFill(address: number, size: number, byte: number): Promise<HostResult> {
    const refused = this.touchRefusal(address, size, byte, isWritable);
    if (refused !== 0) return this.touchFailure<HostResult>('Fill', refused, address, size);
    this.os.fill(address, size, byte);
    return OK;
  }

  private async implCheck(address: number, size: number, byte: number): Promise<CheckResult> {
    const refused = this.touchRefusal(address, size, byte, isReadable);
    if (refused !== 0) return this.touchFailure<CheckResult>('Check', refused, address, size);
    return { hr: HR.S_OK, equal: this.os.compare(address, size, byte) };
  }

  // ---------------------------------------------------------------- books

  stats(): HostStats {
    return {
      reserved: this.reservedBytes,
      committed: this.committedBytes,
      external: this.externalBytes,
      heap: this.heapBytes,
      regions: this.regions.size,
      state: this.state,
      failures: { ...this.failureCounts },
    };
  }

  /** Live regions in address order (the UI's allocation list; reports). */
  regionList(): Region[] {
    return this.regions.sorted();
  }

  /** The host reservation holding `address` (the region map's lookup, O(log n)). */
  regionAt(address: number): Region | undefined {
    return this.regions.containing(address);
  }

  /** The page map of the reservation holding `address`: every run, reserved gaps included. */
  pageMap(address: number): { region: Region; runs: PageRun[] } | undefined {
    const region = this.regions.containing(address);
    return region && { region, runs: fullMap(region.runs, region.pages) };
  }

  audit(): AuditResult {
    const list = this.regions.sorted();
    const drift: AuditDrift[] = [];
    const r = this.os.queryRanges(list.map((g) => [g.base, g.size] as const));
    if (!r.ok) {
      // The OS could not be asked: that is drift of everything, reported rather than hidden.
      for (const g of list)
        drift.push({ base: g.base, address: g.base, size: g.size, books: 'held', os: `unknown (${r.error.message})` });
      return { drift, regions: list.length, bytes: this.reservedBytes };
    }
    const page = this.pageSize;
    list.forEach((region, i) => {
      const osRuns = r.value[i]!;
      const books = fullMap(region.runs, region.pages);
      let b = 0;
      let pending: AuditDrift | undefined;
      const flush = (): void => {
        if (pending) drift.push(pending);
        pending = undefined;
      };
      for (const run of osRuns) {
        const runStart = (run.baseAddress - region.base) / page;
        const runEnd = runStart + run.regionSize / page;
        let cursor = runStart;
        while (cursor < runEnd) {
          while (b < books.length && books[b]!.end <= cursor) b++;
          const book = books[b];
          if (book === undefined) break;
          const to = Math.min(runEnd, book.end);
          const booksSay = book.protect === 0 ? 'MEM_RESERVE' : `MEM_COMMIT ${this.os.effectiveProtect(book.protect)}`;
          const osSays = run.state === 'MEM_COMMIT' ? `MEM_COMMIT ${run.protect}` : run.state;
          if (booksSay !== osSays) {
            const address = region.base + cursor * page;
            const size = (to - cursor) * page;
            if (
              pending &&
              pending.address + pending.size === address &&
              pending.books === booksSay &&
              pending.os === osSays
            ) {
              pending = { ...pending, size: pending.size + size };
            } else {
              flush();
              pending = { base: region.base, address, size, books: booksSay, os: osSays };
            }
          }
          cursor = to;
        }
      }
      flush();
    });
    return { drift, regions: list.length, bytes: this.reservedBytes };
  }

  dispose(): void {
    for (const w of this.waiters.splice(0)) w.settle('abandoned');
    for (const region of this.regions) this.os.release(region.base, region.size);
    this.regions.clear();
    for (const heap of this.heaps.values()) this.os.heapDestroy(heap.osHeap);
    this.heaps.clear();
    this.heapBlocks.clear();
    this.reservedBytes = 0;
    this.committedBytes = 0;
    this.heapBytes = 0;
  }
}
