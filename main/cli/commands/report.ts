/**
 * `hostmem report SESSION --out FILE [--out FILE ...] [--lang en|fr|zh-CN] [--force]`: rebuild an allocation report
 * from a recorded session, in every format asked for (by extension: .html .csv .json .pdf). Also the helpers
 * `hostmem run --report` shares: argument checks and writing a model to several targets.
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  buildRecordedWatchReport,
  NoRecordedWatchError,
  buildSessionReport,
  sessionKinds,
  writeProcessReport,
  type ProcessReportModel,
  ChromiumMissingError,
  defaultPrinter,
  formatOf,
  outputPaths,
  ReportExistsError,
  writeReport,
  type ChromiumPrinter,
  type PrintHtml,
  type ReportModel,
} from '../../reports';
import { SessionFormatError } from '../../telemetry/session';
import { isLanguage, LANGUAGES, quote, type Language } from '../../vocabulary';
import type { SessionIntegrity } from '../../telemetry/session-reader';
import { usageFailure } from '../parse-values';
import type { CliIo } from './io';
import { inputFileProblem, outputFileProblem, outputIsInputProblem, reason } from './paths';
import { integrityNotes, maxLineOption, sessionSource, writeIntegrity } from './session-output';

export const REPORT_SUMMARY = 'write an allocation report (HTML, CSV, JSON, PDF) from a recorded session';

export const REPORT_USAGE = `Usage: hostmem report SESSION --out FILE [--out FILE ...] [--lang en|fr|zh-CN] [--force]
                      [--strict] [--max-line-length SIZE] [--pid PID]

Rebuilds an allocation report from a session recorded with 'hostmem run --record' (or by the app): summary
(peaks, totals at the end, failures by critical level and reason), the reserved vs committed chart with failure
markers, clerks (per tag), failures grouped by critical level, the live allocations at the end, policy and host.
The live allocations come from the session's end snapshot, or are rebuilt from its calls when it has none (a
recording that was killed); the report says which. A damaged line is skipped, counted and named as FILE:LINE on
standard error, and the report says so at its top (and in its source section).

The format follows each FILE's extension:
  .html   one self-contained page (opens offline, prints well)
  .csv    the allocations; the failures and samples go to NAME.failures.csv and NAME.samples.csv beside it
  .json   schema hostmem.report/1 (docs/report-schema.md)
  .pdf    the HTML printed by headless Chromium (/usr/bin/chromium-headless-shell, faster, or
          /usr/bin/chromium; or set HOSTMEM_CHROMIUM)

A session that holds a recorded watch of a process (process-walk records) gives a process report instead: the
summary by type and the address space by type, committed / reserved / resident over time, the largest regions and
the diff of the first and last walks (a CSV target writes the last walk's regions, NAME.types.csv and
NAME.samples.csv). --pid chooses the process when the session watched several, or when it also holds host calls.

Options:
  --out FILE     a report to write (repeatable)
  --lang LANG    language of the HTML and PDF text: en (default), fr, zh-CN; CSV and JSON do not change
  --force        replace files that exist (otherwise an existing file is an error and is kept)
  --strict       write nothing and exit 2 when any line of the session is damaged
  --max-line-length SIZE
                 longest line read (default 256MiB); a longer one is damage and is not held
  --pid PID      report the recorded watch of this process
  -h, --help     show this help

Each file is written to a temporary file and renamed: it is whole or absent.
Exit status: 0 when every report was written, 1 when writing one failed, 2 for a usage error, a SESSION that is
missing, a folder, unreadable or not a session, or (with --strict) a damaged line.
`;

export class ReportUsageError extends Error {}

/** Check report targets before any work: known extensions, no repeats, and nothing in the way unless `force`. */
export function checkReportTargets(targets: readonly string[], force: boolean, option: string): void {
  const seen = new Set<string>();
  for (const target of targets) {
    if (formatOf(target) === undefined)
      throw new ReportUsageError(
        `${option} ${quote(target)}: unknown report format (the extension must be .html, .csv, .json or .pdf)`,
      );
    for (const path of outputPaths(target)) {
      if (seen.has(path)) throw new ReportUsageError(`${option} ${quote(path)}: given twice`);
      seen.add(path);
      if (existsSync(path)) {
        if (statSync(path).isDirectory()) throw new ReportUsageError(`${option} ${path}: is a folder`);
        if (!force) throw new ReportUsageError(`${path} already exists (use --force to replace it)`);
      }
      const problem = outputFileProblem(path, 'report file');
      if (problem !== undefined) throw new ReportUsageError(`${option} ${problem}`);
    }
  }
}

/**
 * The PDF printer when a target needs one; throws ChromiumMissingError (clear message) when there is none. The caller
 * `warm()`s it before building the model (Chromium starts meanwhile) and `close()`s it at the end, on every path.
 */
export function printerFor(targets: readonly string[]): ChromiumPrinter | undefined {
  return targets.some((t) => formatOf(t) === 'pdf') ? defaultPrinter() : undefined;
}

/**
 * Write `model` to each target; returns false (after saying why on stderr) when one failed. A PDF is printed by
 * Chromium in its own process (warmed by the caller, so it is running already), so it is started first and the
 * other formats are written meanwhile.
 */
export async function writeReports(
  model: ReportModel,
  targets: readonly string[],
  options: { readonly force: boolean; readonly print: PrintHtml | undefined },
  io: CliIo,
  command: string,
): Promise<boolean> {
  let ok = true;
  const one = async (target: string): Promise<void> => {
    try {
      const started = Date.now();
      const written = await writeReport(model, target, {
        force: options.force,
        ...(options.print ? { print: options.print } : {}),
      });
      for (const path of written) {
        io.stdout.write(`wrote ${path} (${statSync(path).size} bytes, ${Date.now() - started} ms)\n`);
      }
    } catch (error) {
      ok = false;
      const message = error instanceof Error ? error.message : String(error);
      io.stderr.write(`${command}: ${error instanceof ReportExistsError ? message : `report ${target}: ${message}`}\n`);
    }
  };
  const pdfs = targets.filter((t) => formatOf(t) === 'pdf').map(one);
  for (const target of targets) if (formatOf(target) !== 'pdf') await one(target);
  await Promise.all(pdfs);
  return ok;
}

/** Write a process report to each target (PDFs meanwhile, as writeReports does); false when one failed. */
async function writeProcessReports(
  model: ProcessReportModel,
  targets: readonly string[],
  options: { readonly force: boolean; readonly print: PrintHtml | undefined },
  io: CliIo,
): Promise<boolean> {
  let ok = true;
  await Promise.all(
    targets.map(async (target) => {
      try {
        const started = Date.now();
        const written = await writeProcessReport(model, target, {
          force: options.force,
          ...(options.print ? { print: options.print } : {}),
        });
        for (const path of written) {
          io.stdout.write(`wrote ${path} (${statSync(path).size} bytes, ${Date.now() - started} ms)\n`);
        }
      } catch (error) {
        ok = false;
        const message = error instanceof Error ? error.message : String(error);
        io.stderr.write(
          `hostmem report: ${error instanceof ReportExistsError ? message : `report ${target}: ${message}`}\n`,
        );
      }
    }),
  );
  return ok;
}

export function parseLanguage(text: string | undefined): Language {
  if (text === undefined) return 'en';
  if (!isLanguage(text))
    throw new ReportUsageError(`--lang: expected one of ${LANGUAGES.join(', ')}, got ${quote(text)}`);
  return text;
}

export async function reportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let session: string;
  let outs: string[];
  let language: Language;
  let force: boolean;
  let strict: boolean;
  let maxLineBytes: number | undefined;
  let pid: number | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: {
        out: { type: 'string', short: 'o', multiple: true },
        lang: { type: 'string' },
        force: { type: 'boolean' },
        strict: { type: 'boolean' },
        'max-line-length': { type: 'string' },
        pid: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      io.stdout.write(REPORT_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new ReportUsageError('expected one SESSION file');
    session = positionals[0]!;
    outs = values.out ?? [];
    if (outs.length === 0) throw new ReportUsageError('give at least one --out FILE (.html, .csv, .json or .pdf)');
    language = parseLanguage(values.lang);
    force = values.force ?? false;
    strict = values.strict ?? false;
    maxLineBytes = maxLineOption(values['max-line-length']);
    if (values.pid !== undefined) {
      pid = Number(values.pid);
      if (!/^[0-9]+$/.test(values.pid) || !Number.isSafeInteger(pid) || pid < 1) {
        throw new ReportUsageError(`--pid: expected a process id, got ${quote(values.pid)}`);
      }
    }
    const same = outputIsInputProblem(
      outs.flatMap((out) => outputPaths(out).map((path) => ['--out', path] as const)),
      [['SESSION', session]],
    );
    if (same !== undefined) throw new ReportUsageError(same);
    checkReportTargets(outs, force, '--out');
  } catch (error) {
    return usageFailure(io, 'report', error);
  }
  const problem = inputFileProblem(session, 'session file', { pipes: true });
  if (problem !== undefined) {
    io.stderr.write(`hostmem report: ${problem}\n`);
    return 2;
  }
  let source: Awaited<ReturnType<typeof sessionSource>>;
  try {
    source = await sessionSource(session);
  } catch (error) {
    io.stderr.write(`hostmem report: ${session}: cannot read the session: ${reason(error)}\n`);
    return 1;
  }
  try {
    return await reportFrom(source.path, session, { outs, language, force, strict, maxLineBytes, pid }, io);
  } finally {
    source.dispose();
  }
}

interface ReportArgs {
  readonly outs: readonly string[];
  readonly language: Language;
  readonly force: boolean;
  readonly strict: boolean;
  readonly maxLineBytes: number | undefined;
  readonly pid: number | undefined;
}

/** The report of the session at `path`, which messages and the report call `session` (a pipe's name). */
async function reportFrom(path: string, session: string, args: ReportArgs, io: CliIo): Promise<number> {
  const { outs, language, force, strict, maxLineBytes, pid } = args;
  const named = (text: string): string => (path === session ? text : text.replaceAll(path, session));
  let print: ChromiumPrinter | undefined;
  try {
    print = printerFor(outs);
  } catch (error) {
    if (!(error instanceof ChromiumMissingError)) throw error;
    io.stderr.write(`hostmem report: ${error.message}\n`);
    return 1;
  }
  // Chromium takes seconds to start: it does so while the model is built.
  print?.warm();
  try {
    let model: ReportModel | ProcessReportModel;
    const read: { integrity?: SessionIntegrity } = {};
    const onRead = (integrity: SessionIntegrity): void => {
      read.integrity = integrity;
    };
    const limits = maxLineBytes === undefined ? {} : { maxLineBytes };
    try {
      const kinds = await sessionKinds(path, limits);
      model =
        pid !== undefined || (kinds.walks && !kinds.calls)
          ? await buildRecordedWatchReport(path, { language, onRead, ...limits, ...(pid !== undefined && { pid }) })
          : await buildSessionReport(path, { language, onRead, ...limits });
      if (path !== session) model = { ...model, source: { ...model.source, session } };
    } catch (error) {
      // What reading found (damage) explains a session with nothing left to report.
      if (read.integrity) writeIntegrity(io, 'hostmem report', session, read.integrity);
      const message = named(error instanceof Error ? error.message : String(error));
      const isNamed = error instanceof SessionFormatError || error instanceof NoRecordedWatchError;
      io.stderr.write(`hostmem report: ${isNamed ? message : `${session}: ${message}`}\n`);
      return 2;
    }
    const notes: string[] = [];
    if (read.integrity) {
      writeIntegrity(io, 'hostmem report', session, read.integrity);
      notes.push(...integrityNotes(read.integrity));
    }
    if (model.source.allocationsFrom === 'calls' && !('launch' in model && model.launch !== undefined))
      notes.push('no usable end snapshot: the live allocations were rebuilt from the recorded calls');
    if (notes.length > 0) io.stderr.write(`hostmem report: ${session}: ${notes.join('; ')}\n`);
    if (strict && model.source.damaged > 0) {
      io.stderr.write(`hostmem report: ${session}: damaged (--strict): no report written\n`);
      return 2;
    }
    if ('process' in model) return (await writeProcessReports(model, outs, { force, print }, io)) ? 0 : 1;
    return (await writeReports(model, outs, { force, print }, io, 'hostmem report')) ? 0 : 1;
  } finally {
    await print?.close();
  }
}
