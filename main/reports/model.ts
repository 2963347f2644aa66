/**
 * The report model: one description of what a host did, from which every format (HTML, CSV, JSON, PDF) is written.
 *
 * It is built either from a live host (its region list and stats now, the sampler's samples, and the failure events
 * a `ReportCollector` gathered by subscribing) or from a recorded session file: the header gives host, OS, backend
 * and starting policy; `call` lines give the calls, the failures (every call whose HRESULT is not S_OK, with the
 * level of its request) and policy changes; `sample` lines give the series; the last `snapshot` line gives the live
 * allocations and the totals at the end.
 *
 * Memory: allocations are one small object per live region; failure events are kept in columns (typed arrays, about
 * 50 bytes an event), never as one object each, so a million of them stay small; writers iterate them one by one.
 */
import { createReadStream } from 'node:fs';
import { hostname as osHostname, release as osRelease } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import {
  BACKENDS,
  DEFAULT_POLICY,
  FAILURE_GROUPS,
  hresultHex,
  hresultName,
  LEVELS,
  type Backend,
  type FailureCounts,
  type FailureGroup,
  type Host,
  type HostEvent,
  type HostPolicy,
  type HostState,
  type LevelName,
} from '../host';
import type { MemoryAvailableName, RegionRow, Sample } from '../telemetry/messages';
import {
  SESSION_FORMAT,
  SessionFormatError,
  type CallLine,
  type DataLine,
  type SessionHeader,
  type SessionLine,
} from '../telemetry/session';
import type { Snapshot, SnapshotRegion } from '../telemetry/snapshot';
import { REPORT_SECTIONS, type Language, type ReportSection } from '../vocabulary';

export const REPORT_SCHEMA = 'hostmem.report/1';

export interface ReportTotals {
  readonly reserved: number;
  readonly committed: number;
  readonly external: number;
  readonly heap: number;
  readonly regions: number;
}

export interface ReportSample extends ReportTotals {
  /** ms since the epoch. */
  readonly t: number;
  readonly commitLimit: number | null;
  /** Failures in the interval that ends at `t`, by level. */
  readonly failures: FailureCounts;
}

/** One live allocation: the same row the dashboard shows. */
export type ReportAllocation = RegionRow;

/** Reserved and committed bytes per tag (SQL Server's "memory clerks"). */
export interface ReportClerk {
  readonly tag: string | null;
  readonly regions: number;
  readonly reserved: number;
  readonly committed: number;
}

export interface ReportFailure {
  /** 1-based order of the call among the recorded calls (session), or the host's event sequence (live). */
  readonly seq: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly method: string;
  /** Bytes asked for (0 when the call has no size). */
  readonly size: number;
  /** Hex address, or a session reference such as "r12+0x3000"; null when the call had none. */
  readonly address: string | null;
  /** The call's flag word (allocation type, free type, protection). */
  readonly flags: number;
  readonly level: FailureGroup;
  /** Unsigned HRESULT. */
  readonly hr: number;
  /** `0x8007000E`. */
  readonly hrHex: string;
  readonly hrName: string;
  readonly reason: string;
  readonly tag: string | null;
}

export interface FailureGroupSummary {
  readonly level: FailureGroup;
  readonly count: number;
  /** Bytes asked for by the refused calls. */
  readonly bytes: number;
  /** Count by reason, reasons in first-seen order. */
  readonly reasons: Readonly<Record<string, number>>;
  readonly first: number | null;
  readonly last: number | null;
}

export interface ReportPolicy {
  readonly commitLimit: number | null;
  readonly reserveLimit: number | null;
  readonly thresholds: Readonly<Record<LevelName, number>>;
  readonly processCriticalWaitMs: number;
  readonly faults: readonly Readonly<Record<string, unknown>>[];
  readonly seed: number;
}

export interface ReportHostInfo {
  readonly hostname: string | null;
  readonly platform: string | null;
  readonly release: string | null;
  readonly arch: string | null;
  readonly backend: Backend;
  readonly pageSize: number;
  readonly allocationGranularity: number | null;
  readonly hostmem: string | null;
  readonly state: HostState | null;
  readonly memoryAvailable: MemoryAvailableName | null;
}

/** The sections a report may leave out (`selectSections`); summary, clerks, policy and host are always whole. */
export { REPORT_SECTIONS, type ReportSection };

export interface ReportSource {
  readonly kind: 'live' | 'session';
  /** The session file, as given. */
  readonly session: string | null;
  /** What produced the data, e.g. `hostmem run --scenario pressure`. */
  readonly command: string | null;
  /** The session's last line was torn and left out. */
  readonly torn: boolean;
  /** The recording stopped at its size cap. */
  readonly capped: boolean;
  /**
   * Sections left out when the report was made (in REPORT_SECTIONS order): their lists are empty although the
   * summary counts what they held. Absent or empty: nothing was left out.
   */
  readonly omitted?: readonly ReportSection[];
}

export interface ReportSummary {
  /** ms since the epoch; null when nothing says. */
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly calls: number;
  readonly current: ReportTotals;
  readonly peak: ReportTotals;
  readonly failures: {
    readonly total: number;
    readonly byLevel: FailureCounts;
    readonly byReason: Readonly<Record<string, number>>;
  };
}

export interface ReportModel {
  readonly schema: typeof REPORT_SCHEMA;
  /** ms since the epoch. */
  readonly generatedAt: number;
  /** The language of the HTML and PDF text. */
  readonly language: Language;
  readonly source: ReportSource;
  readonly host: ReportHostInfo;
  readonly policy: ReportPolicy;
  readonly summary: ReportSummary;
  /** Largest committed first, then reserved, then tag. */
  readonly clerks: readonly ReportClerk[];
  /** Failures grouped by level, always the four groups in level order. */
  readonly failureGroups: readonly FailureGroupSummary[];
  readonly samples: readonly ReportSample[];
  readonly failures: FailureLog;
  /** Live allocations in address order. */
  readonly allocations: readonly ReportAllocation[];
}

// ---------------------------------------------------------------------------------------------- sections

/** The sections `model` left out, in REPORT_SECTIONS order (none for a model that never went through selectSections). */
export function omittedSections(model: Pick<ReportModel, 'source'>): readonly ReportSection[] {
  return model.source.omitted ?? [];
}

export function isOmitted(model: Pick<ReportModel, 'source'>, section: ReportSection): boolean {
  return omittedSections(model).includes(section);
}

/**
 * The same report with only the sections in `include`: a section left out has an empty list (`allocations`; the
 * failure events and `failureGroups` for `failures`; `samples`) and is named in `source.omitted`, so a reader tells
 * "none" from "left out". The summary (totals, peaks, failure counts by level and reason), the clerks, the policy and
 * the host stay whole: the report still agrees with the host's Stats. A section already left out stays out.
 */
export function selectSections(model: ReportModel, include: readonly ReportSection[]): ReportModel {
  const before = omittedSections(model);
  const omitted = REPORT_SECTIONS.filter((s) => before.includes(s) || !include.includes(s));
  const out = (s: ReportSection): boolean => omitted.includes(s);
  return {
    ...model,
    source: { ...model.source, omitted },
    failureGroups: out('failures') ? [] : model.failureGroups,
    samples: out('samples') ? [] : model.samples,
    failures: out('failures') ? new FailureLog() : model.failures,
    allocations: out('allocations') ? [] : model.allocations,
  };
}

// ---------------------------------------------------------------------------------------------- failure log

const GROUP_INDEX: Readonly<Record<FailureGroup, number>> = {
  eTaskCritical: 0,
  eAppDomainCritical: 1,
  eProcessCritical: 2,
  other: 3,
};

/** Failure events in columns: appended in time order, read back one object at a time. */
export class FailureLog {
  private n = 0;
  private cap = 0;
  private seqs = new Float64Array(0);
  private times = new Float64Array(0);
  private sizes = new Float64Array(0);
  private flagWords = new Uint32Array(0);
  private hrs = new Uint32Array(0);
  private levels = new Uint8Array(0);
  private methodIds = new Uint16Array(0);
  private reasonIds = new Uint16Array(0);
  private tagIds = new Int32Array(0);
  private addresses: Array<string | null> = [];
  private readonly strings: string[] = [];
  private readonly hrText = new Map<number, readonly [string, string]>();
  private readonly stringIds = new Map<string, number>();
  private readonly counts: [number, number, number, number] = [0, 0, 0, 0];
  private readonly bytes: [number, number, number, number] = [0, 0, 0, 0];
  private readonly reasonsByGroup: Array<Map<string, number>> = [new Map(), new Map(), new Map(), new Map()];
  private readonly firstByGroup: Array<number | null> = [null, null, null, null];
  private readonly lastByGroup: Array<number | null> = [null, null, null, null];

  get length(): number {
    return this.n;
  }

  private intern(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
    }
    return id;
  }

  private grow(): void {
    const cap = Math.max(1024, this.cap * 2);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.seqs = f64(this.seqs);
    this.times = f64(this.times);
    this.sizes = f64(this.sizes);
    const u32 = (a: Uint32Array) => {
      const b = new Uint32Array(cap);
      b.set(a);
      return b;
    };
    this.flagWords = u32(this.flagWords);
    this.hrs = u32(this.hrs);
    const levels = new Uint8Array(cap);
    levels.set(this.levels);
    this.levels = levels;
    const u16 = (a: Uint16Array) => {
      const b = new Uint16Array(cap);
      b.set(a);
      return b;
    };
    this.methodIds = u16(this.methodIds);
    this.reasonIds = u16(this.reasonIds);
    const tags = new Int32Array(cap);
    tags.set(this.tagIds);
    this.tagIds = tags;
    this.cap = cap;
  }

  push(f: ReportFailure): void {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    const g = GROUP_INDEX[f.level];
    this.seqs[i] = f.seq;
    this.times[i] = f.time;
    this.sizes[i] = f.size;
    this.flagWords[i] = f.flags >>> 0;
    this.hrs[i] = f.hr >>> 0;
    this.levels[i] = g;
    this.methodIds[i] = this.intern(f.method);
    this.reasonIds[i] = this.intern(f.reason);
    // Tags are few (names of clerks); an unusual flood of distinct tags still works, as interned strings.
    this.tagIds[i] = f.tag === null ? -1 : this.intern(f.tag);
    this.addresses.push(f.address);
    this.counts[g]++;
    this.bytes[g] += f.size;
    const reasons = this.reasonsByGroup[g]!;
    reasons.set(f.reason, (reasons.get(f.reason) ?? 0) + 1);
    this.firstByGroup[g] ??= f.time;
    this.lastByGroup[g] = f.time;
  }

  at(i: number): ReportFailure {
    const hr = this.hrs[i]!;
    const tag = this.tagIds[i]!;
    let text = this.hrText.get(hr);
    if (text === undefined) this.hrText.set(hr, (text = [hresultHex(hr), hresultName(hr)]));
    return {
      seq: this.seqs[i]!,
      time: this.times[i]!,
      method: this.strings[this.methodIds[i]!]!,
      size: this.sizes[i]!,
      address: this.addresses[i] ?? null,
      flags: this.flagWords[i]!,
      level: FAILURE_GROUPS[this.levels[i]!]!,
      hr,
      hrHex: text[0],
      hrName: text[1],
      reason: this.strings[this.reasonIds[i]!]!,
      tag: tag < 0 ? null : this.strings[tag]!,
    };
  }

  /** Every event in order, or only those of one level. */
  *events(level?: FailureGroup): Generator<ReportFailure> {
    const g = level === undefined ? -1 : GROUP_INDEX[level];
    for (let i = 0; i < this.n; i++) if (g < 0 || this.levels[i] === g) yield this.at(i);
  }

  /** Time and level of every event, without building objects (the chart's markers). */
  forEachMark(fn: (time: number, level: FailureGroup) => void): void {
    for (let i = 0; i < this.n; i++) fn(this.times[i]!, FAILURE_GROUPS[this.levels[i]!]!);
  }

  countsByLevel(): FailureCounts {
    const [a, b, c, d] = this.counts;
    return { eTaskCritical: a, eAppDomainCritical: b, eProcessCritical: c, other: d };
  }

  byReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.reasonsByGroup) for (const [r, n] of m) out[r] = (out[r] ?? 0) + n;
    return out;
  }

  groups(): FailureGroupSummary[] {
    return FAILURE_GROUPS.map((level, g) => ({
      level,
      count: this.counts[g]!,
      bytes: this.bytes[g]!,
      reasons: Object.fromEntries(this.reasonsByGroup[g]!),
      first: this.firstByGroup[g]!,
      last: this.lastByGroup[g]!,
    }));
  }
}

// ---------------------------------------------------------------------------------------------- shared helpers

function protectOf(runs: readonly { readonly protect: number }[]): number | 'mixed' {
  if (runs.length === 0) return 0;
  const p = runs[0]!.protect;
  for (let i = 1; i < runs.length; i++) if (runs[i]!.protect !== p) return 'mixed';
  return p;
}

function snapshotAllocation(r: SnapshotRegion): ReportAllocation {
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

function liveAllocation(r: ReturnType<Host['regionList']>[number]): ReportAllocation {
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

export function clerksOf(allocations: readonly ReportAllocation[]): ReportClerk[] {
  const by = new Map<string | null, { regions: number; reserved: number; committed: number }>();
  for (const a of allocations) {
    let c = by.get(a.tag);
    if (!c) by.set(a.tag, (c = { regions: 0, reserved: 0, committed: 0 }));
    c.regions++;
    c.reserved += a.size;
    c.committed += a.committed;
  }
  return [...by]
    .map(([tag, c]) => ({ tag, ...c }))
    .sort(
      (p, q) =>
        q.committed - p.committed ||
        q.reserved - p.reserved ||
        (p.tag ?? '').localeCompare(q.tag ?? '') ||
        (p.tag === null ? -1 : 1),
    );
}

const maxTotals = (a: ReportTotals, b: ReportTotals): ReportTotals => ({
  reserved: Math.max(a.reserved, b.reserved),
  committed: Math.max(a.committed, b.committed),
  external: Math.max(a.external, b.external),
  heap: Math.max(a.heap, b.heap),
  regions: Math.max(a.regions, b.regions),
});

const ZERO: ReportTotals = { reserved: 0, committed: 0, external: 0, heap: 0, regions: 0 };

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

// ---------------------------------------------------------------------------------------------- live host

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
      const f = e.failure;
      failures.push({
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
      });
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
    source: { kind: 'live', session: null, command: input.command ?? null, torn: false, capped: false },
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

// ---------------------------------------------------------------------------------------------- recorded session

export interface SessionReportOptions {
  readonly language: Language;
  readonly now?: () => number;
}

const isLevel = (v: unknown): v is 0 | 1 | 2 => v === 0 || v === 1 || v === 2;
const S_OK_HEX = hresultHex(0);

function sampleOfLine(line: Record<string, unknown>): ReportSample | undefined {
  const f = (typeof line.failures === 'object' && line.failures !== null ? line.failures : {}) as Record<
    string,
    unknown
  >;
  const reserved = num(line.reserved);
  const committed = num(line.committed);
  if (reserved === null || committed === null) return undefined;
  return {
    t: line.t as number,
    reserved,
    committed,
    external: num(line.external) ?? 0,
    heap: num(line.heap) ?? 0,
    regions: num(line.regions) ?? 0,
    commitLimit: num(line.commitLimit),
    failures: {
      eTaskCritical: num(f.eTaskCritical) ?? 0,
      eAppDomainCritical: num(f.eAppDomainCritical) ?? 0,
      eProcessCritical: num(f.eProcessCritical) ?? 0,
      other: num(f.other) ?? 0,
    },
  };
}

/** The failure a recorded call stands for, or undefined when it succeeded. */
function failureOfCall(call: CallLine, seq: number): ReportFailure | undefined {
  const r = call.result;
  if (r.hr === S_OK_HEX) return undefined;
  const q = call.request;
  const hr = Number.parseInt(String(r.hr), 16);
  const level = q.level;
  const usesLevel = q.op === 'VirtualAlloc' || q.op === 'Alloc' || q.op === 'DebugAlloc';
  const address = q.address;
  return {
    seq,
    time: call.t,
    method: q.op,
    size: num(q.size) ?? 0,
    address: typeof address === 'string' ? address : typeof address === 'number' ? `0x${address.toString(16)}` : null,
    flags: num(q.type) ?? num(q.protect) ?? 0,
    level: usesLevel && isLevel(level) ? LEVELS[level] : 'other',
    hr: Number.isFinite(hr) ? hr >>> 0 : 0,
    hrHex: String(r.hr),
    hrName: String(r.hrName),
    reason: typeof r.reason === 'string' ? r.reason : 'unknown',
    tag: typeof q.tag === 'string' ? q.tag : null,
  };
}

/**
 * Call `onLine` for each line of a file (without its line break), streaming: lines are cut from 1 MiB chunks, so a
 * file of any size needs only its longest line in memory.
 */
async function forEachLine(path: string, onLine: (text: string, n: number) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  const pending: string[] = [];
  let n = 0;
  const emit = (text: string): void => {
    n++;
    onLine(text.endsWith('\r') ? text.slice(0, -1) : text, n);
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const text = decoder.write(chunk as Buffer);
    let start = 0;
    let i: number;
    while ((i = text.indexOf('\n', start)) >= 0) {
      if (pending.length > 0) {
        pending.push(text.slice(start, i));
        emit(pending.join(''));
        pending.length = 0;
      } else emit(text.slice(start, i));
      start = i + 1;
    }
    if (start < text.length) pending.push(text.slice(start));
  }
  const rest = pending.join('') + decoder.end();
  if (rest !== '') emit(rest);
}

const CALL_PREFIX = '{"type":"call","t":';
const OK_RESULT = ',"result":{"hr":"0x00000000"';

function headerOf(path: string, value: unknown): SessionHeader {
  const h = value as Partial<Record<keyof SessionHeader, unknown>> | null;
  const problem =
    typeof h !== 'object' || h === null || Array.isArray(h)
      ? 'not an object'
      : h.format !== SESSION_FORMAT
        ? `format is ${JSON.stringify(h.format)}`
        : typeof h.createdAt !== 'string'
          ? 'no createdAt'
          : !(BACKENDS as readonly unknown[]).includes(h.backend)
            ? 'no backend'
            : typeof h.pageSize !== 'number'
              ? 'no pageSize'
              : typeof h.policy !== 'object' || h.policy === null
                ? 'no policy'
                : undefined;
  if (problem !== undefined) throw new SessionFormatError(`${path}:1: not a ${SESSION_FORMAT} header (${problem})`);
  return h as SessionHeader;
}

/**
 * Read a session for a report, in one streaming pass, with the same rules as `readSessionLines` (a header first;
 * each line an object with "type" and "t"; only the last line may be torn) but faster on large files: the line of a
 * successful call, recognised by the recorder's own prefix and result, is counted without being parsed — a report
 * needs only its time (and the policy, for SetPolicy, which is parsed).
 */
async function readSessionForReport(
  path: string,
  on: {
    header(h: SessionHeader): void;
    okCall(t: number): void;
    line(l: SessionLine): void;
    torn(): void;
  },
): Promise<void> {
  let bad: { n: number; message: string } | undefined;
  let seen = 0;
  await forEachLine(path, (text, n) => {
    if (bad) throw new SessionFormatError(`${path}:${bad.n}: ${bad.message}`);
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) return;
    seen++;
    if (
      n > 1 &&
      text.startsWith(CALL_PREFIX) &&
      text.endsWith('}}') &&
      text.includes(OK_RESULT) &&
      !text.includes('{"op":"SetPolicy"')
    ) {
      const t = Number(text.slice(CALL_PREFIX.length, text.indexOf(',', CALL_PREFIX.length)));
      if (Number.isFinite(t)) {
        on.okCall(t);
        return;
      }
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      bad = { n, message: `not JSON (${e instanceof Error ? e.message : String(e)})` };
      return;
    }
    if (n === 1) {
      on.header(headerOf(path, value));
      return;
    }
    const l = value as Partial<DataLine> | null;
    if (typeof l !== 'object' || l === null || typeof l.type !== 'string' || typeof l.t !== 'number')
      throw new SessionFormatError(`${path}:${n}: not a session line (needs "type" and "t")`);
    on.line(value as SessionLine);
  });
  if (bad) {
    if (bad.n === 1) throw new SessionFormatError(`${path}:1: ${bad.message}`);
    on.torn();
  }
  if (seen === 0) throw new SessionFormatError(`${path}: empty file, not a session`);
}

/**
 * A report of a recorded session, read in one streaming pass. Throws SessionFormatError for a file that is not a
 * session (and the file system's error for one that cannot be read).
 */
export async function buildSessionReport(path: string, options: SessionReportOptions): Promise<ReportModel> {
  let header: SessionHeader | undefined;
  let torn = false;
  let capped = false;
  let calls = 0;
  let first: number | null = null;
  let last: number | null = null;
  let policy: Readonly<Record<string, unknown>> | undefined;
  let snapshot: (Snapshot & { readonly t: number }) | undefined;
  let lastSample: Record<string, unknown> | undefined;
  let peak = ZERO;
  const samples: ReportSample[] = [];
  const failures = new FailureLog();

  const onLine = (line: SessionLine): void => {
    first ??= line.t;
    last = line.t;
    switch (line.type) {
      case 'call': {
        const call = line as CallLine;
        calls++;
        if (call.request.op === 'SetPolicy' && call.result.hr === S_OK_HEX) {
          const { op: _op, id: _id, ...rest } = call.request;
          policy = rest;
        }
        const f = failureOfCall(call, calls);
        if (f) failures.push(f);
        break;
      }
      case 'sample': {
        const s = sampleOfLine(line);
        if (s) {
          samples.push(s);
          peak = maxTotals(peak, s);
          lastSample = line;
        }
        break;
      }
      case 'snapshot':
        if (Array.isArray(line.regions)) snapshot = line as unknown as Snapshot & { t: number };
        break;
      case 'note':
        if (line.note === 'capped') capped = true;
        break;
    }
  };
  await readSessionForReport(path, {
    header(h) {
      header = h;
      policy = h.policy;
    },
    okCall(t) {
      calls++;
      first ??= t;
      last = t;
    },
    line: onLine,
    torn() {
      torn = true;
    },
  });
  if (!header) throw new SessionFormatError(`${path}: no session header`);

  const allocations = (snapshot?.regions ?? []).map(snapshotAllocation);
  const fromSnapshot: ReportTotals | undefined = snapshot && {
    reserved: snapshot.reserved,
    committed: snapshot.committed,
    external: snapshot.external,
    heap: snapshot.heap,
    regions: snapshot.regions.length,
  };
  const lastSampleTotals = samples.at(-1);
  // The last snapshot describes the allocations; a later sample (none in files `hostmem run` writes) would be newer.
  const current: ReportTotals =
    fromSnapshot && (!lastSampleTotals || snapshot!.t >= lastSampleTotals.t)
      ? fromSnapshot
      : (lastSampleTotals ?? fromSnapshot ?? ZERO);
  peak = maxTotals(peak, current);
  const state = lastSample?.state;
  const memoryAvailable = lastSample?.memoryAvailable;
  const h = header as SessionHeader & { host?: { hostname?: unknown }; os?: Record<string, unknown> };
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const created = Date.parse(header.createdAt);
  return {
    schema: REPORT_SCHEMA,
    generatedAt: (options.now ?? Date.now)(),
    language: options.language,
    source: { kind: 'session', session: path, command: str(header.command), torn, capped },
    host: {
      hostname: str(h.host?.hostname),
      platform: str(h.os?.platform),
      release: str(h.os?.release),
      arch: str(h.os?.arch),
      backend: header.backend,
      pageSize: header.pageSize,
      allocationGranularity: null,
      hostmem: str(header.hostmem),
      state: state === 'available' || state === 'unavailable' ? state : null,
      memoryAvailable:
        memoryAvailable === 'Low' || memoryAvailable === 'Neutral' || memoryAvailable === 'High'
          ? memoryAvailable
          : null,
    },
    policy: policyFromExec(policy ?? {}),
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
  };
}
