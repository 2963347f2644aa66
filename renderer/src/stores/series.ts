/**
 * The sample history as flat arrays of {x, y} points, outside Vue reactivity: Chart.js reads these very arrays
 * (`parsing: false`), so a push appends a few points instead of rebuilding 20,000. A reactive `version` counter
 * (in the samples store) tells the chart when to `update('none')`.
 */
import { FAILURE_GROUPS, type HistoryPoint, type Sample, type FailureGroup } from '../api/contract';

export interface Point {
  x: number;
  y: number;
}

export const SERIES = ['reserved', 'committed', 'external', 'heap'] as const;
export type SeriesName = (typeof SERIES)[number];

export class SampleSeries {
  readonly lines: Record<SeriesName, Point[]> = { reserved: [], committed: [], external: [], heap: [] };
  /** Failure markers by group: at the sample's time, at its committed bytes. */
  readonly markers: Record<FailureGroup, Point[]> = {
    eTaskCritical: [],
    eAppDomainCritical: [],
    eProcessCritical: [],
    other: [],
  };
  /** Per sample: time and failures by group (for the failure trends). */
  readonly times: number[] = [];
  readonly failures: Record<FailureGroup, number[]> = {
    eTaskCritical: [],
    eAppDomainCritical: [],
    eProcessCritical: [],
    other: [],
  };
  last: Sample | undefined;

  constructor(readonly maxPoints = 20_000) {}

  get length(): number {
    return this.times.length;
  }

  clear(): void {
    for (const name of SERIES) this.lines[name].length = 0;
    for (const g of FAILURE_GROUPS) {
      this.markers[g].length = 0;
      this.failures[g].length = 0;
    }
    this.times.length = 0;
    this.last = undefined;
  }

  append(samples: readonly (Sample | HistoryPoint)[]): void {
    for (const s of samples) {
      if (this.times.length > 0 && s.t < this.times[this.times.length - 1]!) continue; // out of order: ignore
      const x = s.t;
      this.times.push(x);
      this.lines.reserved.push({ x, y: s.reserved });
      this.lines.committed.push({ x, y: s.committed });
      this.lines.external.push({ x, y: s.external });
      this.lines.heap.push({ x, y: s.heap });
      for (const g of FAILURE_GROUPS) {
        const n = s.failures[g];
        this.failures[g].push(n);
        if (n > 0) this.markers[g].push({ x, y: s.committed });
      }
      this.last = s;
    }
    this.trim();
  }

  /** Drop the oldest points in steps (amortised O(1) per point). */
  private trim(): void {
    const excess = this.times.length - this.maxPoints;
    if (excess <= this.maxPoints >> 2) return;
    this.times.splice(0, excess);
    for (const name of SERIES) this.lines[name].splice(0, excess);
    const first = this.times[0]!;
    for (const g of FAILURE_GROUPS) {
      this.failures[g].splice(0, excess);
      const m = this.markers[g];
      let i = 0;
      while (i < m.length && m[i]!.x < first) i++;
      if (i > 0) m.splice(0, i);
    }
  }

  /** Failures per group summed into `bins` equal time buckets over the last `windowMs`. */
  trend(group: FailureGroup, bins: number, windowMs: number, now: number): number[] {
    const out = new Array<number>(bins).fill(0);
    const from = now - windowMs;
    const counts = this.failures[group];
    for (let i = this.times.length - 1; i >= 0; i--) {
      const t = this.times[i]!;
      if (t < from) break;
      const b = Math.min(bins - 1, Math.floor(((t - from) / windowMs) * bins));
      out[b]! += counts[i]!;
    }
    return out;
  }
}
