/**
 * The Win32 process inspector: kernel32/psapi (K32*) and advapi32 through koffi.
 * - List: a Toolhelp snapshot (pid, parent, exe name), then per process OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION)
 *   for QueryFullProcessImageNameW, K32GetProcessMemoryInfo (PROCESS_MEMORY_COUNTERS_EX), GetProcessTimes and the
 *   token's user. A process hostmem may not open is still listed, with nulls.
 * - Walk: OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ), a VirtualQueryEx loop over the user address
 *   space, K32GetMappedFileNameW once per mapped or image allocation (device paths turned into drive paths through
 *   QueryDosDeviceW), and K32QueryWorkingSet once for resident and private bytes per region (null where the OS
 *   refuses it).
 * Every handle is closed in a `finally`, so on every path.
 */
import koffi from 'koffi';
import { MEM, PAGE, type MemState, type MemType } from '../os-memory';
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

const PROCESS_QUERY_INFORMATION = 0x400;
const PROCESS_VM_READ = 0x10;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const TH32CS_SNAPPROCESS = 0x2;
const TOKEN_QUERY = 0x8;
const TOKEN_USER_CLASS = 1;
const STILL_ACTIVE = 259;
const INVALID_HANDLE_VALUE = -1;

const ERROR_ACCESS_DENIED = 5;
const ERROR_INVALID_HANDLE = 6;
const ERROR_INVALID_PARAMETER = 87;
const ERROR_BAD_LENGTH = 24;
const ERROR_PARTIAL_COPY = 299;

/** FILETIME ticks (100 ns) between 1601-01-01 and 1970-01-01. */
const EPOCH_DIFF_MS = 11644473600000;

const ACCESS_HINT =
  'run hostmem as the same user as the process, or as an administrator (protected processes cannot be read at all)';

interface MemoryBasicInformation {
  BaseAddress: number;
  AllocationBase: number;
  AllocationProtect: number;
  PartitionId: number;
  RegionSize: number;
  State: number;
  Protect: number;
  Type: number;
}

interface ProcessEntry {
  dwSize: number;
  cntUsage: number;
  th32ProcessID: number;
  th32DefaultHeapID: number;
  th32ModuleID: number;
  cntThreads: number;
  th32ParentProcessID: number;
  pcPriClassBase: number;
  dwFlags: number;
  szExeFile: string;
}

interface MemoryCountersEx {
  cb: number;
  PageFaultCount: number;
  PeakWorkingSetSize: number;
  WorkingSetSize: number;
  QuotaPeakPagedPoolUsage: number;
  QuotaPagedPoolUsage: number;
  QuotaPeakNonPagedPoolUsage: number;
  QuotaNonPagedPoolUsage: number;
  PagefileUsage: number;
  PeakPagefileUsage: number;
  PrivateUsage: number;
}

interface Bindings {
  readonly pageSize: number;
  readonly maxAddress: number;
  readonly sizeofMbi: number;
  readonly sizeofEntry: number;
  readonly sizeofPmc: number;
  OpenProcess(access: number, inherit: number, pid: number): number;
  CloseHandle(h: number): number;
  GetLastError(): number;
  GetExitCodeProcess(h: number, code: [number]): number;
  VirtualQueryEx(h: number, address: number, out: Partial<MemoryBasicInformation>, len: number): number;
  K32GetMappedFileNameW(h: number, address: number, buf: Buffer, chars: number): number;
  K32QueryWorkingSet(h: number, buf: Buffer, bytes: number): number;
  QueryFullProcessImageNameW(h: number, flags: number, buf: Buffer, chars: [number]): number;
  K32GetProcessMemoryInfo(h: number, out: Partial<MemoryCountersEx>, cb: number): number;
  GetProcessTimes(h: number, creation: Buffer, exit: Buffer, kernel: Buffer, user: Buffer): number;
  CreateToolhelp32Snapshot(flags: number, pid: number): number;
  Process32FirstW(h: number, entry: Partial<ProcessEntry>): number;
  Process32NextW(h: number, entry: Partial<ProcessEntry>): number;
  GetLogicalDriveStringsW(chars: number, buf: Buffer): number;
  QueryDosDeviceW(name: string, buf: Buffer, chars: number): number;
  OpenProcessToken(h: number, access: number, token: [number]): number;
  GetTokenInformation(token: number, cls: number, buf: Buffer, len: number, ret: [number]): number;
  LookupAccountSidW(
    system: null,
    sid: number,
    name: Buffer,
    nameChars: [number],
    domain: Buffer,
    domainChars: [number],
    use: [number],
  ): number;
}

let bindings: Bindings | undefined;

/** Loaded once per process: koffi refuses to register a type name twice. */
function bind(): Bindings {
  if (bindings) return bindings;
  const kernel32 = koffi.load('kernel32.dll');
  const advapi32 = koffi.load('advapi32.dll');
  const MBI = koffi.struct('HM_INSPECT_MBI', {
    BaseAddress: 'uintptr_t',
    AllocationBase: 'uintptr_t',
    AllocationProtect: 'uint32_t',
    PartitionId: 'uint16_t',
    RegionSize: 'uintptr_t',
    State: 'uint32_t',
    Protect: 'uint32_t',
    Type: 'uint32_t',
  });
  const ENTRY = koffi.struct('HM_INSPECT_PROCESSENTRY32W', {
    dwSize: 'uint32_t',
    cntUsage: 'uint32_t',
    th32ProcessID: 'uint32_t',
    th32DefaultHeapID: 'uintptr_t',
    th32ModuleID: 'uint32_t',
    cntThreads: 'uint32_t',
    th32ParentProcessID: 'uint32_t',
    pcPriClassBase: 'int32_t',
    dwFlags: 'uint32_t',
    szExeFile: koffi.array('char16_t', 260, 'String'),
  });
  const PMC = koffi.struct('HM_INSPECT_PMC_EX', {
    cb: 'uint32_t',
    PageFaultCount: 'uint32_t',
    PeakWorkingSetSize: 'uintptr_t',
    WorkingSetSize: 'uintptr_t',
    QuotaPeakPagedPoolUsage: 'uintptr_t',
    QuotaPagedPoolUsage: 'uintptr_t',
    QuotaPeakNonPagedPoolUsage: 'uintptr_t',
    QuotaNonPagedPoolUsage: 'uintptr_t',
    PagefileUsage: 'uintptr_t',
    PeakPagefileUsage: 'uintptr_t',
    PrivateUsage: 'uintptr_t',
  });
  koffi.struct('HM_INSPECT_SYSTEM_INFO', {
    wProcessorArchitecture: 'uint16_t',
    wReserved: 'uint16_t',
    dwPageSize: 'uint32_t',
    lpMinimumApplicationAddress: 'uintptr_t',
    lpMaximumApplicationAddress: 'uintptr_t',
    dwActiveProcessorMask: 'uintptr_t',
    dwNumberOfProcessors: 'uint32_t',
    dwProcessorType: 'uint32_t',
    dwAllocationGranularity: 'uint32_t',
    wProcessorLevel: 'uint16_t',
    wProcessorRevision: 'uint16_t',
  });
  const f = <T>(proto: string): T => kernel32.func(proto) as T;
  const GetSystemInfo = f<(out: Record<string, number>) => void>(
    'void __stdcall GetSystemInfo(_Out_ HM_INSPECT_SYSTEM_INFO *info)',
  );
  const sys: Record<string, number> = {};
  GetSystemInfo(sys);
  // HANDLEs are integers: the cheapest values to pass through koffi.
  bindings = {
    pageSize: sys.dwPageSize ?? 4096,
    maxAddress: Number(sys.lpMaximumApplicationAddress ?? 0),
    sizeofMbi: koffi.sizeof(MBI),
    sizeofEntry: koffi.sizeof(ENTRY),
    sizeofPmc: koffi.sizeof(PMC),
    OpenProcess: f('intptr_t __stdcall OpenProcess(uint32_t access, int inherit, uint32_t pid)'),
    CloseHandle: f('int __stdcall CloseHandle(intptr_t h)'),
    GetLastError: f('uint32_t __stdcall GetLastError()'),
    GetExitCodeProcess: f('int __stdcall GetExitCodeProcess(intptr_t h, _Out_ uint32_t *code)'),
    VirtualQueryEx: f(
      'uintptr_t __stdcall VirtualQueryEx(intptr_t h, uintptr_t address, _Out_ HM_INSPECT_MBI *mbi, uintptr_t len)',
    ),
    K32GetMappedFileNameW: f(
      'uint32_t __stdcall K32GetMappedFileNameW(intptr_t h, uintptr_t address, _Out_ uint8_t *name, uint32_t chars)',
    ),
    K32QueryWorkingSet: f('int __stdcall K32QueryWorkingSet(intptr_t h, _Out_ uint8_t *buf, uint32_t bytes)'),
    QueryFullProcessImageNameW: f(
      'int __stdcall QueryFullProcessImageNameW(intptr_t h, uint32_t flags, _Out_ uint8_t *name, _Inout_ uint32_t *chars)',
    ),
    K32GetProcessMemoryInfo: f(
      'int __stdcall K32GetProcessMemoryInfo(intptr_t h, _Inout_ HM_INSPECT_PMC_EX *counters, uint32_t cb)',
    ),
    GetProcessTimes: f(
      'int __stdcall GetProcessTimes(intptr_t h, _Out_ uint8_t *creation, _Out_ uint8_t *exit, _Out_ uint8_t *kernel, _Out_ uint8_t *user)',
    ),
    CreateToolhelp32Snapshot: f('intptr_t __stdcall CreateToolhelp32Snapshot(uint32_t flags, uint32_t pid)'),
    Process32FirstW: f('int __stdcall Process32FirstW(intptr_t h, _Inout_ HM_INSPECT_PROCESSENTRY32W *entry)'),
    Process32NextW: f('int __stdcall Process32NextW(intptr_t h, _Inout_ HM_INSPECT_PROCESSENTRY32W *entry)'),
    GetLogicalDriveStringsW: f('uint32_t __stdcall GetLogicalDriveStringsW(uint32_t chars, _Out_ uint8_t *buf)'),
    QueryDosDeviceW: f('uint32_t __stdcall QueryDosDeviceW(const char16_t *name, _Out_ uint8_t *buf, uint32_t chars)'),
    OpenProcessToken: advapi32.func(
      'int __stdcall OpenProcessToken(intptr_t h, uint32_t access, _Out_ intptr_t *token)',
    ) as Bindings['OpenProcessToken'],
    GetTokenInformation: advapi32.func(
      'int __stdcall GetTokenInformation(intptr_t token, int cls, _Out_ uint8_t *buf, uint32_t len, _Out_ uint32_t *ret)',
    ) as Bindings['GetTokenInformation'],
    LookupAccountSidW: advapi32.func(
      'int __stdcall LookupAccountSidW(const char16_t *system, uintptr_t sid, _Out_ uint8_t *name, _Inout_ uint32_t *nameChars, _Out_ uint8_t *domain, _Inout_ uint32_t *domainChars, _Out_ int *use)',
    ) as Bindings['LookupAccountSidW'],
  };
  return bindings;
}

function codeOf(error: number): ProcessErrorCode {
  switch (error) {
    case ERROR_ACCESS_DENIED:
      return 'access-denied';
    case ERROR_INVALID_PARAMETER:
      return 'no-such-process';
    case ERROR_PARTIAL_COPY:
    case ERROR_INVALID_HANDLE:
      return 'exited';
    default:
      return 'unknown';
  }
}

/** The common error for a failed OpenProcess: what happened, in one line, and what would allow it. */
export function win32OpenError(pid: number, error: number, what: string): ProcessError {
  const code = codeOf(error);
  const call = 'OpenProcess';
  if (code === 'no-such-process') return { code, pid, native: error, call, message: `no process with id ${pid}` };
  if (code === 'access-denied')
    return {
      code,
      pid,
      native: error,
      call,
      message: `access denied: cannot ${what} of process ${pid}`,
      hint: ACCESS_HINT,
    };
  if (code === 'exited') return { code, pid, native: error, call, message: `process ${pid} has exited` };
  return { code, pid, native: error, call, message: `cannot ${what} of process ${pid}: Win32 error ${error}` };
}

function openFailure<T>(pid: number, error: number, what: string): ProcessResult<T> {
  return { ok: false, error: win32OpenError(pid, error, what) };
}

function stateName(state: number): MemState {
  if (state === MEM.COMMIT) return 'MEM_COMMIT';
  if (state === MEM.RESERVE) return 'MEM_RESERVE';
  return 'MEM_FREE';
}

function typeName(type: number): MemType | undefined {
  if (type === MEM.PRIVATE) return 'MEM_PRIVATE';
  if (type === MEM.MAPPED) return 'MEM_MAPPED';
  if (type === MEM.IMAGE) return 'MEM_IMAGE';
  return undefined;
}

function filetimeMs(buf: Buffer): number | null {
  const ticks = buf.readUInt32LE(0) + buf.readUInt32LE(4) * 2 ** 32;
  return ticks === 0 ? null : Math.round(ticks / 10000 - EPOCH_DIFF_MS);
}

/** A string as Windows returns it, up to its first NUL (Wine counts the terminating NUL in some lengths). */
export function cutAtNul(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

/** `chars` UTF-16 units of `buf`, up to the first NUL. */
function wide(buf: Buffer, chars: number): string {
  return cutAtNul(buf.toString('utf16le', 0, Math.min(chars * 2, buf.length)));
}

export function createWin32Inspector(): ProcessInspector {
  const b = bind();
  const nameBuf = Buffer.alloc(2 * 1024);

  /** `\Device\HarddiskVolume3` → `C:`, read once per walk (drives come and go). */
  const deviceMap = (): Array<[string, string]> => {
    const out: Array<[string, string]> = [];
    const buf = Buffer.alloc(2 * 512);
    const n = b.GetLogicalDriveStringsW(512, buf);
    if (n === 0 || n > 512) return out;
    const target = Buffer.alloc(2 * 1024);
    for (const root of buf.toString('utf16le', 0, n * 2).split('\0')) {
      if (root.length < 2) continue;
      const drive = root.slice(0, 2);
      const len = b.QueryDosDeviceW(drive, target, 1024);
      if (len === 0) continue;
      const device = wide(target, len);
      if (device) out.push([device, drive]);
    }
    // Longest device first, so \Device\HarddiskVolume10 is not taken for \Device\HarddiskVolume1.
    return out.sort((x, y) => y[0].length - x[0].length);
  };

  const drivePath = (path: string, devices: Array<[string, string]>): string => {
    if (path.startsWith('\\??\\')) return path.slice(4);
    for (const [device, drive] of devices)
      if (path.toLowerCase().startsWith(device.toLowerCase() + '\\')) return drive + path.slice(device.length);
    return path;
  };

  const exitCode = (h: number): number | undefined => {
    const code: [number] = [0];
    return b.GetExitCodeProcess(h, code) ? code[0] : undefined;
  };

  const userOf = (h: number): string | null => {
    const token: [number] = [0];
    if (!b.OpenProcessToken(h, TOKEN_QUERY, token)) return null;
    try {
      const buf = Buffer.alloc(256);
      const ret: [number] = [0];
      if (!b.GetTokenInformation(token[0], TOKEN_USER_CLASS, buf, buf.length, ret)) return null;
      // TOKEN_USER starts with SID_AND_ATTRIBUTES: a pointer to the SID, which lies inside this same buffer.
      const sid = Number(buf.readBigUInt64LE(0));
      const name = Buffer.alloc(2 * 256);
      const domain = Buffer.alloc(2 * 256);
      const nameChars: [number] = [256];
      const domainChars: [number] = [256];
      if (!b.LookupAccountSidW(null, sid, name, nameChars, domain, domainChars, [0])) return null;
      const user = wide(name, nameChars[0]);
      const dom = wide(domain, domainChars[0]);
      return dom ? `${dom}\\${user}` : user;
    } finally {
      b.CloseHandle(token[0]);
    }
  };

  /** The counters hostmem may read of one process; nulls where it may not open it. */
  const details = (pid: number): Omit<ProcessInfo, 'pid' | 'parentPid' | 'name'> & { error: number } => {
    const h = b.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if (!h) {
      const error = b.GetLastError();
      return {
        error,
        imagePath: null,
        commandLine: null,
        user: null,
        workingSet: null,
        privateBytes: null,
        privateResident: null,
        virtualSize: null,
        startedAt: null,
      };
    }
    try {
      const chars: [number] = [1024];
      const imagePath = b.QueryFullProcessImageNameW(h, 0, nameBuf, chars) ? wide(nameBuf, chars[0]) : null;
      const pmc: Partial<MemoryCountersEx> = { cb: b.sizeofPmc };
      const haveCounters = b.K32GetProcessMemoryInfo(h, pmc, b.sizeofPmc) !== 0;
      const times = [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)] as const;
      const startedAt = b.GetProcessTimes(h, times[0], times[1], times[2], times[3]) ? filetimeMs(times[0]) : null;
      return {
        error: 0,
        imagePath,
        commandLine: null,
        user: userOf(h),
        workingSet: haveCounters ? Number(pmc.WorkingSetSize ?? 0) : null,
        // PrivateUsage and PagefileUsage are the same figure on Windows; Wine fills only the older field.
        privateBytes: haveCounters ? Number(pmc.PrivateUsage || pmc.PagefileUsage || 0) : null,
        privateResident: null,
        virtualSize: null,
        startedAt,
      };
    } finally {
      b.CloseHandle(h);
    }
  };

  /** pid → [parent, exe name] from one Toolhelp snapshot. */
  const snapshot = (): Map<number, [number, string]> | number => {
    const snap = b.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap === INVALID_HANDLE_VALUE || snap === 0) return b.GetLastError();
    try {
      const out = new Map<number, [number, string]>();
      const entry: Partial<ProcessEntry> = { dwSize: b.sizeofEntry };
      let more = b.Process32FirstW(snap, entry);
      while (more) {
        out.set(entry.th32ProcessID ?? 0, [entry.th32ParentProcessID ?? 0, cutAtNul(entry.szExeFile ?? '')]);
        entry.dwSize = b.sizeofEntry;
        more = b.Process32NextW(snap, entry);
      }
      return out;
    } finally {
      b.CloseHandle(snap);
    }
  };

  const infoFrom = (pid: number, parent: number, name: string): ProcessInfo => {
    const { error: _error, ...rest } = details(pid);
    return { pid, parentPid: parent > 0 ? parent : null, name, ...rest };
  };

  const processInfo = (pid: number): ProcessResult<ProcessInfo> => {
    const bad = badPid<ProcessInfo>(pid);
    if (bad) return bad;
    const snap = snapshot();
    if (typeof snap === 'number')
      return processFail(
        'unknown',
        pid,
        snap,
        'CreateToolhelp32Snapshot',
        `cannot list processes: Win32 error ${snap}`,
      );
    const entry = snap.get(pid);
    if (entry === undefined)
      return processFail('no-such-process', pid, 0, 'Process32NextW', `no process with id ${pid}`);
    return processOk(infoFrom(pid, entry[0], entry[1]));
  };

  /** Resident pages of the process, ascending, as [page address, shared] pairs; null when the OS refuses. */
  const workingSet = (h: number): Float64Array | null => {
    let bytes = 1 << 20;
    for (let tries = 0; tries < 6; tries++) {
      const buf = Buffer.alloc(bytes);
      if (b.K32QueryWorkingSet(h, buf, bytes)) {
        const n = Number(buf.readBigUInt64LE(0));
        // Each entry: page address in the high bits, flags in the low 12 (bit 8: shared). Stored as
        // address + 1 when shared, so one sorted array holds both.
        const pages = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const e = buf.readBigUInt64LE(8 + i * 8);
          const page = Number(e >> 12n) * 4096;
          pages[i] = page + ((e & 0x100n) !== 0n ? 1 : 0);
        }
        return pages.sort();
      }
      // ERROR_BAD_LENGTH asks for a larger buffer (the count needed is in the first field); anything else refuses.
      if (b.GetLastError() !== ERROR_BAD_LENGTH) return null;
      const need = Number(buf.readBigUInt64LE(0));
      bytes = Math.max(bytes * 2, (need + 1024) * 8 + 8);
    }
    return null;
  };

  const walk = async (pid: number, options: WalkOptions = {}): Promise<ProcessResult<ProcessWalk>> => {
    const bad = badPid<ProcessWalk>(pid);
    if (bad) return bad;
    const takenAt = Date.now();
    const started = performance.now();
    const h = b.OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, 0, pid);
    if (!h) return openFailure(pid, b.GetLastError(), 'read the address space');
    try {
      if (exitCode(h) !== STILL_ACTIVE)
        return processFail('exited', pid, 0, 'GetExitCodeProcess', `process ${pid} has exited`);
      const includeFree = options.includeFree ?? true;
      const devices = deviceMap();
      const files = new Map<number, string | null>();
      const fileOf = (allocationBase: number): string | null => {
        let file = files.get(allocationBase);
        if (file === undefined) {
          const n = b.K32GetMappedFileNameW(h, allocationBase, nameBuf, 1024);
          file = n === 0 ? null : drivePath(wide(nameBuf, n), devices);
          files.set(allocationBase, file);
        }
        return file;
      };
      const pages = workingSet(h);
      let pageAt = 0;
      const regions: ProcessRegion[] = [];
      const mbi: Partial<MemoryBasicInformation> = {};
      let address = 0;
      let sinceYield = 0;
      while (address <= b.maxAddress) {
        if (b.VirtualQueryEx(h, address, mbi, b.sizeofMbi) === 0) {
          const err = b.GetLastError();
          if (err === ERROR_INVALID_PARAMETER) break; // past the last region
          if (exitCode(h) !== STILL_ACTIVE)
            return processFail('exited', pid, err, 'VirtualQueryEx', `process ${pid} exited during the walk`);
          return processFail(codeOf(err), pid, err, 'VirtualQueryEx', `VirtualQueryEx failed: Win32 error ${err}`);
        }
        const base = Number(mbi.BaseAddress ?? 0);
        const size = Number(mbi.RegionSize ?? 0);
        if (size <= 0 || base + size <= address) break; // a region that does not move the walk on: taken as read
        address = base + size;
        const state = stateName(mbi.State ?? 0);
        if (state === 'MEM_FREE' && !includeFree) continue;
        const type = state === 'MEM_FREE' ? undefined : typeName(mbi.Type ?? 0);
        const allocationBase = Number(mbi.AllocationBase ?? 0);
        const file = type === 'MEM_MAPPED' || type === 'MEM_IMAGE' ? fileOf(allocationBase) : null;
        const use: RegionUse | null = type === 'MEM_MAPPED' && file === null ? 'shareable' : null;
        let resident: number | null = null;
        let privateBytes: number | null = null;
        if (pages !== null && state === 'MEM_COMMIT') {
          while (pageAt < pages.length && pages[pageAt]! < base) pageAt++;
          let r = 0;
          let shared = 0;
          let k = pageAt;
          for (; k < pages.length && pages[k]! < base + size; k++) {
            r++;
            if (pages[k]! % 2 === 1) shared++;
          }
          pageAt = k;
          resident = r * b.pageSize;
          privateBytes = (r - shared) * b.pageSize;
        } else if (pages !== null) {
          resident = 0;
          privateBytes = 0;
        }
        regions.push({
          baseAddress: base,
          size,
          state,
          type,
          protect: state === 'MEM_FREE' ? PAGE.NOACCESS : (mbi.Protect ?? 0),
          allocationBase,
          allocationProtect: mbi.AllocationProtect ?? 0,
          committed: state === 'MEM_COMMIT' ? size : 0,
          file,
          label: null,
          use,
          resident,
          private: privateBytes,
          pss: null,
          swap: null,
        });
        // A walk of 100,000 regions must not starve the event loop (a watch inside the server).
        if (++sinceYield === 20000) {
          sinceYield = 0;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      if (exitCode(h) !== STILL_ACTIVE)
        return processFail('exited', pid, 0, 'GetExitCodeProcess', `process ${pid} exited during the walk`);
      const name = snapshotName(pid);
      return processOk({
        pid,
        name,
        backend: 'win32',
        pageSize: b.pageSize,
        takenAt,
        durationMs: performance.now() - started,
        addressLimit: b.maxAddress + 1,
        regions,
      });
    } finally {
      b.CloseHandle(h);
    }
  };

  const snapshotName = (pid: number): string | null => {
    const snap = snapshot();
    return typeof snap === 'number' ? null : (snap.get(pid)?.[1] ?? null);
  };

  return {
    backend: 'win32',
    pageSize: b.pageSize,
    listProcesses() {
      const snap = snapshot();
      if (typeof snap === 'number')
        return Promise.resolve(
          processFail('unknown', 0, snap, 'CreateToolhelp32Snapshot', `cannot list processes: Win32 error ${snap}`),
        );
      const out: ProcessInfo[] = [];
      // pid 0 is the System Idle Process: not a process anyone inspects.
      for (const [pid, [parent, name]] of [...snap].sort((x, y) => x[0] - y[0]))
        if (pid > 0) out.push(infoFrom(pid, parent, name));
      return Promise.resolve(processOk(out));
    },
    processInfo: (pid) => Promise.resolve(processInfo(pid)),
    walkProcess: walk,
    isRunning(pid) {
      if (badPid(pid) !== undefined) return false;
      const h = b.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
      if (!h) return b.GetLastError() === ERROR_ACCESS_DENIED; // there, but not ours to open
      try {
        return exitCode(h) === STILL_ACTIVE;
      } finally {
        b.CloseHandle(h);
      }
    },
  };
}
