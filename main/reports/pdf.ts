/**
 * The PDF report: the HTML report printed by a browser engine. The printing is a function `(html) → PDF bytes`
 * handed in by the caller: the app passes one over Electron's `webContents.printToPDF`; the CLI uses
 * `chromiumPrinter`, which runs headless Chromium (`/usr/bin/chromium`, or the one `HOSTMEM_CHROMIUM` names).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeHtmlReport, type HtmlOptions } from './html';
import type { ReportModel } from './model';
import { MemorySink, writeAtomically } from './write';

/** Print a self-contained HTML document to PDF bytes. */
export type PrintHtml = (html: string) => Promise<Uint8Array>;

/** The PDF lists fewer rows than the HTML: pages, not a scrolling table (the CSV has everything). */
export const PDF_HTML_OPTIONS: Required<HtmlOptions> = { maxAllocationRows: 250, maxEventsPerLevel: 50 };

export class ChromiumMissingError extends Error {
  constructor(detail: string) {
    super(
      `cannot make a PDF: ${detail}. Install Chromium (Debian/Ubuntu: apt-get install chromium) or set ` +
        'HOSTMEM_CHROMIUM to a Chromium or Chrome executable; the HTML report prints to the same PDF from a browser.',
    );
    this.name = 'ChromiumMissingError';
  }
}

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium to print with: HOSTMEM_CHROMIUM if set, else a usual install location; undefined when none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.HOSTMEM_CHROMIUM;
  if (chosen !== undefined && chosen !== '') return existsSync(chosen) ? chosen : undefined;
  if (process.platform === 'win32') return undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** The printer the CLI uses; throws ChromiumMissingError when there is no Chromium. */
export function defaultPrinter(env: NodeJS.ProcessEnv = process.env): PrintHtml {
  const exe = findChromium(env);
  if (exe === undefined) {
    const chosen = env.HOSTMEM_CHROMIUM;
    throw new ChromiumMissingError(
      chosen ? `HOSTMEM_CHROMIUM=${chosen} does not exist` : 'no Chromium found (looked for /usr/bin/chromium)',
    );
  }
  return chromiumPrinter(exe);
}

/**
 * Print with headless Chromium: the HTML goes to a temporary folder with a throw-away profile, Chromium prints it
 * with `--print-to-pdf` (no header or footer), and the PDF's bytes come back. Chromium's output goes to a file
 * (no pipes: the same code runs under Wine), and is quoted when it fails.
 */
export function chromiumPrinter(executable: string, options: { readonly timeoutMs?: number } = {}): PrintHtml {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return async (html) => {
    const dir = mkdtempSync(join(tmpdir(), 'hostmem-pdf-'));
    try {
      const page = join(dir, 'report.html');
      const pdf = join(dir, 'report.pdf');
      const log = join(dir, 'chromium.log');
      writeFileSync(page, html);
      const fd = openSync(log, 'w');
      let code: number | null;
      let signal: NodeJS.Signals | null = null;
      try {
        const child = spawn(
          executable,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--no-first-run',
            '--no-default-browser-check',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--disable-extensions',
            `--user-data-dir=${join(dir, 'profile')}`,
            `--print-to-pdf=${pdf}`,
            '--no-pdf-header-footer',
            pathToFileURL(page).href,
          ],
          { stdio: ['ignore', fd, fd] },
        );
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        try {
          [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
            child.on('error', reject);
            child.on('exit', (c, s) => resolve([c, s]));
          });
        } finally {
          clearTimeout(timer);
        }
      } catch (error) {
        throw new ChromiumMissingError(
          `${executable} could not be started (${error instanceof Error ? error.message : String(error)})`,
        );
      } finally {
        closeSync(fd);
      }
      if (!existsSync(pdf)) {
        const output = readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n');
        throw new Error(
          `Chromium (${executable}) made no PDF (exit ${code ?? signal}${signal === 'SIGKILL' ? ', timed out' : ''})${output ? `:\n${output}` : ''}`,
        );
      }
      return readFileSync(pdf);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The HTML that a PDF report prints (capped lists; see PDF_HTML_OPTIONS). */
export async function pdfHtml(model: ReportModel, options: HtmlOptions = PDF_HTML_OPTIONS): Promise<string> {
  const sink = new MemorySink();
  await writeHtmlReport(model, sink, options);
  return sink.text();
}

/** Turn HTML into a PDF file with `print`, whole or absent. */
export async function htmlToPdf(
  html: string,
  print: PrintHtml,
  path: string,
  options: { readonly force: boolean },
): Promise<void> {
  const bytes = await print(html);
  if (bytes.length < 5 || Buffer.from(bytes.subarray(0, 5)).toString('latin1') !== '%PDF-')
    throw new Error('the printer did not return a PDF');
  await writeAtomically([path], options, async ([sink]) => {
    sink!.write(bytes);
  });
}
