/**
 * The report of a recorded session, read with the one session reader (main/telemetry/session-reader.ts) and its
 * rule for damage: the header gives host, OS, backend and starting policy; `call` records give the calls, the
 * failures (every call whose HRESULT is not S_OK, with the level of its request) and policy changes; `sample` records
 * give the series. The live allocations and the totals at the end come from the session's last snapshot when no call
 * follows it (the end snapshot `hostmem run` writes), and are otherwise rebuilt from the calls (model-rebuild.ts), in
 * a second pass over the file — a recording killed before its end snapshot still reports what was live. The report
 * says which (`source.allocationsFrom`), and carries the damage (`source.damaged`, `source.damage`).
 */
import { DEFAULT_POLICY, hresultHex, LEVELS, type LevelName } from '../host';
import type { SessionHeader } from '../telemetry/session';
import { SessionReader, type SessionIntegrity, type SessionReadOptions } from '../telemetry/session-reader';
import type { CallRecord, SampleRecord, SnapshotRecord } from '../telemetry/session-records';
import type { Language } from '../vocabulary';
import { FailureLog } from './model-failures';
import { RegionRebuilder } from './model-rebuild';
import { liveAllocation, reportFailureOf } from './model-live';
import { LaunchRebuilder } from '../telemetry/launch-records';
import { launchSection } from './model-launch';
import {
  clerksOf,
  maxTotals,
  protectOf,
  REPORT_SCHEMA,
  ZERO,
  type AllocationsSource,
  type ReportAllocation,
  type ReportFailure,
  type ReportModel,
  type ReportPolicy,
  type ReportSample,
  type ReportTotals,
} from './model-types';

export interface SessionReportOptions extends SessionReadOptions {
  readonly language: Language;
  readonly now?: () => number;
  /** Told what reading skipped (damage, a torn last line, unknown record kinds), before the model is returned. */
  readonly onRead?: (integrity: SessionIntegrity) => void;
}

type SnapshotRegionRecord = SnapshotRecord['regions'][number];

function snapshotAllocation(r: SnapshotRegionRecord): ReportAllocation {
  return {
    base: r.base,
    size: r.size,
    committed: r.committed,
    level: r.level,
    tag: r.tag,
    protect: protectOf(r.runs),
    allocationProtect: r.allocationProtect,
    created: r.created,
    runs: r.runs.length,
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A policy from its exec form (a session header or a SetPolicy request); missing fields take the defaults. */
export function policyFromExec(p: Readonly<Record<string, unknown>>): ReportPolicy {
  const t = (typeof p.thresholds === 'object' && p.thresholds !== null ? p.thresholds : {}) as Record<string, unknown>;
  const thresholds = Object.fromEntries(LEVELS.map((l) => [l, num(t[l]) ?? DEFAULT_POLICY.thresholds[l]])) as Record<
    LevelName,
    number
  >;
  const faults = Array.isArray(p.faults)
    ? p.faults.filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null).map((f) => ({ ...f }))
    : [];
  return {
    commitLimit: num(p.commitLimit),
    reserveLimit: num(p.reserveLimit),
    thresholds,
    processCriticalWaitMs: num(p.processCriticalWaitMs) ?? DEFAULT_POLICY.processCriticalWaitMs,
    faults,
    seed: num(p.seed) ?? DEFAULT_POLICY.seed,
  };
}

const S_OK_HEX = hresultHex(0);

function sampleOf(line: SampleRecord): ReportSample {
  return {
    t: line.t,
    reserved: line.reserved,
    committed: line.committed,
    external: line.external,
    heap: line.heap,
    regions: line.regions,
    commitLimit: line.commitLimit ?? null,
    failures: {
      eTaskCritical: line.failures.eTaskCritical,
      eAppDomainCritical: line.failures.eAppDomainCritical,
      eProcessCritical: line.failures.eProcessCritical,
      other: line.failures.other,
    },
  };
}

/** The failure a recorded call stands for, or undefined when it succeeded. */
function failureOfCall(call: CallRecord, seq: number): ReportFailure | undefined {
  const r = call.result;
  if (r.hr === S_OK_HEX) return undefined;
  const q = call.request;
  const level = q.level;
  const usesLevel = q.op === 'VirtualAlloc' || q.op === 'Alloc' || q.op === 'DebugAlloc';
  const address = q.address;
  return {
    seq,
    time: call.t,
    method: q.op,
    size: num(q.size) ?? 0,
    address: typeof address === 'string' ? address : null,
    flags: num(q.type) ?? num(q.protect) ?? 0,
    level:
      usesLevel && typeof level === 'number' && LEVELS[level] !== undefined ? (LEVELS[level] as LevelName) : 'other',
    hr: Number.parseInt(r.hr, 16) >>> 0,
    hrHex: r.hr,
    hrName: r.hrName,
    reason: r.reason ?? 'unknown',
    tag: typeof q.tag === 'string' ? q.tag : null,
  };
}

/** The live allocations and totals at the end, rebuilt from every call of the session (a second reading). */
async function rebuildFromCalls(
  path: string,
  pageSize: number,
  options: SessionReadOptions,
): Promise<{ allocations: ReportAllocation[]; totals: ReportTotals }> {
  const reader = new SessionReader(path, options);
  await reader.header();
  const books = new RegionRebuilder(pageSize);
  for await (const batch of reader.entries())
    for (const { record } of batch) if (record.type === 'call') books.apply(record);
  const allocations = books.allocations();
  return { allocations, totals: books.totals(allocations) };
}

/**
 * A report of a recorded session. Throws SessionFormatError for a file that is not a session (and the file system's
 * error for one that cannot be read); damaged lines are skipped and reported in `source`.
 */
export async function buildSessionReport(path: string, options: SessionReportOptions): Promise<ReportModel> {
  const readOptions: SessionReadOptions =
    options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes };
  const reader = new SessionReader(path, readOptions);
  const header: SessionHeader = await reader.header();
  let capped = false;
  let calls = 0;
  let first: number | null = null;
  let last: number | null = null;
  let policy: Readonly<Record<string, unknown>> = header.policy;
  let snapshot: SnapshotRecord | undefined;
  let callsAfterSnapshot = false;
  let lastSample: SampleRecord | undefined;
  let peak = ZERO;
  const samples: ReportSample[] = [];
  const failures = new FailureLog();
  // A launched program's records (`hostmem launch --record`): its books are rebuilt from its calls.
  const launch = new LaunchRebuilder();

  for await (const batch of reader.entriesOrOkCallTimes()) {
    for (const entry of batch) {
      if (typeof entry === 'number') {
        // A successful call other than SetPolicy: it counts, and gives its time; nothing else of it is needed here.
        calls++;
        callsAfterSnapshot = true;
        first ??= entry;
        last = entry;
        continue;
      }
      const record = entry.record;
      first ??= record.t;
      last = record.t;
      switch (record.type) {
        case 'call': {
          calls++;
          callsAfterSnapshot = true;
          if (record.result.hr !== S_OK_HEX) {
            failures.push(failureOfCall(record, calls)!);
          } else if (record.request.op === 'SetPolicy') {
            const { op: _op, id: _id, ...rest } = record.request;
            policy = rest;
          }
          break;
        }
        case 'sample': {
          const s = sampleOf(record);
          samples.push(s);
          peak = maxTotals(peak, s);
          lastSample = record;
          break;
        }
        case 'snapshot':
          snapshot = record;
          callsAfterSnapshot = false;
          break;
        case 'note':
          if (record.note === 'capped') capped = true;
          break;
        default:
          launch.accept(record);
      }
    }
  }
  const integrity: SessionIntegrity = reader.integrity;
  options.onRead?.(integrity);

  let allocations: ReportAllocation[];
  let current: ReportTotals;
  let allocationsFrom: AllocationsSource;
  const root = launch.root;
  const fromLaunch = root !== undefined && calls === 0;
  if (root !== undefined && calls === 0) {
    // The launched program: its live mappings and heap totals from its rebuilt books, its refusals and failures.
    allocationsFrom = 'calls';
    const books = root.books;
    allocations = books.regionList().map(liveAllocation);
    const s = books.stats();
    current = { reserved: s.reserved, committed: s.committed, external: 0, heap: s.heap, regions: s.regions };
    peak = maxTotals(peak, {
      ...ZERO,
      reserved: books.peaks.reserved,
      committed: books.peaks.committed,
      heap: books.peaks.heap,
    });
    // Every call the program made: those recorded one by one, and the heap calls the agent counted (sampling).
    calls = Object.values(books.calls).reduce((n, c) => n + c.calls, 0);
    for (const f of root.failures) failures.push(reportFailureOf(f));
    policy = root.start.policy;
  } else if (snapshot !== undefined && !callsAfterSnapshot) {
    allocationsFrom = 'snapshot';
    allocations = snapshot.regions.map(snapshotAllocation);
    current = {
      reserved: snapshot.reserved,
      committed: snapshot.committed,
      external: snapshot.external,
      heap: snapshot.heap,
      regions: snapshot.regions.length,
    };
  } else {
    allocationsFrom = 'calls';
    ({ allocations, totals: current } = await rebuildFromCalls(path, header.pageSize, readOptions));
  }
  peak = maxTotals(peak, current);
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const created = Date.parse(header.createdAt);
  return {
    schema: REPORT_SCHEMA,
    generatedAt: (options.now ?? Date.now)(),
    language: options.language,
    source: {
      kind: 'session',
      session: path,
      command: str(header.command),
      torn: integrity.torn,
      capped,
      damaged: integrity.damaged,
      damage: integrity.damage,
      allocationsFrom,
    },
    host: {
      hostname: str(header.host?.hostname),
      platform: str(header.os?.platform),
      release: str(header.os?.release),
      arch: str(header.os?.arch),
      backend: header.backend,
      pageSize: header.pageSize,
      allocationGranularity: null,
      hostmem: str(header.hostmem),
      state: lastSample?.state ?? null,
      memoryAvailable: lastSample?.memoryAvailable ?? null,
    },
    policy: policyFromExec(policy),
    summary: {
      startedAt: Number.isFinite(created) ? Math.min(created, first ?? created) : first,
      endedAt: last,
      calls,
      current,
      peak,
      failures: { total: failures.length, byLevel: failures.countsByLevel(), byReason: failures.byReason() },
    },
    clerks: clerksOf(allocations),
    failureGroups: failures.groups(),
    samples,
    failures,
    allocations,
    ...(fromLaunch && root !== undefined ? { launch: launchSection(root, launch.order) } : {}),
  };
}
