/**
 * The watched processes the metrics export: the process inspector's watchers (main/inspect), each walk summed by
 * region type when it arrives (once a second or so), so that a scrape only copies what is there. A process that
 * exits, or whose watcher stops or fails for good, is dropped at once: its series stop being exported.
 */
import type { ProcessInspector } from '../../native';
import { REGION_TYPES, ProcessWatcher, type LeakSignal, type TypeSummary, type WatchOptions } from '../inspect';
import type { ProcessTypeBytes, WatchedProcessMetrics, WatchedProcessSource } from './processes';

/** One process's metrics from a summary of its walk (free address space is not a region type here). */
export function processMetrics(
  pid: number,
  name: string,
  summary: TypeSummary,
  growth: LeakSignal | null = null,
): WatchedProcessMetrics {
  const byType: ProcessTypeBytes[] = [];
  for (const type of REGION_TYPES) {
    if (type === 'free') continue;
    const t = summary.byType[type];
    if (t.regions === 0) continue;
    const g = growth?.byType[type];
    byType.push({
      type,
      committed: t.committed,
      reserved: t.size,
      resident: t.resident,
      private: t.private,
      committedGrowth: g?.committed ?? null,
      residentGrowth: g?.resident ?? null,
      privateGrowth: g?.private ?? null,
    });
  }
  return { pid, name, regions: summary.total.regions, byType };
}

export class WatchedProcesses implements WatchedProcessSource {
  private readonly latest = new Map<ProcessWatcher, WatchedProcessMetrics>();
  private readonly detach = new Map<ProcessWatcher, () => void>();
  private readonly owned = new Set<ProcessWatcher>();
  private snapshot: readonly WatchedProcessMetrics[] = [];

  /**
   * Export a watcher's walks until it ends or the returned function is called (the watcher itself is left running:
   * it belongs to the caller). `name` is used until a walk names the process.
   */
  add(watcher: ProcessWatcher, name: string): () => void {
    if (this.detach.has(watcher)) return this.detach.get(watcher)!;
    const offs = [
      watcher.onWalk((e) => {
        this.latest.set(watcher, processMetrics(watcher.pid, e.walk.name ?? name, e.summary, watcher.growth()));
        this.refresh();
      }),
      watcher.onExit(() => remove()),
      watcher.onError((e) => {
        if (e.fatal) remove();
      }),
    ];
    const remove = (): void => {
      for (const off of offs) off();
      this.detach.delete(watcher);
      if (this.latest.delete(watcher)) this.refresh();
    };
    this.detach.set(watcher, remove);
    void watcher.done.then(remove);
    return remove;
  }

  /** Start a watcher of `pid` (stopped by `dispose`), exported as above. */
  watch(inspector: ProcessInspector, pid: number, name: string, options: WatchOptions = {}): ProcessWatcher {
    const watcher = new ProcessWatcher(inspector, pid, { intervalMs: 1000, ...options });
    this.owned.add(watcher);
    this.add(watcher, name);
    void watcher.done.then(() => this.owned.delete(watcher));
    watcher.start();
    return watcher;
  }

  list(): readonly WatchedProcessMetrics[] {
    return this.snapshot;
  }

  /** Watchers being exported now (walked at least once or not). */
  get size(): number {
    return this.detach.size;
  }

  /** Stop the watchers this started and export nothing more. */
  dispose(): void {
    for (const w of this.owned) w.stop();
    for (const remove of [...this.detach.values()]) remove();
  }

  private refresh(): void {
    this.snapshot = [...this.latest.values()].sort((a, b) => a.pid - b.pid);
  }
}
