/**
 * `npm start` without the desktop app: the script it runs (scripts/start.mjs) builds, then serves the dashboard on
 * loopback in its own process. Each run starts the real script on a free port (it really builds), reads the URL from
 * the first stdout line and drives Debian's Chromium against it, or checks what it did and said:
 *
 * - `--browser`: the first line is the URL with its token, the dashboard connects and shows the host with the default
 *   workload running (screenshots in English and French), the desktop's opener was handed that URL; then Ctrl+C
 *   (SIGINT, a second one while it stops, as a terminal delivers it under npm) ends it with exit 0 once the
 *   workloads stopped and the memory went back;
 * - no Electron binary (ELECTRON_OVERRIDE_DIST_PATH at an empty folder: no download is tried) and no desktop: the
 *   same dashboard, a note about Electron, no opener run;
 * - an opener that fails, or none on PATH: the server runs on, and says to open the URL by hand.
 *
 * The desktop's opener is a stand-in script on PATH (xdg-open, with DISPLAY set; `open` on macOS): the real one
 * would start a real browser, and there is no desktop here to start it on. Skipped, with the reason: on Windows, the
 * opener checks (`start` is a cmd.exe built-in that cannot be stood in for; the script runs with --no-open there) and
 * the Ctrl+C checks (Windows has no signal to send to one process); on macOS, the no-desktop check (`open` needs no
 * DISPLAY). All of them run on Linux.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { httpGet, launchChromium, repoRoot } from './serve';

const WAIT = 30_000;
const root = repoRoot();
const artifacts = join(root, 'test-artifacts');
const windows = process.platform === 'win32';
const NO_SIGNALS = 'Windows has no SIGINT to send to one process (Ctrl+C is a console event); runs on Linux and macOS';
const NO_STAND_IN =
  "Windows opens URLs with cmd.exe's built-in `start`, which cannot be stood in for; runs on Linux and macOS";
const macOS = process.platform === 'darwin';
const OPENER = macOS ? 'open' : 'xdg-open';
/** Where opening needs a desktop session (DISPLAY / WAYLAND_DISPLAY): Linux and the other Unixes. */
const displayGated = !windows && !macOS;

let browser: Browser;
let scratch: string;
const running = new Set<ChildProcess>();

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  stderr(): string;
  /** Resolves with the exit code (null: killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** A port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The environment of a run: this one without a desktop, plus `extra` (undefined values remove a variable). */
function env(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'HOSTMEM_RENDERER_DIR', 'ELECTRON_OVERRIDE_DIST_PATH']) {
    delete out[name];
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

/** A folder holding a stand-in for the desktop's opener that writes its argument to `record` and exits `code`. */
function standInOpener(name: string, code: number): { dir: string; record: string } {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  const record = join(dir, 'opened.txt');
  const script = join(dir, OPENER);
  writeFileSync(script, `#!/bin/sh\nprintf '%s' "$1" > '${record}'\nexit ${code}\n`);
  chmodSync(script, 0o755);
  return { dir, record };
}

/** Run scripts/start.mjs as `npm start -- ARGS` runs it; resolves once it printed its first stdout line. */
function start(args: readonly string[], runEnv: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs'), ...args], {
    cwd: root,
    env: runEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  void exited.then(() => running.delete(child));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const m = /^hostmem serving at (http:\/\/127\.0\.0\.1:(\d+)\/\?token=[A-Za-z0-9_-]{43})$/.exec(line);
      if (!m) reject(new Error(`first stdout line is not the URL: ${JSON.stringify(line)}\n${err}`));
      else resolve({ child, url: m[1]!, port: Number(m[2]), stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`start.mjs exited ${code} before printing a line:\n${err}`)));
  });
}

/** Wait until `probe` returns something (polling; the script's messages and the opener come asynchronously). */
async function eventually<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function serving(url: string): Promise<boolean> {
  try {
    return (await httpGet(url)).status === 200;
  } catch {
    return false;
  }
}

/**
 * Ctrl+C as a terminal delivers it under `npm start`: the terminal's SIGINT, then the one npm forwards — here once
 * the server is already stopping, where a second SIGINT with nobody listening would kill it half-way.
 */
async function ctrlC(run: Started): Promise<number | null> {
  run.child.kill('SIGINT');
  await eventually('the server to start stopping', () => run.stderr().includes('stopping (SIGINT)'));
  run.child.kill('SIGINT');
  return run.exited;
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  scratch = mkdtempSync(join(tmpdir(), 'hostmem-start-e2e-'));
  browser = await launchChromium();
});

after(async () => {
  for (const child of running) child.kill('SIGKILL');
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The `--browser` run, shared by the dashboard test and the Ctrl+C test after it. */
let browserRun: Started | undefined;

test('npm start -- --browser: the URL first; the dashboard connects and shows the host; the opener gets the URL', async () => {
  const port = await freePort();
  const opener = windows ? null : standInOpener('opener', 0);
  browserRun = await start(
    ['--browser', '--port', String(port), ...(opener ? [] : ['--no-open'])],
    env(opener ? { DISPLAY: ':hostmem-e2e', PATH: `${opener.dir}${delimiter}${process.env.PATH ?? ''}` } : {}),
  );
  const run = browserRun;
  assert.equal(run.port, port, 'served on the port asked for');

  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  const page = await context.newPage();
  const tid = (id: string): string => `[data-testid="${id}"]`;
  await page.goto(run.url);
  await page.locator(`${tid('connection-state')}[data-state="open"]`).waitFor({ timeout: WAIT });
  await page.locator(`${tid('host-state')}[data-state="available"]`).waitFor({ timeout: WAIT });
  assert.equal((await page.locator(tid('host-backend')).textContent())?.trim(), windows ? 'win32' : 'posix');
  // The default workload (steady) is running: committed memory rises above 0.
  await page.waitForFunction(
    (sel) =>
      Number(
        (
          globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string } } }
        ).document
          .querySelector(sel)
          ?.getAttribute('data-value') ?? 0,
      ) > 0,
    tid('stat-committed'),
    { timeout: WAIT },
  );
  await page.locator(tid('chart-reserved-committed')).waitFor({ timeout: WAIT });
  await page.screenshot({ path: join(artifacts, 'start-browser-en.png'), fullPage: true });
  await page.locator(tid('lang-select')).selectOption('fr');
  await page.locator(tid('nav-overview')).filter({ hasText: 'Vue d' }).waitFor({ timeout: WAIT });
  await page.screenshot({ path: join(artifacts, 'start-browser-fr.png'), fullPage: true });
  await context.close();

  assert.match(run.stderr(), /hostmem: the dashboard in your browser/, 'the note about Electron');
  if (opener) {
    const opened = await eventually('the opener to run', () => existsSync(opener.record) && opener.record);
    assert.equal(readFileSync(opened, 'utf8'), run.url, 'the desktop opener got the URL with its token');
    await eventually('the opened message', () => /opened in your default browser \(/.test(run.stderr()));
  }
});

test(
  'Ctrl+C: the workloads stop, the memory is released, exit 0; nothing listens after',
  { skip: windows && NO_SIGNALS },
  async () => {
    const run = browserRun ?? (await start(['--browser', '--port', '0', '--no-open'], env({})));
    assert.equal(await ctrlC(run), 0, `exit status after Ctrl+C\n${run.stderr()}`);
    assert.match(
      run.stderr(),
      /hostmem serve: stopping \(SIGINT\)…(?: \(again to stop at once\))?\nhostmem serve: stopped\n/,
    );
    assert.equal(await serving(run.url), false, 'nothing listens after Ctrl+C');
  },
);

test('no Electron binary: `npm start` serves the same dashboard and says why', async () => {
  const empty = mkdtempSync(join(scratch, 'no-electron-'));
  const run = await start(['--port', '0', '--no-open'], env({ ELECTRON_OVERRIDE_DIST_PATH: empty }));
  assert.equal(await serving(run.url), true, 'the dashboard page is served with the token');
  const refused = await httpGet(run.url.replace(/\?token=.*/, ''));
  assert.equal(refused.status, 401, 'and refused without it');
  await eventually('the note about Electron', () =>
    /instead of the desktop app: ELECTRON_OVERRIDE_DIST_PATH .* holds no Electron build/.test(run.stderr()),
  );
  if (!windows) assert.equal(await ctrlC(run), 0, `exit status after Ctrl+C\n${run.stderr()}`);
});

test(
  'no desktop session (DISPLAY and WAYLAND_DISPLAY unset): no opener runs, the URL is to be opened by hand',
  { skip: !displayGated && (windows ? NO_STAND_IN : 'macOS opens URLs without a DISPLAY; runs on Linux') },
  async () => {
    const opener = standInOpener('unused', 0);
    const run = await start(
      ['--browser', '--port', '0'],
      env({ PATH: `${opener.dir}${delimiter}${process.env.PATH ?? ''}` }),
    );
    await eventually('the no-desktop message', () =>
      /open the URL above in a browser \(no desktop session/.test(run.stderr()),
    );
    assert.equal(existsSync(opener.record), false, 'no opener without a desktop session');
    assert.equal(await serving(run.url), true, 'still serving');
    assert.equal(await ctrlC(run), 0, `exit status after Ctrl+C\n${run.stderr()}`);
  },
);

test(
  'an opener that fails, or none at all: the server runs on and says to open the URL by hand',
  { skip: windows && NO_STAND_IN },
  async () => {
    const failing = standInOpener('failing', 3);
    const missing = mkdtempSync(join(scratch, 'no-opener-'));
    for (const [path, expected] of [
      [`${failing.dir}${delimiter}${process.env.PATH ?? ''}`, new RegExp(`${OPENER} exited with 3`)],
      // Only a folder without any opener on PATH (the script runs Node and the build tools by absolute path).
      [missing, new RegExp(`${OPENER} not found`)],
    ] as const) {
      const run = await start(['--browser', '--port', '0'], env({ DISPLAY: ':hostmem-e2e', PATH: path }));
      await eventually(`"${expected.source}"`, () => expected.test(run.stderr()));
      assert.match(run.stderr(), /open the URL above in a browser/);
      assert.equal(await serving(run.url), true, 'still serving');
      assert.equal(await ctrlC(run), 0, `exit status after Ctrl+C\n${run.stderr()}`);
    }
    assert.equal(readFileSync(failing.record, 'utf8').startsWith('http://127.0.0.1:'), true, 'the failing opener ran');
  },
);
