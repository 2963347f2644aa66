#!/usr/bin/env node
// The desktop app tests: tests/electron/**/*.e2e.ts bundled by esbuild to out/electron-e2e/ (playwright-core, koffi
// and electron stay external), then run with `node --test`; playwright-core's `_electron` launches the built app
// (out/main, out/preload, out/renderer from `electron-vite build`) with the Electron binary of node_modules/electron.
// Screenshots and the app's output land in test-artifacts/.
//
// They need that binary. Where it is missing (this project's containers install with ELECTRON_SKIP_BINARY_DOWNLOAD=1
// and cannot download it) the tests are reported as skipped, with the reason — they run in the windows-latest job of
// .github/workflows/ci.yml, which downloads Electron first. Under CI=true on Windows a missing binary is a failure; on
// Linux it stays a skip (Linux CI has no display for Electron anyway), as does a Linux desktop without a display.
//
//   npm run test:electron          (electron-vite build, then this)
//   node scripts/test-electron.mjs (uses what out/ holds)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleTestFolder } from './build-node.mjs';
import { findFiles, formatDuration, isMain, parseNodeTestSummary, repoRelative, repoRoot, run } from './util.mjs';

const electronDir = join(repoRoot, 'node_modules', 'electron');
const isCI = () => process.env.CI === 'true' || process.env.CI === '1';

export const NO_BINARY_REASON =
  'no Electron binary here (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1; this machine cannot download it) — ' +
  'these tests run in the windows-latest GitHub workflow';

/**
 * Path of the Electron executable when it is present, else null — read from node_modules/electron/path.txt (and
 * ELECTRON_OVERRIDE_DIST_PATH) as the package does, without `require('electron')`, which would start a download.
 */
export function electronBinary() {
  const pathFile = join(electronDir, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const candidate = join(
      process.env.ELECTRON_OVERRIDE_DIST_PATH,
      name ?? (process.platform === 'win32' ? 'electron.exe' : 'electron'),
    );
    return existsSync(candidate) ? candidate : null;
  }
  if (!name) return null;
  const candidate = join(electronDir, 'dist', name);
  return existsSync(candidate) ? candidate : null;
}

/**
 * Why the tests cannot run here, or null when they can.
 * @returns {null | { fail: boolean, reason: string }}
 */
export function electronBlocker({ ci = isCI(), platform = process.platform, env = process.env } = {}) {
  const binary = electronBinary();
  if (!binary) {
    if (ci && platform === 'win32') {
      return {
        fail: true,
        reason:
          'no Electron binary in node_modules/electron (required under CI=true on Windows): run ' +
          '`node node_modules/electron/install.js` after npm ci (the electron package downloads it on first use, ' +
          'not at install)',
      };
    }
    const linuxCI = ci && platform === 'linux' ? ' (and Linux CI has no display for Electron anyway)' : '';
    return { fail: false, reason: `${NO_BINARY_REASON}${linuxCI}` };
  }
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return {
      fail: false,
      reason:
        'no display (DISPLAY and WAYLAND_DISPLAY are unset): run under xvfb-run — these tests run in the ' +
        'windows-latest GitHub workflow',
    };
  }
  return null;
}

/** Bundle every tests/electron/*.e2e.ts to out/electron-e2e/; returns the compiled files. */
async function compile() {
  const sourceDir = join(repoRoot, 'tests', 'electron');
  const sources = findFiles(sourceDir, (name) => name.endsWith('.e2e.ts'));
  if (sources.length === 0) throw new Error('no tests/electron/*.e2e.ts');
  return bundleTestFolder(sourceDir, sources, join(repoRoot, 'out', 'electron-e2e'));
}

const nodeTestArgs = (files) => [
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=1',
  '--enable-source-maps',
  ...files.map(repoRelative),
];

/** `node --test` without echoing (the skip run: its only news is the count). */
function runQuiet(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Build and run the Electron tests, or report them skipped with the reason.
 * @returns {Promise<{ status: 'passed' | 'failed' | 'skipped', message: string,
 *   counts: null | { tests: number, pass: number, fail: number, skipped: number, todo: number, cancelled: number } }>}
 */
export async function runElectronLeg({ ci = isCI() } = {}) {
  const started = Date.now();
  const blocker = electronBlocker({ ci });
  if (blocker?.fail) return { status: 'failed', counts: null, message: blocker.reason };

  let files;
  try {
    files = await compile();
  } catch (error) {
    return { status: 'failed', counts: null, message: `could not bundle tests/electron: ${error.message}` };
  }

  if (blocker) {
    // Still load the compiled tests (so a broken file fails here too), each one skipped with the reason: the
    // summary then counts them as skipped.
    const env = { ...process.env, HOSTMEM_ELECTRON_SKIP: blocker.reason };
    const { code, output } = await runQuiet(nodeTestArgs(files), env);
    const counts = parseNodeTestSummary(output);
    if (code !== 0 || !counts || counts.fail > 0 || counts.cancelled > 0 || counts.pass > 0) {
      process.stdout.write(output);
      return { status: 'failed', counts, message: `the skipped run of ${files.length} file(s) failed (exit ${code})` };
    }
    return { status: 'skipped', counts, message: `${counts.skipped} tests skipped: ${blocker.reason}` };
  }

  for (const [file, hint] of [
    [join(repoRoot, 'out', 'main', 'index.js'), 'npm run build:app'],
    [join(repoRoot, 'out', 'preload', 'index.cjs'), 'npm run build:app'],
    [join(repoRoot, 'out', 'renderer', 'index.html'), 'npm run build:app'],
  ]) {
    if (!existsSync(file)) {
      return { status: 'failed', counts: null, message: `${repoRelative(file)} is missing: run ${hint}` };
    }
  }
  const env = { ...process.env };
  delete env.HOSTMEM_ELECTRON_SKIP;
  delete env.ELECTRON_RUN_AS_NODE;
  const { code, output } = await run(process.execPath, nodeTestArgs(files), { cwd: repoRoot, env, capture: true });
  const counts = parseNodeTestSummary(output);
  const elapsed = formatDuration(Date.now() - started);
  if (!counts) {
    return { status: 'failed', counts: null, message: `node --test exited ${code} without a summary (${elapsed})` };
  }
  const ok = code === 0 && counts.fail === 0 && counts.cancelled === 0 && counts.pass > 0;
  const skipped = counts.skipped + counts.todo;
  return {
    status: ok ? 'passed' : 'failed',
    counts,
    message:
      `${counts.tests} tests in ${files.length} file(s), ${counts.pass} passed, ${counts.fail} failed` +
      `${counts.cancelled ? `, ${counts.cancelled} cancelled` : ''}${skipped ? `, ${skipped} skipped` : ''}` +
      ` (${elapsed}); screenshots and the app's output in test-artifacts/`,
  };
}

if (isMain(import.meta.url)) {
  const result = await runElectronLeg();
  console.log(`electron: ${result.status === 'skipped' ? 'SKIPPED — ' : ''}${result.message}`);
  process.exit(result.status === 'failed' ? 1 : 0);
}
