/**
 * hostmem's Prometheus metrics: one prom-client registry per exposition format, fed per host call only by plain
 * counters (./call-counters) and, at scrape time, by the sampler's latest sample, the host's policy and state, and
 * the watched processes. `scrape(accept)` renders the text format Prometheus asked for (OpenMetrics when the Accept
 * header prefers it, the 0.0.4 text format otherwise). main/server serves it at /metrics.
 */
import { arch, hostname, platform, release } from 'node:os';
import type { Host } from '../host';
import type { Sampler } from '../telemetry/sampler';
import { buildRevision } from './build-info';
import { createCallCounters, type CallCounters } from './call-counters';
import type { WatchedProcessSource } from './processes';
import {
  buildRegistry,
  createDurationCollector,
  createSharedMetrics,
  type HostReading,
  type MachineIdentity,
  type Reading,
} from './registry';
import { Registry, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';

export {
  DURATION_BUCKETS,
  FAILURE_REASONS,
  HOST_METHODS,
  RESULT_NAMES,
  createCallCounters,
  type CallCounters,
} from './call-counters';
export {
  WALK_ERROR_REASONS,
  WALK_FAILURES,
  type NameGroupMetrics,
  type ProcessTypeBytes,
  type WatchHealth,
  type WatchedProcessMetrics,
  type WatchedProcessSource,
} from './processes';
export { MEMORY_AVAILABLE_STATES, type HostReading, type MachineIdentity } from './registry';
export { buildRevision } from './build-info';

export const PROMETHEUS_CONTENT_TYPE: PrometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE: OpenMetricsContentType = Registry.OPENMETRICS_CONTENT_TYPE;

export interface HostMetricsOptions {
  readonly host: Pick<Host, 'subscribe' | 'stats' | 'policy' | 'memoryState' | 'backend'>;
  /** Its latest sample gives the books and loads; without one yet, the host's stats are read. */
  readonly sampler: Pick<Sampler, 'latest'>;
  /** The watched processes (the process inspector's watcher). Default: none. */
  readonly processes?: WatchedProcessSource;
  /** hostmem's version, for hostmem_build_info. */
  readonly version: string;
  /** The source revision, for hostmem_build_info. Default: what the build recorded (`buildRevision()`). */
  readonly revision?: string;
  /** The machine, for hostmem_machine_info. Default: this one (node:os). */
  readonly machine?: MachineIdentity;
}

export interface Exposition {
  readonly contentType: PrometheusContentType | OpenMetricsContentType;
  readonly body: string;
}

export interface HostMetrics {
  /** The exposition for a request's Accept header (OpenMetrics when it asks for it first). */
  scrape(accept?: string): Promise<Exposition>;
  /** The counters the host listener bumps (tests and the benchmark read them). */
  readonly counters: CallCounters;
  /** The text-format prom-client registry (its documented API: getMetricsAsJSON, getSingleMetric, …). */
  readonly registry: Registry<PrometheusContentType>;
  /** Stop listening to the host. The counters keep their values. */
  dispose(): void;
}

/**
 * Whether an Accept header prefers OpenMetrics to the Prometheus text format (q-values honoured; a tie goes to
 * OpenMetrics, which is what Prometheus asks for first).
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let open = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q >= 0 && q <= 1)) continue;
    if (type === 'application/openmetrics-text') open = Math.max(open, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return open > 0 && open >= text;
}

export function createHostMetrics(options: HostMetricsOptions): HostMetrics {
  const { host, sampler } = options;
  const counters = createCallCounters();
  const unsubscribe = host.subscribe(counters.listener);

  let current: Reading | null = null;
  const read = (): Reading => {
    const sample = sampler.latest();
    const stats = sample ? null : host.stats();
    const policy = host.policy();
    const state = sample?.state ?? stats!.state;
    const h: HostReading = {
      reserved: sample?.reserved ?? stats!.reserved,
      committed: sample?.committed ?? stats!.committed,
      external: sample?.external ?? stats!.external,
      heap: sample?.heap ?? stats!.heap,
      regions: sample?.regions ?? stats!.regions,
      commitLimit: policy.commitLimit,
      reserveLimit: policy.reserveLimit,
      thresholds: policy.thresholds,
      hostLoad: sample?.hostLoad == null ? null : sample.hostLoad / 100,
      osLoad: sample?.memoryLoad == null ? null : sample.memoryLoad / 100,
      memoryAvailable: sample?.memoryAvailable ?? (['Low', 'Neutral', 'High'] as const)[host.memoryState() - 1]!,
      available: state === 'available',
    };
    const processes = options.processes;
    return {
      host: h,
      processes: processes?.list() ?? [],
      groups: processes?.groups?.() ?? [],
      watches: processes?.watches?.() ?? [],
    };
  };
  const sources = {
    counters,
    reading: (): Reading => (current ??= read()),
    version: options.version,
    revision: options.revision ?? buildRevision(),
    backend: host.backend,
    machine: options.machine ?? { hostname: hostname(), os: platform(), release: release(), arch: arch() },
  };

  const shared = createSharedMetrics(sources);
  const durations = createDurationCollector(counters);
  const text = buildRegistry(PROMETHEUS_CONTENT_TYPE, sources, shared, durations);
  let open: Registry<OpenMetricsContentType> | null = null;
  // One scrape at a time reads the host once; a second scrape waits for the first (they are a few ms each).
  let queue: Promise<unknown> = Promise.resolve();

  const render = async (openMetrics: boolean): Promise<Exposition> => {
    current = null;
    try {
      if (openMetrics) {
        open ??= buildRegistry(OPENMETRICS_CONTENT_TYPE, sources, shared, durations);
        return { contentType: OPENMETRICS_CONTENT_TYPE, body: await open.metrics() };
      }
      return { contentType: PROMETHEUS_CONTENT_TYPE, body: await text.metrics() };
    } finally {
      current = null;
    }
  };

  return {
    counters,
    registry: text,
    scrape(accept) {
      const result = queue.then(() => render(prefersOpenMetrics(accept)));
      queue = result.catch(() => undefined);
      return result;
    },
    dispose: unsubscribe,
  };
}
export { WatchedProcesses, processMetrics } from './watched-processes';
