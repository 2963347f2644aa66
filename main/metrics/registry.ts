/**
 * The prom-client registry: every metric hostmem exports, with its HELP text. Nothing here runs per host call; each
 * metric's `collect` reads, at scrape time, the reading the scrape took once (host books and state from the sampler's
 * latest sample, policy, notification state), the call counters (./call-counters) and the watched processes.
 *
 * Names follow Prometheus' conventions: base units (`_bytes`, `_seconds`, `_ratio`), `_total` for counters, few
 * labels, an enumeration as one series per state (1 for the current one).
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValueWithName,
  type OpenMetricsContentType,
  type PrometheusContentType,
} from 'prom-client';
import { FAILURE_GROUPS, LEVELS, type LevelName } from '../host';
import {
  DURATION_BUCKETS,
  DURATION_SLOTS,
  FAILURE_REASONS,
  HOST_METHODS,
  RESULT_NAMES,
  type CallCounters,
} from './call-counters';
import { PROCESS_GROWTH_GAUGES, type WatchedProcessMetrics } from './processes';

/** The notification states (EMemoryAvailable), as the `state` label says them. */
export const MEMORY_AVAILABLE_STATES = ['Low', 'Neutral', 'High'] as const;
export type MemoryAvailableState = (typeof MEMORY_AVAILABLE_STATES)[number];

/** What one scrape reads of the host (once, before the registry renders). */
export interface HostReading {
  readonly reserved: number;
  readonly committed: number;
  readonly external: number;
  readonly heap: number;
  readonly regions: number;
  readonly commitLimit: number | null;
  readonly reserveLimit: number | null;
  readonly thresholds: Readonly<Record<LevelName, number>>;
  /** GetMemoryLoad's figure against the commit limit, 0..1; null without a commit limit. */
  readonly hostLoad: number | null;
  /** The OS's physical memory load, 0..1; null when the OS does not say. */
  readonly osLoad: number | null;
  readonly memoryAvailable: MemoryAvailableState;
  readonly available: boolean;
}

export interface Reading {
  readonly host: HostReading;
  readonly processes: readonly WatchedProcessMetrics[];
}

export interface RegistrySources {
  readonly counters: CallCounters;
  /** The reading of the scrape under way (set by the caller before `registry.metrics()`). */
  readonly reading: () => Reading;
  readonly version: string;
  readonly backend: string;
}

type Value = MetricValueWithName<string>;

/** Label objects made once: prom-client caches the formatting of a `sharedLabels` object it has seen. */
const METHOD_LABELS = HOST_METHODS.map((method) => Object.freeze({ method }));
const LE_LABELS = [...DURATION_BUCKETS.map((le) => Object.freeze({ le })), Object.freeze({ le: '+Inf' })];
const NO_LABELS = Object.freeze({});
const LEVEL_LABELS = LEVELS.map((level) => Object.freeze({ level }));
const STATE_LABELS = MEMORY_AVAILABLE_STATES.map((state) => Object.freeze({ state }));

/**
 * The call-duration histogram, rendered from the counters' buckets at scrape time. prom-client's own `observe`
 * allocates per call (a label hash and objects), which the host's hot path must not pay; its exposition (names,
 * `le` labels, `_sum`/`_count`) is kept by returning the same shape its Histogram does.
 */
class CallDurationHistogram extends Histogram<string> {
  private readonly counters: CallCounters;

  constructor(counters: CallCounters, registry: Registers[number]) {
    super({
      name: 'hostmem_host_call_duration_seconds',
      help: 'Time a host call took, from the call to its answer, waits for memory included.',
      labelNames: ['method'],
      buckets: [...DURATION_BUCKETS],
      registers: [registry],
    });
    this.counters = counters;
  }

  override async get(): Promise<MetricObjectWithValues<Value>> {
    const { durationBuckets, durationSum } = this.counters;
    const values: Value[] = [];
    const name = 'hostmem_host_call_duration_seconds';
    HOST_METHODS.forEach((_method, m) => {
      let count = 0;
      for (let b = 0; b < DURATION_SLOTS; b++) count += durationBuckets[m * DURATION_SLOTS + b]!;
      if (count === 0) return;
      // The method as prom-client's "shared labels": the same object every time, so it formats it once (cached).
      const sharedLabels = METHOD_LABELS[m]!;
      let cumulative = 0;
      for (let b = 0; b < DURATION_SLOTS; b++) {
        cumulative += durationBuckets[m * DURATION_SLOTS + b]!;
        values.push({ labels: LE_LABELS[b]!, sharedLabels, value: cumulative, metricName: `${name}_bucket` } as Value);
      }
      values.push({ labels: NO_LABELS, sharedLabels, value: durationSum[m]!, metricName: `${name}_sum` } as Value);
      values.push({ labels: NO_LABELS, sharedLabels, value: count, metricName: `${name}_count` } as Value);
    });
    const metric = { name, help: this.help, type: 'histogram', values, aggregator: this.aggregator };
    // prom-client's typings give `type` as a numeric enum and ask for `collect`; at run time it is this string.
    return metric as unknown as MetricObjectWithValues<Value>;
  }

  /** What the registry renders (prom-client prefers it to `get`). */
  getForPromString(): Promise<MetricObjectWithValues<Value>> {
    return this.get();
  }

  /** Set by prom-client's Metric constructor (not in its typings). */
  declare readonly help: string;
  declare readonly aggregator: string;
}

type Registers = (Registry<PrometheusContentType> | Registry<OpenMetricsContentType>)[];
type Labels = Readonly<Record<string, string | number>>;
/** Emits the series of a metric at scrape time: `emit(labels, value)` once per series. */
type Read = (emit: (labels: Labels, value: number) => void) => void;

interface ReadConfig {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  readonly registers: Registers;
  readonly read: Read;
}

/**
 * The values of a metric read at scrape time, in the shape prom-client's registry renders. Rather than `set()` /
 * `inc()` on prom-client's own label hash map (a hash string, an object and, when rendered, a fresh WeakMap entry
 * per series and scrape), each series is emitted straight from the reading, with one shared empty label object.
 */
function readValues(read: Read): Value[] {
  const values: Value[] = [];
  read((labels, value) => values.push({ labels, sharedLabels: NO_LABELS, value } as Value));
  return values;
}

class ReadGauge extends Gauge<string> {
  private readonly read: Read;
  constructor(config: ReadConfig) {
    super({ name: config.name, help: config.help, labelNames: config.labelNames ?? [], registers: config.registers });
    this.read = config.read;
  }
  override async get(): Promise<MetricObjectWithValues<Value>> {
    const metric = {
      name: this.name,
      help: this.help,
      type: 'gauge',
      values: readValues(this.read),
      aggregator: 'sum',
    };
    // prom-client's typings give `type` as a numeric enum and ask for `collect`; at run time it is this string.
    return metric as unknown as MetricObjectWithValues<Value>;
  }
  getForPromString(): Promise<MetricObjectWithValues<Value>> {
    return this.get();
  }
  /** Set by prom-client's Metric constructor (not in its typings); the OpenMetrics registry renames counters. */
  declare name: string;
  declare readonly help: string;
}

class ReadCounter extends Counter<string> {
  private readonly read: Read;
  constructor(config: ReadConfig) {
    super({ name: config.name, help: config.help, labelNames: config.labelNames ?? [], registers: config.registers });
    this.read = config.read;
  }
  override async get(): Promise<MetricObjectWithValues<Value>> {
    const metric = {
      name: this.name,
      help: this.help,
      type: 'counter',
      values: readValues(this.read),
      aggregator: 'sum',
    };
    return metric as unknown as MetricObjectWithValues<Value>;
  }
  getForPromString(): Promise<MetricObjectWithValues<Value>> {
    return this.get();
  }
  declare name: string;
  declare readonly help: string;
}

/** A registry of every hostmem metric, for one exposition format (prom-client fixes it per registry). */
export function buildRegistry<T extends PrometheusContentType | OpenMetricsContentType>(
  contentType: T,
  sources: RegistrySources,
): Registry<T> {
  const registry = new Registry<T>();
  registry.setContentType(contentType);
  const registers: Registers = [registry as Registry<PrometheusContentType> | Registry<OpenMetricsContentType>];
  const host = (): HostReading => sources.reading().host;

  /** An unlabelled gauge of the host reading; `null`: absent (e.g. no limit). */
  const gauge = (name: string, help: string, read: (h: HostReading) => number | null): void => {
    new ReadGauge({
      name,
      help,
      registers,
      read(emit) {
        const v = read(host());
        if (v !== null) emit(NO_LABELS, v);
      },
    });
  };

  gauge(
    'hostmem_host_reserved_bytes',
    "Address space held by the host's reservations (VirtualAlloc MEM_RESERVE), committed pages included.",
    (h) => h.reserved,
  );
  gauge(
    'hostmem_host_committed_bytes',
    "Committed bytes of the host's reservations (VirtualAlloc MEM_COMMIT).",
    (h) => h.committed,
  );
  gauge(
    'hostmem_host_external_bytes',
    'Address space the runtime reported through AcquiredVirtualAddressSpace.',
    (h) => h.external,
  );
  gauge('hostmem_host_heap_bytes', 'Live bytes allocated from host heaps (IHostMalloc).', (h) => h.heap);
  gauge('hostmem_host_regions', 'Live host reservations.', (h) => h.regions);
  gauge(
    'hostmem_host_commit_limit_bytes',
    "The policy's commit limit (committed pages and heap bytes are charged against it); absent when there is none.",
    (h) => h.commitLimit,
  );
  gauge(
    'hostmem_host_reserve_limit_bytes',
    "The policy's reserve limit (reserved and external address space); absent when there is none.",
    (h) => h.reserveLimit,
  );
  gauge(
    'hostmem_host_memory_load_ratio',
    "The host's memory load as GetMemoryLoad computes it against the commit limit, (committed + heap) / limit; absent without a commit limit.",
    (h) => h.hostLoad,
  );
  gauge('hostmem_os_memory_load_ratio', "The operating system's physical memory load, 0 to 1.", (h) => h.osLoad);
  gauge('hostmem_host_available', '1 while the host is available, 0 once it turned unavailable (until Reset).', (h) =>
    h.available ? 1 : 0,
  );

  new ReadGauge({
    name: 'hostmem_host_level_limit_bytes',
    help: 'Committed bytes past which a request at this critical level is refused (threshold times the commit limit); absent without a commit limit.',
    labelNames: ['level'],
    registers,
    read(emit) {
      const h = host();
      if (h.commitLimit === null) return;
      LEVELS.forEach((level, i) => emit(LEVEL_LABELS[i]!, h.thresholds[level] * h.commitLimit!));
    },
  });

  new ReadGauge({
    name: 'hostmem_host_memory_notification',
    help: 'The memory notification state the host reports (EMemoryAvailable): 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    registers,
    read(emit) {
      const now = host().memoryAvailable;
      MEMORY_AVAILABLE_STATES.forEach((state, i) => emit(STATE_LABELS[i]!, state === now ? 1 : 0));
    },
  });

  new ReadCounter({
    name: 'hostmem_host_calls_total',
    help: 'Host calls, by method and result (the HRESULT name, S_OK for success).',
    labelNames: ['method', 'result'],
    registers,
    read(emit) {
      const { calls } = sources.counters;
      const results = RESULT_NAMES.length;
      HOST_METHODS.forEach((method, m) => {
        for (let r = 0; r < results; r++) {
          const n = calls[m * results + r]!;
          if (n > 0) emit({ method, result: RESULT_NAMES[r]! }, n);
        }
      });
    },
  });

  new ReadCounter({
    name: 'hostmem_host_failures_total',
    help: 'Host calls that failed, by critical level (other: calls without one) and reason.',
    labelNames: ['level', 'reason'],
    registers,
    read(emit) {
      const { failures } = sources.counters;
      const reasons = FAILURE_REASONS.length;
      FAILURE_GROUPS.forEach((level, g) => {
        for (let r = 0; r < reasons; r++) {
          const n = failures[g * reasons + r]!;
          if (n > 0) emit({ level, reason: FAILURE_REASONS[r]! }, n);
        }
      });
    },
  });

  new CallDurationHistogram(sources.counters, registers[0]!);

  const perType = (
    name: string,
    help: string,
    read: (t: WatchedProcessMetrics['byType'][number]) => number | null,
  ): void => {
    new ReadGauge({
      name,
      help,
      labelNames: ['pid', 'name', 'type'],
      registers,
      read(emit) {
        for (const p of sources.reading().processes) {
          for (const t of p.byType) {
            const v = read(t);
            if (v !== null) emit({ pid: p.pid, name: p.name, type: t.type }, v);
          }
        }
      },
    });
  };
  perType(
    'hostmem_process_committed_bytes',
    'Committed bytes of a watched process, by region type (its latest walk).',
    (t) => t.committed,
  );
  perType(
    'hostmem_process_reserved_bytes',
    'Reserved address space of a watched process, by region type (committed included).',
    (t) => t.reserved,
  );
  perType(
    'hostmem_process_resident_bytes',
    'Resident bytes of a watched process, by region type (where the OS says).',
    (t) => t.resident,
  );
  perType(
    'hostmem_process_private_bytes',
    'Private (not shared) bytes of a watched process, by region type (where the OS says).',
    (t) => t.private,
  );
  for (const g of PROCESS_GROWTH_GAUGES) perType(g.name, g.help, g.read);
  new ReadGauge({
    name: 'hostmem_process_regions',
    help: "Regions in a watched process's latest walk.",
    labelNames: ['pid', 'name'],
    registers,
    read(emit) {
      for (const p of sources.reading().processes) emit({ pid: p.pid, name: p.name }, p.regions);
    },
  });

  new ReadGauge({
    name: 'hostmem_build_info',
    help: "hostmem's version and the OS backend of its host, as labels (value 1).",
    labelNames: ['version', 'backend'],
    registers,
    read(emit) {
      emit({ version: sources.version, backend: sources.backend }, 1);
    },
  });

  return registry;
}
