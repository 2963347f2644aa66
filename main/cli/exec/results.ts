/**
 * How results and events print (exec-protocol.md, "Results"): HRESULTs as 8 upper-case hex digits with their name,
 * addresses as lower-case `0x…` hex (or null), protections and states as Win32 names, sizes as numbers.
 */
import { hresultHex, hresultName } from '../../host/hresult';
import {
  MEMORY_AVAILABLE_NAMES,
  type AuditDrift,
  type FailureEvent,
  type HostQueryInfo,
  type HostResult,
  type HostStats,
  type MemoryAvailable,
} from '../../host/types';
import { formatProtect } from './names';

/** A result or event line before JSON.stringify. Key order is the order fields print in. */
export type OutputLine = Record<string, unknown>;

export function hexAddress(address: number): string {
  return `0x${address.toString(16)}`;
}

export function hexOrNull(address: number | null | undefined): string | null {
  return address === null || address === undefined ? null : hexAddress(address);
}

/** `line`, `id` (when the request had one), `op`, `hr`, `hrName`, and `reason` when the call failed. */
export function resultHead(line: number, id: string | number | undefined, op: string, result: HostResult): OutputLine {
  const out: OutputLine = { line };
  if (id !== undefined) out.id = id;
  out.op = op;
  out.hr = hresultHex(result.hr);
  out.hrName = hresultName(result.hr);
  if (result.reason !== undefined) out.reason = result.reason;
  return out;
}

/**
 * VirtualQuery's `info`. `protect`/`allocationProtect` print as names (`"0"` when zero: reserved and free pages);
 * `type` is `"0"` for free pages, as MEMORY_BASIC_INFORMATION.Type is 0 there. `level` and `tag` only where owned.
 */
export function formatInfo(info: HostQueryInfo): OutputLine {
  const out: OutputLine = {
    baseAddress: hexAddress(info.baseAddress),
    allocationBase: hexAddress(info.allocationBase),
    allocationProtect: formatProtect(info.allocationProtect),
    regionSize: info.regionSize,
    state: info.state,
    protect: formatProtect(info.protect),
    type: info.type ?? '0',
    owned: info.owned,
  };
  if (info.level !== undefined) out.level = info.level;
  if (info.tag !== undefined) out.tag = info.tag;
  return out;
}

export function formatStats(stats: HostStats): OutputLine {
  return {
    reserved: stats.reserved,
    committed: stats.committed,
    external: stats.external,
    heap: stats.heap,
    regions: stats.regions,
    state: stats.state,
    failures: {
      eTaskCritical: stats.failures.eTaskCritical,
      eAppDomainCritical: stats.failures.eAppDomainCritical,
      eProcessCritical: stats.failures.eProcessCritical,
      other: stats.failures.other,
    },
  };
}

export function formatDrift(drift: AuditDrift): OutputLine {
  return {
    base: hexAddress(drift.base),
    address: hexAddress(drift.address),
    size: drift.size,
    books: drift.books,
    os: drift.os,
  };
}

/** `{"event":"notification",…}`; `line` is the request being run when it happened (absent between requests). */
export function notificationLine(line: number | undefined, time: number, memoryAvailable: MemoryAvailable): OutputLine {
  const out: OutputLine = { event: 'notification' };
  if (line !== undefined) out.line = line;
  out.memoryAvailable = MEMORY_AVAILABLE_NAMES[memoryAvailable] ?? String(memoryAvailable);
  out.time = time;
  return out;
}

/** `{"event":"failure",…}`: the failure event as the host recorded it. */
export function failureLine(line: number | undefined, failure: FailureEvent): OutputLine {
  const out: OutputLine = { event: 'failure' };
  if (line !== undefined) out.line = line;
  out.seq = failure.seq;
  out.time = failure.time;
  out.method = failure.method;
  out.size = failure.size;
  out.address = hexOrNull(failure.address);
  out.flags = failure.flags;
  out.level = failure.level;
  out.hr = hresultHex(failure.hr);
  out.hrName = hresultName(failure.hr);
  out.reason = failure.reason;
  if (failure.tag !== undefined) out.tag = failure.tag;
  return out;
}
