/**
 * The desktop app end to end: the built app (out/main/index.js, from `electron-vite build`, started through the
 * repository's package.json like `npm start` does) under Electron, driven by playwright-core's `_electron`, with
 * `HOSTMEM_E2E=1` (main installs `globalThis.hostmemTestHook`) and a fresh `HOSTMEM_USER_DATA` folder per run.
 *
 * Run by `npm test` (leg `electron`) through scripts/test-electron.mjs, which bundles this file to
 * out/electron-e2e/app.e2e.js. Needs the Electron binary: where there is none the runner sets HOSTMEM_ELECTRON_SKIP
 * to the reason and every test here is reported as skipped. A screenshot, the main process's output and the app's
 * log go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import type { ErrorCode, Result } from '../../main/contract';

/** Set by scripts/test-electron.mjs when there is no Electron binary (or no display): why these tests cannot run. */
const skip = process.env.HOSTMEM_ELECTRON_SKIP || false;
const WAIT = 30_000;
const TEST_OPTIONS = { skip, timeout: 180_000 } as const;

/** What main exposes as `globalThis.hostmemTestHook` when HOSTMEM_E2E=1 (main/index.ts). */
interface TrayState {
  readonly exists: boolean;
  readonly tooltip: string;
  readonly menuLabels: string[];
  readonly iconKey: string;
}
type ToastTarget = { kind: 'failure'; seq: number } | { kind: 'failures' } | { kind: 'window' };
interface OsLoginItem {
  openAtLogin: boolean;
  executableWillLaunchAtLogin?: boolean;
}
interface TestHook {
  tray(): TrayState;
  windowVisible(): boolean;
  closeWindow(): void;
  open(): void;
  exportReport(path: string): Promise<string[]>;
  exportReports(paths: string[]): Promise<string[][]>;
  settingsPath(): string;
  exportFromTray(path: string): Promise<string[]>;
  activate(args: string | null): void;
  notifications(): {
    route: 'toast' | 'balloon' | 'none';
    balloon: ToastTarget;
    lastToast: string | null;
    keptToasts: number;
  };
  notifyFailure(seq: number): Promise<void>;
  loginItem(): { settings: boolean; tray: boolean; os: OsLoginItem | null };
}

/** `window.hostmem` as the page sees it (the preload's contextBridge object). */
interface PageBridge {
  call(method: string, params?: unknown): Promise<unknown>;
  onPush(listener: (message: unknown) => void): unknown;
}
/** The page's globals as the functions below use them (they run in the renderer; the Node typecheck has no DOM). */
interface PageElement {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
}
interface PageGlobal {
  readonly hostmem?: PageBridge;
  readonly require?: unknown;
  readonly process?: unknown;
  readonly document: { querySelector(selector: string): PageElement | null };
}

/** A call through the page's bridge (runs in the renderer). */
async function pageCall(page: Page, method: string, params?: unknown): Promise<unknown> {
  return page.evaluate(
    async ({ method, params }) => {
      const bridge = (globalThis as unknown as PageGlobal).hostmem;
      if (!bridge) throw new Error('no window.hostmem');
      try {
        return { ok: true, value: await bridge.call(method, params) };
      } catch (error) {
        const e = error as { code?: unknown; message?: unknown } | null;
        return { ok: false, code: e?.code ?? null, message: String(e?.message ?? error) };
      }
    },
    { method, params },
  );
}

// ---------------------------------------------------------------------------------------------- the app

/** The repository root, found from this bundle (out/electron-e2e/…) or from the source. */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'main'))) return dir;
  }
  return process.cwd();
}

const root = repoRoot();
const artifacts = join(root, 'test-artifacts');

/** The Electron executable of node_modules/electron (what Playwright launches), without triggering its download. */
function electronExecutable(): string {
  const dir = join(root, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const file = override
    ? join(override, name ?? (process.platform === 'win32' ? 'electron.exe' : 'electron'))
    : name && join(dir, 'dist', name);
  if (!file || !existsSync(file)) throw new Error('no Electron binary in node_modules/electron (npx install-electron)');
  return file;
}

/** The environment the app runs with: ours, plus the test switch and its own user data folder. */
function appEnv(userData: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'ELECTRON_RUN_AS_NODE') env[key] = value;
  }
  return { ...env, HOSTMEM_E2E: '1', HOSTMEM_USER_DATA: userData };
}

/**
 * Kill the app for good. On Windows Playwright starts Electron through a shell, so `app.process()` is cmd.exe:
 * taskkill /T takes its children with it.
 */
function killTree(child: ChildProcess): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  if (process.platform === 'win32') spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore' });
  else child.kill('SIGKILL');
}

interface Running {
  readonly app: ElectronApplication;
  readonly page: Page;
  readonly userData: string;
  /** The main process's stdout and stderr so far. */
  output(): string;
}

let launched: Promise<Running> | null = null;
const scratch: string[] = [];

function tempDir(prefix: string): string {
  const dir = realpathSync.native(mkdtempSync(join(tmpdir(), prefix)));
  scratch.push(dir);
  return dir;
}

/** Launch the app once for the whole file (the tests below share it, in order). */
function theApp(): Promise<Running> {
  launched ??= (async () => {
    for (const built of ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
      assert.ok(existsSync(join(root, built)), `${built} is missing: run npm run build:app`);
    }
    mkdirSync(artifacts, { recursive: true });
    const userData = tempDir('hostmem-e2e-userdata-');
    // English labels whatever the runner's locale (the tray checks below read them); other settings: defaults.
    writeFileSync(join(userData, 'settings.json'), JSON.stringify({ language: 'en' }));
    // The repository folder, not out/main/index.js: Electron then reads package.json (name "hostmem", main
    // out/main/index.js), as it does for `npm start` and the packaged app.
    const app = await _electron.launch({ args: [root], cwd: root, env: appEnv(userData), timeout: WAIT });
    let output = '';
    const keep = (chunk: Buffer | string): void => {
      output = (output + String(chunk)).slice(-64 * 1024);
    };
    app.process().stdout?.on('data', keep);
    app.process().stderr?.on('data', keep);
    let page: Page;
    try {
      page = await app.firstWindow({ timeout: WAIT });
    } catch (error) {
      killTree(app.process()); // no window: do not leave the app running behind the tests
      throw new Error(`the app opened no window: ${String(error)}\n--- main process output ---\n${output}`, {
        cause: error,
      });
    }
    return { app, page, userData, output: () => output };
  })();
  return launched;
}

/** Call the main process's test hook. The function given to evaluate runs in main, so it is self-contained. */
async function hook<M extends keyof TestHook>(
  app: ElectronApplication,
  method: M,
  ...args: Parameters<TestHook[M]>
): Promise<Awaited<ReturnType<TestHook[M]>>> {
  const value = await app.evaluate(
    async (_electron, call: { method: string; args: unknown[] }) => {
      const testHook = (globalThis as unknown as { hostmemTestHook?: Record<string, unknown> }).hostmemTestHook;
      if (!testHook)
        throw new Error('globalThis.hostmemTestHook is missing: main did not install it for HOSTMEM_E2E=1');
      const fn = testHook[call.method];
      if (typeof fn !== 'function') throw new Error(`hostmemTestHook.${call.method} is not a function`);
      return (await (fn as (...a: unknown[]) => unknown).apply(testHook, call.args)) as unknown;
    },
    { method, args: [...args] as unknown[] },
  );
  return value as Awaited<ReturnType<TestHook[M]>>;
}

/** Poll `probe` until `ok` holds; fails with `what` and the last value after `timeout` ms. */
async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeout = WAIT): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Wait until the `attr` of the element with test id `id` is a number above `min` (the page's CSP forbids eval). */
async function waitNumberAbove(page: Page, id: string, attr: string, min: number): Promise<number> {
  const handle = await page.waitForFunction(
    ({ id, attr, min }) => {
      const el = (globalThis as unknown as PageGlobal).document.querySelector(`[data-testid="${id}"]`);
      const v = Number(el?.getAttribute(attr) ?? Number.NaN);
      return v > min ? v : false;
    },
    { id, attr, min },
    { timeout: WAIT },
  );
  return (await handle.jsonValue()) as number;
}

after(async () => {
  if (launched) {
    const running = await launched.catch(() => null);
    if (running) {
      const exited = new Promise<void>((resolve) => running.app.process().once('exit', () => resolve()));
      const closed = running.app.close().then(
        () => true,
        () => false,
      );
      const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000).unref());
      if (!(await Promise.race([closed, timer]))) {
        console.error('electron e2e: the app did not quit within 20 s (app.quit()); killing it');
        killTree(running.app.process());
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      writeFileSync(join(artifacts, 'electron-main.log'), running.output());
      // The app's own log (electron-log, <userData>/logs/main.log), before its folder is removed below.
      const appLog = join(running.userData, 'logs', 'main.log');
      if (existsSync(appLog)) copyFileSync(appLog, join(artifacts, 'electron-app.log'));
    }
  }
  for (const dir of scratch) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      console.error(`electron e2e: could not remove ${dir}: ${String(error)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------- the tests

test(
  'launch: the window loads, the dashboard shows live data, window.hostmem is only call and onPush',
  TEST_OPTIONS,
  async () => {
    const { app, page, userData } = await theApp();
    await page.locator('[data-testid="view-overview"]').waitFor({ timeout: WAIT });
    // The default steady workload runs from the start: the committed figure rises above 0.
    const committed = await waitNumberAbove(page, 'stat-committed', 'data-value', 0);
    assert.ok(committed > 0, `committed ${committed}`);
    await page.screenshot({ path: join(artifacts, 'electron-dashboard.png') });

    const surface = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobal;
      const bridge = g.hostmem;
      return {
        keys: bridge ? Object.keys(bridge).sort() : null,
        call: typeof bridge?.call,
        onPush: typeof bridge?.onPush,
        require: typeof g.require,
        process: typeof g.process,
      };
    });
    assert.deepEqual(surface, {
      keys: ['call', 'onPush'],
      call: 'function',
      onPush: 'function',
      require: 'undefined',
      process: 'undefined',
    });

    // The app keeps its settings in the user data folder it was given.
    const settings = await hook(app, 'settingsPath');
    const inside = relative(userData, settings);
    assert.ok(inside !== '' && !inside.startsWith('..') && !isAbsolute(inside), `${settings} is not in ${userData}`);
  },
);

test(
  'tray: present, tooltip mentions committed (≤ 127 chars), menu has the expected entries',
  TEST_OPTIONS,
  async () => {
    const { app } = await theApp();
    const tray = await until(
      'tray tooltip',
      () => hook(app, 'tray'),
      (t) => t.exists && /committed/i.test(t.tooltip),
    );
    assert.equal(tray.exists, true);
    assert.match(tray.tooltip, /committed/i);
    assert.ok(
      tray.tooltip.length <= 127,
      `tooltip is ${tray.tooltip.length} chars (Windows keeps 127): ${tray.tooltip}`,
    );
    for (const label of ['Open', 'Pause workloads', 'Export report…', 'Recent failures', 'Start at login', 'Quit']) {
      assert.ok(tray.menuLabels.includes(label), `tray menu has "${label}": ${JSON.stringify(tray.menuLabels)}`);
    }
    assert.ok(tray.iconKey.length > 0, 'tray icon key');
  },
);

test('IPC guard: invalid params are refused with bad-request; hello answers over ipc', TEST_OPTIONS, async () => {
  const { page } = await theApp();
  const refused = await page.evaluate(async () => {
    const bridge = (globalThis as unknown as PageGlobal).hostmem;
    if (!bridge) return { rejected: false, code: null, message: 'no window.hostmem' };
    try {
      await bridge.call('virtualAlloc', { size: -1 });
      return { rejected: false, code: null, message: 'resolved' };
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown } | null;
      return { rejected: true, code: e?.code ?? null, message: String(e?.message ?? error) };
    }
  });
  assert.equal(refused.rejected, true, `virtualAlloc { size: -1 } ${refused.message}`);
  assert.equal(refused.code, 'bad-request' satisfies ErrorCode, `rejection: ${JSON.stringify(refused)}`);

  const hello = (await page.evaluate(async () => {
    const bridge = (globalThis as unknown as PageGlobal).hostmem;
    return bridge ? bridge.call('hello') : null;
  })) as Result<'hello'> | null;
  assert.equal(hello?.transport, 'ipc', `hello: ${JSON.stringify(hello)}`);
});

test('export: a .json report (hostmem.report/1) and a .pdf (printToPDF)', TEST_OPTIONS, async () => {
  const { app } = await theApp();
  const dir = tempDir('hostmem-e2e-export-');

  const json = join(dir, 'report.json');
  const jsonFiles = await hook(app, 'exportReport', json);
  assert.ok(jsonFiles.includes(json), `exportReport(${json}) wrote ${JSON.stringify(jsonFiles)}`);
  const report = JSON.parse(readFileSync(json, 'utf8')) as { schema?: unknown };
  assert.equal(report.schema, 'hostmem.report/1');

  const pdf = join(dir, 'report.pdf');
  const pdfFiles = await hook(app, 'exportReport', pdf);
  assert.ok(pdfFiles.includes(pdf), `exportReport(${pdf}) wrote ${JSON.stringify(pdfFiles)}`);
  assert.equal(readFileSync(pdf).subarray(0, 4).toString('latin1'), '%PDF');
});

test(
  'hide to tray: closing the window hides it and the app stays in the tray; open() shows it again',
  TEST_OPTIONS,
  async () => {
    const { app } = await theApp();
    assert.equal(await hook(app, 'windowVisible'), true, 'visible before');
    await hook(app, 'closeWindow'); // the window's 'close' event, as the user's ×
    await until(
      'window visible after close',
      () => hook(app, 'windowVisible'),
      (v) => v === false,
    );
    assert.equal(app.process().exitCode, null, 'the app is still running');
    assert.equal((await hook(app, 'tray')).exists, true, 'the tray is still there');

    await hook(app, 'open');
    await until(
      'window visible after open()',
      () => hook(app, 'windowVisible'),
      (v) => v === true,
    );
  },
);

test(
  'second instance: exits by itself (single-instance lock) and the first one shows its window',
  TEST_OPTIONS,
  async () => {
    const { app, userData } = await theApp();
    await hook(app, 'closeWindow');
    await until(
      'window visible after close',
      () => hook(app, 'windowVisible'),
      (v) => v === false,
    );

    const started = Date.now();
    const args = process.platform === 'linux' ? ['--no-sandbox', root] : [root];
    const second = spawn(electronExecutable(), args, { cwd: root, env: appEnv(userData), stdio: 'ignore' });
    const limit = 20_000;
    const exit = await new Promise<{ code: number | null; signal: string | null } | 'timeout'>((resolve, reject) => {
      const timer = setTimeout(() => resolve('timeout'), limit);
      second.once('error', reject);
      second.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    if (exit === 'timeout') killTree(second);
    assert.notEqual(exit, 'timeout', `the second instance was still running after ${limit} ms`);
    assert.deepEqual(exit, { code: 0, signal: null }, `second instance exit after ${Date.now() - started} ms`);

    assert.equal(app.process().exitCode, null, 'the first instance is still running');
    await until(
      'first window visible after the second instance',
      () => hook(app, 'windowVisible'),
      (v) => v === true,
    );
  },
);

test(
  'notifications: clicking a toast (its activation arguments) or the balloon opens the failure it announced',
  TEST_OPTIONS,
  async () => {
    const { app, page } = await theApp();
    await hook(app, 'closeWindow');
    await until(
      'window hidden',
      () => hook(app, 'windowVisible'),
      (v) => v === false,
    );
    await hook(app, 'notifyFailure', 7);
    const shown = await hook(app, 'notifications');
    // Not installed: the tray balloon, unless Electron's own shortcut for this run made toasts visible.
    assert.ok(shown.route === 'balloon' || shown.route === 'toast', JSON.stringify(shown));
    if (shown.route === 'toast') {
      assert.ok(shown.lastToast?.includes('seq=7'), `the toast says where it leads: ${String(shown.lastToast)}`);
      assert.ok(shown.keptToasts >= 1, 'the toast is kept referenced until clicked');
    } else {
      assert.deepEqual(shown.balloon, { kind: 'failure', seq: 7 });
    }
    // The click as Windows reports it to Notification.handleActivation (or the balloon's click).
    await hook(app, 'activate', shown.route === 'toast' ? shown.lastToast : null);
    await until(
      'window shown by the click',
      () => hook(app, 'windowVisible'),
      (v) => v === true,
    );
    await page.locator('[data-testid="view-failures"]').waitFor({ timeout: WAIT });
  },
);

test('Settings ▸ Copy puts the metrics token on the clipboard through main', TEST_OPTIONS, async () => {
  const { app, page } = await theApp();
  await hook(app, 'open');
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  const on = (await pageCall(page, 'updateSettings', { settings: { metricsEnabled: true, metricsPort: port } })) as {
    ok: boolean;
    value?: { settings: { metricsToken: string } };
  };
  assert.ok(on.ok, JSON.stringify(on));
  const token = on.value?.settings.metricsToken ?? '';
  assert.ok(token.length >= 32, 'a token was made');
  await app.evaluate(({ clipboard }) => clipboard.writeText('before'));
  await page.locator('[data-testid="settings-open"]').click();
  const copy = page.locator('[data-testid="settings-metrics-copy"]');
  await copy.click();
  await until(
    'the Copy button says Copied',
    () => copy.textContent(),
    (t) => t?.trim() === 'Copied',
  );
  assert.equal(await app.evaluate(({ clipboard }) => clipboard.readText()), token);
  await page.keyboard.press('Escape');
  await pageCall(page, 'updateSettings', { settings: { metricsEnabled: false } });
});

test(
  'started hidden (no window ever opened) with close to tray off: a tray PDF export does not quit the app',
  TEST_OPTIONS,
  async () => {
    // Its own app: started as the login item starts it, so the hidden print window is the only window there is.
    const userData = tempDir('hostmem-e2e-hidden-');
    writeFileSync(join(userData, 'settings.json'), JSON.stringify({ language: 'en', closeToTray: false }));
    const app = await _electron.launch({ args: [root, '--hidden'], cwd: root, env: appEnv(userData), timeout: WAIT });
    try {
      await until(
        'the test hook of the hidden app',
        () =>
          hook(app, 'windowVisible').then(
            (visible) => ({ ready: true, visible }),
            () => ({ ready: false, visible: false }),
          ),
        (v) => v.ready,
      );
      assert.equal(await hook(app, 'windowVisible'), false, 'no window');
      const pdf = join(tempDir('hostmem-e2e-tray-export-'), 'tray.pdf');
      assert.deepEqual(await hook(app, 'exportFromTray', pdf), [pdf]);
      assert.equal(readFileSync(pdf).subarray(0, 4).toString('latin1'), '%PDF');
      // The print window was the last window to close: window-all-closed came, and must not have quit the app.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(app.process().exitCode, null, 'the app is still running');
      assert.equal((await hook(app, 'tray')).exists, true);
    } finally {
      const closed = await Promise.race([
        app.close().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000).unref()),
      ]);
      if (!closed) killTree(app.process());
    }
  },
);

test('two PDF exports at once both finish (the print session serves both pages)', TEST_OPTIONS, async () => {
  const { app } = await theApp();
  const dir = tempDir('hostmem-e2e-two-pdfs-');
  const paths = [join(dir, 'a.pdf'), join(dir, 'b.pdf')];
  const written = await hook(app, 'exportReports', paths);
  assert.deepEqual(
    written,
    paths.map((p) => [p]),
  );
  for (const p of paths) assert.equal(readFileSync(p).subarray(0, 4).toString('latin1'), '%PDF', p);
});

test(
  'start at login: a run that is not installed never writes the login item; the tick stays true',
  TEST_OPTIONS,
  async () => {
    const { app, page } = await theApp();
    const before = await hook(app, 'loginItem');
    assert.equal(before.os, null, 'not installed: the OS login item is not this run’s to manage');
    assert.equal(before.tray, before.settings);
    const refused = (await pageCall(page, 'updateSettings', { settings: { startAtLogin: !before.settings } })) as {
      ok: boolean;
      code?: string;
    };
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.equal(refused.code, 'refused');
    assert.deepEqual(await hook(app, 'loginItem'), before, 'nothing changed');
    if (process.platform === 'win32') {
      const os = await app.evaluate(({ app: electronApp }) => electronApp.getLoginItemSettings({ args: ['--hidden'] }));
      assert.equal(os.openAtLogin, false, 'no Run value for this test run');
    }
  },
);

test('the application menu follows the language (fr, zh-CN)', TEST_OPTIONS, async () => {
  const { app, page } = await theApp();
  const labels = (): Promise<string[]> =>
    app.evaluate(({ Menu }) => Menu.getApplicationMenu()?.items.map((i) => i.label) ?? []);
  try {
    for (const [language, file] of [
      ['fr', '&Fichier'],
      ['zh-CN', '文件(&F)'],
    ] as const) {
      const changed = (await pageCall(page, 'updateSettings', { settings: { language } })) as { ok: boolean };
      assert.ok(changed.ok, JSON.stringify(changed));
      assert.equal((await labels())[0], file, language);
    }
  } finally {
    await pageCall(page, 'updateSettings', { settings: { language: 'en' } });
  }
  assert.equal((await labels())[0], '&File');
});
