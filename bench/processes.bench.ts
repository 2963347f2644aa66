/**
 * `npm run bench:processes`: the Processes view in headless Chromium watching a process of 100,000 regions that
 * changes 1,000 of them a second, at the default 1 s interval, against baselines measured in the same run.
 *
 * The server is this process: the real service, server, renderer (out/renderer) and host, with one thing
 * synthetic — the process inspector answers for a made-up process (pid 4242) whose address space has REGIONS
 * regions, RATE of which get new committed / resident figures every second (applied at each walk for the time
 * elapsed, as a real process changing steadily looks to a walker). A real process cannot be used: Linux caps a
 * process at 65,530 mappings (vm.max_map_count), and no OS here lets a test hold 100,000 regions changing on cue.
 * Everything from the walk on — the watcher, the diff of two walks, the changed rows, the push, the WebSocket, the
 * store, the table and the chart — is the product's own code.
 *
 * Phases (each --seconds=N, default 15):
 * - `baseline`: the view watching a 100-region process that does not change;
 * - `100k idle`: 100,000 regions, no change — what a watch costs when nothing happens (bytes/s of process pushes);
 * - `100k load`: 100,000 regions, RATE changes/s — frame times, bytes/s, and change → screen: the bench changes a
 *   probe region (the first row, the table sorted by address) and waits for its row to show the new committed
 *   figure, both times from Date.now on this machine.
 * Options: --seconds=N, --regions=N (default 100000), --rate=N changes/s (default 1000).
 */
import { type CDPSession, type Page } from 'playwright-core';
import type { ProcessInspector, ProcessRegion, ProcessWalk } from '../native';
import { createHost } from '../main/host';
import { startServer } from '../main/server';
import { createService } from '../main/service';
import { createPublisher } from '../main/telemetry/publisher';
import { createSampler } from '../main/telemetry/sampler';
import { launchChromium, rendererDir } from '../tests/e2e/serve';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 15);
const REGIONS = Number(args.get('regions') ?? 100_000);
const RATE = Number(args.get('rate') ?? 1000);
const PID = 4242;
const PAGE = 4096;
const PAGE_READWRITE = 0x04;
const PAGE_READONLY = 0x02;

// ---------------------------------------------------------------------------------------------- the made-up process

class SyntheticProcess {
  regions: ProcessRegion[] = [];
  rate = 0;
  private lastWalk = Date.now();
  private seed = 7;
  private probeCommitted = PAGE;

  constructor(count: number) {
    this.resize(count);
  }

  /** mulberry32: 32-bit integer arithmetic (an LCG in doubles loses its low bits and cycles short). */
  private rnd(): number {
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = Math.imul(this.seed ^ (this.seed >>> 15), 1 | this.seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private region(i: number): ProcessRegion {
    const base = 0x10000000 + i * 0x10000;
    const size = 0x10000;
    const committed = PAGE * (1 + Math.floor(this.rnd() * 16));
    const kind = i % 10;
    return {
      baseAddress: base,
      size,
      state: 'MEM_COMMIT',
      type: kind === 0 ? 'MEM_IMAGE' : kind === 1 ? 'MEM_MAPPED' : 'MEM_PRIVATE',
      protect: kind === 0 ? PAGE_READONLY : PAGE_READWRITE,
      allocationBase: base,
      allocationProtect: PAGE_READWRITE,
      committed: i === 0 ? this.probeCommitted : committed,
      file: kind <= 1 ? `/usr/lib/bench/lib${i % 97}.so` : null,
      label: null,
      use: kind === 2 ? 'heap' : null,
      resident: Math.floor(committed / 2),
      private: Math.floor(committed / 4),
      pss: null,
      swap: null,
    };
  }

  resize(count: number): void {
    this.regions = Array.from({ length: count }, (_, i) => this.region(i));
    this.lastWalk = Date.now();
  }

  /** The probe (the lowest region) shows `committed` from the next walk on. */
  setProbe(committed: number): void {
    this.probeCommitted = committed;
    const r = this.regions[0]!;
    this.regions[0] = { ...r, committed, resident: committed };
  }

  walk(): ProcessWalk {
    const now = Date.now();
    const changes = Math.round(((now - this.lastWalk) / 1000) * this.rate);
    this.lastWalk = now;
    for (let k = 0; k < changes; k++) {
      const i = 1 + Math.floor(this.rnd() * (this.regions.length - 1));
      const r = this.regions[i]!;
      const committed = PAGE * (1 + Math.floor(this.rnd() * 16));
      this.regions[i] = { ...r, committed, resident: Math.floor(committed / 2) };
    }
    return {
      pid: PID,
      name: 'synthetic',
      backend: 'posix',
      pageSize: PAGE,
      takenAt: now,
      durationMs: Date.now() - now,
      addressLimit: 0x7fffffffffff,
      regions: this.regions.slice(),
    };
  }
}

function syntheticInspector(p: SyntheticProcess): ProcessInspector {
  const info = {
    pid: PID,
    parentPid: 1,
    name: 'synthetic',
    imagePath: null,
    commandLine: null,
    user: null,
    workingSet: null,
    privateBytes: null,
    privateResident: null,
    virtualSize: null,
    startedAt: null,
  };
  return {
    backend: 'posix',
    pageSize: PAGE,
    listProcesses: () => Promise.resolve({ ok: true, value: [info] }),
    processInfo: () => Promise.resolve({ ok: true, value: info }),
    walkProcess: () => Promise.resolve({ ok: true, value: p.walk() }),
    isRunning: () => true,
  };
}

// ---------------------------------------------------------------------------------------------- measuring

interface PageGlobal {
  readonly document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
  requestAnimationFrame(cb: (t: number) => void): number;
  __frames?: number[];
  __stopFrames?: boolean;
}

const quantile = (xs: readonly number[], q: number): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function startFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobal;
    g.__frames = [];
    g.__stopFrames = false;
    let last = -1;
    const tick = (t: number): void => {
      if (last >= 0) g.__frames!.push(t - last);
      last = t;
      if (!g.__stopFrames) g.requestAnimationFrame(tick);
    };
    g.requestAnimationFrame(tick);
  });
}

async function stopFrames(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobal;
    g.__stopFrames = true;
    return g.__frames ?? [];
  });
}

/** Push bytes the page receives (CDP), process pushes apart. */
class Traffic {
  processFrames = 0;
  processBytes = 0;
  allBytes = 0;
  constructor(cdp: CDPSession) {
    cdp.on('Network.webSocketFrameReceived', (e: { response: { payloadData: string } }) => {
      const data = e.response.payloadData;
      if (!data.startsWith('{"t":"push"')) return;
      const n = Buffer.byteLength(data);
      this.allBytes += n;
      if (data.startsWith('{"t":"push","message":{"type":"process"')) {
        this.processFrames++;
        this.processBytes += n;
      }
    });
  }
  reset(): void {
    this.processFrames = 0;
    this.processBytes = 0;
    this.allBytes = 0;
  }
}

interface PhaseFigures {
  readonly frames: number[];
  readonly processPushesPerS: number;
  readonly processBytesPerS: number;
  readonly allBytesPerS: number;
  readonly seconds: number;
}

async function phase(page: Page, traffic: Traffic, during: () => Promise<void>): Promise<PhaseFigures> {
  traffic.reset();
  const started = Date.now();
  await startFrames(page);
  await during();
  const frames = await stopFrames(page);
  const elapsed = (Date.now() - started) / 1000;
  return {
    frames,
    processPushesPerS: traffic.processFrames / elapsed,
    processBytesPerS: traffic.processBytes / elapsed,
    allBytesPerS: traffic.allBytes / elapsed,
    seconds: elapsed,
  };
}

function print(name: string, f: PhaseFigures): void {
  console.log(
    `${name.padEnd(10)} frames ${String(f.frames.length).padStart(5)}  p50 ${ms(quantile(f.frames, 0.5))}  p95 ${ms(
      quantile(f.frames, 0.95),
    )}  max ${ms(Math.max(...f.frames))}  process pushes ${f.processPushesPerS.toFixed(2)}/s  ${(
      f.processBytesPerS / 1024
    ).toFixed(1)} KiB/s (all pushes ${(f.allBytesPerS / 1024).toFixed(1)} KiB/s)  (${f.seconds.toFixed(1)} s)`,
  );
}

const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

async function main(): Promise<void> {
  const synthetic = new SyntheticProcess(100);
  const host = createHost();
  const sampler = createSampler(host, { intervalMs: 250 });
  const publisher = createPublisher(host, sampler, { maxPushesPerSecond: 20 });
  const service = createService({
    host,
    sampler,
    publisher,
    transport: 'websocket',
    version: 'bench',
    inspector: syntheticInspector(synthetic),
  });
  sampler.start();
  const server = await startServer({ service, staticDir: rendererDir() });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const traffic = new Traffic(cdp);
    const open = async (): Promise<void> => {
      await page.goto('about:blank');
      await page.goto(`${server.url}#processes/${PID}`);
      await page.waitForSelector(`[data-testid="process-watching"][data-pid="${PID}"]`, { timeout: 60_000 });
    };
    const regionsShown = (n: number) =>
      page.waitForFunction(
        (k) =>
          Number(
            (globalThis as unknown as PageGlobal).document
              .querySelector('[data-testid="process-region-table"]')
              ?.getAttribute('data-all'),
          ) >= k,
        n,
        { timeout: 120_000, polling: 250 },
      );

    console.log(`hostmem processes bench: ${REGIONS} regions, ${RATE} changes/s, 1 s interval, ${SECONDS} s per phase`);
    console.log('chromium headless, viewport 1400x1000, Processes view sorted by address\n');

    await open();
    await regionsShown(100);
    const baseline = await phase(page, traffic, () => sleep(SECONDS * 1000));
    print('baseline', baseline);

    synthetic.resize(REGIONS);
    const t0 = Date.now();
    traffic.reset();
    await open();
    await regionsShown(REGIONS);
    console.log(
      `first picture of ${REGIONS} regions on screen in ${((Date.now() - t0) / 1000).toFixed(1)} s (full message ${(
        traffic.processBytes /
        1024 /
        1024
      ).toFixed(1)} MiB)`,
    );
    const idle = await phase(page, traffic, () => sleep(SECONDS * 1000));
    print('100k idle', idle);

    synthetic.rate = RATE;
    await sleep(2500); // the first walks with changes
    const delays: number[] = [];
    const load = await phase(page, traffic, async () => {
      const end = Date.now() + SECONDS * 1000;
      for (let n = 2; Date.now() < end; n++) {
        const committed = PAGE * (1 + (n % 15)); // ≤ the probe's 64 KiB, never twice in a row
        const changed = Date.now();
        synthetic.setProbe(committed);
        const seen = await page.waitForFunction(
          ({ base, committed }) =>
            (globalThis as unknown as PageGlobal).document.querySelector(
              `[data-testid="process-region-row"][data-base="${base}"][data-committed="${committed}"]`,
            ) !== null
              ? Date.now()
              : false,
          { base: 0x10000000, committed },
          { timeout: 10_000, polling: 'raf' },
        );
        delays.push(((await seen.jsonValue()) as number) - changed);
        // Changes land at any point of the walk interval.
        await sleep(200 + ((n * 379) % 900));
      }
    });
    print('100k load', load);
    console.log(
      `100k load  change → screen (${delays.length} probes): p50 ${ms(quantile(delays, 0.5))}  p95 ${ms(
        quantile(delays, 0.95),
      )}  max ${ms(Math.max(...delays))}`,
    );
    console.log(
      `\nratios to baseline: frame p95 ×${(quantile(load.frames, 0.95) / quantile(baseline.frames, 0.95)).toFixed(2)}` +
        `; process bytes/s idle ×${(idle.processBytesPerS / baseline.processBytesPerS).toFixed(2)}` +
        `, load ×${(load.processBytesPerS / baseline.processBytesPerS).toFixed(2)}`,
    );
  } finally {
    await browser.close();
    await server.close();
    await service.dispose();
    publisher.stop();
    sampler.stop();
    host.dispose();
  }
}

await main();
