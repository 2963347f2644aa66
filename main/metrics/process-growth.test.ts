/**
 * The leak signal exported: a real child watched by a real watcher writes 16 MiB between two walks a second and more
 * apart; the scrape then has its growth rate by type (resident and private growing in private data), and none before
 * the walks span a second.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createProcessInspector } from '../../native';
import { InspectChild, isInspectChild, runInspectChild, type ChildReport } from '../../native/process-testing';
import { ProcessWatcher } from '../inspect';
import { createHost } from '../host';
import { createSampler } from '../telemetry/sampler';
import { createHostMetrics, WatchedProcesses } from './index';
import { parseExposition, select, total } from './testing';

const COMPILED = join(process.cwd(), 'out', 'tests', 'main', 'metrics', 'process-growth.test.js');

if (isInspectChild()) {
  runInspectChild();
} else {
  describe('the leak signal in the metrics', () => {
    const host = createHost();
    const sampler = createSampler(host, { intervalMs: 60_000 });
    const watched = new WatchedProcesses();
    const metrics = createHostMetrics({ host, sampler, version: '0.0.0-test', processes: watched });
    const child = new InspectChild(COMPILED);
    let folder = '';
    after(async () => {
      await child.kill();
      if (folder) rmSync(folder, { recursive: true, force: true });
      watched.dispose();
      metrics.dispose();
      host.dispose();
    });

    test('growth rates by type appear once the walks span a second, and show what the child wrote', async (t) => {
      const report = JSON.parse(await child.next()) as ChildReport;
      folder = join(report.filePath, '..');
      const inspector = createProcessInspector();
      const watcher = new ProcessWatcher(inspector, child.pid, { intervalMs: 600_000, alwaysWalk: true });
      watched.add(watcher, 'inspect-child');
      watcher.start();
      await watcher.walkNow();
      const pid = String(child.pid);
      let parsed = parseExposition((await metrics.scrape()).body);
      assert.equal(select(parsed, 'hostmem_process_committed_growth_bytes_per_second', { pid }).length, 0);

      // A second later (a wait, not a measurement), the child writes 16 MiB, and is walked again.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      child.send('commit');
      assert.equal(await child.next(), 'committed');
      await watcher.walkNow();
      parsed = parseExposition((await metrics.scrape()).body);
      const types = select(parsed, 'hostmem_process_committed_growth_bytes_per_second', { pid });
      assert.ok(types.length > 0, 'no growth series');
      if (select(parsed, 'hostmem_process_resident_bytes', { pid }).length === 0) {
        t.skip('this OS gives no resident figure for another process (Wine refuses K32QueryWorkingSet)');
        return;
      }
      const resident = total(parsed, 'hostmem_process_resident_growth_bytes_per_second', { pid, type: 'private' });
      const priv = total(parsed, 'hostmem_process_private_growth_bytes_per_second', { pid, type: 'private' });
      assert.ok(resident > 0, `resident growth ${resident}`);
      assert.ok(priv > 0, `private growth ${priv}`);
    });
  });
}
