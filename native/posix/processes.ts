/**
 * The posix process inspector: Linux's /proc. The list from /proc/PID/{stat,status,cmdline,exe}; a walk is one
 * streaming read of /proc/PID/smaps, parsed on the bytes as they arrive (no string per line), mapped onto the Win32
 * vocabulary as docs/spec/process-inspection.md says. Without /proc (macOS) every call answers `unsupported`.
 *
 * The list and single-process reads are small synchronous /proc reads (a few hundred bytes each: the thread pool
 * costs more than the read); the walk, which may be tens of megabytes, reads asynchronously in 1 MiB chunks.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import koffi from 'koffi';
import { PAGE, type MemState, type MemType } from '../os-memory';
import {
  badPid,
  processFail,
  processOk,
  type ProcessError,
  type ProcessErrorCode,
  type ProcessInfo,
  type ProcessInspector,
  type ProcessRegion,
  type ProcessResult,
  type ProcessWalk,
  type RegionUse,
  type WalkOptions,
} from '../process-inspector';

/** How much of smaps one read asks for (tests shrink it to cut lines at every place). */
export const smapsReading = { chunkBytes: 256 << 10 };
/** Bytes of smaps read between two yields to the event loop (~5 ms of kernel work here). */
const YIELD_BYTES = 1 << 20;
const SC_CLK_TCK = 2;
/** End of user space: TASK_SIZE on x86-64 (47-bit) and the 48-bit arm64 default. */
const ADDRESS_LIMIT = process.arch === 'x64' ? 2 ** 47 - 4096 : 2 ** 48;

/** What would allow reading another process's memory map (ptrace's read check: same user, or CAP_SYS_PTRACE). */
function accessHint(): string {
  const base = 'run hostmem as the same user as the process, or as root with CAP_SYS_PTRACE';
  if (process.getuid?.() === 0)
    return `${base} (hostmem runs as root here, so the process is out of its reach: a container or another user namespace)`;
  return `${base} (reading another user’s memory map needs it)`;
}

function errnoOf(e: unknown): { code: string; errno: number } {
  const err = e as NodeJS.ErrnoException;
  return {
    code: typeof err?.code === 'string' ? err.code : '',
    errno: typeof err?.errno === 'number' ? -err.errno : 0,
  };
}

function codeOf(e: unknown): ProcessErrorCode {
  switch (errnoOf(e).code) {
    case 'ENOENT':
    case 'ESRCH':
      return 'no-such-process';
    case 'EACCES':
    case 'EPERM':
      return 'access-denied';
    default:
      return 'unknown';
  }
}

/** The common error for a failed /proc read: what happened, in one line, and what would allow it. */
export function posixProcessError(e: unknown, pid: number, call: string, what: string): ProcessError {
  const code = codeOf(e);
  const { errno } = errnoOf(e);
  if (code === 'no-such-process') return { code, pid, native: errno, call, message: `no process with id ${pid}` };
  if (code === 'access-denied')
    return {
      code,
      pid,
      native: errno,
      call,
      message: `access denied: cannot ${what} of process ${pid}`,
      hint: accessHint(),
    };
  const message = e instanceof Error ? e.message : String(e);
  return { code, pid, native: errno, call, message: `cannot ${what} of process ${pid}: ${message}` };
}

function failFrom<T>(e: unknown, pid: number, call: string, what: string): ProcessResult<T> {
  return { ok: false, error: posixProcessError(e, pid, call, what) };
}

/** PAGE_* for Linux permissions: no write-only or execute-only-write pages on Windows, so those read as RW. */
function protectOf(r: boolean, w: boolean, x: boolean): number {
  if (x) return w ? PAGE.EXECUTE_READWRITE : r ? PAGE.EXECUTE_READ : PAGE.EXECUTE;
  if (w) return PAGE.READWRITE;
  if (r) return PAGE.READONLY;
  return 0;
}

/** Shared memory that has no file of its own (its "path" names a kernel object, not a file a user keeps). */
function isShmemPath(path: string): boolean {
  return (
    path.startsWith('/SYSV') ||
    path.startsWith('/memfd:') ||
    path.startsWith('/dev/shm/') ||
    path.startsWith('/dev/zero') ||
    path.startsWith('[anon_shmem')
  );
}

interface MutableRegion {
  baseAddress: number;
  size: number;
  state: MemState;
  type: MemType | undefined;
  protect: number;
  allocationBase: number;
  allocationProtect: number;
  committed: number;
  file: string | null;
  label: string | null;
  use: RegionUse | null;
  resident: number | null;
  private: number | null;
  pss: number | null;
  swap: number | null;
}

/** What the parser keeps of a mapping besides the region: the file's identity, to group and to tell images. */
interface MappingKey {
  readonly region: MutableRegion;
  /** `dev:inode` of the file, or '' for anonymous memory. */
  readonly fileKey: string;
  readonly executable: boolean;
  readonly shared: boolean;
}

/**
 * Parses smaps bytes as they arrive. Only the fields hostmem uses are read: the header line, Rss, Pss,
 * Private_Clean, Private_Dirty and Swap. A key line that comes before any header is ignored (cannot happen with a
 * well-formed file, and a torn one is taken as read).
 */
export class SmapsParser {
  readonly mappings: MappingKey[] = [];
  private current: MutableRegion | undefined;
  private readonly strings = new Map<string, string>();

  /** Parse every complete line of `buf[start, end)`; returns where the unparsed tail starts. */
  parse(buf: Buffer, start: number, end: number): number {
    let at = start;
    for (;;) {
      // Most lines are `Key:   <8-digit-wide value> kB`, 27 bytes: one look at where " kB\n" would be saves a
      // scan for the newline (only a key line, upper case, of exactly that form passes the check).
      let nl = at + 27;
      const c = buf[at]!;
      if (!(
        nl < end &&
        c >= 65 &&
        c <= 90 &&
        buf[nl] === 10 &&
        buf[at + 26] === 66 &&
        buf[at + 25] === 107 &&
        buf[at + 24] === 32
      )) {
        nl = buf.indexOf(10, at);
        if (nl < 0 || nl >= end) return at;
      }
      this.line(buf, at, nl);
      at = nl + 1;
    }
  }

  private line(b: Buffer, s: number, e: number): void {
    const c = b[s]!;
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) {
      this.header(b, s, e);
      return;
    }
    const r = this.current;
    if (r === undefined) return;
    if (c === 82 /* R */ && b[s + 1] === 115 && b[s + 2] === 115 && b[s + 3] === 58) r.resident = kb(b, s + 4, e);
    else if (c === 80 /* P */) {
      if (b[s + 1] === 115 && b[s + 2] === 115 && b[s + 3] === 58) r.pss = kb(b, s + 4, e);
      else if (b[s + 1] === 114 && b[s + 7] === 95 /* _ */ && b[s + 13] === 58 /* Private_Clean: / _Dirty: */)
        r.private = (r.private ?? 0) + kb(b, s + 14, e);
    } else if (c === 83 /* S */ && b[s + 1] === 119 && b[s + 2] === 97 && b[s + 3] === 112 && b[s + 4] === 58)
      r.swap = kb(b, s + 5, e);
    else if (c === 86 /* V */ && b[s + 1] === 109 && b[s + 2] === 70 && b[s + 7] === 58 /* VmFlags: */)
      r.committed = hasFlag(b, s + 8, e, 97, 99) /* ac */ ? r.size : 0;
  }

  private header(b: Buffer, s: number, e: number): void {
    // start-end perms offset dev inode [path]
    let i = s;
    let start = 0;
    for (; i < e && b[i] !== 45; i++) start = start * 16 + hexDigit(b[i]!);
    let end = 0;
    for (i++; i < e && b[i] !== 32; i++) end = end * 16 + hexDigit(b[i]!);
    const p = i + 1;
    const read = b[p] === 114;
    const write = b[p + 1] === 119;
    const exec = b[p + 2] === 120;
    const shared = b[p + 3] === 115;
    i = p + 5;
    while (i < e && b[i] !== 32) i++; // offset
    const devStart = ++i;
    while (i < e && b[i] !== 32) i++;
    const devEnd = i;
    let inode = 0;
    for (i++; i < e && b[i] !== 32; i++) inode = inode * 10 + (b[i]! - 48);
    while (i < e && b[i] === 32) i++;
    const path = i < e ? this.intern(b.toString('utf8', i, e)) : null;
    const protect = protectOf(read, write, exec);
    const label = path !== null && path.startsWith('[') ? path : null;
    const file = path !== null && label === null ? path : null;
    let use: RegionUse | null = null;
    let type: MemType = 'MEM_PRIVATE';
    if (file !== null) {
      type = 'MEM_MAPPED';
      if (isShmemPath(file)) use = 'shareable';
    } else if (label !== null) {
      if (label === '[heap]') use = 'heap';
      else if (label === '[stack]' || label.startsWith('[stack:')) use = 'stack';
      else if (label === '[vdso]' || label === '[vsyscall]') type = 'MEM_IMAGE';
      else if (label.startsWith('[vvar') || label.startsWith('[anon_shmem')) {
        type = 'MEM_MAPPED';
        use = 'shareable';
      } else if (shared) {
        type = 'MEM_MAPPED';
        use = 'shareable';
      }
    } else if (shared) {
      type = 'MEM_MAPPED';
      use = 'shareable';
    }
    const state: MemState = protect === 0 ? 'MEM_RESERVE' : 'MEM_COMMIT';
    const size = end - start;
    const region: MutableRegion = {
      baseAddress: start,
      size,
      state,
      type,
      protect,
      allocationBase: start,
      allocationProtect: protect,
      committed: state === 'MEM_COMMIT' ? size : 0,
      file,
      label,
      use,
      resident: null,
      private: null,
      pss: null,
      swap: null,
    };
    this.current = region;
    const fileKey = file !== null && inode !== 0 ? `${b.toString('latin1', devStart, devEnd)}:${inode}` : '';
    this.mappings.push({ region, fileKey, executable: exec, shared });
  }

  private intern(s: string): string {
    const had = this.strings.get(s);
    if (had !== undefined) return had;
    this.strings.set(s, s);
    return s;
  }
}

/**
 * Whether the two-letter VmFlags word `c1 c2` (e.g. `ac`: the kernel charges the mapping to the commit limit) is in
 * `b[s, e)`, a list of two-letter words separated by spaces.
 */
function hasFlag(b: Buffer, s: number, e: number, c1: number, c2: number): boolean {
  for (let i = s; i + 1 < e; i++) {
    if (b[i] === 32) continue;
    if (b[i] === c1 && b[i + 1] === c2 && (i + 2 >= e || b[i + 2] === 32)) return true;
    i += 2;
  }
  return false;
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

/** `      123 kB` from `s` to `e` → bytes. */
function kb(b: Buffer, s: number, e: number): number {
  let i = s;
  while (i < e && b[i] === 32) i++;
  let n = 0;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n * 1024;
}

/**
 * The walk's second pass: which files are images (a file with an executable mapping: the program and its shared
 * objects; their data segments are mappings of the same file), allocations (the contiguous mappings of one file; a contiguous run of private anonymous mappings
 * that holds a PROT_NONE piece, i.e. a reservation with commits in it), and the free gaps.
 */
function finish(mappings: readonly MappingKey[], includeFree: boolean): ProcessRegion[] {
  const images = new Set<string>();
  for (const m of mappings) if (m.executable && m.fileKey !== '') images.add(m.fileKey);
  const n = mappings.length;
  for (let i = 0; i < n;) {
    const first = mappings[i]!;
    let j = i + 1;
    if (first.fileKey !== '') {
      if (images.has(first.fileKey)) first.region.type = 'MEM_IMAGE';
      while (j < n) {
        const m = mappings[j]!;
        const prev = mappings[j - 1]!.region;
        if (m.fileKey !== first.fileKey || m.region.baseAddress !== prev.baseAddress + prev.size) break;
        m.region.type = first.region.type;
        j++;
      }
    } else if (first.region.type === 'MEM_PRIVATE' && first.region.use === null) {
      let reserved = first.region.state === 'MEM_RESERVE';
      while (j < n) {
        const m = mappings[j]!;
        const prev = mappings[j - 1]!.region;
        if (m.fileKey !== '' || m.region.type !== 'MEM_PRIVATE' || m.region.use !== null) break;
        if (m.region.baseAddress !== prev.baseAddress + prev.size) break;
        if (m.region.state === 'MEM_RESERVE') reserved = true;
        j++;
      }
      if (!reserved) j = i + 1;
    }
    for (let k = i + 1; k < j; k++) {
      const r = mappings[k]!.region;
      r.allocationBase = first.region.baseAddress;
      r.allocationProtect = first.region.allocationProtect;
    }
    i = j;
  }
  if (!includeFree) return mappings.map((m) => m.region);
  const out: ProcessRegion[] = [];
  let cursor = 0;
  const limit = addressLimitOf(mappings);
  for (const { region } of mappings) {
    if (region.baseAddress > cursor && cursor < limit)
      out.push(freeRegion(cursor, Math.min(region.baseAddress, limit)));
    out.push(region);
    cursor = Math.max(cursor, region.baseAddress + region.size);
  }
  if (cursor < limit) out.push(freeRegion(cursor, limit));
  return out;
}

/** The user-space end, or the end of the highest mapping below `[vsyscall]` when a kernel allows more. */
function addressLimitOf(mappings: readonly MappingKey[]): number {
  let limit = ADDRESS_LIMIT;
  for (const { region } of mappings)
    if (region.label !== '[vsyscall]') limit = Math.max(limit, region.baseAddress + region.size);
  return limit;
}

function freeRegion(start: number, end: number): ProcessRegion {
  return {
    baseAddress: start,
    size: end - start,
    state: 'MEM_FREE',
    type: undefined,
    protect: PAGE.NOACCESS,
    allocationBase: 0,
    allocationProtect: 0,
    committed: 0,
    file: null,
    label: null,
    use: null,
    resident: null,
    private: null,
    pss: null,
    swap: null,
  };
}

/**
 * Read an open smaps file into `parser`. Synchronous reads in small chunks, yielding to the event loop between
 * slices: measured here, the kernel spends about half as much time making smaps for reads from this thread as for
 * reads from the thread pool (libuv's asynchronous reads), and a slice blocks the loop for a few milliseconds only.
 * Throws what the reads throw.
 */
async function readSmaps(fd: number, parser: SmapsParser): Promise<void> {
  let buf = Buffer.allocUnsafe(smapsReading.chunkBytes);
  let filled = 0;
  let sinceYield = 0;
  for (;;) {
    if (filled === buf.length) {
      // A line longer than the buffer (a path of thousands of bytes): keep it, grow.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = readSync(fd, buf, filled, buf.length - filled, null);
    if (n === 0) break;
    filled += n;
    const rest = parser.parse(buf, 0, filled);
    buf.copyWithin(0, rest, filled);
    filled -= rest;
    sinceYield += n;
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  if (filled > 0) {
    const line = Buffer.concat([buf.subarray(0, filled), Buffer.from('\n')]);
    parser.parse(line, 0, line.length);
  }
}

/** PF_EXITING and PF_KTHREAD in /proc/PID/stat's `flags` (include/linux/sched.h). */
const PF_EXITING = 0x4;
const PF_KTHREAD = 0x200000;

interface TaskState {
  readonly zombie: boolean;
  readonly exiting: boolean;
  readonly kernelThread: boolean;
  readonly parentPid: number;
}

/** What /proc/PID/stat says of the process now (its main thread), or null when it is gone. */
function taskState(pid: number): TaskState | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // After the name: state ppid pgrp session tty_nr tpgid flags …
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const flags = Number(f[6]);
  return {
    zombie: f[0] === 'Z' || f[0] === 'X',
    exiting: (flags & PF_EXITING) !== 0,
    kernelThread: (flags & PF_KTHREAD) !== 0,
    parentPid: Number(f[1]),
  };
}

function zombie<T>(pid: number, parentPid: number): ProcessResult<T> {
  return processFail(
    'exited',
    pid,
    0,
    `/proc/${pid}/stat`,
    `process ${pid} is a zombie: it has exited and its parent (${parentPid}) has not collected its exit status yet, so it has no memory left to walk`,
  );
}

/** When a thread that is running (or runnable) is asked again for its stack pointer: ms after the first ask. */
const RUNNING_RETRIES_MS = [0, 1, 5, 20] as const;

/**
 * Each thread's user stack pointer but the main thread's (whose stack is `[stack]`): the next-to-last field of
 * /proc/PID/task/TID/syscall (`NR args… SP PC`, or `-1 SP PC` outside a system call). A thread that is running or
 * waiting for a CPU at that moment says `running` and no pointer: it is asked again 1, 5 and 20 ms later, then left
 * out of this walk.
 */
async function threadStackPointers(pid: number): Promise<Array<[number, number]>> {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((tid) => tid !== pid && Number.isSafeInteger(tid));
  } catch {
    return [];
  }
  const out: Array<[number, number]> = [];
  for (let attempt = 0; attempt < RUNNING_RETRIES_MS.length && tids.length > 0; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RUNNING_RETRIES_MS[attempt]));
    const running: number[] = [];
    for (const tid of tids) {
      const text = readText(`/proc/${pid}/task/${tid}/syscall`);
      if (text === null) continue; // the thread ended, or the kernel does not say
      const f = text.trim().split(' ');
      if (f[0] === 'running') {
        running.push(tid);
        continue;
      }
      const sp = f.length >= 3 ? Number.parseInt(f[f.length - 2]!, 16) : Number.NaN;
      if (Number.isSafeInteger(sp) && sp > 0) out.push([tid, sp]);
    }
    tids = running;
  }
  return out;
}

/**
 * Thread stacks: the private anonymous mapping a thread's stack pointer is in is that thread's stack (use `stack`,
 * label `stack of thread TID`), and so is the PROT_NONE mapping right below it, its guard (glibc's pthread stacks
 * are one mapping with the guard at the low end); the two are one allocation.
 */
function markThreadStacks(mappings: readonly MappingKey[], pointers: ReadonlyArray<[number, number]>): void {
  const plain = (m: MappingKey | undefined): m is MappingKey =>
    m !== undefined && m.fileKey === '' && m.region.type === 'MEM_PRIVATE' && m.region.use === null;
  for (const [tid, sp] of pointers) {
    let lo = 0;
    let hi = mappings.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (mappings[mid]!.region.baseAddress <= sp) lo = mid;
      else hi = mid - 1;
    }
    const m = mappings[lo];
    if (!plain(m) || sp >= m.region.baseAddress + m.region.size || sp < m.region.baseAddress) continue;
    const label = `stack of thread ${tid}`;
    m.region.use = 'stack';
    m.region.label = label;
    const guard = mappings[lo - 1];
    if (
      plain(guard) &&
      guard.region.state === 'MEM_RESERVE' &&
      guard.region.baseAddress + guard.region.size === m.region.baseAddress
    ) {
      guard.region.use = 'stack';
      guard.region.label = label;
      m.region.allocationBase = guard.region.baseAddress;
      m.region.allocationProtect = guard.region.allocationProtect;
    }
  }
}

export function createPosixInspector(): ProcessInspector {
  const hasProc = existsSync('/proc/self/smaps');
  let clockTicks = 100;
  let pageSize = 4096;
  if (hasProc) {
    try {
      const libc = koffi.load('libc.so.6');
      const sysconf = libc.func('long sysconf(int name)') as (name: number) => number;
      clockTicks = sysconf(SC_CLK_TCK) || 100;
      pageSize = sysconf(30) || 4096;
    } catch {
      // Keep Linux's usual values: only the start time and the reported page size depend on them.
    }
  }
  let bootTimeMs: number | null | undefined;
  let users: Map<number, string> | undefined;

  const bootTime = (): number | null => {
    if (bootTimeMs === undefined) {
      const m = /^btime\s+(\d+)/m.exec(readText('/proc/stat') ?? '');
      bootTimeMs = m ? Number(m[1]) * 1000 : null;
    }
    return bootTimeMs;
  };

  const userName = (uid: number): string => {
    if (users === undefined) {
      users = new Map();
      for (const line of (readText('/etc/passwd') ?? '').split('\n')) {
        const f = line.split(':');
        if (f.length > 2 && f[0]) users.set(Number(f[2]), f[0]);
      }
    }
    return users.get(uid) ?? String(uid);
  };

  const unsupported = <T>(pid: number): Promise<ProcessResult<T>> =>
    Promise.resolve(processFail('unsupported', pid, 0, '/proc', 'this OS has no /proc: processes cannot be inspected'));

  /**
   * The kernel's commit charge of a process (the sizes of its `ac` mappings) and its private resident bytes, from
   * one smaps read; null when it may not be read (another user's process).
   */
  const charge = async (pid: number): Promise<{ committed: number; private: number } | null> => {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/smaps`, 'r');
    } catch {
      return null;
    }
    const parser = new SmapsParser();
    try {
      await readSmaps(fd, parser);
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
    let committed = 0;
    let priv = 0;
    for (const { region } of parser.mappings) {
      committed += region.committed;
      priv += region.private ?? 0;
    }
    return { committed, private: priv };
  };

  const info = async (pid: number): Promise<ProcessResult<ProcessInfo>> => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch (e) {
      return failFrom(e, pid, `/proc/${pid}/stat`, 'read the status');
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(open + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, starttime field 22.
    const ppid = Number(fields[1]);
    const startTicks = Number(fields[19]);
    const boot = bootTime();
    const status = readText(`/proc/${pid}/status`);
    const kv = (key: string): number | null => {
      const m = status === null ? null : new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : null;
    };
    const uidMatch = status === null ? null : /^Uid:\s+(\d+)/m.exec(status);
    const charged = await charge(pid);
    const cmd = readText(`/proc/${pid}/cmdline`);
    // Kernel threads have no executable; another user's process hides it.
    const imagePath = readLink(`/proc/${pid}/exe`);
    return processOk({
      pid,
      parentPid: Number.isFinite(ppid) && ppid > 0 ? ppid : null,
      name,
      imagePath,
      commandLine: cmd === null || cmd.length === 0 ? null : cmd.replace(/\0+$/, '').split('\0').join(' '),
      user: uidMatch ? userName(Number(uidMatch[1])) : null,
      workingSet: kv('VmRSS'),
      privateBytes: charged?.committed ?? null,
      privateResident: charged?.private ?? null,
      virtualSize: kv('VmSize'),
      startedAt: boot !== null && Number.isFinite(startTicks) ? boot + (startTicks * 1000) / clockTicks : null,
    });
  };

  const isRunning = (pid: number): boolean => {
    if (badPid(pid) !== undefined) return false;
    const stat = readText(`/proc/${pid}/stat`);
    if (stat === null) return false;
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  };

  const walk = async (pid: number, options: WalkOptions = {}): Promise<ProcessResult<ProcessWalk>> => {
    const bad = badPid<ProcessWalk>(pid);
    if (bad) return bad;
    const takenAt = Date.now();
    const started = performance.now();
    const path = `/proc/${pid}/smaps`;
    const before = taskState(pid);
    if (before?.zombie) return zombie(pid, before.parentPid);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      return failFrom(e, pid, path, 'read the memory map');
    }
    const parser = new SmapsParser();
    try {
      await readSmaps(fd, parser);
    } catch (e) {
      const code = codeOf(e);
      if (code === 'no-such-process')
        return processFail('exited', pid, errnoOf(e).errno, path, `process ${pid} exited during the walk`);
      return failFrom(e, pid, path, 'read the memory map');
    } finally {
      closeSync(fd);
    }
    // A process that exits while its smaps is read ends the file early (the kernel answers end-of-file once the
    // address space is gone), so a walk is whole only if the process was not exiting when the read ended: by then a
    // dying process is gone, a zombie, or marked PF_EXITING (set before its address space is torn down).
    const after = taskState(pid);
    if (after === null || after.zombie || after.exiting || (parser.mappings.length === 0 && !after.kernelThread))
      return processFail('exited', pid, 0, path, `process ${pid} exited during the walk`);
    markThreadStacks(parser.mappings, await threadStackPointers(pid));
    const name = readText(`/proc/${pid}/comm`)?.trimEnd() ?? null;
    const regions = finish(parser.mappings, options.includeFree ?? true);
    return processOk({
      pid,
      name,
      backend: 'posix',
      pageSize,
      takenAt,
      durationMs: performance.now() - started,
      addressLimit: addressLimitOf(parser.mappings),
      regions,
    });
  };

  if (!hasProc)
    return {
      backend: 'posix',
      pageSize,
      listProcesses: () => unsupported(0),
      processInfo: (pid) => unsupported(pid),
      walkProcess: (pid) => unsupported(pid),
      isRunning: () => false,
    };

  return {
    backend: 'posix',
    pageSize,
    async listProcesses() {
      let names: string[];
      try {
        names = readdirSync('/proc');
      } catch (e) {
        return failFrom(e, 0, '/proc', 'list the processes');
      }
      const pids = names
        .filter((n) => /^[0-9]+$/.test(n))
        .map(Number)
        .sort((a, b) => a - b);
      const out: ProcessInfo[] = [];
      for (const pid of pids) {
        // Each process's smaps is read on this thread: let the event loop run between two.
        await new Promise((resolve) => setImmediate(resolve));
        const r = await info(pid);
        if (r.ok) out.push(r.value); // vanished while listed: skipped
      }
      return processOk(out);
    },
    async processInfo(pid) {
      return badPid<ProcessInfo>(pid) ?? info(pid);
    },
    walkProcess: walk,
    isRunning,
    async fingerprint(pid) {
      const bad = badPid<string | null>(pid);
      if (bad) return bad;
      const path = `/proc/${pid}/maps`;
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        return failFrom(e, pid, path, 'read the memory map');
      }
      try {
        // Read like the walk (synchronous slices, yielding between them), hashed as it comes.
        const hash = createHash('sha1');
        const buf = Buffer.allocUnsafe(smapsReading.chunkBytes);
        let sinceYield = 0;
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          if (n === 0) break;
          hash.update(buf.subarray(0, n));
          sinceYield += n;
          if (sinceYield >= YIELD_BYTES) {
            sinceYield = 0;
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        hash.update(readFileSync(`/proc/${pid}/statm`));
        return processOk(hash.digest('hex'));
      } catch (e) {
        return failFrom(e, pid, path, 'read the memory map');
      } finally {
        closeSync(fd);
      }
    },
  };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}
