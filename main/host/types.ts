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

export type HostMethod =
  | 'VirtualAlloc'
  | 'VirtualFree'
  | 'VirtualQuery'
  | 'VirtualProtect'
  | 'GetMemoryLoad'
  | 'RegisterMemoryNotificationCallback'
  | 'NeedsVirtualAddressSpace'
  | 'AcquiredVirtualAddressSpace'
  | 'ReleasedVirtualAddressSpace'
  | 'CreateMalloc'
  | 'Alloc'
  | 'DebugAlloc'
  | 'Free'
  | 'Fill'
  | 'Check';

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
}
