/**
 * What the built-in scenarios share: a model of their own reservations (which pages are committed, with which
 * protection, holding which byte), host calls that keep the model in step, level and size picking, the shared
 * workload heap, and what to do while the host is unavailable.
 *
 * The model follows the scenario's own calls; when a call says the model is wrong (someone else released or
 * decommitted the memory — the UI can), the model drops what it can no longer trust instead of failing again.
 */
import { MEM, PAGE } from '../../vocabulary';
import { HR, LEVELS, MALLOC_THREADSAFE, type HostMemoryManager, type LevelName } from '../../host';
import { TrackedHost } from '../ledger';
import type { LevelWeights } from '../params';
import type { WorkloadContext } from '../types';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const RW = PAGE.READWRITE;

export function isWritable(protect: number): boolean {
  return protect === PAGE.READWRITE || protect === PAGE.EXECUTE_READWRITE;
}

export function isReadable(protect: number): boolean {
  return (
    protect === PAGE.READONLY ||
    protect === PAGE.READWRITE ||
    protect === PAGE.EXECUTE_READ ||
    protect === PAGE.EXECUTE_READWRITE
  );
}

/** A level index (0, 1, 2) drawn by weight. */
export function pickLevel(rng: () => number, weights: LevelWeights): number {
  const total = weights.eTaskCritical + weights.eAppDomainCritical + weights.eProcessCritical;
  let x = rng() * total;
  for (let i = 0; i < LEVELS.length; i++) {
    const w = weights[LEVELS[i]!];
    if (x < w) return i;
    x -= w;
  }
  return LEVELS.findLastIndex((l) => weights[l] > 0);
}

export function levelName(level: number): LevelName {
  return LEVELS[level] ?? 'eTaskCritical';
}

/** A whole number of pages in [min, max] bytes (at least one page). */
export function pickSize(rng: () => number, min: number, max: number, page: number): number {
  const lo = Math.max(1, Math.ceil(min / page));
  const hi = Math.max(lo, Math.floor(max / page));
  return (lo + Math.floor(rng() * (hi - lo + 1))) * page;
}

export function pickInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function pickOne<T>(rng: () => number, list: readonly T[]): T | undefined {
  return list.length === 0 ? undefined : list[Math.floor(rng() * list.length)];
}

/** A byte to fill with: never 0, so a Check tells a filled page from a fresh one. */
export function pickByte(rng: () => number): number {
  return 1 + Math.floor(rng() * 255);
}

export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= KiB) return `${(bytes / KiB).toFixed(0)} KiB`;
  return `${bytes} B`;
}

const heaps = new WeakMap<HostMemoryManager, number>();

/**
 * The one host heap the built-in scenarios share on a host (heaps cannot be destroyed through the interface, so
 * one per workload would pile up). Created through the host behind the tracker, so it is not a workload's call.
 */
export async function sharedHeap(host: HostMemoryManager): Promise<number | undefined> {
  const raw = host instanceof TrackedHost ? host.inner : host;
  const known = heaps.get(raw);
  if (known !== undefined && raw.malloc(known)) return known;
  const r = await raw.CreateMalloc(MALLOC_THREADSAFE);
  if (r.hr !== HR.S_OK || r.malloc === undefined) return undefined;
  heaps.set(raw, r.malloc);
  return r.malloc;
}

/**
 * While the host is unavailable (another workload's eProcessCritical failure), wait for a reset instead of
 * sending calls that can only fail. Logs once per outage. Resolves false if the workload must stop meanwhile.
 */
export async function whileUnavailable(host: HostMemoryManager, ctx: WorkloadContext): Promise<boolean> {
  if (host.stats().state === 'available') return true;
  ctx.log('the host is unavailable: waiting for a reset');
  while (host.stats().state !== 'available') {
    if (!(await ctx.sleep(250))) return false;
  }
  ctx.log('the host is available again');
  return true;
}

/** One reservation as the scenario knows it. */
export class Reservation {
  /** Protection per page; 0: not committed. */
  readonly prot: Uint16Array;
  /** The byte every byte of the page holds (fills are whole pages; fresh pages hold 0). */
  readonly bytes: Uint8Array;
  committedPages = 0;

  constructor(
    readonly base: number,
    readonly pages: number,
    readonly level: number,
    readonly tag: string,
  ) {
    this.prot = new Uint16Array(pages);
    this.bytes = new Uint8Array(pages);
  }

  set(first: number, end: number, protect: number): void {
    for (let p = first; p < end; p++) {
      if (this.prot[p] === 0 && protect !== 0) this.committedPages++;
      else if (this.prot[p] !== 0 && protect === 0) this.committedPages--;
      if (this.prot[p] === 0 || protect === 0) this.bytes[p] = 0;
      this.prot[p] = protect;
    }
  }

  /** A run of up to `max` pages starting at a random page that satisfies `accept`, all satisfying it. */
  run(rng: () => number, max: number, accept: (protect: number) => boolean): [number, number] | undefined {
    const start = Math.floor(rng() * this.pages);
    for (let i = 0; i < this.pages; i++) {
      const p = (start + i) % this.pages;
      if (!accept(this.prot[p]!)) continue;
      let end = p + 1;
      while (end < this.pages && end - p < max && accept(this.prot[end]!)) end++;
      return [p, end];
    }
    return undefined;
  }

  /** A committed, readable run whose pages all hold the same byte. */
  uniformRun(rng: () => number, max: number): [number, number] | undefined {
    const found = this.run(rng, max, isReadable);
    if (!found) return undefined;
    const [first] = found;
    let end = first + 1;
    while (end < found[1] && this.bytes[end] === this.bytes[first]) end++;
    return [first, end];
  }
}

/** A scenario's reservations and the calls that change them. */
export class Pool {
  readonly list: Reservation[] = [];
  readonly page: number;
  /** Check() answers that did not match the model: should stay 0. */
  mismatches = 0;
  /** The HRESULT of the last call made through the pool. */
  lastHr: number = HR.S_OK;

  constructor(
    readonly host: HostMemoryManager,
    readonly ctx: WorkloadContext,
  ) {
    this.page = host.pageSize;
  }

  get size(): number {
    return this.list.length;
  }

  committedBytes(): number {
    let pages = 0;
    for (const r of this.list) pages += r.committedPages;
    return pages * this.page;
  }

  random(rng: () => number): Reservation | undefined {
    return pickOne(rng, this.list);
  }

  private drop(r: Reservation): void {
    const i = this.list.indexOf(r);
    if (i >= 0) this.list.splice(i, 1);
  }

  /** A result that says the model is wrong: forget what can no longer be trusted. */
  private misfit(r: Reservation, hr: number, first: number, end: number): void {
    if (hr === HR.HOST_E_INVALIDOPERATION) {
      this.ctx.log(`${r.tag} at 0x${r.base.toString(16)} was released by someone else`);
      this.drop(r);
    } else if (hr === HR.ERROR_INVALID_ADDRESS) r.set(first, end, 0);
  }

  async reserve(
    size: number,
    level: number,
    tag: string,
    options: { commit?: boolean; topDown?: boolean; protect?: number } = {},
  ): Promise<Reservation | undefined> {
    const protect = options.protect ?? RW;
    const type = MEM.RESERVE | (options.commit ? MEM.COMMIT : 0) | (options.topDown ? MEM.TOP_DOWN : 0);
    const r = await this.host.VirtualAlloc(null, size, type, protect, level, tag);
    this.lastHr = r.hr;
    if (r.hr !== HR.S_OK || r.address === null) return undefined;
    const res = new Reservation(r.address, Math.ceil(size / this.page), level, tag);
    if (options.commit) res.set(0, res.pages, protect);
    this.list.push(res);
    return res;
  }

  async commit(r: Reservation, first: number, end: number, level = r.level, protect = RW): Promise<boolean> {
    const at = r.base + first * this.page;
    const x = await this.host.VirtualAlloc(at, (end - first) * this.page, MEM.COMMIT, protect, level, r.tag);
    this.lastHr = x.hr;
    if (x.hr !== HR.S_OK) {
      this.misfit(r, x.hr, first, end);
      return false;
    }
    // Pages already committed keep their protection and content (Win32 rule): only new pages change.
    for (let p = first; p < end; p++) if (r.prot[p] === 0) r.set(p, p + 1, protect);
    return true;
  }

  async decommit(r: Reservation, first: number, end: number): Promise<boolean> {
    const whole = first === 0 && end === r.pages;
    const x = await this.host.VirtualFree(
      r.base + first * this.page,
      whole ? 0 : (end - first) * this.page,
      MEM.DECOMMIT,
    );
    this.lastHr = x.hr;
    if (x.hr !== HR.S_OK) {
      this.misfit(r, x.hr, first, end);
      return false;
    }
    r.set(first, end, 0);
    return true;
  }

  async release(r: Reservation): Promise<boolean> {
    const x = await this.host.VirtualFree(r.base, 0, MEM.RELEASE);
    this.lastHr = x.hr;
    this.drop(r);
    return x.hr === HR.S_OK;
  }

  async protect(r: Reservation, first: number, end: number, protect: number): Promise<boolean> {
    const x = await this.host.VirtualProtect(r.base + first * this.page, (end - first) * this.page, protect);
    this.lastHr = x.hr;
    if (x.hr !== HR.S_OK) {
      this.misfit(r, x.hr, first, end);
      return false;
    }
    for (let p = first; p < end; p++) r.prot[p] = protect;
    return true;
  }

  async fill(r: Reservation, first: number, end: number, byte: number): Promise<boolean> {
    const x = await this.host.Fill(r.base + first * this.page, (end - first) * this.page, byte);
    this.lastHr = x.hr;
    if (x.hr !== HR.S_OK) {
      this.misfit(r, x.hr, first, end);
      return false;
    }
    r.bytes.fill(byte, first, end);
    return true;
  }

  /** Check a run against the byte the model says it holds; logs a mismatch (the memory did not hold). */
  async check(r: Reservation, first: number, end: number): Promise<boolean> {
    const byte = r.bytes[first]!;
    const x = await this.host.Check(r.base + first * this.page, (end - first) * this.page, byte);
    this.lastHr = x.hr;
    if (x.hr !== HR.S_OK) {
      this.misfit(r, x.hr, first, end);
      return false;
    }
    if (x.equal === false) {
      this.mismatches++;
      this.ctx.log(
        `Check mismatch: ${r.tag} pages ${first}..${end} at 0x${r.base.toString(16)} should hold 0x${byte.toString(16)}`,
      );
    }
    return x.equal === true;
  }

  async query(r: Reservation, page: number): Promise<boolean> {
    const x = await this.host.VirtualQuery(r.base + page * this.page);
    this.lastHr = x.hr;
    return x.hr === HR.S_OK;
  }
}

/** Heap blocks a scenario holds in the shared heap. */
export class Blocks {
  readonly list: Array<{ address: number; size: number; byte: number }> = [];

  constructor(
    readonly host: HostMemoryManager,
    readonly heap: number,
  ) {}

  get bytes(): number {
    return this.list.reduce((n, b) => n + b.size, 0);
  }

  async alloc(size: number, level: number, byte: number, debug?: { file: string; line: number }): Promise<boolean> {
    const heap = this.host.malloc(this.heap);
    if (!heap) return false;
    const r = debug ? await heap.DebugAlloc(size, level, debug.file, debug.line) : await heap.Alloc(size, level);
    if (r.hr !== HR.S_OK || r.address === null) return false;
    const f = await this.host.Fill(r.address, size, byte);
    this.list.push({ address: r.address, size, byte: f.hr === HR.S_OK ? byte : -1 });
    return true;
  }

  async free(index: number, check: boolean): Promise<boolean> {
    const block = this.list[index];
    const heap = this.host.malloc(this.heap);
    if (!block || !heap) return false;
    this.list.splice(index, 1);
    if (check && block.byte >= 0) await this.host.Check(block.address, block.size, block.byte);
    return (await heap.Free(block.address)).hr === HR.S_OK;
  }
}
