/**
 * The report model: one description of what a host did, from which every format (HTML, CSV, JSON, PDF) is written.
 * It is built from a live host (model-live.ts) or from a recorded session (model-session.ts, through the one session
 * reader, with the live regions rebuilt from the calls when the session has no end snapshot: model-rebuild.ts). Its
 * types are in model-types.ts; failure events are kept in columns (model-failures.ts).
 */
import { FailureLog } from './model-failures';
import { omittedSections, REPORT_SECTIONS, type ReportModel, type ReportSection } from './model-types';

export * from './model-types';
export { FailureLog } from './model-failures';
export { buildLiveReport, collectReportEvents, type LiveReportInput, type ReportCollector } from './model-live';
export { buildSessionReport, policyFromExec, type SessionReportOptions } from './model-session';
export { RegionRebuilder } from './model-rebuild';

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
