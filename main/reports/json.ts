/**
 * The JSON report, schema `hostmem.report/1` (docs/report-schema.md, docs/report.schema.json): the model written
 * field by field, one array element at a time, so a million failure events never become one string. Locale-
 * independent: times are ms since the epoch, addresses and HRESULTs hex strings, sizes bytes.
 */
import {
  omittedSections,
  type ReportAllocation,
  type ReportFailure,
  type ReportModel,
  type ReportSample,
} from './model';
import type { ReportSink } from './write';

export const hex = (n: number): string => `0x${n.toString(16)}`;

export function allocationJson(a: ReportAllocation): Record<string, unknown> {
  return {
    base: hex(a.base),
    size: a.size,
    committed: a.committed,
    level: a.level,
    tag: a.tag,
    protect: a.protect === 'mixed' ? 'mixed' : a.protect,
    allocationProtect: a.allocationProtect,
    created: a.created,
    runs: a.runs,
  };
}

const quoted = new Map<string, string>();
/** JSON.stringify of a string, cached for the few distinct ones (methods, reasons, tags, HRESULT names). */
function q(s: string | null): string {
  if (s === null) return 'null';
  let text = quoted.get(s);
  if (text === undefined) {
    text = JSON.stringify(s);
    if (quoted.size < 10_000) quoted.set(s, text);
  }
  return text;
}

/** The JSON text of failureJson(f), assembled directly (half a million of them in a large report). */
export function failureJsonText(f: ReportFailure): string {
  return `{"seq":${f.seq},"time":${f.time},"level":${q(f.level)},"method":${q(f.method)},"size":${f.size},"address":${f.address === null ? 'null' : JSON.stringify(f.address)},"flags":${f.flags},"hr":${q(f.hrHex)},"hrName":${q(f.hrName)},"reason":${q(f.reason)},"tag":${q(f.tag)}}`;
}

export function failureJson(f: ReportFailure): Record<string, unknown> {
  return {
    seq: f.seq,
    time: f.time,
    level: f.level,
    method: f.method,
    size: f.size,
    address: f.address,
    flags: f.flags,
    hr: f.hrHex,
    hrName: f.hrName,
    reason: f.reason,
    tag: f.tag,
  };
}

export function sampleJson(s: ReportSample): Record<string, unknown> {
  return {
    t: s.t,
    reserved: s.reserved,
    committed: s.committed,
    external: s.external,
    heap: s.heap,
    regions: s.regions,
    commitLimit: s.commitLimit,
    failures: s.failures,
  };
}

/** Everything but the three long arrays, in output order. */
export function reportHeadJson(model: ReportModel): Record<string, unknown> {
  return {
    schema: model.schema,
    generatedAt: model.generatedAt,
    language: model.language,
    // `omitted` always written (older reports lack it: read absent as none).
    source: { ...model.source, omitted: omittedSections(model) },
    host: model.host,
    policy: model.policy,
    summary: model.summary,
    clerks: model.clerks,
    failureGroups: model.failureGroups,
    ...(model.launch ? { launch: model.launch } : {}),
  };
}

async function writeArray<T>(
  sink: ReportSink,
  name: string,
  items: Iterable<T>,
  toText: (item: T) => string,
  last: boolean,
): Promise<void> {
  sink.write(`  ${JSON.stringify(name)}: [`);
  let first = true;
  for (const item of items) {
    sink.write(first ? '\n    ' : ',\n    ');
    first = false;
    sink.write(toText(item));
    if (sink.full) await sink.flush();
  }
  sink.write(first ? ']' : '\n  ]');
  sink.write(last ? '\n' : ',\n');
}

export async function writeJsonReport(model: ReportModel, sink: ReportSink): Promise<void> {
  const head = JSON.stringify(reportHeadJson(model), null, 2);
  // The head without its closing brace, then the arrays.
  sink.write(head.slice(0, head.lastIndexOf('}')).trimEnd() + ',\n');
  await writeArray(sink, 'allocations', model.allocations, (a) => JSON.stringify(allocationJson(a)), false);
  await writeArray(sink, 'failures', model.failures.events(), failureJsonText, false);
  await writeArray(sink, 'samples', model.samples, (s) => JSON.stringify(sampleJson(s)), true);
  sink.write('}\n');
}
