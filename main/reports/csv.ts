/**
 * The CSV report: three RFC 4180 files written with csv-stringify — `NAME.csv` the live allocations,
 * `NAME.failures.csv` every failure event, `NAME.samples.csv` the sample series (a section left out of the model has
 * no file). Locale-independent: plain numbers
 * (bytes, ms), ISO 8601 UTC times next to ms since the epoch, hex addresses and flags, identifiers not words.
 * Rows are handed to the file a batch at a time, so memory stays flat. Text cells that a spreadsheet would take for
 * a formula (=, +, -, @) are escaped with a leading quote.
 *
 * Speed: csv-stringify costs about 4 µs a row, 2 s for half a million failure events. Most rows hold only numbers and
 * identifiers that need no quoting or escaping, and for those the library's output is the cells joined by commas;
 * such rows are joined here, and every row with a cell that needs any care goes through csv-stringify (the test
 * `csvLine writes what csv-stringify writes` keeps the two identical).
 */
import { stringify } from 'csv-stringify/sync';
import { hex } from './json';
import {
  omittedSections,
  type ReportAllocation,
  type ReportFailure,
  type ReportModel,
  type ReportSample,
  type ReportSection,
} from './model';
import type { ReportSink } from './write';

export const ALLOCATION_COLUMNS = [
  'base',
  'size',
  'committed',
  'level',
  'tag',
  'protect',
  'allocation_protect',
  'created',
  'created_ms',
  'runs',
] as const;

export const FAILURE_COLUMNS = [
  'seq',
  'time',
  'time_ms',
  'level',
  'method',
  'size',
  'address',
  'flags',
  'hr',
  'hr_name',
  'reason',
  'tag',
] as const;

export const SAMPLE_COLUMNS = [
  'time',
  'time_ms',
  'reserved',
  'committed',
  'external',
  'heap',
  'regions',
  'commit_limit',
  'failures_task',
  'failures_appdomain',
  'failures_process',
  'failures_other',
] as const;

export type Cell = string | number | null;

/** ISO 8601 UTC with ms; the part up to the second is cached (events come in time order). */
let isoSecond = Number.NaN;
let isoPrefix = '';
export function iso(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (!Number.isInteger(ms) || ms < 0) return new Date(ms).toISOString();
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  return `${isoPrefix}${String(ms - second * 1000).padStart(3, '0')}Z`;
}
const protectCell = (p: number | 'mixed'): string => (p === 'mixed' ? 'mixed' : hex(p));

export const allocationRow = (a: ReportAllocation): Cell[] => [
  hex(a.base),
  a.size,
  a.committed,
  a.level,
  a.tag,
  protectCell(a.protect),
  hex(a.allocationProtect),
  iso(a.created),
  a.created,
  a.runs,
];

export const failureRow = (f: ReportFailure): Cell[] => [
  f.seq,
  iso(f.time),
  f.time,
  f.level,
  f.method,
  f.size,
  f.address,
  hex(f.flags),
  f.hrHex,
  f.hrName,
  f.reason,
  f.tag,
];

export const sampleRow = (s: ReportSample): Cell[] => [
  iso(s.t),
  s.t,
  s.reserved,
  s.committed,
  s.external,
  s.heap,
  s.regions,
  s.commitLimit,
  s.failures.eTaskCritical,
  s.failures.eAppDomainCritical,
  s.failures.eProcessCritical,
  s.failures.other,
];

export const CSV_OPTIONS = { eof: true, record_delimiter: 'windows', escape_formulas: true } as const;

/** Text that csv-stringify writes as it is: no delimiter, quote or line break, no formula-like start. */
const NEEDS_CARE = /[,"\r\n]|^[-=+@\t]/;
const plain = new Map<string, boolean>();

function isPlain(text: string): boolean {
  let ok = plain.get(text);
  if (ok === undefined) {
    ok = !NEEDS_CARE.test(text);
    if (plain.size < 10_000) plain.set(text, ok);
  }
  return ok;
}

/**
 * One row's CSV text (with its CRLF), exactly as csv-stringify with CSV_OPTIONS writes it. `free[i]` says that
 * column i holds text from outside (a tag, an address reference) rather than text made here (ISO times, hex,
 * identifiers), which is plain by construction.
 */
export function csvLine(row: readonly Cell[], free?: readonly boolean[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    let cell: string;
    if (v === null || v === '') cell = '';
    else if (typeof v === 'number') cell = String(v);
    else if ((free !== undefined && !free[i]) || isPlain(v)) cell = v;
    else return stringify([[...row]], CSV_OPTIONS);
    line += i === 0 ? cell : `,${cell}`;
  }
  return `${line}\r\n`;
}

async function writeCsv<T>(
  sink: ReportSink,
  columns: readonly string[],
  freeColumns: readonly string[],
  items: Iterable<T>,
  row: (item: T) => Cell[],
): Promise<void> {
  sink.write(stringify([[...columns]], CSV_OPTIONS));
  const free = columns.map((c) => freeColumns.includes(c));
  // A row at a time: nothing lives long enough to survive a young-generation GC.
  for (const item of items) {
    sink.write(csvLine(row(item), free));
    if (sink.full) await sink.flush();
  }
}

/** The sibling names for a target `NAME.csv`: [allocations, failures, samples]. */
export function csvPaths(path: string): [string, string, string] {
  const stem = path.replace(/\.csv$/i, '');
  return [path, `${stem}.failures.csv`, `${stem}.samples.csv`];
}

/** The section each file of `csvPaths` holds, in the same order. */
export const CSV_SECTIONS: readonly [ReportSection, ReportSection, ReportSection] = [
  'allocations',
  'failures',
  'samples',
];

/**
 * The files a CSV report writes for target `NAME.csv`: one per section not left out (a left-out section has no file,
 * so an empty file always means "none"), in `csvPaths` order.
 */
export function csvFiles(path: string, omitted: readonly ReportSection[] = []): string[] {
  return csvPaths(path).filter((_, i) => !omitted.includes(CSV_SECTIONS[i]!));
}

/** Write the CSV files: `sinks` are one per section not left out, in the order of `csvFiles`. */
export async function writeCsvReport(model: ReportModel, sinks: readonly ReportSink[]): Promise<void> {
  const omitted = omittedSections(model);
  const sections = CSV_SECTIONS.filter((section) => !omitted.includes(section));
  if (sinks.length !== sections.length)
    throw new Error(`writeCsvReport: ${sinks.length} sinks for ${sections.length} sections`);
  for (const [i, section] of sections.entries()) {
    const sink = sinks[i]!;
    switch (section) {
      case 'allocations':
        await writeCsv(sink, ALLOCATION_COLUMNS, ['tag'], model.allocations, allocationRow);
        break;
      case 'failures':
        await writeCsv(
          sink,
          FAILURE_COLUMNS,
          ['method', 'address', 'hr_name', 'reason', 'tag'],
          model.failures.events(),
          failureRow,
        );
        break;
      case 'samples':
        await writeCsv(sink, SAMPLE_COLUMNS, [], model.samples, sampleRow);
        break;
    }
  }
}
