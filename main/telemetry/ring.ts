/**
 * A two-tier ring of numeric samples with bounded, flat memory however long it runs.
 *
 * - The **fine** tier keeps every sample at full resolution for `fullResolutionMs` (default 1 hour), up to
 *   `capacity` samples.
 * - A sample that leaves the fine tier (too old, or the tier is full) is folded into the **coarse** tier: buckets of
 *   `bucketMs` (default 10 s) that keep, per column, the minimum, the maximum, the last value and the sum. Buckets
 *   are kept for `retentionMs` (default 24 hours).
 *
 * Every buffer is a typed array allocated once, in the constructor: nothing grows afterwards. Columns are plain
 * numbers; NaN means "no value" (null) and is skipped by min / max / sum.
 *
 * The two tiers never overlap: the coarse tier only holds samples that have left the fine tier, so a query merges
 * them by putting the coarse part first.
 */

export interface TieredRingOptions {
  /** Numeric columns per sample (the time is kept apart). */
  readonly columns: number;
  /** Most samples kept at full resolution. */
  readonly capacity: number;
  /** How long a sample stays at full resolution, ms. Default 1 hour. */
  readonly fullResolutionMs?: number;
  /** Width of a downsampled bucket, ms. Default 10 s. */
  readonly bucketMs?: number;
  /** How far back the downsampled tier reaches, ms. Default 24 hours. */
  readonly retentionMs?: number;
}

/**
 * One point of a query: a single sample (`n` 1, and `min`, `max`, `sum`, `last` are the same array) or several
 * merged (a bucket). Arrays are fresh for every query; treat them as read-only.
 */
export interface RingPoint {
  /** Time of the last sample in the point. */
  readonly t: number;
  /** Time of the first sample in the point (`t` for a single sample). */
  readonly from: number;
  /** Samples merged into the point. */
  readonly n: number;
  readonly last: readonly number[];
  readonly min: readonly number[];
  readonly max: readonly number[];
  readonly sum: readonly number[];
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

function nanMin(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a < b ? a : b;
}

function nanMax(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a > b ? a : b;
}

function nanSum(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a + b;
}

/** Merge consecutive points (ascending) into one. */
export function mergePoints(points: readonly RingPoint[]): RingPoint {
  const first = points[0];
  if (first === undefined) throw new RangeError('mergePoints: no points');
  if (points.length === 1) return first;
  const cols = first.last.length;
  const min = first.min.slice();
  const max = first.max.slice();
  const sum = first.sum.slice();
  let n = first.n;
  for (let p = 1; p < points.length; p++) {
    const q = points[p]!;
    n += q.n;
    for (let c = 0; c < cols; c++) {
      min[c] = nanMin(min[c]!, q.min[c]!);
      max[c] = nanMax(max[c]!, q.max[c]!);
      sum[c] = nanSum(sum[c]!, q.sum[c]!);
    }
  }
  const last = points[points.length - 1]!;
  return { t: last.t, from: first.from, n, last: last.last, min, max, sum };
}

/**
 * At most `maxPoints` points over the same time span: consecutive points are grouped in equal slices of time
 * and each group merged (min of mins, max of maxes, sum of sums, last of lasts). Counts are preserved.
 */
export function downsample(points: readonly RingPoint[], maxPoints: number): RingPoint[] {
  if (!(maxPoints >= 1)) throw new RangeError(`downsample: maxPoints must be ≥ 1, got ${maxPoints}`);
  if (points.length <= maxPoints) return points.slice();
  const t0 = points[0]!.t;
  const span = points[points.length - 1]!.t - t0;
  const out: RingPoint[] = [];
  let group: RingPoint[] = [];
  let groupIndex = -1;
  for (const p of points) {
    const g = span === 0 ? 0 : Math.min(maxPoints - 1, Math.floor(((p.t - t0) * maxPoints) / span));
    if (g !== groupIndex && group.length > 0) {
      out.push(mergePoints(group));
      group = [];
    }
    groupIndex = g;
    group.push(p);
  }
  if (group.length > 0) out.push(mergePoints(group));
  return out;
}

export class TieredRing {
  readonly columns: number;
  readonly capacity: number;
  readonly bucketCapacity: number;
  readonly fullResolutionMs: number;
  readonly bucketMs: number;
  readonly retentionMs: number;

  // Fine tier: a ring of `capacity` samples.
  private readonly fineT: Float64Array;
  private readonly fineV: Float64Array;
  private fineStart = 0;
  private fineCount = 0;

  // Coarse tier: a ring of buckets; the newest one may still be filling.
  private readonly bucketKey: Float64Array;
  private readonly bucketT: Float64Array;
  private readonly bucketFrom: Float64Array;
  private readonly bucketN: Float64Array;
  private readonly bucketLast: Float64Array;
  private readonly bucketMin: Float64Array;
  private readonly bucketMax: Float64Array;
  private readonly bucketSum: Float64Array;
  private bucketStart = 0;
  private bucketCount = 0;

  private lastT = Number.NEGATIVE_INFINITY;

  constructor(options: TieredRingOptions) {
    const { columns, capacity } = options;
    this.fullResolutionMs = options.fullResolutionMs ?? HOUR_MS;
    this.bucketMs = options.bucketMs ?? 10_000;
    this.retentionMs = options.retentionMs ?? DAY_MS;
    if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer`);
    if (!(this.bucketMs > 0) || !(this.fullResolutionMs > 0) || !(this.retentionMs >= 0)) {
      throw new RangeError('fullResolutionMs and bucketMs must be > 0, retentionMs ≥ 0');
    }
    this.columns = columns;
    this.capacity = capacity;
    // Every bucket whose last sample is within retentionMs of the newest sample, plus the one being filled.
    this.bucketCapacity = Math.ceil(this.retentionMs / this.bucketMs) + 2;
    this.fineT = new Float64Array(capacity);
    this.fineV = new Float64Array(capacity * columns);
    const b = this.bucketCapacity;
    this.bucketKey = new Float64Array(b);
    this.bucketT = new Float64Array(b);
    this.bucketFrom = new Float64Array(b);
    this.bucketN = new Float64Array(b);
    this.bucketLast = new Float64Array(b * columns);
    this.bucketMin = new Float64Array(b * columns);
    this.bucketMax = new Float64Array(b * columns);
    this.bucketSum = new Float64Array(b * columns);
  }

  /** Samples at full resolution now. */
  get fineSize(): number {
    return this.fineCount;
  }

  /** Buckets in the downsampled tier now. */
  get bucketSize(): number {
    return this.bucketCount;
  }

  /** Bytes held by the buffers: fixed at construction. */
  get byteLength(): number {
    return (
      this.fineT.byteLength + this.fineV.byteLength + this.bucketKey.byteLength * 4 + this.bucketLast.byteLength * 4
    );
  }

  /** Time of the newest sample, or -Infinity. */
  get newest(): number {
    return this.lastT;
  }

  /**
   * Add a sample. A time earlier than the newest one (a clock stepping back) is clamped to it, so the ring stays
   * ordered. Returns the time stored.
   */
  push(t: number, values: ArrayLike<number>): number {
    if (values.length !== this.columns) {
      throw new RangeError(`push: expected ${this.columns} values, got ${values.length}`);
    }
    if (!Number.isFinite(t)) throw new RangeError(`push: time must be finite, got ${t}`);
    if (t < this.lastT) t = this.lastT;
    this.lastT = t;
    const horizon = t - this.fullResolutionMs;
    while (this.fineCount > 0 && (this.fineCount === this.capacity || this.fineT[this.fineStart]! <= horizon)) {
      this.foldOldest();
    }
    const slot = (this.fineStart + this.fineCount) % this.capacity;
    this.fineT[slot] = t;
    this.fineV.set(values, slot * this.columns);
    this.fineCount++;
    // Buckets whose newest sample is older than the retention leave.
    const oldest = t - this.retentionMs;
    while (this.bucketCount > 0 && this.bucketT[this.bucketStart]! < oldest) {
      this.bucketStart = (this.bucketStart + 1) % this.bucketCapacity;
      this.bucketCount--;
    }
    return t;
  }

  /** Move the oldest fine sample into its bucket. */
  private foldOldest(): void {
    const cols = this.columns;
    const slot = this.fineStart;
    const t = this.fineT[slot]!;
    const v = slot * cols;
    this.fineStart = (this.fineStart + 1) % this.capacity;
    this.fineCount--;

    const key = Math.floor(t / this.bucketMs);
    const newest = (this.bucketStart + this.bucketCount - 1) % this.bucketCapacity;
    if (this.bucketCount > 0 && this.bucketKey[newest] === key) {
      const o = newest * cols;
      this.bucketT[newest] = t;
      this.bucketN[newest]!++;
      for (let c = 0; c < cols; c++) {
        const x = this.fineV[v + c]!;
        this.bucketLast[o + c] = x;
        this.bucketMin[o + c] = nanMin(this.bucketMin[o + c]!, x);
        this.bucketMax[o + c] = nanMax(this.bucketMax[o + c]!, x);
        this.bucketSum[o + c] = nanSum(this.bucketSum[o + c]!, x);
      }
      return;
    }
    if (this.bucketCount === this.bucketCapacity) {
      this.bucketStart = (this.bucketStart + 1) % this.bucketCapacity;
      this.bucketCount--;
    }
    const b = (this.bucketStart + this.bucketCount) % this.bucketCapacity;
    this.bucketCount++;
    this.bucketKey[b] = key;
    this.bucketT[b] = t;
    this.bucketFrom[b] = t;
    this.bucketN[b] = 1;
    const o = b * cols;
    for (let c = 0; c < cols; c++) {
      const x = this.fineV[v + c]!;
      this.bucketLast[o + c] = x;
      this.bucketMin[o + c] = x;
      this.bucketMax[o + c] = x;
      this.bucketSum[o + c] = x;
    }
  }

  private finePoint(i: number): RingPoint {
    const slot = (this.fineStart + i) % this.capacity;
    const t = this.fineT[slot]!;
    const o = slot * this.columns;
    const values = Array.from(this.fineV.subarray(o, o + this.columns));
    return { t, from: t, n: 1, last: values, min: values, max: values, sum: values };
  }

  private bucketPoint(i: number): RingPoint {
    const b = (this.bucketStart + i) % this.bucketCapacity;
    const o = b * this.columns;
    const end = o + this.columns;
    return {
      t: this.bucketT[b]!,
      from: this.bucketFrom[b]!,
      n: this.bucketN[b]!,
      last: Array.from(this.bucketLast.subarray(o, end)),
      min: Array.from(this.bucketMin.subarray(o, end)),
      max: Array.from(this.bucketMax.subarray(o, end)),
      sum: Array.from(this.bucketSum.subarray(o, end)),
    };
  }

  /**
   * Every point whose newest sample is at or after `since`, oldest first: the downsampled buckets, then the
   * full-resolution samples. With `maxPoints`, merged further so that at most that many come back.
   */
  since(since: number = Number.NEGATIVE_INFINITY, maxPoints?: number): RingPoint[] {
    const out: RingPoint[] = [];
    // Both tiers are ordered by time: find the first index at or after `since` from the end.
    let b = this.bucketCount;
    while (b > 0 && this.bucketT[(this.bucketStart + b - 1) % this.bucketCapacity]! >= since) b--;
    for (let i = b; i < this.bucketCount; i++) out.push(this.bucketPoint(i));
    let f = this.fineCount;
    while (f > 0 && this.fineT[(this.fineStart + f - 1) % this.capacity]! >= since) f--;
    for (let i = f; i < this.fineCount; i++) out.push(this.finePoint(i));
    return maxPoints === undefined ? out : downsample(out, maxPoints);
  }

  /** The newest `n` points (full-resolution samples first, then buckets when there are fewer), oldest first. */
  latest(n: number): RingPoint[] {
    const out: RingPoint[] = [];
    const fromFine = Math.min(n, this.fineCount);
    const fromBuckets = Math.min(n - fromFine, this.bucketCount);
    for (let i = this.bucketCount - fromBuckets; i < this.bucketCount; i++) out.push(this.bucketPoint(i));
    for (let i = this.fineCount - fromFine; i < this.fineCount; i++) out.push(this.finePoint(i));
    return out;
  }

  clear(): void {
    this.fineStart = 0;
    this.fineCount = 0;
    this.bucketStart = 0;
    this.bucketCount = 0;
    this.lastT = Number.NEGATIVE_INFINITY;
  }
}
