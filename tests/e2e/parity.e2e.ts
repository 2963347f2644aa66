/**
 * The dashboard as a VMMap / Process Explorer user drives it (issue 23): Debian's Chromium (playwright-core, headless)
 * against a real `hostmem serve` (its default `steady` workload, so the allocation list has rows) and real processes
 * — a `hostmem exec` child (tests/children/exec-child.ts) to watch, `sleep` children to fill and refuse in the picker.
 * Each test is one defect of the issue and fails on the dashboard before the change:
 * - the picker keeps its highlight on a process (by PID) when a refresh re-sorts the list, says when the list is cut,
 *   and keeps the search text after a refused pick;
 * - the region and allocation tables are one Tab stop each, with ↑/↓/PageUp/PageDown/Home/End inside; Ctrl+C copies
 *   the active row (an addition);
 * - file paths are shown left to right (no `direction: rtl`), the file name kept whole;
 * - the summary by type's figures sit under their right-aligned headings, and a type name filters the table;
 * - the chart's y ticks are in one unit, its time labels distinct from the first seconds, a log scale a key away;
 * - filter changes scroll to the top; find-address takes the whole 64-bit range and says when a filter hides the
 *   region; the address bar follows the watched process;
 * - after the process exits the title no longer says "Watching … every 1 s" and Take snapshot is disabled;
 * - what the server says (a refusal, a scenario's description and help) is in the page's language;
 * - when the server goes away the whole view says so.
 *
 * Run by `npm test` (leg `e2e`) from out/e2e/parity.e2e.js. Selectors are renderer/TESTIDS.md's.
 */
import { GROW_SCRIPT, startScript } from '../../native/process-testing';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { execChild, type ExecChild } from '../children/exec-child';
import { launchChromium, repoRoot, serve, type Served } from './serve';

const MiB = 1024 * 1024;
const WAIT = 30_000;

let child: ExecChild;
let served: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const sleepers: ChildProcess[] = [];

const tid = (id: string): string => `[data-testid="${id}"]`;

interface PageElement {
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
}
type PageGlobal = { readonly document: { readonly activeElement: PageElement | null } };

/** The data-testid of the focused element and of the grid it is in (null when none). */
function focusInfo(): Promise<{ self: string | null; grid: string | null; body: boolean }> {
  return page.evaluate(() => {
    const el = (globalThis as unknown as PageGlobal).document.activeElement;
    return {
      self: el?.getAttribute('data-testid') ?? null,
      grid: el?.closest('[role="grid"]')?.getAttribute('data-testid') ?? null,
      body: el === null || el.closest('main') === null,
    };
  });
}

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['600'], { stdio: 'ignore' });
  sleepers.push(c);
  return c;
}

async function openProcesses(): Promise<void> {
  await page.locator(tid('nav-processes')).click();
  await page.locator(tid('view-processes')).waitFor({ timeout: WAIT });
}

async function watchChild(): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${served.url.replace(/#.*$/, '')}#processes/${child.pid}`);
  await page.locator(`${tid('process-watching')}[data-pid="${child.pid}"]`).waitFor({ timeout: WAIT });
  await page.locator(tid('process-region-row')).first().waitFor({ timeout: WAIT });
}

before(async () => {
  child = await execChild(repoRoot());
  await child.commit(64 * 1024);
  served = await serve(['--port', '0']);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'en-US' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: served.origin });
  page = await context.newPage();
  await page.goto(served.url);
  await page.locator(tid('view-overview')).waitFor({ timeout: WAIT });
});

after(async () => {
  for (const s of sleepers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  if (child && child.child.exitCode === null) await child.exit();
  await browser?.close();
  if (served && served.child.exitCode === null) await served.stop();
});

test('the picker keeps its highlight on the same process when a refresh re-sorts the list', async () => {
  // A Node child that allocates (and touches) what it is asked: memory the kernel charges as committed on every OS.
  const grower = await startScript(GROW_SCRIPT);
  const climber = { pid: grower.pid };
  await openProcesses();
  const option = (pid: number): string => `${tid('process-option')}[data-pid="${pid}"]`;
  await page.locator(option(climber.pid)).waitFor({ timeout: WAIT });
  const pids = async (): Promise<number[]> =>
    page.locator(tid('process-option')).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-pid'))));
  const start = (await pids()).indexOf(climber.pid);
  assert.ok(start > 0, `the growing child is not first (${start})`);
  await page.locator(tid('process-search')).focus();
  for (let i = 0; i < start; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator(option(climber.pid)).getAttribute('aria-selected'), 'true');

  // The child takes 512 MiB more: the next refresh puts it higher (largest committed first).
  grower.send(`grow ${512 * MiB}`);
  assert.equal(await grower.next(), 'grown');
  await page.waitForFunction(
    ({ pid, start }) => {
      const els = [
        ...(
          globalThis as unknown as {
            document: { querySelectorAll(s: string): Iterable<{ getAttribute(n: string): string | null }> };
          }
        ).document.querySelectorAll('[data-testid="process-option"]'),
      ];
      const i = els.findIndex((e) => Number(e.getAttribute('data-pid')) === pid);
      return i >= 0 && i < start;
    },
    { pid: climber.pid, start },
    { timeout: WAIT },
  );
  const selected = await page
    .locator(`${tid('process-option')}[aria-selected="true"]`)
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-pid'))));
  assert.deepEqual(selected, [climber.pid], 'the highlight followed the process, not the position');
  grower.process.stdin.end();
});

test('the picker says when its list is cut', async () => {
  const before = Number(await page.locator(tid('process-count')).getAttribute('data-count'));
  for (let i = before; i < 215; i++) sleeper();
  await page.waitForFunction(
    () =>
      Number(
        (globalThis as unknown as { document: { querySelector(s: string): PageElement | null } }).document
          .querySelector('[data-testid="process-count"]')
          ?.getAttribute('data-count'),
      ) > 200,
    undefined,
    { timeout: WAIT },
  );
  const matching = Number(await page.locator(tid('process-count')).getAttribute('data-count'));
  const rendered = await page.locator(tid('process-option')).count();
  assert.ok(rendered < matching, `${rendered} rendered of ${matching}`);
  const text = (await page.locator(tid('process-count')).textContent()) ?? '';
  assert.match(text, new RegExp(`\\b${rendered}\\b`), `the count says how many are shown: ${text}`);
  for (const s of sleepers.splice(0)) s.kill('SIGKILL');
});

test('a refused pick keeps the search text', async () => {
  const doomed = sleeper();
  const search = page.locator(tid('process-search'));
  await search.fill(String(doomed.pid));
  await page.locator(`${tid('process-option')}[data-pid="${doomed.pid}"]`).waitFor({ timeout: WAIT });
  const gone = new Promise((done) => doomed.once('exit', done));
  doomed.kill('SIGKILL');
  await gone;
  await search.press('Enter');
  const refused = page.locator(tid('process-refused'));
  await refused.waitFor({ timeout: WAIT });
  assert.equal(await refused.getAttribute('data-code'), 'not-found');
  await page.locator(tid('process-search')).waitFor({ timeout: WAIT });
  assert.equal(await page.locator(tid('process-search')).inputValue(), String(doomed.pid));
});

test('the region table is one Tab stop, with arrows, Page keys, Home and End inside', async () => {
  await watchChild();
  const rows = page.locator(tid('process-region-row'));
  await rows.nth(1).click();
  let focus = await focusInfo();
  assert.equal(focus.grid, 'process-region-table', 'a click puts the focus in the table');
  await page.keyboard.press('Tab');
  focus = await focusInfo();
  assert.notEqual(focus.grid, 'process-region-table', `Tab leaves the table (focus on ${focus.self})`);

  await page.locator(tid('process-region-table')).focus();
  const total = Number(await page.locator(tid('process-region-table')).getAttribute('data-total'));
  assert.ok(total > 40, `the child has ${total} regions`);
  await page.keyboard.press('End');
  const bases = await page
    .locator(tid('process-region-row'))
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-base'))));
  const grid = page.locator(tid('process-region-table'));
  assert.equal(Number(await grid.getAttribute('data-active')), Math.max(...bases), 'End: the last row');
  await page.keyboard.press('Home');
  const first = Number(await grid.getAttribute('data-active'));
  await page.keyboard.press('PageDown');
  const paged = Number(await grid.getAttribute('data-active'));
  await page.keyboard.press('ArrowDown');
  const stepped = Number(await grid.getAttribute('data-active'));
  assert.ok(first < paged && paged < stepped, `Home ${first} < PageDown ${paged} < ↓ ${stepped} (sorted by address)`);
  const active = await grid.getAttribute('aria-activedescendant');
  assert.ok(active, 'aria-activedescendant names the active row');
  assert.equal(await page.locator(`[id="${active}"]`).getAttribute('data-base'), String(stepped));
  focus = await focusInfo();
  assert.equal(focus.grid, 'process-region-table', 'the focus stays in the table while the rows change');
});

test('Ctrl+C copies the active region with the headings, tab-separated', async () => {
  const grid = page.locator(tid('process-region-table'));
  await grid.focus();
  await page.keyboard.press('Home');
  const base = Number(await grid.getAttribute('data-active'));
  await page.keyboard.press('Control+c');
  const text = await page.evaluate(() =>
    (
      globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
    ).navigator.clipboard.readText(),
  );
  const [head, row] = text.split('\n');
  assert.equal(head!.split('\t')[0], 'Address');
  assert.equal(head!.split('\t').length, 9);
  assert.equal(row!.split('\t')[0], `0x${base.toString(16).toUpperCase()}`);
});

test('file paths read left to right and keep the file name', async () => {
  const files = page.locator(`${tid('process-region-row')} .c-file`);
  const checks = await files.evaluateAll((els) =>
    els.map((el) => {
      const view = el.ownerDocument.defaultView!;
      const rtl = [el, ...el.querySelectorAll('*')].some((e) => view.getComputedStyle(e).direction === 'rtl');
      return { text: el.textContent ?? '', rtl };
    }),
  );
  const named = checks.filter((c) => c.text.includes('/'));
  assert.ok(named.length > 0, 'some rows have a file');
  for (const c of named) assert.equal(c.rtl, false, `${c.text} is shown without direction: rtl`);
  assert.ok(
    named.some((c) => c.text.startsWith('/')),
    'paths start with /',
  );
});

test('the summary by type: figures under their right-aligned headings; a type name filters the table', async () => {
  const aligns = await page
    .locator(`${tid('process-summary')} td, ${tid('process-summary')} thead th`)
    .evaluateAll((els) =>
      els.map((el) => ({
        text: el.textContent ?? '',
        align: el.ownerDocument.defaultView!.getComputedStyle(el).textAlign,
        cls: el.className,
      })),
    );
  for (const a of aligns.filter((x) => x.cls.includes('num'))) assert.equal(a.align, 'right', a.text);
  await page.locator(`${tid('process-summary-filter')}[data-type="image"]`).click();
  assert.equal(await page.locator(tid('process-filter-type')).inputValue(), 'image');
  const types = await page
    .locator(tid('process-region-row'))
    .evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-type')))]);
  assert.deepEqual(types, ['image']);
  await page.locator(`${tid('process-summary-filter')}[data-type="image"]`).press('Enter');
  assert.equal(await page.locator(tid('process-filter-type')).inputValue(), '');
});

test('the chart: one byte unit on the y axis, distinct time labels from the first seconds, a log scale from the keyboard', async () => {
  const canvas = page.locator(`${tid('process-chart')} canvas`);
  await page.waitForFunction(
    () =>
      (globalThis as unknown as { document: { querySelector(s: string): PageElement | null } }).document
        .querySelector('[data-testid="process-chart"] canvas')
        ?.getAttribute('data-x-ticks') !== '',
    undefined,
    { timeout: WAIT },
  );
  const y = ((await canvas.getAttribute('data-y-ticks')) ?? '').split('|');
  const units = new Set(y.map((l) => l.split(/\s/).at(-1)));
  assert.equal(units.size, 1, `one unit: ${y.join(', ')}`);
  const x = ((await canvas.getAttribute('data-x-ticks')) ?? '').split('|');
  assert.ok(x.length >= 2, `time labels: ${x.join(', ')}`);
  assert.equal(new Set(x).size, x.length, `no time label repeated: ${x.join(', ')}`);
  await page.locator(tid('process-chart-log')).focus();
  await page.keyboard.press('Enter');
  await page.locator(`${tid('process-chart')}[data-log="true"]`).waitFor({ timeout: WAIT });
  await page.waitForFunction(
    (before) =>
      (globalThis as unknown as { document: { querySelector(s: string): PageElement | null } }).document
        .querySelector('[data-testid="process-chart"] canvas')
        ?.getAttribute('data-y-ticks') !== before,
    y.join('|'),
    { timeout: WAIT },
  );
  await page.keyboard.press('Enter');
});

test('find-address takes the whole 64-bit range and says when a filter hides the region', async () => {
  const box = page.locator(tid('process-search-address'));
  await box.fill('ffffffffff600000');
  await box.press('Enter');
  const result = page.locator(tid('process-search-result'));
  await result.waitFor({ timeout: WAIT });
  assert.match((await result.textContent()) ?? '', /0xFFFFFFFFFF600000/);

  const image = await page
    .locator(`${tid('process-region-row')}[data-type="image"]`)
    .first()
    .getAttribute('data-base');
  assert.ok(image, 'an image region');
  await page.locator(tid('process-filter-type')).selectOption('stack');
  await box.fill(Number(image).toString(16));
  await box.press('Enter');
  await page.locator(`${tid('process-search-result')}[data-found="true"]`).waitFor({ timeout: WAIT });
  assert.match((await result.textContent()) ?? '', /hidden by the filters/);
  await page.locator(tid('process-filter-type')).selectOption('');
});

test('a filter change scrolls the table back to the top', async () => {
  const table = page.locator(tid('process-region-table'));
  await table.evaluate((el) => (el.scrollTop = 600));
  assert.ok(Number(await table.evaluate((el) => el.scrollTop)) > 0);
  await page.locator(tid('process-filter-state')).selectOption('commit');
  await page.waitForTimeout(100);
  assert.equal(await table.evaluate((el) => el.scrollTop), 0);
  await page.locator(tid('process-filter-state')).selectOption('');
});

test('the allocation table is one Tab stop too', async () => {
  await page.locator(tid('nav-allocations')).click();
  await page.locator(tid('allocation-row')).first().waitFor({ timeout: WAIT });
  await page.locator(tid('allocation-row')).first().click();
  await page.locator(tid('drawer-close')).click();
  let focus = await focusInfo();
  assert.equal(focus.grid, 'allocation-table', 'closing the drawer gives the focus back to the table');
  await page.keyboard.press('Tab');
  focus = await focusInfo();
  assert.notEqual(focus.grid, 'allocation-table', `Tab leaves the table (focus on ${focus.self})`);
});

test('the address bar follows the chosen process', async () => {
  await openProcesses();
  await page.locator(tid('process-change')).click();
  const servePid = served.child.pid!;
  await page.locator(tid('process-search')).fill(String(servePid));
  await page.locator(`${tid('process-option')}[data-pid="${servePid}"]`).waitFor({ timeout: WAIT });
  await page.locator(tid('process-search')).press('Enter');
  await page.locator(`${tid('process-watching')}[data-pid="${servePid}"]`).waitFor({ timeout: WAIT });
  assert.equal(new URL(page.url()).hash, `#processes/${servePid}`);
});

test('after the process exits the title says so and Take snapshot is disabled', async () => {
  await watchChild();
  assert.match((await page.locator(tid('process-watching')).textContent()) ?? '', /every/);
  assert.equal(await child.exit(), 0);
  await page.locator(`${tid('process-ended')}[data-reason="exited"]`).waitFor({ timeout: WAIT });
  const title = (await page.locator(tid('process-watching')).textContent()) ?? '';
  assert.doesNotMatch(title, /Watching|every/, title);
  assert.equal(await page.locator(tid('process-snapshot-take')).isDisabled(), true);
});

test('what the server says is in the page language: a refusal, a scenario and its parameters', async () => {
  const dead = sleeper();
  const gone = new Promise((done) => dead.once('exit', done));
  dead.kill('SIGKILL');
  await gone;
  await page.goto('about:blank');
  await page.goto(`${served.url.replace(/#.*$/, '')}#processes/${dead.pid}`);
  const refused = page.locator(tid('process-refused'));
  await refused.waitFor({ timeout: WAIT });
  await page.locator(tid('lang-select')).selectOption('fr');
  await page.getByText('n’est pas en cours d’exécution').waitFor({ timeout: WAIT });
  assert.match((await refused.textContent()) ?? '', new RegExp(`Le processus ${dead.pid} n’est pas en cours`));
  await page.locator(tid('nav-scenarios')).click();
  await page.locator(tid('scenario-select')).selectOption('steady');
  assert.match((await page.locator(tid('scenario-description')).textContent()) ?? '', /petite population/);
  assert.match((await page.locator(tid('scenario-help-seed')).textContent()) ?? '', /graine/);
  await page.locator(tid('lang-select')).selectOption('zh-CN');
  assert.match((await page.locator(tid('scenario-description')).textContent()) ?? '', /保留区/);
  await page.locator(tid('lang-select')).selectOption('en');
});

test('when the server goes away the whole view says so', async () => {
  assert.equal(await served.stop(), 0);
  const lost = page.locator(tid('connection-lost'));
  await lost.waitFor({ timeout: WAIT });
  assert.match((await lost.textContent()) ?? '', /server/i);
  assert.equal(await page.locator('main.stale').count(), 1);
});
