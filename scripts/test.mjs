#!/usr/bin/env node
// `npm test`: everything that proves hostmem works, in one command, on a fresh clone.
//
// Legs, in order (all of them run; each is timed and reported; the exit status is non-zero if any failed):
//   lint · typecheck node · typecheck web · build node · node tests · renderer (vitest) · win32 (Wine) ·
//   chromium · electron-vite build · electronegativity (over out/main, out/preload, out/renderer) ·
//   e2e (Chromium against `hostmem serve`) · prometheus (a real Prometheus server scraping `hostmem serve`) · electron (the desktop app; skipped, and counted as skipped, where there
//   is no Electron binary)
// The last line is exactly `hostmem: N passed, M failed, K skipped`, the test counts summed over the node tests,
// the Wine run, vitest, the e2e tests, the Prometheus tests and the Electron tests.
//
// Options: --only=leg,leg  --skip=leg,leg  (leg ids: lint, typecheck-node, typecheck-web, build-node, node-tests,
// vitest, wine, chromium, app-build, electronegativity, e2e, prometheus, electron)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFiles, formatDuration, repoRelative, repoRoot, runBin, runNpm } from './util.mjs';

const isCI = process.env.CI === 'true' || process.env.CI === '1';

/** npm ci when node_modules is missing or older than package-lock.json (a fresh clone, or a lock that moved). */
async function ensureDependencies() {
  const lock = join(repoRoot, 'package-lock.json');
  const installed = join(repoRoot, 'node_modules', '.package-lock.json');
  const marker = existsSync(installed) ? installed : join(repoRoot, 'node_modules');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return true;
  console.log(
    `hostmem: ${existsSync(marker) ? 'node_modules is older than package-lock.json' : 'no node_modules'}; running npm ci`,
  );
  const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' };
  const { code } = await runNpm(['ci'], { env });
  return code === 0;
}

const counts = { passed: 0, failed: 0, skipped: 0 };
function addNodeCounts(c) {
  if (!c) return;
  counts.passed += c.pass;
  counts.failed += c.fail + c.cancelled;
  counts.skipped += c.skipped + c.todo;
}

/** @typedef {{ status: 'passed' | 'failed' | 'skipped', detail?: string }} LegResult */

const state = { buildNodeOk: false, buildNodeRan: false, appBuildOk: false, appBuildRan: false };

const chromiumHint = 'install it with `sudo apt-get install chromium` (or run `bash .ci/run`), or set HOSTMEM_CHROMIUM';
const chromiumPath = () => process.env.HOSTMEM_CHROMIUM || '/usr/bin/chromium';

/** @type {{ id: string, name: string, run: () => Promise<LegResult> }[]} */
const legs = [
  {
    id: 'lint',
    name: 'lint (eslint + prettier --check)',
    async run() {
      const eslint = await runBin('eslint', 'eslint', ['.']);
      const prettier = await runBin('prettier', 'prettier', ['--check', '.', '--log-level', 'warn']);
      const failed = [eslint.code !== 0 && 'eslint', prettier.code !== 0 && 'prettier'].filter(Boolean);
      return failed.length ? { status: 'failed', detail: `${failed.join(' and ')} reported problems` } : ok();
    },
  },
  {
    id: 'typecheck-node',
    name: 'typecheck node (tsc -p tsconfig.node.json)',
    run: async () => exitStatus(await runBin('typescript', 'tsc', ['-p', 'tsconfig.node.json', '--noEmit'])),
  },
  {
    id: 'typecheck-web',
    name: 'typecheck web (vue-tsc -p tsconfig.web.json)',
    run: async () => exitStatus(await runBin('vue-tsc', 'vue-tsc', ['-p', 'tsconfig.web.json', '--noEmit'])),
  },
  {
    id: 'build-node',
    name: 'build node (CLI, tests, benchmarks)',
    async run() {
      const { buildNode } = await import('./build-node.mjs');
      state.buildNodeRan = true;
      try {
        const built = await buildNode();
        state.buildNodeOk = true;
        return ok(`${built.cli ? 'CLI + ' : 'no CLI yet + '}${built.tests} test files, ${built.benches} benchmark(s)`);
      } catch (error) {
        return { status: 'failed', detail: error.message };
      }
    },
  },
  {
    id: 'node-tests',
    name: `node tests (${process.platform === 'win32' ? 'Windows, win32 backend' : 'Linux, posix backend'})`,
    async run() {
      if (!state.buildNodeOk) return { status: 'failed', detail: 'not run: build node failed' };
      const { runNodeTests } = await import('./run-node-tests.mjs');
      const result = await runNodeTests();
      addNodeCounts(result.counts);
      return { status: result.ok ? 'passed' : 'failed', detail: result.message };
    },
  },
  {
    id: 'vitest',
    name: 'renderer (vitest, happy-dom)',
    async run() {
      const specs = findFiles(join(repoRoot, 'renderer'), (name) => name.endsWith('.spec.ts'));
      if (specs.length === 0) return { status: 'skipped', detail: 'no renderer specs yet' };
      const report = join(repoRoot, 'out', 'test-results', 'vitest.json');
      mkdirSync(join(repoRoot, 'out', 'test-results'), { recursive: true });
      rmSync(report, { force: true });
      const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
      const { code } = await runBin('vitest', 'vitest', args);
      if (!existsSync(report)) return { status: 'failed', detail: `vitest exited ${code} without a report` };
      const json = JSON.parse(readFileSync(report, 'utf8'));
      const skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
      counts.passed += json.numPassedTests ?? 0;
      counts.failed += json.numFailedTests ?? 0;
      counts.skipped += skipped;
      const detail = `${json.numTotalTests} tests in ${specs.length} spec files, ${json.numPassedTests} passed, ${json.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
      return { status: code === 0 && json.numFailedTests === 0 ? 'passed' : 'failed', detail };
    },
  },
  {
    id: 'wine',
    name: 'win32 (Wine)',
    async run() {
      if (process.platform !== 'win32' && !state.buildNodeOk)
        return { status: 'failed', detail: 'not run: build node failed' };
      const { runWin32Leg } = await import('./test-win32.mjs');
      const result = await runWin32Leg();
      addNodeCounts(result.counts);
      return { status: result.status, detail: result.message };
    },
  },
  {
    id: 'chromium',
    name: 'chromium (for the browser tests)',
    async run() {
      // Makes sure the browser the e2e leg needs is there (and says which one).
      if (process.platform === 'win32') return { status: 'skipped', detail: 'browser tests run on Linux' };
      const browser = chromiumPath();
      if (!existsSync(browser)) {
        return isCI
          ? { status: 'failed', detail: `${browser} is missing (required under CI=true): ${chromiumHint}` }
          : { status: 'skipped', detail: `${browser} is missing: ${chromiumHint}` };
      }
      const version = spawnSync(browser, ['--version'], { encoding: 'utf8', timeout: 30_000 });
      if (version.status !== 0) return { status: 'failed', detail: `${browser} --version failed` };
      return ok(version.stdout.trim());
    },
  },
  {
    id: 'app-build',
    name: 'electron-vite build (main, preload, renderer)',
    async run() {
      const result = exitStatus(await runBin('electron-vite', 'electron-vite', ['build']));
      state.appBuildRan = true;
      state.appBuildOk = result.status === 'passed';
      return result;
    },
  },
  {
    id: 'electronegativity',
    name: 'electronegativity (out/main, out/preload, out/renderer)',
    async run() {
      if (state.appBuildRan && !state.appBuildOk)
        return { status: 'failed', detail: 'not run: electron-vite build failed' };
      return runElectronegativity();
    },
  },
  {
    id: 'e2e',
    name: 'e2e (Chromium against hostmem serve)',
    async run() {
      if (process.platform === 'win32') return { status: 'skipped', detail: 'browser tests run on Linux' };
      const browser = chromiumPath();
      if (!existsSync(browser)) {
        return isCI
          ? { status: 'failed', detail: `${browser} is missing (required under CI=true): ${chromiumHint}` }
          : { status: 'skipped', detail: `${browser} is missing: ${chromiumHint}` };
      }
      // Run alone (--only=e2e) it uses what out/ holds; after a failed build leg it does not run on stale output.
      if (state.buildNodeRan && !state.buildNodeOk) return { status: 'failed', detail: 'not run: build node failed' };
      if (state.appBuildRan && !state.appBuildOk)
        return { status: 'failed', detail: 'not run: electron-vite build failed' };
      const { runE2e } = await import('./test-e2e.mjs');
      const result = await runE2e();
      addNodeCounts(result.counts);
      return { status: result.ok ? 'passed' : 'failed', detail: result.message };
    },
  },
  {
    id: 'prometheus',
    name: 'prometheus (a real Prometheus server scraping hostmem serve)',
    async run() {
      // Skipped with the install command where Debian's prometheus is missing; a failure under CI=true.
      if (state.buildNodeRan && !state.buildNodeOk) return { status: 'failed', detail: 'not run: build node failed' };
      const { runPrometheusLeg } = await import('./test-prometheus.mjs');
      const result = await runPrometheusLeg({ ci: isCI });
      addNodeCounts(result.counts);
      return { status: result.status, detail: result.message };
    },
  },
  {
    id: 'electron',
    name: 'electron (the desktop app, playwright-core _electron)',
    async run() {
      // Skipped with the reason where there is no Electron binary (its tests still count as skipped); a failure
      // under CI=true on Windows, where the workflow downloads it.
      if (state.appBuildRan && !state.appBuildOk)
        return { status: 'failed', detail: 'not run: electron-vite build failed' };
      const { runElectronLeg } = await import('./test-electron.mjs');
      const result = await runElectronLeg({ ci: isCI });
      addNodeCounts(result.counts);
      return { status: result.status, detail: result.message };
    },
  },
];

/**
 * Electronegativity (Doyensec's Electron security linter) over what electron-vite built. Any finding of MEDIUM
 * severity or above fails the leg, unless the source justifies it on the finding's line with electronegativity's own
 * `eng-disable CHECK_ID` comment — written `/* eng-disable CHECK_ID @preserve *\/` so that the bundler keeps it in
 * out/ (it drops plain comments). A file it cannot parse fails the leg too (it would otherwise go unchecked). It
 * works offline: its translation and Electron-release look-ups time out after a second and are not needed.
 * The CSV of every finding, LOW included, is written to out/test-results/electronegativity.csv.
 */
async function runElectronegativity() {
  const dirs = ['main', 'preload', 'renderer'];
  const missing = dirs.filter((dir) => !existsSync(join(repoRoot, 'out', dir)));
  if (missing.length)
    return { status: 'failed', detail: `out/${missing.join(', out/')} missing: run npm run build:app` };
  const require = createRequire(import.meta.url);
  // The Electron the app is typed and packaged against (electronegativity cannot see it from out/).
  const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  const { default: electronegativity } = await import('@doyensec/electronegativity');
  const reportDir = join(repoRoot, 'out', 'test-results');
  const report = join(reportDir, 'electronegativity.csv');
  mkdirSync(reportDir, { recursive: true });
  // One scan over the three folders together: its global checks (CSP, navigation limits, permission handler) weigh
  // what main does against what the renderer ships, so they need to see the whole app at once. out/ also holds the
  // CLI, tests and benchmarks, which are not the app: copy the app's three folders aside.
  const app = mkdtempSync(join(tmpdir(), 'hostmem-electronegativity-'));
  let result;
  try {
    for (const dir of dirs) cpSync(join(repoRoot, 'out', dir), join(app, dir), { recursive: true });
    result = await electronegativity({
      input: app,
      output: report,
      isRelative: true,
      electronVersionOverride: electronVersion,
      severitySet: 'informational',
      confidenceSet: 'tentative',
    });
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
  const problems = result.errors.filter((e) => !e.tolerable).map((e) => `${e.file}: ${e.message}`);
  const blocking = [];
  let low = 0;
  for (const issue of result.issues) {
    const where = issue.file === 'N/A' ? 'app-wide' : `out/${issue.file}:${issue.location.line}`;
    const line = `${issue.id} (${issue.severity.name}, ${issue.confidence.name}) ${where} ${String(issue.sample ?? '')
      .trim()
      .slice(0, 100)}`;
    if (issue.severity.value >= 2) blocking.push(line);
    else low += 1;
    console.log(`  ${issue.severity.value >= 2 ? 'FINDING' : 'low    '}  ${line}`);
  }
  for (const problem of problems) console.log(`  unparsed  ${problem}`);
  const summary = `Electron ${electronVersion}; ${blocking.length} at medium or above, ${low} low/informational (${repoRelative(report)})`;
  if (blocking.length || problems.length)
    return {
      status: 'failed',
      detail: `${summary}${problems.length ? `; ${problems.length} file(s) could not be parsed` : ''}; fix them or justify inline with /* eng-disable CHECK_ID @preserve */`,
    };
  return ok(summary);
}

function ok(detail) {
  return { status: 'passed', ...(detail ? { detail } : {}) };
}
function exitStatus({ code }) {
  return code === 0 ? ok() : { status: 'failed', detail: `exit ${code}` };
}

function selectedLegs(argv) {
  const list = (flag) =>
    argv
      .filter((a) => a.startsWith(`--${flag}=`))
      .flatMap((a) => a.slice(flag.length + 3).split(','))
      .filter(Boolean);
  const only = list('only');
  const skip = list('skip');
  for (const id of [...only, ...skip]) {
    if (!legs.some((leg) => leg.id === id)) {
      console.error(`hostmem: unknown leg "${id}" (legs: ${legs.map((l) => l.id).join(', ')})`);
      process.exit(2);
    }
  }
  return legs.filter((leg) => (only.length === 0 || only.includes(leg.id)) && !skip.includes(leg.id));
}

async function main() {
  const chosen = selectedLegs(process.argv.slice(2));
  const started = Date.now();
  if (!(await ensureDependencies())) {
    console.error('hostmem: npm ci failed');
    console.log('hostmem: 0 passed, 0 failed, 0 skipped');
    process.exit(1);
  }

  const results = [];
  for (const leg of chosen) {
    console.log(`\n━━ ${leg.name} ━━`);
    const legStarted = Date.now();
    let result;
    try {
      result = await leg.run();
    } catch (error) {
      result = { status: 'failed', detail: error instanceof Error ? error.message : String(error) };
    }
    const ms = Date.now() - legStarted;
    results.push({ leg, result, ms });
    console.log(
      `━━ ${leg.name}: ${result.status.toUpperCase()} in ${formatDuration(ms)}${result.detail ? ` — ${result.detail}` : ''}`,
    );
  }

  const width = Math.max(...results.map((r) => r.leg.name.length));
  console.log(`\nhostmem test summary (${formatDuration(Date.now() - started)}${isCI ? ', CI=true' : ''}):`);
  for (const { leg, result, ms } of results) {
    const status = result.status === 'passed' ? 'ok  ' : result.status === 'failed' ? 'FAIL' : 'skip';
    console.log(
      `  ${status}  ${leg.name.padEnd(width)}  ${formatDuration(ms).padStart(8)}${result.detail ? `  ${result.detail}` : ''}`,
    );
  }
  const failedLegs = results.filter((r) => r.result.status === 'failed').length;
  console.log(`hostmem: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  process.exit(failedLegs > 0 || counts.failed > 0 ? 1 : 0);
}

await main();
