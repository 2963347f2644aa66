// Small helpers shared by the project scripts: where the repository is, how to run a tool, how to read
// the summary of `node --test`. Plain Node (>= 20), no dependencies, works on Linux and Windows.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** True when the module at `metaUrl` is the script Node was started with. */
export function isMain(metaUrl) {
  return process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === metaUrl;
}

/** Repository-relative path with forward slashes (stable across OSes, used in messages and patterns). */
export function repoRelative(file) {
  return relative(repoRoot, file).split(sep).join('/');
}

/**
 * Every file under `dir` (recursively) whose name satisfies `accept`, sorted, as absolute paths.
 * Skips node_modules, out, dist, .cache and dot-folders.
 */
export function findFiles(dir, accept) {
  const found = [];
  const skip = new Set(['node_modules', 'out', 'dist', '.cache', '.git']);
  const walk = (current) => {
    if (!existsSync(current)) return;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!skip.has(entry.name) && !entry.name.startsWith('.')) walk(join(current, entry.name));
      } else if (entry.isFile() && accept(entry.name)) {
        found.push(join(current, entry.name));
      }
    }
  };
  walk(dir);
  return found.sort();
}

/** The compiled backend test files (`out/tests/**\/*.test.js`), sorted, absolute. */
export function compiledTestFiles() {
  const dir = join(repoRoot, 'out', 'tests');
  const found = [];
  const walk = (current) => {
    if (!existsSync(current)) return;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(full);
    }
  };
  walk(dir);
  return found.sort();
}

/** Absolute path of the JavaScript file behind a package's bin (so we run it with this Node, on every OS). */
export function packageBin(pkg, name = pkg) {
  const pkgDir = join(repoRoot, 'node_modules', pkg);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[name];
  if (!bin) throw new Error(`${pkg} has no bin named ${name}`);
  return join(pkgDir, bin);
}

/**
 * Run a command. stdio is inherited unless `capture` is set, in which case stdout and stderr are both echoed
 * live and also returned (as one interleaved string) so the caller can parse them.
 * Resolves with { code, output }; never rejects for a non-zero exit (it rejects only if the command cannot start).
 */
export function run(command, args, { cwd = repoRoot, env = process.env, capture = false, shell = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd,
      env,
      shell,
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    });
    let output = '';
    if (capture) {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        process.stdout.write(chunk);
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
        process.stderr.write(chunk);
      });
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** Run a package's bin with the current Node. */
export function runBin(pkg, binName, args, options) {
  return run(process.execPath, [packageBin(pkg, binName), ...args], options);
}

/** `npm` itself: on Windows it is a .cmd shim, which Node only spawns through a shell. */
export function runNpm(args, options = {}) {
  const win = process.platform === 'win32';
  return run(win ? 'npm.cmd' : 'npm', win ? args.map(quoteForCmd) : args, { ...options, shell: win });
}

/** Through cmd.exe (shell: true) arguments are joined with spaces: quote the ones that contain any. */
export function quoteForCmd(arg) {
  return /[\s"]/.test(arg) ? `"${arg.replace(/"/g, '""')}"` : arg;
}

/**
 * Parse the summary that `node --test --test-reporter=spec` prints last:
 *   ℹ tests 57 / ℹ suites 9 / ℹ pass 57 / ℹ fail 0 / ℹ cancelled 0 / ℹ skipped 0 / ℹ todo 0
 * Returns null when no summary is present (the run crashed before the end).
 */
export function parseNodeTestSummary(text) {
  const plain = text.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
  const read = (name) => {
    const matches = [...plain.matchAll(new RegExp(`^\\S*\\s*${name} (\\d+)\\s*$`, 'gm'))];
    return matches.length ? Number(matches[matches.length - 1][1]) : undefined;
  };
  const tests = read('tests');
  const pass = read('pass');
  const fail = read('fail');
  if (tests === undefined || pass === undefined || fail === undefined) return null;
  return {
    tests,
    pass,
    fail,
    cancelled: read('cancelled') ?? 0,
    skipped: read('skipped') ?? 0,
    todo: read('todo') ?? 0,
  };
}

/** "1.2 s" / "350 ms" */
export function formatDuration(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
