/**
 * Every view, as a screen reader and a reviewer see it: Debian's Chromium (playwright-core, headless) against a real
 * `hostmem serve` (its default `steady` workload) watching a real `hostmem exec` child.
 * - axe-core (the npm package, injected into the real page) checks every view — Overview, Allocations (table and
 *   clerks), Failures, Scenarios & policy, the process picker and a watched process — in light and dark: no serious
 *   or critical finding.
 * - Screenshots of every view in en, fr and zh-CN, light and dark, at 1600×1000 and 1024×768 go to
 *   test-artifacts/views/ (`<view>-<lang>-<theme>-<width>.png`), for a person to look at.
 *
 * Run by `npm test` (leg `e2e`) from out/e2e/views.e2e.js. Selectors are renderer/TESTIDS.md's.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { execChild, type ExecChild } from '../children/exec-child';
import { launchChromium, repoRoot, serve, type Served } from './serve';

const WAIT = 30_000;
const artifacts = join(repoRoot(), 'test-artifacts', 'views');
const AXE = join(repoRoot(), 'node_modules', 'axe-core', 'axe.min.js');

const VIEWS = ['overview', 'allocations', 'clerks', 'failures', 'scenarios', 'picker', 'processes'] as const;
type View = (typeof VIEWS)[number];
const LANGS = ['en', 'fr', 'zh-CN'] as const;
const THEMES = ['light', 'dark'] as const;
const SIZES = [
  { width: 1600, height: 1000 },
  { width: 1024, height: 768 },
] as const;

let child: ExecChild;
let served: Served;
let browser: Browser;

const tid = (id: string): string => `[data-testid="${id}"]`;

interface AxeNode {
  readonly target: readonly string[];
  readonly html: string;
}
interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly AxeNode[];
}
type AxeGlobal = {
  readonly axe: { run(context: unknown, options: object): Promise<{ violations: AxeViolation[] }> };
  readonly document: unknown;
};

/** A page in this language and colour scheme (axe is injected: the context bypasses the page's CSP for it). */
async function openPage(lang: string, theme: 'light' | 'dark', size: { width: number; height: number }) {
  const context = await browser.newContext({ viewport: size, locale: lang, colorScheme: theme, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(served.url.replace(/#.*$/, ''));
  await page.locator(tid('view-overview')).waitFor({ timeout: WAIT });
  await page.locator(tid('lang-select')).selectOption(lang);
  return page;
}

/** Show `view` (the processes view watching the child; the picker before a watch). */
async function show(page: Page, view: View): Promise<void> {
  switch (view) {
    case 'overview':
    case 'failures':
    case 'scenarios':
      await page.locator(tid(`nav-${view}`)).click();
      await page.locator(tid(`view-${view}`)).waitFor({ timeout: WAIT });
      break;
    case 'allocations':
    case 'clerks':
      await page.locator(tid('nav-allocations')).click();
      await page.locator(tid(`allocations-mode-${view === 'clerks' ? 'clerks' : 'table'}`)).click();
      if (view === 'allocations') await page.locator(tid('allocation-row')).first().waitFor({ timeout: WAIT });
      break;
    case 'picker':
      await page.locator(tid('nav-processes')).click();
      if ((await page.locator(tid('process-change')).count()) > 0) await page.locator(tid('process-change')).click();
      await page.locator(tid('process-option')).first().waitFor({ timeout: WAIT });
      break;
    case 'processes':
      await page.locator(tid('nav-processes')).click();
      if ((await page.locator(tid('process-search')).count()) > 0) {
        await page.locator(tid('process-search')).fill(String(child.pid));
        await page.locator(`${tid('process-option')}[data-pid="${child.pid}"]`).waitFor({ timeout: WAIT });
        await page.locator(tid('process-search')).press('Enter');
      }
      await page.locator(tid('process-region-row')).first().waitFor({ timeout: WAIT });
      // A few seconds of the (new) watch, so that the chart has lines to show.
      await page.waitForFunction(
        () =>
          Number(
            (
              globalThis as unknown as {
                document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
              }
            ).document
              .querySelector('[data-testid="process-chart"]')
              ?.getAttribute('data-points'),
          ) >= 4,
        undefined,
        { timeout: WAIT },
      );
      break;
  }
  await page.waitForTimeout(400); // a chart's first frame
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  child = await execChild(repoRoot());
  await child.commit(4 * 1024 * 1024, 'views');
  served = await serve(['--port', '0']);
  browser = await launchChromium();
});

after(async () => {
  if (child && child.child.exitCode === null) await child.exit();
  await browser?.close();
  if (served) assert.equal(await served.stop(), 0);
});

for (const theme of THEMES) {
  test(`axe-core finds nothing serious or critical in any view (${theme})`, async () => {
    const page = await openPage('en', theme, SIZES[0]);
    await page.addScriptTag({ path: AXE });
    const found: string[] = [];
    for (const view of VIEWS) {
      await show(page, view);
      const violations = await page.evaluate(async () => {
        const g = globalThis as unknown as AxeGlobal;
        const r = await g.axe.run(g.document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, html: n.html.slice(0, 160) })),
        }));
      });
      for (const v of violations) {
        if (v.impact === 'serious' || v.impact === 'critical') {
          found.push(`${view}: [${v.impact}] ${v.id} — ${v.help}\n    ${v.nodes.map((n) => n.html).join('\n    ')}`);
        }
      }
    }
    await page.context().close();
    assert.deepEqual(found, [], found.join('\n'));
  });
}

test('screenshots of every view in en, fr and zh-CN, light and dark, 1600×1000 and 1024×768', async () => {
  let taken = 0;
  for (const size of SIZES) {
    for (const lang of LANGS) {
      for (const theme of THEMES) {
        const page = await openPage(lang, theme, size);
        for (const view of VIEWS) {
          await show(page, view);
          await page.screenshot({ path: join(artifacts, `${view}-${lang}-${theme}-${size.width}.png`) });
          taken++;
          if (view === 'processes') {
            // The region table, scrolled to (below the chart and the summary in a narrow window).
            await page.locator(tid('process-region-table')).scrollIntoViewIfNeeded();
            await page.screenshot({ path: join(artifacts, `regions-${lang}-${theme}-${size.width}.png`) });
          }
        }
        await page.context().close();
      }
    }
  }
  assert.equal(taken, VIEWS.length * LANGS.length * THEMES.length * SIZES.length);
});
