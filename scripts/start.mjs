#!/usr/bin/env node
// `npm start`: build the app, then run it —
//   - the desktop app, with the Electron binary from node_modules (ELECTRON_OVERRIDE_DIST_PATH, a folder holding an
//     Electron build, is honoured as the electron package itself does);
//   - where there is no Electron binary (offline machines, CI installs with ELECTRON_SKIP_BINARY_DOWNLOAD=1), or with
//     `--browser`: the same dashboard served on loopback by `hostmem serve`'s own code, in this process (one process,
//     so Ctrl+C reaches exactly what it must stop), opened in the default browser where there is a desktop.
//
// In browser mode the first line on stdout is the URL with its token, as `hostmem serve` prints it; everything this
// script says itself (build output included) goes to stderr, so scripts and tests can read that line.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { bundleModule } from './build-node.mjs';
import { openInBrowser } from './open-browser.mjs';
import { packageBin, repoRoot } from './util.mjs';

const electronDir = join(repoRoot, 'node_modules', 'electron');

const USAGE = `Usage: npm start [-- OPTIONS]

Builds the app, then runs the desktop app (Electron). Where the Electron binary is missing, or with --browser, serves
the same dashboard on loopback instead (as \`hostmem serve\` does, with the default workload) and opens it in the
default browser; the first line printed is its URL. Ctrl+C stops it.

Options:
  --browser        the dashboard in the browser even where Electron is installed
  --no-open        do not open a browser (the URL is printed either way)
  -h, --help       show this help
Browser mode also takes \`hostmem serve\`'s options (--port N, --scenario NAME|none, --commit-limit SIZE, …);
the desktop app takes its own switches (--hidden: start in the tray).
`;

/** Our own switches, taken out of the arguments; the rest goes to Electron or to `hostmem serve`. */
function parseStartArgs(argv) {
  const own = new Set(['--browser', '--no-open', '--help', '-h']);
  return {
    browser: argv.includes('--browser'),
    open: !argv.includes('--no-open'),
    help: argv.includes('--help') || argv.includes('-h'),
    rest: argv.filter((arg) => !own.has(arg)),
  };
}

const electronVersion = () => JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;

/** Path of the Electron executable if it is present, without triggering the package's own download. */
function electronBinary() {
  const pathFile = join(electronDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const candidate = join(
      process.env.ELECTRON_OVERRIDE_DIST_PATH,
      relative ?? (process.platform === 'win32' ? 'electron.exe' : 'electron'),
    );
    return existsSync(candidate) ? candidate : null;
  }
  if (!relative) return null;
  const candidate = join(electronDir, 'dist', relative);
  return existsSync(candidate) ? candidate : null;
}

/** Run a package's bin with this Node, its stdout sent to our stderr. Resolves with the exit code. */
function runBinToStderr(pkg, bin, args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [packageBin(pkg, bin), ...args], { stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun(code ?? (signal ? 1 : 0)));
  });
}

/**
 * electron-vite bundles electron.vite.config.ts into `electron.vite.config.ts.timestamp-….mjs` beside it while it
 * loads the config; a build stopped at that moment leaves the file behind. Removed before and after every build.
 */
function removeBundledConfigs() {
  for (const name of readdirSync(repoRoot)) {
    if (/^electron\.vite\.config\.ts\..+\.mjs$/.test(name)) rmSync(join(repoRoot, name), { force: true });
  }
}

/** Build the app; Ctrl+C during the build stops it and still cleans up (exit 130). */
async function build() {
  removeBundledConfigs();
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.on('SIGINT', onInterrupt);
  try {
    const code = await runBinToStderr('electron-vite', 'electron-vite', ['build']);
    return interrupted ? 130 : code;
  } finally {
    process.off('SIGINT', onInterrupt);
    removeBundledConfigs();
  }
}

/** A download that failed is not tried again at every start: this file says when it failed, for which version. */
const downloadMarker = join(repoRoot, '.cache', 'electron-download-failed.json');
const RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** When the last download of this Electron version failed (within a day), or null: then it is not retried. */
function recentFailedDownload() {
  try {
    const marker = JSON.parse(readFileSync(downloadMarker, 'utf8'));
    if (marker.version !== electronVersion()) return null;
    return Date.now() - statSync(downloadMarker).mtimeMs < RETRY_AFTER_MS ? marker.at : null;
  } catch {
    return null;
  }
}

/** The electron package's own download (node_modules/electron/install.js), once. Resolves with the binary or null. */
function tryDownload() {
  console.error('hostmem: the Electron binary is missing; trying to download it (node_modules/electron/install.js)');
  const download = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
    encoding: 'utf8',
    stdio: ['ignore', 2, 'pipe'],
    timeout: 5 * 60 * 1000,
  });
  const reason = (download.stderr ?? '').split('\n').find((line) => line.trim()) ?? download.error?.message;
  if (download.status !== 0 && reason) console.error(`hostmem: download failed: ${reason.trim()}`);
  const binary = electronBinary();
  if (binary === null) {
    mkdirSync(join(repoRoot, '.cache'), { recursive: true });
    writeFileSync(downloadMarker, JSON.stringify({ version: electronVersion(), at: new Date().toISOString() }));
  } else {
    rmSync(downloadMarker, { force: true });
  }
  return binary;
}

function launchElectron(binary, args) {
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(binary, [repoRoot, ...args], { stdio: 'inherit', env });
  child.on('error', (error) => {
    console.error(`hostmem: could not launch ${binary}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** What is said about Electron after the URL: why this is the browser, and how to get the desktop app. */
function electronNote({ asked, binaryPresent, downloadTried }) {
  if (asked && binaryPresent)
    return 'hostmem: the dashboard in your browser (--browser); `npm start` alone runs the desktop app.';
  const where = process.env.ELECTRON_OVERRIDE_DIST_PATH
    ? `ELECTRON_OVERRIDE_DIST_PATH (${process.env.ELECTRON_OVERRIDE_DIST_PATH}) holds no Electron build`
    : `the Electron ${electronVersion()} binary is not installed${downloadTried ? ' and could not be downloaded' : ''}`;
  return asked
    ? `hostmem: the dashboard in your browser (--browser). The desktop app needs Electron: ${where} (get it with \`npx install-electron\`).`
    : `hostmem: the dashboard in your browser instead of the desktop app: ${where}. To get the app: \`npx install-electron\`, then \`npm start\`.`;
}

/**
 * A stream that passes everything to `target` and calls `onFirstLine(line)` once the first line has been written
 * there (so what the caller prints next comes after it).
 */
function watchFirstLine(target, onFirstLine) {
  let pending = '';
  let seen = false;
  return new Writable({
    write(chunk, _encoding, callback) {
      let line = null;
      if (!seen) {
        pending += chunk.toString();
        const end = pending.indexOf('\n');
        if (end >= 0) {
          seen = true;
          line = pending.slice(0, end).replace(/\r$/, '');
          pending = '';
        }
      }
      target.write(chunk, (error) => {
        if (line !== null) onFirstLine(line);
        callback(error);
      });
    },
  });
}

/** `hostmem serve` in this process: resolves with its exit code once it stopped (Ctrl+C / SIGTERM). */
async function serveInBrowser({ args, open, note }) {
  // `hostmem serve`'s code, bundled like the CLI (out/start/serve.js, next to out/renderer which it serves).
  const bundle = await bundleModule(
    join(repoRoot, 'main', 'cli', 'commands', 'serve.ts'),
    join(repoRoot, 'out', 'start', 'serve.js'),
  );
  const { serveCommand } = await import(pathToFileURL(bundle).href);

  // The command stops at the first SIGINT and then stops listening. A terminal's Ctrl+C under `npm start` can arrive
  // twice (the terminal's and the one npm forwards); with no listener left the second would kill the process in the
  // middle of releasing its memory. This listener keeps the later ones harmless. It is added once the URL is out,
  // when the command listens already: a Ctrl+C before that (nothing served yet) simply ends the process.
  const ignoreRepeatedInterrupts = () => {
    let interrupts = 0;
    process.on('SIGINT', () => {
      if (++interrupts === 2) console.error('hostmem: still stopping…');
    });
  };

  const stdout = watchFirstLine(process.stdout, (line) => {
    const url = /^hostmem serving at (\S+)$/.exec(line)?.[1];
    if (!url) return;
    ignoreRepeatedInterrupts();
    console.error(note);
    if (!open) {
      console.error('hostmem: open the URL above in a browser (--no-open). Ctrl+C stops it.');
      return;
    }
    openInBrowser(url, (outcome) =>
      console.error(
        outcome.opened
          ? `hostmem: opened in your default browser (${outcome.command}). Ctrl+C stops it.`
          : `hostmem: open the URL above in a browser (${outcome.reason}). Ctrl+C stops it.`,
      ),
    );
  });
  const code = await serveCommand(args, { stdin: Readable.from([]), stdout, stderr: process.stderr });
  return code;
}

/** Flush stdout and stderr, then exit: the host may hold timers that would keep the process alive. */
async function exit(code) {
  const flush = (stream) => new Promise((done) => stream.write('', () => done()));
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

async function main() {
  const options = parseStartArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }

  const built = await build();
  if (built === 130) {
    console.error('hostmem: build stopped (Ctrl+C)');
    await exit(130);
  }
  if (built !== 0) {
    console.error('hostmem: electron-vite build failed');
    await exit(built);
  }

  let binary = electronBinary();
  let downloadTried = false;
  if (
    !options.browser &&
    !binary &&
    !process.env.ELECTRON_OVERRIDE_DIST_PATH &&
    process.env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '1'
  ) {
    const failedAt = recentFailedDownload();
    if (failedAt === null) {
      downloadTried = true;
      binary = tryDownload();
    } else {
      console.error(
        `hostmem: the Electron download failed at ${failedAt}; not tried again for a day (\`npx install-electron\` tries now)`,
      );
    }
  }
  if (binary && !options.browser) {
    launchElectron(binary, options.rest);
    return;
  }

  const note = electronNote({ asked: options.browser, binaryPresent: binary !== null, downloadTried });
  const code = await serveInBrowser({ args: options.rest, open: options.open, note });
  await exit(code);
}

await main();
