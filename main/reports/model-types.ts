/**
 * The report model's types: one description of what a host did, from which every format (HTML, CSV, JSON, PDF) is
 * written (docs/report-schema.md is its JSON form), and the small pure helpers every builder shares.
 */
import type { FailureCounts, FailureGroup, HostState, LevelName } from '../host';
import type { MemoryAvailableName, RegionRow } from '../telemetry/messages';
import { REPORT_SECTIONS, type Backend, type Language, type ReportSection } from '../vocabulary';
import type { FailureLog } from './model-failures';

import type { LaunchSection } from './model-launch';

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

/** `walk`: a process report's regions, from the last walk of the watched process. */
export const ALLOCATIONS_SOURCES = ['host', 'snapshot', 'calls', 'walk'] as const;
export type AllocationsSource = (typeof ALLOCATIONS_SOURCES)[number];

/** A damaged line of the session a report was made from. */
export interface ReportDamage {
  readonly line: number;
  readonly message: string;
}

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
   * Damaged session lines, skipped by the one rule every session reader follows (main/telemetry/README.md, "Reading a
   * session"): how many, and the first of them (line and what is wrong). 0 and [] for a live report.
   */
  readonly damaged: number;
  readonly damage: readonly ReportDamage[];
  /**
   * Where `allocations` and `summary.current` come from: `host` (a live host), `snapshot` (the session's snapshot
   * taken at its end), or `calls` (rebuilt from the recorded calls, when the session has no end snapshot — a
   * recording that was killed — or its end snapshot is damaged).
   */
  readonly allocationsFrom: AllocationsSource;
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
  /** A launched program's report (`hostmem launch`): its command, exit, call sites and refusals with stacks. */
  readonly launch?: LaunchSection;
}

/** The sections `model` left out, in REPORT_SECTIONS order (none for a model that never went through selectSections). */
export function omittedSections(model: Pick<ReportModel, 'source'>): readonly ReportSection[] {
  return model.source.omitted ?? [];
}

export function isOmitted(model: Pick<ReportModel, 'source'>, section: ReportSection): boolean {
  return omittedSections(model).includes(section);
}

/** PAGE_* of the committed runs when they share one, 'mixed' when they differ, 0 when none. */
export function protectOf(runs: readonly { readonly protect: number }[]): number | 'mixed' {
  if (runs.length === 0) return 0;
  const p = runs[0]!.protect;
  for (let i = 1; i < runs.length; i++) if (runs[i]!.protect !== p) return 'mixed';
  return p;
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

export const maxTotals = (a: ReportTotals, b: ReportTotals): ReportTotals => ({
  reserved: Math.max(a.reserved, b.reserved),
  committed: Math.max(a.committed, b.committed),
  external: Math.max(a.external, b.external),
  heap: Math.max(a.heap, b.heap),
  regions: Math.max(a.regions, b.regions),
});

export const ZERO: ReportTotals = { reserved: 0, committed: 0, external: 0, heap: 0, regions: 0 };
