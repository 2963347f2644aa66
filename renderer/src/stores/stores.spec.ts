import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { delta, failure, full, row, sample, stats, T0 } from '../test/fixtures';
import { useFailuresStore } from './failures';
import { useHostStore } from './host';
import { applyPush, resetLiveView } from './live';
import {
  clerksOf,
  findContaining,
  granuleOf,
  NO_TAG,
  selectRows,
  updateRows,
  useRegionsStore,
  type RegionFilter,
  type SortKey,
} from './regions';
import type { RegionRow } from '../api/contract';
import { useSamplesStore } from './samples';

beforeEach(() => {
  setActivePinia(createPinia());
  resetLiveView();
});

describe('live stores', () => {
  it('apply a full message then deltas: rows, host, samples, failures', () => {
    const resync = vi.fn();
    applyPush(
      full({
        rows: [row(0x10000), row(0x20000)],
        samples: [sample(T0, 100), sample(T0 + 1000, 200)],
        stats: stats({ committed: 8192, regions: 2 }),
      }),
      resync,
    );
    const regions = useRegionsStore();
    const host = useHostStore();
    const samples = useSamplesStore();
    expect(regions.count).toBe(2);
    expect(host.state).toBe('available');
    expect(host.stats?.committed).toBe(8192);
    expect(samples.series.lines.committed.map((p) => p.y)).toEqual([100, 200]);

    applyPush(
      delta(2, {
        added: [row(0x30000, { level: 'eProcessCritical' })],
        updated: [row(0x10000, { committed: 65536 })],
        removed: [0x20000],
        samples: [
          sample(T0 + 2000, 300, {
            failures: { eTaskCritical: 2, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 },
          }),
        ],
        failures: [
          failure('eTaskCritical'),
          failure('eTaskCritical', { reason: 'injected', size: 10 }),
          failure('other'),
        ],
        stats: stats({ failures: { eTaskCritical: 2, eAppDomainCritical: 0, eProcessCritical: 0, other: 1 } }),
        state: { state: 'unavailable', cause: 'process-critical failure', since: T0 + 2000 },
        memoryAvailable: 'Low',
      }),
      resync,
    );
    expect(resync).not.toHaveBeenCalled();
    expect(regions.count).toBe(2);
    expect(regions.get(0x10000)?.committed).toBe(65536);
    expect(regions.get(0x20000)).toBeUndefined();
    expect(regions.get(0x30000)?.level).toBe('eProcessCritical');
    expect(host.state).toBe('unavailable');
    expect(host.memoryAvailable).toBe('Low');
    expect(samples.series.length).toBe(3);
    expect(samples.series.markers.eTaskCritical).toEqual([{ x: T0 + 2000, y: 300 }]);
    expect(samples.series.trend('eTaskCritical', 10, 10_000, T0 + 2000).reduce((a, b) => a + b)).toBe(2);

    const failures = useFailuresStore();
    const task = failures.groups.eTaskCritical;
    expect(task.count).toBe(2);
    expect(task.bytes).toBe((1 << 20) + 10);
    expect(task.reasons).toHaveLength(2);
    expect(task.reasons).toEqual(
      expect.arrayContaining([
        { reason: 'policy', count: 1 },
        { reason: 'injected', count: 1 },
      ]),
    );
    expect(task.events[0]!.reason).toBe('injected'); // newest first
    expect(failures.groups.other.count).toBe(1);
    expect(failures.groups.eProcessCritical.count).toBe(0);
  });

  it('asks for a resync on a gap and ignores deltas until the next full message', () => {
    const resync = vi.fn();
    applyPush(full({ rows: [row(0x10000)] }), resync);
    expect(applyPush(delta(3, { added: [row(0x50000)] }), resync)).toBe(false);
    expect(resync).toHaveBeenCalledTimes(1);
    expect(applyPush(delta(4, { added: [row(0x60000)] }), resync)).toBe(false);
    expect(resync).toHaveBeenCalledTimes(1);
    const regions = useRegionsStore();
    expect(regions.count).toBe(1);
    applyPush(full({ rows: [row(0x70000), row(0x80000)] }), resync);
    expect(regions.count).toBe(2);
    expect(applyPush(delta(2, { removed: [0x70000] }), resync)).toBe(true);
    expect(regions.count).toBe(1);
  });

  it('a delta before any full message asks for a resync', () => {
    const resync = vi.fn();
    expect(applyPush(delta(1), resync)).toBe(false);
    expect(resync).toHaveBeenCalledOnce();
  });
});

describe('region selection', () => {
  const rows = [
    row(0x30000, { size: 1 << 20, level: 'eAppDomainCritical', tag: 'b', protect: 'mixed' }),
    row(0x10000, { size: 65536, tag: 'a' }),
    row(0x20000, { size: 1 << 16, tag: null, protect: 2, created: T0 - 5000 }),
  ];
  const none = { level: '' as const, tag: '', protect: 0, minSize: 0 };

  it('sorts by column both ways', () => {
    expect(selectRows(rows, none, 'base', false).map((r) => r.base)).toEqual([0x10000, 0x20000, 0x30000]);
    expect(selectRows(rows, none, 'size', true)[0]!.base).toBe(0x30000);
    expect(selectRows(rows, none, 'age', false)[0]!.base).toBe(0x20000);
  });

  it('filters by level, tag (and no tag), protection, size', () => {
    expect(selectRows(rows, { ...none, level: 'eAppDomainCritical' }, 'base', false).map((r) => r.base)).toEqual([
      0x30000,
    ]);
    expect(selectRows(rows, { ...none, tag: 'a' }, 'base', false).map((r) => r.base)).toEqual([0x10000]);
    expect(selectRows(rows, { ...none, tag: NO_TAG }, 'base', false).map((r) => r.base)).toEqual([0x20000]);
    expect(selectRows(rows, { ...none, protect: -1 }, 'base', false).map((r) => r.base)).toEqual([0x30000]);
    expect(selectRows(rows, { ...none, minSize: 100_000 }, 'base', false).map((r) => r.base)).toEqual([0x30000]);
  });

  it('finds the region containing an address', () => {
    const byBase = selectRows(rows, none, 'base', false);
    expect(findContaining(byBase, 0x10000)?.base).toBe(0x10000);
    expect(findContaining(byBase, 0x1ffff)?.base).toBe(0x10000);
    expect(findContaining(byBase, 0x30000 + (1 << 20) - 1)?.base).toBe(0x30000);
    expect(findContaining(byBase, 0x30000 + (1 << 20))).toBeUndefined();
    expect(findContaining(byBase, 0xffff)).toBeUndefined();
  });

  it('groups clerks by tag, largest committed first', () => {
    const clerks = clerksOf([
      row(1, { tag: 'x', committed: 10 }),
      row(2, { tag: 'x', committed: 5 }),
      row(3, { tag: 'y', committed: 100 }),
    ]);
    expect(clerks.map((c) => [c.tag, c.regions, c.committed])).toEqual([
      ['y', 1, 100],
      ['x', 2, 15],
    ]);
  });
});

describe('updateRows (incremental sort)', () => {
  it('gives the same list as a full filter and sort, for every key and direction, through random changes', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const levels = ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const;
    const makeRow = (slot: number): RegionRow => ({
      base: 0x7f0000000000 + slot * 0x10000,
      size: (1 + rnd(16)) * 0x1000,
      committed: rnd(16) * 0x1000,
      level: levels[rnd(3)]!,
      tag: rnd(5) === 0 ? null : `t${rnd(7)}`,
      protect: rnd(4) === 0 ? 'mixed' : 4,
      allocationProtect: 4,
      created: 1000 + rnd(1000),
      runs: 1,
    });
    const keys: SortKey[] = ['base', 'size', 'committed', 'protect', 'level', 'tag', 'age'];
    for (const key of keys) {
      for (const descending of [false, true]) {
        const filter: RegionFilter = { level: '', tag: '', protect: 0, minSize: rnd(2) === 0 ? 0 : 0x4000 };
        const rows = new Map<number, RegionRow>();
        for (let i = 0; i < 400; i++) {
          const r = makeRow(rnd(1000));
          rows.set(r.base, r);
        }
        let list = selectRows(rows.values(), filter, key, descending);
        for (let round = 0; round < 20; round++) {
          const changes = new Map<number, RegionRow | null>();
          for (let i = 0; i < 30; i++) {
            const slot = rnd(1000);
            const base = 0x7f0000000000 + slot * 0x10000;
            if (rows.has(base) && rnd(2) === 0) {
              rows.delete(base);
              changes.set(granuleOf(base), null);
            } else {
              const r = makeRow(slot);
              rows.set(base, r);
              changes.set(granuleOf(base), r);
            }
          }
          list = updateRows(list, changes, filter, key, descending);
          const full = selectRows(rows.values(), filter, key, descending);
          expect(list.map((r) => r.base)).toEqual(full.map((r) => r.base));
        }
      }
    }
  });
});
