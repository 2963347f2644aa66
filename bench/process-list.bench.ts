/**
 * `npm run bench:process-list`: what `hostmem ps` and the Processes picker cost now that a process's committed bytes
 * are the kernel's commit charge (Linux: one smaps read per process, the `ac` mappings summed), against baselines
 * measured side by side in the same run, alternating round by round (median of --rounds):
 *   - list:        `inspector.listProcesses()` — every process, with the commit charge and private bytes;
 *   - status only: the reads the list made before (stat, status, cmdline, exe link per process: VmData + VmStk);
 *   - smaps only:  `readFileSync('/proc/PID/smaps')` of every process, nothing parsed (the kernel's floor).
 * Linux only (the win32 list reads counters Windows keeps and did not change).
 *
 *   node out/bench/process-list.bench.js [--rounds=9]
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createProcessInspector } from '../native';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 9);

const pids = (): string[] => readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n));
const quietly = (read: () => unknown): void => {
  try {
    read();
  } catch {
    // gone, or not ours to read: the list skips it too
  }
};

function statusOnly(): void {
  for (const pid of pids()) {
    quietly(() => readFileSync(`/proc/${pid}/stat`, 'latin1'));
    quietly(() => readFileSync(`/proc/${pid}/status`, 'utf8'));
    quietly(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    quietly(() => readlinkSync(`/proc/${pid}/exe`));
  }
}

function smapsOnly(): void {
  for (const pid of pids()) quietly(() => readFileSync(`/proc/${pid}/smaps`));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('bench:process-list: Linux only (the win32 list did not change)');
    return;
  }
  const inspector = createProcessInspector();
  const times = { list: [] as number[], status: [] as number[], smaps: [] as number[] };
  let processes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    const listed = await inspector.listProcesses();
    times.list.push(performance.now() - t);
    if (listed.ok) processes = listed.value.length;
    t = performance.now();
    statusOnly();
    times.status.push(performance.now() - t);
    t = performance.now();
    smapsOnly();
    times.smaps.push(performance.now() - t);
  }
  const [list, status, smaps] = [median(times.list), median(times.status), median(times.smaps)];
  console.log(`processes: ${processes}; load average ${loadavg()[0]!.toFixed(2)} (2 cores shared)`);
  console.log(`list (commit charge from smaps): ${list.toFixed(1)} ms (median of ${ROUNDS})`);
  console.log(`status only (before):            ${status.toFixed(1)} ms  → list/status ${(list / status).toFixed(1)}×`);
  console.log(`smaps only (kernel floor):       ${smaps.toFixed(1)} ms  → list/smaps ${(list / smaps).toFixed(2)}×`);
}

void main();
