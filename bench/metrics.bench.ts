/**
 * `npm run bench:metrics`: what the Prometheus endpoint costs, against baselines measured side by side in the same
 * run.
 *
 * 1. Scrapes. One host that has answered every method (successes and failures at every level; every known label
 *    set is exported anyway, at 0 when nothing happened) and 8 watches of real processes (Node children, each a
 *    `--watch PID` with its health record, walked once before timing: the scrape only copies the summaries), plus
 *    prom-client's default process metrics. Measured, alternating round by round:
 *    - `render`: `metrics.scrape()` alone — the server's own work for a scrape (text format, and OpenMetrics);
 *    - `GET /metrics`: the whole request over loopback against `startServer({ metricsOnly })` (token check, HTTP);
 *    - baseline `GET static`: a plain node:http server on loopback answering a pre-rendered body of the same size,
 *      with the same client, i.e. the HTTP floor.
 *    Target: p95 of the scrape at the server ≤ 1 ms. Wall time and this process's CPU time (user + system,
 *    process.cpuUsage) are both given: on a shared machine the wall-time tail is mostly waiting for a core.
 * 2. The per-call hook. The reserve → commit → decommit → release cycle (as `bench:host`) through a host with a
 *    no-op listener (what the app and `serve` always have: the sampler and publisher listen), through the same host
 *    with the metrics listener added, and through the raw native layer, alternating. The difference of the first two
 *    is what metrics add per call. And the listener alone, called on a prepared `call` event in a loop (ns per call).
 *
 *   node out/bench/metrics.bench.js [--scrapes=2000] [--rounds=9] [--cycles=2000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Agent } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { MEM, PAGE, createOsMemory, createProcessInspector } from '../native';
import { DEFAULT_POLICY, createHost, type Host } from '../main/host';
import { createHostMetrics, WatchedProcesses } from '../main/metrics';
import { startServer } from '../main/server';
import { createService } from '../main/service';
import { createPublisher } from '../main/telemetry/publisher';
import { createSampler } from '../main/telemetry/sampler';

const KiB = 1024;
const MiB = 1024 * KiB;
const RW = PAGE.READWRITE;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SCRAPES = Number(args.get('scrapes') ?? 2000);
const ROUNDS = Number(args.get('rounds') ?? 9);
const CYCLES = Number(args.get('cycles') ?? 2000);
const PROCESSES = 8;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const ms = (ns: bigint): number => Number(ns) / 1e6;

/** Every method, with failures at each level, so that every series a busy host has exists. */
async function exercise(host: Host): Promise<void> {
  const held: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await host.VirtualAlloc(null, 256 * KiB, MEM.RESERVE | MEM.COMMIT, RW, 0);
    held.push(r.address!);
  }
  const base = held[0]!;
  await host.VirtualQuery(base);
  await host.VirtualProtect(base, 4096, PAGE.READONLY);
  await host.Fill(held[1]!, 4096, 7);
  await host.Check(held[1]!, 4096, 7);
  await host.VirtualFree(held[2]!, 64 * KiB, MEM.DECOMMIT);
  await host.VirtualFree(0x1000, 0, MEM.RELEASE);
  await host.GetMemoryLoad();
  await host.RegisterMemoryNotificationCallback(() => undefined);
  await host.NeedsVirtualAddressSpace(0x7000_0000_0000, 64 * KiB);
  await host.AcquiredVirtualAddressSpace(0x7000_0000_0000, 64 * KiB);
  await host.ReleasedVirtualAddressSpace(0x7000_0000_0000);
  const heap = await host.CreateMalloc(1);
  const m = host.malloc(heap.malloc!)!;
  const a = await m.Alloc(128, 0);
  await m.DebugAlloc(128, 1, 'bench.ts', 1);
  await m.Free(a.address!);
  await host.VirtualAlloc(null, 0, MEM.RESERVE, RW, 0);
  // Into the commit limit at every level: refusals by policy, and eProcessCritical's timeout.
  for (let i = 0; i < 60; i++) await host.VirtualAlloc(null, 256 * KiB, MEM.RESERVE | MEM.COMMIT, RW, i % 3);
}

function get(port: number, path: string, agent: Agent, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function cycles(host: Host, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = await host.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, RW, 0);
    const a = r.address!;
    await host.VirtualAlloc(a, 64 * KiB, MEM.COMMIT, RW, 0);
    await host.VirtualFree(a, 64 * KiB, MEM.DECOMMIT);
    await host.VirtualFree(a, 0, MEM.RELEASE);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

function rawCycles(n: number): number {
  const os = createOsMemory();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = os.reserve(null, 64 * KiB, false);
    if (!r.ok) throw new Error(r.error.message);
    os.commit(r.value, 64 * KiB, RW);
    os.decommit(r.value, 64 * KiB);
    os.release(r.value, 64 * KiB);
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    children.push(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' }));
  }
  try {
    await scrapes(children);
    await hook();
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

async function scrapes(children: readonly ChildProcess[]): Promise<void> {
  const host = createHost({ policy: { ...DEFAULT_POLICY, commitLimit: 8 * MiB, processCriticalWaitMs: 20 } });
  const sampler = createSampler(host, { intervalMs: 250 });
  const publisher = createPublisher(host, sampler);
  const watched = new WatchedProcesses();
  const metrics = createHostMetrics({ host, sampler, version: 'bench', processes: watched });
  const service = createService({ host, sampler, publisher, transport: 'websocket', version: 'bench' });
  sampler.start();
  await exercise(host);
  host.reset();
  sampler.sampleNow();

  const inspector = createProcessInspector();
  await new Promise((r) => setTimeout(r, 300)); // the children are up
  const watchers = children.map((c) => watched.watch(inspector, c.pid!, 'node', { intervalMs: 600_000 }));
  for (const w of watchers) await w.walkNow();
  await new Promise((r) => setTimeout(r, 200)); // their start times (processInfo) are in
  const listed = watched.list();
  const types = listed.reduce((n, p) => n + p.byType.length, 0);

  // The server's own time for a scrape: from the route calling scrape() to the body being ready (no client in it).
  const atServer: number[] = [];
  const atServerCpu: number[] = [];
  const timedMetrics = {
    scrape: async (accept?: string) => {
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      const r = await metrics.scrape(accept);
      atServer.push(ms(process.hrtime.bigint() - t));
      const d = process.cpuUsage(c);
      atServerCpu.push((d.user + d.system) / 1000);
      return r;
    },
  };
  const server = await startServer({ service, metrics: timedMetrics, metricsOnly: true });
  const auth = { authorization: `Bearer ${server.token}` };
  const body = (await metrics.scrape()).body;
  const open = (await metrics.scrape('application/openmetrics-text')).body;
  const staticBody = Buffer.from(body);
  const plain = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': staticBody.length,
    });
    res.end(staticBody);
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  const plainPort = (plain.address() as AddressInfo).port;
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });

  console.log(
    `hostmem bench: metrics (${inspector.backend}, node ${process.version}); 1 host, ${listed.length} watched processes ` +
      `(${types} process×type series each for 4 gauges), exposition ${body.length} bytes text / ${open.length} OpenMetrics, ` +
      `${body.split('\n').filter((l) => l && !l.startsWith('#')).length} samples (${body.split('\n').filter((l) => l.startsWith('hostmem_')).length} hostmem_*); ${SCRAPES} scrapes each`,
  );

  const render: number[] = [];
  const renderOpen: number[] = [];
  const viaHttp: number[] = [];
  const baseline: number[] = [];
  const cpu = { render: [] as number[], renderOpen: [] as number[], viaHttp: [] as number[], baseline: [] as number[] };
  /** Run `f`, push its wall time and this process's CPU time (ms) onto the two lists. */
  const timed = async (wall: number[], cpuList: number[], f: () => Promise<unknown>): Promise<void> => {
    const c = process.cpuUsage();
    const t = process.hrtime.bigint();
    await f();
    wall.push(ms(process.hrtime.bigint() - t));
    const d = process.cpuUsage(c);
    cpuList.push((d.user + d.system) / 1000);
  };
  // Warm-up, then alternate the four measurements in blocks so they see the same machine.
  for (let i = 0; i < 200; i++) {
    await metrics.scrape();
    await metrics.scrape('application/openmetrics-text');
    await get(server.port, '/metrics', agent, auth);
    await get(plainPort, '/', agent, {});
  }
  atServer.length = 0;
  atServerCpu.length = 0;
  const block = 50;
  for (let done = 0; done < SCRAPES; done += block) {
    gc();
    for (let i = 0; i < block; i++) {
      await timed(render, cpu.render, () => metrics.scrape());
      await timed(renderOpen, cpu.renderOpen, () => metrics.scrape('application/openmetrics-text'));
      await timed(viaHttp, cpu.viaHttp, () => get(server.port, '/metrics', agent, auth));
      await timed(baseline, cpu.baseline, () => get(plainPort, '/', agent, {}));
    }
  }
  const f = (x: number): string => x.toFixed(3).padStart(6);
  const row = (name: string, xs: number[], cs: number[]): string =>
    `${name.padEnd(34)} wall median ${f(median(xs))} p95 ${f(quantile(xs, 0.95))} p99 ${f(quantile(xs, 0.99))} ms` +
    ` | cpu median ${f(median(cs))} p95 ${f(quantile(cs, 0.95))} ms`;
  console.log(row('render (scrape(), text format)', render, cpu.render));
  console.log(row('render (scrape(), OpenMetrics)', renderOpen, cpu.renderOpen));
  console.log(row('GET /metrics over loopback', viaHttp, cpu.viaHttp));
  console.log(row('  of which at the server (scrape)', atServer, atServerCpu));
  console.log(row('baseline: GET static, same bytes', baseline, cpu.baseline));
  console.log(
    `scrape at the server p95 wall ${quantile(atServer, 0.95).toFixed(3)} ms, cpu ${quantile(atServerCpu, 0.95).toFixed(3)} ms (target ≤ 1 ms); ` +
      `GET /metrics p95 wall ${quantile(viaHttp, 0.95).toFixed(3)} ms, cpu ${quantile(cpu.viaHttp, 0.95).toFixed(3)} ms; ` +
      `render p95 wall ${quantile(render, 0.95).toFixed(3)} ms, cpu ${quantile(cpu.render, 0.95).toFixed(3)} ms; ` +
      `GET /metrics / static baseline (median wall) ${(median(viaHttp) / median(baseline)).toFixed(2)}; load average ${loadavg()[0]!.toFixed(1)}`,
  );

  agent.destroy();
  await new Promise<void>((r) => plain.close(() => r()));
  await server.close();
  watched.dispose();
  for (const w of watchers) w.stop();
  await service.dispose();
  publisher.stop();
  metrics.dispose();
  sampler.stop();
  host.dispose();
}

async function hook(): Promise<void> {
  const host = createHost();
  const noop = (): void => undefined;
  host.subscribe(noop);
  const withMetrics = createHost();
  withMetrics.subscribe(noop);
  const metrics = createHostMetrics({ host: withMetrics, sampler: { latest: () => undefined }, version: 'bench' });
  await cycles(host, 300);
  await cycles(withMetrics, 300);
  rawCycles(300);
  const a: number[] = [];
  const b: number[] = [];
  const r: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    gc();
    if (round % 2 === 0) {
      a.push(await cycles(host, CYCLES));
      b.push(await cycles(withMetrics, CYCLES));
      r.push(rawCycles(CYCLES));
    } else {
      r.push(rawCycles(CYCLES));
      b.push(await cycles(withMetrics, CYCLES));
      a.push(await cycles(host, CYCLES));
    }
  }
  const perCall = ((median(b) - median(a)) * 1000) / 4;
  console.log(
    `per-call hook (64 KiB cycle = 4 calls, ${ROUNDS} rounds × ${CYCLES}): listener only ${median(a).toFixed(2)} µs/cycle, ` +
      `with metrics ${median(b).toFixed(2)} µs/cycle, raw ${median(r).toFixed(2)} µs/cycle; ` +
      `metrics add ${perCall.toFixed(0)} ns per call; ratio (with metrics)/raw ${(median(b) / median(r)).toFixed(3)}, ` +
      `(listener only)/raw ${(median(a) / median(r)).toFixed(3)}`,
  );
  // The listener alone, on a prepared event: what each call pays for the metrics, without the OS or the host.
  const event = {
    kind: 'call' as const,
    seq: 1,
    time: Date.now(),
    method: 'VirtualAlloc' as const,
    args: {},
    result: { hr: 0 },
    durationMs: 0.004,
  };
  const listener = createHostMetrics({
    host: {
      subscribe: () => () => undefined,
      backend: withMetrics.backend,
      stats: () => withMetrics.stats(),
      policy: () => withMetrics.policy(),
      memoryState: () => withMetrics.memoryState(),
    },
    sampler: { latest: () => undefined },
    version: 'bench',
  }).counters.listener;
  const N = 5_000_000;
  const alone: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // CPU time, not wall time: on a shared machine the loop is often waiting for a core.
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) listener(event);
    const c = process.cpuUsage(c0);
    alone.push(((c.user + c.system) * 1000) / N);
  }
  console.log(
    `metrics listener alone: ${median(alone).toFixed(1)} ns of CPU per call event (median of ${ROUNDS} × ${N})`,
  );
  const calls = metrics.counters.calls.reduce((s, x) => s + x, 0);
  if (calls < ROUNDS * CYCLES * 4) throw new Error(`the metrics saw ${calls} calls`);
  metrics.dispose();
  host.dispose();
  withMetrics.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
