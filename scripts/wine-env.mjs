// How hostmem runs Windows Node under Wine. Shared by the Wine test leg and by anything else (conformance tests,
// the CLI check) that needs to run a command under Wine.
//
// Facts this relies on (checked on Debian bookworm, wine 8.0):
//   - The `wine64` package's loader is /usr/lib/wine/wine64 (plain `wine` wants wine32). HOSTMEM_WINE overrides.
//   - Windows Node cannot use Unix pipes under Wine: stdin comes from /dev/null (or a file) and stdout/stderr go to
//     files that we read afterwards.
//   - The first start of a new prefix takes 10-20 s (wineboot); the prefix is kept in the temp folder and reused.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { repoRoot } from './util.mjs';

const DEFAULT_WINE = '/usr/lib/wine/wine64';

/** Where the Wine loader is, or null. HOSTMEM_WINE wins; then Debian's path; then wine64 / wine on PATH. */
export function findWine() {
  if (process.env.HOSTMEM_WINE) return existsSync(process.env.HOSTMEM_WINE) ? process.env.HOSTMEM_WINE : null;
  if (existsSync(DEFAULT_WINE)) return DEFAULT_WINE;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['wine64', 'wine']) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}

export const wineInstallHint =
  'Install Wine to run the win32 backend tests: `sudo apt-get install wine64` (Debian/Ubuntu), ' +
  'or run `bash .ci/run`, which installs what is missing.';

/** The prefix (Wine's C: drive and registry), reused across runs. One per user: Wine refuses foreign prefixes. */
export function winePrefix() {
  if (process.env.HOSTMEM_WINEPREFIX) return resolve(process.env.HOSTMEM_WINEPREFIX);
  const uid = typeof process.getuid === 'function' ? `-${process.getuid()}` : '';
  return join(tmpdir(), `hostmem-wineprefix${uid}`);
}

/** Environment for Windows programs under Wine. `extra` is added on top (Windows sees these variables too). */
export function wineEnv(extra = {}) {
  const prefix = winePrefix();
  mkdirSync(prefix, { recursive: true });
  return {
    ...process.env,
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // Do not offer to install Mono / Gecko on first boot (that would open dialogs and hang headless runs).
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    WINEARCH: 'win64',
    // Node refuses to start on an OS it does not recognise as supported; Wine reports an old Windows.
    NODE_SKIP_PLATFORM_CHECK: '1',
    ...extra,
  };
}

/** /work/main/out/tests/a.test.js → Z:\work\main\out\tests\a.test.js (Wine maps / to drive Z:). */
export function toWindowsPath(posixPath) {
  const absolute = resolve(posixPath);
  return `Z:${absolute.replace(/\//g, '\\')}`;
}

/**
 * Run a Windows program under Wine, with stdin from `stdinFile` (default /dev/null) and stdout/stderr captured
 * through files. Resolves with { code, stdout, stderr, timedOut, ms }.
 *
 * @param {string} exe POSIX path of the .exe
 * @param {string[]} args arguments as the Windows program should see them (convert paths with toWindowsPath)
 * @param {{ cwd?: string, env?: Record<string,string>, timeoutMs?: number, stdinFile?: string }} options
 */
export async function runUnderWine(exe, args, options = {}) {
  const wine = findWine();
  if (!wine) throw new Error(`Wine is not installed. ${wineInstallHint}`);
  const { cwd = repoRoot, env = {}, timeoutMs = 10 * 60 * 1000, stdinFile = '/dev/null' } = options;
  const scratch = mkdtempSync(join(tmpdir(), 'hostmem-wine-io-'));
  const outFile = join(scratch, 'stdout.txt');
  const errFile = join(scratch, 'stderr.txt');
  const stdin = openSync(stdinFile, 'r');
  const stdout = openSync(outFile, 'w');
  const stderr = openSync(errFile, 'w');
  const started = Date.now();
  try {
    const { code, timedOut } = await new Promise((resolvePromise, reject) => {
      const child = spawn(wine, [exe, ...args], { cwd, env: wineEnv(env), stdio: [stdin, stdout, stderr] });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      // 'exit', not 'close': the wineserver that Wine leaves running for a few seconds may hold inherited handles.
      child.on('exit', (status, signal) => {
        clearTimeout(timer);
        resolvePromise({ code: status ?? (signal ? 128 : 1), timedOut });
      });
    });
    return {
      code,
      timedOut,
      ms: Date.now() - started,
      stdout: readFileSync(outFile, 'utf8'),
      stderr: readFileSync(errFile, 'utf8'),
    };
  } finally {
    closeSync(stdin);
    closeSync(stdout);
    closeSync(stderr);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** True when the prefix has been booted before (so the next start is quick). */
export function winePrefixReady() {
  return existsSync(join(winePrefix(), 'system.reg'));
}

/** Boot the prefix (first use only: ~10-20 s). Later runs reuse it. */
export async function bootWinePrefix() {
  if (winePrefixReady()) return { booted: false, ms: 0 };
  const wine = findWine();
  if (!wine) throw new Error(`Wine is not installed. ${wineInstallHint}`);
  const started = Date.now();
  const stdio = ['ignore', 'ignore', 'ignore'];
  await new Promise((resolvePromise, reject) => {
    const child = spawn(wine, ['wineboot', '--init'], { env: wineEnv(), stdio });
    child.on('error', reject);
    child.on('exit', () => resolvePromise());
  });
  // wineboot returns before the registry is flushed; wait for the server to finish writing it.
  await new Promise((resolvePromise) => {
    const child = spawn(join(wine, '..', 'wineserver'), ['-w'], { env: wineEnv(), stdio });
    child.on('error', () => resolvePromise());
    child.on('exit', () => resolvePromise());
  });
  return { booted: true, ms: Date.now() - started };
}
