/**
 * `npm run bench:launch`: what `hostmem launch` costs a program, against the same program untraced and under
 * heaptrack, side by side in one run (alternating rounds, median of --rounds). The programs time their own measured
 * loop (bench/programs/launch-work.c), so no tool's start-up is in the figures.
 *
 *   malloc    a malloc-heavy program (trees of 2,047 nodes of 16–512 B, memory touched, built and freed):
 *             untraced / hostmem (default sampling, 512 KiB) / hostmem (every heap call with its stack) / heaptrack.
 *             Targets: hostmem ≤ 1.5× untraced; hostmem's slowdown (ratio − 1) ≤ half of heaptrack's.
 *   mmap      mmap(64 KiB) + munmap pairs: added ns per call over untraced (target ≤ 300 ns; every such call carries
 *             its stack).
 *   pairs     malloc(32)/free at full speed, every call sent as an event (--sample-bytes 0): events per second through
 *             the channel and the books with none lost (target ≥ 1 M/s).
 *
 *   node out/bench/launch.bench.js [--rounds=5] [--trees=200] [--maps=50000] [--pairs=2000000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY } from '../main/host/types';
import { Launch } from '../main/launch/launcher';
import { DEFAULT_SAMPLE_BYTES, type LaunchPolicy } from '../main/launch/policy';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 5);
const TREES = Number(args.get('trees') ?? 200);
const MAPS = Number(args.get('maps') ?? 50_000);
const PAIRS = Number(args.get('pairs') ?? 2_000_000);
const AGENT = join(process.cwd(), 'out', 'agent', 'libhostmem-agent.so');

const dir = mkdtempSync(join(tmpdir(), 'hostmem-bench-launch-'));
const work = join(dir, 'work');
const cc = spawnSync('cc', ['-O2', '-o', work, join(process.cwd(), 'bench', 'programs', 'launch-work.c')], {
  encoding: 'utf8',
});
if (cc.status !== 0) {
  console.log(`bench:launch: cannot compile the workload (${cc.error?.message ?? cc.stderr}); needs cc`);
  process.exit(1);
}
const hasHeaptrack = spawnSync('sh', ['-c', 'command -v heaptrack']).status === 0;

function policy(sampleBytes: number): LaunchPolicy {
  return {
    host: DEFAULT_POLICY,
    faults: [],
    levelRules: [],
    defaultLevel: 'eTaskCritical',
    sampleBytes,
    followForks: false,
  };
}

/** The program's own figure (ns of its measured loop) from its first output line. */
function nsOf(stdout: string): number {
  const ns = Number(stdout.trim().split('\n').at(-1)?.split(' ')[0]);
  if (!Number.isFinite(ns)) throw new Error(`no timing in ${JSON.stringify(stdout.slice(0, 200))}`);
  return ns;
}

function untraced(what: string, n: number): number {
  return nsOf(spawnSync(work, [what, String(n)], { encoding: 'utf8' }).stdout);
}

function heaptrack(what: string, n: number): number {
  const r = spawnSync('heaptrack', ['-o', join(dir, 'ht'), work, what, String(n)], { encoding: 'utf8' });
  // heaptrack passes the program's output on with its own: the program's line is the one of two numbers.
  return nsOf(
    `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => /^\d+ \d+$/.test(l))
      .slice(0, 1)
      .join('\n'),
  );
}

async function traced(
  what: string,
  n: number,
  sampleBytes: number,
): Promise<{ ns: number; events: number; lost: number }> {
  const launch = await Launch.start(
    { program: work, args: [what, String(n)] },
    { agentPath: AGENT, stdio: 'pipe', policy: policy(sampleBytes) },
  );
  let out = '';
  launch.process?.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const closed = new Promise<void>((resolve) => launch.process!.once('close', () => resolve()));
  const result = await launch.done();
  await closed;
  const p = result.processes[0]!;
  return { ns: nsOf(out), events: p.books.events, lost: p.decoder.lost + p.decoder.abandoned };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: Record<string, number[]> = {};
const add = (k: string, v: number): void => void (rows[k] ??= []).push(v);
let lost = 0;
let pairsEvents = 0;
for (let round = 0; round < ROUNDS; round++) {
  add('malloc untraced', untraced('malloc', TREES));
  add('malloc hostmem', (await traced('malloc', TREES, DEFAULT_SAMPLE_BYTES)).ns);
  add('malloc hostmem every stack', (await traced('malloc', TREES, 0)).ns);
  if (hasHeaptrack) add('malloc heaptrack', heaptrack('malloc', TREES));
  add('mmap untraced', untraced('mmap', MAPS));
  add('mmap hostmem', (await traced('mmap', MAPS, DEFAULT_SAMPLE_BYTES)).ns);
  add('pairs untraced', untraced('pairs', PAIRS));
  // Every call sent (--sample-bytes 0): the rate at which events flow through the channel and the books.
  const p = await traced('pairs', PAIRS, 0);
  add('pairs hostmem', p.ns);
  lost += p.lost;
  pairsEvents = p.events;
}
rmSync(dir, { recursive: true, force: true });

const m = (k: string): number => median(rows[k] ?? [NaN]);
const ms = (ns: number): string => `${(ns / 1e6).toFixed(1)} ms`;
console.log(
  `bench:launch — ${ROUNDS} rounds, medians (each program times its own loop); load average ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ')}`,
);
const base = m('malloc untraced');
console.log(`malloc-heavy (${TREES} trees): untraced ${ms(base)}`);
const ratio = (k: string): number => m(k) / base;
console.log(
  `  hostmem (sampling ${DEFAULT_SAMPLE_BYTES} B)  ${ms(m('malloc hostmem'))}  ratio ${ratio('malloc hostmem').toFixed(2)}  (target ≤ 1.5)`,
);
console.log(
  `  hostmem (every stack)       ${ms(m('malloc hostmem every stack'))}  ratio ${ratio('malloc hostmem every stack').toFixed(2)}`,
);
if (hasHeaptrack) {
  const h = ratio('malloc heaptrack');
  const ours = ratio('malloc hostmem');
  console.log(`  heaptrack                   ${ms(m('malloc heaptrack'))}  ratio ${h.toFixed(2)}`);
  console.log(`  slowdown hostmem/heaptrack  ${((ours - 1) / (h - 1)).toFixed(2)}  (target ≤ 0.5)`);
} else console.log('  heaptrack: not installed (.ci/run installs it)');
const perCall = (m('mmap hostmem') - m('mmap untraced')) / (2 * MAPS);
console.log(
  `mmap+munmap (${MAPS} pairs): untraced ${ms(m('mmap untraced'))}, hostmem ${ms(m('mmap hostmem'))}: +${perCall.toFixed(0)} ns per call (target ≤ 300)`,
);
const rate = (2 * PAIRS) / (m('pairs hostmem') / 1e9);
console.log(
  `malloc/free pairs (${PAIRS}): untraced ${ms(m('pairs untraced'))}, hostmem ${ms(m('pairs hostmem'))}: ${(rate / 1e6).toFixed(2)} M calls/s through hostmem, ${pairsEvents} events in the last round, ${lost} lost in all rounds (target ≥ 1 M/s, 0 lost)`,
);
console.log(`ratio hostmem/untraced ${ratio('malloc hostmem').toFixed(2)}`);
