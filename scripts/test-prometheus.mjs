#!/usr/bin/env node
// The Prometheus leg: tests/prometheus/*.prometheus.ts bundled by esbuild to out/prometheus/, then run with
// `node --test` against a real `hostmem serve` child (out/cli/hostmem.js) and a real Prometheus server the test
// starts itself (Debian's `prometheus`: HOSTMEM_PROMETHEUS or /usr/bin/prometheus; promtool: HOSTMEM_PROMTOOL or
// /usr/bin/promtool). Missing Prometheus: skipped with the install command, or a failure under CI=true.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleTestFolder } from './build-node.mjs';
import { findFiles, formatDuration, isMain, parseNodeTestSummary, repoRelative, repoRoot, run } from './util.mjs';

export const prometheusHint =
  'install it with `sudo apt-get install prometheus` (or run `bash .ci/run`), or set HOSTMEM_PROMETHEUS and HOSTMEM_PROMTOOL';

export function prometheusPaths() {
  return {
    prometheus: process.env.HOSTMEM_PROMETHEUS || '/usr/bin/prometheus',
    promtool: process.env.HOSTMEM_PROMTOOL || '/usr/bin/promtool',
  };
}

/** @returns {Promise<{ status: 'passed' | 'failed' | 'skipped', message: string, counts: object | null }>} */
export async function runPrometheusLeg({ ci }) {
  if (process.platform === 'win32') {
    return { status: 'skipped', counts: null, message: 'the Prometheus leg runs on Linux (Debian package)' };
  }
  const paths = prometheusPaths();
  const missing = Object.values(paths).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    const why = `${missing.join(' and ')} missing`;
    return ci
      ? { status: 'failed', counts: null, message: `${why} (required under CI=true): ${prometheusHint}` }
      : { status: 'skipped', counts: null, message: `${why}: ${prometheusHint}` };
  }
  const cli = join(repoRoot, 'out', 'cli', 'hostmem.js');
  if (!existsSync(cli))
    return {
      status: 'failed',
      counts: null,
      message: `${repoRelative(cli)} is missing: run node scripts/build-node.mjs`,
    };
  const sources = findFiles(join(repoRoot, 'tests', 'prometheus'), (name) => name.endsWith('.prometheus.ts'));
  if (sources.length === 0) return { status: 'failed', counts: null, message: 'no tests/prometheus/*.prometheus.ts' };
  const files = await bundleTestFolder(
    join(repoRoot, 'tests', 'prometheus'),
    sources,
    join(repoRoot, 'out', 'prometheus'),
  );
  const started = Date.now();
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=1',
    '--enable-source-maps',
    ...files.map(repoRelative),
  ];
  const env = { ...process.env, HOSTMEM_PROMETHEUS: paths.prometheus, HOSTMEM_PROMTOOL: paths.promtool };
  const { code, output } = await run(process.execPath, args, { cwd: repoRoot, env, capture: true });
  const counts = parseNodeTestSummary(output);
  const elapsed = formatDuration(Date.now() - started);
  if (!counts)
    return { status: 'failed', counts: null, message: `node --test exited ${code} without a summary (${elapsed})` };
  const ok = code === 0 && counts.fail === 0 && counts.cancelled === 0 && counts.tests > 0;
  return {
    status: ok ? 'passed' : 'failed',
    counts,
    message: `${counts.tests} tests in ${files.length} file(s), ${counts.pass} passed, ${counts.fail} failed${counts.cancelled ? `, ${counts.cancelled} cancelled` : ''} (${elapsed}); Prometheus log in test-artifacts/prometheus.log`,
  };
}

if (isMain(import.meta.url)) {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  const result = await runPrometheusLeg({ ci });
  console.log(`prometheus: ${result.status}: ${result.message}`);
  process.exit(result.status === 'failed' ? 1 : 0);
}
