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
import type { ExportFormat, ExportResult } from '../contract';
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

const FILTERS: Readonly<Record<ExportFormat, Electron.FileFilter>> = {
  html: { name: 'HTML report', extensions: ['html'] },
  csv: { name: 'CSV (allocations, failures, samples)', extensions: ['csv'] },
  json: { name: 'JSON (hostmem.report/1)', extensions: ['json'] },
  pdf: { name: 'PDF', extensions: ['pdf'] },
};

/** `hostmem-report-20261130-141502.html` */
export function defaultReportName(format: ExportFormat, now: Date = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `hostmem-report-${stamp}.${format}`;
}

/** Print HTML to PDF with this app's Chromium. */
export const printWithElectron: PrintHtml = async (html) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-print-'));
  const page = join(dir, 'report.html');
  writeFileSync(page, html);
  const pageUrl = pathToFileURL(page).href;
  // An in-memory session of its own: the report page may load nothing but itself (it is self-contained).
  const printSession = session.fromPartition('hostmem-print');
  printSession.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: details.url !== pageUrl && !details.url.startsWith('data:') });
  });
  denyAllPermissions(printSession);
  const window = new BrowserWindow({
    show: false,
    webPreferences: {
      session: printSession,
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
    window.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
};

export interface SaveDialogOptions {
  /** The window the dialog belongs to (modal to it); none: a free dialog (from the tray). */
  readonly parent: BrowserWindow | null;
  /** The format asked for; the user may pick another in the dialog (the extension decides). */
  readonly format: ExportFormat;
  /** Folder the dialog opens in (the last one used). */
  readonly folder: string;
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
  const others = (Object.keys(FILTERS) as ExportFormat[]).filter((f) => f !== options.format);
  const dialogOptions: Electron.SaveDialogOptions = {
    title: 'Export report',
    defaultPath: join(
      options.folder,
      process
        ? defaultReportName(options.format).replace('hostmem-report-', `hostmem-process-${process.process.pid}-`)
        : defaultReportName(options.format),
    ),
    filters: [FILTERS[options.format], ...others.map((f) => FILTERS[f])],
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
      ? await dialog.showMessageBox(options.parent, replaceQuestion(siblings))
      : await dialog.showMessageBox(replaceQuestion(siblings));
    if (confirm.response !== 0) return { outcome: 'cancelled' };
  }
  const files = process
    ? await writeProcessReport(process, path, { force: true, print: printWithElectron })
    : await writeReport(model as ReportModel, path, { force: true, print: printWithElectron });
  return { outcome: 'saved', files };
}

function replaceQuestion(paths: readonly string[]): Electron.MessageBoxOptions {
  return {
    type: 'question',
    title: 'Replace files?',
    message: `${paths.length === 1 ? 'This file already exists' : 'These files already exist'}; replace?`,
    detail: paths.map((p) => basename(p)).join('\n'),
    buttons: ['Replace', 'Cancel'],
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
