/**
 * The leak signal of a watched process: how fast its committed, resident and private bytes grow, per region type and
 * in all, over a window of recent walks, and when, at that pace, its committed bytes reach a limit (a budget someone
 * set, or what the OS's commit limit leaves). A leak is memory that keeps growing; on Linux it shows in resident and
 * private bytes first (pages touched in mappings that do not change), on Windows in committed bytes.
 *
 * The rate is the least-squares slope of the figure over the walks in the window (so one walk's noise does not make a
 * trend), in bytes per second. Fewer than two walks, or walks less than a second apart in all: no rate yet (null).
 */
import { createOsMemory, type OsMemory } from '../../native';
import { REGION_TYPES, type RegionTypeName, type TypeSummary, type TypeTotals } from './types';

/** The window of walks the rate is taken over, by default: the last 5 minutes. */
export const DEFAULT_GROWTH_WINDOW_MS = 5 * 60_000;
/** The shortest span of walks a rate is given for. */
const MIN_SPAN_MS = 1000;

/** Growth of one set of totals, bytes per second; null where the OS gives no figure (or no rate yet). */
export interface GrowthRates {
  readonly committed: number;
  readonly resident: number | null;
  readonly private: number | null;
}

export interface GrowthLimit {
  /** Bytes of committed memory the projection runs to. */
  readonly bytes: number;
  /** 'budget': a limit someone set for this process; 'commit-limit': what the OS's commit limit leaves for it. */
  readonly kind: 'budget' | 'commit-limit';
}

export interface LeakSignal {
  /** The first and last walks the rate is taken over, ms since the epoch. */
  readonly from: number;
  readonly to: number;
  readonly walks: number;
  readonly byType: Readonly<Record<Exclude<RegionTypeName, 'free'>, GrowthRates>>;
  /** Every type but free. */
  readonly total: GrowthRates;
  /** Committed bytes at the last walk. */
  readonly committed: number;
  /**
   * When committed bytes reach `limit.bytes` at this pace: ms from the last walk (0: reached already), or null when
   * they do not grow. Absent without a limit.
   */
  readonly projection?: { readonly limit: GrowthLimit; readonly etaMs: number | null };
}

interface Point {
  readonly t: number;
  readonly summary: TypeSummary;
}

const TYPES = REGION_TYPES.filter((t): t is Exclude<RegionTypeName, 'free'> => t !== 'free');

/** Least-squares slope of `value` over `points` (per ms), or null when a point has no figure. */
function slope(points: readonly Point[], value: (s: TypeSummary) => number | null): number | null {
  const n = points.length;
  const t0 = points[0]!.t;
  let st = 0;
  let sv = 0;
  const vs: number[] = [];
  for (const p of points) {
    const v = value(p.summary);
    if (v === null) return null;
    vs.push(v);
    st += p.t - t0;
    sv += v;
  }
  const mt = st / n;
  const mv = sv / n;
  let num = 0;
  let den = 0;
  points.forEach((p, i) => {
    const dt = p.t - t0 - mt;
    num += dt * (vs[i]! - mv);
    den += dt * dt;
  });
  return den === 0 ? null : num / den;
}

function rates(points: readonly Point[], pick: (s: TypeSummary) => TypeTotals): GrowthRates {
  const perSecond = (v: number | null): number | null => (v === null ? null : v * 1000);
  return {
    committed: perSecond(slope(points, (s) => pick(s).committed)) ?? 0,
    resident: perSecond(slope(points, (s) => pick(s).resident)),
    private: perSecond(slope(points, (s) => pick(s).private)),
  };
}

/** Keeps the walks of one process within a window and answers its leak signal. */
export class GrowthTracker {
  private points: Point[] = [];

  constructor(readonly windowMs: number = DEFAULT_GROWTH_WINDOW_MS) {}

  /** A walk's summary, taken at `t` (ms since the epoch; ascending). */
  add(t: number, summary: TypeSummary): void {
    const last = this.points[this.points.length - 1];
    if (last !== undefined && t <= last.t) return;
    this.points.push({ t, summary });
    const oldest = t - this.windowMs;
    // Keep one walk at or before the window's start, so the window is covered whole.
    let drop = 0;
    while (drop + 1 < this.points.length && this.points[drop + 1]!.t <= oldest) drop++;
    if (drop > 0) this.points = this.points.slice(drop);
  }

  /** The leak signal now, or null when the walks span less than a second. */
  signal(limit?: GrowthLimit | null): LeakSignal | null {
    const points = this.points;
    if (points.length < 2) return null;
    const first = points[0]!;
    const last = points[points.length - 1]!;
    if (last.t - first.t < MIN_SPAN_MS) return null;
    const byType = Object.fromEntries(TYPES.map((type) => [type, rates(points, (s) => s.byType[type])])) as Record<
      Exclude<RegionTypeName, 'free'>,
      GrowthRates
    >;
    const total = rates(points, (s) => s.total);
    const committed = last.summary.total.committed;
    const signal: LeakSignal = { from: first.t, to: last.t, walks: points.length, byType, total, committed };
    if (limit === undefined || limit === null) return signal;
    const left = limit.bytes - committed;
    const etaMs = left <= 0 ? 0 : total.committed > 0 ? (left / total.committed) * 1000 : null;
    return { ...signal, projection: { limit, etaMs } };
  }
}

let osMemory: OsMemory | undefined;

/**
 * The limit a process's committed bytes run to when no budget was set: where the OS's commit limit is reached if
 * this process alone took what is left of it (its committed bytes plus the commit still available). Null when the OS
 * does not say.
 */
export function commitLimitFor(committed: number): GrowthLimit | null {
  osMemory ??= createOsMemory();
  const status = osMemory.memoryStatus();
  return status.ok ? { bytes: committed + status.value.availCommit, kind: 'commit-limit' } : null;
}
