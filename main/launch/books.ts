/**
 * The books of one launched process: what its hooked calls did to its memory, kept by the same rules as the agent
 * keeps its own (native/agent/linux/agent.c, "the map"), so the two agree to the byte (tested) — live mappings with
 * their page map and call site, live heap blocks, committed / reserved / heap bytes and their peaks, failures by
 * critical level with reasons, call stacks with what each allocated, and notifications against the commit limit.
 *
 * It answers what hostmem's telemetry reads of a host (`stats`, `regionList`, `regionAt`, `policy`, `memoryState`,
 * `subscribe`), so the sampler, snapshots and live reports serve a launched program as they serve hostmem's own host.
 */
import { clearRange, committedPagesIn, setRange, type PageRun } from '../host/page-runs';
import { SortedIndex } from '../host/sorted-index';
import {
  classifyLoad,
  DEFAULT_POLICY,
  HR,
  MEMORY_AVAILABLE,
  type FailureCounts,
  type FailureEvent,
  type FailureReason,
  type HostEvent,
  type HostEventListener,
  type HostMethod,
  type HostPolicy,
  type HostState,
  type HostStats,
  type LevelName,
  type MemoryAvailable,
  type Region,
} from '../host';
import { LEVELS, MEM, PAGE, type Backend } from '../vocabulary';
import { AddressTable } from './address-table';
import { EV, OP, OP_FUNCTION, RESULT } from './protocol';
import type { AgentEvent, EventColumns } from './wire';

/** One mapping the program made through a hooked call (a host Region, plus what Linux says of it). */
export interface LaunchRegion extends Region {
  size: number;
  pages: number;
  /** PROT_* of the pages (the last mprotect over the whole region, or the mmap's). */
  prot: number;
  /** Private (or shared anonymous) and not MAP_NORESERVE: writable pages are charged. */
  readonly chargeable: boolean;
  /** Made by the allocator inside a heap call: kept, never charged (its blocks are). */
  readonly inHeap: boolean;
  readonly file: boolean;
  /** The call stack that made it (0: none). */
  readonly stack: number;
  readonly op: number;
}

export interface HeapBlock {
  readonly size: number;
  readonly usable: number;
  readonly stack: number;
  readonly level: LevelName;
  readonly time: number;
}

/** A call stack and what the calls that carried it did. Heap figures of sampled stacks are estimates (weighted). */
export interface StackStats {
  readonly id: number;
  readonly frames: readonly number[];
  calls: number;
  allocated: number;
  live: number;
  liveBlocks: number;
  peakLive: number;
  refused: number;
}

export interface LaunchTotals {
  committed: number;
  reserved: number;
  heap: number;
  heapRequested: number;
}

export interface LaunchPeaks {
  committed: number;
  reserved: number;
  heap: number;
  heapRequested: number;
  /** committed + heap: what the commit limit is charged with. */
  charged: number;
}

/** Calls by op function (`malloc`, `mmap`, …): made, refused. */
export type CallCounts = Record<string, { calls: number; refused: number; failed: number }>;

/** PROT_* → PAGE_*, as native/posix maps them. */
export function pageProtect(prot: number): number {
  const r = (prot & 1) !== 0;
  const w = (prot & 2) !== 0;
  const x = (prot & 4) !== 0;
  if (x) return w ? PAGE.EXECUTE_READWRITE : r ? PAGE.EXECUTE_READ : PAGE.EXECUTE;
  if (w) return PAGE.READWRITE;
  return r ? PAGE.READONLY : PAGE.NOACCESS;
}

/** What the host's books would call each op: the virtual family is VirtualAlloc/Free/Protect, the heap Alloc/Free. */
export function hostMethodOf(op: number): HostMethod {
  switch (op) {
    case OP.MMAP:
    case OP.MREMAP:
    case OP.VIRTUAL_ALLOC:
      return 'VirtualAlloc';
    case OP.MUNMAP:
    case OP.MADVISE:
    case OP.VIRTUAL_FREE:
      return 'VirtualFree';
    case OP.MPROTECT:
    case OP.VIRTUAL_PROTECT:
      return 'VirtualProtect';
    case OP.VIRTUAL_QUERY:
      return 'VirtualQuery';
    case OP.FREE:
    case OP.HEAP_FREE:
      return 'Free';
    default:
      return 'Alloc';
  }
}

const REASONS: Readonly<Record<number, FailureReason>> = {
  [RESULT.REFUSED_POLICY]: 'policy',
  [RESULT.REFUSED_INJECTED]: 'injected',
  [RESULT.OS_ERROR]: 'os',
  [RESULT.REFUSED_UNAVAILABLE]: 'unavailable',
  [RESULT.REFUSED_TIMEOUT]: 'timeout',
};

/** The HRESULT the books record for a call's result. */
export function hresultOf(result: number): number {
  switch (result) {
    case RESULT.OK:
      return HR.S_OK;
    case RESULT.REFUSED_TIMEOUT:
      return HR.HOST_E_TIMEOUT;
    case RESULT.REFUSED_UNAVAILABLE:
      return HR.HOST_E_CLRNOTAVAILABLE;
    default:
      return HR.E_OUTOFMEMORY;
  }
}

export interface LaunchBooksOptions {
  readonly pid: number;
  readonly pageSize: number;
  readonly backend: Backend;
  readonly policy?: HostPolicy;
  /** Heap sampling period of the agent (bytes; 0 = every call has its stack): the weight of a sampled call. */
  readonly sampleBytes: number;
  /** Names the innermost frame of a stack that is the program's (for region tags and failure tags). */
  readonly callSite?: (stack: number) => string | undefined;
}

export class LaunchBooks {
  readonly backend: Backend;
  readonly pageSize: number;
  readonly allocationGranularity: number;
  readonly pid: number;
  private readonly regions = new SortedIndex<LaunchRegion>();
  private blocks = new AddressTable();
  /** Calls by op code: made, refused by the policy, failed by the OS. */
  private readonly opCalls = new Float64Array(64);
  private readonly opRefused = new Float64Array(64);
  private readonly opFailed = new Float64Array(64);
  private readonly stacks: StackStats[] = [];
  /** Stacks by the hash of their frames (a bucket holds the ids that share it). */
  private readonly stackIds = new Map<number, number[]>();
  private readonly listeners = new Set<HostEventListener>();
  private currentPolicy: HostPolicy;
  private state: HostState = 'available';
  private cause = '';
  private memoryAvailable: MemoryAvailable = MEMORY_AVAILABLE.Neutral;
  private seq = 0;
  readonly totals: LaunchTotals = { committed: 0, reserved: 0, heap: 0, heapRequested: 0 };
  readonly peaks: LaunchPeaks = { committed: 0, reserved: 0, heap: 0, heapRequested: 0, charged: 0 };
  readonly failureCounts: FailureCounts = { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 };
  /** Heap allocations sent one by one (successful), and frees of blocks the books never saw allocated. */
  private sentAllocations = 0;
  /** What the agent counted and did not send (sampled heap events): by op code, frees, and the last heap peak. */
  private readonly unsentCalls = new Float64Array(64);
  private unsentFrees = 0;
  /** The agent's counters own the heap totals: heap calls without a stack are counted there, not sent. */
  private readonly heapFromAgent: boolean;
  untrackedFrees = 0;
  untrackedFreeBytes = 0;
  events = 0;
  private readonly sampleBytes: number;
  private callSite: (stack: number) => string | undefined;

  constructor(options: LaunchBooksOptions) {
    this.pid = options.pid;
    this.pageSize = options.pageSize;
    this.allocationGranularity = options.pageSize;
    this.backend = options.backend;
    this.currentPolicy = options.policy ?? DEFAULT_POLICY;
    this.sampleBytes = options.sampleBytes;
    this.heapFromAgent = options.sampleBytes > 0;
    this.callSite = options.callSite ?? (() => undefined);
  }

  /** Heap allocations made: sent one by one, and counted by the agent. */
  get heapAllocations(): number {
    let unsent = 0;
    for (let op = OP.MALLOC; op <= OP.PVALLOC; op++) unsent += this.unsentCalls[op]!;
    return this.sentAllocations + unsent;
  }

  /**
   * The agent's counters (sent with every batch while calls flow). Under sampling they own the heap totals and add
   * the heap calls that were counted, not sent.
   */
  applyCounters(c: {
    readonly heap: number;
    readonly heapPeak: number;
    readonly unsent: Readonly<Record<number, number>>;
    readonly unsentFrees: number;
  }): void {
    if (!this.heapFromAgent) return;
    for (const [op, n] of Object.entries(c.unsent)) this.unsentCalls[Number(op)] = n;
    this.unsentFrees = c.unsentFrees;
    this.totals.heap = c.heap;
    // The size asked of blocks that were not sent is not known: under sampling "asked" is the usable size.
    this.totals.heapRequested = c.heap;
    if (c.heapPeak > this.peaks.heap) this.peaks.heap = c.heapPeak;
    this.peaks.heapRequested = this.peaks.heap;
    this.afterChange();
  }

  /** How stacks are named in region and failure tags. */
  setCallSite(callSite: (stack: number) => string | undefined): void {
    this.callSite = callSite;
    this.siteNames.clear();
  }

  /** A stack's call-site name, looked up once (a program maps from the same few sites again and again). */
  private siteName(stack: number): string | undefined {
    if (stack === 0) return undefined;
    if (this.siteNames.has(stack)) return this.siteNames.get(stack);
    const name = this.callSite(stack);
    this.siteNames.set(stack, name);
    return name;
  }
  private readonly siteNames = new Map<number, string | undefined>();

  /** A forked child starts with a copy of its parent's books (its address space is a copy). */
  cloneFor(pid: number): LaunchBooks {
    const child = new LaunchBooks({
      pid,
      pageSize: this.pageSize,
      backend: this.backend,
      policy: this.currentPolicy,
      sampleBytes: this.sampleBytes,
      callSite: this.callSite,
    });
    for (const r of this.regions) child.regions.insert({ ...r, runs: r.runs.map((run) => ({ ...run })) });
    child.blocks = this.blocks.clone();
    Object.assign(child.totals, this.totals);
    Object.assign(child.peaks, this.totals, { charged: this.totals.committed + this.totals.heap });
    for (const s of this.stacks) child.internFrames(s.frames);
    return child;
  }

  // ------------------------------------------------------------------------------------------ host surface

  stats(): HostStats {
    return {
      reserved: this.totals.reserved,
      committed: this.totals.committed,
      external: 0,
      heap: this.totals.heap,
      regions: this.regions.size,
      state: this.state,
      failures: { ...this.failureCounts },
    };
  }

  regionList(): Region[] {
    return [...this.regions];
  }

  regionAt(address: number): Region | undefined {
    return this.regions.containing(address);
  }

  policy(): HostPolicy {
    return this.currentPolicy;
  }

  setPolicy(policy: HostPolicy): void {
    this.currentPolicy = policy;
    this.emit({ kind: 'policy', seq: ++this.seq, time: Date.now(), policy });
    this.classify();
  }

  memoryState(): MemoryAvailable {
    return this.memoryAvailable;
  }

  hostState(): { state: HostState; cause: string } {
    return { state: this.state, cause: this.cause };
  }

  /** Back to available (hostmem tells the agent, which does the same). */
  reset(): void {
    this.state = 'available';
    this.cause = '';
    this.emit({ kind: 'reset', seq: ++this.seq, time: Date.now() });
    this.emit({ kind: 'state', seq: ++this.seq, time: Date.now(), state: 'available', cause: 'reset' });
  }

  subscribe(listener: HostEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------------------------------ call sites

  /** The id of this stack (1-based); the same frames give the same id. Hashed on the numbers: no string per call. */
  internFrames(frames: readonly number[]): number {
    if (frames.length === 0) return 0;
    let h = 0x811c9dc5;
    for (const pc of frames) {
      const lo = pc % 4294967296;
      h = Math.imul(h ^ lo, 0x01000193);
      h = Math.imul(h ^ ((pc - lo) / 4294967296), 0x01000193);
    }
    const bucket = this.stackIds.get(h);
    if (bucket !== undefined) {
      for (const id of bucket) {
        const known = this.stacks[id - 1]!.frames;
        if (known.length === frames.length && known.every((pc, i) => pc === frames[i])) return id;
      }
    }
    const id = this.stacks.length + 1;
    this.stacks.push({
      id,
      frames: [...frames],
      calls: 0,
      allocated: 0,
      live: 0,
      liveBlocks: 0,
      peakLive: 0,
      refused: 0,
    });
    if (bucket !== undefined) bucket.push(id);
    else this.stackIds.set(h, [id]);
    return id;
  }

  stack(id: number): StackStats | undefined {
    return id > 0 ? this.stacks[id - 1] : undefined;
  }

  stackList(): readonly StackStats[] {
    return this.stacks;
  }

  /** Calls by the function the program called (`malloc`, `mmap`, …). */
  get calls(): CallCounts {
    const out: CallCounts = {};
    for (let op = 0; op < 64; op++) {
      const unsent = this.unsentCalls[op]! + (op === OP.FREE ? this.unsentFrees : 0);
      if (this.opCalls[op]! + unsent === 0) continue;
      out[OP_FUNCTION[op] ?? `op${op}`] = {
        calls: this.opCalls[op]! + unsent,
        refused: this.opRefused[op]!,
        failed: this.opFailed[op]!,
      };
    }
    return out;
  }

  /** Live heap blocks. */
  get heapBlockCount(): number {
    return this.blocks.length;
  }

  /** Every live heap block (address order not kept). */
  *heapBlocks(): IterableIterator<[number, HeapBlock]> {
    const t = this.blocks;
    for (const [address, slot] of t.entries()) {
      yield [
        address,
        {
          size: t.size[slot]!,
          usable: t.usable[slot]!,
          stack: t.stack[slot]!,
          level: LEVELS[t.level[slot]!] ?? 'eTaskCritical',
          time: t.time[slot]!,
        },
      ];
    }
  }

  // ------------------------------------------------------------------------------------------ applying events

  /** Apply one event; `stack` is its interned stack id (0: none). Time is ms since the epoch. */
  apply(e: AgentEvent, stack: number, time: number): void {
    this.applyCall(e.op, e.level, e.result, e.prot, e.aflags, e.flags, e.addr, e.size, e.ret, e.extra, stack, time);
  }

  /** Apply a decoded batch (the live path: no object per event). */
  applyColumns(c: EventColumns, n: number, stacks: Int32Array, toMs: (ns: number) => number): void {
    for (let i = 0; i < n; i++) {
      this.applyCall(
        c.op[i]!,
        c.level[i]!,
        c.result[i]!,
        c.prot[i]!,
        c.aflags[i]!,
        c.flags[i]!,
        c.addr[i]!,
        c.size[i]!,
        c.ret[i]!,
        c.extra[i]!,
        stacks[i]!,
        toMs(c.timeNs[i]!),
      );
    }
  }

  /** One call, by its fields: the one place the rules are applied. */
  applyCall(
    op: number,
    levelCode: number,
    result: number,
    prot: number,
    aflags: number,
    flags: number,
    addr: number,
    size: number,
    ret: number,
    extra: number,
    stack: number,
    time: number,
  ): void {
    this.events++;
    this.opCalls[op]!++;
    const s = stack > 0 ? this.stacks[stack - 1] : undefined;
    if (s) s.calls++;
    if (result !== RESULT.OK) {
      if (result === RESULT.OS_ERROR) this.opFailed[op]!++;
      else this.opRefused[op]!++;
      if (s) s.refused++;
      this.fail(op, levelCode <= 2 ? LEVELS[levelCode]! : undefined, result, addr, size, flags, stack, time);
      return;
    }
    switch (op) {
      case OP.FREE:
        this.freed(addr, extra);
        break;
      case OP.MALLOC:
      case OP.CALLOC:
      case OP.POSIX_MEMALIGN:
      case OP.ALIGNED_ALLOC:
      case OP.MEMALIGN:
      case OP.VALLOC:
      case OP.PVALLOC:
        if (ret !== 0) this.allocated(ret, size, extra, stack, levelCode, time, aflags);
        break;
      case OP.REALLOC:
        this.reallocated(addr, size, ret, extra, flags, stack, levelCode, time, aflags);
        break;
      case OP.MMAP:
        this.mapped(size, ret, prot, aflags, flags, stack, time, op);
        break;
      case OP.MUNMAP:
        this.unmap(addr, this.roundUp(size));
        break;
      case OP.MPROTECT:
        this.protect(addr, this.roundUp(size), prot);
        break;
      case OP.MADVISE:
        this.decommit(addr, this.roundUp(size));
        break;
      case OP.MREMAP:
        this.remapped(addr, size, ret, extra, aflags, stack, time);
        break;
      case OP.VIRTUAL_ALLOC:
      case OP.VIRTUAL_FREE:
      case OP.VIRTUAL_PROTECT:
      case OP.VIRTUAL_QUERY:
      case OP.HEAP_CREATE:
      case OP.HEAP_DESTROY:
      case OP.HEAP_ALLOC:
      case OP.HEAP_REALLOC:
      case OP.HEAP_FREE:
        this.applyWindows(op, levelCode, prot, aflags, flags, addr, size, ret, extra, stack, time);
        break;
      default:
        break;
    }
    this.afterChange();
  }

  private roundUp(n: number): number {
    return Math.ceil(n / this.pageSize) * this.pageSize;
  }

  private allocated(
    address: number,
    size: number,
    usable: number,
    stack: number,
    levelCode: number,
    time: number,
    aflags: number,
  ): void {
    const t = this.blocks;
    if (t.get(address) >= 0) this.dropBlock(address, -1); // reused before its free was seen (never, in the agent's order)
    const slot = t.set(address);
    t.size[slot] = size;
    t.usable[slot] = usable;
    t.stack[slot] = stack;
    t.level[slot] = levelCode <= 2 ? levelCode : 0;
    t.time[slot] = time;
    this.sentAllocations++;
    if (!this.heapFromAgent) {
      this.totals.heap += usable;
      this.totals.heapRequested += size;
    }
    const s = stack > 0 ? this.stacks[stack - 1] : undefined;
    if (s) {
      const w = (aflags & EV.SAMPLED) !== 0 && this.sampleBytes > size ? this.sampleBytes : size;
      s.allocated += w;
      s.live += w;
      s.liveBlocks++;
      if (s.live > s.peakLive) s.peakLive = s.live;
    }
  }

  /** Take a block out of the books; `usable` is what the agent took back (-1: the block's own). False if unknown. */
  private dropBlock(address: number, usable: number): boolean {
    const t = this.blocks;
    const slot = t.delete(address);
    if (slot < 0) return false;
    const size = t.size[slot]!;
    if (!this.heapFromAgent) {
      this.totals.heap -= usable < 0 ? t.usable[slot]! : usable;
      this.totals.heapRequested -= size;
    }
    const stack = t.stack[slot]!;
    const s = stack > 0 ? this.stacks[stack - 1] : undefined;
    if (s) {
      s.live -= this.sampleBytes > size ? this.sampleBytes : size;
      if (s.live < 0) s.live = 0;
      s.liveBlocks--;
    }
    return true;
  }

  private freed(address: number, usable: number): void {
    if (this.dropBlock(address, usable)) return;
    // Allocated before the agent was ready, or untraced (nested): the agent's counter drops it all the same.
    this.untrackedFrees++;
    this.untrackedFreeBytes += usable;
    if (!this.heapFromAgent) this.totals.heap -= usable;
  }

  private reallocated(
    addr: number,
    size: number,
    ret: number,
    extra: number,
    before: number, // the old block's usable size
    stack: number,
    levelCode: number,
    time: number,
    aflags: number,
  ): void {
    if (addr !== 0) this.freed(addr, before);
    if (ret !== 0 && size > 0) this.allocated(ret, size, extra, stack, levelCode, time, aflags);
  }

  private mapped(
    length: number,
    ret: number,
    prot: number,
    aflags: number,
    flags: number,
    stack: number,
    time: number,
    op: number,
  ): void {
    const size = this.roundUp(length);
    if (size === 0) return;
    const inHeap = (aflags & EV.IN_HEAP) !== 0;
    const committed = (aflags & EV.COMMITTED) !== 0;
    const shared = (aflags & EV.SHARED) !== 0;
    const file = (aflags & EV.FILE) !== 0;
    // MAP_FIXED replaces whatever was there.
    this.unmap(ret, size);
    const MAP_NORESERVE = 0x4000;
    const chargeable = !inHeap && (flags & MAP_NORESERVE) === 0 && (!shared || !file);
    this.insertRegion(ret, size, prot, chargeable, inHeap, file, committed && !inHeap, stack, time, op);
  }

  private insertRegion(
    base: number,
    size: number,
    prot: number,
    chargeable: boolean,
    inHeap: boolean,
    file: boolean,
    committed: boolean,
    stack: number,
    time: number,
    op: number,
  ): void {
    const pages = size / this.pageSize;
    const protect = pageProtect(prot);
    const region: LaunchRegion = {
      base,
      size,
      pages,
      level: 'eTaskCritical',
      tag: inHeap ? 'heap (allocator)' : file ? 'file' : this.siteName(stack),
      allocationProtect: protect,
      created: time,
      runs: committed ? [{ start: 0, end: pages, protect }] : [],
      committed: committed ? size : 0,
      prot,
      chargeable,
      inHeap,
      file,
      stack,
      op,
    };
    this.regions.insert(region);
    if (!inHeap) {
      this.totals.reserved += size;
      if (committed) this.totals.committed += size;
    }
    this.emitRegion({ change: 'reserve', base, size, level: region.level, tag: region.tag });
    if (committed) this.emitRegion({ change: 'commit', base, address: base, size, protect });
  }

  /** Split so that `address` starts a region (when it falls inside one). */
  private splitAt(address: number): void {
    const r = this.regions.containing(address);
    if (r === undefined || r.base === address) return;
    const headPages = (address - r.base) / this.pageSize;
    const tailRuns: PageRun[] = [];
    for (const run of r.runs) {
      if (run.end <= headPages) continue;
      tailRuns.push({
        start: Math.max(run.start, headPages) - headPages,
        end: run.end - headPages,
        protect: run.protect,
      });
    }
    clearRange(r.runs, headPages, r.pages);
    const tail: LaunchRegion = {
      ...r,
      base: address,
      size: r.size - (address - r.base),
      pages: r.pages - headPages,
      runs: tailRuns,
      committed: committedPagesIn(tailRuns, 0, r.pages - headPages) * this.pageSize,
    };
    r.size = address - r.base;
    r.pages = headPages;
    r.committed = committedPagesIn(r.runs, 0, headPages) * this.pageSize;
    this.regions.insert(tail);
  }

  /** The regions inside [lo, hi) after splitting at both ends. */
  private within(lo: number, hi: number): LaunchRegion[] {
    this.splitAt(lo);
    this.splitAt(hi);
    const out: LaunchRegion[] = [];
    for (const r of this.regions.from(lo)) {
      if (r.base >= hi) break;
      out.push(r);
    }
    return out;
  }

  private unmap(lo: number, size: number): void {
    if (size === 0) return;
    for (const r of this.within(lo, lo + size)) {
      this.regions.remove(r.base);
      if (!r.inHeap) {
        this.totals.reserved -= r.size;
        this.totals.committed -= r.committed;
      }
      this.emitRegion({ change: 'release', base: r.base, size: r.size });
    }
  }

  private protect(lo: number, size: number, prot: number): void {
    const protect = pageProtect(prot);
    for (const r of this.within(lo, lo + size)) {
      r.prot = prot;
      if ((prot & 2) !== 0 && r.chargeable) {
        const added = setRange(r.runs, 0, r.pages, protect) * this.pageSize;
        r.committed += added;
        this.totals.committed += added;
        if (added > 0) this.emitRegion({ change: 'commit', base: r.base, address: r.base, size: r.size, protect });
      } else if (r.runs.length > 0) {
        // Committed pages keep their charge under any protection (the kernel's rule), with the new protection.
        for (const run of r.runs) run.protect = protect;
        this.emitRegion({ change: 'protect', base: r.base, address: r.base, size: r.size, protect });
      }
    }
  }

  private decommit(lo: number, size: number): void {
    for (const r of this.within(lo, lo + size)) {
      const freed = clearRange(r.runs, 0, r.pages) * this.pageSize;
      r.committed -= freed;
      this.totals.committed -= freed;
      if (freed > 0) this.emitRegion({ change: 'decommit', base: r.base, address: r.base, size: freed });
    }
  }

  private remapped(
    addr: number,
    length: number,
    ret: number,
    oldLength: number,
    aflags: number,
    stack: number,
    time: number,
  ): void {
    const was = this.regions.containing(addr);
    if (was === undefined) return; // not the program's mapping as far as the books know: the agent saw it as unknown
    const oldSize = this.roundUp(oldLength);
    const newSize = this.roundUp(length);
    const wasCommitted = (aflags & EV.COMMITTED) !== 0;
    for (const r of this.within(addr, addr + oldSize)) {
      this.regions.remove(r.base);
      this.emitRegion({ change: 'release', base: r.base, size: r.size });
    }
    // The agent's rule: the moved mapping takes the first range's attributes; its charge changes by the growth.
    const grow = newSize - oldSize;
    this.totals.reserved += grow;
    if (wasCommitted) this.totals.committed += grow;
    const pages = newSize / this.pageSize;
    const protect = pageProtect(was.prot);
    const region: LaunchRegion = {
      ...was,
      base: ret,
      size: newSize,
      pages,
      runs: wasCommitted ? [{ start: 0, end: pages, protect }] : [],
      committed: wasCommitted ? newSize : 0,
      stack: stack || was.stack,
      created: time,
    };
    this.regions.insert(region);
    this.emitRegion({ change: 'reserve', base: region.base, size: newSize, level: region.level, tag: region.tag });
  }

  // ------------------------------------------------------------------------------------------ Windows calls
  //
  // The Windows agent's calls (native/agent/windows/agent.c), kept by its rules: a VirtualAlloc that reserves is one
  // region for the whole reservation (never split: VirtualFree releases it by its base), a commit charges the pages
  // of the range not yet committed, a decommit or a release gives back the committed ones; VirtualProtect changes
  // the protection of committed pages only; heap blocks are IHostMalloc blocks, and HeapDestroy frees every block of
  // a heap the books saw created. Calls on reservations the books never saw pass through uncharged, as in the agent.

  /** Heap blocks → the heap that holds them (HeapAlloc's first argument), for HeapDestroy. */
  private readonly blockHeap = new Map<number, number>();
  private readonly createdHeaps = new Set<number>();

  private applyWindows(
    op: number,
    levelCode: number,
    prot: number,
    aflags: number,
    flags: number,
    addr: number,
    size: number,
    ret: number,
    extra: number,
    stack: number,
    time: number,
  ): void {
    switch (op) {
      case OP.VIRTUAL_ALLOC:
        this.virtualAlloc(addr, size, ret, flags, prot, stack, time);
        break;
      case OP.VIRTUAL_FREE:
        this.virtualFree(addr, size, flags);
        break;
      case OP.VIRTUAL_PROTECT:
        this.virtualProtect(addr, size, ret, prot);
        break;
      case OP.HEAP_CREATE:
        if (ret !== 0) this.createdHeaps.add(ret);
        break;
      case OP.HEAP_DESTROY:
        this.heapDestroyed(addr);
        break;
      case OP.HEAP_ALLOC:
        if (ret === 0) break;
        this.allocated(ret, size, extra, stack, levelCode, time, aflags);
        this.blockHeap.set(ret, addr);
        break;
      case OP.HEAP_REALLOC: {
        const heap = this.blockHeap.get(addr);
        this.blockHeap.delete(addr);
        this.reallocated(addr, size, ret, extra, flags, stack, levelCode, time, aflags);
        if (ret !== 0 && heap !== undefined) this.blockHeap.set(ret, heap);
        break;
      }
      case OP.HEAP_FREE:
        this.blockHeap.delete(addr);
        this.freed(addr, extra);
        break;
      default: // VirtualQuery: counted only
    }
  }

  private pageDown(n: number): number {
    return Math.floor(n / this.pageSize) * this.pageSize;
  }

  private virtualAlloc(
    addr: number,
    length: number,
    ret: number,
    flags: number,
    protect: number,
    stack: number,
    time: number,
  ): void {
    if (ret === 0 || length === 0) return;
    const commits = (flags & MEM.COMMIT) !== 0;
    if ((flags & MEM.RESERVE) !== 0 || addr === 0) {
      const size = addr !== 0 ? this.roundUp(addr + length) - (addr - (addr % 0x10000)) : this.roundUp(length);
      const pages = size / this.pageSize;
      const lo = addr !== 0 ? (this.pageDown(addr) - ret) / this.pageSize : 0;
      const hi = addr !== 0 ? (this.roundUp(addr + length) - ret) / this.pageSize : pages;
      const runs: PageRun[] = commits ? [{ start: lo, end: hi, protect }] : [];
      const committed = commits ? (hi - lo) * this.pageSize : 0;
      const region: LaunchRegion = {
        base: ret,
        size,
        pages,
        level: 'eTaskCritical',
        tag: this.callSite(stack),
        allocationProtect: protect,
        created: time,
        runs,
        committed,
        prot: protect,
        chargeable: true,
        inHeap: false,
        file: false,
        stack,
        op: OP.VIRTUAL_ALLOC,
      };
      this.regions.insert(region);
      this.totals.reserved += size;
      this.totals.committed += committed;
      this.emitRegion({ change: 'reserve', base: ret, size, level: region.level, tag: region.tag });
      if (commits)
        this.emitRegion({
          change: 'commit',
          base: ret,
          address: ret + lo * this.pageSize,
          size: committed,
          protect,
        });
      return;
    }
    const r = this.regions.containing(addr);
    if (!commits || r === undefined) return;
    const lo = this.pageDown(addr);
    const hi = this.roundUp(addr + length);
    const added =
      setRange(r.runs, (lo - r.base) / this.pageSize, (hi - r.base) / this.pageSize, protect) * this.pageSize;
    r.committed += added;
    this.totals.committed += added;
    if (added > 0) this.emitRegion({ change: 'commit', base: r.base, address: lo, size: hi - lo, protect });
  }

  private virtualFree(addr: number, length: number, flags: number): void {
    const r = this.regions.containing(addr);
    if (r === undefined) return;
    if ((flags & MEM.RELEASE) !== 0) {
      if (addr !== r.base || length !== 0) return;
      this.regions.remove(r.base);
      this.totals.reserved -= r.size;
      this.totals.committed -= r.committed;
      this.emitRegion({ change: 'release', base: r.base, size: r.size });
      return;
    }
    if ((flags & MEM.DECOMMIT) === 0) return;
    const lo = this.pageDown(addr);
    const hi = length === 0 ? r.base + r.size : this.roundUp(addr + length);
    const freed = clearRange(r.runs, (lo - r.base) / this.pageSize, (hi - r.base) / this.pageSize) * this.pageSize;
    r.committed -= freed;
    this.totals.committed -= freed;
    if (freed > 0) this.emitRegion({ change: 'decommit', base: r.base, address: lo, size: freed });
  }

  private virtualProtect(addr: number, length: number, ok: number, prot: number): void {
    const r = this.regions.containing(addr);
    if (r === undefined || ok === 0) return;
    const lo = this.pageDown(addr);
    const hi = this.roundUp(addr + length);
    const from = (lo - r.base) / this.pageSize;
    const to = (hi - r.base) / this.pageSize;
    // Only committed pages take a protection (VirtualProtect fails on reserved ones).
    const committed = r.runs
      .filter((run) => run.end > from && run.start < to)
      .map((run) => [Math.max(run.start, from), Math.min(run.end, to)] as const);
    for (const [a, b] of committed) setRange(r.runs, a, b, prot);
    r.prot = prot;
    if (committed.length > 0)
      this.emitRegion({ change: 'protect', base: r.base, address: lo, size: hi - lo, protect: prot });
  }

  private heapDestroyed(heap: number): void {
    if (!this.createdHeaps.delete(heap)) return;
    for (const [address, owner] of this.blockHeap) {
      if (owner !== heap) continue;
      this.blockHeap.delete(address);
      const slot = this.blocks.get(address);
      if (slot >= 0) this.freed(address, this.blocks.usable[slot]!);
    }
  }

  // ------------------------------------------------------------------------------------------ failures, state

  private fail(
    op: number,
    level: LevelName | undefined,
    result: number,
    addr: number,
    size: number,
    flags: number,
    stack: number,
    time: number,
  ): void {
    const group = level ?? 'other';
    this.failureCounts[group]++;
    const reason = REASONS[result] ?? 'os';
    const failure: FailureEvent = {
      seq: ++this.seq,
      time,
      method: hostMethodOf(op),
      size,
      address: addr === 0 ? null : addr,
      flags,
      level: group,
      hr: hresultOf(result),
      reason,
      tag: this.siteName(stack) ?? OP_FUNCTION[op],
    };
    this.lastFailureStack.set(failure.seq, stack);
    this.emit({ kind: 'failure', failure });
    // A memory failure of an eProcessCritical call makes the host unavailable (docs/spec/host-semantics.md).
    if (level === 'eProcessCritical' && result !== RESULT.REFUSED_UNAVAILABLE && this.state === 'available') {
      this.state = 'unavailable';
      this.cause = `${OP_FUNCTION[op]} of ${size} bytes at eProcessCritical failed (${reason})`;
      this.emit({ kind: 'state', seq: ++this.seq, time, state: 'unavailable', cause: this.cause });
    }
  }

  /** Failure seq → its stack id (for reports: a refusal and its call stack). */
  readonly lastFailureStack = new Map<number, number>();

  private afterChange(): void {
    const t = this.totals;
    const p = this.peaks;
    if (t.committed > p.committed) p.committed = t.committed;
    if (t.reserved > p.reserved) p.reserved = t.reserved;
    if (t.heap > p.heap) p.heap = t.heap;
    if (t.heapRequested > p.heapRequested) p.heapRequested = t.heapRequested;
    const charged = t.committed + t.heap;
    if (charged > p.charged) p.charged = charged;
    if (this.currentPolicy.commitLimit !== null) this.classify();
  }

  private classify(): void {
    const limit = this.currentPolicy.commitLimit;
    if (limit === null) return;
    const next = classifyLoad((this.totals.committed + this.totals.heap) / limit, this.memoryAvailable);
    if (next === this.memoryAvailable) return;
    this.memoryAvailable = next;
    this.emit({ kind: 'notification', seq: ++this.seq, time: Date.now(), memoryAvailable: next });
  }

  private emitRegion(region: Extract<HostEvent, { kind: 'region' }>['region']): void {
    if (this.listeners.size === 0) return;
    this.emit({ kind: 'region', seq: ++this.seq, time: Date.now(), region });
  }

  private emit(event: HostEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure is not the books'.
      }
    }
  }
}
