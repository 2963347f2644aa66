/**
 * The agent protocol, version 1, as hostmem reads and writes it. `native/agent/protocol.h` is its C side;
 * `protocol.test.ts` reads that header and checks every constant and offset here against it, so the two cannot drift.
 * The words are in docs/spec/agent-protocol.md.
 */

export const PROTOCOL_VERSION = 1;
export const HELLO_MAGIC = 0x31414d48; // "HMA1"
export const FRAME_HEADER_BYTES = 8;
export const EVENT_BYTES = 64;
export const FRAMES_PER_SLOT = 7;
/** The largest frame either side accepts (64 MiB). */
export const MAX_FRAME_BYTES = 64 << 20;

export const MSG = {
  HELLO: 1,
  EVENTS: 2,
  MODULES: 3,
  COUNTERS: 4,
  BYE: 5,
  WELCOME: 0x81,
  POLICY: 0x82,
  RESET: 0x83,
} as const;

export const OS = { LINUX: 1, WINDOWS: 2 } as const;
export const HELLO_FORKED = 1;
export const DECISION = { DROP: 0, TRACE: 1 } as const;
export const POLICY_FLAGS = { UNAVAILABLE: 1, FOLLOW_FORKS: 2, SAMPLED_HEAP: 4 } as const;
export const FAULT_KIND = { PROBABILITY: 1, EVERY_NTH: 2, AFTER_BYTES: 3 } as const;
export const LEVEL_ANY = 0xff;
export const LEVEL_NONE = 0xff;

/** The hooked calls, by op code. */
export const OP = {
  MMAP: 1,
  MUNMAP: 2,
  MPROTECT: 3,
  MADVISE: 4,
  MREMAP: 5,
  MALLOC: 16,
  CALLOC: 17,
  REALLOC: 18,
  FREE: 19,
  POSIX_MEMALIGN: 20,
  ALIGNED_ALLOC: 21,
  MEMALIGN: 22,
  VALLOC: 23,
  PVALLOC: 24,
  VIRTUAL_ALLOC: 32,
  VIRTUAL_FREE: 33,
  VIRTUAL_PROTECT: 34,
  VIRTUAL_QUERY: 35,
  HEAP_CREATE: 40,
  HEAP_DESTROY: 41,
  HEAP_ALLOC: 42,
  HEAP_REALLOC: 43,
  HEAP_FREE: 44,
  FRAMES: 63,
} as const;
export type OpName = keyof typeof OP;

/** The name a user writes for each op (fault and level rules, reports): the function the program called. */
export const OP_FUNCTION: Readonly<Record<number, string>> = {
  [OP.MMAP]: 'mmap',
  [OP.MUNMAP]: 'munmap',
  [OP.MPROTECT]: 'mprotect',
  [OP.MADVISE]: 'madvise',
  [OP.MREMAP]: 'mremap',
  [OP.MALLOC]: 'malloc',
  [OP.CALLOC]: 'calloc',
  [OP.REALLOC]: 'realloc',
  [OP.FREE]: 'free',
  [OP.POSIX_MEMALIGN]: 'posix_memalign',
  [OP.ALIGNED_ALLOC]: 'aligned_alloc',
  [OP.MEMALIGN]: 'memalign',
  [OP.VALLOC]: 'valloc',
  [OP.PVALLOC]: 'pvalloc',
  [OP.VIRTUAL_ALLOC]: 'VirtualAlloc',
  [OP.VIRTUAL_FREE]: 'VirtualFree',
  [OP.VIRTUAL_PROTECT]: 'VirtualProtect',
  [OP.VIRTUAL_QUERY]: 'VirtualQuery',
  [OP.HEAP_CREATE]: 'HeapCreate',
  [OP.HEAP_DESTROY]: 'HeapDestroy',
  [OP.HEAP_ALLOC]: 'HeapAlloc',
  [OP.HEAP_REALLOC]: 'HeapReAlloc',
  [OP.HEAP_FREE]: 'HeapFree',
};

/** Heap allocations (the malloc family and HeapAlloc/HeapReAlloc). */
export const HEAP_ALLOC_OPS: readonly number[] = [
  OP.MALLOC,
  OP.CALLOC,
  OP.REALLOC,
  OP.POSIX_MEMALIGN,
  OP.ALIGNED_ALLOC,
  OP.MEMALIGN,
  OP.VALLOC,
  OP.PVALLOC,
  OP.HEAP_ALLOC,
  OP.HEAP_REALLOC,
];
/** Virtual-memory calls that may take memory (and so may be refused). */
export const VIRTUAL_ALLOC_OPS: readonly number[] = [OP.MMAP, OP.MPROTECT, OP.MREMAP, OP.VIRTUAL_ALLOC];

export const RESULT = {
  OK: 0,
  REFUSED_POLICY: 1,
  REFUSED_INJECTED: 2,
  OS_ERROR: 3,
  REFUSED_UNAVAILABLE: 4,
  REFUSED_TIMEOUT: 5,
} as const;

export const EV = { FILE: 1, IN_HEAP: 2, COMMITTED: 4, SHARED: 8, SAMPLED: 16 } as const;
export const STATE = { AVAILABLE: 0, UNAVAILABLE: 1 } as const;

/** Byte offsets of the fixed structures (little-endian), as protocol.h lays them out. */
export const HELLO_LAYOUT = {
  magic: 0,
  version: 4,
  os: 6,
  pid: 8,
  ppid: 12,
  pageSize: 16,
  flags: 20,
  monotonicNs: 24,
  realtimeNs: 32,
  ringSlots: 40,
  maxFrames: 44,
  exePathLength: 46,
  bytes: 48,
} as const;

export const EVENT_LAYOUT = {
  mark: 0,
  op: 4,
  level: 5,
  result: 6,
  prot: 7,
  tid: 8,
  frames: 12,
  timeNs: 16,
  addr: 24,
  size: 32,
  ret: 40,
  extra: 48,
  flags: 56,
  err: 60,
  aflags: 62,
} as const;

export const POLICY_LAYOUT = {
  commitLimit: 0,
  reserveLimit: 8,
  thresholdPermille: 16,
  processCriticalWaitMs: 28,
  seed: 32,
  sampleBytes: 40,
  flags: 48,
  defaultLevel: 52,
  nFaults: 56,
  nLevelRules: 58,
  nRanges: 60,
  bytes: 64,
  faultBytes: 24,
  levelRuleBytes: 40,
  rangeBytes: 16,
} as const;

export const MODULE_LAYOUT = { loadBias: 0, start: 8, end: 16, pathLength: 24, bytes: 32, headerBytes: 8 } as const;

export const COUNTERS_LAYOUT = {
  events: 0,
  nested: 8,
  early: 16,
  skipped: 24,
  committed: 32,
  reserved: 40,
  heap: 48,
  waits: 56,
  state: 64,
  heapPeak: 72,
  unsent: 80,
  unsentFrees: 152,
  unsentBytes: 160,
  bytes: 168,
} as const;
