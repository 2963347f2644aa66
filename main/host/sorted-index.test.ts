/** The region index and the page map against naive models, on random operations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { clearRange, committedPagesIn, everyCommitted, fullMap, runAt, setRange, type PageRun } from './page-runs';
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
