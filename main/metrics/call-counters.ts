/**
 * The per-call part of the metrics: plain typed-array counters indexed by method, result, level and reason, and the
 * call durations' buckets, bumped by one host event listener. Nothing is allocated per call and nothing is formatted
 * or hashed: labels and series are made only at scrape time (./registry), from these arrays.
 */
import type { HResultName } from '../vocabulary';
import { FAILURE_GROUPS, HR, type FailureGroup, type FailureReason, type HostEvent, type HostMethod } from '../host';

/** Every HostMethod, in a fixed order (the counters' index). The check below fails to compile if one is missing. */
export const HOST_METHODS = [
  'VirtualAlloc',
  'VirtualFree',
  'VirtualQuery',
  'VirtualProtect',
  'GetMemoryLoad',
  'RegisterMemoryNotificationCallback',
  'NeedsVirtualAddressSpace',
  'AcquiredVirtualAddressSpace',
  'ReleasedVirtualAddressSpace',
  'CreateMalloc',
  'Alloc',
  'DebugAlloc',
  'Free',
  'Fill',
  'Check',
] as const satisfies readonly HostMethod[];
const everyMethodListed: [Exclude<HostMethod, (typeof HOST_METHODS)[number]>] extends [never] ? true : never = true;
void everyMethodListed;

/** Every FailureReason (the `reason` label), in a fixed order; compile-checked like HOST_METHODS. */
export const FAILURE_REASONS = [
  'policy',
  'os',
  'injected',
  'timeout',
  'unavailable',
  'invalid',
] as const satisfies readonly FailureReason[];
const everyReasonListed: [Exclude<FailureReason, (typeof FAILURE_REASONS)[number]>] extends [never] ? true : never =
  true;
void everyReasonListed;

/**
 * The `result` label: the HRESULT's name (HR's keys, e.g. S_OK, E_OUTOFMEMORY), `other` for anything else. Every
 * HRESULT the host knows is a known result (its series exist at 0 from the start); `other` (OTHER_RESULT) appears
 * only once a call answered something else.
 */
export const RESULT_NAMES: readonly string[] = [...Object.keys(HR), 'other'];
export const OTHER_RESULT = RESULT_NAMES.length - 1;
/** The results exported at 0 from the start: every HRESULT the host produces (HOST_E_NOT_OWNER it never does). */
export const KNOWN_RESULTS: ReadonlySet<string> = new Set(
  Object.keys(HR).filter((name) => name !== ('HOST_E_NOT_OWNER' satisfies HResultName)),
);
const RESULT_INDEX: ReadonlyMap<number, number> = new Map(Object.values(HR).map((hr, i) => [hr, i]));

const METHOD_INDEX = Object.fromEntries(HOST_METHODS.map((m, i) => [m, i])) as Readonly<Record<HostMethod, number>>;
const GROUP_INDEX = Object.fromEntries(FAILURE_GROUPS.map((g, i) => [g, i])) as Readonly<Record<FailureGroup, number>>;
const REASON_INDEX = Object.fromEntries(FAILURE_REASONS.map((r, i) => [r, i])) as Readonly<
  Record<FailureReason, number>
>;

/**
 * Upper bounds of the call-duration buckets, seconds. A host call is microseconds when the OS answers at once; an
 * eProcessCritical request may wait for memory (processCriticalWaitMs, 2 s by default), hence the long tail.
 */
export const DURATION_BUCKETS: readonly number[] = [
  1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5, 10,
];

/** The counters (read at scrape time; never reset: Prometheus counters only go up). */
export interface CallCounters {
  /** Calls, `[method * RESULT_NAMES.length + result]`. */
  readonly calls: Float64Array;
  /** Failures, `[group * FAILURE_REASONS.length + reason]` (groups in FAILURE_GROUPS order). */
  readonly failures: Float64Array;
  /** Call durations: per method, one count per bucket then one for +Inf (not cumulative). */
  readonly durationBuckets: Float64Array;
  /** Sum of the measured durations per method, seconds. */
  readonly durationSum: Float64Array;
  /** The host event listener that feeds them (host.subscribe(counters.listener)). */
  readonly listener: (event: HostEvent) => void;
}

export const DURATION_SLOTS = DURATION_BUCKETS.length + 1;

export function createCallCounters(): CallCounters {
  const results = RESULT_NAMES.length;
  const reasons = FAILURE_REASONS.length;
  const bounds = Float64Array.from(DURATION_BUCKETS);
  const nBounds = bounds.length;
  const calls = new Float64Array(HOST_METHODS.length * results);
  const failures = new Float64Array(FAILURE_GROUPS.length * reasons);
  const durationBuckets = new Float64Array(HOST_METHODS.length * DURATION_SLOTS);
  const durationSum = new Float64Array(HOST_METHODS.length);

  const listener = (event: HostEvent): void => {
    if (event.kind === 'call') {
      const m = METHOD_INDEX[event.method];
      calls[m * results + (RESULT_INDEX.get(event.result.hr) ?? OTHER_RESULT)]! += 1;
      const seconds = event.durationMs / 1000;
      // NaN (a call that began before anyone listened) is not measured.
      if (seconds >= 0) {
        let b = 0;
        while (b < nBounds && seconds > bounds[b]!) b++;
        durationBuckets[m * DURATION_SLOTS + b]! += 1;
        durationSum[m]! += seconds;
      }
    } else if (event.kind === 'failure') {
      const f = event.failure;
      failures[GROUP_INDEX[f.level] * reasons + REASON_INDEX[f.reason]]! += 1;
    }
  };
  return { calls, failures, durationBuckets, durationSum, listener };
}
