/**
 * Diffs see every change of a real process: pages written in a mapping that did not change (resident and private
 * grow: the leak signal on Linux) are a change in the inspector's diff, the CLI's text, the contract's diff (the
 * dashboard's) and the report; the HTML diff tables show before, after and the change, and "was at" for a region
 * whose base moved (the reserved rest of a reservation whose front was committed).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createProcessInspector, type ProcessRegion, type ProcessWalk } from '../../../native';
import {
  COMMITTED,
  InspectChild,
  isInspectChild,
  MORE,
  runInspectChild,
  TOUCHED,
  type ChildReport,
} from '../../../native/process-testing';
import { diffText } from './inspect-text';
import { diffWalks } from '../../inspect';
import {
  buildProcessReport,
  LIVE_WATCH_SOURCE,
  processDiff,
  processReportHtml,
  processSample,
} from '../../reports/process';

const COMPILED = join(process.cwd(), 'out', 'tests', 'main', 'cli', 'commands', 'inspect-diff.test.js');

if (isInspectChild()) {
  runInspectChild();
} else {
  describe('diffs of a real process', () => {
    const inspector = createProcessInspector();
    let child: InspectChild;
    let report: ChildReport;
    let first: ProcessWalk;
    let touched: ProcessWalk;
    let committed: ProcessWalk;

    const walk = async (): Promise<ProcessWalk> => {
      const w = await inspector.walkProcess(child.pid);
      if (!w.ok) assert.fail(w.error.message);
      return w.value;
    };
    const inTouch = (r: ProcessRegion): boolean => r.baseAddress === report.touchBase;

    before(async () => {
      child = new InspectChild(COMPILED);
      report = JSON.parse(await child.next()) as ChildReport;
      first = await walk();
      child.send('touch');
      assert.equal(await child.next(), 'touched');
      touched = await walk();
      child.send('commit');
      assert.equal(await child.next(), 'committed');
      committed = await walk();
    });
    after(() => child.kill());

    test('pages written in an unchanged mapping: a change with its resident and private growth', (t) => {
      const d = diffWalks(first, touched);
      const c = d.changed.find((x) => inTouch(x.after));
      if (first.regions.find(inTouch)?.resident === null) {
        t.skip('this OS gives no resident figure for another process (Wine refuses K32QueryWorkingSet)');
        return;
      }
      assert.ok(c, 'the written mapping is not listed as changed');
      assert.deepEqual(c.fields, ['resident', 'private']);
      assert.equal(c.sizeDelta, 0);
      assert.equal(c.residentDelta, TOUCHED);
      assert.equal(c.privateDelta, TOUCHED);
      // The CLI says so, with the figures.
      assert.match(
        diffText(d, 50),
        new RegExp(`changed +0*${report.touchBase.toString(16)} .*resident \\+4\\.0 MiB, private \\+4\\.0 MiB`),
      );
      assert.match(diffText(d, 50), /Private data +committed [^\n]*, resident \+[^\n]*, private \+/);
      // The contract's diff (the dashboard's and the report's) lists it as grown.
      const contract = processDiff(
        child.pid,
        { id: 1, time: first.takenAt, label: null, walk: first },
        { id: 2, time: touched.takenAt, label: null, walk: touched },
      );
      const grown = contract.grown.find((x) => x.after.base === report.touchBase);
      assert.ok(grown, 'the contract diff does not list the written mapping');
      assert.equal((grown.after.resident ?? 0) - (grown.before.resident ?? 0), TOUCHED);
    });

    test('the HTML diff tables: before → after and the change; "was at" for a region that moved', () => {
      const model = buildProcessReport(
        {
          pid: child.pid,
          name: 'child',
          first,
          last: committed,
          history: [first, touched, committed].map((w) => processSample(w)),
          end: null,
        },
        { source: LIVE_WATCH_SOURCE, language: 'en' },
      );
      const html = processReportHtml(model);
      const hex = (n: number): string => `0x${n.toString(16)}`;
      // The 16 MiB commit grew the front of the reservation: 8 → 24 MiB, +16 MiB.
      const section = (title: string): string[] => html.slice(html.indexOf(`<h3>${title}`)).split('<tr>');
      const grownRow = section('Grown').find((row) => row.startsWith(`<td class="code">${hex(report.base)}`));
      assert.ok(grownRow, 'no row for the grown region');
      assert.match(grownRow, /8(?:\.0)?\sMiB → 24(?:\.0)?\sMiB<br><b>\+16(?:\.0)?\sMiB<\/b>/);
      // The reserved rest now starts 16 MiB later: shrunk, and it says where it was.
      const rest = report.base + COMMITTED + MORE;
      const shrunkRow = section('Shrunk').find((row) => row.startsWith(`<td class="code">${hex(rest)}`));
      assert.ok(shrunkRow, 'no row for the shrunk region');
      assert.match(shrunkRow, new RegExp(`was at ${hex(report.base + COMMITTED)}`));
      assert.match(shrunkRow, /56(?:\.0)?\sMiB → 40(?:\.0)?\sMiB<br><b>[−-]16(?:\.0)?\sMiB<\/b>/);
      assert.match(html, /before → after \(change\)/);
    });
  });
}
