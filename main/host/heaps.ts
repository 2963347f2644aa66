/**
 * The host's heaps (IHostMalloc): CreateMalloc, Alloc, DebugAlloc and Free over OS heaps, admitted by the same
 * policy as VirtualAlloc and charged to the commit limit with the bytes asked for.
 */
import type { OsMemory } from '../../native/os-memory';
import { AdmissionHost } from './admission';
import { OK } from './base';
import { isValidSize } from './flags';
import { HR } from './hresult';
import { SortedIndex } from './sorted-index';
import {
  LEVELS,
  MALLOC_EXECUTABLE,
  MALLOC_THREADSAFE,
  type CreateMallocResult,
  type FailureReason,
  type HeapAllocResult,
  type HostMalloc,
  type HostPolicy,
  type HostResult,
  type LevelName,
} from './types';

export interface HeapBlock {
  readonly base: number;
  readonly size: number;
  readonly heap: HostHeap;
  readonly level: LevelName;
  readonly tag: string | undefined;
}

export class HostHeap implements HostMalloc {
  constructor(
    readonly id: number,
    readonly osHeap: number,
    private readonly host: HeapHost,
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

export abstract class HeapHost extends AdmissionHost {
  protected readonly heapBlocks = new SortedIndex<HeapBlock>();
  private readonly heaps = new Map<number, HostHeap>();
  private nextHeapId = 1;

  constructor(os: OsMemory, policy: HostPolicy, now: () => number) {
    super(os, policy, now);
  }

  CreateMalloc(mallocType: number): Promise<CreateMallocResult> {
    const started = this.callStart;
    const answer = this.implCreateMalloc(mallocType);
    return this.listening
      ? this.told('CreateMalloc', [mallocType], answer, started)
      : this.counted('CreateMalloc', answer);
  }

  /** IHostMalloc::Alloc and DebugAlloc of `heap` (its methods call here). */
  heapAlloc(
    heap: HostHeap,
    method: 'Alloc' | 'DebugAlloc',
    size: number,
    level: number,
    file: string | undefined,
    line: number | undefined,
  ): Promise<HeapAllocResult> {
    const tag = file === undefined ? undefined : `${file}:${line ?? 0}`;
    const started = this.callStart;
    const answer = this.implHeapAlloc(heap, method, size, level, tag);
    if (!this.listening) return this.counted(method, answer);
    return this.told(method, method === 'Alloc' ? [size, level] : [size, level, file, line], answer, started, heap.id);
  }

  /** IHostMalloc::Free of `heap`. */
  heapFree(heap: HostHeap, address: number): Promise<HostResult> {
    const started = this.callStart;
    const answer = this.implHeapFree(heap, address);
    return this.listening ? this.told('Free', [address], answer, started, heap.id) : this.counted('Free', answer);
  }

  protected async implCreateMalloc(mallocType: number): Promise<CreateMallocResult> {
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
  protected async implHeapAlloc(
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

  protected async implHeapFree(heap: HostHeap, address: number): Promise<HostResult> {
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

  /** Destroy every heap (dispose). */
  protected disposeHeaps(): void {
    for (const heap of this.heaps.values()) this.os.heapDestroy(heap.osHeap);
    this.heaps.clear();
    this.heapBlocks.clear();
    this.heapBytes = 0;
  }
}
