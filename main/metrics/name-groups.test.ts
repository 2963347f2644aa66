/**
 * Name groups and watch health, with real processes and the real inspector: a group watched before any process of
 * its name runs is there at 0; a master and a worker of that name both join it (per-pid series and per-group sums
 * that agree); a restart (one killed, a new one started) is followed; when they all end the group is at 0 and its
 * health stays. The members are copies of a small executable under a unique name (posix: `sleep`; win32: this Node).
 *
 * And a target hostmem may not read: a pid watch of a root-owned process (pid 1) from an unprivileged process is
 * exported as 0 processes with `hostmem_watch_errors_total{reason="access-denied"}` 1 — as root, this file runs
 * itself again as `nobody` for that (posix only: under Wine and as a Windows administrator every process here is
 * readable; the skip says so).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createProcessInspector } from '../../native';
import { createHost } from '../host';
import { createSampler } from '../telemetry/sampler';
import { WALK_FAILURES, WatchedProcesses, createHostMetrics } from './index';
import { parseExposition, select, total, type ParsedExposition } from './testing';

/** This file, compiled (tests run from the repository root). */
const COMPILED = join(process.cwd(), 'out', 'tests', 'main', 'metrics', 'name-groups.test.js');
const UNREADABLE_CHILD = process.env.HOSTMEM_UNREADABLE_CHILD === '1';

function setup() {
  const host = createHost();
  const sampler = createSampler(host, { intervalMs: 60_000 });
  const watched = new WatchedProcesses();
  const metrics = createHostMetrics({ host, sampler, version: '0.0.0-test', processes: watched });
  const scrape = async (): Promise<ParsedExposition> => parseExposition((await metrics.scrape()).body);
  const dispose = (): void => {
    watched.dispose();
    metrics.dispose();
    host.dispose();
  };
  return { watched, metrics, scrape, dispose };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (polling) until `check` holds; fails with `what` after 20 s. Not a timing assertion: only a bound. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

if (UNREADABLE_CHILD) {
  // The unprivileged side: watch pid 1, print one scrape once the watch has failed.
  const { watched, scrape, dispose } = setup();
  const watcher = watched.watch(createProcessInspector(), 1, 'init', { intervalMs: 600_000 });
  void watcher.done.then(async (end) => {
    process.stdout.write(JSON.stringify({ end, body: (await scrape()).samples }));
    dispose();
  });
} else {
  describe('name groups', () => {
    const folder = mkdtempSync(join(tmpdir(), 'hostmem-groups-'));
    const NAME = `hmgrp${process.pid % 100000}`;
    const exe = join(folder, process.platform === 'win32' ? `${NAME}.exe` : NAME);
    const children: ChildProcess[] = [];
    const { watched, scrape, dispose } = setup();
    after(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      dispose();
      rmSync(folder, { recursive: true, force: true });
    });
    const start = (): ChildProcess => {
      const args = process.platform === 'win32' ? ['-e', 'setInterval(() => {}, 1 << 30)'] : ['600'];
      const child = spawn(exe, args, { stdio: 'ignore' });
      children.push(child);
      return child;
    };
    const kill = async (child: ChildProcess): Promise<void> => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    };

    test('a group follows every process of its name: before it runs, master and worker, a restart, the end', async () => {
      if (process.platform === 'win32') copyFileSync(process.execPath, exe);
      else {
        const which = spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' });
        copyFileSync(which.stdout.trim(), exe);
        chmodSync(exe, 0o755);
      }
      const inspector = createProcessInspector();
      // Long intervals: listings and walks happen when the test asks (rescan) and when a watcher starts.
      const group = watched.watchName(inspector, NAME, { intervalMs: 600_000, rescanMs: 600_000 });
      await group.rescan();
      let parsed = await scrape();
      assert.equal(total(parsed, 'hostmem_namegroup_processes', { group: NAME }), 0, 'not running yet: 0');
      assert.equal(total(parsed, 'hostmem_watch_processes', { watch: NAME }), 0);
      for (const reason of WALK_FAILURES) {
        assert.equal(select(parsed, 'hostmem_watch_errors_total', { watch: NAME, reason })[0]?.value, 0, reason);
      }

      const master = start();
      const worker = start();
      await group.rescan();
      await until('both processes walked', () => watched.list().filter((p) => p.name.startsWith(NAME)).length === 2);
      parsed = await scrape();
      assert.deepEqual(
        group.pids(),
        [master.pid!, worker.pid!].sort((a, b) => a - b),
      );
      assert.equal(total(parsed, 'hostmem_namegroup_processes', { group: NAME }), 2);
      assert.equal(total(parsed, 'hostmem_watch_processes', { watch: NAME }), 2);
      assert.equal(total(parsed, 'hostmem_namegroup_processes_started_total', { group: NAME }), 2);
      assert.ok(total(parsed, 'hostmem_watch_walks_total', { watch: NAME }) >= 2);
      assert.ok(select(parsed, 'hostmem_watch_last_walk_duration_seconds', { watch: NAME })[0]!.value >= 0);
      // The group's sums are the sums of its members' series, type by type.
      for (const family of ['committed', 'reserved']) {
        for (const s of select(parsed, `hostmem_namegroup_${family}_bytes`, { group: NAME })) {
          const type = s.labels.type!;
          const sum =
            total(parsed, `hostmem_process_${family}_bytes`, { pid: String(master.pid), type }) +
            total(parsed, `hostmem_process_${family}_bytes`, { pid: String(worker.pid), type });
          assert.equal(s.value, sum, `${family} ${type}`);
        }
      }
      assert.ok(total(parsed, 'hostmem_namegroup_committed_bytes', { group: NAME }) > 0);
      assert.equal(
        total(parsed, 'hostmem_namegroup_regions', { group: NAME }),
        total(parsed, 'hostmem_process_regions', { pid: String(master.pid) }) +
          total(parsed, 'hostmem_process_regions', { pid: String(worker.pid) }),
      );
      // Each member's start time, as the OS says it (within a minute of now).
      for (const child of [master, worker]) {
        const started = total(parsed, 'hostmem_process_start_time_seconds', { pid: String(child.pid) });
        assert.ok(Math.abs(started - Date.now() / 1000) < 60, `start time ${started}`);
      }

      // A restart: the worker dies, a new one starts; the group follows.
      await kill(worker);
      const again = start();
      await group.rescan();
      await until('the restart followed', () => {
        const pids = watched.list().map((p) => p.pid);
        return pids.includes(again.pid!) && !pids.includes(worker.pid!);
      });
      parsed = await scrape();
      assert.equal(total(parsed, 'hostmem_namegroup_processes', { group: NAME }), 2);
      assert.equal(total(parsed, 'hostmem_namegroup_processes_started_total', { group: NAME }), 3);
      assert.equal(select(parsed, 'hostmem_process_regions', { pid: String(worker.pid) }).length, 0);

      // All gone: the group is at 0, its health stays; no error was counted for processes that simply ended.
      await kill(master);
      await kill(again);
      await group.rescan();
      await until('every member gone', () => group.pids().length === 0);
      parsed = await scrape();
      assert.equal(total(parsed, 'hostmem_namegroup_processes', { group: NAME }), 0);
      assert.equal(total(parsed, 'hostmem_watch_processes', { watch: NAME }), 0);
      assert.equal(total(parsed, 'hostmem_watch_errors_total', { watch: NAME }), 0);
      assert.equal(parsed.samples.filter((s) => s.name === 'hostmem_process_regions').length, 0);
    });

    test('a pid watch keeps its health once its process ended', async () => {
      const child = start();
      const watcher = watched.watch(createProcessInspector(), child.pid!, NAME, { intervalMs: 600_000 });
      await until('the first walk', () => watcher.walks > 0);
      let parsed = await scrape();
      const watch = String(child.pid);
      assert.equal(total(parsed, 'hostmem_watch_processes', { watch }), 1);
      await kill(child);
      await watcher.walkNow();
      assert.equal(await watcher.done, 'exited');
      parsed = await scrape();
      assert.equal(total(parsed, 'hostmem_watch_processes', { watch }), 0, 'still exported, at 0');
      assert.ok(total(parsed, 'hostmem_watch_walks_total', { watch }) >= 1);
      assert.equal(select(parsed, 'hostmem_process_regions', { pid: watch }).length, 0);
    });
  });

  describe('an unreadable target', () => {
    const skip =
      process.platform === 'win32'
        ? 'every process is readable under Wine (and to a Windows administrator); the posix legs check this'
        : false;
    test('is exported as 0 processes with an access-denied error, not just absent', { skip }, async () => {
      const root = process.getuid?.() === 0;
      // As root, this file again as `nobody` (uid 65534); otherwise this process, which may not read pid 1.
      const run = spawnSync(process.execPath, ['--enable-source-maps', COMPILED], {
        env: { ...process.env, HOSTMEM_UNREADABLE_CHILD: '1' },
        ...(root && { uid: 65534, gid: 65534 }),
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      const { end, body } = JSON.parse(run.stdout) as { end: string; body: ParsedExposition['samples'] };
      const parsed: ParsedExposition = { samples: body, help: new Map(), types: new Map() };
      assert.equal(end, 'error');
      assert.equal(total(parsed, 'hostmem_watch_processes', { watch: '1' }), 0);
      assert.equal(total(parsed, 'hostmem_watch_errors_total', { watch: '1', reason: 'access-denied' }), 1);
      assert.equal(total(parsed, 'hostmem_watch_errors_total', { watch: '1', reason: 'unknown' }), 0);
      assert.equal(select(parsed, 'hostmem_process_regions', { pid: '1' }).length, 0);
    });
  });
}
