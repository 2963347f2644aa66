/**
 * Saving a report from the app: the native save dialog picks the file (it asks before replacing it; a CSV export
 * also asks about its two sibling files), then main/reports writes it atomically. PDF is the report's HTML printed
 * by this Electron's own Chromium (`webContents.printToPDF`) in a hidden, sandboxed window with JavaScript off and
 * every request but the page itself refused.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, session } from 'electron';
import log from 'electron-log/main';
import type { ExportFormat, ExportResult, Language } from '../contract';
import {
  formatOf,
  omittedSections,
  outputPaths,
  processCsvPaths,
  writeProcessReport,
  writeReport,
  type PrintHtml,
  type ProcessReportModel,
  type ReportModel,
} from '../reports';
import { denyAllPermissions } from './permissions';
import { PrintPages } from './print-pages';
import { shellText, type ShellText } from './shell-text';

const FORMATS: readonly ExportFormat[] = ['html', 'csv', 'json', 'pdf'];

function filterOf(format: ExportFormat, text: ShellText['export']): Electron.FileFilter {
  return { name: text[format], extensions: [format] };
}

/** `hostmem-report-20261130-141502.html` */
export function defaultReportName(format: ExportFormat, now: Date = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `hostmem-report-${stamp}.${format}`;
}

/** The pages being printed now: the print session's one request filter allows these (./print-pages). */
const printing = new PrintPages();
let printSession: Electron.Session | null = null;

/** The print session: in memory, every permission denied, nothing loaded but the pages being printed. Made once. */
function printSessionOnce(): Electron.Session {
  if (printSession) return printSession;
  const created = session.fromPartition('hostmem-print');
  // One listener for every export (a second onBeforeRequest would replace the first, cancelling its page).
  created.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !printing.allows(details.url) }));
  denyAllPermissions(created);
  printSession = created;
  return created;
}

/** Print HTML to PDF with this app's Chromium. Two exports at once each print their own page. */
export const printWithElectron: PrintHtml = async (html) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-print-'));
  const page = join(dir, 'report.html');
  writeFileSync(page, html);
  const done = printing.allow(pathToFileURL(page).href);
  const window = new BrowserWindow({
    show: false,
    webPreferences: {
      session: printSessionOnce(),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      javascript: false,
      webSecurity: true,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
    },
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  try {
    await window.loadFile(page);
    return await window.webContents.printToPDF({ printBackground: true, pageSize: 'A4', preferCSSPageSize: true });
  } finally {
    done();
    window.destroy();
    removeTemp(dir);
  }
};

/**
 * Remove the print folder. A scanner that opened the page holds it for a moment (EPERM/EBUSY on Windows): Node's own
 * retries ride that out; a folder still held after them is left in the temp folder and logged, the PDF kept.
 */
function removeTemp(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (error) {
    log.warn(`export: could not remove ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export interface SaveDialogOptions {
  /** The window the dialog belongs to (modal to it); none: a free dialog (from the tray). */
  readonly parent: BrowserWindow | null;
  /** The format asked for; the user may pick another in the dialog (the extension decides). */
  readonly format: ExportFormat;
  /** Folder the dialog opens in (the last one used). */
  readonly folder: string;
  /** The dialogs' language. */
  readonly language: Language;
}

/**
 * Ask where to save, then write. Resolves to what happened; rejects with the writer's error (a path that cannot be
 * written, no room…) for the caller to show.
 */
export async function saveReportWithDialog(
  model: ReportModel | ProcessReportModel,
  options: SaveDialogOptions,
): Promise<ExportResult> {
  const process = 'process' in model ? model : undefined;
  const text = shellText(options.language).export;
  const others = FORMATS.filter((f) => f !== options.format);
  const dialogOptions: Electron.SaveDialogOptions = {
    title: text.title,
    defaultPath: join(
      options.folder,
      process
        ? defaultReportName(options.format).replace('hostmem-report-', `hostmem-process-${process.process.pid}-`)
        : defaultReportName(options.format),
    ),
    filters: [filterOf(options.format, text), ...others.map((f) => filterOf(f, text))],
    // Windows and macOS always confirm a replace; Linux's GTK dialog needs asking.
    properties: ['showOverwriteConfirmation', 'createDirectory'],
  };
  const chosen = options.parent
    ? await dialog.showSaveDialog(options.parent, dialogOptions)
    : await dialog.showSaveDialog(dialogOptions);
  if (chosen.canceled || !chosen.filePath) return { outcome: 'cancelled' };

  let path = chosen.filePath;
  if (formatOf(path) === undefined) path = `${path}.${options.format}`;
  // The dialog confirmed replacing the file it showed; a CSV export also writes two siblings: ask about those.
  const targets = process
    ? formatOf(path) === 'csv'
      ? processCsvPaths(path)
      : [path]
    : outputPaths(path, omittedSections(model as ReportModel));
  const siblings = targets.filter((p) => p !== chosen.filePath && existsSync(p));
  if (siblings.length > 0) {
    const confirm = options.parent
      ? await dialog.showMessageBox(options.parent, replaceQuestion(siblings, text))
      : await dialog.showMessageBox(replaceQuestion(siblings, text));
    if (confirm.response !== 0) return { outcome: 'cancelled' };
  }
  const files = process
    ? await writeProcessReport(process, path, { force: true, print: printWithElectron })
    : await writeReport(model as ReportModel, path, { force: true, print: printWithElectron });
  return { outcome: 'saved', files };
}

function replaceQuestion(paths: readonly string[], text: ShellText['export']): Electron.MessageBoxOptions {
  return {
    type: 'question',
    title: text.replaceTitle,
    message: paths.length === 1 ? text.replaceOne : text.replaceMany,
    detail: paths.map((p) => basename(p)).join('\n'),
    buttons: [text.replace, text.cancel],
    defaultId: 1,
    cancelId: 1,
  };
}

/** Where the save dialog opens first: the user's Documents folder. */
export function defaultReportFolder(): string {
  try {
    return app.getPath('documents');
  } catch {
    // Some Linux desktops have no Documents folder (getPath throws): the home folder then.
    return app.getPath('home');
  }
}
