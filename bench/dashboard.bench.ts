/**
 * `npm run bench:dashboard`: the served dashboard in headless Chromium with 100,000 live regions and 10,000 host
 * calls/s, against a baseline measured in the same run (the same page, no regions, no calls).
 *
 * A real `hostmem serve` child (out/cli/hostmem.js, out/renderer); a Node WebSocket client (the contract's
 * `createSocketClient`) makes the calls: 100,000 reservations (64 KiB, MEM_RESERVE), then, each 50 ms, 250 releases
 * of random live ones and 250 new reservations (10,000 calls/s, the population held at 100,000).
 *
 * Figures, per phase (baseline, load):
 * - frame time: requestAnimationFrame deltas measured in the page, p50 / p95 / max;
 * - pushes/s and bytes/s the page receives (CDP Network.webSocketFrameReceived);
 * - load only: delay from a host call (a reservation tagged `!probe-N`, which sorts first with the table sorted by
 *   tag) to its row in the DOM, measured with the same clock (Date.now) on both sides: p50 / p95 / max.
 * Options: --seconds=N (per phase, default 10), --regions=N (default 100000), --rate=N calls/s (default 10000).
 */
import { type CDPSession, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { createSocketClient, type SocketClient } from '../main/contract/client';
import { launchChromium, serve } from '../tests/e2e/serve';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECONDS = Number(args.get('seconds') ?? 10);
const REGIONS = Number(args.get('regions') ?? 100_000);
const RATE = Number(args.get('rate') ?? 10_000);
const TICK_MS = 50;
const KiB = 1024;

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

class Traffic {
  frames = 0;
  bytes = 0;
  constructor(cdp: CDPSession) {
    cdp.on('Network.webSocketFrameReceived', (e: { response: { payloadData: string } }) => {
      const data = e.response.payloadData;
      if (data.startsWith('{"t":"push"')) {
        this.frames++;
        this.bytes += Buffer.byteLength(data);
      }
    });
  }
  reset(): void {
    this.frames = 0;
    this.bytes = 0;
  }
}

interface PhaseFigures {
  readonly frames: number[];
  readonly pushesPerS: number;
  readonly bytesPerS: number;
  readonly seconds: number;
}

async function phase(
  page: Page,
  traffic: Traffic,
  seconds: number,
  during?: () => Promise<void>,
): Promise<PhaseFigures> {
  traffic.reset();
  const started = Date.now();
  await startFrames(page);
  if (during) await during();
  else await new Promise((r) => setTimeout(r, seconds * 1000));
  const frames = await stopFrames(page);
  const elapsed = (Date.now() - started) / 1000;
  return { frames, pushesPerS: traffic.frames / elapsed, bytesPerS: traffic.bytes / elapsed, seconds: elapsed };
}

function print(name: string, f: PhaseFigures): void {
  console.log(
    `${name.padEnd(9)} frames ${String(f.frames.length).padStart(5)}  p50 ${ms(quantile(f.frames, 0.5))}  p95 ${ms(
      quantile(f.frames, 0.95),
    )}  max ${ms(Math.max(...f.frames))}  pushes ${f.pushesPerS.toFixed(1)}/s  ${(f.bytesPerS / 1024).toFixed(0)} KiB/s  (${f.seconds.toFixed(1)} s)`,
  );
}

async function main(): Promise<void> {
  const served = await serve(['--port', '0', '--scenario', 'none']);
  const browser = await launchChromium();
  let api: SocketClient | undefined;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const traffic = new Traffic(cdp);
    await page.goto(served.url);
    await page.waitForSelector('[data-testid="connection-state"][data-state="open"]', { timeout: 30_000 });
    await page.locator('[data-testid="nav-allocations"]').click();
    await page.locator('[data-testid="allocation-table"]').waitFor();
    // Sort by tag so that the probes ('!probe-N') come first.
    await page.locator('[data-testid="allocation-sort-tag"]').click();

    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`${served.origin.replace('http', 'ws')}/ws?token=${served.token}`);
      s.once('open', () => resolve(s));
      s.once('error', reject);
    });
    api = createSocketClient(ws);
    const client = api;
    const reserve = (tag: string): Promise<number | null> =>
      client
        .call('virtualAlloc', { address: null, size: 64 * KiB, type: 0x2000, protect: 0x04, level: 0, tag })
        .then((r) => r.address);
    const release = (address: number): Promise<unknown> =>
      client.call('virtualFree', { address, size: 0, type: 0x8000 });

    console.log(`hostmem dashboard bench: ${REGIONS} regions, ${RATE} calls/s, ${SECONDS} s per phase`);
    console.log(`chromium headless, viewport 1280x860, allocations view sorted by tag\n`);
    const baseline = await phase(page, traffic, SECONDS);
    print('baseline', baseline);

    // Populate.
    const t0 = Date.now();
    const live: number[] = [];
    for (let i = 0; i < REGIONS; i += 1000) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(1000, REGIONS - i) }, (_, j) => reserve(`bench/${(i + j) % 64}`)),
      );
      for (const a of batch) if (a !== null) live.push(a);
    }
    console.log(`populated ${live.length} regions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await page.waitForFunction(
      (n) =>
        Number(
          (globalThis as unknown as PageGlobal).document
            .querySelector('[data-testid="allocation-table"]')
            ?.getAttribute('data-all'),
        ) >= n,
      live.length,
      { timeout: 120_000, polling: 250 },
    );
    const settled = await phase(page, traffic, SECONDS);
    print('100k idle', settled);

    // Load: RATE calls/s (half releases, half reservations), probes meanwhile.
    let calls = 0;
    let running = true;
    const perTick = Math.round((RATE * TICK_MS) / 1000 / 2);
    let seed = 1;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const load = (async () => {
      let next = Date.now();
      while (running) {
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < perTick && live.length > 0; i++) {
          const k = Math.floor(rnd() * live.length);
          const address = live[k]!;
          live[k] = live[live.length - 1]!;
          live.pop();
          work.push(release(address));
          work.push(reserve(`bench/${i % 64}`).then((a) => (a !== null ? live.push(a) : 0)));
        }
        calls += work.length;
        await Promise.all(work);
        next += TICK_MS;
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    const delays: number[] = [];
    const callsBefore = calls;
    const loaded = await phase(page, traffic, SECONDS, async () => {
      const end = Date.now() + SECONDS * 1000;
      for (let n = 0; Date.now() < end; n++) {
        const sent = Date.now();
        const base = await reserve(`!probe-${n}`);
        if (base === null) continue;
        const seen = await page.waitForFunction(
          (b) =>
            (globalThis as unknown as PageGlobal).document.querySelector(
              `[data-testid="allocation-row"][data-base="${b}"]`,
            ) !== null
              ? Date.now()
              : false,
          base,
          { timeout: 10_000, polling: 'raf' },
        );
        delays.push(((await seen.jsonValue()) as number) - sent);
        await release(base);
        await new Promise((r) => setTimeout(r, 300));
      }
    });
    running = false;
    await load;
    const achieved = (calls - callsBefore) / loaded.seconds;
    print('load', loaded);
    console.log(
      `load      ${achieved.toFixed(0)} calls/s achieved; host call → row on screen (${delays.length} probes): p50 ${ms(
        quantile(delays, 0.5),
      )}  p95 ${ms(quantile(delays, 0.95))}  max ${ms(Math.max(...delays))}`,
    );
  } finally {
    api?.close();
    await browser.close();
    await served.stop();
  }
}

await main();
