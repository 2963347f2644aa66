/**
 * The Win32 backend: kernel32 through koffi. The interface *is* the Win32 model, so this file only marshals,
 * maps GetLastError to the common codes, and keeps heap blocks it handed out (HeapFree on a pointer a heap never
 * gave corrupts the heap: this layer refuses it instead).
 */
import koffi from 'koffi';
import {
  MEM,
  OK_VOID,
  PAGE,
  fail,
  ok,
  type MemState,
  type MemType,
  type OsErrorCode,
  type OsHeap,
  type OsMemory,
  type OsRegionInfo,
  type OsResult,
} from '../os-memory';

/** The allocation granularity: reservations start on it, and none starts below it. */
const GRANULARITY = 0x10000;

const ERROR_ACCESS_DENIED = 5;
const ERROR_NOT_ENOUGH_MEMORY = 8;
const ERROR_OUTOFMEMORY = 14;
const ERROR_INVALID_PARAMETER = 87;
const ERROR_INVALID_ADDRESS = 487;
const ERROR_NOACCESS = 998;
const ERROR_COMMITMENT_LIMIT = 1455;

const HEAP_NO_SERIALIZE = 0x1;
const HEAP_CREATE_ENABLE_EXECUTE = 0x40000;

function win32Code(error: number): OsErrorCode {
  switch (error) {
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
      return 'out-of-memory';
    case ERROR_INVALID_ADDRESS:
      return 'invalid-address';
    case ERROR_INVALID_PARAMETER:
      return 'invalid-argument';
    case ERROR_NOACCESS:
    case ERROR_ACCESS_DENIED:
      return 'access-denied';
    default:
      return 'unknown';
  }
}

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

interface SystemInfo {
  wProcessorArchitecture: number;
  wReserved: number;
  dwPageSize: number;
  lpMinimumApplicationAddress: number;
  lpMaximumApplicationAddress: number;
  dwActiveProcessorMask: number;
  dwNumberOfProcessors: number;
  dwProcessorType: number;
  dwAllocationGranularity: number;
  wProcessorLevel: number;
  wProcessorRevision: number;
}

interface MemoryStatusEx {
  dwLength: number;
  dwMemoryLoad: number;
  ullTotalPhys: number;
  ullAvailPhys: number;
  ullTotalPageFile: number;
  ullAvailPageFile: number;
  ullTotalVirtual: number;
  ullAvailVirtual: number;
  ullAvailExtendedVirtual: number;
}

interface ProcessMemoryCounters {
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

export function createWin32Memory(): OsMemory {
  const kernel32 = koffi.load('kernel32.dll');
  const msvcrt = koffi.load('msvcrt.dll');

  const MBI = koffi.struct('MEMORY_BASIC_INFORMATION', {
    BaseAddress: 'uintptr_t',
    AllocationBase: 'uintptr_t',
    AllocationProtect: 'uint32_t',
    PartitionId: 'uint16_t',
    RegionSize: 'uintptr_t',
    State: 'uint32_t',
    Protect: 'uint32_t',
    Type: 'uint32_t',
  });
  // Registered by name: the prototypes below refer to it.
  koffi.struct('SYSTEM_INFO', {
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
  const MEMORYSTATUSEX = koffi.struct('MEMORYSTATUSEX', {
    dwLength: 'uint32_t',
    dwMemoryLoad: 'uint32_t',
    ullTotalPhys: 'uint64_t',
    ullAvailPhys: 'uint64_t',
    ullTotalPageFile: 'uint64_t',
    ullAvailPageFile: 'uint64_t',
    ullTotalVirtual: 'uint64_t',
    ullAvailVirtual: 'uint64_t',
    ullAvailExtendedVirtual: 'uint64_t',
  });
  const PROCESS_MEMORY_COUNTERS = koffi.struct('PROCESS_MEMORY_COUNTERS', {
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
  });

  // Pointers and HANDLEs are declared as integers: plain numbers are the cheapest values to pass through koffi.
  const VirtualAlloc = kernel32.func(
    'uintptr_t __stdcall VirtualAlloc(uintptr_t lpAddress, uintptr_t dwSize, uint32_t flAllocationType, uint32_t flProtect)',
  ) as (a: number, s: number, t: number, p: number) => number;
  const VirtualFree = kernel32.func(
    'int __stdcall VirtualFree(uintptr_t lpAddress, uintptr_t dwSize, uint32_t dwFreeType)',
  ) as (a: number, s: number, t: number) => number;
  const VirtualQuery = kernel32.func(
    'uintptr_t __stdcall VirtualQuery(uintptr_t lpAddress, _Out_ MEMORY_BASIC_INFORMATION *lpBuffer, uintptr_t dwLength)',
  ) as (a: number, out: Partial<MemoryBasicInformation>, len: number) => number;
  const VirtualProtect = kernel32.func(
    'int __stdcall VirtualProtect(uintptr_t lpAddress, uintptr_t dwSize, uint32_t flNewProtect, _Out_ uint32_t *lpflOldProtect)',
  ) as (a: number, s: number, p: number, old: [number]) => number;
  const GetSystemInfo = kernel32.func('void __stdcall GetSystemInfo(_Out_ SYSTEM_INFO *lpSystemInfo)') as (
    out: Partial<SystemInfo>,
  ) => void;
  const GlobalMemoryStatusEx = kernel32.func(
    'int __stdcall GlobalMemoryStatusEx(_Inout_ MEMORYSTATUSEX *lpBuffer)',
  ) as (buf: Partial<MemoryStatusEx>) => number;
  const GetLastError = kernel32.func('uint32_t __stdcall GetLastError()') as () => number;
  const GetCurrentProcess = kernel32.func('intptr_t __stdcall GetCurrentProcess()') as () => number;
  const K32GetProcessMemoryInfo = kernel32.func(
    'int __stdcall K32GetProcessMemoryInfo(intptr_t Process, _Inout_ PROCESS_MEMORY_COUNTERS *ppsmemCounters, uint32_t cb)',
  ) as (h: number, counters: Partial<ProcessMemoryCounters>, cb: number) => number;
  const HeapCreate = kernel32.func(
    'uintptr_t __stdcall HeapCreate(uint32_t flOptions, uintptr_t dwInitialSize, uintptr_t dwMaximumSize)',
  ) as (o: number, i: number, m: number) => number;
  const HeapAlloc = kernel32.func(
    'uintptr_t __stdcall HeapAlloc(uintptr_t hHeap, uint32_t dwFlags, uintptr_t dwBytes)',
  ) as (h: number, f: number, s: number) => number;
  const HeapFree = kernel32.func('int __stdcall HeapFree(uintptr_t hHeap, uint32_t dwFlags, uintptr_t lpMem)') as (
    h: number,
    f: number,
    p: number,
  ) => number;
  // HeapSize answers (SIZE_T)-1 on failure, which koffi hands back as a BigInt.
  const HeapSize = kernel32.func(
    'uintptr_t __stdcall HeapSize(uintptr_t hHeap, uint32_t dwFlags, uintptr_t lpMem)',
  ) as (h: number, f: number, p: number) => number | bigint;
  const HeapDestroy = kernel32.func('int __stdcall HeapDestroy(uintptr_t hHeap)') as (h: number) => number;
  const memset = msvcrt.func('uintptr_t memset(uintptr_t dest, int c, size_t count)') as (
    d: number,
    c: number,
    n: number,
  ) => number;
  const memcmp = msvcrt.func('int memcmp(uintptr_t a, const uint8_t *b, size_t n)') as (
    a: number,
    b: Uint8Array,
    n: number,
  ) => number;

  // Wine exports wine_get_version from ntdll; Windows does not.
  const underWine = (() => {
    try {
      koffi.load('ntdll.dll').func('const char *wine_get_version()');
      return true;
    } catch {
      return false;
    }
  })();

  const sys: Partial<SystemInfo> = {};
  GetSystemInfo(sys);
  const pageSize = sys.dwPageSize ?? 4096;
  const allocationGranularity = sys.dwAllocationGranularity ?? 0x10000;
  const addressSpace = Number(sys.lpMaximumApplicationAddress ?? 0) - Number(sys.lpMinimumApplicationAddress ?? 0);
  const SIZEOF_MBI = koffi.sizeof(MBI);
  const SIZEOF_PMC = koffi.sizeof(PROCESS_MEMORY_COUNTERS);

  function lastError<T>(call: string): OsResult<T> {
    const error = GetLastError();
    return fail(win32Code(error), error, call, `${call} failed: Win32 error ${error}`);
  }

  function toInfo(mbi: Partial<MemoryBasicInformation>): OsRegionInfo {
    const state = stateName(mbi.State ?? 0);
    return {
      baseAddress: Number(mbi.BaseAddress ?? 0),
      allocationBase: Number(mbi.AllocationBase ?? 0),
      allocationProtect: mbi.AllocationProtect ?? 0,
      regionSize: Number(mbi.RegionSize ?? 0),
      state,
      protect: mbi.Protect ?? 0,
      type: state === 'MEM_FREE' ? undefined : typeName(mbi.Type ?? 0),
    };
  }

  function query(address: number): OsResult<OsRegionInfo> {
    const mbi: Partial<MemoryBasicInformation> = {};
    if (VirtualQuery(address, mbi, SIZEOF_MBI) === 0) return lastError('VirtualQuery');
    return ok(toInfo(mbi));
  }

  function queryRange(start: number, size: number): OsResult<OsRegionInfo[]> {
    const end = start + size;
    const out: OsRegionInfo[] = [];
    let cursor = start;
    while (cursor < end) {
      const r = query(cursor);
      if (!r.ok) return r;
      const info = r.value;
      const runEnd = Math.min(info.baseAddress + info.regionSize, end);
      if (runEnd <= cursor) return fail('unknown', 0, 'VirtualQuery', 'region size did not advance');
      out.push({ ...info, baseAddress: cursor, regionSize: runEnd - cursor });
      cursor = runEnd;
    }
    return ok(out);
  }

  const heaps = new Map<number, Set<number>>();
  /** VirtualProtect's out parameter, reused (the host keeps the old protection in its books; no array per call). */
  const oldProtect: [number] = [0];

  // One reusable buffer for compare: memcmp against it chunk by chunk, so memory stays bounded.
  const CHUNK = 1 << 20;
  const pattern = new Uint8Array(CHUNK);
  let patternByte = 0;
  /** Bytes at the start of `pattern` that hold `patternByte`: only what a compare needs is filled. */
  let patternValid = CHUNK;

  return {
    backend: 'win32',
    pageSize,
    allocationGranularity,

    reserve(address, size, topDown) {
      // Windows answers ERROR_INVALID_ADDRESS below 64 KiB; said here so that every Windows (and Wine) agrees.
      if (address !== null && address < GRANULARITY)
        return fail('invalid-address', ERROR_INVALID_ADDRESS, 'VirtualAlloc', 'below the first 64 KiB');
      const p = VirtualAlloc(address ?? 0, size, MEM.RESERVE | (topDown ? MEM.TOP_DOWN : 0), PAGE.NOACCESS);
      if (p !== 0) return ok(p);
      const r = lastError<number>('VirtualAlloc');
      // A size larger than the whole user address space is refused as a bad parameter by some Windows versions
      // (and Wine); it is a well-formed request that no address space can hold: out of memory, as on POSIX.
      if (!r.ok && r.error.code === 'invalid-argument' && size > addressSpace) {
        return fail('out-of-memory', r.error.native, 'VirtualAlloc', 'larger than the user address space');
      }
      return r;
    },
    commit(address, size, protect) {
      return VirtualAlloc(address, size, MEM.COMMIT, protect) === 0 ? lastError('VirtualAlloc') : OK_VOID;
    },
    decommit(address, size) {
      return VirtualFree(address, size, MEM.DECOMMIT) === 0 ? lastError('VirtualFree') : OK_VOID;
    },
    release(base) {
      return VirtualFree(base, 0, MEM.RELEASE) === 0 ? lastError('VirtualFree') : OK_VOID;
    },
    protect(address, size, protect) {
      if (VirtualProtect(address, size, protect, oldProtect) !== 0) return OK_VOID;
      const r = lastError<void>('VirtualProtect');
      // Pages that are not committed: Windows says ERROR_INVALID_ADDRESS, Wine ERROR_INVALID_PARAMETER. The
      // protection itself is valid by the time it gets here, so both mean the same: not an address to protect.
      if (!r.ok && r.error.code === 'invalid-argument') {
        return fail('invalid-address', r.error.native, 'VirtualProtect', 'the range is not committed memory');
      }
      return r;
    },
    reset(address, size) {
      return VirtualAlloc(address, size, MEM.RESET, PAGE.NOACCESS) === 0 ? lastError('VirtualAlloc') : OK_VOID;
    },
    resetUndo(address, size) {
      return VirtualAlloc(address, size, MEM.RESET_UNDO, PAGE.NOACCESS) === 0 ? lastError('VirtualAlloc') : OK_VOID;
    },
    query,
    queryRange,
    queryRanges(ranges) {
      const out: OsRegionInfo[][] = [];
      for (const [start, size] of ranges) {
        const r = queryRange(start, size);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return ok(out);
    },
    // Wine's VirtualQuery drops NOCACHE and WRITECOMBINE (they mean nothing to it); Windows reports them.
    effectiveProtect: (protect) => (underWine ? protect & ~(PAGE.NOCACHE | PAGE.WRITECOMBINE) : protect),
    memoryStatus() {
      const s: Partial<MemoryStatusEx> = { dwLength: koffi.sizeof(MEMORYSTATUSEX) };
      if (GlobalMemoryStatusEx(s) === 0) return lastError('GlobalMemoryStatusEx');
      return ok({
        memoryLoad: s.dwMemoryLoad ?? 0,
        totalPhys: Number(s.ullTotalPhys ?? 0),
        availPhys: Number(s.ullAvailPhys ?? 0),
        totalCommit: Number(s.ullTotalPageFile ?? 0),
        availCommit: Number(s.ullAvailPageFile ?? 0),
      });
    },
    processCounters() {
      const pmc: Partial<ProcessMemoryCounters> = { cb: SIZEOF_PMC };
      if (K32GetProcessMemoryInfo(GetCurrentProcess(), pmc, SIZEOF_PMC) === 0) {
        return lastError('K32GetProcessMemoryInfo');
      }
      return ok({
        workingSet: Number(pmc.WorkingSetSize ?? 0),
        peakWorkingSet: Number(pmc.PeakWorkingSetSize ?? 0),
        privateBytes: Number(pmc.PagefileUsage ?? 0),
        pageFaults: pmc.PageFaultCount ?? 0,
      });
    },
    fill(address, size, byte) {
      memset(address, byte, size);
    },
    compare(address, size, byte) {
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
    },
    heapCreate(options): OsResult<OsHeap> {
      const flags =
        (options.threadSafe ? 0 : HEAP_NO_SERIALIZE) | (options.executable ? HEAP_CREATE_ENABLE_EXECUTE : 0);
      const h = HeapCreate(flags, 0, 0);
      if (h === 0) return lastError('HeapCreate');
      heaps.set(h, new Set());
      return ok(h);
    },
    heapAlloc(heap, size) {
      const blocks = heaps.get(heap);
      if (!blocks) return fail('invalid-argument', ERROR_INVALID_PARAMETER, 'HeapAlloc', 'unknown heap');
      const p = HeapAlloc(heap, 0, size);
      // HeapAlloc does not set the last error: a null result means no memory.
      if (p === 0) return fail('out-of-memory', ERROR_NOT_ENOUGH_MEMORY, 'HeapAlloc', 'HeapAlloc returned NULL');
      blocks.add(p);
      return ok(p);
    },
    heapFree(heap, address) {
      const blocks = heaps.get(heap);
      if (!blocks || !blocks.has(address)) {
        return fail('invalid-argument', ERROR_INVALID_PARAMETER, 'HeapFree', 'not a block of this heap');
      }
      blocks.delete(address);
      return HeapFree(heap, 0, address) === 0 ? lastError('HeapFree') : OK_VOID;
    },
    heapSize(heap, address) {
      const blocks = heaps.get(heap);
      if (!blocks || !blocks.has(address)) {
        return fail('invalid-argument', ERROR_INVALID_PARAMETER, 'HeapSize', 'not a block of this heap');
      }
      const n = HeapSize(heap, 0, address);
      return typeof n === 'bigint' ? lastError('HeapSize') : ok(n);
    },
    heapDestroy(heap) {
      if (!heaps.delete(heap)) return fail('invalid-argument', ERROR_INVALID_PARAMETER, 'HeapDestroy', 'unknown heap');
      return HeapDestroy(heap) === 0 ? lastError('HeapDestroy') : OK_VOID;
    },
  };
}
