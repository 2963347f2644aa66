/**
 * A HostMemoryManager wrapper that writes down every call it forwards — method, arguments, HRESULT — with
 * addresses replaced by allocation ordinals (`A3+0x2000`: 0x2000 bytes into the third allocation it saw), so two
 * runs of the same seed on two hosts can be compared line by line although the OS gave different addresses.
 * Used by the determinism tests; handy for checking that a change keeps a scenario's sequence of requests.
 * It is the generic `HostWrapper` with two hooks: the call written before it goes (its addresses as they were
 * known then), the result after.
 */
import { hresultName, HostWrapper, type HostMemoryManager, type HostResult, type WrappedCall } from '../host';
import type {
  CheckResult,
  HeapAllocResult,
  VirtualAllocResult,
  VirtualProtectResult,
  VirtualQueryResult,
} from '../host';

export class RecordingHost extends HostWrapper<string> {
  readonly lines: string[] = [];
  /** Live allocations: base → ordinal and size (an address the OS hands out again gets a new ordinal). */
  private readonly live = new Map<number, { ordinal: number; size: number }>();
  private ordinals = 0;

  constructor(inner: HostMemoryManager) {
    super(inner);
  }

  /** `A<n>+0x<offset>` for an address inside a live allocation, else `foreign`; null as `null`. */
  private addr(address: number | null): string {
    if (address === null) return 'null';
    for (const [base, { ordinal, size }] of this.live) {
      if (address >= base && address < base + size) {
        const offset = address - base;
        return offset === 0 ? `A${ordinal}` : `A${ordinal}+0x${offset.toString(16)}`;
      }
    }
    return 'foreign';
  }

  private allocated(address: number | null, size: number): string {
    if (address === null) return '';
    this.live.set(address, { ordinal: ++this.ordinals, size: Math.max(1, size) });
    return ` ${this.addr(address)}`;
  }

  private freed(address: number, r: HostResult): void {
    if (r.hr === 0) this.live.delete(address);
  }

  protected before(call: WrappedCall): string {
    const hex = (n: number): string => `0x${n.toString(16)}`;
    switch (call.method) {
      case 'VirtualAlloc': {
        const [address, size, type, protect, level, tag] = call.args;
        return `VirtualAlloc(${this.addr(address)}, ${size}, ${hex(type)}, ${hex(protect)}, ${level}, ${tag ?? '-'})`;
      }
      case 'VirtualFree': {
        const [address, size, freeType] = call.args;
        return `VirtualFree(${this.addr(address)}, ${size}, ${hex(freeType)})`;
      }
      case 'VirtualQuery':
        return `VirtualQuery(${this.addr(call.args[0])})`;
      case 'VirtualProtect': {
        const [address, size, protect] = call.args;
        return `VirtualProtect(${this.addr(address)}, ${size}, ${hex(protect)})`;
      }
      case 'GetMemoryLoad':
        return 'GetMemoryLoad()';
      case 'RegisterMemoryNotificationCallback':
        return 'RegisterMemoryNotificationCallback()';
      case 'NeedsVirtualAddressSpace':
      case 'AcquiredVirtualAddressSpace':
        return `${call.method}(${this.addr(call.args[0])}, ${call.args[1]})`;
      case 'ReleasedVirtualAddressSpace':
        return `ReleasedVirtualAddressSpace(${this.addr(call.args[0])})`;
      case 'CreateMalloc':
        return `CreateMalloc(${call.args[0]})`;
      case 'Fill':
      case 'Check':
        return `${call.method}(${this.addr(call.args[0])}, ${call.args[1]}, ${call.args[2]})`;
      case 'Alloc':
        return `Alloc(heap, ${call.args[0]}, ${call.args[1]})`;
      case 'DebugAlloc': {
        const [size, level, file, line] = call.args;
        return `DebugAlloc(heap, ${size}, ${level}, ${file}, ${line})`;
      }
      case 'Free':
        return `Free(heap, ${this.addr(call.args[0])})`;
    }
  }

  protected after(call: WrappedCall, r: HostResult, text: string): void {
    let extra = '';
    switch (call.method) {
      case 'VirtualAlloc': {
        const [address, size] = call.args;
        const reserved = Math.ceil(size / this.pageSize) * this.pageSize;
        if (address === null) extra = this.allocated((r as VirtualAllocResult).address, reserved);
        break;
      }
      case 'VirtualFree':
        if (call.args[2] === 0x8000) this.freed(call.args[0], r);
        break;
      case 'VirtualQuery': {
        const info = (r as VirtualQueryResult).info;
        if (info) extra = ` ${info.state} ${info.regionSize}`;
        break;
      }
      case 'VirtualProtect':
        extra = ` old 0x${((r as VirtualProtectResult).oldProtect ?? 0).toString(16)}`;
        break;
      case 'Check':
        extra = ` ${String((r as CheckResult).equal)}`;
        break;
      case 'Alloc':
      case 'DebugAlloc':
        extra = this.allocated((r as HeapAllocResult).address, call.args[0]);
        break;
      case 'Free':
        this.freed(call.args[0], r);
        break;
    }
    this.lines.push(`${text} -> ${hresultName(r.hr)}${extra}`);
  }

  override setPolicy(policy: Parameters<HostMemoryManager['setPolicy']>[0]): void {
    this.lines.push(`setPolicy(commitLimit ${String(policy.commitLimit)})`);
    this.inner.setPolicy(policy);
  }

  override reset(): void {
    this.lines.push('reset()');
    this.inner.reset();
  }
}
