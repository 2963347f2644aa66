/**
 * The host memory manager's public surface: IHostMemoryManager's ten methods, the host heaps, the extra
 * operations the exec driver offers (Fill, Check, Stats, Audit, SetPolicy, Reset), and the event stream.
 * Everything the CLI, telemetry and the UI know of the host comes through these types.
 */
import type {
  Backend,
  FailureGroup,
  FailureReason,
  LevelName,
  MemState,
  MemType,
  MemoryAvailable,
} from '../vocabulary';

// The host's words (levels, failure groups and reasons, memory availability, backends) are hostmem's vocabulary.
export {
  BACKENDS,
  FAILURE_GROUPS,
  FAILURE_REASONS,
  LEVELS,
  MEMORY_AVAILABLE,
  MEMORY_AVAILABLE_NAMES,
  type Backend,
  type CriticalLevel,
  type FailureGroup,
  type FailureReason,
  type LevelName,
  type MemoryAvailable,
  type MemoryAvailableName,
} from '../vocabulary';

export type HostState = 'available' | 'unavailable';

export const MALLOC_THREADSAFE = 0x1;
export const MALLOC_EXECUTABLE = 0x2;

/**
 * The table of calls: every IHostMemoryManager method the host answers (`HOST_CALLS`) and every IHostMalloc method
 * of its heaps (`HEAP_CALLS`), with the parameters written down for each, in order, named as the exec protocol
 * names them (the `call` event's `args`; a heap call's `args` start with `malloc`, the heap's id). `level` is the
 * position of the critical-level argument, for calls that carry one. A parameter not written down (the notification
 * callback) is left out of `params`.
 *
 * The host's call events, `TrackedHost`, `RecordingHost` and every other `HostWrapper` are driven by this table:
 * a new method is the host's implementation, its line here (and in `HostMemoryManager`), and its tests.
 */
export const HOST_CALLS = {
  VirtualAlloc: { params: ['address', 'size', 'type', 'protect', 'level', 'tag'], level: 4 },
  VirtualFree: { params: ['address', 'size', 'type'] },
  VirtualQuery: { params: ['address'] },
  VirtualProtect: { params: ['address', 'size', 'protect'] },
  GetMemoryLoad: { params: [] },
  RegisterMemoryNotificationCallback: { params: [] },
  NeedsVirtualAddressSpace: { params: ['address', 'size'] },
  AcquiredVirtualAddressSpace: { params: ['address', 'size'] },
  ReleasedVirtualAddressSpace: { params: ['address'] },
  CreateMalloc: { params: ['type'] },
  Fill: { params: ['address', 'size', 'byte'] },
  Check: { params: ['address', 'size', 'byte'] },
} as const satisfies Record<string, CallSpec>;

export const HEAP_CALLS = {
  Alloc: { params: ['size', 'level'], level: 1 },
  DebugAlloc: { params: ['size', 'level', 'file', 'line'], level: 1 },
  Free: { params: ['address'] },
} as const satisfies Record<string, CallSpec>;

export interface CallSpec {
  readonly params: readonly string[];
  readonly level?: number;
}

export type HostCallName = keyof typeof HOST_CALLS;
export type HeapCallName = keyof typeof HEAP_CALLS;
/** Every method that answers an HRESULT: the host's and its heaps'. */
export type HostMethod = HostCallName | HeapCallName;

export const HOST_CALL_NAMES = Object.keys(HOST_CALLS) as HostCallName[];
export const HEAP_CALL_NAMES = Object.keys(HEAP_CALLS) as HeapCallName[];

/** The spec of one call, host or heap. */
export function callSpec(method: HostMethod): CallSpec {
  return method in HOST_CALLS ? HOST_CALLS[method as HostCallName] : HEAP_CALLS[method as HeapCallName];
}

/** A call's arguments as the `call` event writes them: the table's names, undefined written as null. */
export function callArgs(method: HostMethod, args: readonly unknown[], heap?: number): CallArgs {
  const out: Record<string, number | string | null> = {};
  if (heap !== undefined) out.malloc = heap;
  const params = callSpec(method).params;
  for (let i = 0; i < params.length; i++) out[params[i]!] = (args[i] ?? null) as number | string | null;
  return out;
}

/** The critical level a call was made at (its `level` argument), or undefined for calls that carry none. */
export function callLevel(method: HostMethod, args: readonly unknown[]): number | undefined {
  const at = callSpec(method).level;
  return at === undefined ? undefined : (args[at] as number);
}

/**
 * Told of every call the host answers, as soon as its HRESULT is known: the cheap way to count calls (metrics).
 * Nothing is allocated for it — no event object, no argument record — and it runs before `call` events go out.
 * It must not throw (what it throws is swallowed) and must not call the host.
 */
export type HostCallObserver = (method: HostMethod, hr: number) => void;

/** Every result has an HRESULT; a failing one also says why. */
export interface HostResult {
  readonly hr: number;
  readonly reason?: FailureReason;
}

export interface VirtualAllocResult extends HostResult {
  readonly address: number | null;
}

export interface HostQueryInfo {
  readonly baseAddress: number;
  readonly allocationBase: number;
  readonly allocationProtect: number;
  readonly regionSize: number;
  readonly state: MemState;
  readonly protect: number;
  readonly type: MemType | undefined;
  /** True when the address is inside a host reservation. */
  readonly owned: boolean;
  readonly level?: LevelName;
  readonly tag?: string;
}

export interface VirtualQueryResult extends HostResult {
  readonly info?: HostQueryInfo;
}

export interface VirtualProtectResult extends HostResult {
  readonly oldProtect?: number;
}

export interface MemoryLoadResult extends HostResult {
  readonly memoryLoad: number;
  readonly availableBytes: number;
}

export interface CreateMallocResult extends HostResult {
  /** The heap's id, for Alloc/DebugAlloc/Free. */
  readonly malloc?: number;
}

export interface HeapAllocResult extends HostResult {
  readonly address: number | null;
}

export interface CheckResult extends HostResult {
  readonly equal?: boolean;
}

export interface FailureCounts {
  eTaskCritical: number;
  eAppDomainCritical: number;
  eProcessCritical: number;
  other: number;
}

export interface HostStats {
  readonly reserved: number;
  readonly committed: number;
  readonly external: number;
  readonly heap: number;
  readonly regions: number;
  readonly state: HostState;
  readonly failures: FailureCounts;
}

/** One difference between the host's books and what the OS says, over a host reservation. */
export interface AuditDrift {
  readonly base: number;
  /** Start and length of the pages that disagree. */
  readonly address: number;
  readonly size: number;
  readonly books: string;
  readonly os: string;
}

export interface AuditResult {
  readonly drift: readonly AuditDrift[];
  /** Host reservations walked and bytes compared. */
  readonly regions: number;
  readonly bytes: number;
}

/** A fault to inject: which calls it applies to, and when it fires. */
export interface FaultRule {
  readonly op?: HostMethod;
  readonly level?: LevelName;
  /** Fire with this probability (seeded). */
  readonly probability?: number;
  /** Fire on every Nth matching call. */
  readonly everyNth?: number;
  /** Fire once this many bytes have been requested by matching calls. */
  readonly afterBytes?: number;
}

/** The policy, with sizes already in bytes (the exec driver parses "64MiB"). */
export interface HostPolicy {
  readonly commitLimit: number | null;
  readonly reserveLimit: number | null;
  readonly thresholds: Readonly<Record<LevelName, number>>;
  readonly processCriticalWaitMs: number;
  readonly faults: readonly FaultRule[];
  readonly seed: number;
}

/** The longest wait a timer can do (declared in main/vocabulary/quantities.ts, with the duration parser). */
export { MAX_TIMER_MS } from '../vocabulary';

export const DEFAULT_POLICY: HostPolicy = {
  commitLimit: null,
  reserveLimit: null,
  thresholds: { eTaskCritical: 0.9, eAppDomainCritical: 0.95, eProcessCritical: 1.0 },
  processCriticalWaitMs: 2000,
  faults: [],
  seed: 1,
};

/** A failure event: every call that does not return S_OK records one. */
export interface FailureEvent {
  readonly seq: number;
  /** ms since the Unix epoch. */
  readonly time: number;
  readonly method: HostMethod;
  readonly size: number;
  readonly address: number | null;
  readonly flags: number;
  readonly level: FailureGroup;
  readonly hr: number;
  readonly reason: FailureReason;
  readonly tag: string | undefined;
}

/** What changed in the region map. */
export type RegionChange =
  | {
      readonly change: 'reserve';
      readonly base: number;
      readonly size: number;
      readonly level: LevelName;
      readonly tag: string | undefined;
    }
  | {
      readonly change: 'commit';
      readonly base: number;
      readonly address: number;
      readonly size: number;
      readonly protect: number;
    }
  | { readonly change: 'decommit'; readonly base: number; readonly address: number; readonly size: number }
  | {
      readonly change: 'protect';
      readonly base: number;
      readonly address: number;
      readonly size: number;
      readonly protect: number;
    }
  | { readonly change: 'release'; readonly base: number; readonly size: number };

/** A call's arguments as the exec protocol names them (flags and protections as numbers). */
export type CallArgs = Readonly<Record<string, number | string | null>>;

/** Everything a call can answer, for the `call` event. */
export type CallResult = HostResult &
  Partial<
    Pick<VirtualAllocResult, 'address'> &
      Pick<VirtualQueryResult, 'info'> &
      Pick<VirtualProtectResult, 'oldProtect'> &
      Pick<MemoryLoadResult, 'memoryLoad' | 'availableBytes'> &
      Pick<CreateMallocResult, 'malloc'> &
      Pick<CheckResult, 'equal'>
  >;

export type HostEvent =
  | {
      readonly kind: 'call';
      readonly seq: number;
      readonly time: number;
      readonly method: HostMethod;
      readonly args: CallArgs;
      readonly result: CallResult;
      /**
       * How long the call took, ms (performance.now() around it, waits included). Measured only while someone
       * listens: NaN for a call that began before the first listener subscribed.
       */
      readonly durationMs: number;
    }
  | { readonly kind: 'reset'; readonly seq: number; readonly time: number }
  | { readonly kind: 'failure'; readonly failure: FailureEvent }
  | { readonly kind: 'region'; readonly seq: number; readonly time: number; readonly region: RegionChange }
  | {
      readonly kind: 'notification';
      readonly seq: number;
      readonly time: number;
      readonly memoryAvailable: MemoryAvailable;
    }
  | {
      readonly kind: 'state';
      readonly seq: number;
      readonly time: number;
      readonly state: HostState;
      readonly cause: string;
    }
  | { readonly kind: 'policy'; readonly seq: number; readonly time: number; readonly policy: HostPolicy }
  | {
      readonly kind: 'external';
      readonly seq: number;
      readonly time: number;
      readonly change: 'acquired' | 'released';
      readonly address: number;
      readonly size: number;
    };

export type HostEventListener = (event: HostEvent) => void;

/** A host heap handed out by CreateMalloc (IHostMalloc). */
export interface HostMalloc {
  readonly id: number;
  Alloc(size: number, level: number): Promise<HeapAllocResult>;
  DebugAlloc(size: number, level: number, file: string, line: number): Promise<HeapAllocResult>;
  Free(address: number): Promise<HostResult>;
}

/** IHostMemoryManager, plus what the driver and the UI need. Numbers are Win32 flag values. */
export interface HostMemoryManager {
  readonly backend: Backend;
  readonly pageSize: number;
  readonly allocationGranularity: number;

  VirtualAlloc(
    address: number | null,
    size: number,
    type: number,
    protect: number,
    level: number,
    tag?: string,
  ): Promise<VirtualAllocResult>;
  VirtualFree(address: number, size: number, freeType: number): Promise<HostResult>;
  VirtualQuery(address: number): Promise<VirtualQueryResult>;
  VirtualProtect(address: number, size: number, protect: number): Promise<VirtualProtectResult>;
  GetMemoryLoad(): Promise<MemoryLoadResult>;
  RegisterMemoryNotificationCallback(callback: (memoryAvailable: MemoryAvailable) => void): Promise<HostResult>;
  NeedsVirtualAddressSpace(address: number, size: number): Promise<HostResult>;
  AcquiredVirtualAddressSpace(address: number, size: number): Promise<HostResult>;
  ReleasedVirtualAddressSpace(address: number): Promise<HostResult>;
  CreateMalloc(mallocType: number): Promise<CreateMallocResult>;

  /** Look up a heap by the id CreateMalloc gave. */
  malloc(id: number): HostMalloc | undefined;

  /** Write `byte` into host-owned, committed, writable memory; an HRESULT otherwise, never a crash. */
  Fill(address: number, size: number, byte: number): Promise<HostResult>;
  /** Compare host-owned, committed, readable memory with `byte`. */
  Check(address: number, size: number, byte: number): Promise<CheckResult>;

  stats(): HostStats;
  audit(): AuditResult;
  policy(): HostPolicy;
  setPolicy(policy: HostPolicy): void;
  /** Back to available; waiting requests end with HOST_E_ABANDONED. */
  reset(): void;
  /** Release everything the host holds (reservations, heaps) and cancel waiters. */
  dispose(): void;

  subscribe(listener: HostEventListener): () => void;
  /** Count calls without events (see `HostCallObserver`); the function returned stops it. */
  observeCalls(observer: HostCallObserver): () => void;
}

/** The arguments of a host or heap call, as its method takes them. */
export type CallParameters<K extends HostMethod> = K extends HostCallName
  ? Parameters<HostMemoryManager[K]>
  : K extends HeapCallName
    ? Parameters<HostMalloc[K]>
    : never;

/** What a host or heap call answers. */
export type CallResultOf<K extends HostMethod> = K extends HostCallName
  ? Awaited<ReturnType<HostMemoryManager[K]>>
  : K extends HeapCallName
    ? Awaited<ReturnType<HostMalloc[K]>>
    : never;

/** One call through a `HostWrapper`: which, its arguments, and the heap's id for heap calls. */
export type WrappedCall = {
  readonly [K in HostMethod]: {
    readonly method: K;
    readonly args: CallParameters<K>;
    readonly heap: K extends HeapCallName ? number : undefined;
  };
}[HostMethod];
