/**
 * The summary and the diff on walks written out by hand (the cases a real process cannot be made to show on
 * demand: a region moved at its front, residency under a threshold, two walks sharing their regions).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE } from '../../native';
import { fixtureRegion as region, fixtureWalk as walk } from '../../native/process-testing';
import { diffWalks, isEmptyDiff, regionType, summarize } from './index';

const KiB = 1024;
const MiB = 1024 * KiB;

const R = 0x1000000; // a 64 MiB reservation at 16 MiB

const before = walk([
  region(0, R, { state: 'MEM_FREE' }),
  region(R, 8 * MiB, { resident: 8 * MiB, private: 8 * MiB }),
  region(R + 8 * MiB, 56 * MiB, { state: 'MEM_RESERVE', allocationBase: R }),
  region(R + 64 * MiB, 1 * MiB, { type: 'MEM_MAPPED', file: '/data/f.bin', protect: PAGE.READONLY, resident: 4 * KiB }),
  region(R + 65 * MiB, 2 * MiB, { type: 'MEM_IMAGE', file: '/lib/x.so', protect: PAGE.EXECUTE_READ, resident: MiB }),
  region(R + 67 * MiB, 132 * KiB, { use: 'stack', label: '[stack]', resident: 8 * KiB, private: 8 * KiB }),
  region(R + 67 * MiB + 132 * KiB, 0x10000000 - (R + 67 * MiB + 132 * KiB), { state: 'MEM_FREE' }),
]);

test('summary: each region counted once under its type; free apart from the total', () => {
  const s = summarize(before);
  assert.equal(s.byType.private.regions, 2);
  assert.equal(s.byType.private.size, 64 * MiB);
  assert.equal(s.byType.private.committed, 8 * MiB);
  assert.equal(s.byType.mapped.size, MiB);
  assert.equal(s.byType.image.committed, 2 * MiB);
  assert.equal(s.byType.stack.resident, 8 * KiB);
  assert.equal(s.byType.heap.regions, 0);
  assert.equal(s.byType.heap.resident, null, 'no figure for a type with no region');
  assert.equal(s.byType.free.regions, 2);
  assert.equal(s.total.regions, 5);
  assert.equal(s.total.size, 64 * MiB + MiB + 2 * MiB + 132 * KiB);
  assert.equal(regionType(region(0, 4096, { type: 'MEM_MAPPED', file: null })), 'shareable');
  assert.equal(regionType(region(0, 4096, { type: 'MEM_MAPPED', file: '/x', use: 'shareable' })), 'shareable');
});

test('diff: committing 16 MiB more of a reservation is one region grown and the reserved rest shrunk at its front', () => {
  const after = walk(
    [
      before.regions[0]!,
      region(R, 24 * MiB, { resident: 24 * MiB, private: 24 * MiB }),
      region(R + 24 * MiB, 40 * MiB, { state: 'MEM_RESERVE', allocationBase: R }),
      ...before.regions.slice(3),
    ],
    2000,
  );
  const d = diffWalks(before, after);
  assert.deepEqual(
    d.grown.map((c) => [c.after.baseAddress, c.sizeDelta, c.committedDelta, c.residentDelta, c.fields]),
    [[R, 16 * MiB, 16 * MiB, 16 * MiB, ['size', 'resident', 'private']]],
  );
  assert.deepEqual(
    d.shrunk.map((c) => [c.before.baseAddress, c.after.baseAddress, c.sizeDelta]),
    [[R + 8 * MiB, R + 24 * MiB, -16 * MiB]],
  );
  assert.deepEqual([d.added, d.removed, d.changed], [[], [], []]);
  assert.equal(d.byType.private.committed, 16 * MiB);
  assert.equal(d.byType.private.size, 0);
  assert.equal(d.total.committed, 16 * MiB);
  assert.equal(d.byType.image.committed, 0);
  assert.equal([d.from, d.to].join(), '1000,2000');
  assert.equal(isEmptyDiff(d), false);
  // The same with the summaries handed in.
  assert.deepEqual(diffWalks(before, after, { summaries: { before: summarize(before), after: summarize(after) } }), d);
});

test('diff: added and removed regions, protection changes, residency under a threshold', () => {
  const after = walk(
    [
      ...before.regions.slice(0, 3),
      // the mapped file is gone, a heap appeared in its place
      region(R + 64 * MiB, 1 * MiB, { use: 'heap', label: '[heap]', resident: 512 * KiB }),
      region(R + 65 * MiB, 2 * MiB, {
        type: 'MEM_IMAGE',
        file: '/lib/x.so',
        protect: PAGE.READONLY,
        resident: MiB + 4 * KiB,
      }),
      region(R + 67 * MiB, 132 * KiB, { use: 'stack', label: '[stack]', resident: 12 * KiB, private: 12 * KiB }),
      before.regions[6]!,
    ],
    2000,
  );
  const d = diffWalks(before, after);
  assert.deepEqual(
    d.removed.map((r) => r.file),
    ['/data/f.bin'],
  );
  assert.deepEqual(
    d.added.map((r) => r.label),
    ['[heap]'],
  );
  assert.deepEqual(
    d.changed.map((c) => c.fields),
    [
      ['protect', 'resident'],
      ['resident', 'private'],
    ],
  );
  assert.equal(d.byType.heap.regions, 1);
  assert.equal(d.byType.mapped.regions, -1);
  const quiet = diffWalks(before, after, { residentThreshold: 8 * KiB });
  assert.deepEqual(
    quiet.changed.map((c) => c.fields),
    [['protect']],
  );
});

test('diff: a walk and itself, or two walks sharing their regions, differ in nothing', () => {
  assert.equal(isEmptyDiff(diffWalks(before, before)), true);
  const copy = walk(
    before.regions.map((r) => ({ ...r })),
    3000,
  );
  assert.equal(isEmptyDiff(diffWalks(before, copy)), true);
  const shared = { ...before, takenAt: 4000 };
  const d = diffWalks(before, shared);
  assert.equal(isEmptyDiff(d), true);
  assert.equal(d.to, 4000);
  assert.deepEqual(d.byType.private.after, summarize(before).byType.private);
});
