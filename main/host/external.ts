/**
 * Address space got elsewhere (NeedsVirtualAddressSpace, AcquiredVirtualAddressSpace, ReleasedVirtualAddressSpace):
 * admitted against the reserve limit and counted as `external`, never reserved by the host itself.
 */
import type { OsMemory } from '../../native/os-memory';
import { OK } from './base';
import { HeapHost } from './heaps';
import { HR } from './hresult';
import { isValidAddress, isValidSize, USER_ADDRESS_LIMIT } from './flags';
import type { FailureReason, HostPolicy, HostResult } from './types';

/** The range lies in user space (below USER_ADDRESS_LIMIT), as address space a runtime acquired must. */
function inUserSpace(address: number, size: number): boolean {
  return address + size <= USER_ADDRESS_LIMIT;
}

export abstract class ExternalHost extends HeapHost {
  private readonly external = new Map<number, number>();

  constructor(os: OsMemory, policy: HostPolicy, now: () => number) {
    super(os, policy, now);
  }

  NeedsVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const method = 'NeedsVirtualAddressSpace';
    const started = this.callStart;
    const answer = this.implNeedsVirtualAddressSpace(address, size);
    return this.listening ? this.told(method, [address, size], answer, started) : this.counted(method, answer);
  }

  AcquiredVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const method = 'AcquiredVirtualAddressSpace';
    const started = this.callStart;
    const answer = this.implAcquiredVirtualAddressSpace(address, size);
    return this.listening ? this.told(method, [address, size], answer, started) : this.counted(method, answer);
  }

  ReleasedVirtualAddressSpace(address: number): Promise<HostResult> {
    const method = 'ReleasedVirtualAddressSpace';
    const started = this.callStart;
    const answer = this.implReleasedVirtualAddressSpace(address);
    return this.listening ? this.told(method, [address], answer, started) : this.counted(method, answer);
  }

  protected async implNeedsVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('NeedsVirtualAddressSpace', hr, reason, 'other', size, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidSize(size) || !isValidAddress(address) || !inUserSpace(address, size))
      return failWith(HR.E_INVALIDARG, 'invalid');
    const limit = this.currentPolicy.reserveLimit;
    if (limit !== null && this.reservedBytes + this.externalBytes + size > limit) {
      return failWith(HR.E_OUTOFMEMORY, 'policy');
    }
    return OK;
  }

  protected async implAcquiredVirtualAddressSpace(address: number, size: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('AcquiredVirtualAddressSpace', hr, reason, 'other', size, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidSize(size) || !isValidAddress(address) || !inUserSpace(address, size))
      return failWith(HR.E_INVALIDARG, 'invalid');
    // More external address space than a process has (ranges reported over each other): the client's books are
    // wrong, and the host's total stays an exact number.
    if (this.externalBytes + size > USER_ADDRESS_LIMIT) return failWith(HR.E_INVALIDARG, 'invalid');
    // Reported twice at the same start: the client's books are wrong, not the host's.
    if (this.external.has(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    this.external.set(address, size);
    this.externalBytes += size;
    if (this.listeners.size > 0) {
      this.emit({ kind: 'external', seq: ++this.seq, time: this.now(), change: 'acquired', address, size });
    }
    return OK;
  }

  protected async implReleasedVirtualAddressSpace(address: number): Promise<HostResult> {
    const failWith = (hr: number, reason: FailureReason): HostResult =>
      this.fail<HostResult>('ReleasedVirtualAddressSpace', hr, reason, 'other', 0, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    const size = this.external.get(address);
    if (size === undefined) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    this.external.delete(address);
    this.externalBytes -= size;
    if (this.listeners.size > 0) {
      this.emit({ kind: 'external', seq: ++this.seq, time: this.now(), change: 'released', address, size });
    }
    return OK;
  }
}
