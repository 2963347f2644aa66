/**
 * The prom-client registries: every metric hostmem exports, with its HELP text, each read at scrape time through
 * prom-client's documented `collect()` (gauges `set()` what the scrape's reading says, counters `inc()` by what the
 * call counters gained since the previous scrape); the call-duration histogram is a collector object (see
 * createDurationCollector). Nothing here runs per host call.
 *
 * prom-client fixes the exposition format per registry and renames a registered counter in place for OpenMetrics,
 * so there are two registries: gauges and the duration collector are one object registered in both; counters (and
 * prom-client's default process metrics) are made once per registry.
 *
 * Names follow Prometheus' conventions: base units (`_bytes`, `_seconds`, `_ratio`), `_total` for counters, few
 * labels, an enumeration as one series per state (1 for the current one), and every known label set of a counter
 * present at 0 from the first scrape (so `rate()` and `increase()` see the first failure).
 */
import {
  Counter,
  Gauge,
  type Histogram,
  Registry,
  collectDefaultMetrics,
  type OpenMetricsContentType,
  type PrometheusContentType,
} from 'prom-client';
import { FAILURE_GROUPS, LEVELS, type LevelName } from '../host';
import {
  DURATION_BUCKETS,
  FAILURE_REASONS,
  HOST_METHODS,
  KNOWN_RESULTS,
  RESULT_NAMES,
  DURATION_SLOTS,
  type CallCounters,
} from './call-counters';
import {
  WALK_ERROR_REASONS,
  WALK_FAILURES,
  type NameGroupMetrics,
  type ProcessTypeBytes,
  type WatchHealth,
  type WatchedProcessMetrics,
} from './processes';

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
  readonly groups: readonly NameGroupMetrics[];
  readonly watches: readonly WatchHealth[];
}

/** The machine hostmem runs on (hostmem_machine_info). */
export interface MachineIdentity {
  readonly hostname: string;
  /** `linux`, `win32`, `darwin` (Node's process.platform). */
  readonly os: string;
  /** The OS release (kernel version, Windows build). */
  readonly release: string;
  readonly arch: string;
}

export interface RegistrySources {
  readonly counters: CallCounters;
  /** The reading of the scrape under way (taken once per scrape by the caller). */
  readonly reading: () => Reading;
  readonly version: string;
  /** The source revision hostmem was built from (`unknown` when the build did not say). */
  readonly revision: string;
  readonly backend: string;
  readonly machine: MachineIdentity;
}

type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;
type Labels = Readonly<Record<string, string | number>>;

const NO_LABELS: Labels = Object.freeze({});

/** A value as prom-client's registry reads it (the shape getMetricsAsJSON documents). */
interface CollectedValue {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName: string;
}

/**
 * The call-duration histogram, as a collector object of the kind prom-client's own cluster aggregation registers
 * (`name`, `help`, `type`, `aggregator` and `get()` resolving to the getMetricsAsJSON shape: values with their
 * labels, `le` included, and `metricName`): its buckets are counted per call in typed arrays (./call-counters), and
 * prom-client's Histogram can only be fed one `observe()` at a time (~0.3 µs per call, measured in bench:metrics),
 * which the host's hot path does not pay. Every method's series is there from the start.
 */
export interface DurationCollector {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: CollectedValue[] }>;
  reset(): void;
}

export function createDurationCollector(counters: CallCounters): DurationCollector {
  const name = 'hostmem_host_call_duration_seconds';
  const help = 'Time a host call took, from the call to its answer, waits for memory included.';
  const bucketLabels = HOST_METHODS.map((method) => [
    ...DURATION_BUCKETS.map((le) => Object.freeze({ method, le })),
    Object.freeze({ method, le: '+Inf' }),
  ]);
  const methodLabels = HOST_METHODS.map((method) => Object.freeze({ method }));
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const { durationBuckets, durationSum } = counters;
      const values: CollectedValue[] = [];
      for (let m = 0; m < HOST_METHODS.length; m++) {
        let cumulative = 0;
        for (let b = 0; b < DURATION_SLOTS; b++) {
          cumulative += durationBuckets[m * DURATION_SLOTS + b]!;
          values.push({ labels: bucketLabels[m]![b]!, value: cumulative, metricName: `${name}_bucket` });
        }
        values.push({ labels: methodLabels[m]!, value: durationSum[m]!, metricName: `${name}_sum` });
        values.push({ labels: methodLabels[m]!, value: cumulative, metricName: `${name}_count` });
      }
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
    // Counts are never reset (registry.resetMetrics() leaves them, as it does the counters' totals).
    reset() {},
  };
}

/** Metrics that are one object in both registries: gauges (read at scrape time) and the histogram. */
export function createSharedMetrics(sources: RegistrySources): Gauge[] {
  const shared: Gauge[] = [];
  const host = (): HostReading => sources.reading().host;

  /** A gauge whose series are emitted afresh at each scrape (series not emitted are gone). */
  const readGauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    read: (emit: (labels: Labels, value: number) => void) => void,
  ): void => {
    shared.push(
      new Gauge({
        name,
        help,
        labelNames,
        registers: [],
        collect(this: Gauge) {
          this.reset();
          read((labels, value) => this.set(labels, value));
        },
      }),
    );
  };
  /** An unlabelled gauge of the host reading; `null`: absent (e.g. no limit). */
  const gauge = (name: string, help: string, read: (h: HostReading) => number | null): void => {
    shared.push(
      new Gauge({
        name,
        help,
        registers: [],
        collect(this: Gauge) {
          const v = read(host());
          if (v === null) this.remove(NO_LABELS);
          else this.set(v);
        },
      }),
    );
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

  const levelLabels = LEVELS.map((level) => Object.freeze({ level }));
  readGauge(
    'hostmem_host_level_limit_bytes',
    'Committed bytes past which a request at this critical level is refused (threshold times the commit limit); absent without a commit limit.',
    ['level'],
    (emit) => {
      const h = host();
      if (h.commitLimit === null) return;
      LEVELS.forEach((level, i) => emit(levelLabels[i]!, h.thresholds[level] * h.commitLimit!));
    },
  );
  const stateLabels = MEMORY_AVAILABLE_STATES.map((state) => Object.freeze({ state }));
  readGauge(
    'hostmem_host_memory_notification',
    'The memory notification state the host reports (EMemoryAvailable): 1 for the current state, 0 for the others.',
    ['state'],
    (emit) => {
      const now = host().memoryAvailable;
      MEMORY_AVAILABLE_STATES.forEach((state, i) => emit(stateLabels[i]!, state === now ? 1 : 0));
    },
  );

  // Watched processes, one series per pid (and type).
  const processes = (): readonly WatchedProcessMetrics[] => sources.reading().processes;
  const perType = (
    prefix: string,
    what: string,
    labelNames: readonly string[],
    list: () => readonly { readonly byType: readonly ProcessTypeBytes[] }[],
    labels: (item: never, type: string) => Labels,
  ): void => {
    const field = (name: string, help: string, read: (t: ProcessTypeBytes) => number | null): void =>
      readGauge(`${prefix}_${name}_bytes`, `${help} ${what}`, [...labelNames, 'type'], (emit) => {
        for (const item of list()) {
          for (const t of item.byType) {
            const v = read(t);
            if (v !== null) emit(labels(item as never, t.type), v);
          }
        }
      });
    field('committed', 'Committed bytes, by region type,', (t) => t.committed);
    field('reserved', 'Reserved address space (committed included), by region type,', (t) => t.reserved);
    field('resident', 'Resident bytes (where the OS says), by region type,', (t) => t.resident);
    field('private', 'Private (not shared) bytes (where the OS says), by region type,', (t) => t.private);
  };
  perType(
    'hostmem_process',
    'of a watched process (its latest walk).',
    ['pid', 'name'],
    processes,
    (p: WatchedProcessMetrics, type) => ({ pid: p.pid, name: p.name, type }),
  );
  readGauge('hostmem_process_regions', "Regions in a watched process's latest walk.", ['pid', 'name'], (emit) => {
    for (const p of processes()) emit({ pid: p.pid, name: p.name }, p.regions);
  });
  readGauge(
    'hostmem_process_start_time_seconds',
    'When a watched process started, seconds since the epoch (a restart shows as a new value).',
    ['pid', 'name'],
    (emit) => {
      for (const p of processes()) if (p.startTime !== null) emit({ pid: p.pid, name: p.name }, p.startTime);
    },
  );

  // Name groups: every process of one name, summed.
  const groups = (): readonly NameGroupMetrics[] => sources.reading().groups;
  perType(
    'hostmem_namegroup',
    'of every process of a watched name, summed.',
    ['group'],
    groups,
    (g: NameGroupMetrics, type) => ({ group: g.group, type }),
  );
  readGauge('hostmem_namegroup_processes', 'Processes of a watched name walked now.', ['group'], (emit) => {
    for (const g of groups()) emit({ group: g.group }, g.processes);
  });
  readGauge(
    'hostmem_namegroup_regions',
    "Regions in the latest walks of a watched name's processes, summed.",
    ['group'],
    (emit) => {
      for (const g of groups()) emit({ group: g.group }, g.regions);
    },
  );

  // Watch health: present for every watch begun, even one that walks nothing.
  const watches = (): readonly WatchHealth[] => sources.reading().watches;
  readGauge(
    'hostmem_watch_processes',
    'Processes a watch (--watch PID or NAME) walks now: 0 when its target is not running, ended, or unreadable.',
    ['watch'],
    (emit) => {
      for (const w of watches()) emit({ watch: w.watch }, w.processes);
    },
  );
  readGauge(
    'hostmem_watch_last_walk_duration_seconds',
    "How long a watch's latest walk took (a cheap fingerprint read when nothing changed).",
    ['watch'],
    (emit) => {
      for (const w of watches()) if (w.lastWalkSeconds !== null) emit({ watch: w.watch }, w.lastWalkSeconds);
    },
  );

  // The exporter itself.
  readGauge(
    'hostmem_build_info',
    "hostmem's version, the source revision it was built from, and the OS backend of its host, as labels (value 1).",
    ['version', 'revision', 'backend'],
    (emit) => emit({ version: sources.version, revision: sources.revision, backend: sources.backend }, 1),
  );
  const machine = sources.machine;
  readGauge(
    'hostmem_machine_info',
    'The machine hostmem runs on: host name, OS (and release), architecture and memory backend, as labels (value 1).',
    ['hostname', 'os', 'release', 'arch', 'backend'],
    (emit) => emit({ ...machine, backend: sources.backend }, 1),
  );
  return shared;
}

/**
 * A counter fed at scrape time from an array of totals: every known label set exists at 0 from the start; a slot
 * whose total grew since the previous scrape is `inc()`-ed by the difference (an unknown slot appears once above 0).
 */
function totalsCounter(
  registry: AnyRegistry,
  config: { name: string; help: string; labelNames: readonly string[] },
  totals: () => ArrayLike<number>,
  slots: readonly { readonly labels: Labels; readonly known: boolean }[],
): void {
  const exported = new Float64Array(slots.length);
  const counter = new Counter({
    ...config,
    registers: [registry],
    collect(this: Counter) {
      const now = totals();
      for (let i = 0; i < slots.length; i++) {
        const delta = now[i]! - exported[i]!;
        if (delta > 0) {
          this.inc(slots[i]!.labels, delta);
          exported[i] = now[i]!;
        }
      }
    },
  });
  for (const slot of slots) if (slot.known) counter.inc(slot.labels, 0);
}

/** A counter of a per-watch array (errors by reason): every failure reason (WALK_FAILURES) at 0 for each watch. */
function watchErrorsCounter(registry: AnyRegistry, watches: () => readonly WatchHealth[]): void {
  const exported = new Map<string, Float64Array>();
  new Counter({
    name: 'hostmem_watch_errors_total',
    help: 'Walks (and process listings) of a watch that failed, by reason: access-denied is a target hostmem may not read.',
    labelNames: ['watch', 'reason'],
    registers: [registry],
    collect(this: Counter) {
      for (const w of watches()) {
        let last = exported.get(w.watch);
        if (last === undefined) {
          last = new Float64Array(WALK_ERROR_REASONS.length);
          exported.set(w.watch, last);
          for (const reason of WALK_FAILURES) this.inc({ watch: w.watch, reason }, 0);
        }
        for (let r = 0; r < WALK_ERROR_REASONS.length; r++) {
          const delta = (w.errors[r] ?? 0) - last[r]!;
          if (delta > 0) {
            this.inc({ watch: w.watch, reason: WALK_ERROR_REASONS[r]! }, delta);
            last[r] = w.errors[r]!;
          }
        }
      }
    },
  });
}

/** A counter with one label, fed from a list of (label value, total) pairs read at scrape time. */
function listedTotalCounter(
  registry: AnyRegistry,
  config: { name: string; help: string; label: string },
  totals: () => Iterable<readonly [string, number]>,
): void {
  const exported = new Map<string, number>();
  new Counter({
    name: config.name,
    help: config.help,
    labelNames: [config.label],
    registers: [registry],
    collect(this: Counter) {
      for (const [value, total] of totals()) {
        const last = exported.get(value);
        if (last === undefined || total > last) {
          this.inc({ [config.label]: value }, total - (last ?? 0));
          exported.set(value, total);
        }
      }
    },
  });
}

const LINTED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** A registry of every hostmem metric for one exposition format; `shared` are registered as they are. */
export function buildRegistry<T extends PrometheusContentType | OpenMetricsContentType>(
  contentType: T,
  sources: RegistrySources,
  shared: readonly Gauge[],
  durations: DurationCollector,
): Registry<T> {
  const registry = new Registry<T>();
  registry.setContentType(contentType);
  const any = registry as AnyRegistry;
  for (const metric of shared) registry.registerMetric(metric);
  // prom-client's registry takes any metric that has a name and get(); its typings list only its own classes.
  registry.registerMetric(durations as unknown as Histogram);

  totalsCounter(
    any,
    {
      name: 'hostmem_host_calls_total',
      help: 'Host calls, by method and result (the HRESULT name, S_OK for success).',
      labelNames: ['method', 'result'],
    },
    () => sources.counters.calls,
    HOST_METHODS.flatMap((method) =>
      RESULT_NAMES.map((result) => ({ labels: Object.freeze({ method, result }), known: KNOWN_RESULTS.has(result) })),
    ),
  );
  totalsCounter(
    any,
    {
      name: 'hostmem_host_failures_total',
      help: 'Host calls that failed, by critical level (other: calls without one) and reason.',
      labelNames: ['level', 'reason'],
    },
    () => sources.counters.failures,
    FAILURE_GROUPS.flatMap((level) =>
      FAILURE_REASONS.map((reason) => ({ labels: Object.freeze({ level, reason }), known: true })),
    ),
  );
  const watches = (): readonly WatchHealth[] => sources.reading().watches;
  listedTotalCounter(
    any,
    {
      name: 'hostmem_watch_walks_total',
      help: 'Walks a watch has done (every process it covers), since it began.',
      label: 'watch',
    },
    () => watches().map((w) => [w.watch, w.walks] as const),
  );
  watchErrorsCounter(any, watches);
  listedTotalCounter(
    any,
    {
      name: 'hostmem_namegroup_processes_started_total',
      help: 'Processes that joined a watched name group since the watch began: starts, restarts and new workers.',
      label: 'group',
    },
    () => sources.reading().groups.map((g) => [g.group, g.started] as const),
  );

  // prom-client's default metrics for hostmem's own process (CPU, memory, handles, event loop, GC, Node version).
  collectDefaultMetrics({ register: any });
  // Three of them are gauges named `_total`, which promtool's lint refuses and OpenMetrics reserves for counters;
  // their per-type versions (nodejs_active_handles{type}, …) stay.
  for (const name of LINTED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  return registry;
}
