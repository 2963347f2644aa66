/**
 * The process inspector, summary, diff and watcher against a real child process: the child reserves and commits
 * through hostmem's own backend (posix here, win32 under Wine and on Windows) and maps a file of known size and
 * name; this process walks it from outside (/proc/PID/smaps; OpenProcess + VirtualQueryEx) and checks the regions,
 * then asks for 16 MiB more and checks the diff.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createProcessInspector,
  PAGE,
  type ProcessInspector,
  type ProcessRegion,
  type ProcessWalk,
} from '../../native';
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
import { diffWalks, ProcessWatcher, summarize, type WatchOptions, type WatchWalkEvent } from './index';

/**
 * What the OS charges for the pages hostmem's own backend commits: Windows the commit; Linux nothing, since the
 * posix backend reserves with MAP_NORESERVE, so the kernel never charges what is committed in it (no `ac` flag).
 */
const charged = (inspector: ProcessInspector, bytes: number): number => (inspector.backend === 'posix' ? 0 : bytes);

/** This file, compiled (tests run from the repository root). */
const COMPILED = join(process.cwd(), 'out', 'tests', 'main', 'inspect', 'inspect.test.js');

function regionAt(walk: ProcessWalk, base: number): ProcessRegion {
  const r = walk.regions.find((x) => x.baseAddress === base);
  assert.ok(r, `no region at 0x${base.toString(16)}`);
  return r;
}

async function walkOf(inspector: ProcessInspector, pid: number): Promise<ProcessWalk> {
  const w = await inspector.walkProcess(pid);
  if (!w.ok) assert.fail(`walk of ${pid} failed: ${w.error.code}: ${w.error.message}`);
  return w.value;
}

const baseName = (p: string): string => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);

if (isInspectChild()) {
  runInspectChild();
} else {
  const inspector = createProcessInspector();

  describe('process inspector against a real child', () => {
    let child: InspectChild;
    let report: ChildReport;
    let first: ProcessWalk;

    before(async () => {
      child = new InspectChild(COMPILED);
      report = JSON.parse(await child.next()) as ChildReport;
      first = await walkOf(inspector, child.pid);
    });
    after(async () => {
      await child.kill();
      rmSync(join(report.filePath, '..'), { recursive: true, force: true });
    });

    test('runs on the backend this OS is expected to use', () => {
      const expected = process.env.HOSTMEM_EXPECT_BACKEND;
      if (expected) assert.equal(inspector.backend, expected);
      assert.equal(first.backend, inspector.backend);
      assert.equal(first.pid, child.pid);
    });

    test('regions are ascending, do not overlap, and tile the address space up to its limit', () => {
      let cursor = 0;
      for (const r of first.regions) {
        if (r.baseAddress >= first.addressLimit) break; // [vsyscall] lies above user space
        assert.equal(r.baseAddress, cursor, `hole or overlap at 0x${cursor.toString(16)}`);
        assert.ok(r.size > 0);
        cursor = r.baseAddress + r.size;
      }
      assert.equal(cursor, first.addressLimit);
    });

    test('sees the 8 MiB committed at the reservation base, read-write, private, resident', () => {
      const r = regionAt(first, report.base);
      assert.equal(r.size, COMMITTED);
      assert.equal(r.state, 'MEM_COMMIT');
      assert.equal(r.type, 'MEM_PRIVATE');
      assert.equal(r.protect, PAGE.READWRITE);
      assert.equal(r.allocationBase, report.base);
      assert.equal(r.committed, charged(inspector, COMMITTED));
      assert.equal(r.file, null);
      // The child wrote every page: all resident, none shared.
      if (r.resident !== null) assert.equal(r.resident, COMMITTED);
      if (r.private !== null) assert.equal(r.private, COMMITTED);
    });

    test('sees the other 56 MiB reserved, in the same allocation', () => {
      const r = regionAt(first, report.base + COMMITTED);
      assert.equal(r.size, RESERVED - COMMITTED);
      assert.equal(r.state, 'MEM_RESERVE');
      assert.equal(r.protect, 0);
      assert.equal(r.committed, 0);
      assert.equal(r.allocationBase, report.base);
    });

    test('sees the mapped file at its address, its size rounded to pages, read-only, with its path', () => {
      const r = regionAt(first, report.fileBase);
      const pages = Math.ceil(FILE_BYTES / first.pageSize) * first.pageSize;
      assert.equal(r.size, pages);
      assert.equal(r.state, 'MEM_COMMIT');
      assert.equal(r.type, 'MEM_MAPPED');
      assert.equal(r.protect, PAGE.READONLY);
      assert.equal(r.allocationBase, report.fileBase);
      assert.ok(r.file !== null, 'no file name');
      // A drive path on Windows (never \Device\HarddiskVolumeN), the same path on Linux.
      assert.equal(r.file.toLowerCase(), report.filePath.toLowerCase());
      assert.equal(baseName(r.file), `hostmem-inspect-${child.pid}.bin`);
      assert.equal(summarize(first).byType.mapped.regions >= 1, true);
    });

    test('the summary counts every region once, by type', () => {
      const s = summarize(first);
      const nonFree = first.regions.filter((r) => r.state !== 'MEM_FREE');
      assert.equal(s.total.regions, nonFree.length);
      assert.equal(
        s.total.size,
        nonFree.reduce((n, r) => n + r.size, 0),
      );
      assert.equal(
        s.total.committed,
        nonFree.reduce((n, r) => n + r.committed, 0),
      );
      assert.ok(s.byType.private.committed >= charged(inspector, COMMITTED));
      assert.ok(s.byType.private.size >= RESERVED);
      assert.ok(s.byType.image.regions > 0, 'the program and its libraries are images');
    });

    test('the child commits 16 MiB more: the diff shows exactly that region grown by 16 MiB', async () => {
      child.send('commit');
      assert.equal(await child.next(), 'committed');
      const second = await walkOf(inspector, child.pid);
      const d = diffWalks(first, second);
      const inReservation = (r: ProcessRegion): boolean =>
        r.baseAddress < report.base + RESERVED && r.baseAddress + r.size > report.base;
      const grown = d.grown.filter((c) => inReservation(c.after));
      assert.equal(grown.length, 1);
      assert.equal(grown[0]!.after.baseAddress, report.base);
      assert.equal(grown[0]!.sizeDelta, MORE);
      assert.equal(grown[0]!.committedDelta, charged(inspector, MORE));
      // The reserved rest now starts 16 MiB later: the same run, shrunk from the front.
      const shrunk = d.shrunk.filter((c) => inReservation(c.after));
      assert.equal(shrunk.length, 1);
      assert.equal(shrunk[0]!.before.baseAddress, report.base + COMMITTED);
      assert.equal(shrunk[0]!.after.baseAddress, report.base + COMMITTED + MORE);
      assert.equal(shrunk[0]!.sizeDelta, -MORE);
      assert.equal(d.added.filter(inReservation).length, 0);
      assert.equal(d.removed.filter(inReservation).length, 0);
      first = second;
    });

    test('lists the child with its parent and name', async () => {
      const list = await inspector.listProcesses();
      assert.ok(list.ok);
      const me = list.value.find((p) => p.pid === child.pid);
      assert.ok(me, 'the child is listed');
      assert.equal(me.parentPid, process.pid);
      assert.match(me.name, /node/i);
      assert.ok(me.workingSet === null || me.workingSet > COMMITTED);
      const pids = list.value.map((p) => p.pid);
      assert.deepEqual(
        pids,
        [...pids].sort((a, b) => a - b),
      );
      const one = await inspector.processInfo(child.pid);
      assert.ok(one.ok);
      assert.equal(one.value.name, me.name);
      assert.equal(inspector.isRunning(child.pid), true);
    });

    test('a watcher at a fixed rate: every walk told, its diff (computed when read) the diff of the two walks', async () => {
      const collect = async (options: WatchOptions, n: number): Promise<WatchWalkEvent[]> => {
        const watcher = new ProcessWatcher(inspector, child.pid, { keepAlive: true, ...options });
        const events: WatchWalkEvent[] = [];
        const done = new Promise<void>((resolve) =>
          watcher.onWalk((e) => {
            events.push(e);
            if (events.length === n) {
              watcher.stop();
              resolve();
            }
          }),
        );
        watcher.start();
        await done;
        assert.equal(await watcher.done, 'stopped');
        return events;
      };
      const events = await collect({ intervalMs: 10, cadence: 'fixed-rate' }, 6);
      assert.deepEqual(
        events.map((e) => e.seq),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(events[0]!.diff, null);
      assert.equal(events[0]!.changed, true);
      for (let i = 1; i < events.length; i++) {
        const e = events[i]!;
        assert.deepEqual(e.diff, diffWalks(events[i - 1]!.walk, e.walk));
        assert.deepEqual(e.summary, summarize(e.walk));
        if (e.reused) {
          assert.equal(e.walk.regions, events[i - 1]!.walk.regions);
          assert.equal(e.changed, false);
        }
      }
      // The child sits idle: where the inspector has a fingerprint, some tick finds it unchanged and walks no more.
      if (inspector.fingerprint)
        assert.ok(
          events.slice(1).some((e) => e.reused),
          'no tick kept the regions',
        );
      else assert.ok(events.every((e) => !e.reused));
      const walked = await collect({ intervalMs: 10, alwaysWalk: true }, 3);
      assert.ok(walked.every((e) => !e.reused));
    });

    test('a watcher sees the exit, keeps its last walk and stops', async () => {
      const watcher = new ProcessWatcher(inspector, child.pid, { intervalMs: 20, keepAlive: true });
      const walks: number[] = [];
      watcher.onWalk((e) => walks.push(e.seq));
      const exited = new Promise<{ walks: number; lastWalk: ProcessWalk | null }>((resolve) => watcher.onExit(resolve));
      watcher.start();
      await new Promise<void>((resolve) => {
        const off = watcher.onWalk(() => {
          off();
          resolve();
        });
      });
      await child.kill();
      const exit = await exited;
      assert.equal(await watcher.done, 'exited');
      assert.ok(exit.walks >= 1);
      assert.equal(exit.walks, walks.length);
      assert.equal(exit.lastWalk?.pid, child.pid);
      assert.equal(inspector.isRunning(child.pid), false);
      const gone = await inspector.walkProcess(child.pid);
      assert.ok(!gone.ok);
      assert.ok(gone.error.code === 'no-such-process' || gone.error.code === 'exited', gone.error.code);
    });
  });
}
