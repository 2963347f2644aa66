/**
 * The host memory manager (IHostMemoryManager) over an OsMemory backend.
 *
 * Every request is checked against the host's own books (region map, policy, state) *before* the OS is called,
 * so both backends give the same HRESULT for the same request. The books are then what the audit proves equal
 * to the OS's own answer. Owned memory is described from the books (VirtualQuery), foreign memory by the OS.
 *
 * This file holds the reservations (VirtualAlloc, VirtualFree, VirtualQuery, VirtualProtect, Fill, Check); the
 * layers below it hold the other concerns, one file each (see `base.ts`).
 *
 * The hot path (a VirtualAlloc or VirtualFree that needs no wait) answers synchronously inside and allocates only
 * its result: no closure, no `await`, and no event object or argument record unless someone listens.
 */
import { MEM, type OsMemory } from '../../native/os-memory';
import { auditRegions } from './audit';
import { OK, type Answer, type Region } from './base';
import { ExternalHost } from './external';
import {
  USER_ADDRESS_LIMIT,
  allocKind,
  isReadable,
  isValidAddress,
  isValidProtection,
  isValidSize,
  isWritable,
} from './flags';
import { HR } from './hresult';
import { clearRange, committedPagesIn, everyCommitted, fullMap, runAt, setRange, type PageRun } from './page-runs';
import { RegionMap } from './region-map';
import {
  DEFAULT_POLICY,
  LEVELS,
  type AuditResult,
  type CheckResult,
  type FailureGroup,
  type FailureReason,
  type HostMemoryManager,
  type HostPolicy,
  type HostQueryInfo,
  type HostResult,
  type HostStats,
  type LevelName,
  type VirtualAllocResult,
  type VirtualProtectResult,
  type VirtualQueryResult,
} from './types';

export type { Region } from './base';
export { classifyLoad } from './admission';

export class Host extends ExternalHost implements HostMemoryManager {
  /** Reservations by address: O(1) for reservations up to 1 MiB, O(log n) above. */
  private readonly regions = new RegionMap<Region>();

  constructor(os: OsMemory, policy: HostPolicy = DEFAULT_POLICY, now: () => number = Date.now) {
    super(os, policy, now);
  }

  // ---------------------------------------------------------------- the public methods: one `call` event each

  VirtualAlloc(
    address: number | null,
    size: number,
    type: number,
    protect: number,
    level: number,
    tag?: string,
  ): Promise<VirtualAllocResult> {
    const started = this.callStart;
    const answer = this.implVirtualAlloc(address, size, type, protect, level, tag);
    if (!this.listening) return this.counted('VirtualAlloc', answer);
    return this.told('VirtualAlloc', [address, size, type, protect, level, tag], answer, started);
  }
  VirtualFree(address: number, size: number, freeType: number): Promise<HostResult> {
    const started = this.callStart;
    const answer = this.implVirtualFree(address, size, freeType);
    if (!this.listening) return this.counted('VirtualFree', answer);
    return this.told('VirtualFree', [address, size, freeType], answer, started);
  }
  VirtualQuery(address: number): Promise<VirtualQueryResult> {
    const started = this.callStart;
    const answer = this.implVirtualQuery(address);
    return this.listening
      ? this.told('VirtualQuery', [address], answer, started)
      : this.counted('VirtualQuery', answer);
  }
  VirtualProtect(address: number, size: number, protect: number): Promise<VirtualProtectResult> {
    const started = this.callStart;
    const answer = this.implVirtualProtect(address, size, protect);
    if (!this.listening) return this.counted('VirtualProtect', answer);
    return this.told('VirtualProtect', [address, size, protect], answer, started);
  }
  Fill(address: number, size: number, byte: number): Promise<HostResult> {
    const started = this.callStart;
    const answer = this.implFill(address, size, byte);
    return this.listening ? this.told('Fill', [address, size, byte], answer, started) : this.counted('Fill', answer);
  }
  Check(address: number, size: number, byte: number): Promise<CheckResult> {
    const started = this.callStart;
    const answer = this.implCheck(address, size, byte);
    return this.listening ? this.told('Check', [address, size, byte], answer, started) : this.counted('Check', answer);
  }

  // ---------------------------------------------------------------- VirtualAlloc

  /** A failed VirtualAlloc (no closure per call: the hot path allocates only its result). */
  private allocFailed(
    hr: number,
    reason: FailureReason,
    group: FailureGroup,
    size: number,
    address: number | null,
    type: number,
    tag: string | undefined,
  ): VirtualAllocResult {
    return this.fail<VirtualAllocResult>('VirtualAlloc', hr, reason, group, size, address, type, tag, {
      address: null,
    });
  }

  /** Answered synchronously unless the request has to wait for memory (eProcessCritical over its threshold). */
  private implVirtualAlloc(
    address: number | null,
    size: number,
    type: number,
    protect: number,
    level: number,
    tag: string | undefined,
  ): Answer<VirtualAllocResult> {
    const levelName = LEVELS[level];
    const group: FailureGroup = levelName ?? 'other';

    if (this.state === 'unavailable') {
      return this.allocFailed(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable', group, size, address, type, tag);
    }
    if (
      levelName === undefined ||
      !Number.isInteger(level) ||
      !isValidSize(size) ||
      !isValidProtection(protect) ||
      (address !== null && !isValidAddress(address))
    ) {
      return this.allocFailed(HR.E_INVALIDARG, 'invalid', group, size, address, type, tag);
    }
    const kind = allocKind(type, address !== null && address !== 0);
    if (kind === undefined) return this.allocFailed(HR.E_INVALIDARG, 'invalid', group, size, address, type, tag);
    const at = address === 0 ? null : address;

    if (kind === 'reserve' || kind === 'reserve-commit') {
      return this.reserve(at, size, type, protect, levelName, tag, kind === 'reserve-commit', address);
    }
    // Commit, reset and reset-undo work inside one host reservation.
    const region = this.regions.containing(at!);
    if (region === undefined) {
      return this.allocFailed(HR.HOST_E_INVALIDOPERATION, 'invalid', group, size, address, type, tag);
    }
    const first = Math.floor((at! - region.base) / this.pageSize);
    const end = Math.ceil((at! + size - region.base) / this.pageSize);
    if (end > region.pages) {
      return this.allocFailed(HR.ERROR_INVALID_ADDRESS, 'invalid', group, size, address, type, tag);
    }
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;

    if (kind === 'reset' || kind === 'reset-undo') {
      if (everyCommitted(region.runs, first, end) !== 'yes') {
        return this.allocFailed(HR.ERROR_INVALID_ADDRESS, 'invalid', group, size, address, type, tag);
      }
      const r = kind === 'reset' ? this.os.reset(start, bytes) : this.os.resetUndo(start, bytes);
      if (!r.ok) {
        const f = this.osFailure(r.error, false);
        return this.allocFailed(f.hr, f.reason, group, size, address, type, tag);
      }
      return { hr: HR.S_OK, address: start };
    }

    const charge = (end - first - committedPagesIn(region.runs, first, end)) * this.pageSize;
    if (!this.faults.empty && this.faults.fires('VirtualAlloc', levelName, bytes)) {
      this.processCriticalFailed(levelName, HR.E_OUTOFMEMORY);
      return this.allocFailed(HR.E_OUTOFMEMORY, 'injected', group, size, address, type, tag);
    }
    if (charge > 0 && !this.fits(charge, levelName)) {
      return this.commitAfterWait(region, first, end, protect, levelName, charge, size, address, type, tag);
    }
    return this.commitPages(region, first, end, protect, levelName, false, charge, size, address, type, tag);
  }

  /** A commit that does not fit: the policy's answer first (eProcessCritical waits), then the commit. */
  private async commitAfterWait(
    region: Region,
    first: number,
    end: number,
    protect: number,
    level: LevelName,
    charge: number,
    size: number,
    address: number | null,
    type: number,
    tag: string | undefined,
  ): Promise<VirtualAllocResult> {
    const verdict = await this.admit(charge, level);
    if (typeof verdict === 'object') {
      this.processCriticalFailed(level, verdict.hr);
      return this.allocFailed(verdict.hr, verdict.reason, level, size, address, type, tag);
    }
    const pending = verdict === 'go-pending';
    // The region may have been released while this request waited.
    if (pending && this.regions.containing(region.base) !== region) {
      this.pendingCharge -= charge;
      return this.allocFailed(HR.HOST_E_INVALIDOPERATION, 'invalid', level, size, address, type, tag);
    }
    return this.commitPages(region, first, end, protect, level, pending, charge, size, address, type, tag);
  }

  private commitPages(
    region: Region,
    first: number,
    end: number,
    protect: number,
    level: LevelName,
    pending: boolean,
    charge: number,
    size: number,
    address: number | null,
    type: number,
    tag: string | undefined,
  ): VirtualAllocResult {
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;
    const r = this.os.commit(start, bytes, protect);
    if (pending) this.pendingCharge -= charge;
    if (!r.ok) {
      const f = this.osFailure(r.error, false);
      this.processCriticalFailed(level, f.hr);
      return this.allocFailed(f.hr, f.reason, level, size, address, type, tag);
    }
    const added = setRange(region.runs, first, end, protect) * this.pageSize;
    region.committed += added;
    this.committedBytes += added;
    if (this.listeners.size > 0) {
      this.emitRegion({ change: 'commit', base: region.base, address: start, size: bytes, protect });
    }
    this.afterChange(false);
    return { hr: HR.S_OK, address: start };
  }

  /** `at` is where to reserve (null: anywhere); `address` is what the caller passed, for the failure event. */
  private reserve(
    at: number | null,
    size: number,
    type: number,
    protect: number,
    level: LevelName,
    tag: string | undefined,
    commit: boolean,
    address: number | null,
  ): Answer<VirtualAllocResult> {
    const G = this.allocationGranularity;
    const page = this.pageSize;
    // A reservation starts on a 64 KiB boundary and spans every page that holds a byte of the request.
    const base = at === null ? null : Math.floor(at / G) * G;
    const bytes = at === null ? Math.ceil(size / page) * page : Math.ceil((at + size) / page) * page - base!;
    // Nothing is ever allocated in the first 64 KiB (Windows' rule; the NULL page on POSIX): ERROR_INVALID_ADDRESS on
    // both backends, before the OS is asked, so that it never counts as an OS failure.
    if (
      base !== null &&
      (base < G || base + bytes > USER_ADDRESS_LIMIT || this.regions.overlapping(base, bytes) !== undefined)
    ) {
      return this.allocFailed(HR.ERROR_INVALID_ADDRESS, 'invalid', level, size, address, type, tag);
    }
    const limit = this.currentPolicy.reserveLimit;
    if (limit !== null && this.reservedBytes + this.externalBytes + bytes > limit) {
      this.processCriticalFailed(level, HR.E_OUTOFMEMORY);
      return this.allocFailed(HR.E_OUTOFMEMORY, 'policy', level, size, address, type, tag);
    }
    if (!this.faults.empty && this.faults.fires('VirtualAlloc', level, bytes)) {
      this.processCriticalFailed(level, HR.E_OUTOFMEMORY);
      return this.allocFailed(HR.E_OUTOFMEMORY, 'injected', level, size, address, type, tag);
    }
    if (commit && !this.fits(bytes, level)) {
      return this.reserveAfterWait(base, bytes, type, protect, level, tag, size, address);
    }
    return this.reservePages(base, bytes, type, protect, level, tag, commit, false, size, address);
  }

  /** A reserve-and-commit that does not fit: the policy's answer first (eProcessCritical waits). */
  private async reserveAfterWait(
    base: number | null,
    bytes: number,
    type: number,
    protect: number,
    level: LevelName,
    tag: string | undefined,
    size: number,
    address: number | null,
  ): Promise<VirtualAllocResult> {
    const verdict = await this.admit(bytes, level);
    if (typeof verdict === 'object') {
      this.processCriticalFailed(level, verdict.hr);
      return this.allocFailed(verdict.hr, verdict.reason, level, size, address, type, tag);
    }
    return this.reservePages(base, bytes, type, protect, level, tag, true, verdict === 'go-pending', size, address);
  }

  private reservePages(
    base: number | null,
    bytes: number,
    type: number,
    protect: number,
    level: LevelName,
    tag: string | undefined,
    commit: boolean,
    pending: boolean,
    size: number,
    address: number | null,
  ): VirtualAllocResult {
    const r = this.os.reserve(base, bytes, (type & MEM.TOP_DOWN) !== 0);
    if (!r.ok) {
      if (pending) this.pendingCharge -= bytes;
      const f = this.osFailure(r.error, base !== null);
      this.processCriticalFailed(level, f.hr);
      return this.allocFailed(f.hr, f.reason, level, size, address, type, tag);
    }
    const at = r.value;
    if (commit) {
      const c = this.os.commit(at, bytes, protect);
      if (pending) this.pendingCharge -= bytes;
      if (!c.ok) {
        this.os.release(at, bytes);
        const f = this.osFailure(c.error, false);
        this.processCriticalFailed(level, f.hr);
        return this.allocFailed(f.hr, f.reason, level, size, address, type, tag);
      }
    }
    const pages = bytes / this.pageSize;
    const region: Region = {
      base: at,
      size: bytes,
      pages,
      level,
      tag,
      allocationProtect: protect,
      created: this.now(),
      runs: commit ? [{ start: 0, end: pages, protect }] : [],
      committed: commit ? bytes : 0,
    };
    this.regions.insert(region);
    this.reservedBytes += bytes;
    this.committedBytes += region.committed;
    if (this.listeners.size > 0) {
      this.emitRegion({ change: 'reserve', base: at, size: bytes, level, tag });
      if (commit) this.emitRegion({ change: 'commit', base: at, address: at, size: bytes, protect });
    }
    if (commit) this.afterChange(false);
    return { hr: HR.S_OK, address: at };
  }

  // ---------------------------------------------------------------- VirtualFree

  private freeFailed(hr: number, reason: FailureReason, size: number, address: number, freeType: number): HostResult {
    return this.fail<HostResult>('VirtualFree', hr, reason, 'other', size, address, freeType, undefined, {});
  }

  private implVirtualFree(address: number, size: number, freeType: number): HostResult {
    if (this.state === 'unavailable') {
      return this.freeFailed(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable', size, address, freeType);
    }
    if (
      (freeType !== MEM.DECOMMIT && freeType !== MEM.RELEASE) ||
      !Number.isSafeInteger(size) ||
      size < 0 ||
      !isValidAddress(address)
    ) {
      return this.freeFailed(HR.E_INVALIDARG, 'invalid', size, address, freeType);
    }
    const region = this.regions.containing(address);
    if (region === undefined) return this.freeFailed(HR.HOST_E_INVALIDOPERATION, 'invalid', size, address, freeType);

    if (freeType === MEM.RELEASE) {
      if (size !== 0 || address !== region.base) {
        return this.freeFailed(HR.E_INVALIDARG, 'invalid', size, address, freeType);
      }
      const r = this.os.release(region.base, region.size);
      if (!r.ok) return this.freeFailed(HR.E_FAIL, 'os', size, address, freeType);
      this.regions.remove(region);
      this.reservedBytes -= region.size;
      this.committedBytes -= region.committed;
      if (this.listeners.size > 0) this.emitRegion({ change: 'release', base: region.base, size: region.size });
      this.afterChange(true);
      return OK;
    }

    let first: number;
    let end: number;
    if (size === 0) {
      if (address !== region.base) return this.freeFailed(HR.E_INVALIDARG, 'invalid', size, address, freeType);
      first = 0;
      end = region.pages;
    } else {
      first = Math.floor((address - region.base) / this.pageSize);
      end = Math.ceil((address + size - region.base) / this.pageSize);
      if (end > region.pages) return this.freeFailed(HR.ERROR_INVALID_ADDRESS, 'invalid', size, address, freeType);
    }
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;
    if (committedPagesIn(region.runs, first, end) > 0) {
      const r = this.os.decommit(start, bytes);
      if (!r.ok) return this.freeFailed(HR.E_FAIL, 'os', size, address, freeType);
    }
    const removed = clearRange(region.runs, first, end) * this.pageSize;
    region.committed -= removed;
    this.committedBytes -= removed;
    if (this.listeners.size > 0) {
      this.emitRegion({ change: 'decommit', base: region.base, address: start, size: bytes });
    }
    this.afterChange(removed > 0);
    return OK;
  }

  // ---------------------------------------------------------------- VirtualQuery, VirtualProtect

  private implVirtualQuery(address: number): VirtualQueryResult {
    const failWith = (hr: number, reason: FailureReason): VirtualQueryResult =>
      this.fail<VirtualQueryResult>('VirtualQuery', hr, reason, 'other', 0, address, 0, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidAddress(address)) return failWith(HR.E_INVALIDARG, 'invalid');
    const region = this.regions.containing(address);
    if (region !== undefined) {
      return { hr: HR.S_OK, info: this.describe(region, address) };
    }
    const r = this.os.query(address);
    if (!r.ok) return failWith(HR.E_FAIL, 'os');
    const i = r.value;
    return {
      hr: HR.S_OK,
      info: {
        baseAddress: i.baseAddress,
        allocationBase: i.allocationBase,
        allocationProtect: i.allocationProtect,
        regionSize: i.regionSize,
        state: i.state,
        protect: i.protect,
        type: i.type,
        owned: false,
      },
    };
  }

  /** MEMORY_BASIC_INFORMATION of an owned address, from the books. */
  private describe(region: Region, address: number): HostQueryInfo {
    const page = Math.floor((address - region.base) / this.pageSize);
    const run = runAt(region.runs, page, region.pages);
    return {
      baseAddress: region.base + page * this.pageSize,
      allocationBase: region.base,
      allocationProtect: region.allocationProtect,
      regionSize: (run.end - page) * this.pageSize,
      state: run.protect === 0 ? 'MEM_RESERVE' : 'MEM_COMMIT',
      protect: run.protect,
      type: 'MEM_PRIVATE',
      owned: true,
      level: region.level,
      tag: region.tag,
    };
  }

  private implVirtualProtect(address: number, size: number, protect: number): VirtualProtectResult {
    const failWith = (hr: number, reason: FailureReason): VirtualProtectResult =>
      this.fail<VirtualProtectResult>('VirtualProtect', hr, reason, 'other', size, address, protect, undefined, {});
    if (this.state === 'unavailable') return failWith(HR.HOST_E_CLRNOTAVAILABLE, 'unavailable');
    if (!isValidSize(size) || !isValidProtection(protect) || !isValidAddress(address)) {
      return failWith(HR.E_INVALIDARG, 'invalid');
    }
    const region = this.regions.containing(address);
    if (region === undefined) return failWith(HR.HOST_E_INVALIDOPERATION, 'invalid');
    const first = Math.floor((address - region.base) / this.pageSize);
    const end = Math.ceil((address + size - region.base) / this.pageSize);
    if (end > region.pages || everyCommitted(region.runs, first, end) !== 'yes') {
      return failWith(HR.ERROR_INVALID_ADDRESS, 'invalid');
    }
    const start = region.base + first * this.pageSize;
    const bytes = (end - first) * this.pageSize;
    const old = runAt(region.runs, first, region.pages).protect;
    const r = this.os.protect(start, bytes, protect);
    if (!r.ok) return failWith(HR.E_FAIL, 'os');
    setRange(region.runs, first, end, protect);
    if (this.listeners.size > 0) {
      this.emitRegion({ change: 'protect', base: region.base, address: start, size: bytes, protect });
    }
    return { hr: HR.S_OK, oldProtect: old };
  }

  // ---------------------------------------------------------------- Fill / Check

  /** Where [address, address+size) may be touched: the HRESULT that refuses it, or 0. */
  private touchable(address: number, size: number, accept: (protect: number) => boolean): number {
    const region = this.regions.containing(address);
    if (region !== undefined) {
      const first = Math.floor((address - region.base) / this.pageSize);
      const end = Math.ceil((address + size - region.base) / this.pageSize);
      if (end > region.pages) return HR.ERROR_INVALID_ADDRESS;
      const verdict = everyCommitted(region.runs, first, end, accept);
      if (verdict === 'uncommitted') return HR.ERROR_INVALID_ADDRESS;
      return verdict === 'refused' ? HR.ERROR_NOACCESS : 0;
    }
    const block = this.heapBlocks.containing(address);
    if (block !== undefined) return address + size <= block.base + block.size ? 0 : HR.ERROR_INVALID_ADDRESS;
    return HR.HOST_E_INVALIDOPERATION;
  }

  /** Why Fill/Check may not touch [address, address+size) with `byte`: an HRESULT, or 0 when they may. */
  private touchRefusal(address: number, size: number, byte: number, accept: (protect: number) => boolean): number {
    if (this.state === 'unavailable') return HR.HOST_E_CLRNOTAVAILABLE;
    if (!isValidSize(size) || !isValidAddress(address) || !Number.isInteger(byte) || byte < 0 || byte > 255) {
      return HR.E_INVALIDARG;
    }
    return this.touchable(address, size, accept);
  }

  private touchFailure<T extends HostResult>(method: 'Fill' | 'Check', hr: number, address: number, size: number): T {
    const reason: FailureReason = hr === HR.HOST_E_CLRNOTAVAILABLE ? 'unavailable' : 'invalid';
    return this.fail<T>(method, hr, reason, 'other', size, address, 0, undefined, {} as Omit<T, 'hr' | 'reason'>);
  }

  private implFill(address: number, size: number, byte: number): HostResult {
    const refused = this.touchRefusal(address, size, byte, isWritable);
    if (refused !== 0) return this.touchFailure<HostResult>('Fill', refused, address, size);
    this.os.fill(address, size, byte);
    return OK;
  }

  private implCheck(address: number, size: number, byte: number): CheckResult {
    const refused = this.touchRefusal(address, size, byte, isReadable);
    if (refused !== 0) return this.touchFailure<CheckResult>('Check', refused, address, size);
    return { hr: HR.S_OK, equal: this.os.compare(address, size, byte) };
  }

  // ---------------------------------------------------------------- books

  stats(): HostStats {
    return {
      reserved: this.reservedBytes,
      committed: this.committedBytes,
      external: this.externalBytes,
      heap: this.heapBytes,
      regions: this.regions.size,
      state: this.state,
      failures: { ...this.failureCounts },
    };
  }

  /** Live regions in address order (the UI's allocation list; reports). */
  regionList(): Region[] {
    return this.regions.sorted();
  }

  /** The host reservation holding `address` (the region map's lookup, O(log n)). */
  regionAt(address: number): Region | undefined {
    return this.regions.containing(address);
  }

  /** The page map of the reservation holding `address`: every run, reserved gaps included. */
  pageMap(address: number): { region: Region; runs: PageRun[] } | undefined {
    const region = this.regions.containing(address);
    return region && { region, runs: fullMap(region.runs, region.pages) };
  }

  audit(): AuditResult {
    return auditRegions(this.os, this.regions.sorted(), this.reservedBytes);
  }

  dispose(): void {
    this.abandonWaiters();
    for (const region of this.regions) this.os.release(region.base, region.size);
    this.regions.clear();
    this.disposeHeaps();
    this.reservedBytes = 0;
    this.committedBytes = 0;
  }
}
