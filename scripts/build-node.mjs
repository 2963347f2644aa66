#!/usr/bin/env node
// Build what runs in plain Node (no Electron), with esbuild:
//   (a) the `hostmem` command: main/cli/index.ts → out/cli/hostmem.js
//   (b) every backend test: {main,native,tests}/**/*.test.ts → out/tests/<same relative path>.test.js
//   (c) every benchmark: bench/**/*.bench.ts → out/bench/<same path under bench/>.bench.js
// Everything is bundled except koffi (a native addon that finds its binary next to itself in node_modules), so the
// same files run under Linux Node and under Windows Node in Wine. Output folders are emptied first so a deleted
// test never runs from a stale build.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { buildAgent, buildWindowsAgent, buildWindowsTestPrograms } from './build-agent.mjs';
import { findFiles, formatDuration, isMain, repoRelative, repoRoot } from './util.mjs';

const cliEntry = join(repoRoot, 'main', 'cli', 'index.ts');
const outDir = join(repoRoot, 'out');

// Bundled CommonJS dependencies (ws, ...) call require() for Node built-ins; ESM output has no `require`, so
// define one. esbuild's __require helper picks it up.
const requireShim =
  "import { createRequire as __hostmemCreateRequire } from 'node:module';\n" +
  'const require = __hostmemCreateRequire(import.meta.url);';

/** The commit being built, for hostmem_build_info (main/metrics/build-info.ts); `unknown` without git. */
export function sourceRevision() {
  const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  return git.status === 0 && git.stdout.trim() !== '' ? git.stdout.trim() : 'unknown';
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi', 'electron', 'playwright-core'],
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: repoRoot,
  // Our sources are TypeScript ESM written without extensions: esbuild resolves them like the Bundler mode does.
  resolveExtensions: ['.ts', '.js', '.mjs', '.json'],
  define: { __HOSTMEM_REVISION__: JSON.stringify(sourceRevision()) },
};

/**
 * Bundle the test files of one folder (tests/e2e, tests/electron) for Node like the rest: `sources` into `outdir`
 * (emptied first), keeping their paths under `sourceDir`. Resolves to the compiled files, in the order given.
 */
export async function bundleTestFolder(sourceDir, sources, outdir) {
  rmSync(outdir, { recursive: true, force: true });
  await build({ ...common, entryPoints: sources, outbase: sourceDir, outdir, banner: { js: requireShim } });
  return sources.map((s) => join(outdir, relative(sourceDir, s).replace(/\.ts$/, '.js')));
}

/** Bundle one module for Node like the rest (koffi external, the require shim): `entry` to `outfile`. */
export async function bundleModule(entry, outfile) {
  await build({ ...common, entryPoints: [entry], outfile, banner: { js: requireShim } });
  return outfile;
}

export function listTestSources() {
  const accept = (name) => name.endsWith('.test.ts');
  return ['main', 'native', 'tests'].flatMap((dir) => findFiles(join(repoRoot, dir), accept));
}

export function listBenchSources() {
  return findFiles(join(repoRoot, 'bench'), (name) => name.endsWith('.bench.ts'));
}

/** Build everything; throws (after esbuild has printed the errors) when anything fails to compile. */
export async function buildNode({ quiet = false } = {}) {
  const started = Date.now();
  const log = quiet ? () => {} : (line) => console.log(line);
  const built = { cli: false, tests: 0, benches: 0 };

  for (const dir of ['cli', 'tests', 'bench']) rmSync(join(outDir, dir), { recursive: true, force: true });

  const jobs = [];
  if (existsSync(cliEntry)) {
    // esbuild keeps a hashbang found in the entry; add ours only when the source has none.
    const hashbang = readFileSync(cliEntry, 'utf8').startsWith('#!') ? '' : '#!/usr/bin/env node\n';
    const cliOut = join(outDir, 'cli', 'hostmem.js');
    jobs.push(
      build({
        ...common,
        entryPoints: [cliEntry],
        outfile: cliOut,
        banner: { js: `${hashbang}${requireShim}` },
      }).then(() => {
        if (process.platform !== 'win32') chmodSync(cliOut, 0o755);
        built.cli = true;
      }),
    );
  } else {
    console.warn(`build-node: warning: ${repoRelative(cliEntry)} does not exist yet; out/cli/hostmem.js not built`);
  }

  const tests = listTestSources();
  if (tests.length > 0) {
    jobs.push(
      build({
        ...common,
        entryPoints: tests,
        outbase: repoRoot,
        outdir: join(outDir, 'tests'),
        banner: { js: requireShim },
      }).then(() => {
        built.tests = tests.length;
      }),
    );
  }

  const benches = listBenchSources();
  if (benches.length > 0) {
    jobs.push(
      build({
        ...common,
        entryPoints: benches,
        outbase: join(repoRoot, 'bench'),
        outdir: join(outDir, 'bench'),
        banner: { js: requireShim },
      }).then(() => {
        built.benches = benches.length;
      }),
    );
  }

  // The agent of `hostmem launch` (C, native/agent): built here so that every command and test finds it.
  jobs.push(
    Promise.resolve().then(() => {
      const agent = buildAgent({ quiet: true });
      built.agent = agent.built ? 'out/agent/libhostmem-agent.so' : `no agent (${agent.reason})`;
      const windows = buildWindowsAgent({ quiet: true });
      if (windows.built) buildWindowsTestPrograms();
      built.agent += windows.built ? ', out/agent/hostmem-agent.dll' : ', no Windows agent';
    }),
  );

  const results = await Promise.allSettled(jobs);
  const failures = results.filter((r) => r.status === 'rejected');
  if (failures.length > 0) {
    const count = failures.reduce((n, f) => n + (f.reason?.errors?.length ?? 1), 0);
    const error = new Error(`build-node: ${count} build error(s); see above`);
    for (const f of failures) if (!f.reason?.errors) console.error(f.reason);
    throw error;
  }

  log(
    `build-node: ${built.cli ? 'out/cli/hostmem.js, ' : ''}${built.agent}, ${built.tests} test file(s), ` +
      `${built.benches} benchmark(s) in ${formatDuration(Date.now() - started)}`,
  );
  return built;
}

if (isMain(import.meta.url)) {
  buildNode().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
