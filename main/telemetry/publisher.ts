/**
 * The publisher: what a UI needs, transport-neutral (Electron IPC and the WebSocket server both carry it). Each
 * subscriber gets a first `full` message, then `delta`s (see messages.ts for the protocol).
 *
 * - Coalesced: host events only mark what changed; pushes happen at most `maxPushesPerSecond` (default 20) times
 *   a second, whatever the call rate. A region changed many times between two pushes is sent once, with its row at
 *   push time; a region reserved and released between two pushes is not sent at all.
 * - Bounded: at most `maxRowsPerPush` region rows (added + updated + removed) per push, the full message included;
 *   the rest follow in later pushes (scheduled at once, still within the rate). State is never dropped: what is
 *   pending is a set of bases, and each row is read from the host when it is sent.
 * - Idle costs nothing: no timer runs while nothing changes.
 */
import type { Host, Region } from '../host';
import { MEMORY_AVAILABLE_NAMES, type FailureEvent, type HostEvent, type MemoryAvailable } from '../host/types';
import type {
  DeltaMessage,
  FailureRow,
  FullMessage,
  HostInfo,
  MemoryAvailableName,
  PushMessage,
  RegionRow,
  Sample,
  StateInfo,
  StatsRow,
} from './messages';
import type { Sampler } from './sampler';

/** What the publisher reads of the host. */
export type PublishedHost = Pick<
  Host,
  | 'backend'
  | 'pageSize'
  | 'allocationGranularity'
  | 'stats'
  | 'regionList'
  | 'regionAt'
  | 'policy'
  | 'memoryState'
  | 'subscribe'
>;

/** Run `fn` once after `delayMs`; returns the function that cancels it. */
export type Schedule = (fn: () => void, delayMs: number) => () => void;

/** setTimeout, unref'd so that a publisher never keeps the process alive. */
export const defaultSchedule: Schedule = (fn, delayMs) => {
  const timer = setTimeout(fn, delayMs);
  timer.unref?.();
  return () => clearTimeout(timer);
};

export interface PublisherOptions {
  /** Default 20. */
  readonly maxPushesPerSecond?: number;
  /** Region rows (added + updated + removed) per push at most. Default 5,000. */
  readonly maxRowsPerPush?: number;
  /** Samples per push at most (the rest follow). Default 1,000. */
  readonly maxSamplesPerPush?: number;
  /** Failure events kept for the full message, and queued per subscriber between pushes. Default 500. */
  readonly recentFailures?: number;
  /** Sample history in the full message reaches this far back. Default 1 hour. */
  readonly historyMs?: number;
  /** Points of sample history in the full message at most (downsampled to fit). Default 1,200. */
  readonly maxHistoryPoints?: number;
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Timer for the next push. Default setTimeout, unref'd. */
  readonly schedule?: Schedule;
}

export type Send = (message: PushMessage) => void;

export interface Publisher {
  /** Add a subscriber: its first push is a full message. Returns the unsubscribe function. */
  subscribe(send: Send): () => void;
  /** The next push to `send` (to every subscriber when omitted) is a full message (a reloaded window). */
  resync(send?: Send): void;
  /** Push now to every subscriber with something to send, whatever the rate (tests, shutdown). */
  flush(): void;
  /** Stop listening to the host and the sampler and drop every subscriber. */
  stop(): void;
  /** Subscribers now. */
  readonly subscribers: number;
}

const nameOf = (m: number): MemoryAvailableName => MEMORY_AVAILABLE_NAMES[m as MemoryAvailable] ?? 'Neutral';

/** The row of a live region. */
export function regionRow(region: Region): RegionRow {
  const runs = region.runs;
  let protect: number | 'mixed' = 0;
  if (runs.length > 0) {
    protect = runs[0]!.protect;
    for (let i = 1; i < runs.length; i++) {
      if (runs[i]!.protect !== protect) {
        protect = 'mixed';
        break;
      }
    }
  }
  return {
    base: region.base,
    size: region.size,
    committed: region.committed,
    level: region.level,
    tag: region.tag ?? null,
    protect,
    allocationProtect: region.allocationProtect,
    created: region.created,
    runs: runs.length,
  };
}

export function failureRow(f: FailureEvent): FailureRow {
  return {
    seq: f.seq,
    time: f.time,
    method: f.method,
    size: f.size,
    address: f.address,
    flags: f.flags,
    level: f.level,
    hr: f.hr,
    reason: f.reason,
    tag: f.tag ?? null,
  };
}

// What a subscriber's client must be told about a base.
const ADD = 0; // the client does not have the row
const UPDATE = 1; // the client has an older row
const REMOVE = 2; // the client has a row for a region that is gone
type Pending = typeof ADD | typeof UPDATE | typeof REMOVE;

interface Subscriber {
  readonly send: Send;
  seq: number;
  needFull: boolean;
  /** Bases to send, in the order they first changed. */
  readonly rows: Map<number, Pending>;
  samples: Sample[];
  failures: FailureRow[];
  failuresDropped: number;
  state: StateInfo | undefined;
  memoryAvailable: MemoryAvailableName | undefined;
  policyChanged: boolean;
  lastStats: StatsRow | undefined;
}

function sameStats(a: StatsRow, b: StatsRow): boolean {
  return (
    a.reserved === b.reserved &&
    a.committed === b.committed &&
    a.external === b.external &&
    a.heap === b.heap &&
    a.regions === b.regions &&
    a.failures.eTaskCritical === b.failures.eTaskCritical &&
    a.failures.eAppDomainCritical === b.failures.eAppDomainCritical &&
    a.failures.eProcessCritical === b.failures.eProcessCritical &&
    a.failures.other === b.failures.other
  );
}

class PublisherImpl implements Publisher {
  private readonly subs: Subscriber[] = [];
  private readonly minGapMs: number;
  private readonly maxRows: number;
  private readonly maxSamples: number;
  private readonly recentMax: number;
  private readonly historyMs: number;
  private readonly maxHistoryPoints: number;
  private readonly now: () => number;
  private readonly schedule: Schedule;
  /** The last failure events, oldest first (for full messages). */
  private recent: FailureRow[] = [];
  private state: StateInfo;
  private lastPushAt = Number.NEGATIVE_INFINITY;
  private cancelScheduled: (() => void) | undefined;
  private stopped = false;
  private readonly unsubscribeHost: () => void;
  private readonly unsubscribeSampler: () => void;

  constructor(
    private readonly host: PublishedHost,
    private readonly sampler: Pick<Sampler, 'samples' | 'onSample'>,
    options: PublisherOptions,
  ) {
    const rate = options.maxPushesPerSecond ?? 20;
    if (!(rate > 0)) throw new RangeError(`maxPushesPerSecond must be > 0, got ${rate}`);
    this.minGapMs = 1000 / rate;
    this.maxRows = options.maxRowsPerPush ?? 5000;
    if (!Number.isInteger(this.maxRows) || this.maxRows < 1) throw new RangeError('maxRowsPerPush must be ≥ 1');
    this.maxSamples = options.maxSamplesPerPush ?? 1000;
    this.recentMax = options.recentFailures ?? 500;
    this.historyMs = options.historyMs ?? 3_600_000;
    this.maxHistoryPoints = options.maxHistoryPoints ?? 1200;
    this.now = options.now ?? Date.now;
    this.schedule = options.schedule ?? defaultSchedule;
    this.state = { state: host.stats().state, cause: null, since: null };
    this.unsubscribeHost = host.subscribe((e) => this.onHostEvent(e));
    this.unsubscribeSampler = sampler.onSample((s) => this.onSample(s));
  }

  get subscribers(): number {
    return this.subs.length;
  }

  // ------------------------------------------------------------------------------ events (cheap: mark, schedule)

  private onHostEvent(e: HostEvent): void {
    switch (e.kind) {
      case 'region': {
        const r = e.region;
        for (const sub of this.subs) {
          if (sub.needFull) continue;
          const was = sub.rows.get(r.base);
          if (r.change === 'reserve') {
            // A base that was released and reserved again: the client's row is replaced.
            sub.rows.set(r.base, was === REMOVE ? UPDATE : ADD);
          } else if (r.change === 'release') {
            if (was === ADD) sub.rows.delete(r.base);
            else sub.rows.set(r.base, REMOVE);
          } else if (was === undefined) {
            sub.rows.set(r.base, UPDATE);
          }
        }
        break;
      }
      case 'failure': {
        const row = failureRow(e.failure);
        this.recent.push(row);
        if (this.recent.length > this.recentMax * 2) this.recent = this.recent.slice(-this.recentMax);
        for (const sub of this.subs) {
          if (sub.needFull) continue;
          sub.failures.push(row);
          if (sub.failures.length > this.recentMax * 2) {
            sub.failuresDropped += sub.failures.length - this.recentMax;
            sub.failures = sub.failures.slice(-this.recentMax);
          }
        }
        break;
      }
      case 'state': {
        this.state = { state: e.state, cause: e.cause, since: e.time };
        for (const sub of this.subs) sub.state = this.state;
        break;
      }
      case 'notification': {
        const name = nameOf(e.memoryAvailable);
        for (const sub of this.subs) sub.memoryAvailable = name;
        break;
      }
      case 'policy': {
        for (const sub of this.subs) sub.policyChanged = true;
        break;
      }
      default:
        // Calls, external address space, resets: only the stats can have changed.
        break;
    }
    this.request();
  }

  private onSample(sample: Sample): void {
    for (const sub of this.subs) {
      if (sub.needFull) continue;
      sub.samples.push(sample);
      // A subscriber that is not being pushed to (no flush for a long while) keeps at most an hour's worth.
      if (sub.samples.length > 20_000) sub.samples = sub.samples.slice(-14_400);
    }
    this.request();
  }

  // ------------------------------------------------------------------------------ scheduling

  /** Make sure a push is scheduled, no sooner than the rate allows. */
  private request(): void {
    if (this.cancelScheduled !== undefined || this.stopped || this.subs.length === 0) return;
    const delay = Math.max(0, this.lastPushAt + this.minGapMs - this.now());
    this.cancelScheduled = this.schedule(() => {
      this.cancelScheduled = undefined;
      this.push();
    }, delay);
  }

  flush(): void {
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
    this.push();
  }

  private push(): void {
    if (this.stopped) return;
    this.lastPushAt = this.now();
    let more = false;
    let stats: StatsRow | undefined;
    const statsNow = (): StatsRow => {
      if (stats === undefined) {
        const s = this.host.stats();
        stats = {
          reserved: s.reserved,
          committed: s.committed,
          external: s.external,
          heap: s.heap,
          regions: s.regions,
          failures: { ...s.failures },
        };
      }
      return stats;
    };
    for (const sub of [...this.subs]) {
      const message = sub.needFull ? this.full(sub, statsNow()) : this.delta(sub, statsNow());
      if (message !== undefined) {
        try {
          sub.send(message);
        } catch {
          // The transport failed: whatever it lost, the next push to this subscriber starts over. That push waits
          // for the next change (no retry loop against a dead transport; its owner should unsubscribe).
          this.markFull(sub);
          continue;
        }
      }
      if (sub.rows.size > 0 || sub.samples.length > 0 || sub.needFull) more = true;
    }
    if (more) this.request();
  }

  // ------------------------------------------------------------------------------ messages

  private hostInfo(): HostInfo {
    return {
      backend: this.host.backend,
      pageSize: this.host.pageSize,
      allocationGranularity: this.host.allocationGranularity,
      policy: this.host.policy(),
      state: { ...this.state, state: this.host.stats().state },
      memoryAvailable: nameOf(this.host.memoryState()),
    };
  }

  private full(sub: Subscriber, stats: StatsRow): FullMessage {
    const time = this.now();
    sub.rows.clear();
    sub.samples = [];
    sub.failures = [];
    sub.failuresDropped = 0;
    sub.state = undefined;
    sub.memoryAvailable = undefined;
    sub.policyChanged = false;
    sub.needFull = false;
    sub.seq = 1;
    sub.lastStats = stats;
    const rows: RegionRow[] = [];
    for (const region of this.host.regionList()) {
      if (rows.length < this.maxRows) rows.push(regionRow(region));
      else sub.rows.set(region.base, ADD);
    }
    if (this.recent.length > this.recentMax) this.recent = this.recent.slice(-this.recentMax);
    return {
      type: 'full',
      seq: sub.seq,
      time,
      host: this.hostInfo(),
      stats,
      rows,
      complete: sub.rows.size === 0,
      failures: this.recent.slice(),
      samples: this.sampler.samples(time - this.historyMs, { maxPoints: this.maxHistoryPoints }),
    };
  }

  /** The delta for a subscriber, or undefined when it has nothing new. */
  private delta(sub: Subscriber, stats: StatsRow): DeltaMessage | undefined {
    const added: RegionRow[] = [];
    const updated: RegionRow[] = [];
    const removed: number[] = [];
    let budget = this.maxRows;
    for (const [base, pending] of sub.rows) {
      if (budget === 0) break;
      budget--;
      sub.rows.delete(base);
      if (pending === REMOVE) {
        removed.push(base);
        continue;
      }
      const region = this.host.regionAt(base);
      if (region !== undefined && region.base === base) {
        (pending === ADD ? added : updated).push(regionRow(region));
      } else if (pending === UPDATE) {
        // Gone without a release event (dispose): the client's row must go too.
        removed.push(base);
      }
    }
    let samples = sub.samples;
    if (samples.length > this.maxSamples) {
      sub.samples = samples.slice(this.maxSamples);
      samples = samples.slice(0, this.maxSamples);
    } else sub.samples = [];
    const failures = sub.failures;
    const failuresDropped = sub.failuresDropped;
    sub.failures = [];
    sub.failuresDropped = 0;
    const state = sub.state;
    const memoryAvailable = sub.memoryAvailable;
    const policyChanged = sub.policyChanged;
    sub.state = undefined;
    sub.memoryAvailable = undefined;
    sub.policyChanged = false;

    const statsChanged = sub.lastStats === undefined || !sameStats(sub.lastStats, stats);
    const nothing =
      added.length + updated.length + removed.length + samples.length + failures.length + failuresDropped === 0 &&
      state === undefined &&
      memoryAvailable === undefined &&
      !policyChanged &&
      !statsChanged;
    if (nothing) return undefined;
    sub.lastStats = stats;
    sub.seq++;
    return {
      type: 'delta',
      seq: sub.seq,
      time: this.now(),
      stats,
      samples,
      added,
      updated,
      removed,
      failures,
      failuresDropped,
      ...(state !== undefined && { state }),
      ...(memoryAvailable !== undefined && { memoryAvailable }),
      ...(policyChanged && { policy: this.host.policy() }),
      complete: sub.rows.size === 0,
    };
  }

  // ------------------------------------------------------------------------------ subscribers

  private markFull(sub: Subscriber): void {
    sub.needFull = true;
    sub.rows.clear();
    sub.samples = [];
    sub.failures = [];
  }

  subscribe(send: Send): () => void {
    if (this.stopped) throw new Error('publisher stopped');
    const sub: Subscriber = {
      send,
      seq: 0,
      needFull: true,
      rows: new Map(),
      samples: [],
      failures: [],
      failuresDropped: 0,
      state: undefined,
      memoryAvailable: undefined,
      policyChanged: false,
      lastStats: undefined,
    };
    this.subs.push(sub);
    this.request();
    return () => {
      const i = this.subs.indexOf(sub);
      if (i >= 0) this.subs.splice(i, 1);
      if (this.subs.length === 0) {
        this.cancelScheduled?.();
        this.cancelScheduled = undefined;
      }
    };
  }

  resync(send?: Send): void {
    for (const sub of this.subs) if (send === undefined || sub.send === send) this.markFull(sub);
    this.request();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeHost();
    this.unsubscribeSampler();
    this.cancelScheduled?.();
    this.cancelScheduled = undefined;
    this.subs.length = 0;
  }
}

export function createPublisher(
  host: PublishedHost,
  sampler: Pick<Sampler, 'samples' | 'onSample'>,
  options: PublisherOptions = {},
): Publisher {
  return new PublisherImpl(host, sampler, options);
}
