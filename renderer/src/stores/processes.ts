/**
 * The Processes view's state: the process list (for the picker), the one process this page watches, its regions
 * (a Map outside Vue reactivity, folded with the contract's `applyProcessMessage`), its chart series (flat arrays
 * Chart.js reads directly), its totals by type, snapshots and their diff. A `version` counter says the view changed;
 * the filtered, sorted row list is computed lazily from it and merged rather than re-sorted after a delta.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, shallowRef } from 'vue';
import {
  ApiCallError,
  applyProcessMessage,
  DEFAULT_WATCH_INTERVAL_MS,
  ProcessOutOfSyncError,
  type ProcessDiff,
  type ProcessEnd,
  type ProcessEntry,
  type ProcessMessage,
  type ProcessRegionRow,
  type ProcessSample,
  type ProcessSnapshotInfo,
  type ProcessTypeTotals,
  type ProcessView,
  type MessageRef,
} from '../api/contract';
import {
  EMPTY_PROCESS_FILTER,
  findProcessRow,
  mergeProcessRows,
  selectProcessRows,
  type ProcessRowFilter,
  type ProcessSortKey,
} from '../lib/processRows';
import type { Point } from './series';
import { useApiStore } from './api';

export const PROCESS_LINES = ['committed', 'reserved', 'resident'] as const;
export type ProcessLine = (typeof PROCESS_LINES)[number];

/** Why a watch could not start or had to stop, as the view says it. */
export interface WatchProblem {
  readonly code: string;
  readonly message: string;
  /** The message as a code and parameters, when main sent one (the view words it in the page's language). */
  readonly reason: MessageRef | null;
}

/** The chart's points, outside reactivity (Chart.js reads these arrays with `parsing: false`). */
export class ProcessSeries {
  readonly lines: Record<ProcessLine, Point[]> = { committed: [], reserved: [], resident: [] };
  constructor(readonly maxPoints = 3600) {}
  get length(): number {
    return this.lines.committed.length;
  }
  clear(): void {
    for (const l of PROCESS_LINES) this.lines[l].length = 0;
  }
  append(samples: readonly ProcessSample[]): void {
    for (const s of samples) {
      const x = s.t;
      this.lines.committed.push({ x, y: s.committed });
      this.lines.reserved.push({ x, y: s.reserved });
      if (s.resident !== null) this.lines.resident.push({ x, y: s.resident });
    }
    const excess = this.length - this.maxPoints;
    if (excess > this.maxPoints >> 2) {
      for (const l of PROCESS_LINES) {
        const line = this.lines[l];
        line.splice(0, Math.max(0, line.length - this.maxPoints));
      }
    }
  }
}

function problemOf(e: unknown): WatchProblem {
  if (e instanceof ApiCallError) return { code: e.code, message: e.message, reason: e.reason };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e), reason: null };
}

export const useProcessesStore = defineStore('processes', () => {
  // ---- the picker
  const list = shallowRef<readonly ProcessEntry[]>([]);
  const listTotal = shallowRef(0);
  const listError = shallowRef<string | null>(null);
  const listedAt = shallowRef(0);
  /** The picker's search text (kept here: the picker goes away during a pick and comes back after a refusal). */
  const pickerQuery = shallowRef('');

  async function refreshList(): Promise<void> {
    try {
      const r = await useApiStore().api().call('listProcesses', {});
      list.value = markRaw(r.processes);
      listTotal.value = r.total;
      listError.value = null;
      listedAt.value = Date.now();
    } catch (e) {
      listError.value = problemOf(e).message;
    }
  }

  // ---- the watched process
  const pid = shallowRef<number | null>(null);
  const name = shallowRef('');
  const problem = shallowRef<WatchProblem | null>(null);
  const end = shallowRef<ProcessEnd | null>(null);
  const totals = shallowRef<readonly ProcessTypeTotals[]>([]);
  const time = shallowRef(0);
  const intervalMs = shallowRef(DEFAULT_WATCH_INTERVAL_MS);
  /** Bumped whenever the view changed (rows, totals or samples). */
  const version = shallowRef(0);
  /** Bumped when samples were added (the chart follows it). */
  const seriesVersion = shallowRef(0);
  const series = markRaw(new ProcessSeries());
  let view: ProcessView | undefined;
  /** A watch request in flight (a later pick wins). */
  let watchToken = 0;

  // ---- the region table
  const filter = reactive<ProcessRowFilter>({ ...EMPTY_PROCESS_FILTER });
  const sortKey = shallowRef<ProcessSortKey>('base');
  const descending = shallowRef(false);
  const stale = new Set<ProcessRegionRow>();
  const incoming: ProcessRegionRow[] = [];
  let overflow = true;
  let last: { list: readonly ProcessRegionRow[]; key: string } | undefined;

  function resetView(): void {
    view = undefined;
    stale.clear();
    incoming.length = 0;
    overflow = true;
    last = undefined;
    series.clear();
    totals.value = [];
    end.value = null;
    seriesVersion.value++;
    version.value++;
  }

  function apply(message: ProcessMessage): void {
    if (message.pid !== pid.value) return; // an old watch's last pushes
    const before = view;
    if (message.kind === 'delta' && before !== undefined && !overflow) {
      for (const base of message.removed) {
        const r = before.rows.get(base);
        if (r) stale.add(r);
      }
      for (const r of message.updated) {
        const old = before.rows.get(r.base);
        if (old) stale.add(old);
      }
    }
    try {
      view = markRaw(applyProcessMessage(view, message));
    } catch (e) {
      if (!(e instanceof ProcessOutOfSyncError)) throw e;
      // A gap: watch again, which sends this page a full message.
      void watch(message.pid);
      return;
    }
    time.value = view.time;
    name.value = view.name;
    intervalMs.value = view.intervalMs;
    end.value = view.end;
    if (message.kind === 'full') {
      overflow = true;
      series.clear();
      series.append(view.history);
      totals.value = view.totals;
      seriesVersion.value++;
    } else if (message.kind === 'delta') {
      if (!overflow) {
        incoming.push(...message.added, ...message.updated);
        if (stale.size + incoming.length > view.rows.size / 4 + 1000) overflow = true;
      }
      series.append([message.sample]);
      if (message.totals) totals.value = message.totals;
      seriesVersion.value++;
    }
    version.value++;
  }

  /** Watch `target` (this page watches one process at a time: the previous one is let go). */
  async function watch(target: number): Promise<boolean> {
    const api = useApiStore().api();
    const token = ++watchToken;
    const previous = pid.value;
    if (previous !== null && previous !== target) {
      api.call('unwatchProcess', { pid: previous }).catch(() => {});
    }
    if (previous !== target) {
      pid.value = target;
      name.value = list.value.find((p) => p.pid === target)?.name ?? '';
      resetView();
    }
    problem.value = null;
    try {
      const r = await api.call('watchProcess', { pid: target });
      if (token !== watchToken) return false;
      name.value = r.name;
      return true;
    } catch (e) {
      if (token !== watchToken) return false;
      problem.value = problemOf(e);
      return false;
    }
  }

  /** Stop watching: back to the picker. */
  function unwatch(): void {
    const current = pid.value;
    watchToken++;
    pid.value = null;
    problem.value = null;
    resetView();
    snapshots.value = [];
    diff.value = null;
    if (current !== null) {
      useApiStore()
        .api()
        .call('unwatchProcess', { pid: current })
        .catch(() => {});
    }
  }

  /** After a reconnection the server forgot this page's watch: ask again. */
  function rewatch(): void {
    if (pid.value !== null && end.value === null) void watch(pid.value);
  }

  /** The rows filtered and sorted as asked (computed only while the table reads it). */
  const visible = computed<readonly ProcessRegionRow[]>(() => {
    void version.value;
    const rows = view?.rows;
    if (rows === undefined) return [];
    const f = { ...filter };
    const key = JSON.stringify([f, sortKey.value, descending.value]);
    const list =
      last !== undefined && last.key === key && !overflow
        ? mergeProcessRows(last.list, stale, incoming, f, sortKey.value, descending.value)
        : selectProcessRows(rows.values(), f, sortKey.value, descending.value);
    stale.clear();
    incoming.length = 0;
    overflow = false;
    const out = markRaw(list) as readonly ProcessRegionRow[];
    last = { list: out, key };
    return out;
  });

  const count = computed(() => {
    void version.value;
    return view?.rows.size ?? 0;
  });

  function sortBy(key: ProcessSortKey): void {
    if (sortKey.value === key) descending.value = !descending.value;
    else {
      sortKey.value = key;
      descending.value = key !== 'base' && key !== 'state' && key !== 'type' && key !== 'file';
    }
  }

  function find(address: number): ProcessRegionRow | undefined {
    const rows = view?.rows;
    if (rows === undefined) return undefined;
    const byBase =
      sortKey.value === 'base' && !descending.value && visible.value.length === rows.size
        ? visible.value
        : [...rows.values()].sort((a, b) => a.base - b.base);
    return findProcessRow(byBase, address);
  }

  // ---- snapshots
  const snapshots = shallowRef<readonly ProcessSnapshotInfo[]>([]);
  const diff = shallowRef<ProcessDiff | null>(null);

  async function refreshSnapshots(): Promise<void> {
    if (pid.value === null) return;
    snapshots.value = (await useApiStore().api().call('processSnapshots', { pid: pid.value })).snapshots;
  }

  async function takeSnapshot(label?: string): Promise<number | null> {
    if (pid.value === null) return null;
    const r = await useApiStore()
      .api()
      .call('takeProcessSnapshot', { pid: pid.value, ...(label ? { label } : {}) });
    await refreshSnapshots();
    return r.id;
  }

  async function compare(a: number, b: number): Promise<void> {
    if (pid.value === null) return;
    diff.value = (await useApiStore().api().call('diffProcessSnapshots', { pid: pid.value, a, b })).diff;
  }

  return {
    list,
    listTotal,
    listError,
    listedAt,
    pickerQuery,
    refreshList,
    pid,
    name,
    problem,
    end,
    totals,
    time,
    intervalMs,
    version,
    seriesVersion,
    series,
    filter,
    sortKey,
    descending,
    visible,
    count,
    apply,
    watch,
    unwatch,
    rewatch,
    sortBy,
    find,
    snapshots,
    diff,
    refreshSnapshots,
    takeSnapshot,
    compare,
  };
});
