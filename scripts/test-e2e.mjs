#!/usr/bin/env node
// The browser tests: tests/e2e/**/*.e2e.ts bundled by esbuild to out/e2e/ (playwright-core and koffi stay external),
// then run with `node --test` against a real `hostmem serve` child and Debian's Chromium (HOSTMEM_CHROMIUM or
// /usr/bin/chromium). Needs out/cli/hostmem.js (build-node.mjs) and out/renderer (electron-vite build).
// Screenshots land in test-artifacts/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleTestFolder } from './build-node.mjs';
import { findFiles, formatDuration, isMain, parseNodeTestSummary, repoRelative, repoRoot, run } from './util.mjs';

export function chromiumPath() {
  return process.env.HOSTMEM_CHROMIUM || '/usr/bin/chromium';
}

/** Build and run the e2e files. @returns {Promise<{ ok: boolean, message: string, counts: object | null }>} */
export async function runE2e() {
  const sources = findFiles(join(repoRoot, 'tests', 'e2e'), (name) => name.endsWith('.e2e.ts'));
  if (sources.length === 0) return { ok: false, counts: null, message: 'no tests/e2e/*.e2e.ts' };
  for (const [file, hint] of [
    [join(repoRoot, 'out', 'cli', 'hostmem.js'), 'node scripts/build-node.mjs'],
    [join(repoRoot, 'out', 'renderer', 'index.html'), 'npm run build:app'],
  ]) {
    if (!existsSync(file)) return { ok: false, counts: null, message: `${repoRelative(file)} is missing: run ${hint}` };
  }
  const files = await bundleTestFolder(join(repoRoot, 'tests', 'e2e'), sources, join(repoRoot, 'out', 'e2e'));
  const started = Date.now();
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=1',
    '--enable-source-maps',
    ...files.map(repoRelative),
  ];
  const env = { ...process.env, HOSTMEM_CHROMIUM: chromiumPath() };
  const { code, output } = await run(process.execPath, args, { cwd: repoRoot, env, capture: true });
  const counts = parseNodeTestSummary(output);
  const elapsed = formatDuration(Date.now() - started);
  if (!counts) return { ok: false, counts: null, message: `node --test exited ${code} without a summary (${elapsed})` };
  const ok = code === 0 && counts.fail === 0 && counts.cancelled === 0 && counts.tests > 0;
  return {
    ok,
    counts,
    message: `${counts.tests} tests in ${files.length} file(s), ${counts.pass} passed, ${counts.fail} failed${counts.cancelled ? `, ${counts.cancelled} cancelled` : ''} (${elapsed}); screenshots in test-artifacts/`,
  };
}

if (isMain(import.meta.url)) {
  const result = await runE2e();
  console.log(`e2e: ${result.message}`);
  process.exit(result.ok ? 0 : 1);
}
