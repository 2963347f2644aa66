/**
 * The watched processes the metrics export: the process inspector's watchers (main/inspect), each walk summed by
 * region type when it arrives (once a second or so), so that a scrape only copies what is there. A process that
 * exits, or whose watcher stops or fails for good, is dropped at once: its series stop being exported.
 *
 * Two kinds of watch keep a health record (WatchHealth) that outlives the processes they cover:
 * - `watch(inspector, pid, name)`: one process; its record stays (0 processes, its errors) once it ended or failed;
 * - `watchName(inspector, name)`: a name group, every process of that name (as `findProcess` matches names), found
 *   by listing the processes every `rescanMs`: new workers and restarts join it as they appear, ended ones leave it,
 *   and it may begin before any such process runs. Its members are exported per pid and summed per group.
 */
import type { ProcessErrorCode, ProcessInspector } from '../../native';
import {
  REGION_TYPES,
  ProcessWatcher,
  matchesName,
  type LeakSignal,
  type TypeSummary,
  type WatchOptions,
} from '../inspect';
import {
  WALK_ERROR_REASONS,
  type NameGroupMetrics,
  type ProcessTypeBytes,
  type WatchHealth,
  type WatchedProcessMetrics,
  type WatchedProcessSource,
} from './processes';

/** One process's metrics from a summary of its walk (free address space is not a region type here). */
export function processMetrics(
  pid: number,
  name: string,
  summary: TypeSummary,
  startTime: number | null = null,
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
  return { pid, name, regions: summary.total.regions, byType, startTime };
}

/** A watch's health as it is kept (WatchHealth is the read-only copy a scrape gets). */
class Health {
  processes = 0;
  walks = 0;
  lastWalkSeconds: number | null = null;
  readonly errors: number[] = WALK_ERROR_REASONS.map(() => 0);
  constructor(readonly watch: string) {}

  error(code: ProcessErrorCode): void {
    const i = WALK_ERROR_REASONS.indexOf(code);
    this.errors[i < 0 ? WALK_ERROR_REASONS.indexOf('unknown') : i]! += 1;
  }

  snapshot(): WatchHealth {
    return {
      watch: this.watch,
      processes: this.processes,
      walks: this.walks,
      lastWalkSeconds: this.lastWalkSeconds,
      errors: [...this.errors],
    };
  }
}

/** A name group being watched. */
class Group {
  /** The members, with their `pid:start` key. */
  readonly members = new Map<ProcessWatcher, string>();
  /** `pid:start` of every process that joined (so a process is joined once; a reused pid is a new process). */
  readonly seen = new Set<string>();
  timer: NodeJS.Timeout | undefined;
  /** The listing under way, if any (a rescan asked meanwhile waits for it). */
  scanning: Promise<void> | null = null;
  stopped = false;
  constructor(
    readonly name: string,
    readonly health: Health,
  ) {}
}

interface AddOptions {
  /** Its watch's health record: walks, durations and errors are counted there. */
  readonly health?: Health;
  /** The name group it belongs to. */
  readonly group?: Group;
  /** When the process started, seconds since the epoch. */
  readonly startTime?: number | null;
  /** Its `pid:start` key in the group. */
  readonly key?: string;
}

export interface NameWatchOptions extends WatchOptions {
  /** Time between two listings of the processes, ms (default 2000). */
  readonly rescanMs?: number;
}

/** What `watchName` returns. */
export interface NameWatch {
  readonly name: string;
  /** Processes of the group walked now (pids, ascending). */
  pids(): number[];
  /** List the processes now (the next listing is `rescanMs` after this one); resolves once new members started. */
  rescan(): Promise<void>;
  /** Stop the group's watchers and its listing; its series go, its health stays. */
  stop(): void;
}

export class WatchedProcesses implements WatchedProcessSource {
  private readonly latest = new Map<ProcessWatcher, WatchedProcessMetrics>();
  private readonly detach = new Map<ProcessWatcher, () => void>();
  private readonly owned = new Set<ProcessWatcher>();
  private readonly healths: Health[] = [];
  private readonly groupList: Group[] = [];
  private snapshot: readonly WatchedProcessMetrics[] = [];
  private groupSnapshot: readonly NameGroupMetrics[] = [];

  /**
   * Export a watcher's walks until it ends or the returned function is called (the watcher itself is left running:
   * it belongs to the caller). `name` is used until a walk names the process.
   */
  add(watcher: ProcessWatcher, name: string, options: AddOptions = {}): () => void {
    if (this.detach.has(watcher)) return this.detach.get(watcher)!;
    const { health, group } = options;
    const startTime = options.startTime ?? null;
    if (health) health.processes += 1;
    if (group) group.members.set(watcher, options.key ?? '');
    const offs = [
      watcher.onWalk((e) => {
        this.latest.set(
          watcher,
          processMetrics(watcher.pid, e.walk.name ?? name, e.summary, startTime, watcher.growth()),
        );
        if (health) {
          health.walks += 1;
          health.lastWalkSeconds = e.walk.durationMs / 1000;
        }
        this.refresh();
      }),
      watcher.onExit(() => remove()),
      watcher.onError((e) => {
        health?.error(e.error.code);
        if (e.fatal) remove();
      }),
    ];
    const remove = (): void => {
      for (const off of offs) off();
      if (!this.detach.delete(watcher)) return;
      if (health) health.processes -= 1;
      group?.members.delete(watcher);
      this.latest.delete(watcher);
      this.refresh();
    };
    this.detach.set(watcher, remove);
    void watcher.done.then(remove);
    return remove;
  }

  /**
   * Start a watcher of `pid` (stopped by `dispose`), exported as above, with a health record under the pid (`watch`
   * label) that stays once the process ended or could not be read.
   */
  watch(inspector: ProcessInspector, pid: number, name: string, options: WatchOptions = {}): ProcessWatcher {
    const health = this.newHealth(String(pid));
    const watcher = this.startWatcher(inspector, pid, name, options, { health });
    // Its start time, when the OS says (a walk does not).
    void inspector.processInfo(pid).then((info) => {
      if (!info.ok || info.value.startedAt === null || !this.detach.has(watcher)) return;
      this.starts.set(watcher, info.value.startedAt / 1000);
      this.refresh();
    });
    return watcher;
  }

  /** Watch every process named `name` (see the top of this file); its health is under the name. */
  watchName(inspector: ProcessInspector, name: string, options: NameWatchOptions = {}): NameWatch {
    const group = new Group(name, this.newHealth(name));
    this.groupList.push(group);
    // Exported at 0 from now on, before the first listing (which reads every process's smaps) has answered.
    this.refresh();
    const rescanMs = Math.max(100, options.rescanMs ?? 2000);
    const listOnce = async (): Promise<void> => {
      try {
        const list = await inspector.listProcesses();
        if (group.stopped) return;
        if (!list.ok) {
          group.health.error(list.error.code);
          return;
        }
        const live = new Set<string>();
        for (const p of list.value) {
          // hostmem never watches itself by name.
          if (p.pid === process.pid || !matchesName(p, name)) continue;
          const key = `${p.pid}:${p.startedAt ?? ''}`;
          live.add(key);
          if (group.seen.has(key)) continue;
          group.seen.add(key);
          this.startWatcher(inspector, p.pid, p.name, options, {
            health: group.health,
            group,
            key,
            startTime: p.startedAt === null ? null : p.startedAt / 1000,
          });
        }
        // A member no longer listed has ended: it leaves now, not at its watcher's next walk.
        for (const [w, key] of group.members) {
          if (live.has(key)) continue;
          w.stop();
          this.detach.get(w)?.();
        }
        this.refresh();
      } finally {
        group.scanning = null;
      }
    };
    /** List now (or wait for the listing under way), then once more `rescanMs` after: one timer at a time. */
    const tick = async (): Promise<void> => {
      if (group.stopped) return;
      if (group.timer) clearTimeout(group.timer);
      group.timer = undefined;
      await (group.scanning ??= listOnce());
      if (group.stopped || group.timer !== undefined) return;
      group.timer = setTimeout(() => void tick(), rescanMs);
      if (!options.keepAlive) group.timer.unref();
    };
    void tick();
    return {
      name,
      pids: () => [...group.members.keys()].map((w) => w.pid).sort((a, b) => a - b),
      rescan: tick,
      stop: () => this.stopGroup(group),
    };
  }

  list(): readonly WatchedProcessMetrics[] {
    return this.snapshot;
  }

  groups(): readonly NameGroupMetrics[] {
    return this.groupSnapshot;
  }

  watches(): readonly WatchHealth[] {
    return this.healths.map((h) => h.snapshot());
  }

  /** Watchers being exported now (walked at least once or not). */
  get size(): number {
    return this.detach.size;
  }

  /** Stop the watchers this started and export nothing more. */
  dispose(): void {
    for (const g of this.groupList) this.stopGroup(g);
    for (const w of this.owned) w.stop();
    for (const remove of [...this.detach.values()]) remove();
  }

  private readonly starts = new Map<ProcessWatcher, number>();

  private newHealth(watch: string): Health {
    const health = new Health(watch);
    this.healths.push(health);
    return health;
  }

  private startWatcher(
    inspector: ProcessInspector,
    pid: number,
    name: string,
    options: WatchOptions,
    add: AddOptions,
  ): ProcessWatcher {
    const watcher = new ProcessWatcher(inspector, pid, { intervalMs: 1000, ...options });
    this.owned.add(watcher);
    this.add(watcher, name, add);
    void watcher.done.then(() => {
      this.owned.delete(watcher);
      this.starts.delete(watcher);
    });
    watcher.start();
    return watcher;
  }

  private stopGroup(group: Group): void {
    group.stopped = true;
    if (group.timer) clearTimeout(group.timer);
    for (const w of [...group.members.keys()]) {
      w.stop();
      this.detach.get(w)?.();
    }
  }

  private refresh(): void {
    const list: WatchedProcessMetrics[] = [];
    for (const [watcher, m] of this.latest) {
      const start = this.starts.get(watcher);
      list.push(start !== undefined && m.startTime === null ? { ...m, startTime: start } : m);
    }
    this.snapshot = list.sort((a, b) => a.pid - b.pid);
    this.groupSnapshot = this.groupList
      .filter((g) => !g.stopped)
      .map((g) => {
        const byType = new Map<
          string,
          { committed: number; reserved: number; resident: number | null; private: number | null }
        >();
        let regions = 0;
        let processes = 0;
        for (const w of g.members.keys()) {
          const m = this.latest.get(w);
          if (!m) continue;
          processes += 1;
          regions += m.regions;
          for (const t of m.byType) {
            const sum = byType.get(t.type);
            if (!sum) {
              byType.set(t.type, {
                committed: t.committed,
                reserved: t.reserved,
                resident: t.resident,
                private: t.private,
              });
              continue;
            }
            sum.committed += t.committed;
            sum.reserved += t.reserved;
            sum.resident = sum.resident === null || t.resident === null ? null : sum.resident + t.resident;
            sum.private = sum.private === null || t.private === null ? null : sum.private + t.private;
          }
        }
        const types: ProcessTypeBytes[] = [];
        for (const type of REGION_TYPES) {
          const sum = byType.get(type);
          if (sum) types.push({ type, ...sum });
        }
        return { group: g.name, processes, started: g.seen.size, regions, byType: types };
      });
  }
}
