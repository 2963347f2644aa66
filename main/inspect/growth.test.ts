/**
 * The leak signal's arithmetic: rates as the least-squares slope over the window (bytes per second), the window
 * sliding, no rate before the walks span a second, and the projection to a limit. Summaries from walks written out
 * by hand (the watcher's and the CLI's use of it on real processes: main/cli/commands/inspect-growth.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixtureRegion, fixtureWalk } from '../../native/process-testing';
import { GrowthTracker } from './growth';
import { summarize } from './summary';

const MiB = 1024 * 1024;
/** A heap of `committed` bytes with `resident` of them resident and private. */
const summaryOf = (committed: number, resident: number) =>
  summarize(
    fixtureWalk([
      fixtureRegion(0x10000, committed, { use: 'heap', resident, private: resident }),
      fixtureRegion(0x10000 + committed, 8 * MiB, { resident: MiB, private: MiB }),
    ]),
  );

describe('GrowthTracker', () => {
  test('no rate before two walks a second apart', () => {
    const g = new GrowthTracker();
    assert.equal(g.signal(), null);
    g.add(1000, summaryOf(MiB, MiB));
    assert.equal(g.signal(), null);
    g.add(1500, summaryOf(2 * MiB, MiB));
    assert.equal(g.signal(), null);
  });

  test('a steady leak: its rate per type and in all, exactly; the limit reached at that pace', () => {
    const g = new GrowthTracker(60_000);
    // The heap commits 1 MiB and touches 512 KiB a second.
    for (let s = 0; s <= 10; s++) g.add(s * 1000, summaryOf((10 + s) * MiB, (4 + s / 2) * MiB));
    const signal = g.signal({ bytes: 100 * MiB, kind: 'budget' });
    assert.ok(signal);
    assert.equal(signal.walks, 11);
    assert.equal(signal.byType.heap.committed, MiB);
    assert.equal(signal.byType.heap.resident, MiB / 2);
    assert.equal(signal.byType.heap.private, MiB / 2);
    assert.equal(signal.byType.private.committed, 0);
    assert.equal(signal.total.committed, MiB);
    assert.equal(signal.committed, 20 * MiB + 8 * MiB);
    // 72 MiB left at 1 MiB/s.
    assert.deepEqual(signal.projection, { limit: { bytes: 100 * MiB, kind: 'budget' }, etaMs: 72_000 });
    assert.equal(g.signal({ bytes: 10 * MiB, kind: 'commit-limit' })?.projection?.etaMs, 0, 'reached already');
  });

  test('noise around a flat line is no growth; a shrinking process never reaches its limit', () => {
    const g = new GrowthTracker();
    [10, 12, 10, 12, 10, 12].forEach((m, i) => g.add(i * 1000, summaryOf(m * MiB, MiB)));
    const flat = g.signal({ bytes: 100 * MiB, kind: 'budget' });
    assert.ok(flat && Math.abs(flat.total.committed) < MiB / 4);
    const down = new GrowthTracker();
    [30, 20, 10].forEach((m, i) => down.add(i * 1000, summaryOf(m * MiB, MiB)));
    assert.equal(down.signal({ bytes: 100 * MiB, kind: 'budget' })?.projection?.etaMs, null);
  });

  test('the window slides: old walks stop counting', () => {
    const g = new GrowthTracker(5000);
    // Fast growth, then none for longer than the window.
    for (let s = 0; s <= 5; s++) g.add(s * 1000, summaryOf((10 + 10 * s) * MiB, MiB));
    for (let s = 6; s <= 20; s++) g.add(s * 1000, summaryOf(60 * MiB, MiB));
    const signal = g.signal();
    assert.ok(signal);
    assert.equal(signal.total.committed, 0);
    assert.equal(signal.from, 15_000);
    assert.equal(signal.walks, 6);
  });

  test('no resident rate where the OS gives no resident figure', () => {
    const g = new GrowthTracker();
    const none = (c: number) => summarize(fixtureWalk([fixtureRegion(0x10000, c, { resident: null, private: null })]));
    g.add(0, none(MiB));
    g.add(2000, none(3 * MiB));
    const signal = g.signal();
    assert.equal(signal?.total.resident, null);
    assert.equal(signal?.total.committed, MiB);
  });
});
