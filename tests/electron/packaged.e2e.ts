/**
 * The packaged app, as a user starts it: `dist/win-unpacked/hostmem.exe --hidden` (what the login item runs), with
 * its own user data folder (HOSTMEM_USER_DATA), then `hostmem.exe --quit`, which asks the running app to quit through
 * its own path (workloads stopped, the host's memory released) — and it must be gone within the quit deadline.
 *
 * The Windows workflow runs this file after `npm run dist:win`, with HOSTMEM_PACKAGED_EXE naming the executable.
 * Without that variable (`npm test`, which runs before anything is packaged) it is skipped with the reason. No test
 * hook, no Playwright: only the executable, its log and its exit.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { QUIT_DEADLINE_MS } from '../../main/shell/lifecycle';

const exe = process.env.HOSTMEM_PACKAGED_EXE;
const skip = exe
  ? false
  : 'HOSTMEM_PACKAGED_EXE is not set: the Windows workflow sets it after `npm run dist:win` (dist\\win-unpacked\\hostmem.exe)';
const START_LIMIT_MS = 60_000;
/** The deadline main keeps, plus the time Windows takes to end a process and Electron's helpers. */
const EXIT_LIMIT_MS = QUIT_DEADLINE_MS + 5_000;
const expectedBackend = process.platform === 'win32' ? 'win32' : 'posix';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'main'))) return dir;
  }
  return process.cwd();
}

const scratch: string[] = [];
let running: ChildProcess | null = null;
let logFile: string | null = null;

function killTree(child: ChildProcess): void {
  if (child.exitCode !== null || child.pid === undefined) return;
  if (process.platform === 'win32') spawnSync('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore' });
  else child.kill('SIGKILL');
}

after(() => {
  if (running) killTree(running);
  if (logFile && existsSync(logFile)) {
    const artifacts = join(repoRoot(), 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    copyFileSync(logFile, join(artifacts, 'packaged-app.log'));
  }
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/** The log so far ('' before it exists). */
const readLog = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');

async function waitFor(what: string, probe: () => boolean, limit: number): Promise<number> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > limit) assert.fail(`${what}: not after ${limit} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return Date.now() - started;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

test(
  'the packaged app starts hidden in the tray on the real backend, and `--quit` ends it within the deadline',
  { skip, timeout: 180_000 },
  async () => {
    assert.ok(exe && existsSync(exe), `HOSTMEM_PACKAGED_EXE=${String(exe)} does not exist`);
    const userData = realpathSync.native(mkdtempSync(join(tmpdir(), 'hostmem-packaged-')));
    scratch.push(userData);
    const log = join(userData, 'logs', 'main.log');
    logFile = log;
    const env: NodeJS.ProcessEnv = { ...process.env, HOSTMEM_USER_DATA: userData };
    delete env['ELECTRON_RUN_AS_NODE'];

    const app = spawn(exe, ['--hidden'], { env, stdio: 'ignore' });
    running = app;
    await waitFor(
      'the log says the host started, the tray is shown and the notification route is chosen',
      () => {
        const text = readLog(log);
        return (
          text.includes(`started: backend ${expectedBackend}`) &&
          text.includes('tray: shown') &&
          text.includes('notifications:')
        );
      },
      START_LIMIT_MS,
    );
    const text = readLog(log);
    assert.match(text, /started hidden in the tray/);
    assert.doesNotMatch(text, /\[error\]/i, 'no error logged while starting');
    assert.equal(app.exitCode, null, 'still running');

    // The app's own way to quit: a second launch with --quit hands it over and exits at once.
    const asked = Date.now();
    const quitter = spawn(exe, ['--quit'], { env, stdio: 'ignore' });
    const quitterExit = await Promise.race([
      exited(quitter),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), EXIT_LIMIT_MS)),
    ]);
    if (quitterExit === 'timeout') killTree(quitter);
    assert.deepEqual(quitterExit, { code: 0, signal: null }, 'the --quit launch exits by itself');

    const appExit = await Promise.race([
      exited(app),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), EXIT_LIMIT_MS)),
    ]);
    const took = Date.now() - asked;
    assert.notEqual(appExit, 'timeout', `the app was still running ${EXIT_LIMIT_MS} ms after --quit`);
    assert.deepEqual(appExit, { code: 0, signal: null }, `exit after ${took} ms`);
    running = null;
    const end = readLog(log);
    assert.match(end, /second instance: quit/);
    assert.match(end, /hostmem stopped/, 'the shutdown ran to its end (not cut by the deadline)');
  },
);
