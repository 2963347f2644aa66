/**
 * `npm run bench:symbols`: symbolising 100,000 return addresses over libc.so.6 and a test binary with hostmem's
 * Symboliser, against GNU addr2line on the same addresses, side by side in one run.
 *
 * The test binary is a C program of --functions generated functions compiled here with `cc -g -O1`. The pcs are
 * drawn (seeded) from the sized functions `nm -S` lists in both files, at a random offset inside each, half in libc
 * (loaded at a made-up bias, as a file-level test may) and half in the binary (a PIE at 0x555555554000). Measured:
 *   - cold:       a new Symboliser, setModules, symbolise every pc (reads both symbol tables: the cost of first use);
 *   - warm:       symbolise + formatFrame every pc again (median of --rounds): the steady cost per frame;
 *   - lines:      resolveLines on every pc (one addr2line per module, cached afterwards), then symbolise again;
 *   - addr2line:  `addr2line -f -C -e FILE` once per module with that module's addresses on stdin (the batched
 *                 baseline: names and lines, what the Symboliser's line path runs too);
 *   - per frame:  one `addr2line -f -C -e FILE ADDR` process per pc, for --per-frame pcs, scaled to 100,000
 *                 (what "running addr2line per frame" would cost).
 * Then the heap the two symbol tables hold (after a forced GC), and how often the Symboliser's function name agrees
 * with addr2line's (they differ where addr2line names an inlined function or another alias of the same address).
 *
 *   node --expose-gc out/bench/symbols.bench.js [--pcs=100000] [--rounds=5] [--functions=2000] [--per-frame=100]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFrame, Symboliser, type LoadedModule } from '../main/launch/symbols';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const PCS = Number(args.get('pcs') ?? 100_000);
const ROUNDS = Number(args.get('rounds') ?? 5);
const FUNCTIONS = Number(args.get('functions') ?? 2000);
const PER_FRAME = Number(args.get('per-frame') ?? 100);
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LIBC_BIAS = 0x7f00_0000_0000;
const PROG_BIAS = 0x5555_5555_4000;

/** Deterministic pcs from run to run (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The sized functions `nm -S` lists: [address, size]. */
function sizedFunctions(file: string, dynamic: boolean): [number, number][] {
  const out = execFileSync('nm', ['-S', '--defined-only', ...(dynamic ? ['-D'] : []), file], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const found: [number, number][] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4 && /^[TtWi]$/.test(f[2]!)) {
      const size = parseInt(f[1]!, 16);
      if (size > 1) found.push([parseInt(f[0]!, 16), size]);
    }
  }
  return found;
}

function testProgram(dir: string): string {
  const lines = ['#include <stdio.h>'];
  for (let i = 0; i < FUNCTIONS; i++) {
    lines.push(`__attribute__((noinline)) int f${i}(int x) {`, `  int y = x * ${i + 3};`);
    lines.push(`  for (int k = 0; k < (x & 7); k++) y += k ^ ${i};`, `  return y;`, `}`);
  }
  lines.push('int main(int argc, char **argv) {', '  (void)argv;', '  int s = 0;');
  for (let i = 0; i < FUNCTIONS; i++) lines.push(`  s += f${i}(argc);`);
  lines.push('  printf("%d\\n", s);', '  return 0;', '}');
  writeFileSync(join(dir, 'prog.c'), lines.join('\n') + '\n');
  execFileSync('cc', ['-g', '-O1', '-fPIE', '-pie', '-o', join(dir, 'prog'), join(dir, 'prog.c')]);
  return join(dir, 'prog');
}

interface Addr2lineResult {
  readonly ms: number;
  readonly names: Map<number, string>;
}

/** `addr2line -f -C -e FILE` once per module, its addresses on stdin; the function name of each pc. */
function addr2lineBatched(groups: readonly { file: string; bias: number; pcs: number[] }[]): Addr2lineResult {
  const names = new Map<number, string>();
  const t0 = performance.now();
  for (const g of groups) {
    const input = g.pcs.map((pc) => `0x${(pc - g.bias).toString(16)}`).join('\n') + '\n';
    const out = execFileSync('addr2line', ['-f', '-C', '-e', g.file], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    const lines = out.split('\n');
    g.pcs.forEach((pc, k) => names.set(pc, lines[2 * k]!));
  }
  return { ms: performance.now() - t0, names };
}

async function main(): Promise<void> {
  const missing = ['cc', 'nm', 'readelf', 'addr2line'].filter(
    (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
  );
  if (process.platform !== 'linux' || !existsSync(LIBC) || missing.length > 0) {
    console.log(
      `bench:symbols measures ELF symbolising on Linux x86-64 with ${LIBC}, cc, nm, readelf and addr2line; ` +
        `here: ${process.platform}${missing.length ? `, missing ${missing.join(', ')}` : ''}.`,
    );
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-symbols-bench-'));
  try {
    const prog = testProgram(dir);
    const libcFns = sizedFunctions(LIBC, true);
    const progFns = sizedFunctions(prog, false);
    const next = random(19);
    const groups = [
      { file: LIBC, bias: LIBC_BIAS, fns: libcFns, pcs: [] as number[] },
      { file: prog, bias: PROG_BIAS, fns: progFns, pcs: [] as number[] },
    ];
    const pcs: number[] = [];
    for (let i = 0; i < PCS; i++) {
      const g = groups[i & 1]!;
      const [start, size] = g.fns[Math.floor(next() * g.fns.length)]!;
      const pc = g.bias + start + 1 + Math.floor(next() * (size - 1));
      g.pcs.push(pc);
      pcs.push(pc);
    }
    const modules: LoadedModule[] = groups.map((g) => ({
      path: g.file,
      loadBias: g.bias,
      start: g.bias,
      end: g.bias + 0x1000_0000,
    }));
    const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', LIBC], { encoding: 'utf8' }))?.[1] ?? '';
    const libcDebug = id !== '' && existsSync(`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
    console.log(
      `${PCS.toLocaleString('en')} pcs over libc.so.6 (${libcFns.length} sized functions in .dynsym) and a ` +
        `${progFns.length}-function test binary (cc -g -O1, PIE); ${ROUNDS} rounds; load average ` +
        `${loadavg()[0]!.toFixed(1)}; libc's debug file (libc6-dbg) ${libcDebug ? 'present: its .symtab and lines are used' : 'absent: .dynsym only, no lines'}`,
    );

    // cold: first use reads the tables
    global.gc?.();
    const heapBefore = process.memoryUsage();
    const t0 = performance.now();
    const s = new Symboliser();
    s.setModules(modules);
    let named = 0;
    for (const pc of pcs) if (s.symbolise(pc).function !== null) named++;
    const coldMs = performance.now() - t0;
    global.gc?.();
    const heapAfter = process.memoryUsage();
    const tableBytes = heapAfter.heapUsed + heapAfter.arrayBuffers - (heapBefore.heapUsed + heapBefore.arrayBuffers);

    // warm: the steady cost per frame
    const warm: number[] = [];
    let sink = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      for (const pc of pcs) sink += formatFrame(s.symbolise(pc)).length;
      warm.push(performance.now() - t);
    }

    // lines: one addr2line per module for all pcs
    const tl = performance.now();
    await s.resolveLines(pcs);
    const linesMs = performance.now() - tl;
    global.gc?.();
    const heapLines = process.memoryUsage();
    const linesBytes = heapLines.heapUsed + heapLines.arrayBuffers - (heapAfter.heapUsed + heapAfter.arrayBuffers);
    let withLine = 0;
    for (const pc of pcs) if (s.symbolise(pc).line !== undefined) withLine++;
    const warmLines: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      for (const pc of pcs) sink += formatFrame(s.symbolise(pc)).length;
      warmLines.push(performance.now() - t);
    }

    // baselines: addr2line batched per module, and per frame (scaled)
    const batched: number[] = [];
    let a2l: Addr2lineResult | undefined;
    for (let r = 0; r < Math.min(ROUNDS, 3); r++) {
      a2l = addr2lineBatched(groups);
      batched.push(a2l.ms);
    }
    const sample = pcs.slice(0, PER_FRAME);
    const tp = performance.now();
    for (const pc of sample) {
      const g = pc >= PROG_BIAS && pc < PROG_BIAS + 0x1000_0000 ? groups[1]! : groups[0]!;
      execFileSync('addr2line', ['-f', '-C', '-e', g.file, `0x${(pc - g.bias).toString(16)}`], { encoding: 'utf8' });
    }
    const perFrameMs = ((performance.now() - tp) / sample.length) * PCS;

    let agree = 0;
    for (const pc of pcs) {
      const ours = s.symbolise(pc).function;
      const theirs = a2l!.names.get(pc);
      if (ours !== null && theirs !== undefined && (ours === theirs || theirs.endsWith(ours))) agree++;
    }

    const warmMs = median(warm);
    const batchedMs = median(batched);
    const row = (what: string, ms: number, note = ''): void =>
      console.log(
        `${what.padEnd(44)}${ms.toFixed(1).padStart(12)} ms${((ms * 1e6) / PCS).toFixed(0).padStart(11)} ns/pc  ${note}`,
      );
    row('Symboliser cold (reads both tables)', coldMs, `${named} of ${PCS} named`);
    row('Symboliser warm (symbolise + formatFrame)', warmMs, `median of ${ROUNDS}`);
    row('Symboliser resolveLines (1 addr2line/module)', linesMs, `${withLine} of ${PCS} with file:line`);
    row('Symboliser warm with lines cached', median(warmLines));
    row('addr2line -f -C, batched per module', batchedMs, `median of ${batched.length}`);
    row('addr2line -f -C, one process per pc (scaled)', perFrameMs, `from ${sample.length} pcs`);
    console.log(
      `held after GC (heap + array buffers): symbol tables ${(tableBytes / 1048576).toFixed(2)} MiB, ` +
        `line cache for ${PCS.toLocaleString('en')} pcs ${(linesBytes / 1048576).toFixed(2)} MiB`,
    );
    console.log(
      `function names agreeing with addr2line's: ${((100 * agree) / PCS).toFixed(1)} % ` +
        `(addr2line names inlined callees and other aliases of the same address)`,
    );
    for (const p of s.problems()) console.log(`problem: ${p}`);
    console.log(
      `ratio addr2line-batched/warm ${(batchedMs / warmMs).toFixed(1)}  ` +
        `addr2line-batched/cold ${(batchedMs / coldMs).toFixed(1)}  per-frame/cold ${(perFrameMs / coldMs).toFixed(0)}` +
        (sink === 0 ? ' ' : ''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
