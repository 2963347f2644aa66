/**
 * The Processes view end to end: Debian's Chromium (playwright-core, headless) against a real `hostmem serve --pid`
 * child watching a real process — a `hostmem exec` child (tests/children/exec-child.ts) that commits 16 MiB on
 * demand. The chart grows by the 16 MiB, the new region is found in the region table, a snapshot diff lists it, the
 * child exits and the view says so and keeps its last picture. The picker (search, order, keyboard) and a refusal
 * are driven too. Screenshots of the view in English (light and dark) and Chinese go to test-artifacts/.
 *
 * Run by `npm test` (leg `e2e`) from out/e2e/processes.e2e.js. Selectors are renderer/TESTIDS.md's.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { execChild, type ExecChild } from '../children/exec-child';
import { launchChromium, repoRoot, serve, type Served } from './serve';

const MiB = 1024 * 1024;
const artifacts = join(repoRoot(), 'test-artifacts');
const WAIT = 30_000;

let child: ExecChild;
let served: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const tid = (id: string): string => `[data-testid="${id}"]`;

interface PageElement {
  getAttribute(name: string): string | null;
}
type PageGlobal = { readonly document: { querySelector(selector: string): PageElement | null } };

/** Wait until the number in `attr` of the element `selector` satisfies `op value`; resolves with it. */
async function waitNumber(selector: string, attr: string, op: 'ge' | 'gt' | 'eq', value: number): Promise<number> {
  const handle = await page.waitForFunction(
    ({ selector, attr, op, value }) => {
      const v = (globalThis as unknown as PageGlobal).document.querySelector(selector)?.getAttribute(attr);
      if (v === null || v === undefined || v === '') return false;
      const n = Number(v);
      return (op === 'ge' ? n >= value : op === 'gt' ? n > value : n === value) ? n : false;
    },
    { selector, attr, op, value },
    { timeout: WAIT },
  );
  return (await handle.jsonValue()) as number;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  child = await execChild(repoRoot());
  await child.commit(64 * 1024); // answered: Node has loaded, the exec loop runs
  served = await serve(['--port', '0', '--scenario', 'none', '--pid', String(child.pid)]);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: 'en-US' });
  page = await context.newPage();
});

after(async () => {
  if (child && child.child.exitCode === null) await child.exit();
  await browser?.close();
  if (served) {
    const code = await served.stop();
    assert.equal(code, 0, `hostmem serve exited ${code}: ${served.stderr()}`);
  }
});

test('serve --pid opens the Processes view on the child; 16 MiB more shows in the chart, the table and a snapshot diff; its exit is said', async () => {
  assert.match(served.url, new RegExp(`#processes/${child.pid}$`), 'serve --pid prints the view in the URL');
  await page.goto(served.url);
  await page.locator(tid('view-processes')).waitFor({ timeout: WAIT });
  await waitNumber(tid('process-watching'), 'data-pid', 'eq', child.pid);
  await waitNumber(tid('process-chart'), 'data-points', 'ge', 2);
  const before = await waitNumber(tid('process-chart'), 'data-committed', 'gt', 0);
  assert.ok(Number(await page.locator(tid('process-region-table')).getAttribute('data-all')) > 10);

  await page.locator(tid('process-snapshot-take')).click();
  await page.locator(tid('process-snapshot-row')).first().waitFor({ timeout: WAIT });

  const address = await child.commit(16 * MiB, 'e2e');
  // Committed is the OS's commit charge: Windows charges the 16 MiB; Linux charges nothing for hostmem's own commits
  // (its posix backend reserves with MAP_NORESERVE: no `ac` flag), so there the region is waited for below instead.
  const charged = process.platform === 'win32' ? 16 * MiB : 0;
  await waitNumber(tid('process-chart'), 'data-committed', 'ge', before + charged);

  // The new region is in the table: found by its address, scrolled to and rendered.
  await page.locator(tid('process-search-address')).fill(address.toString(16));
  await page.locator(tid('process-search-address')).press('Enter');
  await page.locator(`${tid('process-search-result')}[data-found="true"]`).waitFor({ timeout: WAIT });
  const rows = await page
    .locator(tid('process-region-row'))
    .evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-base')), Number(e.getAttribute('data-size'))]));
  const hit = rows.find(([base, size]) => base! <= address && address < base! + size!);
  assert.ok(hit, `a rendered row holds ${address.toString(16)}`);
  assert.ok(hit[1]! >= 16 * MiB);

  // Snapshot after, diff: the region is added (or a neighbour grew by it: the kernel may merge mappings).
  await page.locator(tid('process-snapshot-take')).click();
  await page.locator(tid('process-diff')).click();
  await page.locator(tid('process-diff-result')).waitFor({ timeout: WAIT });
  const delta = Number(await page.locator(tid('process-diff-result')).getAttribute('data-committed-delta'));
  assert.ok(delta >= charged, `the diff's committed delta ${delta}`);
  const listed = await page
    .locator(`${tid('process-diff-added')}, ${tid('process-diff-grown')}`)
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-base'))));
  assert.ok(
    listed.some((b) => b <= address && address < b + 64 * MiB),
    `the diff lists the region (${listed.map((b) => b.toString(16)).join(', ')})`,
  );

  // Export… a JSON report of the watched process: the browser downloads it; its totals are the watch's last walk.
  await page.locator(tid('process-export-format')).selectOption('json');
  const downloaded = page.waitForEvent('download', { timeout: WAIT });
  await page.locator(tid('process-export-submit')).click();
  const download = await downloaded;
  assert.match(download.suggestedFilename(), new RegExp(`^hostmem-process-${child.pid}-.*\\.json$`));
  const report = JSON.parse(readFileSync((await download.path())!, 'utf8')) as {
    schema: string;
    process: { pid: number; total: { committed: number }; diff: { totals: { committed: { delta: number } } } };
  };
  assert.equal(report.schema, 'hostmem.report/1');
  assert.equal(report.process.pid, child.pid);
  assert.ok(report.process.total.committed >= before + charged);
  assert.ok(report.process.diff.totals.committed.delta >= charged, 'first to last walk: the 16 MiB');
  await page.locator(tid('process-export-result')).waitFor({ timeout: WAIT });

  await shot('processes-en.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('processes-en-dark.png');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.locator(tid('lang-select')).selectOption('zh-CN');
  await page.getByText('按类型汇总').first().waitFor({ timeout: WAIT });
  await shot('processes-zh-CN.png');
  await page.locator(tid('lang-select')).selectOption('en');

  const regions = Number(await page.locator(tid('process-region-table')).getAttribute('data-all'));
  assert.equal(await child.exit(), 0);
  await page.locator(`${tid('process-ended')}[data-reason="exited"]`).waitFor({ timeout: WAIT });
  assert.equal(
    Number(await page.locator(tid('process-region-table')).getAttribute('data-all')),
    regions,
    'the last picture stays',
  );
  await shot('processes-exited-en.png');
});

test('the picker: sorted by committed, search by PID, Enter watches; a process that is gone is refused with why', async () => {
  await page.locator(tid('process-change')).click();
  await page.locator(tid('process-picker')).waitFor({ timeout: WAIT });
  await waitNumber(tid('process-count'), 'data-count', 'gt', 1);
  const committed = await page
    .locator(tid('process-option'))
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-committed') || -1)));
  assert.deepEqual(
    committed,
    [...committed].sort((a, b) => b - a),
    'largest committed first',
  );
  await shot('processes-picker-en.png');
  const servePid = served.child.pid!;
  await page.locator(tid('process-search')).fill(String(servePid));
  await page.locator(`${tid('process-option')}[data-pid="${servePid}"]`).waitFor({ timeout: WAIT });
  await page.locator(tid('process-search')).press('Enter');
  await waitNumber(tid('process-watching'), 'data-pid', 'eq', servePid);
  await waitNumber(tid('process-chart'), 'data-points', 'ge', 1);

  // The exec child is gone: watching its pid again is refused, and the page says why.
  await page.goto('about:blank');
  await page.goto(`${served.url.replace(/#.*$/, '')}#processes/${child.pid}`);
  const refused = page.locator(tid('process-refused'));
  await refused.waitFor({ timeout: WAIT });
  assert.equal(await refused.getAttribute('data-code'), 'not-found');
  assert.match((await refused.textContent()) ?? '', new RegExp(String(child.pid)));
});
