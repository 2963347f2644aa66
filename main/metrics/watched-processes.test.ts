/**
 * Process metrics from a real watcher of a real child process (posix here; win32 under Wine and on Windows): the
 * child reserves 64 MiB and commits 8 MiB through hostmem's own backend and maps a file; its series appear by pid,
 * name and type with at least those bytes, grow when it commits 16 MiB more, and vanish once it is killed.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createProcessInspector } from '../../native';
import {
  COMMITTED,
  FILE_BYTES,
  InspectChild,
  isInspectChild,
  MORE,
  RESERVED,
  runInspectChild,
  type ChildReport,
} from '../../native/process-testing';
import { ProcessWatcher } from '../inspect';
import { createHost } from '../host';
import { createSampler } from '../telemetry/sampler';
import { createHostMetrics, WatchedProcesses } from './index';
import { parseExposition, select, total } from './testing';

/** This file, compiled (tests run from the repository root). */
const COMPILED = join(process.cwd(), 'out', 'tests', 'main', 'metrics', 'watched-processes.test.js');

if (isInspectChild()) {
  runInspectChild();
} else {
  describe('watched processes from the inspector', () => {
    const host = createHost();
    const sampler = createSampler(host, { intervalMs: 60_000 });
    const watched = new WatchedProcesses();
    const metrics = createHostMetrics({ host, sampler, version: '0.0.0-test', processes: watched });
    const children: InspectChild[] = [];
    const folders: string[] = [];
    after(async () => {
      for (const c of children) await c.kill();
      for (const f of folders) rmSync(f, { recursive: true, force: true });
      watched.dispose();
      metrics.dispose();
      host.dispose();
    });

    test('a watched child is exported by pid and type, follows its commits, and is dropped when it ends', async () => {
      const child = new InspectChild(COMPILED);
      children.push(child);
      const report = JSON.parse(await child.next()) as ChildReport;
      folders.push(join(report.filePath, '..'));
      const inspector = createProcessInspector();
      // A long interval: walks happen when the test asks (walkNow), not on a timer.
      const watcher = new ProcessWatcher(inspector, child.pid, { intervalMs: 600_000 });
      watched.add(watcher, 'inspect-child');
      watcher.start();
      await watcher.walkNow();

      const pid = String(child.pid);
      let parsed = parseExposition((await metrics.scrape()).body);
      const names = new Set(select(parsed, 'hostmem_process_regions', { pid }).map((s) => s.labels.name));
      assert.equal(names.size, 1, 'one name per process');
      assert.ok(total(parsed, 'hostmem_process_regions', { pid }) > 3);
      const privateCommitted = total(parsed, 'hostmem_process_committed_bytes', { pid, type: 'private' });
      // Linux charges nothing for hostmem's own commits (its posix backend reserves with MAP_NORESERVE: no `ac`).
      const charged = (bytes: number): number => (inspector.backend === 'posix' ? 0 : bytes);
      assert.ok(privateCommitted >= charged(COMMITTED), `private committed ${privateCommitted}`);
      assert.ok(total(parsed, 'hostmem_process_reserved_bytes', { pid, type: 'private' }) >= RESERVED);
      assert.ok(total(parsed, 'hostmem_process_reserved_bytes', { pid, type: 'mapped' }) >= FILE_BYTES);
      assert.ok(total(parsed, 'hostmem_process_committed_bytes', { pid, type: 'image' }) > 0);
      assert.equal(select(parsed, 'hostmem_process_reserved_bytes', { pid, type: 'free' }).length, 0);

      child.send('commit');
      assert.equal(await child.next(), 'committed');
      await watcher.walkNow();
      parsed = parseExposition((await metrics.scrape()).body);
      const after = total(parsed, 'hostmem_process_committed_bytes', { pid, type: 'private' });
      assert.ok(after - privateCommitted >= charged(MORE), `committed grew by ${after - privateCommitted}`);

      await child.kill();
      await watcher.walkNow();
      assert.equal(await watcher.done, 'exited');
      parsed = parseExposition((await metrics.scrape()).body);
      assert.equal(
        parsed.samples.filter((s) => s.name.startsWith('hostmem_process_')).length,
        0,
        'an ended process is no longer exported',
      );
      assert.equal(watched.size, 0);
    });
  });
}
