/**
 * The report of a live host as it is now: its region list and stats, the sampler's samples, and the failure events a
 * `ReportCollector` gathered by subscribing.
 */
import { hostname as osHostname, release as osRelease } from 'node:os';
import { hresultHex, hresultName, type FailureEvent, type Host, type HostEvent, type HostPolicy } from '../host';
import type { MemoryAvailableName, Sample } from '../telemetry/messages';
import type { Language } from '../vocabulary';
import { FailureLog } from './model-failures';
import {
  clerksOf,
  maxTotals,
  protectOf,
  REPORT_SCHEMA,
  type ReportAllocation,
  type ReportModel,
  type ReportPolicy,
  type ReportSample,
  type ReportTotals,
} from './model-types';

export function liveAllocation(r: ReturnType<Host['regionList']>[number]): ReportAllocation {
  return {
    base: r.base,
    size: r.size,
    committed: r.committed,
    level: r.level,
    tag: r.tag ?? null,
    protect: protectOf(r.runs),
    allocationProtect: r.allocationProtect,
    created: r.created,
    runs: r.runs.length,
  };
}

function reportSample(s: Sample): ReportSample {
  return {
    t: s.t,
    reserved: s.reserved,
    committed: s.committed,
    external: s.external,
    heap: s.heap,
    regions: s.regions,
    commitLimit: s.commitLimit,
    failures: { ...s.failures },
  };
}

function policyOf(p: HostPolicy): ReportPolicy {
  return {
    commitLimit: p.commitLimit,
    reserveLimit: p.reserveLimit,
    thresholds: { ...p.thresholds },
    processCriticalWaitMs: p.processCriticalWaitMs,
    faults: p.faults.map((f) => ({ ...f })),
    seed: p.seed,
  };
}

/** A host failure event as a report row (addresses in hex, the HRESULT named). */
export function reportFailureOf(f: FailureEvent): Parameters<FailureLog['push']>[0] {
  return {
    seq: f.seq,
    time: f.time,
    method: f.method,
    size: f.size,
    address: f.address === null ? null : `0x${f.address.toString(16)}`,
    flags: f.flags,
    level: f.level,
    hr: f.hr,
    hrHex: hresultHex(f.hr),
    hrName: hresultName(f.hr),
    reason: f.reason,
    tag: f.tag ?? null,
  };
}

/** Gathers what a live report needs that the host does not keep: failure events and the number of calls. */
export interface ReportCollector {
  readonly failures: FailureLog;
  readonly calls: number;
  /** When collecting started, ms since the epoch. */
  readonly startedAt: number;
  stop(): void;
}

/** Subscribe to `host` and keep every failure event (in columns) and a count of calls, until `stop()`. */
export function collectReportEvents(host: Pick<Host, 'subscribe'>, now: () => number = Date.now): ReportCollector {
  const failures = new FailureLog();
  let calls = 0;
  const unsubscribe = host.subscribe((e: HostEvent) => {
    if (e.kind === 'call') calls++;
    else if (e.kind === 'failure') {
      failures.push(reportFailureOf(e.failure));
    }
  });
  return {
    failures,
    get calls() {
      return calls;
    },
    startedAt: now(),
    stop: unsubscribe,
  };
}

export interface LiveReportInput {
  readonly host: Pick<
    Host,
    'regionList' | 'stats' | 'policy' | 'backend' | 'pageSize' | 'allocationGranularity' | 'memoryState'
  >;
  /** The sampler's samples, oldest first (e.g. `sampler.samples()`). */
  readonly samples: readonly Sample[];
  readonly collector: ReportCollector;
  readonly language: Language;
  readonly command?: string;
  readonly now?: () => number;
}

const AVAILABLE: Readonly<Record<number, MemoryAvailableName>> = { 1: 'Low', 2: 'Neutral', 3: 'High' };

/** A report of a live host as it is now. */
export function buildLiveReport(input: LiveReportInput): ReportModel {
  const { host, collector } = input;
  const now = (input.now ?? Date.now)();
  const s = host.stats();
  const allocations = host.regionList().map(liveAllocation);
  const samples = input.samples.map(reportSample);
  const current: ReportTotals = {
    reserved: s.reserved,
    committed: s.committed,
    external: s.external,
    heap: s.heap,
    regions: s.regions,
  };
  const peak = samples.reduce<ReportTotals>((p, x) => maxTotals(p, x), current);
  const failures = collector.failures;
  const byLevel = failures.countsByLevel();
  return {
    schema: REPORT_SCHEMA,
    generatedAt: now,
    language: input.language,
    source: {
      kind: 'live',
      session: null,
      command: input.command ?? null,
      torn: false,
      capped: false,
      damaged: 0,
      damage: [],
      allocationsFrom: 'host',
    },
    host: {
      hostname: osHostname(),
      platform: process.platform,
      release: osRelease(),
      arch: process.arch,
      backend: host.backend,
      pageSize: host.pageSize,
      allocationGranularity: host.allocationGranularity,
      hostmem: '0.1.0',
      state: s.state,
      memoryAvailable: AVAILABLE[host.memoryState()] ?? null,
    },
    policy: policyOf(host.policy()),
    summary: {
      startedAt: collector.startedAt,
      endedAt: now,
      calls: collector.calls,
      current,
      peak,
      failures: { total: failures.length, byLevel, byReason: failures.byReason() },
    },
    clerks: clerksOf(allocations),
    failureGroups: failures.groups(),
    samples,
    failures,
    allocations,
  };
}
