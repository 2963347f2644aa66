#!/usr/bin/env node
// Run the compiled backend tests (out/tests/**/*.test.js, built by build-node.mjs) with this Node's test runner:
//   node --test --test-reporter=spec --enable-source-maps <explicit file list>
// cwd is the repository root (tests find fixtures relative to it). HOSTMEM_EXPECT_BACKEND tells the tests which
// native backend they must be running on: win32 on Windows, posix elsewhere.
import {
  compiledTestFiles,
  formatDuration,
  isMain,
  parseNodeTestSummary,
  repoRelative,
  repoRoot,
  run,
} from './util.mjs';

export function expectedBackend() {
  return process.platform === 'win32' ? 'win32' : 'posix';
}

/**
 * @returns {Promise<{ ok: boolean, message: string, counts: null | { tests: number, pass: number, fail: number,
 *   skipped: number, todo: number, cancelled: number } }>}
 */
export async function runNodeTests() {
  const files = compiledTestFiles();
  if (files.length === 0) {
    return { ok: false, counts: null, message: 'no compiled tests in out/tests (run scripts/build-node.mjs first)' };
  }
  const started = Date.now();
  const args = ['--test', '--test-reporter=spec', '--enable-source-maps', ...files.map(repoRelative)];
  const env = { ...process.env, HOSTMEM_EXPECT_BACKEND: expectedBackend() };
  const { code, output } = await run(process.execPath, args, { cwd: repoRoot, env, capture: true });
  const counts = parseNodeTestSummary(output);
  const elapsed = formatDuration(Date.now() - started);
  if (!counts) return { ok: false, counts: null, message: `node --test exited ${code} without a summary (${elapsed})` };
  const ok = code === 0 && counts.fail === 0 && counts.cancelled === 0 && counts.tests > 0;
  const message =
    `${process.platform} (Node ${process.versions.node}, ${expectedBackend()} backend): ` +
    `${counts.tests} tests in ${files.length} files, ${counts.pass} passed, ${counts.fail} failed` +
    `${counts.cancelled ? `, ${counts.cancelled} cancelled` : ''}` +
    `${counts.skipped + counts.todo ? `, ${counts.skipped + counts.todo} skipped` : ''}` +
    (counts.tests === 0 ? ' (no tests ran)' : '');
  return { ok, counts, message };
}

if (isMain(import.meta.url)) {
  const result = await runNodeTests();
  console.log(result.message);
  process.exit(result.ok ? 0 : 1);
}
