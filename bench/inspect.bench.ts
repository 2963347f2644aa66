/**
 * `npm run bench:inspect`: walking a process with 100,000 mappings, against the OS itself, side by side in one run.
 *
 * A child (this file with --child) reserves 2 × N/2 pages through hostmem's posix backend and commits every other
 * page (touching it), so the kernel keeps N separate mappings (alternating rw-p and ---p). Then, in alternating
 * rounds (median of --rounds):
 *   - walk:      `inspector.walkProcess(pid)` — the streaming smaps read, parse and classification, free gaps included;
 *   - readFile:  `readFileSync('/proc/PID/smaps')` — the same bytes read into memory, nothing parsed;
 *   - C read:    a C program that read()s /proc/PID/smaps into a buffer (gcc, compiled here; the OS's floor);
 *   - pmap -X:   procps's `pmap -X PID > /dev/null` (a C peer that reads and prints the same file).
 * Then `--watch 1s` as the CLI runs it (a ProcessWatcher at 1 s with a diff per walk) for --watch-seconds after its
 * first walk, and the CPU it used (user + system: the kernel's smaps generation runs in this process) as a share of
 * one core; then the same with every tick a whole walk (`alwaysWalk`), what a process that changes every second costs. Then the
 * bytes a walk holds per region (heap after a forced GC), for children of N/4, N/2 and N mappings, to show it grows
 * linearly.
 *
 * Needs vm.max_map_count above N (+ what Node maps itself); says so and stops otherwise.
 *
 *   node --expose-gc out/bench/inspect.bench.js [--mappings=100000] [--rounds=7] [--watch-seconds=10]
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOsMemory, createProcessInspector, PAGE, type ProcessWalk } from '../native';
import { ProcessWatcher } from '../main/inspect';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const MAPPINGS = Number(args.get('mappings') ?? 100_000);
const ROUNDS = Number(args.get('rounds') ?? 7);
const WATCH_SECONDS = Number(args.get('watch-seconds') ?? 10);
/** Only the bytes-per-region part (quick). */
const MEMORY_ONLY = args.has('memory-only');
/** Walks being measured: held here, where no optimisation can find them dead. */
const retained: ProcessWalk[] = [];

/** The child: N mappings by committing every other page of a reservation. */
function child(n: number): void {
  const os = createOsMemory();
  const page = os.pageSize;
  const pages = 2 * Math.ceil(n / 2);
  const base = os.reserve(null, pages * page, false);
  if (!base.ok) throw new Error(base.error.message);
  for (let i = 0; i < pages; i += 2) {
    const c = os.commit(base.value + i * page, page, PAGE.READWRITE);
    if (!c.ok) throw new Error(`commit ${i}: ${c.error.message}`);
    os.fill(base.value + i * page, 64, 1);
  }
  process.stdout.write('ready\n');
  setInterval(() => {}, 1 << 30);
}

if (args.has('child')) {
  child(Number(args.get('child')));
} else {
  await benchmark();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function startChild(n: number): Promise<ChildProcess> {
  const c = spawn(process.execPath, [process.argv[1]!, `--child=${n}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`the child exited (${code}) before mapping ${n} regions`)));
  });
  return c;
}

function compileCRead(dir: string): string | undefined {
  const src = join(dir, 'read-smaps.c');
  const exe = join(dir, 'read-smaps');
  writeFileSync(
    src,
    `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
/* Read a whole file into one growing buffer, as readFileSync does: the floor for any reader of smaps. */
int main(int argc, char **argv) {
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror("open"); return 1; }
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len == cap) { cap *= 2; buf = realloc(buf, cap); }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) { perror("read"); return 1; }
    if (n == 0) break;
    len += (size_t)n;
  }
  printf("%zu\\n", len);
  return 0;
}
`,
  );
  const r = spawnSync('gcc', ['-O2', '-o', exe, src], { stdio: 'ignore' });
  return r.status === 0 ? exe : undefined;
}

async function timeIt(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function benchmark(): Promise<void> {
  const inspector = createProcessInspector();
  if (inspector.backend !== 'posix' || !existsSync('/proc/self/smaps')) {
    console.log('bench:inspect measures the Linux /proc walk; this OS has none (the win32 walk is tested under Wine).');
    return;
  }
  const limit = Number(readFileSync('/proc/sys/vm/max_map_count', 'utf8'));
  if (limit < MAPPINGS + 5000) {
    console.error(
      `bench:inspect: vm.max_map_count is ${limit}, below the ${MAPPINGS} mappings (+ Node's own) the child makes.\n` +
        `  Raise it for the run (as root: sysctl -w vm.max_map_count=${MAPPINGS + 65536}), or pass --mappings=N.`,
    );
    process.exitCode = 1;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-inspect-bench-'));
  const cRead = compileCRead(dir);
  const hasPmap = existsSync('/usr/bin/pmap');
  const big = await startChild(MAPPINGS);
  const pid = big.pid!;
  const smaps = `/proc/${pid}/smaps`;
  try {
    const first = await inspector.walkProcess(pid);
    if (!first.ok) throw new Error(first.error.message);
    const mapped = first.value.regions.filter((r) => r.state !== 'MEM_FREE').length;
    const bytes = readFileSync(smaps).length;
    console.log(
      `child ${pid}: ${mapped} mappings, /proc/PID/smaps is ${(bytes / 1024 / 1024).toFixed(1)} MiB; ${ROUNDS} rounds, alternating`,
    );

    if (!MEMORY_ONLY) await timings(mapped);
    await memory();
  } finally {
    big.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }

  /** Wall time, and CPU time of this process (all its threads: the kernel makes smaps inside the read calls) for the
   * two in-process readers (pmap and the C reader are other processes); then the watch. */
  async function timings(mapped: number): Promise<void> {
    const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
    const times: Record<string, number[]> = {
      walk: [],
      readFile: [],
      cRead: [],
      pmap: [],
      walkCpu: [],
      readFileCpu: [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      let c0 = process.cpuUsage();
      times.walk!.push(
        await timeIt(async () => {
          const w = await inspector.walkProcess(pid);
          if (!w.ok) throw new Error(w.error.message);
        }),
      );
      times.walkCpu!.push(cpuMs(process.cpuUsage(c0)));
      c0 = process.cpuUsage();
      times.readFile!.push(await timeIt(() => readFileSync(smaps)));
      times.readFileCpu!.push(cpuMs(process.cpuUsage(c0)));
      if (cRead) times.cRead!.push(await timeIt(() => execFileSync(cRead, [smaps])));
      if (hasPmap)
        times.pmap!.push(await timeIt(() => spawnSync('/usr/bin/pmap', ['-X', String(pid)], { stdio: 'ignore' })));
    }
    const walk = median(times.walk!);
    const readFile = median(times.readFile!);
    console.log(
      `\n| what (${mapped.toLocaleString('en')}-mapping child)`.padEnd(42) + ' | median wall ms | ratio walk / it |',
    );
    console.log('| ---------------------------------------- | -------------: | --------------: |');
    const row = (name: string, ms: number) =>
      console.log(`| ${name.padEnd(40)} | ${ms.toFixed(1).padStart(14)} | ${(walk / ms).toFixed(2).padStart(15)} |`);
    row('walkProcess (hostmem)', walk);
    row('readFileSync(/proc/PID/smaps)', readFile);
    if (cRead) row('C read() of /proc/PID/smaps', median(times.cRead!));
    if (hasPmap) row('pmap -X PID > /dev/null', median(times.pmap!));
    const walkCpu = median(times.walkCpu!);
    const readFileCpu = median(times.readFileCpu!);
    console.log(
      `\nCPU (median): walk ${walkCpu.toFixed(0)} ms, readFileSync ${readFileCpu.toFixed(0)} ms: ratio ${(walkCpu / readFileCpu).toFixed(2)}`,
    );
    console.log(
      `walk / readFile ${(walk / readFile).toFixed(2)} wall (target ≤ 1.5)` +
        (hasPmap ? `; walk / pmap -X ${(walk / median(times.pmap!)).toFixed(2)} (target ≤ 1.0)` : ''),
    );

    // --watch 1s: the CLI's watcher (walk + summary + diff every second). The first walk is a whole walk; the CPU
    // share is measured after it, over --watch-seconds of an unchanging process (the steady state of a watch).
    const collect = (globalThis as { gc?: () => void }).gc;
    collect?.(); // the rounds' garbage is not the watch's
    const watcher = new ProcessWatcher(inspector, pid, { intervalMs: 1000, keepAlive: true });
    let walks = 0;
    let reused = 0;
    const firstWalk = new Promise<void>((resolve) => {
      watcher.onWalk((e) => {
        walks++;
        if (e.reused) reused++;
        resolve();
      });
    });
    const w0 = process.cpuUsage();
    watcher.start();
    await firstWalk;
    const firstCpu = cpuMs(process.cpuUsage(w0));
    walks = 0;
    reused = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, WATCH_SECONDS * 1000));
    watcher.stop();
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const share = cpuMs(cpu) / wall;
    console.log(
      `\n--watch 1s: first walk ${firstCpu.toFixed(0)} ms CPU; then ${WATCH_SECONDS} s with ${walks} ticks (${reused} kept the ` +
        `previous regions: fingerprint unchanged), CPU ${cpuMs(cpu).toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}, ` +
        `system ${(cpu.system / 1000).toFixed(0)}) = ${(share * 100).toFixed(1)} % of one core (target < 10 %)`,
    );

    // The same with the fingerprint off: every tick a whole walk (what a process that changes every second costs).
    collect?.();
    const busy = new ProcessWatcher(inspector, pid, { intervalMs: 1000, keepAlive: true, alwaysWalk: true });
    let busyWalks = 0;
    busy.onWalk(() => busyWalks++);
    const b0 = process.cpuUsage();
    const bt0 = performance.now();
    busy.start();
    await new Promise((resolve) => setTimeout(resolve, WATCH_SECONDS * 1000));
    busy.stop();
    const busyCpu = cpuMs(process.cpuUsage(b0));
    console.log(
      `--watch 1s walking every tick (alwaysWalk): ${busyWalks} walks in ${WATCH_SECONDS} s, ` +
        `${((busyCpu / (performance.now() - bt0)) * 100).toFixed(1)} % of one core`,
    );
  }

  /** Bytes a walk holds per region: children of N/4, N/2 and N mappings. */
  async function memory(): Promise<void> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) {
      console.log('\n(bytes per region: run with node --expose-gc)');
      return;
    }
    const smaller = [await startChild(Math.floor(MAPPINGS / 4)), await startChild(Math.floor(MAPPINGS / 2))];
    try {
      console.log('\n| mappings | regions held | heap bytes held | bytes / region |');
      console.log('| -------: | -----------: | --------------: | -------------: |');
      const points: Array<[number, number]> = [];
      // The walk is held only by `retained`: a local of this loop would live on in the async function's context
      // until overwritten, and count in the next measurement's baseline.
      const walkInto = async (p: number): Promise<void> => {
        const w = await inspector.walkProcess(p);
        if (!w.ok) throw new Error(w.error.message);
        retained.push(w.value);
      };
      const settle = async (): Promise<void> => {
        // Out of the continuation that held the last result, then two full collections.
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        gc();
      };
      // A walk of each first, kept nowhere: the code they compile and optimise is not per region.
      for (const c of [...smaller, big]) await walkInto(c.pid!);
      retained.length = 0;
      for (const p of [...smaller.map((c) => c.pid!), pid]) {
        // Three times each, the median: one measurement now and then catches a collection's leftovers.
        const samples: number[] = [];
        let n = 0;
        let mappings = 0;
        for (let k = 0; k < 3; k++) {
          await settle();
          const before = process.memoryUsage().heapUsed;
          await walkInto(p);
          await settle();
          samples.push(process.memoryUsage().heapUsed - before);
          n = retained[0]!.regions.length;
          mappings = retained[0]!.regions.filter((r) => r.state !== 'MEM_FREE').length;
          retained.length = 0;
        }
        const grown = median(samples);
        points.push([n, grown]);
        console.log(
          `| ${String(mappings).padStart(8)} | ${String(n).padStart(12)} | ${String(grown).padStart(15)} | ${(grown / n).toFixed(0).padStart(14)} |`,
        );
      }
      const [x0, y0] = points[0]!;
      const [x1, y1] = points[points.length - 1]!;
      console.log(`slope ${((y1 - y0) / (x1 - x0)).toFixed(0)} bytes per extra region (${x0} → ${x1} regions)`);
    } finally {
      for (const c of smaller) c.kill('SIGKILL');
    }
  }
}
