#!/usr/bin/env node
// Run a compiled benchmark with Windows Node inside Wine, so the win32 backend is measured too:
//
//   node scripts/build-node.mjs && node scripts/bench-win32.mjs out/bench/host.bench.js --live=1,10000
//
// Prepares Windows Node and koffi's Windows binary as the Wine test leg does (scripts/fetch-win32-natives.mjs) and
// prints the benchmark's output. Windows Node under Wine cannot use Unix pipes: output comes through files, at the end.
import { resolve } from 'node:path';
import { ensureKoffiWin32, ensureWindowsNode } from './fetch-win32-natives.mjs';
import { bootWinePrefix, findWine, runUnderWine, toWindowsPath, wineInstallHint } from './wine-env.mjs';

const [bench, ...args] = process.argv.slice(2);
if (bench === undefined) {
  console.error('usage: node scripts/bench-win32.mjs out/bench/NAME.bench.js [benchmark arguments]');
  process.exit(2);
}
if (!findWine()) {
  console.error(`Wine is not installed. ${wineInstallHint}`);
  process.exit(1);
}
await ensureKoffiWin32('x64');
const node = (await ensureWindowsNode()).path;
await bootWinePrefix();
const result = await runUnderWine(node, ['--expose-gc', toWindowsPath(resolve(bench)), ...args], {
  timeoutMs: 60 * 60 * 1000,
});
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exit(result.code);
