/** The region index and the page map against naive models, on random operations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { clearRange, committedPagesIn, everyCommitted, fullMap, runAt, setRange, type PageRun } from './page-runs';
import { RegionMap } from './region-map';
import { SortedIndex } from './sorted-index';

test('SortedIndex finds the range holding an address like a linear scan does, through inserts and removals', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 4000 }), fc.integer({ min: 1, max: 3 })), {
        minLength: 1,
        maxLength: 3000,
      }),
      fc.array(fc.nat({ max: 4000 * 16 + 64 }), { minLength: 1, maxLength: 200 }),
      (ops, probes) => {
        const index = new SortedIndex<{ base: number; size: number }>();
        const naive = new Map<number, number>();
        for (const [add, slot, len] of ops) {
          const base = slot * 16;
          const size = len * 4;
          if (add) {
            if (index.overlapping(base, size) === undefined) {
              index.insert({ base, size });
              naive.set(base, size);
            } else {
              assert.ok(
                [...naive].some(([b, s]) => b < base + size && base < b + s),
                'overlap reported only when real',
              );
            }
          } else {
            const removed = index.remove(base);
            assert.equal(removed !== undefined, naive.delete(base));
          }
        }
        assert.equal(index.size, naive.size);
        const sorted = [...index].map((e) => e.base);
        assert.deepEqual(
          sorted,
          [...naive.keys()].sort((a, b) => a - b),
        );
        for (const p of probes) {
          const expected = [...naive].find(([b, s]) => p >= b && p < b + s);
          assert.equal(index.containing(p)?.base, expected?.[0]);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('page runs: set, clear and queries agree with a byte-per-page model', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.boolean(), fc.nat({ max: 63 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 4 })),
        { maxLength: 200 },
      ),
      (ops) => {
        const total = 64;
        const runs: PageRun[] = [];
        const model = new Array<number>(total).fill(0);
        for (const [set, start, len, protect] of ops) {
          const end = Math.min(total, start + len);
          const before = model.slice(start, end).filter((p) => p !== 0).length;
          if (set) {
            assert.equal(setRange(runs, start, end, protect), end - start - before);
            model.fill(protect, start, end);
          } else {
            assert.equal(clearRange(runs, start, end), before);
            model.fill(0, start, end);
          }
          // Runs stay sorted, non-empty, and never touch an equal neighbour.
          for (let i = 0; i < runs.length; i++) {
            const r = runs[i]!;
            assert.ok(r.start < r.end);
            if (i > 0) assert.ok(runs[i - 1]!.end < r.start || runs[i - 1]!.protect !== r.protect);
          }
        }
        const expanded = fullMap(runs, total).flatMap((r) => new Array<number>(r.end - r.start).fill(r.protect));
        assert.deepEqual(expanded, model);
        assert.equal(committedPagesIn(runs, 0, total), model.filter((p) => p !== 0).length);
        for (let p = 0; p < total; p++) {
          const run = runAt(runs, p, total);
          assert.equal(run.protect, model[p]);
          assert.ok(run.start <= p && p < run.end);
        }
        const allCommitted = model.slice(10, 20).every((p) => p !== 0);
        assert.equal(everyCommitted(runs, 10, 20) === 'yes', allCommitted);
      },
    ),
    { numRuns: 200 },
  );
});

test('RegionMap (granule hash + sorted large entries) answers like a linear scan', () => {
  const G = 0x10000;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 300 }), fc.integer({ min: 1, max: 40 * G })), {
        minLength: 1,
        maxLength: 400,
      }),
      fc.array(fc.nat({ max: 340 * G }), { minLength: 1, maxLength: 300 }),
      (ops, probes) => {
        const map = new RegionMap<{ base: number; size: number }>();
        const naive: Array<{ base: number; size: number }> = [];
        for (const [add, slot, size] of ops) {
          const base = 0x7f0000000000 + slot * G;
          if (add) {
            const clash = naive.find((e) => e.base < base + size && base < e.base + e.size);
            assert.equal(map.overlapping(base, size) !== undefined, clash !== undefined);
            if (!clash) {
              const entry = { base, size };
              map.insert(entry);
              naive.push(entry);
            }
          } else {
            const i = naive.findIndex((e) => e.base === base);
            if (i >= 0) {
              map.remove(naive[i]!);
              naive.splice(i, 1);
            }
          }
        }
        assert.equal(map.size, naive.length);
        assert.deepEqual(
          map.sorted().map((e) => e.base),
          naive.map((e) => e.base).sort((a, b) => a - b),
        );
        for (const p of probes) {
          const address = 0x7f0000000000 + p;
          const expected = naive.find((e) => address >= e.base && address < e.base + e.size);
          assert.equal(map.containing(address), expected);
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('RegionMap stays exact through growth and heavy churn', () => {
  const G = 0x10000;
  const map = new RegionMap<{ base: number; size: number }>();
  const live = new Map<number, { base: number; size: number }>();
  let x = 7;
  const rand = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  for (let step = 0; step < 60000; step++) {
    const slot = rand(20000);
    const base = 0x100000000 + slot * 2 * G;
    const existing = live.get(base);
    if (existing) {
      map.remove(existing);
      live.delete(base);
    } else {
      const e = { base, size: (1 + rand(2)) * G - 1 - rand(4095) };
      map.insert(e);
      live.set(base, e);
    }
  }
  assert.equal(map.size, live.size);
  for (let slot = 0; slot < 20000; slot++) {
    const base = 0x100000000 + slot * 2 * G;
    assert.equal(map.containing(base + 100), live.get(base));
    assert.equal(map.containing(base + 2 * G - 1), undefined);
  }
});
