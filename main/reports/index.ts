/**
 * Allocation reports: build a model (from a live host or a recorded session), then write it as HTML, CSV, JSON or
 * PDF — the format chosen by the file's extension. Every file is whole or absent (temporary file, then rename), and
 * an existing one is replaced only with `force`.
 *
 *   const model = await buildSessionReport('p.session', { language: 'fr' });
 *   await writeReport(model, 'report.html');
 *   await writeReport(model, 'report.pdf', { print: myPrinter }); // the app passes Electron's printToPDF
 */
import { csvFiles, writeCsvReport } from './csv';
import { writeHtmlReport, type HtmlOptions } from './html';
import { writeJsonReport } from './json';
import { omittedSections, type ReportModel, type ReportSection } from './model';
import { REPORT_FORMATS, type ReportFormat } from '../vocabulary';
import { checkTargets, writeAtomically } from './write';
import { defaultPrinter, htmlToPdf, pdfHtml, PDF_HTML_OPTIONS, type PrintHtml } from './pdf';

export * from './model';
export * from './i18n';
export * from './process';
export { csvFiles, csvPaths } from './csv';
export { writeHtmlReport, type HtmlOptions } from './html';
export { writeJsonReport } from './json';
export {
  ChromiumMissingError,
  chromiumPrinter,
  defaultPrinter,
  findChromium,
  htmlToPdf,
  pdfHtml,
  PDF_HTML_OPTIONS,
  type ChromiumPrinter,
  type ChromiumPrinterOptions,
  type PrintHtml,
} from './pdf';
export { MemorySink, ReportExistsError, ReportWriteError, type ReportSink } from './write';

export { REPORT_FORMATS, type ReportFormat } from '../vocabulary';

/** The format a file name asks for (by extension, any case), or undefined. */
export function formatOf(path: string): ReportFormat | undefined {
  const m = /\.([A-Za-z]+)$/.exec(path);
  const ext = m?.[1]?.toLowerCase();
  if (ext === 'htm') return 'html';
  return (REPORT_FORMATS as readonly string[]).includes(ext ?? '') ? (ext as ReportFormat) : undefined;
}

/** Every file a target makes (a CSV target makes three, less one per section left out). */
export function outputPaths(path: string, omitted: readonly ReportSection[] = []): string[] {
  return formatOf(path) === 'csv' ? csvFiles(path, omitted) : [path];
}

export interface WriteReportOptions {
  /** Replace existing files. */
  readonly force?: boolean;
  /** For PDF: the printer (default: headless Chromium; ChromiumMissingError when there is none). */
  readonly print?: PrintHtml;
  /** For HTML: row caps. */
  readonly html?: HtmlOptions;
}

/** Write `model` to `path` in the format of its extension; resolves to the files written. */
export async function writeReport(
  model: ReportModel,
  path: string,
  options: WriteReportOptions = {},
): Promise<string[]> {
  const format = formatOf(path);
  const force = options.force ?? false;
  switch (format) {
    case 'html':
      await writeAtomically([path], { force }, ([sink]) => writeHtmlReport(model, sink!, options.html));
      return [path];
    case 'json':
      await writeAtomically([path], { force }, ([sink]) => writeJsonReport(model, sink!));
      return [path];
    case 'csv': {
      const paths = csvFiles(path, omittedSections(model));
      if (paths.length === 0)
        throw new Error(`${path}: a CSV report holds allocations, failures and samples, and all three were left out`);
      await writeAtomically(paths, { force }, (sinks) => writeCsvReport(model, sinks));
      return paths;
    }
    case 'pdf': {
      // Refuse early (before the printing) when the file exists; the write checks again.
      await checkTargets([path], force);
      const print = options.print ?? defaultPrinter();
      await htmlToPdf(await pdfHtml(model, { ...PDF_HTML_OPTIONS, ...options.html }), print, path, { force });
      return [path];
    }
    default:
      throw new Error(`${path}: unknown report format (use .html, .csv, .json or .pdf)`);
  }
}
