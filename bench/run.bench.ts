/**
 * `npm run bench:run`: the headless monitor under load and at rest, each against a baseline measured in the same run.
 *
 * 1. Throughput: `hostmem run --scenario steady --rate 0 --param chunkPages=1` for --seconds, with --record on,
 *    side by side with the same run without recording (the baseline): calls/s and the ratio.
 * 2. Soak: the recording run's resident memory sampled every --rss-every seconds for --soak seconds (default 600):
 *    RSS at the end against RSS after the first minute (flat ≈ 1.0).
 * 3. Idle: a host with its sampler (250 ms) and publisher and one subscriber, no workload, for --idle seconds:
 *    CPU % of the process, beside a bare Node process that only runs a 250 ms timer.
 * Linux only (reads /proc/PID/status); the numbers go in BENCHMARKS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHost } from '../main/host';
import { createPublisher } from '../main/telemetry/publisher';
import { createSampler } from '../main/telemetry/sampler';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 20);
const SOAK = Number(args.get('soak') ?? 600);
const RSS_EVERY = Number(args.get('rss-every') ?? 30);
const IDLE = Number(args.get('idle') ?? 30);
const CLI = join(process.cwd(), 'out/cli/hostmem.js');
const dir = mkdtempSync(join(tmpdir(), 'hostmem-bench-'));

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function callsPerSecond(stdout: string): number {
  const m = /calls\s+(\d+) \((\d+) calls\/s\)/.exec(stdout);
  if (!m) throw new Error(`no calls line in:\n${stdout}`);
  return Number(m[2]);
}

/** The measured run: `steady` flat out, one page per commit, optionally recorded. */
function runArgs(seconds: number, ...extra: string[]): string[] {
  return [
    CLI,
    'run',
    '--scenario',
    'steady',
    '--rate',
    '0',
    '--param',
    'chunkPages=1',
    '--duration',
    `${seconds}s`,
    '--quiet',
    ...extra,
  ];
}

function runCli(seconds: number, record: boolean): number {
  const argv = record ? runArgs(seconds, '--record', join(dir, 'throughput.session')) : runArgs(seconds);
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hostmem run failed: ${r.stderr}`);
  return callsPerSecond(r.stdout);
}

async function soak(seconds: number): Promise<void> {
  const session = join(dir, 'soak.session');
  const child = spawn(process.execPath, runArgs(seconds, '--record', session, '--max-record-size', '64GiB'), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const rss: Array<[number, number]> = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    try {
      rss.push([(Date.now() - t0) / 1000, rssOf(child.pid!)]);
      const [t, r] = rss.at(-1)!;
      console.log(`  soak t=${t.toFixed(0)}s rss ${(r / 2 ** 20).toFixed(1)} MiB`);
    } catch {
      // The child has exited.
    }
  }, RSS_EVERY * 1000);
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  clearInterval(timer);
  const first = rss.find(([t]) => t >= 60) ?? rss[0];
  const last = rss.at(-1);
  let size = 0;
  try {
    size = statSync(session).size;
  } catch {
    // no session
  }
  console.log(
    `soak: ${seconds}s at ${callsPerSecond(out)} calls/s with recording (${(size / 2 ** 30).toFixed(2)} GiB session)`,
  );
  if (first && last) {
    console.log(
      `soak: rss after ${first[0].toFixed(0)}s ${(first[1] / 2 ** 20).toFixed(1)} MiB, after ${last[0].toFixed(0)}s ${(last[1] / 2 ** 20).toFixed(1)} MiB, ratio ${(last[1] / first[1]).toFixed(3)}`,
    );
  }
}

function cpuPercent(seconds: number, work: () => () => void): Promise<number> {
  const stop = work();
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) =>
    setTimeout(() => {
      const u = process.cpuUsage(u0);
      const wall = Number(process.hrtime.bigint() - t0) / 1000;
      stop();
      resolve((100 * (u.user + u.system)) / wall);
    }, seconds * 1000),
  );
}

async function idle(seconds: number): Promise<void> {
  const host = createHost();
  const monitor = await cpuPercent(seconds, () => {
    const sampler = createSampler(host, { intervalMs: 250 });
    sampler.start();
    const publisher = createPublisher(host, sampler);
    let bytes = 0;
    const off = publisher.subscribe((msg) => (bytes += JSON.stringify(msg).length));
    return () => {
      off();
      publisher.stop();
      sampler.stop();
      console.log(`idle: publisher sent ${bytes} bytes in ${seconds}s`);
    };
  });
  host.dispose();
  const baseline = await cpuPercent(seconds, () => {
    const t = setInterval(() => undefined, 250);
    return () => clearInterval(t);
  });
  console.log(
    `idle: monitor ${monitor.toFixed(2)}% CPU; bare node with a 250 ms timer ${baseline.toFixed(2)}% CPU; difference ${(monitor - baseline).toFixed(2)} points`,
  );
}

async function main(): Promise<void> {
  console.log(`hostmem bench:run (node ${process.version}, ${SECONDS}s throughput runs, ${SOAK}s soak, ${IDLE}s idle)`);
  const base: number[] = [];
  const rec: number[] = [];
  for (let i = 0; i < 3; i++) {
    base.push(runCli(SECONDS, false));
    rec.push(runCli(SECONDS, true));
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[1]!;
  console.log(`throughput: without recording ${base.join(', ')} calls/s; with recording ${rec.join(', ')} calls/s`);
  console.log(
    `throughput: median with recording ${med(rec)} calls/s, ratio recorded/unrecorded ${(med(rec) / med(base)).toFixed(3)}`,
  );
  await idle(IDLE);
  if (SOAK > 0) await soak(SOAK);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
