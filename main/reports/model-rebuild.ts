/**
 * The live regions at the end of a session, rebuilt from its calls: what the report uses when the session has no
 * end snapshot (a recording killed with `kill -9`, or an end snapshot that is damaged). Every recorded call has its
 * result, so the books can be kept again exactly as the host kept them: each successful VirtualAlloc, VirtualFree and
 * VirtualProtect applied to a page map with the host's own page-run functions, heap blocks and external address
 * space counted as the host counts them.
 *
 * Addresses in requests are the recorder's references (`"r12"`, `"r12+0x3000"`) to earlier results, or hex; results
 * carry the real addresses, so a reference resolves to the address the recording saw.
 */
import { MEM } from '../../native';
import { LEVELS, type LevelName } from '../host';
import { clearRange, setRange, type PageRun } from '../host/page-runs';
import { SortedIndex } from '../host/sorted-index';
import type { CallRecord } from '../telemetry/session-records';
import { protectOf, type ReportAllocation, type ReportTotals } from './model-types';

interface RebuiltRegion {
  readonly base: number;
  readonly size: number;
  readonly pages: number;
  readonly level: LevelName;
  readonly tag: string | null;
  readonly allocationProtect: number;
  readonly created: number;
  readonly runs: PageRun[];
  committed: number;
}

const HEX = /^0x[0-9a-fA-F]+$/;
const OFFSET = /^(.+?)([+-])(0x[0-9a-fA-F]+|\d+)$/;

/** Keeps the books of a session's calls, one call at a time, in file order. */
export class RegionRebuilder {
  private readonly regions = new SortedIndex<RebuiltRegion>();
  /** Request id → the address its call produced (null when it failed). */
  private readonly produced = new Map<string, number | null>();
  private readonly blocks = new Map<number, number>();
  private readonly external = new Map<number, number>();
  private heap = 0;
  private externalBytes = 0;
  /** Successful calls that did not fit the books rebuilt so far (they follow a damaged line that was skipped). */
  unplaced = 0;

  constructor(private readonly pageSize: number) {}

  private resolve(address: unknown): number | null | undefined {
    if (address === null) return null;
    if (typeof address !== 'string') return undefined;
    if (this.produced.has(address)) return this.produced.get(address);
    if (HEX.test(address)) return Number(address);
    const m = OFFSET.exec(address);
    if (!m) return undefined;
    const base = this.produced.get(m[1]!);
    if (base === undefined || base === null) return undefined;
    const offset = Number(m[3]);
    return m[2] === '+' ? base + offset : base - offset;
  }

  private pageSpan(region: RebuiltRegion, address: number, size: number): [number, number] | undefined {
    const first = Math.floor((address - region.base) / this.pageSize);
    const end = Math.ceil((address + size - region.base) / this.pageSize);
    return first < 0 || end > region.pages || end < first ? undefined : [first, end];
  }

  /** Apply one recorded call (failed calls change nothing, but their ids still name a null address). */
  apply(call: CallRecord): void {
    const q = call.request;
    const ok = call.result.hr === '0x00000000';
    const resultAddress = call.result.address;
    const address = typeof resultAddress === 'string' ? Number(resultAddress) : null;
    if (q.id !== undefined && (q.op === 'VirtualAlloc' || q.op === 'Alloc' || q.op === 'DebugAlloc')) {
      this.produced.set(String(q.id), ok ? address : null);
    }
    if (!ok) return;
    const size = typeof q.size === 'number' ? q.size : 0;
    switch (q.op) {
      case 'VirtualAlloc': {
        const type = Number(q.type);
        const asked = this.resolve(q.address);
        if (address === null || asked === undefined) return void this.unplaced++;
        if ((type & (MEM.RESET | MEM.RESET_UNDO)) !== 0) return;
        const reserve = (type & MEM.RESERVE) !== 0 || asked === null || asked === 0;
        const protect = Number(q.protect);
        if (reserve) {
          const from = asked === null || asked === 0 ? address : asked;
          const bytes = Math.ceil((from + size) / this.pageSize) * this.pageSize - address;
          const pages = bytes / this.pageSize;
          const commit = (type & MEM.COMMIT) !== 0;
          if (!(pages > 0) || this.regions.overlapping(address, bytes) !== undefined) return void this.unplaced++;
          this.regions.insert({
            base: address,
            size: bytes,
            pages,
            level: LEVELS[Number(q.level)] ?? 'eTaskCritical',
            tag: typeof q.tag === 'string' ? q.tag : null,
            allocationProtect: protect,
            created: call.t,
            runs: commit ? [{ start: 0, end: pages, protect }] : [],
            committed: commit ? bytes : 0,
          });
          return;
        }
        const region = this.regions.containing(asked);
        const span = region && this.pageSpan(region, asked, size);
        if (!region || !span) return void this.unplaced++;
        region.committed += setRange(region.runs, span[0], span[1], protect) * this.pageSize;
        return;
      }
      case 'VirtualFree': {
        const resolved = this.resolve(q.address);
        const at = resolved ?? 0;
        const region = resolved === undefined ? undefined : this.regions.containing(at);
        if (!region) return void this.unplaced++;
        if (Number(q.type) === MEM.RELEASE) {
          this.regions.remove(region.base);
          return;
        }
        const span = size === 0 ? ([0, region.pages] as [number, number]) : this.pageSpan(region, at, size);
        if (!span) return void this.unplaced++;
        region.committed -= clearRange(region.runs, span[0], span[1]) * this.pageSize;
        return;
      }
      case 'VirtualProtect': {
        const resolved = this.resolve(q.address);
        const at = resolved ?? 0;
        const region = resolved === undefined ? undefined : this.regions.containing(at);
        const span = region && this.pageSpan(region, at, size);
        if (!region || !span) return void this.unplaced++;
        setRange(region.runs, span[0], span[1], Number(q.protect));
        return;
      }
      case 'Alloc':
      case 'DebugAlloc':
        if (address !== null) {
          this.blocks.set(address, size);
          this.heap += size;
        }
        return;
      case 'Free': {
        const at = this.resolve(q.address);
        const blockSize = typeof at === 'number' ? this.blocks.get(at) : undefined;
        if (blockSize === undefined || typeof at !== 'number') return void this.unplaced++;
        this.blocks.delete(at);
        this.heap -= blockSize;
        return;
      }
      case 'AcquiredVirtualAddressSpace': {
        const at = this.resolve(q.address);
        if (typeof at !== 'number') return void this.unplaced++;
        this.external.set(at, size);
        this.externalBytes += size;
        return;
      }
      case 'ReleasedVirtualAddressSpace': {
        const at = this.resolve(q.address);
        const was = typeof at === 'number' ? this.external.get(at) : undefined;
        if (was === undefined || typeof at !== 'number') return void this.unplaced++;
        this.external.delete(at);
        this.externalBytes -= was;
        return;
      }
    }
  }

  /** The live regions now, in address order, as report rows. */
  allocations(): ReportAllocation[] {
    const out: ReportAllocation[] = [];
    for (let r = this.regions.floor(Number.MAX_SAFE_INTEGER); r !== undefined; r = this.regions.floor(r.base - 1)) {
      out.push({
        base: r.base,
        size: r.size,
        committed: r.committed,
        level: r.level,
        tag: r.tag,
        protect: protectOf(r.runs),
        allocationProtect: r.allocationProtect,
        created: r.created,
        runs: r.runs.length,
      });
    }
    return out.reverse();
  }

  totals(allocations: readonly ReportAllocation[]): ReportTotals {
    let reserved = 0;
    let committed = 0;
    for (const a of allocations) {
      reserved += a.size;
      committed += a.committed;
    }
    return { reserved, committed, external: this.externalBytes, heap: this.heap, regions: allocations.length };
  }
}
