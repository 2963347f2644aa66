/**
 * The tiered ring: full resolution for the recent window, min / max / last / sum buckets after it, retention,
 * flat capacity, merged queries, and downsampling that keeps counts. Times come from the test, never a clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TieredRing, downsample, mergePoints, type RingPoint } from './ring';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** A ring with 2 columns: a gauge and a count. */
function ring(options: Partial<ConstructorParameters<typeof TieredRing>[0]> = {}): TieredRing {
  return new TieredRing({
    columns: 2,
    capacity: 100,
    fullResolutionMs: MIN,
    bucketMs: 10 * SEC,
    retentionMs: HOUR,
    ...options,
  });
}

describe('TieredRing', () => {
  test('recent samples come back at full resolution, in order', () => {
    const r = ring();
    for (let i = 0; i < 10; i++) r.push(i * SEC, [i, 1]);
    const pts = r.since();
    assert.equal(pts.length, 10);
    assert.deepEqual(
      pts.map((p) => [p.t, p.n, p.last[0]]),
      Array.from({ length: 10 }, (_, i) => [i * SEC, 1, i]),
    );
    assert.equal(r.bucketSize, 0);
    assert.deepEqual(
      r.since(7 * SEC).map((p) => p.t),
      [7 * SEC, 8 * SEC, 9 * SEC],
    );
    assert.deepEqual(
      r.latest(2).map((p) => p.t),
      [8 * SEC, 9 * SEC],
    );
  });

  test('samples older than the full-resolution window fold into buckets with min / max / last / sum', () => {
    const r = ring();
    // One sample a second for 2 minutes: gauge = a zig-zag, count = i.
    const gauge = (i: number): number => (i % 7) * 10 + (i % 2 === 0 ? 5 : 0);
    for (let i = 0; i < 120; i++) r.push(i * SEC, [gauge(i), i]);
    const pts = r.since();
    const buckets = pts.filter((p) => p.n > 1);
    const fine = pts.filter((p) => p.n === 1);
    // Fine tier: (t - 60 s, t] = samples 60..119 (sample 59 is exactly 60 s old and has left).
    assert.deepEqual(
      fine.map((p) => p.t / SEC),
      Array.from({ length: 60 }, (_, i) => 60 + i),
    );
    // Buckets: 10 s each over samples 0..59, in order, before the fine part.
    assert.equal(buckets.length, 6);
    assert.ok(pts.indexOf(buckets[5]!) < pts.indexOf(fine[0]!), 'downsampled part first');
    buckets.forEach((b, k) => {
      const idx = Array.from({ length: 10 }, (_, i) => k * 10 + i);
      assert.equal(b.n, 10);
      assert.equal(b.from, idx[0]! * SEC);
      assert.equal(b.t, idx[9]! * SEC);
      assert.equal(b.last[0], gauge(idx[9]!));
      assert.equal(b.min[0], Math.min(...idx.map(gauge)));
      assert.equal(b.max[0], Math.max(...idx.map(gauge)));
      assert.equal(
        b.sum[1],
        idx.reduce((a, i) => a + i, 0),
      );
    });
    // Nothing lost: every sample is counted once.
    assert.equal(
      pts.reduce((a, p) => a + p.n, 0),
      120,
    );
  });

  test('NaN (no value) is skipped by min, max and sum', () => {
    const r = ring({ fullResolutionMs: SEC });
    r.push(0, [Number.NaN, Number.NaN]);
    r.push(100, [5, Number.NaN]);
    r.push(200, [3, 2]);
    r.push(300, [Number.NaN, Number.NaN]);
    r.push(5 * SEC, [0, 0]); // pushes the first four into bucket 0
    const [b] = r.since();
    assert.equal(b!.n, 4);
    assert.equal(b!.min[0], 3);
    assert.equal(b!.max[0], 5);
    assert.equal(b!.sum[1], 2);
    assert.ok(Number.isNaN(b!.last[0]!));
  });

  test('capacity is flat: a day and more of samples never grows the buffers, and old buckets leave', () => {
    const r = new TieredRing({
      columns: 3,
      capacity: 14_400,
      fullResolutionMs: HOUR,
      bucketMs: 10 * SEC,
      retentionMs: 24 * HOUR,
    });
    const bytes = r.byteLength;
    let maxFine = 0;
    let maxBuckets = 0;
    const step = 250;
    const total = (26 * HOUR) / step;
    for (let i = 0; i < total; i++) {
      r.push(i * step, [i, i % 3, 1]);
      if (r.fineSize > maxFine) maxFine = r.fineSize;
      if (r.bucketSize > maxBuckets) maxBuckets = r.bucketSize;
    }
    assert.equal(r.byteLength, bytes);
    assert.ok(maxFine <= r.capacity);
    assert.ok(maxBuckets <= r.bucketCapacity);
    assert.equal(r.fineSize, HOUR / step, 'exactly the last hour at full resolution');
    const pts = r.since();
    const now = (total - 1) * step;
    assert.ok(pts[0]!.t >= now - 24 * HOUR, 'nothing older than the retention');
    assert.ok(pts[0]!.from <= now - 24 * HOUR + 10 * SEC, 'the retention is filled');
    // Counts survive downsampling: the count column sums to the samples still held.
    const held = pts.reduce((a, p) => a + p.n, 0);
    assert.equal(
      pts.reduce((a, p) => a + p.sum[2]!, 0),
      held,
    );
  });

  test('a full fine tier folds its oldest into buckets before the hour is up (nothing is lost)', () => {
    const r = ring({ capacity: 10, fullResolutionMs: HOUR });
    for (let i = 0; i < 50; i++) r.push(i * SEC, [i, 1]);
    assert.equal(r.fineSize, 10);
    const pts = r.since();
    assert.equal(
      pts.reduce((a, p) => a + p.n, 0),
      50,
    );
  });

  test('a clock stepping back is clamped: the ring stays ordered', () => {
    const r = ring();
    r.push(5000, [1, 0]);
    assert.equal(r.push(4000, [2, 0]), 5000);
    assert.deepEqual(
      r.since().map((p) => p.t),
      [5000, 5000],
    );
  });

  test('latest(n) spans both tiers, oldest first', () => {
    const r = ring({ capacity: 5 });
    for (let i = 0; i < 40; i++) r.push(i * SEC, [i, 1]);
    const l = r.latest(7);
    assert.equal(l.length, 7);
    assert.deepEqual(
      l.slice(2).map((p) => p.t / SEC),
      [35, 36, 37, 38, 39],
    );
    assert.ok(l[0]!.n > 1 && l[1]!.n > 1);
    assert.ok(l[0]!.t < l[1]!.t && l[1]!.t < l[2]!.t);
  });

  test('since(T, maxPoints) downsamples to at most maxPoints and keeps counts, min and max', () => {
    const r = ring({ capacity: 1000, fullResolutionMs: HOUR });
    for (let i = 0; i < 600; i++) r.push(i * SEC, [Math.sin(i) * 100, 1]);
    const all = r.since();
    const few = r.since(Number.NEGATIVE_INFINITY, 50);
    assert.ok(few.length <= 50 && few.length >= 40, `${few.length} points`);
    assert.equal(
      few.reduce((a, p) => a + p.sum[1]!, 0),
      600,
    );
    assert.equal(Math.min(...few.map((p) => p.min[0]!)), Math.min(...all.map((p) => p.min[0]!)));
    assert.equal(Math.max(...few.map((p) => p.max[0]!)), Math.max(...all.map((p) => p.max[0]!)));
    assert.equal(few.at(-1)!.last[0], all.at(-1)!.last[0]);
  });

  test('property: for any push sequence, buckets + fine = every sample held, each exactly once, min ≤ last ≤ max', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: -1000, max: 1000 })), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.integer({ min: 1, max: 40 }),
        (steps, capacity) => {
          const r = ring({ capacity, fullResolutionMs: 20 * SEC, retentionMs: 10 * HOUR });
          let t = 0;
          for (const [dt, v] of steps) {
            t += dt;
            r.push(t, [v, 1]);
          }
          const pts = r.since();
          assert.equal(
            pts.reduce((a, p) => a + p.n, 0),
            steps.length,
          );
          assert.equal(
            pts.reduce((a, p) => a + p.sum[1]!, 0),
            steps.length,
          );
          for (let i = 1; i < pts.length; i++) assert.ok(pts[i - 1]!.t <= pts[i]!.from, 'points do not overlap');
          for (const p of pts) assert.ok(p.min[0]! <= p.last[0]! && p.last[0]! <= p.max[0]!);
          assert.equal(pts.at(-1)!.last[0], steps.at(-1)![1]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('downsample / mergePoints', () => {
  const pt = (t: number, v: number): RingPoint => ({ t, from: t, n: 1, last: [v], min: [v], max: [v], sum: [v] });

  test('merging keeps the first from, the last t and last values, and combines the rest', () => {
    const m = mergePoints([pt(1, 5), pt(2, -1), pt(3, 2)]);
    assert.deepEqual(m, { t: 3, from: 1, n: 3, last: [2], min: [-1], max: [5], sum: [6] });
  });

  test('fewer points than the maximum come back as they are; equal times collapse to one', () => {
    assert.equal(downsample([pt(1, 1), pt(2, 2)], 5).length, 2);
    assert.equal(downsample([pt(1, 1), pt(1, 2), pt(1, 3)], 2).length, 1);
    assert.throws(() => downsample([pt(1, 1)], 0), RangeError);
  });
});
