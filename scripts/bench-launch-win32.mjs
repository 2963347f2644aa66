#!/usr/bin/env node
// What the Windows agent of `hostmem launch` adds to a program's calls, under Wine, beside a C baseline measured in
// the same run: tests/launch/programs/wincalls.exe `bench N` times N VirtualAlloc(64 KiB, reserve+commit) +
// VirtualFree(release) pairs and N HeapAlloc(64 B) + HeapFree pairs on the process heap, once on its own (the
// baseline) and once under `hostmem launch` (the agent hooked in, default policy, Windows Node running hostmem),
// alternately, ROUNDS times; medians and the added cost per pair are printed. Wine's own system calls dominate the
// virtual pair: compare within one run only.
//
//   node scripts/build-node.mjs && node scripts/bench-launch-win32.mjs [--pairs=20000] [--rounds=5]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKoffiWin32, ensureWindowsNode } from './fetch-win32-natives.mjs';
import { repoRoot } from './util.mjs';
import { bootWinePrefix, findWine, runUnderWine, toWindowsPath, wineInstallHint } from './wine-env.mjs';

const option = (name, fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const pairs = option('pairs', 20000);
const rounds = option('rounds', 5);

const program = join(repoRoot, 'out', 'tests', 'launch', 'programs', 'wincalls.exe');
const cli = join(repoRoot, 'out', 'cli', 'hostmem.js');
if (!findWine()) {
  console.error(`Wine is not installed. ${wineInstallHint}`);
  process.exit(1);
}
if (!existsSync(program) || !existsSync(join(repoRoot, 'out', 'agent', 'hostmem-agent.dll'))) {
  console.error('bench-launch-win32: run `node scripts/build-node.mjs` first (it needs x86_64-w64-mingw32-gcc)');
  process.exit(1);
}
await ensureKoffiWin32('x64');
const node = (await ensureWindowsNode()).path;
await bootWinePrefix();

function parse(stdout, what) {
  const v = /^virtual ([\d.]+) ns\/pair$/m.exec(stdout)?.[1];
  const h = /^heap ([\d.]+) ns\/pair$/m.exec(stdout)?.[1];
  if (v === undefined || h === undefined) throw new Error(`${what}: no figures in its output:\n${stdout}`);
  return { virtual: Number(v), heap: Number(h) };
}

const base = [];
const agent = [];
for (let i = 0; i < rounds; i++) {
  const plain = await runUnderWine(program, ['bench', String(pairs)], { timeoutMs: 300_000 });
  base.push(parse(plain.stdout, 'wincalls.exe'));
  const traced = await runUnderWine(
    node,
    [toWindowsPath(cli), 'launch', '--quiet', '--', toWindowsPath(program), 'bench', String(pairs)],
    { timeoutMs: 300_000 },
  );
  agent.push(parse(traced.stdout, 'hostmem launch wincalls.exe'));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
console.log(`Wine figures, ${pairs} pairs x ${rounds} rounds, medians (ns per pair):`);
console.log('pair                       C alone   under hostmem launch   added   ratio');
for (const kind of ['virtual', 'heap']) {
  const b = median(base.map((r) => r[kind]));
  const a = median(agent.map((r) => r[kind]));
  const label = kind === 'virtual' ? 'VirtualAlloc/VirtualFree' : 'HeapAlloc/HeapFree';
  console.log(
    `${label.padEnd(26)} ${b.toFixed(0).padStart(8)}   ${a.toFixed(0).padStart(20)}   ${(a - b).toFixed(0).padStart(5)}   ${(a / b).toFixed(2)}x`,
  );
}
