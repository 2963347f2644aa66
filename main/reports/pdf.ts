/**
 * The PDF report: the HTML report printed by a browser engine. The printing is a function `(html) → PDF bytes`
 * handed in by the caller: the app passes one over Electron's `webContents.printToPDF`; the CLI uses
 * `chromiumPrinter`, which runs headless Chromium (`/usr/bin/chromium-headless-shell` or `/usr/bin/chromium`, or
 * the one `HOSTMEM_CHROMIUM` names).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
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
      `cannot make a PDF: ${detail}. Install Chromium (Debian/Ubuntu: apt-get install chromium-headless-shell, or ` +
        'chromium) or set HOSTMEM_CHROMIUM to a Chromium or Chrome executable; the HTML report prints to the same ' +
        'PDF from a browser.',
    );
    this.name = 'ChromiumMissingError';
  }
}

/**
 * Where Chromium usually is, best first. The headless shell (Debian's `chromium-headless-shell`, the "old headless"
 * build made for automation) makes the same PDF as the full browser (same pages, fonts, text, tags) but starts in
 * ~0.2 s instead of ~0.9 s and prints with about a third of the CPU: on the 2-core benchmark machine the large report
 * in every format takes ~3.8 s with it and ~6.6 s with the full browser (BENCHMARKS.md, Reports).
 */
const CANDIDATES = [
  '/usr/bin/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

/** The Chromium to print with: HOSTMEM_CHROMIUM if set, else a usual install location; undefined when none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.HOSTMEM_CHROMIUM;
  if (chosen !== undefined && chosen !== '') return existsSync(chosen) ? chosen : undefined;
  if (process.platform === 'win32') return undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/**
 * The printer the CLI uses (headless Chromium; `warm()` it to start Chromium early); throws ChromiumMissingError when
 * there is no Chromium.
 */
export function defaultPrinter(env: NodeJS.ProcessEnv = process.env): ChromiumPrinter {
  const exe = findChromium(env);
  if (exe === undefined) {
    const chosen = env.HOSTMEM_CHROMIUM;
    throw new ChromiumMissingError(
      chosen ? `HOSTMEM_CHROMIUM=${chosen} does not exist` : `no Chromium found (looked for ${CANDIDATES.join(', ')})`,
    );
  }
  return chromiumPrinter(exe);
}

/** A printer over headless Chromium that can be started before the HTML exists (see `chromiumPrinter`). */
export interface ChromiumPrinter extends PrintHtml {
  /**
   * Start Chromium now, in the background, and keep it for the prints that follow until `close()`: its start-up
   * (seconds) overlaps whatever the caller does meanwhile. A start-up failure is reported by the next print.
   */
  warm(): void;
  /** End the Chromium that `warm()` started (a print still running on it fails) and remove its temporary folder. */
  close(): Promise<void>;
  /** The process id of the warmed Chromium while one is running (diagnostics and tests). */
  processId(): number | undefined;
}

export interface ChromiumPrinterOptions {
  /** Chromium's start-up, and each print (start-up included when not warmed), must end within this. */
  readonly timeoutMs?: number;
  /** Where the temporary folder (profile and pages) is made; default: the OS's temporary folder. */
  readonly tempDir?: string;
}

/**
 * Print with headless Chromium, driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: Chromium
 * reads NUL-terminated JSON messages on fd 3 and writes on fd 4; stderr is kept for the error messages). Each
 * Chromium gets a temporary folder with a throw-away profile; the HTML is written there and opened as a file URL,
 * printed with `Page.printToPDF` (no header or footer, CSS page size, backgrounds), and the PDF comes back as a
 * stream. Without `warm()` every print starts and ends its own Chromium; after `warm()` the prints share one until
 * `close()`. The temporary folder and the process go away on every path (done, error, time-out, crash), and a
 * Chromium still running when Node exits is killed.
 */
export function chromiumPrinter(executable: string, options: ChromiumPrinterOptions = {}): ChromiumPrinter {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const parent = options.tempDir ?? tmpdir();
  let keep = false;
  let kept: Chromium | undefined;
  const shared = (): Chromium => {
    // One that started and has ended since (a crash while idle, a signal) is replaced; one that failed to start
    // stays until a print has reported why.
    if (kept === undefined || (kept.ended && kept.started)) kept = new Chromium(executable, timeoutMs, parent);
    return kept;
  };
  const print = async (html: string): Promise<Uint8Array> => {
    const browser = keep ? shared() : new Chromium(executable, timeoutMs, parent);
    browser.hold();
    const timer = setTimeout(() => browser.fail(`timed out after ${timeoutMs / 1000} s`), timeoutMs);
    try {
      return await browser.print(html);
    } finally {
      clearTimeout(timer);
      browser.release();
      if (browser !== kept || browser.failed) {
        if (browser === kept) kept = undefined;
        await browser.close();
      }
    }
  };
  return Object.assign(print, {
    warm(): void {
      keep = true;
      try {
        shared().prepare();
      } catch {
        // No temporary folder, say: the print tries again and reports it.
      }
    },
    async close(): Promise<void> {
      keep = false;
      const browser = kept;
      kept = undefined;
      await browser?.close();
    },
    processId(): number | undefined {
      return kept?.ended === false ? kept.pid : undefined;
    },
  });
}

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--remote-debugging-pipe',
];
/** How long Chromium may take to end after `Browser.close` before it is killed. */
const CLOSE_GRACE_MS = 5_000;
/** How long to wait for the rest of Chromium's stderr after it exited, for the error message. */
const STDERR_DRAIN_MS = 250;
const STDERR_KEEP = 16 * 1024;

interface CdpMessage {
  readonly id?: number;
  readonly method?: string;
  readonly sessionId?: string;
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly message?: string };
}

interface Waiter {
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
}

/** A page of the browser, attached over a flat session. */
interface Tab {
  readonly targetId: string;
  readonly sessionId: string;
}

/** Every Chromium still running: killed (and its folder removed) if Node exits first. */
const running = new Set<Chromium>();
let exitHook = false;

/** One headless Chromium process with its temporary folder, spoken to over the DevTools pipe. */
class Chromium {
  readonly dir: string;
  /** Resolves once Chromium answers (rejects when it failed first). */
  readonly ready: Promise<void>;
  started = false;
  ended = false;
  private readonly child: ChildProcess;
  private readonly handles: Socket[];
  private readonly input: Socket | undefined;
  private readonly commands = new Map<number, Waiter & { readonly method: string }>();
  private readonly events = new Map<string, Set<Waiter>>();
  private readonly done: Promise<void>;
  private finish!: () => void;
  private failure: Error | undefined;
  private closing = false;
  private chunks: Buffer[] = [];
  private nextId = 0;
  private holds = 0;
  private referenced = true;
  private stderr = '';
  private pages = 0;
  private spare: Promise<Tab> | undefined;

  constructor(
    private readonly executable: string,
    timeoutMs: number,
    parent: string,
  ) {
    this.dir = mkdtempSync(join(parent, 'hostmem-pdf-'));
    this.done = new Promise((resolve) => (this.finish = resolve));
    try {
      this.child = spawn(executable, [...CHROMIUM_FLAGS, `--user-data-dir=${join(this.dir, 'profile')}`], {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
        // Its own process group on POSIX: Ctrl-C in a terminal reaches hostmem, not the warmed Chromium, and a
        // time-out kills Chromium's helper processes with it.
        detached: process.platform !== 'win32',
      });
    } catch (error) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new ChromiumMissingError(`${executable} could not be started (${messageOf(error)})`);
    }
    this.handles = this.child.stdio.filter((s): s is Socket => s instanceof Socket);
    const input = this.child.stdio[3];
    this.input = input instanceof Socket ? input : undefined;
    for (const handle of this.handles) handle.on('error', () => undefined); // EPIPE and the like: 'exit' follows
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_KEEP);
    });
    this.child.stdio[4]?.on('data', (data: Buffer) => this.receive(data));
    this.child.on('error', (error) => {
      if (this.child.pid !== undefined) return;
      this.failure ??= new ChromiumMissingError(`${executable} could not be started (${error.message})`);
      this.exited('not started');
    });
    this.child.on('exit', (code, signal) => this.exited(code !== null ? `exit ${code}` : `signal ${signal}`));
    running.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const chromium of running) chromium.killNow();
      });
    }
    this.hold();
    const timer = setTimeout(() => this.fail(`did not start within ${timeoutMs / 1000} s`), timeoutMs);
    this.ready = this.send('Browser.getVersion').then(
      () => {
        clearTimeout(timer);
        this.started = true;
        this.release();
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.release();
        throw error;
      },
    );
    this.ready.catch(() => undefined); // reported by the print that waits for it
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Keep Node's event loop alive for this browser's sake (a print running); `release` undoes it. */
  hold(): void {
    this.holds++;
    this.refresh();
  }

  release(): void {
    this.holds--;
    this.refresh();
  }

  /** Open a page now and load a blank file in it, so that the first print finds its renderer running. */
  prepare(): void {
    if (this.spare !== undefined || this.failed) return;
    this.spare = this.ready.then(async () => {
      const tab = await this.openTab();
      const blank = join(this.dir, 'blank.html');
      writeFileSync(blank, '<!doctype html><title></title>');
      await this.load(tab, pathToFileURL(blank).href);
      return tab;
    });
    this.spare.catch(() => undefined); // reported by the print that takes it
  }

  async print(html: string): Promise<Uint8Array> {
    await this.ready;
    const spare = this.spare;
    this.spare = undefined;
    // The page warm() opened, else a new one (also when opening that one failed while Chromium still runs).
    const tab = await (spare?.catch(() => this.openTab()) ?? this.openTab());
    const page = join(this.dir, `report-${++this.pages}.html`);
    try {
      writeFileSync(page, html);
      await this.load(tab, pathToFileURL(page).href);
      const printed = await this.send(
        'Page.printToPDF',
        {
          printBackground: true,
          preferCSSPageSize: true,
          displayHeaderFooter: false,
          transferMode: 'ReturnAsStream',
        },
        tab.sessionId,
      );
      const stream = this.text(printed, 'stream', 'Page.printToPDF');
      const parts: Buffer[] = [];
      for (;;) {
        const chunk = await this.send('IO.read', { handle: stream, size: 1 << 20 }, tab.sessionId);
        const data = typeof chunk.data === 'string' ? chunk.data : '';
        parts.push(Buffer.from(data, chunk.base64Encoded === true ? 'base64' : 'utf8'));
        if (chunk.eof === true) break;
      }
      await this.send('IO.close', { handle: stream }, tab.sessionId);
      return Buffer.concat(parts);
    } finally {
      rmSync(page, { force: true });
      // Not waited for: nothing depends on it, and a Chromium closed meanwhile closes its pages anyway.
      if (!this.failed) this.send('Target.closeTarget', { targetId: tab.targetId }).catch(() => undefined);
    }
  }

  /**
   * End Chromium and wait until it and its folder are gone. On POSIX its process group is killed at once: the profile
   * is thrown away, so there is nothing to save, and it is over in ~0.1 s where `Browser.close` takes ~0.3 s. On
   * Windows (no process group) `Browser.close`, and killed after a grace period.
   */
  async close(): Promise<void> {
    if (!this.ended && !this.closing) {
      this.closing = true;
      this.hold();
      const timer = setTimeout(() => this.kill(), CLOSE_GRACE_MS);
      if (this.failed || process.platform !== 'win32') this.kill();
      else this.send('Browser.close').catch(() => undefined); // its reply may never come: Chromium exits
      await this.done;
      clearTimeout(timer);
      this.release();
    }
    await this.done;
  }

  /** Give up on this Chromium: what waits on it rejects with `reason` and Chromium's last words; it is killed. */
  fail(reason: string): void {
    this.reject(this.error(reason));
    this.kill();
  }

  /** From the 'exit' hook: kill it and remove its folder synchronously. */
  killNow(): void {
    this.kill();
    this.removeFolder();
  }

  /**
   * Remove the temporary folder, and the folder Chromium makes for its singleton socket in the OS's temporary folder
   * (`org.chromium.Chromium.XXXXXX`, linked from the profile), which only a graceful exit removes.
   */
  private removeFolder(): void {
    try {
      const socket = readlinkSync(join(this.dir, 'profile', 'SingletonSocket'));
      if (isAbsolute(socket) && !socket.startsWith(this.dir)) {
        for (const name of ['SingletonSocket', 'SingletonCookie']) rmSync(join(dirname(socket), name), { force: true });
        rmdirSync(dirname(socket)); // only when empty: never more than Chromium's own folder
      }
    } catch {
      // No socket (Chromium did not get that far, or not on Linux), or removed already.
    }
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // Left in the temporary folder; nothing else to do.
    }
  }

  private send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = ++this.nextId;
    const message = JSON.stringify(
      sessionId === undefined ? { id, method, params } : { id, method, params, sessionId },
    );
    return new Promise((resolve, reject) => {
      this.commands.set(id, { method, resolve, reject });
      this.refresh();
      this.input?.write(`${message}\0`);
    });
  }

  private async openTab(): Promise<Tab> {
    const created = await this.send('Target.createTarget', { url: 'about:blank' });
    const targetId = this.text(created, 'targetId', 'Target.createTarget');
    const attached = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const sessionId = this.text(attached, 'sessionId', 'Target.attachToTarget');
    await this.send('Page.enable', {}, sessionId);
    return { targetId, sessionId };
  }

  private async load(tab: Tab, url: string): Promise<void> {
    const loaded = this.event('Page.loadEventFired', tab.sessionId);
    try {
      const navigated = await this.send('Page.navigate', { url }, tab.sessionId);
      if (typeof navigated.errorText === 'string' && navigated.errorText !== '')
        throw this.error(`cannot open the page: ${navigated.errorText}`);
      await loaded.promise;
    } finally {
      loaded.cancel();
    }
  }

  /** Wait for an event of a session (rejects if Chromium fails first). */
  private event(method: string, sessionId: string): { promise: Promise<unknown>; cancel(): void } {
    const key = `${sessionId} ${method}`;
    const waiters = this.events.get(key) ?? new Set<Waiter>();
    this.events.set(key, waiters);
    let waiter!: Waiter;
    const promise = new Promise<unknown>((resolve, reject) => {
      waiter = { resolve, reject };
      if (this.failure !== undefined) reject(this.failure);
      else waiters.add(waiter);
    });
    return {
      promise,
      cancel: () => {
        waiters.delete(waiter);
        if (waiters.size === 0) this.events.delete(key);
      },
    };
  }

  private text(result: Record<string, unknown>, field: string, method: string): string {
    const value = result[field];
    if (typeof value !== 'string') throw this.error(`${method} gave no ${field}`);
    return value;
  }

  private receive(data: Buffer): void {
    let start = 0;
    for (let end = data.indexOf(0); end >= 0; end = data.indexOf(0, start)) {
      this.chunks.push(data.subarray(start, end));
      const text = Buffer.concat(this.chunks).toString('utf8');
      this.chunks = [];
      start = end + 1;
      this.dispatch(text);
    }
    if (start < data.length) this.chunks.push(data.subarray(start));
  }

  private dispatch(text: string): void {
    let message: CdpMessage;
    try {
      message = JSON.parse(text) as CdpMessage;
    } catch {
      return;
    }
    if (typeof message.id === 'number') {
      const command = this.commands.get(message.id);
      if (command === undefined) return;
      this.commands.delete(message.id);
      this.refresh();
      if (message.error !== undefined)
        command.reject(this.error(`${command.method}: ${message.error.message ?? 'failed'}`));
      else command.resolve(message.result ?? {});
    } else if (message.method !== undefined) {
      const waiters = this.events.get(`${message.sessionId} ${message.method}`);
      for (const waiter of waiters ?? []) waiter.resolve(message.result ?? {});
    }
  }

  private error(reason: string): Error {
    const tail = this.stderr.trim().split('\n').slice(-5).join('\n');
    return new Error(`Chromium (${this.executable}) made no PDF (${reason})${tail ? `:\n${tail}` : ''}`);
  }

  /** Reject everything that waits on this Chromium; later calls reject at once. */
  private reject(error: Error): void {
    this.failure ??= error;
    for (const command of this.commands.values()) command.reject(this.failure);
    this.commands.clear();
    for (const waiters of this.events.values()) for (const waiter of waiters) waiter.reject(this.failure);
    this.events.clear();
    this.refresh();
  }

  private kill(): void {
    const pid = this.child.pid;
    if (this.ended || pid === undefined) return;
    try {
      if (process.platform === 'win32') this.child.kill('SIGKILL');
      else process.kill(-pid, 'SIGKILL'); // the whole group: Chromium and its helpers
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  /**
   * Chromium has ended (or never started): fail what waits, once its last stderr is in (when there is someone to
   * tell), and remove the folder.
   */
  private exited(how: string): void {
    if (this.ended) return;
    this.ended = true;
    running.delete(this);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.reject(this.error(this.closing ? 'closed' : `${how}${this.started ? '' : ' before it started'}`));
      this.removeFolder();
      this.finish();
    };
    const timer = setTimeout(settle, STDERR_DRAIN_MS);
    const stderr = this.child.stderr;
    const waiting = this.commands.size > 0 || this.events.size > 0 || !this.closing;
    if (!waiting || stderr === null || stderr.readableEnded || stderr.destroyed) settle();
    else stderr.once('close', settle);
  }

  /** Hold Node's event loop open only while something waits on Chromium: a warmed, idle one does not. */
  private refresh(): void {
    const busy = !this.ended && (this.holds > 0 || this.commands.size > 0);
    if (busy === this.referenced) return;
    this.referenced = busy;
    for (const handle of [this.child, ...this.handles]) {
      if (busy) handle.ref();
      else handle.unref();
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
