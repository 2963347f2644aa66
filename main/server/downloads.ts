/**
 * Report downloads for `hostmem serve`. Its `saveReport` (the service's `exportReport` hands it the live report)
 * writes the report into a private temporary folder — one per server, made on first use, removed on close — and
 * registers each file (a CSV export writes three) under a random, unguessable id. The server answers
 * `GET /download/<id>`, behind the same token, Host and Origin checks as everything else, with the file as an
 * attachment named `hostmem-report-<yyyymmdd-hhmmss>.<ext>`, once: it is deleted as soon as it has been sent (or the
 * transfer failed). A file not fetched within 10 minutes expires; at most 32 wait at once (the oldest dropped).
 *
 *   const downloads = createReportDownloads();
 *   const service = createService({ …, saveReport: downloads.saveReport });
 *   const server = await startServer({ service, staticDir, downloads }); // server.close() closes downloads too
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  buildProcessReport,
  defaultPrinter,
  LIVE_WATCH_SOURCE,
  writeProcessReport,
  writeReport,
  type PrintHtml,
} from '../reports';
import type { ExportResult } from '../contract';
import type { SaveProcessReport, SaveReport } from '../service';

export const DOWNLOAD_PATH = '/download/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  pdf: 'application/pdf',
};

/** An id as `createReportDownloads` makes them: 24 random bytes, base64url. */
const ID = /^[A-Za-z0-9_-]{32}$/;

export interface ReportDownloadsOptions {
  /** How long a file waits to be fetched. Default 10 minutes. */
  readonly ttlMs?: number;
  /** Files waiting at once at most; past it the oldest is dropped. Default 32. */
  readonly maxPending?: number;
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** The PDF printer, asked for when a PDF is exported. Default: headless Chromium (`defaultPrinter`), whose
   *  ChromiumMissingError says that there is none and how to get one. */
  readonly printer?: () => PrintHtml;
  /** Where the private folder is made. Default os.tmpdir(). */
  readonly parentDir?: string;
}

/** A file taken for sending: it is no longer listed; `done()` (once the file is closed) deletes it. Idempotent. */
export interface TakenDownload {
  /** The attachment's file name. */
  readonly name: string;
  readonly contentType: string;
  readonly path: string;
  done(): void;
}

export interface ReportDownloads {
  /** For `createService({ saveReport })`: answers `{ outcome: 'download', files: [{ name, url }] }`. */
  readonly saveReport: SaveReport;
  /** The same for `createService({ saveProcessReport })` (Export… of a watched process). */
  readonly saveProcessReport: SaveProcessReport;
  /** The file registered as `id`, once; undefined when unknown, already taken or expired. */
  take(id: string): TakenDownload | undefined;
  /** Files waiting to be fetched. */
  readonly pending: number;
  /** The private folder, once made. */
  readonly dir: string | undefined;
  /** Forget every file and remove the folder; later exports are refused. Idempotent. */
  close(): Promise<void>;
}

interface Entry {
  readonly name: string;
  readonly contentType: string;
  readonly path: string;
  readonly expiresAt: number;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `20260705-143012`, local time. */
export function reportStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

export function createReportDownloads(options: ReportDownloadsOptions = {}): ReportDownloads {
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const maxPending = options.maxPending ?? 32;
  const now = options.now ?? Date.now;
  const printer = options.printer ?? (() => defaultPrinter());
  const entries = new Map<string, Entry>();
  let dir: string | undefined;
  let closed = false;
  let serial = 0;
  let timer: NodeJS.Timeout | undefined;

  const remove = (path: string): void => {
    try {
      rmSync(path, { force: true });
    } catch {
      // Held open elsewhere (Windows): close() removes the whole folder.
    }
  };

  const drop = (id: string): void => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    remove(entry.path);
  };

  const sweep = (): void => {
    const t = now();
    for (const [id, entry] of entries) if (entry.expiresAt <= t) drop(id);
    if (entries.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const folder = (): string => {
    dir ??= mkdtempSync(join(options.parentDir ?? tmpdir(), 'hostmem-downloads-'));
    return dir;
  };

  /** Write a report with `write` into the folder, then offer each file once under a random id. */
  const offer = async (
    format: string,
    generatedAt: number,
    prefix: string,
    write: (path: string, print: PrintHtml | undefined) => Promise<string[]>,
  ): Promise<ExportResult> => {
    if (closed) throw new Error('the server is shutting down: no more downloads');
    const n = ++serial;
    // The printer first: without Chromium, say so before writing anything.
    const print = format === 'pdf' ? printer() : undefined;
    const files = await write(join(folder(), `${n}.${format}`), print);
    if (closed) {
      for (const file of files) remove(file);
      throw new Error('the server is shutting down: no more downloads');
    }
    sweep();
    const stem = `${prefix}-${reportStamp(generatedAt)}`;
    const expiresAt = now() + ttlMs;
    const links = files.map((path) => {
      const id = randomBytes(24).toString('base64url');
      // `7.csv` → `.csv`, `7.failures.csv` → `.failures.csv`
      const suffix = basename(path).slice(String(n).length);
      const name = `${stem}${suffix}`;
      const ext = suffix.slice(suffix.lastIndexOf('.') + 1);
      entries.set(id, {
        name,
        contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
        path,
        expiresAt,
      });
      return { name, url: `${DOWNLOAD_PATH}${id}` };
    });
    // Bounded: the oldest files go first (a Map iterates in insertion order).
    for (const id of entries.keys()) {
      if (entries.size <= maxPending) break;
      drop(id);
    }
    if (timer === undefined && entries.size > 0) {
      timer = setInterval(sweep, Math.min(ttlMs, 60_000));
      timer.unref();
    }
    return { outcome: 'download', files: links };
  };

  const saveReport: SaveReport = (request, model) =>
    offer(request.format, model.generatedAt, 'hostmem-report', (path, print) =>
      writeReport(model, path, { force: true, ...(print && { print }) }),
    );

  const saveProcessReport: SaveProcessReport = (request, watch) => {
    const model = buildProcessReport(watch, {
      language: request.language ?? 'en',
      source: LIVE_WATCH_SOURCE,
      now,
    });
    return offer(request.format, model.generatedAt, `hostmem-process-${watch.pid}`, (path, print) =>
      writeProcessReport(model, path, { force: true, ...(print && { print }) }),
    );
  };

  return {
    saveReport,
    saveProcessReport,
    take(id) {
      if (!ID.test(id)) return undefined;
      sweep();
      const entry = entries.get(id);
      if (!entry) return undefined;
      entries.delete(id);
      let removed = false;
      return {
        name: entry.name,
        contentType: entry.contentType,
        path: entry.path,
        done() {
          if (removed) return;
          removed = true;
          remove(entry.path);
        },
      };
    },
    get pending() {
      return entries.size;
    },
    get dir() {
      return dir;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      entries.clear();
      if (dir !== undefined) {
        try {
          // Windows may hold a file that was just sent for a moment.
          rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
        } catch {
          // A stray temporary folder is not worth failing the shutdown for.
        }
      }
    },
  };
}
