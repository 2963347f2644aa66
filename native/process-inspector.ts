/**
 * The process inspector: reads what the OS says about *other* processes (the list of them, their cheap counters,
 * and every region of one process's address space). One interface, one implementation per OS (`win32/processes.ts`,
 * `posix/processes.ts`), picked in `index.ts` by `createProcessInspector()`. It only reads; it never changes a
 * process.
 *
 * It speaks the Win32 vocabulary hostmem already uses (MEM_COMMIT / MEM_RESERVE / MEM_FREE, MEM_IMAGE / MEM_MAPPED /
 * MEM_PRIVATE, PAGE_* numbers, allocation base) on every OS. How Linux's /proc/PID/smaps maps onto it is written
 * down in docs/spec/process-inspection.md.
 *
 * What a caller may rely on:
 * - Every call resolves; failures come back as `{ ok: false, error }` with a `ProcessErrorCode`, never thrown.
 * - A walk's regions are ascending, never overlap, and (with `includeFree`, the default) tile the user address
 *   space from 0 to `addressLimit` without a hole; regions above it (Linux's `[vsyscall]`) follow, ascending.
 * - A region that changes while the walk reads it is taken as read (the OS's answer at that moment); a process that
 *   exits during a walk gives `exited`.
 * - Sizes are bytes; addresses are plain numbers (user space is below 2^48; `[vsyscall]` is exact as a double).
 * - Every OS handle a call opens is closed before it resolves, on every path.
 */
import type { MemState, MemType } from './os-memory';
import type { Backend } from '../main/vocabulary';

/** Why a process could not be listed, read or walked. Callers decide on `code` only. */
export type ProcessErrorCode =
  | 'no-such-process' // ESRCH / ENOENT on /proc/PID, ERROR_INVALID_PARAMETER from OpenProcess
  | 'access-denied' // EACCES / EPERM (another user, ptrace_scope), ERROR_ACCESS_DENIED (protected process)
  | 'exited' // the process was there when the call started and is gone now (ERROR_PARTIAL_COPY, ESRCH mid-read)
  | 'invalid-argument' // a pid that is not a positive integer
  | 'unsupported' // this OS cannot do it at all (e.g. no /proc)
  | 'unknown'; // anything else

export interface ProcessError {
  readonly code: ProcessErrorCode;
  readonly pid: number;
  /** Win32 error code or errno, as the OS gave it (0 when none). */
  readonly native: number;
  /** The OS call or file that failed, e.g. `OpenProcess` or `/proc/1/smaps`. */
  readonly call: string;
  /** One line, for people: what happened. */
  readonly message: string;
  /** One line, for people: what would allow it (e.g. run as the same user or as an administrator), if anything. */
  readonly hint?: string;
}

export type ProcessResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ProcessError };

/** One running process, with the counters the OS gives cheaply (no address-space walk). */
export interface ProcessInfo {
  readonly pid: number;
  /** Null when the OS does not say (or the parent is gone, on Windows the pid may be stale). */
  readonly parentPid: number | null;
  /** The short name: `comm` on Linux, the image file name on Windows (e.g. `node.exe`). */
  readonly name: string;
  /** Full path of the executable when readable (`/proc/PID/exe`, QueryFullProcessImageNameW), else null. */
  readonly imagePath: string | null;
  /** The command line when readable (Linux `/proc/PID/cmdline`; null on Windows), else null. */
  readonly commandLine: string | null;
  /** The owner's user name (or uid as text when it has no name) when readable, else null. */
  readonly user: string | null;
  /** Resident set / working set, bytes (VmRSS; WorkingSetSize); null when unreadable. */
  readonly workingSet: number | null;
  /**
   * Committed bytes, the OS's own commit charge: Windows PrivateUsage from PROCESS_MEMORY_COUNTERS_EX; Linux the
   * sizes of the mappings the kernel charges to the commit limit (the `ac` VmFlag in /proc/PID/smaps), the same
   * figure a walk's committed total gives. Null when unreadable.
   */
  readonly privateBytes: number | null;
  /**
   * Resident bytes no other process shares (Linux Private_Clean + Private_Dirty over smaps); null where the OS has
   * no cheap figure (Windows) or it is unreadable.
   */
  readonly privateResident: number | null;
  /** Total mapped address space (VmSize on Linux; null on Windows, which has no cheap figure). */
  readonly virtualSize: number | null;
  /** When the process started, ms since the epoch (tells a reused pid apart); null when unreadable. */
  readonly startedAt: number | null;
}

/**
 * What the OS itself says a region is used for, where it says it: Linux names `[heap]` and `[stack]`, and knows
 * shared memory that has no file of its own (shared anonymous, SysV, memfd, /dev/shm); Windows reports
 * pagefile-backed sections (MEM_MAPPED with no file) as `shareable` but cannot tell heaps and stacks from other
 * private memory without reading the process's own structures, which this layer does not do.
 */
export type RegionUse = 'heap' | 'stack' | 'shareable';

/** One run of pages with the same state, type and protection (a VirtualQueryEx answer; an smaps entry on Linux). */
export interface ProcessRegion {
  readonly baseAddress: number;
  readonly size: number;
  readonly state: MemState;
  /** Undefined when free. */
  readonly type: MemType | undefined;
  /** PAGE_* of the run: 0 when reserved, PAGE_NOACCESS when free (as Windows reports). */
  readonly protect: number;
  /** Start of the allocation (reservation, mapped view, loaded image) this run belongs to; 0 when free. */
  readonly allocationBase: number;
  /** PAGE_* given when the allocation was made (Linux: the protection of the allocation's first run); 0 if free. */
  readonly allocationProtect: number;
  /**
   * Committed bytes of this run, the OS's commit charge: Windows its size when MEM_COMMIT, else 0; Linux its size
   * when the kernel charges it to the commit limit (the `ac` VmFlag), else 0, whatever its protection.
   */
  readonly committed: number;
  /** The file behind a mapped or image region as a path (drive path on Windows), else null. */
  readonly file: string | null;
  /** The OS's own label for a region without a file (`[heap]`, `[stack]`, `[vdso]`, `[anon:name]`), else null. */
  readonly label: string | null;
  readonly use: RegionUse | null;
  /** Resident bytes (Rss; working-set pages) where the OS says them, else null. */
  readonly resident: number | null;
  /** Resident bytes no other process maps (Private_Clean + Private_Dirty; non-shared working-set pages), or null. */
  readonly private: number | null;
  /** Proportional set size (Linux only), else null. */
  readonly pss: number | null;
  /** Swapped-out bytes (Linux only), else null. */
  readonly swap: number | null;
}

/** One walk of one process's address space. */
export interface ProcessWalk {
  readonly pid: number;
  /** The process's short name when readable, else null. */
  readonly name: string | null;
  readonly backend: Backend;
  readonly pageSize: number;
  /** When the walk started, ms since the epoch. */
  readonly takenAt: number;
  /** How long the walk took, ms. */
  readonly durationMs: number;
  /** End of the user address space the free regions run up to. */
  readonly addressLimit: number;
  /** Every region, ascending (see the guarantees at the top of this file). */
  readonly regions: readonly ProcessRegion[];
}

export interface WalkOptions {
  /** Include MEM_FREE regions (the gaps), default true. */
  readonly includeFree?: boolean;
}

export interface ProcessInspector {
  readonly backend: Backend;
  readonly pageSize: number;
  /** Every process the OS lists, ascending by pid; processes that vanish while listed are left out. */
  listProcesses(): Promise<ProcessResult<ProcessInfo[]>>;
  /** One process's entry (the same fields as in `listProcesses`). */
  processInfo(pid: number): Promise<ProcessResult<ProcessInfo>>;
  /** Every region of `pid`'s address space (one streaming read of /proc/PID/smaps; a VirtualQueryEx loop). */
  walkProcess(pid: number, options?: WalkOptions): Promise<ProcessResult<ProcessWalk>>;
  /** Whether `pid` names a running process right now (a zombie counts as exited). */
  isRunning(pid: number): boolean;
  /**
   * Optional, for watchers: a cheap token of `pid`'s address-space layout and resident totals (Linux: a digest of
   * /proc/PID/maps and /proc/PID/statm, ~50 ms for 100,000 mappings against ~400 ms for smaps). Two equal tokens
   * mean a walk would find the same regions with the same totals (a residency shift between regions that leaves
   * every total unchanged is the one thing it does not see). Null when the backend has none: walk every time.
   */
  fingerprint?(pid: number): Promise<ProcessResult<string | null>>;
}

export function processOk<T>(value: T): ProcessResult<T> {
  return { ok: true, value };
}

export function processFail<T>(
  code: ProcessErrorCode,
  pid: number,
  native: number,
  call: string,
  message: string,
  hint?: string,
): ProcessResult<T> {
  return {
    ok: false,
    error: hint === undefined ? { code, pid, native, call, message } : { code, pid, native, call, message, hint },
  };
}

/** Validate a pid at the boundary: a positive safe integer. */
export function badPid<T>(pid: number): ProcessResult<T> | undefined {
  if (Number.isSafeInteger(pid) && pid > 0) return undefined;
  return processFail('invalid-argument', pid, 0, 'pid', `not a process id: ${String(pid)}`);
}
