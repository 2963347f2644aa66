/**
 * The dashboard end to end: Debian's Chromium (playwright-core, headless) against a real `hostmem serve` child over
 * the real OS. Start `pressure`, see the chart and the books grow, rows appear, failures land in their level groups,
 * screenshots in English and Chinese, reset the host, release a region from the drawer; token and Origin refusals
 * against the same server; Export… a JSON report from a second server running its default `steady` workload and read
 * the browser's download. Selectors are the `data-testid`s of renderer/TESTIDS.md.
 *
 * Run by `npm test` (leg `e2e`, after the electron-vite build) from out/e2e/dashboard.e2e.js; screenshots go to
 * test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { createSocketClient, type SocketClient } from '../../main/contract/client';
import { httpGet, launchChromium, repoRoot, serve, type Served } from './serve';

const MiB = 1024 * 1024;
const artifacts = join(repoRoot(), 'test-artifacts');
const WAIT = 30_000;

let served: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let api: SocketClient;

const tid = (id: string): string => `[data-testid="${id}"]`;

/**
 * The page's document as the functions below use it (they run in Chromium; this project's Node typecheck has no DOM
 * lib, so they reach it through globalThis with this much typing).
 */
interface PageElement {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
}
interface PageDocument {
  querySelector(selector: string): PageElement | null;
}
type PageGlobal = { readonly document: PageDocument };

type Op = 'eq' | 'gt' | 'ge' | 'lt';

/** Wait until `attr` of the element with test id `id` compares with `value` (the page's CSP forbids eval). */
async function waitAttr(id: string, attr: string, op: Op, value: string | number): Promise<string> {
  const handle = await page.waitForFunction(
    ({ id, attr, op, value }) => {
      const el = (globalThis as unknown as PageGlobal).document.querySelector(`[data-testid="${id}"]`);
      const v = el?.getAttribute(attr);
      if (v === null || v === undefined) return false;
      const hit =
        op === 'eq'
          ? typeof value === 'number'
            ? Number(v) === value
            : v.toLowerCase() === value.toLowerCase()
          : op === 'gt'
            ? Number(v) > Number(value)
            : op === 'ge'
              ? Number(v) >= Number(value)
              : Number(v) < Number(value);
      return hit ? v : false;
    },
    { id, attr, op, value },
    { timeout: WAIT },
  );
  return (await handle.jsonValue()) as string;
}

const numberAttr = async (id: string, attr: string): Promise<number> =>
  Number(await page.locator(tid(id)).first().getAttribute(attr));

async function nav(view: 'overview' | 'allocations' | 'failures' | 'scenarios'): Promise<void> {
  await page.locator(tid(`nav-${view}`)).click();
  await page.locator(tid(`view-${view}`)).waitFor({ timeout: WAIT });
}

async function shot(name: string): Promise<string> {
  const path = join(artifacts, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  served = await serve(['--port', '0', '--scenario', 'none', '--commit-limit', '64MiB']);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  page = await context.newPage();
  const opened = await new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`${served.origin.replace('http', 'ws')}/ws?token=${served.token}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
  api = createSocketClient(opened);
});

after(async () => {
  api?.close();
  await browser?.close();
  if (served) {
    const code = await served.stop();
    assert.equal(code, 0, `hostmem serve exited ${code}: ${served.stderr()}`);
    assert.match(served.stderr(), /stopped/);
  }
});

test('refusals against the real server: no token, a wrong token, a wrong Origin (HTTP, socket, browser)', async () => {
  const noToken = await page.goto(`${served.origin}/`);
  assert.equal(noToken?.status(), 401);
  const wrongToken = await page.goto(`${served.origin}/?token=not-the-token`);
  assert.equal(wrongToken?.status(), 401);
  assert.equal((await httpGet(served.url, { origin: 'http://evil.example' })).status, 403);
  const refusedSocket = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${served.origin.replace('http', 'ws')}/ws?token=${served.token}`, {
      headers: { origin: 'http://evil.example' },
    });
    ws.on('error', () => {}); // terminate() below reports "closed before the connection was established"
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('a socket from another Origin was accepted')));
  });
  assert.equal(refusedSocket, 403);
  // From a real page: the dashboard's origin is http://127.0.0.1:PORT; a socket it opens to localhost:PORT is
  // cross-origin for the server (Origin ≠ Host) and must be refused even with the token.
  await page.goto(served.url);
  const port = new URL(served.origin).port;
  const outcome = await page.evaluate(
    ({ port, token }) =>
      new Promise<string>((resolve) => {
        // The page's own WebSocket (a bare `WebSocket` here would be the `ws` import once bundled).
        type PageSocket = { onopen: (() => void) | null; onerror: (() => void) | null };
        const PageWebSocket = (globalThis as unknown as { WebSocket: new (url: string) => PageSocket }).WebSocket;
        const ws = new PageWebSocket(`ws://localhost:${port}/ws?token=${token}`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      }),
    { port, token: served.token },
  );
  assert.equal(outcome, 'refused');
  await page.goto('about:blank');
});

test('the dashboard connects and shows the host', async () => {
  await page.goto(served.url);
  await waitAttr('connection-state', 'data-state', 'eq', 'open');
  await waitAttr('host-state', 'data-state', 'eq', 'available');
  const backend = (await page.locator(tid('host-backend')).textContent())?.trim();
  assert.equal(backend, process.platform === 'win32' ? 'win32' : 'posix');
  await page.locator(tid('chart-reserved-committed')).waitFor({ timeout: WAIT });
});

test('pressure: the chart grows, rows appear, failures land in their level groups; screenshots', async () => {
  await nav('scenarios');
  await page.locator(tid('scenario-select')).selectOption('pressure');
  await page.locator(tid('scenario-start')).click();
  await page
    .locator(`${tid('workload-row')}`)
    .first()
    .waitFor({ timeout: WAIT });

  await nav('overview');
  const points0 = await numberAttr('chart-reserved-committed', 'data-points');
  await waitAttr('stat-committed', 'data-value', 'gt', 16 * MiB);
  await waitAttr('chart-reserved-committed', 'data-points', 'gt', points0);

  await nav('allocations');
  await waitAttr('allocation-table', 'data-all', 'ge', 10);
  assert.ok((await page.locator(tid('allocation-row')).count()) > 0, 'rows rendered');

  // pressure ramps into the 64 MiB limit: Task, then AppDomain, then Process (after its wait) are refused and the
  // host turns unavailable.
  await nav('failures');
  for (const level of ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical']) {
    await waitAttr(`failures-${level}-count`, 'data-count', 'gt', 0);
  }
  await nav('overview');
  await waitAttr('host-state', 'data-state', 'eq', 'unavailable');
  await nav('failures');
  for (const group of ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical', 'other']) {
    await page.locator(tid(`failures-${group}`)).waitFor({ timeout: WAIT });
    const levels = await page
      .locator(`${tid(`failures-${group}`)} ${tid('failure-event')}`)
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-level')));
    assert.ok(
      levels.every((l) => l === group),
      `events in the ${group} group: ${[...new Set(levels)].join(', ')}`,
    );
    if (group !== 'other') assert.ok(levels.length > 0, `events shown in ${group}`);
  }
  await shot('dashboard-failures-en.png');
  await nav('overview');
  await shot('dashboard-pressure-en.png');
  await nav('allocations');
  await shot('dashboard-allocations-en.png');
});

test('switch language to zh-CN (screenshots), and back', async () => {
  await nav('overview');
  await page.locator(tid('lang-select')).selectOption('zh-CN');
  const cjk = /[\u4e00-\u9fff]/;
  await page.waitForFunction(
    (id) =>
      /[\u4e00-\u9fff]/.test(
        (globalThis as unknown as PageGlobal).document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '',
      ),
    'nav-overview',
    { timeout: WAIT },
  );
  assert.match((await page.locator(tid('nav-failures')).textContent()) ?? '', cjk);
  assert.match((await page.locator(tid('host-state')).textContent()) ?? '', cjk);
  await shot('dashboard-pressure-zh-CN.png');
  await nav('failures');
  await shot('dashboard-failures-zh-CN.png');
  await page.locator(tid('lang-select')).selectOption('en');
  await page.waitForFunction(
    (id) =>
      !/[\u4e00-\u9fff]/.test(
        (globalThis as unknown as PageGlobal).document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '',
      ),
    'nav-overview',
    { timeout: WAIT },
  );
});

test('reset the host from the overview', async () => {
  await nav('overview');
  await waitAttr('host-state', 'data-state', 'eq', 'unavailable');
  await page.locator(tid('host-reset')).click();
  await waitAttr('host-state', 'data-state', 'eq', 'available');
  // Once available again, the runner releases what pressure held.
  await waitAttr('stat-committed', 'data-value', 'lt', 16 * MiB);
});

test('release a region from the drawer', async () => {
  const r = await api.call('virtualAlloc', {
    address: null,
    size: 1 * MiB,
    type: 0x3000,
    protect: 0x04,
    level: 'eTaskCritical',
    tag: 'e2e/drawer',
  });
  assert.equal(r.hrName, 'S_OK');
  const base = r.address!;
  await nav('allocations');
  await page.waitForSelector(`${tid('allocation-table')}`, { timeout: WAIT });
  // The row arrives with a delta; then search by address opens it in the drawer.
  const search = page.locator(tid('allocation-search'));
  const deadline = Date.now() + WAIT;
  for (;;) {
    await search.fill(`0x${base.toString(16)}`);
    await search.press('Enter');
    const found = await page.locator(tid('allocation-search-result')).getAttribute('data-found');
    if (found === 'true') break;
    if (Date.now() > deadline) assert.fail(`the region 0x${base.toString(16)} never appeared in the table`);
    await page.waitForTimeout(100);
  }
  await waitAttr('drawer', 'data-base', 'eq', base);
  await page.locator(tid('drawer-pagemap')).waitFor({ timeout: WAIT });
  await page.locator(tid('drawer-release')).click();
  await waitAttr('drawer-result', 'data-hr', 'eq', '0x00000000');
  await page.waitForFunction(
    (base) =>
      (globalThis as unknown as PageGlobal).document.querySelector(
        `[data-testid="allocation-row"][data-base="${base}"]`,
      ) === null,
    base,
    { timeout: WAIT },
  );
  assert.equal((await api.call('pageMap', { address: base })).found, false, 'released in the host');
});

test('scenarios view: the policy editor, the playground, snapshots and their diff, start and stop a workload', async () => {
  await nav('scenarios');
  // Policy editor: a 48 MiB commit limit, seen by the overview's gauge.
  await page.locator(tid('policy-commit-limit')).fill('48MiB');
  await page.locator(tid('policy-apply')).click();
  await nav('overview');
  await waitAttr('commit-gauge', 'data-limit', 'eq', 48 * MiB);
  await nav('scenarios');

  // Snapshot A, one VirtualAlloc from the playground, snapshot B: the diff shows the region that appeared.
  const rows = page.locator(tid('snapshot-row'));
  const before = await rows.count();
  await page.locator(tid('snapshot-take')).click();
  await page.waitForFunction(
    (n) =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll('[data-testid="snapshot-row"]').length > n,
    before,
    { timeout: WAIT },
  );
  await page.locator(tid('playground-size')).fill('262144');
  await page.locator(tid('playground-type')).selectOption('12288');
  await page.locator(tid('playground-protect')).selectOption('4');
  await page.locator(tid('playground-level')).selectOption('eAppDomainCritical');
  await page.locator(tid('playground-tag')).fill('e2e/playground');
  await page.locator(tid('playground-alloc')).click();
  await waitAttr('playground-result', 'data-hr', 'eq', '0x00000000');
  await page.locator(tid('snapshot-take')).click();
  await page.waitForFunction(
    (n) =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll('[data-testid="snapshot-row"]').length >
      n + 1,
    before,
    { timeout: WAIT },
  );
  const ids = await rows.evaluateAll((els) =>
    els.map((e) => (e as unknown as PageElement).getAttribute('data-id') ?? ''),
  );
  await page.locator(tid('snapshot-diff-a')).selectOption(ids.at(-2)!);
  await page.locator(tid('snapshot-diff-b')).selectOption(ids.at(-1)!);
  await page.locator(tid('snapshot-diff')).click();
  await waitAttr('snapshot-diff-result', 'data-appeared', 'ge', 1);
  assert.equal(await numberAttr('snapshot-diff-result', 'data-vanished'), 0);

  // A workload started from the panel runs, then stops.
  await page.locator(tid('scenario-select')).selectOption('steady');
  await page.locator(tid('scenario-start')).click();
  await page
    .locator(`${tid('workload-row')}[data-state="running"]`)
    .first()
    .waitFor({ timeout: WAIT });
  await page.locator(tid('scenario-stop')).click();
  await page.waitForFunction(
    () =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll('[data-testid="workload-row"][data-state="running"]').length === 0,
    undefined,
    { timeout: WAIT },
  );
});

test('Export…: a JSON report without samples, downloaded by the browser from a steady host', async () => {
  // A server of its own with the default workload (steady), so that the host holds committed memory.
  const steady = await serve(['--port', '0']);
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    locale: 'en-US',
    acceptDownloads: true,
  });
  try {
    const p = await ctx.newPage();
    await p.goto(steady.url);
    await p.locator(tid('connection-state') + '[data-state="open"]').waitFor({ timeout: WAIT });
    await p.locator(`${tid('stat-committed')}:not([data-value="0"])`).waitFor({ timeout: WAIT });

    await p.locator(tid('export-open')).click();
    const dialog = p.locator(tid('export-dialog'));
    await dialog.waitFor({ timeout: WAIT });
    assert.equal(await dialog.getAttribute('aria-modal'), 'true');
    assert.equal(
      await p.locator(tid('export-language')).inputValue(),
      'en',
      'the report language starts at the UI one',
    );
    await p.locator(tid('export-format-json')).check();
    await p.locator(tid('export-include-samples')).uncheck();
    assert.ok(await p.locator(tid('export-include-allocations')).isChecked());

    const downloaded = p.waitForEvent('download', { timeout: WAIT });
    await p.locator(tid('export-submit')).click();
    const download = await downloaded;
    assert.match(download.suggestedFilename(), /\.json$/);
    assert.equal(await download.failure(), null);
    const file = await download.path();
    const report = JSON.parse(readFileSync(file, 'utf8')) as {
      schema: string;
      language: string;
      source: { kind: string };
      summary: {
        current: { reserved: number; committed: number; regions: number };
        peak: { committed: number };
        calls: number;
      };
      allocations?: readonly { committed: number }[];
      samples?: readonly unknown[];
    };
    assert.equal(report.schema, 'hostmem.report/1');
    assert.equal(report.source.kind, 'live');
    assert.equal(report.language, 'en');
    const { current, peak, calls } = report.summary;
    assert.ok(current.committed > 0, `committed ${current.committed} under steady`);
    assert.ok(current.reserved >= current.committed, 'reserved ≥ committed');
    assert.ok(current.regions > 0 && calls > 0, `regions ${current.regions}, calls ${calls}`);
    assert.ok(peak.committed >= current.committed, 'peak ≥ current');
    assert.ok((report.allocations ?? []).length > 0, 'allocations were asked for');
    assert.equal(
      (report.allocations ?? []).reduce((sum, a) => sum + a.committed, 0),
      current.committed,
      'the allocations add up to summary.current.committed',
    );
    assert.equal((report.samples ?? []).length, 0, 'samples were left out');

    const result = p.locator(tid('export-result'));
    await result.waitFor({ timeout: WAIT });
    assert.equal(await result.getAttribute('data-outcome'), 'download');
    assert.equal(await p.locator(tid('export-error')).count(), 0);
    // Escape closes the dialog and focus goes back to Export….
    await p.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: WAIT });
    assert.equal(
      await p.evaluate(
        () =>
          (
            globalThis as unknown as { document: { activeElement: PageElement | null } }
          ).document.activeElement?.getAttribute('data-testid') ?? null,
      ),
      'export-open',
    );
  } finally {
    await ctx.close();
    const code = await steady.stop();
    assert.equal(code, 0, `hostmem serve (steady) exited ${code}: ${steady.stderr()}`);
  }
});
