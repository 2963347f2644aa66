#!/usr/bin/env node
// `npm start`: build the app (electron-vite build) and launch it with the Electron binary from node_modules.
//
// The `electron` npm package downloads its binary from GitHub on first use. Where that binary is missing and cannot
// be downloaded (offline machines, CI with ELECTRON_SKIP_BINARY_DOWNLOAD=1), this says so plainly and exits 1
// instead of crashing. ELECTRON_OVERRIDE_DIST_PATH (a folder holding an Electron build) is honoured, as the
// electron package itself does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runBin } from './util.mjs';

const electronDir = join(repoRoot, 'node_modules', 'electron');

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

function explainMissingElectron(downloadTried) {
  const version = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
  console.error(
    [
      '',
      `hostmem: cannot start the desktop app: the Electron ${version} binary is not installed`,
      `  (expected under node_modules/electron/dist/${downloadTried ? '; downloading it just failed' : ''}).`,
      '',
      '  The electron npm package downloads its binary from GitHub on first use. On a machine with internet access:',
      '      npx install-electron            (or: node node_modules/electron/install.js)',
      '  then run `npm start` again. ELECTRON_OVERRIDE_DIST_PATH=<folder with an Electron build> also works.',
      '',
      '  Everything else runs without Electron:',
      '      npm test                                       (lint, type checks, Node and Wine tests, app build)',
      '      npm run build:node && node out/cli/hostmem.js --help   (the headless `hostmem` command)',
      '',
    ].join('\n'),
  );
}

async function main() {
  const build = await runBin('electron-vite', 'electron-vite', ['build']);
  if (build.code !== 0) {
    console.error('hostmem: electron-vite build failed');
    process.exit(build.code);
  }

  let binary = electronBinary();
  let downloadTried = false;
  if (!binary && !process.env.ELECTRON_OVERRIDE_DIST_PATH && process.env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '1') {
    console.log('hostmem: the Electron binary is missing; trying to download it (node_modules/electron/install.js)');
    downloadTried = true;
    const download = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
      encoding: 'utf8',
      stdio: ['ignore', 'inherit', 'pipe'],
      timeout: 5 * 60 * 1000,
    });
    const reason = (download.stderr ?? '').split('\n').find((line) => line.trim()) ?? download.error?.message;
    if (download.status !== 0 && reason) console.error(`hostmem: download failed: ${reason.trim()}`);
    binary = electronBinary();
  }
  if (!binary) {
    explainMissingElectron(downloadTried);
    process.exit(1);
  }

  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(binary, [repoRoot, ...process.argv.slice(2)], { stdio: 'inherit', env });
  child.on('error', (error) => {
    console.error(`hostmem: could not launch ${binary}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

await main();
