/**
 * The POSIX backend: libc through koffi, the Win32 model mapped the way the .NET GC maps it on Unix
 * (dotnet/runtime gc/unix/gcenv.unix.cpp), with the fewest system calls per operation:
 * - reserve  = mmap(PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE) at a 64 KiB-aligned hint (the last
 *   reservation released, else the granule below the last one made); only when the OS lands elsewhere and off the
 *   64 KiB boundary: munmap, over-reserve by a granule and trim both ends;
 * - commit   = mprotect(prot) (content of pages already committed is kept);
 * - decommit = mmap(MAP_FIXED, PROT_NONE, MAP_NORESERVE) over the pages (content and charge dropped);
 * - release  = munmap.
 * The OS itself still tells reserved from committed (the audit reads it in /proc/self/smaps): a page with any access
 * is committed; a PROT_NONE page is reserved unless it carries the `dd` VmFlag, which commit and protect set
 * (MADV_DONTDUMP, one extra call) only when they leave pages PROT_NONE — committed PAGE_NOACCESS or PAGE_GUARD,
 * pages no core dump could read anyway. decommit maps fresh pages, which never carry it. So the common cycle makes
 * four calls, where marking every reserved page `dd` made it nine.
 */
import koffi from 'koffi';
import {
  OK_VOID,
  PAGE,
  fail,
  ok,
  type MemState,
  type MemType,
  type OsErrorCode,
  type OsHeap,
  type OsMemory,
  type OsMemoryStatus,
  type OsProcessCounters,
  type OsRegionInfo,
  type OsResult,
} from '../os-memory';
import { findMapping, readKeyValues, readMaps, readPageFaults, readSmaps, type Mapping } from './procfs';

const GRANULARITY = 0x10000;

interface PlatformConstants {
  readonly libc: string;
  readonly MAP_PRIVATE: number;
  readonly MAP_ANONYMOUS: number;
  readonly MAP_FIXED: number;
  readonly MAP_NORESERVE: number;
  /** 0 where the OS has none (then a requested address is checked after the fact). */
  readonly MAP_FIXED_NOREPLACE: number;
  readonly MADV_DONTNEED: number;
  readonly MADV_DONTDUMP: number;
  readonly MADV_FREE: number;
  readonly SC_PAGESIZE: number;
  readonly ENOMEM: number;
  readonly EINVAL: number;
  readonly EEXIST: number;
  readonly EACCES: number;
  readonly EPERM: number;
  readonly procfs: boolean;
}

const LINUX: PlatformConstants = {
  libc: 'libc.so.6',
  MAP_PRIVATE: 0x02,
  MAP_ANONYMOUS: 0x20,
  MAP_FIXED: 0x10,
  MAP_NORESERVE: 0x4000,
  MAP_FIXED_NOREPLACE: 0x100000,
  MADV_DONTNEED: 4,
  MADV_DONTDUMP: 16,
  MADV_FREE: 8,
  SC_PAGESIZE: 30,
  ENOMEM: 12,
  EINVAL: 22,
  EEXIST: 17,
  EACCES: 13,
  EPERM: 1,
  procfs: true,
};

const DARWIN: PlatformConstants = {
  libc: 'libSystem.B.dylib',
  MAP_PRIVATE: 0x02,
  MAP_ANONYMOUS: 0x1000,
  MAP_FIXED: 0x10,
  MAP_NORESERVE: 0x40,
  MAP_FIXED_NOREPLACE: 0,
  MADV_DONTNEED: 4,
  MADV_DONTDUMP: 0,
  MADV_FREE: 5,
  SC_PAGESIZE: 29,
  ENOMEM: 12,
  EINVAL: 22,
  EEXIST: 17,
  EACCES: 13,
  EPERM: 1,
  procfs: false,
};

const PROT_NONE = 0;
const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;

/** PAGE_* → PROT_*. GUARD has no POSIX equivalent: a guard page is inaccessible until touched, so PROT_NONE. */
export function pageToProt(protect: number): number {
  if (protect & PAGE.GUARD) return PROT_NONE;
  switch (protect & 0xff) {
    case PAGE.NOACCESS:
      return PROT_NONE;
    case PAGE.READONLY:
      return PROT_READ;
    case PAGE.READWRITE:
    case PAGE.WRITECOPY:
      return PROT_READ | PROT_WRITE;
    case PAGE.EXECUTE:
      return PROT_EXEC;
    case PAGE.EXECUTE_READ:
      return PROT_READ | PROT_EXEC;
    case PAGE.EXECUTE_READWRITE:
    case PAGE.EXECUTE_WRITECOPY:
      return PROT_READ | PROT_WRITE | PROT_EXEC;
    default:
      return PROT_NONE;
  }
}

/** PROT_* → PAGE_*. */
function protToPage(prot: number): number {
  const r = (prot & PROT_READ) !== 0 ? 'r' : '-';
  const w = (prot & PROT_WRITE) !== 0 ? 'w' : '-';
  const x = (prot & PROT_EXEC) !== 0 ? 'x' : '-';
  return permsToPage(r + w + x);
}

/** `rwxp` permissions → PAGE_*. */
export function permsToPage(perms: string): number {
  const r = perms[0] === 'r';
  const w = perms[1] === 'w';
  const x = perms[2] === 'x';
  if (x) return w ? PAGE.EXECUTE_READWRITE : r ? PAGE.EXECUTE_READ : PAGE.EXECUTE;
  if (w) return PAGE.READWRITE;
  if (r) return PAGE.READONLY;
  return PAGE.NOACCESS;
}

class PosixHeap {
  /** Block address → mapped length (executable heaps map each block; malloc'd blocks record their request). */
  readonly blocks = new Map<number, number>();
  constructor(readonly executable: boolean) {}
}

export function createPosixMemory(): OsMemory {
  const c = process.platform === 'darwin' ? DARWIN : LINUX;
  const lib = koffi.load(c.libc);
  // Pointers are declared as integers (uintptr_t/intptr_t): plain numbers are the fastest to pass and compare.
  const mmap = lib.func('intptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, intptr_t off)') as (
    addr: number,
    len: number,
    prot: number,
    flags: number,
    fd: number,
    off: number,
  ) => number;
  const munmap = lib.func('int munmap(uintptr_t addr, size_t len)') as (addr: number, len: number) => number;
  const mprotect = lib.func('int mprotect(uintptr_t addr, size_t len, int prot)') as (
    addr: number,
    len: number,
    prot: number,
  ) => number;
  // Every prototype is declared once, here, with plain integer arguments: no per-call parsing or allocation.
  const madvise = lib.func('int madvise(uintptr_t addr, size_t len, int advice)') as (
    addr: number,
    len: number,
    advice: number,
  ) => number;
  const sysconf = lib.func('long sysconf(int name)') as (name: number) => number;
  const memset = lib.func('uintptr_t memset(uintptr_t s, int c, size_t n)') as (
    s: number,
    c: number,
    n: number,
  ) => number;
  const memcmp = lib.func('int memcmp(uintptr_t a, const uint8_t *b, size_t n)') as (
    a: number,
    b: Uint8Array,
    n: number,
  ) => number;
  const malloc = lib.func('uintptr_t malloc(size_t size)') as (size: number) => number;
  const free = lib.func('void free(uintptr_t ptr)') as (ptr: number) => void;
  const usableSize = lib.func(
    process.platform === 'darwin' ? 'size_t malloc_size(uintptr_t ptr)' : 'size_t malloc_usable_size(uintptr_t ptr)',
  ) as (ptr: number) => number;

  const pageSize = sysconf(c.SC_PAGESIZE);
  const ANON = c.MAP_PRIVATE | c.MAP_ANONYMOUS;
  const heaps = new Map<number, PosixHeap>();
  let nextHeap = 1;

  function errnoCode(errno: number): OsErrorCode {
    if (errno === c.ENOMEM) return 'out-of-memory';
    if (errno === c.EEXIST) return 'invalid-address';
    if (errno === c.EINVAL) return 'invalid-argument';
    if (errno === c.EACCES || errno === c.EPERM) return 'access-denied';
    return 'unknown';
  }

  /**
   * A failed libc call as a typed error. `outOfMemoryErrno` says which errno means out of memory for this call:
   * mprotect/munmap answer ENOMEM for "not mapped", which is an invalid address, not a shortage.
   */
  function osFail<T>(call: string, outOfMemoryErrno = -1): OsResult<T> {
    const errno = koffi.errno();
    const code = errno === c.ENOMEM && outOfMemoryErrno !== c.ENOMEM ? 'invalid-address' : errnoCode(errno);
    return fail(code, errno, call, `${call} failed: errno ${errno}`);
  }

  /**
   * Pages just committed or protected PROT_NONE are marked `dd`, so the OS tells them from reserved pages (which
   * are PROT_NONE too); missing on macOS (advice 0), where there is no /proc to read the state back anyway.
   */
  function markIfNoAccess(start: number, len: number, prot: number): void {
    if (prot === PROT_NONE && c.MADV_DONTDUMP !== 0) madvise(start, len, c.MADV_DONTDUMP);
  }

  /**
   * Where the next reservation is tried first: 64 KiB aligned, so the OS's answer is usually already aligned and
   * a reservation costs one mmap. 0 lets the OS choose.
   */
  let hint = 0;

  // The pages that hold a byte of [address, address+size), as Windows rounds: `firstPage` and `pageSpan`, two plain
  // numbers (a [start, length] pair would be an allocation on every call of the hot path).
  function firstPage(address: number): number {
    return Math.floor(address / pageSize) * pageSize;
  }
  function pageSpan(address: number, size: number): number {
    return Math.ceil((address + size) / pageSize) * pageSize - firstPage(address);
  }

  function reserve(address: number | null, size: number): OsResult<number> {
    if (!(size > 0) || !Number.isSafeInteger(size)) return fail('invalid-argument', c.EINVAL, 'mmap', 'bad size');
    const flags = ANON | c.MAP_NORESERVE;
    if (address !== null) {
      // The first 64 KiB hold no allocation on Windows; here they are the NULL page (mmap_min_addr): refused alike.
      if (address < GRANULARITY) return fail('invalid-address', c.EINVAL, 'mmap', 'below the first 64 KiB');
      // Windows rounds a requested start down to the allocation granularity and covers every page up to the end.
      const base = Math.floor(address / GRANULARITY) * GRANULARITY;
      const len = Math.ceil((address + size) / pageSize) * pageSize - base;
      const p = mmap(base, len, PROT_NONE, flags | c.MAP_FIXED_NOREPLACE, -1, 0);
      if (p === -1) return osFail('mmap', c.ENOMEM);
      if (p !== base) {
        // Without MAP_FIXED_NOREPLACE (old kernels, macOS) the address is only a hint: anything else means in use.
        munmap(p, len);
        return fail('invalid-address', c.EEXIST, 'mmap', 'address in use');
      }
      return ok(p);
    }
    const len = Math.ceil(size / pageSize) * pageSize;
    const span = len + GRANULARITY - pageSize;
    if (!Number.isSafeInteger(span)) return fail('out-of-memory', c.ENOMEM, 'mmap', 'size too large');
    let base = mmap(hint, len, PROT_NONE, flags, -1, 0);
    if (base === -1) return osFail('mmap', c.ENOMEM);
    if (base % GRANULARITY !== 0) {
      // Off the boundary: over-reserve by one granule less a page, then trim both ends onto a 64 KiB boundary.
      munmap(base, len);
      const p = mmap(0, span, PROT_NONE, flags, -1, 0);
      if (p === -1) return osFail('mmap', c.ENOMEM);
      base = Math.ceil(p / GRANULARITY) * GRANULARITY;
      if (base > p) munmap(p, base - p);
      const tail = p + span - (base + len);
      if (tail > 0) munmap(base + len, tail);
    }
    const below = base - Math.ceil(len / GRANULARITY) * GRANULARITY;
    hint = below > 0 ? below : 0;
    return ok(base);
  }

  function commit(address: number, size: number, protect: number): OsResult<void> {
    const start = firstPage(address);
    const len = pageSpan(address, size);
    const prot = pageToProt(protect);
    if (mprotect(start, len, prot) !== 0) return osFail('mprotect');
    markIfNoAccess(start, len, prot);
    return OK_VOID;
  }

  function decommit(address: number, size: number): OsResult<void> {
    const start = firstPage(address);
    const len = pageSpan(address, size);
    // Fresh PROT_NONE pages over the old ones: content and commit charge gone, no `dd` mark: reserved.
    const p = mmap(start, len, PROT_NONE, ANON | c.MAP_FIXED | c.MAP_NORESERVE, -1, 0);
    if (p === -1) return osFail('mmap', c.ENOMEM);
    return OK_VOID;
  }

  function release(base: number, size: number): OsResult<void> {
    const start = firstPage(base);
    const len = pageSpan(base, size);
    if (munmap(start, len) !== 0) return osFail('munmap');
    // The hole just left is aligned and free: the next reservation tries it first.
    if (start % GRANULARITY === 0) hint = start;
    return OK_VOID;
  }

  function protect(address: number, size: number, newProtect: number): OsResult<void> {
    const start = firstPage(address);
    const len = pageSpan(address, size);
    const prot = pageToProt(newProtect);
    if (mprotect(start, len, prot) !== 0) return osFail('mprotect');
    markIfNoAccess(start, len, prot);
    return OK_VOID;
  }

  function reset(address: number, size: number): OsResult<void> {
    // MADV_FREE keeps the pages mapped and committed but lets the kernel drop their content lazily (MEM_RESET).
    const start = firstPage(address);
    const len = pageSpan(address, size);
    if (madvise(start, len, c.MADV_FREE) !== 0 && madvise(start, len, c.MADV_DONTNEED) !== 0) {
      return osFail('madvise');
    }
    return OK_VOID;
  }

  function mappingType(m: Mapping): MemType {
    if (m.inode === 0) return 'MEM_PRIVATE';
    return m.perms[2] === 'x' || /\.so(\.|$)/.test(m.path) ? 'MEM_IMAGE' : 'MEM_MAPPED';
  }

  /**
   * A mapping is reserved (not committed) when it is PROT_NONE without the `dd` mark that commit and protect give
   * committed no-access pages. (Mappings the host does not own follow the same rule: a PROT_NONE reservation made
   * elsewhere — V8's, a thread stack's guard — reads as reserved, as Windows reports its like.)
   */
  function mappingState(m: Mapping): MemState {
    if (m.perms.startsWith('---') && !(m.flags !== undefined && m.flags.includes('dd'))) return 'MEM_RESERVE';
    return 'MEM_COMMIT';
  }

  function infoFor(m: Mapping, from: number, to: number): OsRegionInfo {
    const state = mappingState(m);
    return {
      baseAddress: from,
      allocationBase: m.start,
      allocationProtect: 0,
      regionSize: to - from,
      state,
      protect: state === 'MEM_COMMIT' ? permsToPage(m.perms) : 0,
      type: mappingType(m),
    };
  }

  function freeInfo(from: number, to: number): OsRegionInfo {
    return {
      baseAddress: from,
      allocationBase: 0,
      allocationProtect: 0,
      regionSize: to - from,
      state: 'MEM_FREE',
      protect: PAGE.NOACCESS,
      type: undefined,
    };
  }

  function query(address: number): OsResult<OsRegionInfo> {
    if (!c.procfs) return fail('unsupported', 0, 'query', 'no /proc on this OS');
    const page = Math.floor(address / pageSize) * pageSize;
    let maps = readMaps();
    let at = findMapping(maps, page);
    if (!at.found) {
      const next = maps[at.index];
      return ok(freeInfo(page, next ? next.start : page + pageSize));
    }
    // Only PROT_NONE mappings are ambiguous (reserved or committed no-access): then smaps' VmFlags decide.
    if (maps[at.index]!.perms.startsWith('---')) {
      maps = readSmaps();
      at = findMapping(maps, page);
      if (!at.found) return ok(freeInfo(page, page + pageSize));
    }
    const m = maps[at.index]!;
    return ok(infoFor(m, page, m.end));
  }

  function queryRange(start: number, size: number): OsResult<OsRegionInfo[]> {
    if (!c.procfs) return fail('unsupported', 0, 'queryRange', 'no /proc on this OS');
    return ok(walk(readSmaps(), start, size));
  }

  function queryRanges(ranges: ReadonlyArray<readonly [number, number]>): OsResult<OsRegionInfo[][]> {
    if (!c.procfs) return fail('unsupported', 0, 'queryRanges', 'no /proc on this OS');
    const maps = readSmaps();
    return ok(ranges.map(([start, size]) => walk(maps, start, size)));
  }

  /** The runs of [start, start+size) in one smaps snapshot, clipped to the range; gaps are MEM_FREE. */
  function walk(maps: readonly Mapping[], start: number, size: number): OsRegionInfo[] {
    const end = start + size;
    const out: OsRegionInfo[] = [];
    let cursor = start;
    let { index } = findMapping(maps, start);
    while (cursor < end) {
      const m = maps[index];
      if (m === undefined || m.start >= end) {
        out.push(freeInfo(cursor, end));
        break;
      }
      if (m.end <= cursor) {
        index++;
        continue;
      }
      if (m.start > cursor) {
        out.push(freeInfo(cursor, m.start));
        cursor = m.start;
      }
      const to = Math.min(m.end, end);
      out.push(infoFor(m, cursor, to));
      cursor = to;
      index++;
    }
    return out;
  }

  function memoryStatus(): OsResult<OsMemoryStatus> {
    if (!c.procfs) return fail('unsupported', 0, 'memoryStatus', 'no /proc on this OS');
    try {
      const kv = readKeyValues('/proc/meminfo');
      const totalPhys = kv.get('MemTotal') ?? 0;
      const availPhys = kv.get('MemAvailable') ?? kv.get('MemFree') ?? 0;
      const totalCommit = kv.get('CommitLimit') ?? 0;
      const committed = kv.get('Committed_AS') ?? 0;
      const memoryLoad = totalPhys > 0 ? Math.round((100 * (totalPhys - availPhys)) / totalPhys) : 0;
      return ok({
        memoryLoad: Math.min(100, Math.max(0, memoryLoad)),
        totalPhys,
        availPhys,
        totalCommit,
        availCommit: Math.max(0, totalCommit - committed),
      });
    } catch (e) {
      return fail('unknown', 0, 'read /proc/meminfo', String(e));
    }
  }

  function processCounters(): OsResult<OsProcessCounters> {
    if (!c.procfs) return fail('unsupported', 0, 'processCounters', 'no /proc on this OS');
    try {
      const kv = readKeyValues('/proc/self/status');
      return ok({
        workingSet: kv.get('VmRSS') ?? 0,
        peakWorkingSet: kv.get('VmHWM') ?? 0,
        privateBytes: (kv.get('VmData') ?? 0) + (kv.get('VmStk') ?? 0),
        pageFaults: readPageFaults(),
      });
    } catch (e) {
      return fail('unknown', 0, 'read /proc/self/status', String(e));
    }
  }

  // One reusable buffer for compare: memcmp against it chunk by chunk, so memory stays bounded.
  const CHUNK = 1 << 20;
  const pattern = new Uint8Array(CHUNK);
  let patternByte = 0;
  /** Bytes at the start of `pattern` that hold `patternByte`: only what a compare needs is filled. */
  let patternValid = CHUNK;

  function compare(address: number, size: number, byte: number): boolean {
    if (patternByte !== byte) {
      patternByte = byte;
      patternValid = 0;
    }
    for (let done = 0; done < size; done += CHUNK) {
      const n = Math.min(CHUNK, size - done);
      if (n > patternValid) {
        pattern.fill(byte, patternValid, n);
        patternValid = n;
      }
      if (memcmp(address + done, pattern, n) !== 0) return false;
    }
    return true;
  }

  function heapCreate(options: { threadSafe: boolean; executable: boolean }): OsResult<OsHeap> {
    const id = nextHeap++;
    heaps.set(id, new PosixHeap(options.executable));
    return ok(id);
  }

  function heapAlloc(heap: OsHeap, size: number): OsResult<number> {
    const h = heaps.get(heap);
    if (!h) return fail('invalid-argument', c.EINVAL, 'malloc', 'unknown heap');
    let p: number;
    let len = size;
    if (h.executable) {
      // The C allocator never hands out executable memory: an executable heap maps its blocks itself.
      len = Math.max(pageSize, Math.ceil(size / pageSize) * pageSize);
      p = mmap(0, len, PROT_READ | PROT_WRITE | PROT_EXEC, ANON, -1, 0);
      if (p === -1) return osFail('mmap', c.ENOMEM);
    } else {
      p = malloc(Math.max(1, size));
      if (p === 0) return fail('out-of-memory', c.ENOMEM, 'malloc', 'malloc returned NULL');
    }
    h.blocks.set(p, len);
    return ok(p);
  }

  function heapFree(heap: OsHeap, address: number): OsResult<void> {
    const h = heaps.get(heap);
    const len = h?.blocks.get(address);
    if (!h || len === undefined) return fail('invalid-argument', c.EINVAL, 'free', 'not a block of this heap');
    h.blocks.delete(address);
    if (h.executable) munmap(address, len);
    else free(address);
    return OK_VOID;
  }

  function heapSize(heap: OsHeap, address: number): OsResult<number> {
    const h = heaps.get(heap);
    const len = h?.blocks.get(address);
    if (!h || len === undefined) return fail('invalid-argument', c.EINVAL, 'malloc_usable_size', 'not a block');
    return ok(h.executable ? len : usableSize(address));
  }

  function heapDestroy(heap: OsHeap): OsResult<void> {
    const h = heaps.get(heap);
    if (!h) return fail('invalid-argument', c.EINVAL, 'heapDestroy', 'unknown heap');
    for (const p of [...h.blocks.keys()]) heapFree(heap, p);
    heaps.delete(heap);
    return OK_VOID;
  }

  return {
    backend: 'posix',
    pageSize,
    allocationGranularity: GRANULARITY,
    reserve: (address, size) => reserve(address, size), // MEM_TOP_DOWN is only a placement hint: mmap decides.
    commit,
    decommit,
    release,
    protect,
    reset,
    resetUndo: () => OK_VOID, // MADV_FREE'd pages that were not reclaimed keep their content: nothing to undo.
    query,
    queryRange,
    queryRanges,
    effectiveProtect: (protect) => protToPage(pageToProt(protect)),
    memoryStatus,
    processCounters,
    fill: (address, size, byte) => {
      memset(address, byte, size);
    },
    compare,
    heapCreate,
    heapAlloc,
    heapFree,
    heapSize,
    heapDestroy,
  };
}
