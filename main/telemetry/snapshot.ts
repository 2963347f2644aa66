/**
 * Snapshots of the region map and their diff — what VMMap's timeline and heaptrack's diff give their users:
 * which reservations appeared, vanished or changed between two instants, and the byte deltas by tag and by
 * critical level.
 *
 * A snapshot copies every live region (page runs included: the host mutates its own in place), so it stays true
 * to its instant. It is a plain JSON-serialisable object (a session file or a UI can keep it as is).
 */
import type { Host } from '../host';
import { LEVELS, type LevelName } from '../host/types';
import type {
  ChangedRegion,
  Delta,
  GroupDelta,
  Snapshot,
  SnapshotDiff,
  SnapshotInfo,
  SnapshotKind,
  SnapshotRegion,
  SnapshotRun,
  TagDelta,
} from './snapshot-data';
import { every as defaultEvery, type Every } from './sampler';

// The snapshot, its diff and its list entry are plain data the contract shows: in snapshot-data.ts.
export type * from './snapshot-data';

/** What a snapshot reads of the host. */
export type SnapshotHost = Pick<Host, 'regionList' | 'stats' | 'pageSize'>;

export interface SnapshotOptions {
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
}

/** Reserved-only regions share one empty, frozen run list. */
const NO_RUNS: readonly SnapshotRun[] = Object.freeze([]);

/** The region map now: O(regions + page runs) on top of `host.regionList()` (figures in README.md). */
export function takeSnapshot(host: SnapshotHost, label?: string, options: SnapshotOptions = {}): Snapshot {
  const time = (options.now ?? Date.now)();
  const regions: SnapshotRegion[] = [];
  for (const r of host.regionList()) {
    const src = r.runs;
    let runs: readonly SnapshotRun[] = NO_RUNS;
    if (src.length > 0) {
      const copy = new Array<SnapshotRun>(src.length);
      for (let i = 0; i < src.length; i++) {
        const run = src[i]!;
        copy[i] = { start: run.start, end: run.end, protect: run.protect };
      }
      runs = copy;
    }
    regions.push({
      base: r.base,
      size: r.size,
      committed: r.committed,
      level: r.level,
      tag: r.tag ?? null,
      allocationProtect: r.allocationProtect,
      created: r.created,
      runs,
    });
  }
  const s = host.stats();
  return {
    time,
    label: label ?? null,
    pageSize: host.pageSize,
    reserved: s.reserved,
    committed: s.committed,
    external: s.external,
    heap: s.heap,
    regions,
  };
}

// ---------------------------------------------------------------------------------------------- diff

interface Acc {
  rb: number;
  ra: number;
  resB: number;
  resA: number;
  comB: number;
  comA: number;
}

const newAcc = (): Acc => ({ rb: 0, ra: 0, resB: 0, resA: 0, comB: 0, comA: 0 });
const delta = (before: number, after: number): Delta => ({ before, after, delta: after - before });
const groupOf = (a: Acc): GroupDelta => ({
  regions: delta(a.rb, a.ra),
  reserved: delta(a.resB, a.resA),
  committed: delta(a.comB, a.comA),
});

function sameRuns(a: readonly SnapshotRun[], b: readonly SnapshotRun[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.start !== y.start || x.end !== y.end || x.protect !== y.protect) return false;
  }
  return true;
}

/** Same reservation in both snapshots (same base, and not released and reserved again in between). */
function sameReservation(a: SnapshotRegion, b: SnapshotRegion): boolean {
  return a.size === b.size && a.created === b.created && a.level === b.level && a.tag === b.tag;
}

/**
 * What changed from `a` to `b` (usually a before b; the other order gives the opposite deltas). Both region lists
 * are in address order (as takeSnapshot makes them), so this is one merge walk: O(regions + page runs).
 * A base live in both but belonging to another reservation (released and reserved again) counts as vanished
 * and appeared.
 */
export function diffSnapshots(a: Snapshot, b: Snapshot): SnapshotDiff {
  const appeared: SnapshotRegion[] = [];
  const vanished: SnapshotRegion[] = [];
  const changed: ChangedRegion[] = [];
  let unchanged = 0;
  const byTag = new Map<string | null, Acc>();
  const byLevel: Record<LevelName, Acc> = {
    eTaskCritical: newAcc(),
    eAppDomainCritical: newAcc(),
    eProcessCritical: newAcc(),
  };
  const total = newAcc();
  const tagAcc = (tag: string | null): Acc => {
    let acc = byTag.get(tag);
    if (acc === undefined) byTag.set(tag, (acc = newAcc()));
    return acc;
  };
  const countBefore = (r: SnapshotRegion): void => {
    for (const acc of [tagAcc(r.tag), byLevel[r.level], total]) {
      acc.rb++;
      acc.resB += r.size;
      acc.comB += r.committed;
    }
  };
  const countAfter = (r: SnapshotRegion): void => {
    for (const acc of [tagAcc(r.tag), byLevel[r.level], total]) {
      acc.ra++;
      acc.resA += r.size;
      acc.comA += r.committed;
    }
  };

  const ra = a.regions;
  const rb = b.regions;
  let i = 0;
  let j = 0;
  while (i < ra.length || j < rb.length) {
    const x = ra[i];
    const y = rb[j];
    if (y === undefined || (x !== undefined && x.base < y.base)) {
      vanished.push(x!);
      countBefore(x!);
      i++;
    } else if (x === undefined || y.base < x.base) {
      appeared.push(y);
      countAfter(y);
      j++;
    } else {
      countBefore(x);
      countAfter(y);
      if (!sameReservation(x, y)) {
        vanished.push(x);
        appeared.push(y);
      } else {
        const mapChanged = !sameRuns(x.runs, y.runs);
        if (mapChanged || x.committed !== y.committed) {
          changed.push({
            base: y.base,
            size: y.size,
            level: y.level,
            tag: y.tag,
            committed: delta(x.committed, y.committed),
            pageMapChanged: mapChanged,
            runsBefore: x.runs,
            runsAfter: y.runs,
          });
        } else unchanged++;
      }
      i++;
      j++;
    }
  }

  const tags: TagDelta[] = [...byTag].map(([tag, acc]) => ({ tag, ...groupOf(acc) }));
  tags.sort(
    (p, q) =>
      Math.abs(q.committed.delta) - Math.abs(p.committed.delta) ||
      Math.abs(q.reserved.delta) - Math.abs(p.reserved.delta) ||
      (p.tag ?? '').localeCompare(q.tag ?? '') ||
      (p.tag === null ? -1 : 1),
  );
  return {
    from: { time: a.time, label: a.label },
    to: { time: b.time, label: b.label },
    appeared,
    vanished,
    changed,
    unchanged,
    byTag: tags,
    byLevel: LEVELS.map((level) => ({ level, ...groupOf(byLevel[level]) })),
    totals: groupOf(total),
  };
}

// ---------------------------------------------------------------------------------------------- the store

export interface StoredSnapshot extends Snapshot {
  readonly id: number;
  readonly kind: SnapshotKind;
}

export interface SnapshotStoreOptions {
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Manual snapshots kept; the oldest leaves past it. Default 50. */
  readonly maxManual?: number;
  /** The timer for periodic snapshots. Default setInterval, unref'd. */
  readonly every?: Every;
}

export interface PeriodicOptions {
  readonly intervalMs: number;
  /** Periodic snapshots kept; the oldest leaves past it. */
  readonly maxCount: number;
}

/**
 * Keeps manual snapshots and, when asked, periodic ones (each kind bounded by its own count). Ids grow from 1 and
 * are never reused.
 */
export class SnapshotStore {
  private readonly manual: StoredSnapshot[] = [];
  private readonly periodic: StoredSnapshot[] = [];
  private nextId = 1;
  private readonly now: () => number;
  private readonly maxManual: number;
  private readonly every: Every;
  private cancel: (() => void) | undefined;
  private periodicMax = 0;
  private readonly listeners = new Set<(s: StoredSnapshot) => void>();

  constructor(
    private readonly host: SnapshotHost,
    options: SnapshotStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxManual = options.maxManual ?? 50;
    this.every = options.every ?? defaultEvery;
  }

  /** Take and keep a manual snapshot. */
  take(label?: string): StoredSnapshot {
    return this.keep('manual', label, this.manual, this.maxManual);
  }

  private keep(kind: SnapshotKind, label: string | undefined, list: StoredSnapshot[], max: number): StoredSnapshot {
    const snap: StoredSnapshot = { id: this.nextId++, kind, ...takeSnapshot(this.host, label, { now: this.now }) };
    list.push(snap);
    if (list.length > max) list.splice(0, list.length - max);
    for (const l of this.listeners) {
      try {
        l(snap);
      } catch {
        // A listener's bug must not stop the store.
      }
    }
    return snap;
  }

  /** Take a periodic snapshot every `intervalMs`, keeping the last `maxCount`. Replaces a previous schedule. */
  startPeriodic(options: PeriodicOptions): void {
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${options.intervalMs}`);
    if (!Number.isInteger(options.maxCount) || options.maxCount < 1) {
      throw new RangeError(`maxCount must be a positive integer, got ${options.maxCount}`);
    }
    this.stopPeriodic();
    this.periodicMax = options.maxCount;
    if (this.periodic.length > this.periodicMax) this.periodic.splice(0, this.periodic.length - this.periodicMax);
    this.cancel = this.every(options.intervalMs, () => {
      this.keep('periodic', undefined, this.periodic, this.periodicMax);
    });
  }

  stopPeriodic(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  get periodicRunning(): boolean {
    return this.cancel !== undefined;
  }

  /** Every stored snapshot, oldest first. */
  list(): SnapshotInfo[] {
    return [...this.manual, ...this.periodic]
      .sort((p, q) => p.id - q.id)
      .map((s) => ({
        id: s.id,
        kind: s.kind,
        time: s.time,
        label: s.label,
        regions: s.regions.length,
        reserved: s.reserved,
        committed: s.committed,
      }));
  }

  get(id: number): StoredSnapshot | undefined {
    return this.manual.find((s) => s.id === id) ?? this.periodic.find((s) => s.id === id);
  }

  remove(id: number): boolean {
    for (const list of [this.manual, this.periodic]) {
      const i = list.findIndex((s) => s.id === id);
      if (i >= 0) {
        list.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** The diff of two stored snapshots, or undefined when either is gone. */
  diff(fromId: number, toId: number): SnapshotDiff | undefined {
    const a = this.get(fromId);
    const b = this.get(toId);
    return a && b ? diffSnapshots(a, b) : undefined;
  }

  onSnapshot(listener: (s: StoredSnapshot) => void): () => void {
    const entry = (s: StoredSnapshot): void => listener(s);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  clear(): void {
    this.manual.length = 0;
    this.periodic.length = 0;
  }
}
