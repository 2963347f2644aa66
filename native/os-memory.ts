/**
 * The OS layer: one interface, one implementation per platform (`win32/`, `posix/`), picked in `index.ts`.
 *
 * It speaks the Win32 virtual-memory model on every OS (reserve, commit, decommit, release, protect, query;
 * page protections as PAGE_* numbers) so that nothing above it ever asks which OS it runs on.
 *
 * What a caller may rely on:
 * - Addresses are plain numbers. User-space addresses on x64 and arm64 are below 2^48, well inside 2^53.
 * - `allocationGranularity` is 65536 on every OS: reservations start on a 64 KiB boundary, like Windows.
 * - Sizes passed to reserve/commit/decommit/protect/release are whole pages (the host rounds before calling);
 *   reserve sizes are whole pages too (the reservation itself is rounded up to the granularity by the backend).
 * - Ordinary failures come back as `{ ok: false, error }` with a common code; nothing here throws for them,
 *   and nothing here crashes the process on bad input that reaches it (the host validates first anyway).
 * - `fill` and `compare` copy bytes through the C library, never through `koffi.view` (forbidden in Electron).
 *   They do not check protection: the host only calls them on committed, accessible, host-owned pages.
 */

import type { Backend, MemState, MemType } from '../main/vocabulary';

// The Win32 constants are hostmem's vocabulary (main/vocabulary), shared with the UI; re-exported for the backends.
export { MEM, PAGE, type MemState, type MemType } from '../main/vocabulary';

/**
 * The common error codes. `native` keeps the OS's own number (Win32 error or errno) for messages and logs;
 * callers decide on `code` only.
 */
export type OsErrorCode =
  | 'out-of-memory' // ERROR_NOT_ENOUGH_MEMORY, ERROR_COMMITMENT_LIMIT, ENOMEM
  | 'invalid-address' // ERROR_INVALID_ADDRESS, EEXIST (MAP_FIXED_NOREPLACE), address not mapped
  | 'invalid-argument' // ERROR_INVALID_PARAMETER, EINVAL
  | 'access-denied' // ERROR_NOACCESS, EACCES, EPERM
  | 'unsupported' // the backend cannot do this at all
  | 'unknown'; // anything else: the host treats it as E_FAIL

export interface OsError {
  readonly code: OsErrorCode;
  /** Win32 error code or errno, as the OS gave it. */
  readonly native: number;
  /** The OS function that failed, e.g. `VirtualAlloc` or `mmap`. */
  readonly call: string;
  readonly message: string;
}

export type OsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: OsError };

/** What the OS says about the run of pages that holds an address (MEMORY_BASIC_INFORMATION). */
export interface OsRegionInfo {
  /** The page that holds the queried address. */
  readonly baseAddress: number;
  /** Start of the allocation (reservation/mapping) that holds it; 0 when free. */
  readonly allocationBase: number;
  /** Protection given when the allocation was made (PAGE_*); 0 when free or unknown. */
  readonly allocationProtect: number;
  /** Bytes from baseAddress to the end of the run of pages with the same state and protection. */
  readonly regionSize: number;
  readonly state: MemState;
  /** PAGE_* of the run: 0 when reserved, PAGE_NOACCESS when free (as Windows reports). */
  readonly protect: number;
  /** Undefined when free. */
  readonly type: MemType | undefined;
}

export interface OsMemoryStatus {
  /** Percent of physical memory in use, 0–100. */
  readonly memoryLoad: number;
  readonly totalPhys: number;
  readonly availPhys: number;
  /** The system commit limit and what is left of it (page file + RAM on Windows; CommitLimit on Linux). */
  readonly totalCommit: number;
  readonly availCommit: number;
}

export interface OsProcessCounters {
  /** Resident set / working set, bytes. */
  readonly workingSet: number;
  readonly peakWorkingSet: number;
  /** Private committed bytes of the whole process (PagefileUsage on Windows; VmData+VmStk on Linux). */
  readonly privateBytes: number;
  readonly pageFaults: number;
}

/** Opaque handle of an OS heap (a Win32 HANDLE or a posix heap id). */
export type OsHeap = number;

export interface OsMemory {
  readonly backend: Backend;
  readonly pageSize: number;
  /** 65536 on every backend. */
  readonly allocationGranularity: number;

  /**
   * Reserve address space, no access, no commit charge. `address` null lets the OS choose; otherwise it must be
   * granularity-aligned and the call fails with `invalid-address` if any byte of the range is in use, or if it is
   * below the allocation granularity (the first 64 KiB: Windows never allocates there, and on POSIX it is the NULL
   * page that mmap_min_addr guards; every backend refuses it the same way, before asking the OS).
   * The result is granularity-aligned.
   */
  reserve(address: number | null, size: number, topDown: boolean): OsResult<number>;
  /**
   * Commit pages of a reservation with a protection (a valid PAGE_* combination). Content of pages that are
   * already committed is kept; newly committed pages read as zero.
   */
  commit(address: number, size: number, protect: number): OsResult<void>;
  /** Decommit pages: their content is discarded and their commit charge returned; they stay reserved. */
  decommit(address: number, size: number): OsResult<void>;
  /** Release a whole reservation made by `reserve` (base and its reserved size). */
  release(base: number, size: number): OsResult<void>;
  /**
   * Change the protection of committed pages. (The previous protection is not returned: POSIX can only tell it
   * by reading /proc, which made every VirtualProtect cost a file read; the host keeps it in its books.)
   */
  protect(address: number, size: number, protect: number): OsResult<void>;
  /** MEM_RESET: the content of committed pages is no longer needed (they stay committed). */
  reset(address: number, size: number): OsResult<void>;
  /** MEM_RESET_UNDO: the caller wants the content after all (best effort; may be zero). */
  resetUndo(address: number, size: number): OsResult<void>;
  /** What the OS says the page run holding `address` is. */
  query(address: number): OsResult<OsRegionInfo>;
  /**
   * All runs the OS reports in [start, start+size), in order, clipped to the range. One OS walk, for audits;
   * adjacent runs may be split or merged differently from one OS to another: compare states and byte totals.
   */
  queryRange(start: number, size: number): OsResult<OsRegionInfo[]>;
  /** `queryRange` for many ranges at once: one OS snapshot where the OS offers one (/proc/self/smaps). */
  queryRanges(ranges: ReadonlyArray<readonly [number, number]>): OsResult<OsRegionInfo[][]>;
  /**
   * The protection the OS will report for pages committed with `protect`: the same on Windows; on POSIX,
   * what mprotect can express (no GUARD, NOCACHE or WRITECOMBINE; WRITECOPY reads as READWRITE).
   */
  effectiveProtect(protect: number): number;

  memoryStatus(): OsResult<OsMemoryStatus>;
  processCounters(): OsResult<OsProcessCounters>;

  /** memset: write `byte` into [address, address+size). Only on committed writable pages. */
  fill(address: number, size: number, byte: number): void;
  /** True when every byte of [address, address+size) equals `byte`. Only on committed readable pages. */
  compare(address: number, size: number, byte: number): boolean;

  /** HeapCreate on Windows; on posix a heap id over the C allocator (`executable` unsupported there). */
  heapCreate(options: { threadSafe: boolean; executable: boolean }): OsResult<OsHeap>;
  heapAlloc(heap: OsHeap, size: number): OsResult<number>;
  heapFree(heap: OsHeap, address: number): OsResult<void>;
  /** Usable size of a block (HeapSize / malloc_usable_size). */
  heapSize(heap: OsHeap, address: number): OsResult<number>;
  heapDestroy(heap: OsHeap): OsResult<void>;
}

export function ok<T>(value: T): OsResult<T> {
  return { ok: true, value };
}

export function fail<T>(code: OsErrorCode, native: number, call: string, message: string): OsResult<T> {
  return { ok: false, error: { code, native, call, message } };
}

/** The single `ok` value for void results: one shared object, so success costs no allocation. */
export const OK_VOID: OsResult<void> = { ok: true, value: undefined };
