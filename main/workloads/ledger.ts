/**
 * A workload's own books: what it holds on the shared host (reservations with their committed pages, heap blocks,
 * external address space), its calls and failures, and its peaks. `TrackedHost` is the HostMemoryManager a
 * workload is given: every call goes to the real host, and its result updates the ledger.
 *
 * What it holds is adopted from its own successful calls (a reservation, a heap block, Acquired address space);
 * changes to what it holds (commit, decommit, protect, release, Free) are read from the host's event stream, so
 * the books stay right when someone else (the UI's Release button, another script) touches the same memory.
 *
 * Ledgers are registered per host, so the script bridge can refuse a script's writes to memory that another
 * workload holds.
 */
import { MEM } from '../../native';
import {
  HR,
  HostWrapper,
  LEVELS,
  callLevel,
  hresultName,
  type FailureCounts,
  type HeapAllocResult,
  type HostEvent,
  type HostMalloc,
  type HostMemoryManager,
  type HostResult,
  type VirtualAllocResult,
  type WrappedCall,
} from '../host';
import type { Holdings, MemoryFigures } from './types';

interface HeldRegion {
  readonly base: number;
  readonly size: number;
  /** 1 per committed page. */
  readonly pages: Uint8Array;
  committed: number;
}

interface HeldBlock {
  readonly heap: number;
  readonly size: number;
}

const registry = new WeakMap<HostMemoryManager, Set<Ledger>>();

function emptyFailures(): FailureCounts {
  return { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 };
}

export const EMPTY_HOLDINGS: Holdings = Object.freeze({
  regions: 0,
  reserved: 0,
  committed: 0,
  heapBlocks: 0,
  heapBytes: 0,
  external: 0,
});

export class Ledger {
  private readonly regions = new Map<number, HeldRegion>();
  /** Bases in address order, for "which region holds this address". */
  private bases: number[] = [];
  private readonly blocks = new Map<number, HeldBlock>();
  private readonly externals = new Map<number, number>();
  private readonly kept = new Set<number>();
  private readonly page: number;
  private readonly granularity: number;
  private unsubscribe: (() => void) | undefined;

  reserved = 0;
  committed = 0;
  heapBytes = 0;
  externalBytes = 0;
  readonly peak = { reserved: 0, committed: 0, heap: 0 };

  calls = 0;
  readonly callsByMethod: Record<string, number> = {};
  readonly failures: FailureCounts = emptyFailures();
  readonly failuresByHr: Record<string, number> = {};
  rejectedCalls = 0;

  constructor(readonly host: HostMemoryManager) {
    this.page = host.pageSize;
    this.granularity = host.allocationGranularity;
  }

  /** Start following the host's events and become visible to other workloads' ownership checks. */
  attach(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.host.subscribe((e) => this.onEvent(e));
    let set = registry.get(this.host);
    if (!set) registry.set(this.host, (set = new Set()));
    set.add(this);
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    registry.get(this.host)?.delete(this);
  }

  // ------------------------------------------------------------------ calls and failures

  /** Count one host call and, when it failed, its failure by level (as the host groups them) and by HRESULT. */
  record(method: string, level: number | undefined, hr: number): void {
    this.calls++;
    this.callsByMethod[method] = (this.callsByMethod[method] ?? 0) + 1;
    if (hr !== HR.S_OK) {
      const group = level === undefined ? 'other' : (LEVELS[level] ?? 'other');
      this.failures[group]++;
      const name = hresultName(hr);
      this.failuresByHr[name] = (this.failuresByHr[name] ?? 0) + 1;
    }
  }

  // ------------------------------------------------------------------ what it holds

  /** After a successful VirtualAlloc: adopt a new reservation (the size follows the spec's rounding rule). */
  afterAlloc(address: number | null, size: number, type: number, result: VirtualAllocResult): void {
    if (result.hr !== HR.S_OK || result.address === null) return;
    if ((type & MEM.RESERVE) === 0 && address !== null) return; // commit/reset inside a reservation: events tell
    const base = result.address;
    const bytes =
      address === null
        ? Math.ceil(size / this.page) * this.page
        : Math.ceil((address + size) / this.page) * this.page -
          Math.floor(address / this.granularity) * this.granularity;
    const pages = new Uint8Array(bytes / this.page);
    const commit = (type & MEM.COMMIT) !== 0;
    if (commit) pages.fill(1);
    this.regions.set(base, { base, size: bytes, pages, committed: commit ? bytes : 0 });
    this.insertBase(base);
    this.reserved += bytes;
    if (commit) this.committed += bytes;
    this.updatePeak();
  }

  afterHeapAlloc(heap: number, size: number, result: HeapAllocResult): void {
    if (result.hr !== HR.S_OK || result.address === null) return;
    this.blocks.set(result.address, { heap, size });
    this.heapBytes += size;
    this.updatePeak();
  }

  afterAcquired(address: number, size: number, result: HostResult): void {
    if (result.hr !== HR.S_OK) return;
    this.externals.set(address, size);
    this.externalBytes += size;
  }

  keep(address: number): void {
    if (this.regions.has(address) || this.blocks.has(address) || this.externals.has(address)) this.kept.add(address);
  }

  /** The reservation base holding `address`, when this workload holds it. */
  regionAt(address: number): number | undefined {
    const bases = this.bases;
    let lo = 0;
    let hi = bases.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const base = bases[mid]!;
      if (base > address) hi = mid - 1;
      else {
        const region = this.regions.get(base)!;
        if (address < base + region.size) return base;
        lo = mid + 1;
      }
    }
    return undefined;
  }

  /** Whether `address` is memory this workload holds (inside a reservation, a heap block's start, external). */
  holds(address: number): boolean {
    return this.regionAt(address) !== undefined || this.blocks.has(address) || this.externals.has(address);
  }

  ownsHeapBlock(address: number): boolean {
    return this.blocks.has(address);
  }

  /** Whether another workload on the same host holds `address`. */
  heldByAnother(address: number): boolean {
    for (const other of registry.get(this.host) ?? []) {
      if (other !== this && other.holds(address)) return true;
    }
    return false;
  }

  holdings(): Holdings {
    return {
      regions: this.regions.size,
      reserved: this.reserved,
      committed: this.committed,
      heapBlocks: this.blocks.size,
      heapBytes: this.heapBytes,
      external: this.externalBytes,
    };
  }

  peaks(): MemoryFigures {
    return { ...this.peak };
  }

  private updatePeak(): void {
    if (this.reserved > this.peak.reserved) this.peak.reserved = this.reserved;
    if (this.committed > this.peak.committed) this.peak.committed = this.committed;
    if (this.heapBytes > this.peak.heap) this.peak.heap = this.heapBytes;
  }

  private insertBase(base: number): void {
    const bases = this.bases;
    let lo = 0;
    let hi = bases.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bases[mid]! < base) lo = mid + 1;
      else hi = mid;
    }
    bases.splice(lo, 0, base);
  }

  private removeBase(base: number): void {
    const i = this.bases.indexOf(base);
    if (i >= 0) this.bases.splice(i, 1);
  }

  // ------------------------------------------------------------------ the host's events

  private setPages(region: HeldRegion, address: number, size: number, value: 0 | 1): void {
    const first = Math.max(0, Math.floor((address - region.base) / this.page));
    const end = Math.min(region.pages.length, Math.ceil((address + size - region.base) / this.page));
    let changed = 0;
    const pages = region.pages;
    for (let p = first; p < end; p++) {
      if (pages[p] !== value) {
        pages[p] = value;
        changed++;
      }
    }
    const delta = changed * this.page * (value === 1 ? 1 : -1);
    region.committed += delta;
    this.committed += delta;
    if (value === 1) this.updatePeak();
  }

  private onEvent(e: HostEvent): void {
    if (e.kind === 'region') {
      const change = e.region;
      const region = this.regions.get(change.base);
      if (!region) return;
      if (change.change === 'commit') this.setPages(region, change.address, change.size, 1);
      else if (change.change === 'decommit') this.setPages(region, change.address, change.size, 0);
      else if (change.change === 'release') {
        this.regions.delete(region.base);
        this.removeBase(region.base);
        this.kept.delete(region.base);
        this.reserved -= region.size;
        this.committed -= region.committed;
      }
    } else if (e.kind === 'call' && e.method === 'Free' && e.result.hr === HR.S_OK) {
      const address = e.args.address;
      const block = typeof address === 'number' ? this.blocks.get(address) : undefined;
      if (block && typeof address === 'number') {
        this.blocks.delete(address);
        this.kept.delete(address);
        this.heapBytes -= block.size;
      }
    } else if (e.kind === 'external' && e.change === 'released') {
      const size = this.externals.get(e.address);
      if (size !== undefined) {
        this.externals.delete(e.address);
        this.kept.delete(e.address);
        this.externalBytes -= size;
      }
    }
  }

  // ------------------------------------------------------------------ the end

  /** What `keep` marked and is still held. */
  keptHoldings(): Holdings {
    let regions = 0;
    let reserved = 0;
    let committed = 0;
    let heapBlocks = 0;
    let heapBytes = 0;
    let external = 0;
    for (const address of this.kept) {
      const region = this.regions.get(address);
      if (region) {
        regions++;
        reserved += region.size;
        committed += region.committed;
      }
      const block = this.blocks.get(address);
      if (block) {
        heapBlocks++;
        heapBytes += block.size;
      }
      external += this.externals.get(address) ?? 0;
    }
    return { regions, reserved, committed, heapBlocks, heapBytes, external };
  }

  /**
   * Release everything held that `keep` did not mark, through the real host (not counted as the workload's calls).
   * `pending` when the host was unavailable and some of it could not be released yet.
   */
  async releaseAll(): Promise<{ released: Holdings; pending: boolean }> {
    const released = { regions: 0, reserved: 0, committed: 0, heapBlocks: 0, heapBytes: 0, external: 0 };
    // Every call would answer HOST_E_CLRNOTAVAILABLE (and add a failure event): wait for a reset without asking.
    let pending = this.host.stats().state === 'unavailable' && this.hasUnkept();
    const unavailable = (r: HostResult): boolean => {
      if (r.hr === HR.HOST_E_CLRNOTAVAILABLE) pending = true;
      return pending;
    };
    for (const [address, block] of pending ? [] : [...this.blocks]) {
      if (this.kept.has(address)) continue;
      const heap: HostMalloc | undefined = this.host.malloc(block.heap);
      const r = heap ? await heap.Free(address) : { hr: HR.HOST_E_INVALIDOPERATION };
      if (unavailable(r)) break;
      if (r.hr === HR.S_OK) {
        released.heapBlocks++;
        released.heapBytes += block.size;
      }
      this.forgetBlock(address);
    }
    for (const [base, region] of pending ? [] : [...this.regions]) {
      if (this.kept.has(base)) continue;
      const committed = region.committed;
      const r = await this.host.VirtualFree(base, 0, MEM.RELEASE);
      if (unavailable(r)) break;
      if (r.hr === HR.S_OK) {
        released.regions++;
        released.reserved += region.size;
        released.committed += committed;
      }
      this.forgetRegion(base);
    }
    for (const [address, size] of pending ? [] : [...this.externals]) {
      if (this.kept.has(address)) continue;
      const r = await this.host.ReleasedVirtualAddressSpace(address);
      if (unavailable(r)) break;
      if (r.hr === HR.S_OK) released.external += size;
      this.forgetExternal(address);
    }
    return { released, pending };
  }

  private hasUnkept(): boolean {
    for (const map of [this.regions, this.blocks, this.externals] as ReadonlyArray<ReadonlyMap<number, unknown>>) {
      for (const address of map.keys()) if (!this.kept.has(address)) return true;
    }
    return false;
  }

  /** Drop entries that the host no longer has (released by someone else while no event reached us). */
  private forgetRegion(base: number): void {
    const region = this.regions.get(base);
    if (!region) return;
    this.regions.delete(base);
    this.removeBase(base);
    this.reserved -= region.size;
    this.committed -= region.committed;
  }

  private forgetBlock(address: number): void {
    const block = this.blocks.get(address);
    if (!block) return;
    this.blocks.delete(address);
    this.heapBytes -= block.size;
  }

  private forgetExternal(address: number): void {
    const size = this.externals.get(address);
    if (size === undefined) return;
    this.externals.delete(address);
    this.externalBytes -= size;
  }
}

/**
 * The host as a workload sees it: the real host's answers, with every call counted in the workload's ledger.
 * The generic `HostWrapper` with one hook after each call (the table of calls says which argument is the level).
 * `dispose` is refused (the host is not the workload's to dispose).
 */
export class TrackedHost extends HostWrapper {
  constructor(
    /** The host behind the wrapper (the runner's own calls, the shared workload heap). */
    inner: HostMemoryManager,
    readonly ledger: Ledger,
    /** Called after each counted call (the runner checks maxCalls there). */
    private readonly afterCall: () => void,
  ) {
    super(inner);
  }

  called(method: string, level: number | undefined, hr: number): void {
    this.ledger.record(method, level, hr);
    this.afterCall();
  }

  protected before(): void {}

  protected after(call: WrappedCall, r: HostResult): void {
    switch (call.method) {
      case 'VirtualAlloc': {
        const [address, size, type] = call.args;
        this.ledger.afterAlloc(address, size, type, r as VirtualAllocResult);
        break;
      }
      case 'Alloc':
      case 'DebugAlloc':
        this.ledger.afterHeapAlloc(call.heap, call.args[0], r as HeapAllocResult);
        break;
      case 'AcquiredVirtualAddressSpace':
        this.ledger.afterAcquired(call.args[0], call.args[1], r);
        break;
    }
    this.called(call.method, callLevel(call.method, call.args), r.hr);
  }

  override dispose(): void {
    throw new Error('a workload may not dispose the host');
  }
}
