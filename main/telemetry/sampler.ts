/**
 * The sampler: every `intervalMs` (default 250 ms) it records the host's books (reserved, committed, external,
 * heap, live regions), the failures of the interval by level, the OS memory load, the host's load against its
 * commit limit, the process's own counters, the host state and the notification state — into a TieredRing, so
 * memory stays flat however long it runs (full resolution for the last hour, 10 s buckets for 24 hours).
 *
 * The timer is unref'd: a sampler never keeps the process alive.
 */
import { createOsMemory, type OsMemory } from '../../native';
import type { Host } from '../host';
import { MEMORY_AVAILABLE_NAMES, type FailureCounts, type HostState, type MemoryAvailable } from '../host/types';
import type { HistoryPoint, MemoryAvailableName, Sample, SampleGauges } from './messages';
import { DAY_MS, HOUR_MS, TieredRing, type RingPoint } from './ring';

/** What the sampler reads of the host. */
export type SampledHost = Pick<Host, 'stats' | 'policy' | 'memoryState'>;
/** What the sampler reads of the OS. */
export type SampledOs = Pick<OsMemory, 'memoryStatus' | 'processCounters'>;

/** Run `fn` every `ms`; returns the function that stops it. */
export type Every = (ms: number, fn: () => void) => () => void;

/** setInterval, unref'd so that it never keeps the process alive. */
export const every: Every = (ms, fn) => {
  const timer = setInterval(fn, ms);
  timer.unref?.();
  return () => clearInterval(timer);
};

export interface SamplerOptions {
  /** Default 250 ms. */
  readonly intervalMs?: number;
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Where the OS memory load and the process counters come from. Default: this OS (`createOsMemory()`). */
  readonly os?: SampledOs;
  /** How long samples stay at full resolution. Default 1 hour. */
  readonly historyMs?: number;
  /** Width of a downsampled bucket. Default 10 s. */
  readonly bucketMs?: number;
  /** How far back downsampled history reaches. Default 24 hours. */
  readonly retentionMs?: number;
  /**
   * Most samples at full resolution. Default: what `historyMs` holds at `intervalMs`, plus a quarter for samples
   * taken by hand (sampleNow). Past it, the oldest fold into buckets early (nothing is lost but resolution).
   */
  readonly capacity?: number;
  /** The timer. Default `every` (setInterval, unref'd). */
  readonly every?: Every;
}

export interface SamplerStats {
  /** Samples at full resolution, and the most there can be. */
  readonly samples: number;
  readonly capacity: number;
  /** Downsampled buckets, and the most there can be. */
  readonly buckets: number;
  readonly bucketCapacity: number;
  /** Bytes of the ring's buffers (fixed at creation). */
  readonly bytes: number;
}

export interface Sampler {
  readonly intervalMs: number;
  readonly running: boolean;
  /** Start sampling every intervalMs (a sample is taken at once). Idempotent. */
  start(): void;
  stop(): void;
  /** Take a sample now (also what the timer calls). */
  sampleNow(): Sample;
  /**
   * History from `since` (default: all of it), oldest first: downsampled buckets, then full-resolution samples;
   * with `maxPoints`, merged further so that at most that many come back.
   */
  samples(since?: number, options?: { readonly maxPoints?: number }): HistoryPoint[];
  /** The newest `n` points, oldest first. */
  recent(n: number): HistoryPoint[];
  latest(): Sample | undefined;
  /** Called after each sample; returns the unsubscribe function. A listener that throws is ignored. */
  onSample(listener: (sample: Sample) => void): () => void;
  stats(): SamplerStats;
}

// Column layout of the ring.
const C = {
  reserved: 0,
  committed: 1,
  external: 2,
  heap: 3,
  regions: 4,
  fTask: 5,
  fAppDomain: 6,
  fProcess: 7,
  fOther: 8,
  memoryLoad: 9,
  hostLoad: 10,
  commitLimit: 11,
  workingSet: 12,
  privateBytes: 13,
  state: 14,
  memoryAvailable: 15,
} as const;
const COLUMNS = 16;

function nameOfAvailable(m: number): MemoryAvailableName {
  return MEMORY_AVAILABLE_NAMES[m as MemoryAvailable] ?? 'Neutral';
}

const orNaN = (x: number | null): number => (x === null ? Number.NaN : x);
const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

function gaugesOf(v: readonly number[]): SampleGauges {
  return {
    reserved: v[C.reserved]!,
    committed: v[C.committed]!,
    external: v[C.external]!,
    heap: v[C.heap]!,
    regions: v[C.regions]!,
    memoryLoad: orNull(v[C.memoryLoad]!),
    hostLoad: orNull(v[C.hostLoad]!),
    commitLimit: orNull(v[C.commitLimit]!),
    workingSet: orNull(v[C.workingSet]!),
    privateBytes: orNull(v[C.privateBytes]!),
  };
}

function pointOf(p: RingPoint): HistoryPoint {
  const v = p.last;
  // For a bucket, failures are the sum over the bucket; for a single sample, sum and last are the same array.
  const f = p.sum;
  const sample: Sample = {
    t: p.t,
    ...gaugesOf(v),
    failures: {
      eTaskCritical: f[C.fTask]!,
      eAppDomainCritical: f[C.fAppDomain]!,
      eProcessCritical: f[C.fProcess]!,
      other: f[C.fOther]!,
    },
    state: v[C.state] === 1 ? 'available' : 'unavailable',
    memoryAvailable: nameOfAvailable(v[C.memoryAvailable]!),
  };
  if (p.n === 1) return sample;
  return { ...sample, span: { from: p.from, n: p.n, min: gaugesOf(p.min), max: gaugesOf(p.max) } };
}

/** The host's load as GetMemoryLoad computes it against a commit limit: (committed + heap) / limit, percent. */
export function hostLoadPercent(committed: number, heap: number, commitLimit: number | null): number | null {
  if (commitLimit === null || !(commitLimit > 0)) return null;
  return Math.min(100, Math.max(0, Math.round((100 * (committed + heap)) / commitLimit)));
}

class SamplerImpl implements Sampler {
  readonly intervalMs: number;
  private readonly ring: TieredRing;
  private readonly now: () => number;
  private readonly os: SampledOs;
  private readonly every: Every;
  private readonly listeners = new Set<(sample: Sample) => void>();
  private readonly row = new Float64Array(COLUMNS);
  private lastFailures: FailureCounts;
  private newest: Sample | undefined;
  private cancel: (() => void) | undefined;

  constructor(
    private readonly host: SampledHost,
    options: SamplerOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${this.intervalMs}`);
    const historyMs = options.historyMs ?? HOUR_MS;
    this.now = options.now ?? Date.now;
    this.os = options.os ?? createOsMemory();
    this.every = options.every ?? every;
    const capacity = options.capacity ?? Math.ceil((historyMs / this.intervalMs) * 1.25) + 16;
    this.ring = new TieredRing({
      columns: COLUMNS,
      capacity,
      fullResolutionMs: historyMs,
      bucketMs: options.bucketMs ?? 10_000,
      retentionMs: options.retentionMs ?? DAY_MS,
    });
    this.lastFailures = { ...host.stats().failures };
  }

  get running(): boolean {
    return this.cancel !== undefined;
  }

  start(): void {
    if (this.cancel) return;
    this.cancel = this.every(this.intervalMs, () => {
      this.sampleNow();
    });
    this.sampleNow();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  sampleNow(): Sample {
    const s = this.host.stats();
    const f = s.failures;
    const last = this.lastFailures;
    // Counts only grow; a smaller one (another host, a reset of the counters) counts from zero.
    const inInterval: FailureCounts = {
      eTaskCritical: Math.max(0, f.eTaskCritical - last.eTaskCritical),
      eAppDomainCritical: Math.max(0, f.eAppDomainCritical - last.eAppDomainCritical),
      eProcessCritical: Math.max(0, f.eProcessCritical - last.eProcessCritical),
      other: Math.max(0, f.other - last.other),
    };
    this.lastFailures = { ...f };

    const status = this.os.memoryStatus();
    const counters = this.os.processCounters();
    const commitLimit = this.host.policy().commitLimit;
    const state: HostState = s.state;
    const memoryAvailable = nameOfAvailable(this.host.memoryState());

    const r = this.row;
    r[C.reserved] = s.reserved;
    r[C.committed] = s.committed;
    r[C.external] = s.external;
    r[C.heap] = s.heap;
    r[C.regions] = s.regions;
    r[C.fTask] = inInterval.eTaskCritical;
    r[C.fAppDomain] = inInterval.eAppDomainCritical;
    r[C.fProcess] = inInterval.eProcessCritical;
    r[C.fOther] = inInterval.other;
    r[C.memoryLoad] = status.ok ? status.value.memoryLoad : Number.NaN;
    r[C.hostLoad] = orNaN(hostLoadPercent(s.committed, s.heap, commitLimit));
    r[C.commitLimit] = orNaN(commitLimit);
    r[C.workingSet] = counters.ok ? counters.value.workingSet : Number.NaN;
    r[C.privateBytes] = counters.ok ? counters.value.privateBytes : Number.NaN;
    r[C.state] = state === 'available' ? 1 : 0;
    r[C.memoryAvailable] = this.host.memoryState();
    const t = this.ring.push(this.now(), r);

    const sample: Sample = {
      t,
      reserved: s.reserved,
      committed: s.committed,
      external: s.external,
      heap: s.heap,
      regions: s.regions,
      memoryLoad: orNull(r[C.memoryLoad]!),
      hostLoad: orNull(r[C.hostLoad]!),
      commitLimit,
      workingSet: orNull(r[C.workingSet]!),
      privateBytes: orNull(r[C.privateBytes]!),
      failures: inInterval,
      state,
      memoryAvailable,
    };
    this.newest = sample;
    for (const l of this.listeners) {
      try {
        l(sample);
      } catch {
        // A listener's bug must not stop the sampler.
      }
    }
    return sample;
  }

  samples(since?: number, options: { readonly maxPoints?: number } = {}): HistoryPoint[] {
    return this.ring.since(since ?? Number.NEGATIVE_INFINITY, options.maxPoints).map(pointOf);
  }

  recent(n: number): HistoryPoint[] {
    return this.ring.latest(n).map(pointOf);
  }

  latest(): Sample | undefined {
    return this.newest;
  }

  onSample(listener: (sample: Sample) => void): () => void {
    // Wrapped so that the same function may subscribe twice and unsubscribe each independently.
    const entry = (sample: Sample): void => listener(sample);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  stats(): SamplerStats {
    return {
      samples: this.ring.fineSize,
      capacity: this.ring.capacity,
      buckets: this.ring.bucketSize,
      bucketCapacity: this.ring.bucketCapacity,
      bytes: this.ring.byteLength,
    };
  }
}

export function createSampler(host: SampledHost, options: SamplerOptions = {}): Sampler {
  return new SamplerImpl(host, options);
}
