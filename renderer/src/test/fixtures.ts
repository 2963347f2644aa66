/** Message builders for the renderer's tests. */
import type { DeltaMessage, FailureRow, FullMessage, HostInfo, RegionRow, Sample, StatsRow } from '../api/contract';

export const T0 = 1_700_000_000_000;

export const hostInfo: HostInfo = {
  backend: 'posix',
  pageSize: 4096,
  allocationGranularity: 65536,
  policy: {
    commitLimit: 64 * 1024 * 1024,
    reserveLimit: null,
    thresholds: { eTaskCritical: 0.9, eAppDomainCritical: 0.95, eProcessCritical: 1 },
    processCriticalWaitMs: 2000,
    faults: [],
    seed: 1,
  },
  state: { state: 'available', cause: null, since: null },
  memoryAvailable: 'High',
};

export function row(base: number, over: Partial<RegionRow> = {}): RegionRow {
  return {
    base,
    size: 65536,
    committed: 4096,
    level: 'eTaskCritical',
    tag: 'cache',
    protect: 4,
    allocationProtect: 4,
    created: T0,
    runs: 1,
    ...over,
  };
}

export function stats(over: Partial<StatsRow> = {}): StatsRow {
  return {
    reserved: 0,
    committed: 0,
    external: 0,
    heap: 0,
    regions: 0,
    failures: { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 },
    ...over,
  };
}

export function sample(t: number, committed: number, over: Partial<Sample> = {}): Sample {
  return {
    t,
    reserved: committed * 2,
    committed,
    external: 0,
    heap: 0,
    regions: 1,
    memoryLoad: 40,
    hostLoad: 10,
    commitLimit: hostInfo.policy.commitLimit,
    workingSet: null,
    privateBytes: null,
    failures: { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 },
    state: 'available',
    memoryAvailable: 'High',
    ...over,
  };
}

let failureSeq = 1;
export function failure(level: FailureRow['level'], over: Partial<FailureRow> = {}): FailureRow {
  return {
    seq: failureSeq++,
    time: T0,
    method: 'VirtualAlloc',
    size: 1 << 20,
    address: null,
    flags: 0x3000,
    level,
    hr: 0x8007000e,
    reason: 'policy',
    tag: 'big',
    ...over,
  };
}

export function full(over: Partial<FullMessage> = {}): FullMessage {
  return {
    type: 'full',
    seq: 1,
    time: T0,
    host: hostInfo,
    stats: stats(),
    rows: [],
    complete: true,
    failures: [],
    samples: [],
    ...over,
  };
}

export function delta(seq: number, over: Partial<DeltaMessage> = {}): DeltaMessage {
  return {
    type: 'delta',
    seq,
    time: T0 + seq * 50,
    stats: stats(),
    samples: [],
    added: [],
    updated: [],
    removed: [],
    failures: [],
    failuresDropped: 0,
    complete: true,
    ...over,
  };
}
