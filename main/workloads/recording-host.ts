/**
 * A HostMemoryManager wrapper that writes down every call it forwards — method, arguments, HRESULT — with
 * addresses replaced by allocation ordinals (`A3+0x2000`: 0x2000 bytes into the third allocation it saw), so two
 * runs of the same seed on two hosts can be compared line by line although the OS gave different addresses.
 * Used by the determinism tests; handy for checking that a change keeps a scenario's sequence of requests.
 */
import { hresultName, type HostMalloc, type HostMemoryManager, type HostResult } from '../host';

export class RecordingHost implements HostMemoryManager {
  readonly lines: string[] = [];
  readonly backend: 'win32' | 'posix';
  readonly pageSize: number;
  readonly allocationGranularity: number;
  /** Live allocations: base → ordinal and size (an address the OS hands out again gets a new ordinal). */
  private readonly live = new Map<number, { ordinal: number; size: number }>();
  private ordinals = 0;
  private readonly heaps = new Map<number, HostMalloc>();

  constructor(readonly inner: HostMemoryManager) {
    this.backend = inner.backend;
    this.pageSize = inner.pageSize;
    this.allocationGranularity = inner.allocationGranularity;
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

  private note(call: string, r: HostResult, extra = ''): void {
    this.lines.push(`${call} -> ${hresultName(r.hr)}${extra}`);
  }

  private allocated(address: number | null, size: number): string {
    if (address === null) return '';
    this.live.set(address, { ordinal: ++this.ordinals, size: Math.max(1, size) });
    return ` ${this.addr(address)}`;
  }

  private freed(address: number, r: HostResult): void {
    if (r.hr === 0) this.live.delete(address);
  }

  async VirtualAlloc(address: number | null, size: number, type: number, protect: number, level: number, tag?: string) {
    const call = `VirtualAlloc(${this.addr(address)}, ${size}, 0x${type.toString(16)}, 0x${protect.toString(16)}, ${level}, ${tag ?? '-'})`;
    const r = await this.inner.VirtualAlloc(address, size, type, protect, level, tag);
    const reserved = Math.ceil(size / this.pageSize) * this.pageSize;
    this.note(call, r, address === null ? this.allocated(r.address, reserved) : '');
    return r;
  }
  async VirtualFree(address: number, size: number, freeType: number) {
    const call = `VirtualFree(${this.addr(address)}, ${size}, 0x${freeType.toString(16)})`;
    const r = await this.inner.VirtualFree(address, size, freeType);
    if (freeType === 0x8000) this.freed(address, r);
    this.note(call, r);
    return r;
  }
  async VirtualQuery(address: number) {
    const call = `VirtualQuery(${this.addr(address)})`;
    const r = await this.inner.VirtualQuery(address);
    this.note(call, r, r.info ? ` ${r.info.state} ${r.info.regionSize}` : '');
    return r;
  }
  async VirtualProtect(address: number, size: number, protect: number) {
    const call = `VirtualProtect(${this.addr(address)}, ${size}, 0x${protect.toString(16)})`;
    const r = await this.inner.VirtualProtect(address, size, protect);
    this.note(call, r, ` old 0x${(r.oldProtect ?? 0).toString(16)}`);
    return r;
  }
  async GetMemoryLoad() {
    const r = await this.inner.GetMemoryLoad();
    this.note('GetMemoryLoad()', r);
    return r;
  }
  async RegisterMemoryNotificationCallback(
    callback: Parameters<HostMemoryManager['RegisterMemoryNotificationCallback']>[0],
  ) {
    const r = await this.inner.RegisterMemoryNotificationCallback(callback);
    this.note('RegisterMemoryNotificationCallback()', r);
    return r;
  }
  async NeedsVirtualAddressSpace(address: number, size: number) {
    const r = await this.inner.NeedsVirtualAddressSpace(address, size);
    this.note(`NeedsVirtualAddressSpace(${this.addr(address)}, ${size})`, r);
    return r;
  }
  async AcquiredVirtualAddressSpace(address: number, size: number) {
    const r = await this.inner.AcquiredVirtualAddressSpace(address, size);
    this.note(`AcquiredVirtualAddressSpace(${this.addr(address)}, ${size})`, r);
    return r;
  }
  async ReleasedVirtualAddressSpace(address: number) {
    const r = await this.inner.ReleasedVirtualAddressSpace(address);
    this.note(`ReleasedVirtualAddressSpace(${this.addr(address)})`, r);
    return r;
  }
  async CreateMalloc(mallocType: number) {
    const r = await this.inner.CreateMalloc(mallocType);
    this.note(`CreateMalloc(${mallocType})`, r);
    return r;
  }
  malloc(id: number): HostMalloc | undefined {
    const inner = this.inner.malloc(id);
    if (!inner) return undefined;
    let heap = this.heaps.get(id);
    if (!heap) {
      heap = {
        id,
        Alloc: async (size: number, level: number) => {
          const r = await inner.Alloc(size, level);
          this.note(`Alloc(heap, ${size}, ${level})`, r, this.allocated(r.address, size));
          return r;
        },
        DebugAlloc: async (size: number, level: number, file: string, line: number) => {
          const r = await inner.DebugAlloc(size, level, file, line);
          this.note(`DebugAlloc(heap, ${size}, ${level}, ${file}, ${line})`, r, this.allocated(r.address, size));
          return r;
        },
        Free: async (address: number) => {
          const call = `Free(heap, ${this.addr(address)})`;
          const r = await inner.Free(address);
          this.freed(address, r);
          this.note(call, r);
          return r;
        },
      };
      this.heaps.set(id, heap);
    }
    return heap;
  }
  async Fill(address: number, size: number, byte: number) {
    const r = await this.inner.Fill(address, size, byte);
    this.note(`Fill(${this.addr(address)}, ${size}, ${byte})`, r);
    return r;
  }
  async Check(address: number, size: number, byte: number) {
    const r = await this.inner.Check(address, size, byte);
    this.note(`Check(${this.addr(address)}, ${size}, ${byte})`, r, ` ${String(r.equal)}`);
    return r;
  }
  stats() {
    return this.inner.stats();
  }
  audit() {
    return this.inner.audit();
  }
  policy() {
    return this.inner.policy();
  }
  setPolicy(policy: Parameters<HostMemoryManager['setPolicy']>[0]) {
    this.lines.push(`setPolicy(commitLimit ${String(policy.commitLimit)})`);
    this.inner.setPolicy(policy);
  }
  reset() {
    this.lines.push('reset()');
    this.inner.reset();
  }
  dispose() {
    this.inner.dispose();
  }
  subscribe(listener: Parameters<HostMemoryManager['subscribe']>[0]) {
    return this.inner.subscribe(listener);
  }
}
