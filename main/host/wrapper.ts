/**
 * One generic wrapper of a HostMemoryManager, driven by the table of calls (`HOST_CALLS`, `HEAP_CALLS` in
 * `types.ts`): every call — the host's and its heaps' — is forwarded to the inner host with `before` run first and
 * `after` run on its result. `TrackedHost` (a workload's ledger) and `RecordingHost` (determinism records) are
 * this wrapper with their two hooks; a method added to the table is wrapped with no change here.
 */
import {
  HEAP_CALL_NAMES,
  HOST_CALL_NAMES,
  type AuditResult,
  type Backend,
  type HeapCallName,
  type HostCallName,
  type HostCallObserver,
  type HostEventListener,
  type HostMalloc,
  type HostMemoryManager,
  type HostPolicy,
  type HostResult,
  type HostStats,
  type WrappedCall,
} from './types';

type Forwarder = (...args: unknown[]) => Promise<HostResult>;

export abstract class HostWrapper<Context = void> implements HostMemoryManager {
  readonly backend: Backend;
  readonly pageSize: number;
  readonly allocationGranularity: number;
  private readonly heaps = new Map<number, HostMalloc>();

  // The call methods: installed once on the prototype from the table (below the class), never per instance.
  declare VirtualAlloc: HostMemoryManager['VirtualAlloc'];
  declare VirtualFree: HostMemoryManager['VirtualFree'];
  declare VirtualQuery: HostMemoryManager['VirtualQuery'];
  declare VirtualProtect: HostMemoryManager['VirtualProtect'];
  declare GetMemoryLoad: HostMemoryManager['GetMemoryLoad'];
  declare RegisterMemoryNotificationCallback: HostMemoryManager['RegisterMemoryNotificationCallback'];
  declare NeedsVirtualAddressSpace: HostMemoryManager['NeedsVirtualAddressSpace'];
  declare AcquiredVirtualAddressSpace: HostMemoryManager['AcquiredVirtualAddressSpace'];
  declare ReleasedVirtualAddressSpace: HostMemoryManager['ReleasedVirtualAddressSpace'];
  declare CreateMalloc: HostMemoryManager['CreateMalloc'];
  declare Fill: HostMemoryManager['Fill'];
  declare Check: HostMemoryManager['Check'];

  constructor(readonly inner: HostMemoryManager) {
    this.backend = inner.backend;
    this.pageSize = inner.pageSize;
    this.allocationGranularity = inner.allocationGranularity;
  }

  /** Run before a call is forwarded; what it returns is handed to `after`. */
  protected abstract before(call: WrappedCall): Context;
  /** Run once the inner host has answered, before the caller sees the result. */
  protected abstract after(call: WrappedCall, result: HostResult, context: Context): void;

  /** Forward one call with both hooks around it. */
  async forward(call: WrappedCall, send: () => Promise<HostResult>): Promise<HostResult> {
    const context = this.before(call);
    const result = await send();
    this.after(call, result, context);
    return result;
  }

  /** The inner host's heap, seen through this wrapper (one wrapper object per heap). */
  malloc(id: number): HostMalloc | undefined {
    let heap = this.heaps.get(id);
    if (heap === undefined) {
      const inner = this.inner.malloc(id);
      if (inner === undefined) return undefined;
      heap = wrapHeap(this, inner);
      this.heaps.set(id, heap);
    }
    return heap;
  }

  stats(): HostStats {
    return this.inner.stats();
  }
  audit(): AuditResult {
    return this.inner.audit();
  }
  policy(): HostPolicy {
    return this.inner.policy();
  }
  setPolicy(policy: HostPolicy): void {
    this.inner.setPolicy(policy);
  }
  reset(): void {
    this.inner.reset();
  }
  dispose(): void {
    this.inner.dispose();
  }
  subscribe(listener: HostEventListener): () => void {
    return this.inner.subscribe(listener);
  }
  observeCalls(observer: HostCallObserver): () => void {
    return this.inner.observeCalls(observer);
  }
}

function hostForwarder(method: HostCallName): Forwarder {
  return function (this: HostWrapper<unknown>, ...args: unknown[]): Promise<HostResult> {
    const inner = this.inner[method] as unknown as Forwarder;
    const call = { method, args, heap: undefined } as unknown as WrappedCall;
    return this.forward(call, () => inner.apply(this.inner, args));
  };
}

for (const method of HOST_CALL_NAMES) {
  Object.defineProperty(HostWrapper.prototype, method, {
    value: hostForwarder(method),
    writable: true,
    configurable: true,
  });
}

function wrapHeap(wrapper: HostWrapper<unknown>, inner: HostMalloc): HostMalloc {
  const heap: Record<string, unknown> = { id: inner.id };
  for (const method of HEAP_CALL_NAMES) {
    const send = inner[method] as unknown as Forwarder;
    heap[method] = (...args: unknown[]): Promise<HostResult> => {
      const call = { method, args, heap: inner.id } as unknown as WrappedCall;
      return wrapper.forward(call, () => send.apply(inner, args));
    };
  }
  return heap as unknown as HostMalloc;
}

/** For tests: every name the wrapper installs, host and heap. */
export const WRAPPED_CALLS: readonly (HostCallName | HeapCallName)[] = [...HOST_CALL_NAMES, ...HEAP_CALL_NAMES];
