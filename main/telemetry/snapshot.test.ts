/**
 * Snapshots of the real host's region map and their diff: appeared / vanished / changed regions and byte deltas
 * by tag and by level over a real sequence of reserves, commits, decommits, protects and releases; the store's
 * manual and periodic snapshots with an injected timer.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MEM, PAGE } from '../../native';
import { createHost, type Host, type Region } from '../host';
import { SnapshotStore, diffSnapshots, takeSnapshot, type SnapshotHost, type TagDelta } from './snapshot';

const KiB = 1024;
const RC = MEM.RESERVE | MEM.COMMIT;
const RW = PAGE.READWRITE;

let host: Host | undefined;
function make(): Host {
  host = createHost();
  return host;
}
afterEach(() => {
  host?.dispose();
  host = undefined;
});

async function reserve(h: Host, size: number, level: number, tag?: string, commit = false): Promise<number> {
  const r = await h.VirtualAlloc(null, size, commit ? RC : MEM.RESERVE, RW, level, tag);
  assert.equal(r.hr, 0);
  return r.address!;
}

const tagRow = (d: readonly TagDelta[], tag: string | null): TagDelta => {
  const row = d.find((x) => x.tag === tag);
  assert.ok(row, `a row for tag ${tag}`);
  return row;
};

describe('takeSnapshot', () => {
  test('copies every live region with its page runs; later host changes do not reach it', async () => {
    const h = make();
    const a = await reserve(h, 256 * KiB, 0, 'gc');
    await h.VirtualAlloc(a + 4096, 8192, MEM.COMMIT, RW, 0);
    const b = await reserve(h, 64 * KiB, 2, undefined, true);
    const s = takeSnapshot(h, 'first', { now: () => 1234 });
    assert.equal(s.time, 1234);
    assert.equal(s.label, 'first');
    assert.equal(s.regions.length, 2);
    assert.deepEqual(
      s.regions.map((r) => r.base),
      [a, b].sort((x, y) => x - y),
    );
    const ra = s.regions.find((r) => r.base === a)!;
    assert.deepEqual(
      { size: ra.size, committed: ra.committed, level: ra.level, tag: ra.tag, runs: ra.runs },
      {
        size: 256 * KiB,
        committed: 8192,
        level: 'eTaskCritical',
        tag: 'gc',
        runs: [{ start: 1, end: 3, protect: RW }],
      },
    );
    assert.equal(s.regions.find((r) => r.base === b)!.tag, null);
    assert.deepEqual([s.reserved, s.committed], [h.stats().reserved, h.stats().committed]);
    // The host grows its run in place; the snapshot keeps what was.
    await h.VirtualAlloc(a + 3 * 4096, 4096, MEM.COMMIT, RW, 0);
    assert.deepEqual(ra.runs, [{ start: 1, end: 3, protect: RW }]);
    assert.equal(ra.committed, 8192);
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(s)), 'JSON-serialisable');
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});

describe('diffSnapshots', () => {
  test('a real sequence: appeared, vanished, changed, and byte deltas by tag and by level', async () => {
    const h = make();
    const keep = await reserve(h, 128 * KiB, 0, 'cache'); // reserved only, will get commits
    const gone = await reserve(h, 64 * KiB, 1, 'cache', true); // committed, will be released
    const same = await reserve(h, 64 * KiB, 2, 'stable', true); // untouched
    const prot = await reserve(h, 64 * KiB, 1, undefined, true); // protection changes only
    const a = takeSnapshot(h, 'before');

    await h.VirtualAlloc(keep, 32 * KiB, MEM.COMMIT, RW, 0);
    await h.VirtualFree(gone, 0, MEM.RELEASE);
    const fresh = await reserve(h, 192 * KiB, 2, 'gc', true);
    await h.VirtualFree(fresh + 64 * KiB, 64 * KiB, MEM.DECOMMIT);
    assert.equal((await h.VirtualProtect(prot, 4096, PAGE.READONLY)).hr, 0);
    const b = takeSnapshot(h, 'after');

    const d = diffSnapshots(a, b);
    assert.deepEqual(d.from, { time: a.time, label: 'before' });
    assert.deepEqual(
      d.appeared.map((r) => r.base),
      [fresh],
    );
    assert.deepEqual(
      d.vanished.map((r) => r.base),
      [gone],
    );
    const changed = new Map(d.changed.map((c) => [c.base, c]));
    assert.equal(changed.size, 2);
    assert.deepEqual(changed.get(keep)!.committed, { before: 0, after: 32 * KiB, delta: 32 * KiB });
    assert.equal(changed.get(keep)!.pageMapChanged, true);
    assert.deepEqual(changed.get(prot)!.committed, { before: 64 * KiB, after: 64 * KiB, delta: 0 });
    assert.equal(changed.get(prot)!.pageMapChanged, true, 'a protection change is a page-map change');
    assert.deepEqual(changed.get(prot)!.runsAfter, [
      { start: 0, end: 1, protect: PAGE.READONLY },
      { start: 1, end: 16, protect: RW },
    ]);
    assert.equal(d.unchanged, 1, `${same} is unchanged`);

    // By tag.
    const cache = tagRow(d.byTag, 'cache');
    assert.deepEqual(cache.regions, { before: 2, after: 1, delta: -1 });
    assert.deepEqual(cache.reserved, { before: 192 * KiB, after: 128 * KiB, delta: -64 * KiB });
    assert.deepEqual(cache.committed, { before: 64 * KiB, after: 32 * KiB, delta: -32 * KiB });
    const gc = tagRow(d.byTag, 'gc');
    assert.deepEqual(gc.reserved, { before: 0, after: 192 * KiB, delta: 192 * KiB });
    assert.deepEqual(gc.committed, { before: 0, after: 128 * KiB, delta: 128 * KiB });
    assert.deepEqual(tagRow(d.byTag, 'stable').committed.delta, 0);
    assert.deepEqual(tagRow(d.byTag, null).reserved, { before: 64 * KiB, after: 64 * KiB, delta: 0 });
    assert.equal(d.byTag[0]!.tag, 'gc', 'the largest committed change first');

    // By level.
    const lv = Object.fromEntries(d.byLevel.map((x) => [x.level, x]));
    assert.deepEqual(Object.keys(lv), ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical']);
    assert.deepEqual(lv.eTaskCritical!.committed, { before: 0, after: 32 * KiB, delta: 32 * KiB });
    assert.deepEqual(lv.eAppDomainCritical!.reserved, { before: 128 * KiB, after: 64 * KiB, delta: -64 * KiB });
    assert.deepEqual(lv.eAppDomainCritical!.committed, { before: 128 * KiB, after: 64 * KiB, delta: -64 * KiB });
    assert.deepEqual(lv.eProcessCritical!.committed, { before: 64 * KiB, after: 192 * KiB, delta: 128 * KiB });

    // Totals agree with the host's own books at each instant.
    assert.deepEqual(d.totals.reserved, { before: a.reserved, after: b.reserved, delta: b.reserved - a.reserved });
    assert.deepEqual(d.totals.committed, {
      before: a.committed,
      after: b.committed,
      delta: b.committed - a.committed,
    });
    assert.equal(d.totals.regions.after, h.stats().regions);
    // Group sums add up to the totals.
    const sum = (xs: readonly { committed: { delta: number } }[]): number =>
      xs.reduce((s, x) => s + x.committed.delta, 0);
    assert.equal(sum(d.byTag), d.totals.committed.delta);
    assert.equal(sum(d.byLevel), d.totals.committed.delta);

    // The other way round gives the opposite.
    const back = diffSnapshots(b, a);
    assert.deepEqual(
      back.appeared.map((r) => r.base),
      [gone],
    );
    assert.equal(back.totals.committed.delta, -d.totals.committed.delta);
  });

  test('a base released and reserved again is a vanished and an appeared region, not a change', async () => {
    let t = 1000;
    const h = createHost({ now: () => t });
    host = h;
    const base = await reserve(h, 64 * KiB, 0, 'x');
    const a = takeSnapshot(h);
    await h.VirtualFree(base, 0, MEM.RELEASE);
    t += 10;
    const again = await h.VirtualAlloc(base, 64 * KiB, MEM.RESERVE, RW, 0, 'x');
    assert.equal(again.address, base);
    const d = diffSnapshots(a, takeSnapshot(h));
    assert.deepEqual([d.appeared.length, d.vanished.length, d.changed.length, d.unchanged], [1, 1, 0, 0]);
  });

  test("100,000 regions: snapshot and diff are exact (a synthetic host: one OS mapping per region would hit Linux's map limit)", () => {
    const regions: Region[] = [];
    for (let i = 0; i < 100_000; i++) {
      regions.push({
        base: 0x100000000 + i * 0x20000,
        size: 0x10000,
        pages: 16,
        level: (['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const)[i % 3]!,
        tag: `t${i % 10}`,
        allocationProtect: RW,
        created: i,
        runs: i % 2 === 0 ? [{ start: 0, end: 4, protect: RW }] : [],
        committed: i % 2 === 0 ? 4 * 4096 : 0,
      });
    }
    const fake = (list: Region[]): SnapshotHost => ({
      pageSize: 4096,
      regionList: () => list,
      stats: () => ({
        reserved: list.length * 0x10000,
        committed: list.reduce((s, r) => s + r.committed, 0),
        external: 0,
        heap: 0,
        regions: list.length,
        state: 'available',
        failures: { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 },
      }),
    });
    const a = takeSnapshot(fake(regions));
    // Every 10th region gone, every odd one gets a commit.
    const next = regions
      .filter((_, i) => i % 10 !== 0)
      .map((r, i) => (i % 2 === 1 ? r : { ...r, runs: [{ start: 0, end: 8, protect: RW }], committed: 8 * 4096 }));
    const b = takeSnapshot(fake(next));
    assert.equal(a.regions.length, 100_000);
    const d = diffSnapshots(a, b);
    assert.equal(d.vanished.length, 10_000);
    assert.equal(d.appeared.length, 0);
    assert.equal(d.changed.length + d.unchanged, 90_000);
    assert.equal(d.totals.committed.delta, b.committed - a.committed);
  });
});

describe('SnapshotStore', () => {
  test('manual snapshots are kept up to their count; periodic ones on an injected timer, up to maxCount', async () => {
    const h = make();
    let t = 0;
    let tick: (() => void) | undefined;
    let interval = 0;
    const store = new SnapshotStore(h, {
      now: () => t,
      maxManual: 2,
      every: (ms, fn) => {
        interval = ms;
        tick = fn;
        return () => {
          tick = undefined;
        };
      },
    });
    const seen: number[] = [];
    store.onSnapshot((s) => seen.push(s.id));
    const m1 = store.take('empty');
    await reserve(h, 64 * KiB, 0, 'a', true);
    t = 10;
    const m2 = store.take('one');
    const m3 = store.take('again');
    assert.deepEqual(
      store.list().map((s) => [s.id, s.kind, s.label]),
      [
        [m2.id, 'manual', 'one'],
        [m3.id, 'manual', 'again'],
      ],
      'the oldest manual snapshot left',
    );
    assert.equal(store.get(m1.id), undefined);

    store.startPeriodic({ intervalMs: 5000, maxCount: 3 });
    assert.equal(interval, 5000);
    assert.equal(store.periodicRunning, true);
    for (let i = 0; i < 5; i++) {
      t += 5000;
      await reserve(h, 64 * KiB, 1, 'p');
      tick!();
    }
    const periodic = store.list().filter((s) => s.kind === 'periodic');
    assert.equal(periodic.length, 3);
    assert.deepEqual(
      periodic.map((s) => s.regions),
      [4, 5, 6],
    );
    store.stopPeriodic();
    assert.equal(tick, undefined);
    assert.equal(store.periodicRunning, false);

    const d = store.diff(m2.id, periodic.at(-1)!.id)!;
    assert.equal(d.appeared.length, 5);
    assert.deepEqual(tagRow(d.byTag, 'p').regions, { before: 0, after: 5, delta: 5 });
    assert.equal(store.diff(m1.id, m2.id), undefined, 'a snapshot that is gone');
    assert.equal(store.remove(m2.id), true);
    assert.equal(store.remove(m2.id), false);
    assert.equal(seen.length, 8);
    assert.throws(() => store.startPeriodic({ intervalMs: 0, maxCount: 1 }), RangeError);
  });
});
