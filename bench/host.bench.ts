/**
 * `npm run bench:host`: the reserve → commit → decommit → release cycle of one region three ways, side by side in
 * one process: straight on the OS in C (`bench/cycle.c`, compiled here with the system C compiler), through the raw
 * native layer (koffi → libc / kernel32), and through the host. Rounds rotate the order of the three, so all see the
 * same machine; on 64 KiB and 1 MiB regions, with 1, 10,000 and 1,000,000 live regions around it (held by the C
 * child too, in its own process). Then owned-address lookups (VirtualQuery from the books) at 1,000 and 1,000,000.
 * Ratios raw/C and host/C are what count (host/raw is information: it rises as the raw layer gets faster).
 * The last line is `ratio host/C <median ratio at 64 KiB and 10,000 live regions>`.
 * Without a C compiler (or on Windows, where the C program has no mmap) the C column is skipped and says so.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MEM, PAGE, createOsMemory } from '../native';
import { createHost, type Host } from '../main/host';

const KiB = 1024;
const MiB = 1024 * KiB;
const RW = PAGE.READWRITE;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 15);
const CYCLES = Number(args.get('cycles') ?? 2000);
const LIVE = (args.get('live') ?? '1,10000,1000000').split(',').map(Number);
const SIZES = (args.get('sizes') ?? '65536,1048576').split(',').map(Number);
const LOOKUPS = args.get('lookups') !== 'off';

/** The C baseline as a child process: commands on stdin, one answer line each on stdout. */
class CBaseline {
  private readonly lines: AsyncIterableIterator<string>;
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Compile and start it, or say why there is no C column. */
  static start(): CBaseline | string {
    if (process.platform === 'win32') return 'no C baseline on Windows (bench/cycle.c uses mmap)';
    const here = dirname(fileURLToPath(import.meta.url));
    const source = [join(here, '..', '..', 'bench', 'cycle.c'), join(process.cwd(), 'bench', 'cycle.c')].find((f) =>
      existsSync(f),
    );
    if (source === undefined) return 'no C baseline: bench/cycle.c not found';
    const compiler = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0);
    if (compiler === undefined) return 'no C baseline: no C compiler (cc, gcc, clang) on PATH — install gcc';
    mkdirSync(here, { recursive: true });
    const binary = join(here, 'cycle');
    const cc = spawnSync(compiler, ['-O2', '-o', binary, source], { encoding: 'utf8' });
    if (cc.status !== 0) return `no C baseline: ${compiler} failed: ${cc.stderr.trim()}`;
    const version = spawnSync(compiler, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    console.log(`C baseline: bench/cycle.c built with ${compiler} -O2 (${version})`);
    return new CBaseline(spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  private async ask(command: string): Promise<string> {
    this.child.stdin.write(`${command}\n`);
    const r = await this.lines.next();
    if (r.done === true) throw new Error('the C baseline exited');
    if (r.value.startsWith('error')) throw new Error(`C baseline: ${r.value}`);
    return r.value;
  }

  async live(n: number): Promise<void> {
    await this.ask(`live ${n}`);
  }

  /** µs per cycle. */
  async cycles(size: number, n: number): Promise<number> {
    return Number((await this.ask(`cycle ${size} ${n}`)).split(' ')[1]);
  }

  stop(): void {
    this.child.stdin.end('quit\n');
  }
}

const os = createOsMemory();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/**
 * A full collection, then a pause twice as long as it took. With a million live regions the host's books make a
 * ~190 MiB heap: gc() takes ~0.5 s and leaves V8's concurrent sweeping and page freeing running on the second
 * core, which doubled whichever column ran next (the C child's too) — the run-to-run instability of the
 * 1,000,000-region figures. The pause lets that work end before anything is timed; at 10,000 regions it is a
 * few milliseconds.
 */
async function settledGc(): Promise<void> {
  const t0 = performance.now();
  gc();
  const took = performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, Math.max(5, 2 * took)));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function hostCycles(host: Host, size: number, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = await host.VirtualAlloc(null, size, MEM.RESERVE, RW, 0);
    const a = r.address!;
    await host.VirtualAlloc(a, size, MEM.COMMIT, RW, 0);
    await host.VirtualFree(a, size, MEM.DECOMMIT);
    await host.VirtualFree(a, 0, MEM.RELEASE);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

function rawCycles(size: number, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = os.reserve(null, size, false);
    if (!r.ok) throw new Error(r.error.message);
    const a = r.value;
    os.commit(a, size, RW);
    os.decommit(a, size);
    os.release(a, size);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

async function populate(host: Host, target: number, live: number[]): Promise<void> {
  while (live.length < target) {
    const r = await host.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, RW, live.length % 3, 'live');
    if (r.address === null) throw new Error(`could not hold ${target} live regions (at ${live.length})`);
    live.push(r.address);
  }
}

/** Random owned addresses, drawn before timing and read in order, so only the host's lookup is measured. */
function probes(live: number[], n: number): Float64Array {
  const out = new Float64Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = live[x % live.length]! + 4096;
  }
  return out;
}

async function lookups(host: Host, addresses: Float64Array): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < addresses.length; i++) {
    const q = await host.VirtualQuery(addresses[i]!);
    if (!q.info?.owned) throw new Error('lookup missed');
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / addresses.length;
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

async function main(): Promise<void> {
  console.log(
    `hostmem bench: C vs raw native layer vs host (${os.backend}, node ${process.version}, ${ROUNDS} rounds × ${CYCLES} cycles)`,
  );
  const c = CBaseline.start();
  if (typeof c === 'string') console.log(`C baseline: skipped — ${c}`);
  const host = createHost({ os });
  const live: number[] = [];
  let headline = { hostC: NaN, rawC: NaN, hostRaw: NaN };
  for (const target of LIVE) {
    await populate(host, target, live);
    if (typeof c !== 'string') await c.live(target);
    for (const size of SIZES) {
      // Warm up every path (JIT, OS free lists) before measuring.
      await hostCycles(host, size, 200);
      rawCycles(size, 200);
      if (typeof c !== 'string') await c.cycles(size, 200);
      const h: number[] = [];
      const r: number[] = [];
      const k: number[] = [];
      const runs: Array<() => Promise<void>> = [
        async () => void h.push(await hostCycles(host, size, CYCLES)),
        async () => void r.push(rawCycles(size, CYCLES)),
      ];
      if (typeof c !== 'string') runs.push(async () => void k.push(await c.cycles(size, CYCLES)));
      for (let round = 0; round < ROUNDS; round++) {
        await settledGc();
        // Rotate the order, so no column always runs first.
        for (let i = 0; i < runs.length; i++) await runs[(round + i) % runs.length]!();
      }
      const ms = { c: k.length > 0 ? median(k) : NaN, raw: median(r), host: median(h) };
      const ratios = { rawC: ms.raw / ms.c, hostC: ms.host / ms.c, hostRaw: ms.host / ms.raw };
      if (size === SIZES[0] && (target === 10000 || LIVE.length === 1)) headline = ratios;
      const sizeName = size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`;
      console.log(
        `live ${String(target).padStart(8)}  size ${sizeName.padStart(7)}  C ${fmt(ms.c).padStart(6)}  raw ${fmt(ms.raw).padStart(6)}  host ${fmt(ms.host).padStart(6)} µs/cycle  raw/C ${fmt(ratios.rawC, 3)}  host/C ${fmt(ratios.hostC, 3)}  host/raw ${fmt(ratios.hostRaw, 3)}`,
      );
    }
  }
  if (typeof c !== 'string') c.stop();
  if (!LOOKUPS) {
    host.dispose();
    printHeadline(headline);
    return;
  }
  // Lookups: owned-address VirtualQuery at 1,000 and at the largest population.
  const small = createHost({ os });
  const smallLive: number[] = [];
  await populate(small, 1000, smallLive);
  const smallProbes = probes(smallLive, 50000);
  const bigProbes = probes(live, 50000);
  await lookups(small, smallProbes);
  await lookups(host, bigProbes);
  const ls: number[] = [];
  const lb: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await settledGc();
    ls.push(await lookups(small, smallProbes));
    lb.push(await lookups(host, bigProbes));
  }
  const lookupRatio = median(lb) / median(ls);
  // The region map alone (what VirtualQuery, VirtualFree, commit and Fill all start with).
  const indexLookups = (h: Host, addresses: Float64Array): number => {
    const t0 = process.hrtime.bigint();
    let found = 0;
    for (let i = 0; i < addresses.length; i++) if (h.regionAt(addresses[i]!) !== undefined) found++;
    if (found !== addresses.length) throw new Error('index lookup missed');
    return Number(process.hrtime.bigint() - t0) / 1000 / addresses.length;
  };
  // The same working set in both: 1,000 distinct regions probed, picked among all the live ones. This isolates
  // what the structure costs as it grows from what DRAM costs when every probe lands on a cold region.
  const hotProbes = probes(
    Array.from({ length: 1000 }, (_, i) => live[Math.floor((i * live.length) / 1000)]!),
    50000,
  );
  const is: number[] = [];
  const ib: number[] = [];
  const ih: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    is.push(indexLookups(small, smallProbes));
    ib.push(indexLookups(host, bigProbes));
    ih.push(indexLookups(host, hotProbes));
  }
  console.log(
    `lookup (region map, 1,000 hot regions) at ${smallLive.length} live: ${median(is).toFixed(3)} µs; at ${live.length} live: ${median(ih).toFixed(3)} µs; ratio ${(median(ih) / median(is)).toFixed(3)}`,
  );
  console.log(
    `lookup (region map, uniform over all) at ${smallLive.length} live: ${median(is).toFixed(3)} µs; at ${live.length} live: ${median(ib).toFixed(3)} µs; ratio ${(median(ib) / median(is)).toFixed(3)}`,
  );
  console.log(
    `lookup (VirtualQuery, owned) at ${smallLive.length} live: ${median(ls).toFixed(3)} µs; at ${live.length} live: ${median(lb).toFixed(3)} µs; ratio ${lookupRatio.toFixed(3)}`,
  );
  const audit = host.audit();
  console.log(`audit over ${audit.regions} regions: ${audit.drift.length} drift entries`);
  small.dispose();
  host.dispose();
  printHeadline(headline);
}

function printHeadline(headline: { hostC: number; rawC: number; hostRaw: number }): void {
  console.log(`ratio raw/C ${fmt(headline.rawC, 3)}`);
  console.log(`ratio host/raw ${fmt(headline.hostRaw, 3)}`);
  console.log(`ratio host/C ${fmt(headline.hostC, 3)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
