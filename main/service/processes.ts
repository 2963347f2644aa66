/**
 * The service's process part: watches of real processes, shared by every connected UI. One walk loop per watched
 * pid, whoever asked; each UI that watches it gets a first `full` message, then one `delta` per walk with only what
 * changed (the regions whose shown values differ from the previous walk, found by one merge over the two
 * address-ordered walks and only those made into rows, and the totals by type when they moved), and an `end` when
 * the process exits or can no longer be read.
 *
 * The walks are the inspector's `ProcessWatcher`'s, at a fixed rate (every `intervalMs` from the start of the
 * previous one; at once when a walk took longer; never two at a time), so a change reaches a UI within one interval
 * plus one walk; an idle process whose cheap fingerprint did not change costs no walk at all (its regions are the
 * same objects, which the row diff skips at once). The watcher's own diff of two walks is lazy and not read here. The last picture stays (for the page, snapshots, the diff and reports) until the last UI
 * lets the watch go.
 *
 * At most `maxWatches` processes are walked at once (every UI together); past that a watch is refused, naming
 * those watched. A watch starts with one walk in the request itself, so a process that is gone or that the OS
 * refuses to read is refused at once with the OS's reason.
 */
import type { ProcessError, ProcessInfo, ProcessInspector, ProcessWalk } from '../../native';
import {
  DEFAULT_WATCH_INTERVAL_MS,
  MAX_PROCESS_HISTORY,
  MAX_PROCESS_SNAPSHOT_REGIONS,
  MAX_PROCESS_SNAPSHOTS,
  MAX_PROCESS_WATCHES,
  messageText,
  type MessageRef,
  type ApiError,
  type ProcessEnd,
  type ProcessEntry,
  type ProcessMessage,
  type ProcessRegionRow,
  type ProcessResults,
  type ProcessSample,
  type ProcessSnapshotInfo,
  type ProcessTypeTotals,
  type WatchResult,
} from '../contract';
import type { ProcessRegion } from '../../native';
import { ProcessWatcher, summarize, type TypeSummary } from '../inspect';
import { processDiff, processRow, processSample, typeTotals } from '../reports';

/** A refusal the service answers with (its code and message go to the UI as they are). */
export class ProcessRequestError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

const refused = (message: string): ProcessRequestError => new ProcessRequestError({ code: 'refused', message });
const notFound = (message: string): ProcessRequestError => new ProcessRequestError({ code: 'not-found', message });
/** A refusal worded by a message code (the UI translates it; `message` is its English text). */
const coded = (code: ApiError['code'], reason: MessageRef): ProcessRequestError =>
  new ProcessRequestError({ code, message: messageText(reason), reason });

/** Whether two regions at the same base show the same row (the fields processRow reads). */
function sameShown(a: ProcessRegion, b: ProcessRegion): boolean {
  return (
    a.size === b.size &&
    a.state === b.state &&
    a.type === b.type &&
    a.protect === b.protect &&
    a.committed === b.committed &&
    a.resident === b.resident &&
    a.private === b.private &&
    a.file === b.file &&
    a.label === b.label &&
    a.use === b.use
  );
}

/**
 * The regions whose rows differ between two address-ordered walks: one merge, no hashing of addresses, and only the
 * changed regions made into rows. Pure: exported for tests and the benchmark.
 */
export function diffRegions(
  before: readonly ProcessRegion[],
  after: readonly ProcessRegion[],
): { added: ProcessRegionRow[]; updated: ProcessRegionRow[]; removed: number[] } {
  const added: ProcessRegionRow[] = [];
  const updated: ProcessRegionRow[] = [];
  const removed: number[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const x = before[i];
    const y = after[j];
    if (x !== undefined && (y === undefined || x.baseAddress < y.baseAddress)) {
      removed.push(x.baseAddress);
      i++;
    } else if (y !== undefined && (x === undefined || y.baseAddress < x.baseAddress)) {
      added.push(processRow(y));
      j++;
    } else {
      if (x !== y && !sameShown(x!, y!)) updated.push(processRow(y!));
      i++;
      j++;
    }
  }
  return { added, updated, removed };
}

function sameTotals(a: readonly ProcessTypeTotals[], b: readonly ProcessTypeTotals[]): boolean {
  return a.every((x, i) => {
    const y = b[i]!;
    return (
      x.size === y.size &&
      x.committed === y.committed &&
      x.resident === y.resident &&
      x.private === y.private &&
      x.regions === y.regions
    );
  });
}

/** Words for an inspector error: the OS's message and what would allow it. */
export function describeProcessError(error: ProcessError): string {
  return error.hint ? `${error.message} (${error.hint})` : error.message;
}

/** Where a watch's pushes go: one per connected UI. */
export interface ProcessClient {
  /** This UI's pushes (process messages only). */
  send(message: ProcessMessage): void;
}

interface Subscriber {
  seq: number;
  needFull: boolean;
}

interface Snapshot {
  readonly info: ProcessSnapshotInfo;
  readonly walk: ProcessWalk;
}

class Watch {
  name: string;
  totals: readonly ProcessTypeTotals[] = [];
  readonly history: ProcessSample[] = [];
  end: ProcessEnd | null = null;
  time = 0;
  first: ProcessWalk | null = null;
  last: ProcessWalk | null = null;
  readonly subscribers = new Map<ProcessClient, Subscriber>();
  readonly snapshots: Snapshot[] = [];
  /** The last walk's rows, made when a full message needs them. */
  private rowsOfLast: readonly ProcessRegionRow[] | null = null;
  private stopped = false;
  private readonly watcher: ProcessWatcher;

  constructor(
    inspector: ProcessInspector,
    readonly pid: number,
    name: string,
    readonly intervalMs: number,
    private readonly now: () => number,
    first: ProcessWalk,
    onWatcher: WatcherListener | undefined,
  ) {
    this.name = name;
    this.take(first, summarize(first));
    this.watcher = new ProcessWatcher(inspector, pid, { intervalMs, now, cadence: 'fixed-rate', includeFree: true });
    this.watcher.onWalk((e) => this.onWalk(e.walk, e.summary));
    this.watcher.onExit((e) =>
      this.finish({ reason: 'exited', time: e.at, message: `process ${pid} (${this.name}) exited` }),
    );
    onWatcher?.(this.watcher, name);
    this.watcher.onError((e) => {
      if (!e.fatal) return; // a passing failure: the next walk tries again
      this.finish({
        reason: e.error.code === 'access-denied' ? 'access-denied' : 'failed',
        time: this.now(),
        message: describeProcessError(e.error),
      });
    });
    this.watcher.start();
  }

  get running(): boolean {
    return this.end === null && !this.stopped;
  }

  /** Walk now (a snapshot wants the process as it is); the fixed rate goes on from this walk. */
  walkNow(): Promise<void> {
    return this.running ? this.watcher.walkNow() : Promise.resolve();
  }

  /** Let the watch go (the last UI unwatched it). */
  stop(): void {
    this.stopped = true;
    this.watcher.stop();
  }

  /** The last walk's rows (made once per walk, when asked). */
  rows(): readonly ProcessRegionRow[] {
    this.rowsOfLast ??= this.last === null ? [] : this.last.regions.map(processRow);
    return this.rowsOfLast;
  }

  /** Keep a walk as the last picture; returns whether the totals moved. */
  private take(walk: ProcessWalk, summary: TypeSummary): { sample: ProcessSample; totalsChanged: boolean } {
    const totals = typeTotals(summary);
    const totalsChanged = this.totals.length === 0 || !sameTotals(this.totals, totals);
    const sample = processSample(walk, summary);
    this.totals = totals;
    this.time = walk.takenAt;
    if (walk.name) this.name = walk.name;
    this.first ??= walk;
    this.last = walk;
    this.rowsOfLast = null;
    this.history.push(sample);
    if (this.history.length > MAX_PROCESS_HISTORY) this.history.splice(0, this.history.length - MAX_PROCESS_HISTORY);
    return { sample, totalsChanged };
  }

  subscribe(client: ProcessClient): void {
    const sub = this.subscribers.get(client) ?? { seq: 0, needFull: true };
    sub.needFull = true;
    this.subscribers.set(client, sub);
    // Anything walked already goes out now; else the first walk sends it.
    if (this.last !== null) this.sendFull(client, sub);
  }

  private sendFull(client: ProcessClient, sub: Subscriber): void {
    sub.seq = 1;
    sub.needFull = false;
    client.send({
      type: 'process',
      kind: 'full',
      pid: this.pid,
      seq: 1,
      time: this.time,
      name: this.name,
      intervalMs: this.intervalMs,
      totals: this.totals,
      rows: this.rows(),
      history: this.history,
      ...(this.end !== null && { exited: this.end }),
    });
  }

  private onWalk(walk: ProcessWalk, summary: TypeSummary): void {
    const changes = diffRegions(this.last?.regions ?? [], walk.regions);
    const { sample, totalsChanged } = this.take(walk, summary);
    for (const [client, sub] of this.subscribers) {
      if (sub.needFull) {
        this.sendFull(client, sub);
        continue;
      }
      sub.seq++;
      client.send({
        type: 'process',
        kind: 'delta',
        pid: this.pid,
        seq: sub.seq,
        time: this.time,
        sample,
        ...(totalsChanged && { totals: this.totals }),
        added: changes.added,
        updated: changes.updated,
        removed: changes.removed,
      });
    }
  }

  private finish(end: ProcessEnd): void {
    if (this.end !== null) return;
    this.end = end;
    this.watcher.stop();
    for (const [client, sub] of this.subscribers) {
      // Not sent a picture yet: the full message carries the end (and whatever was walked).
      if (sub.needFull) {
        this.sendFull(client, sub);
        continue;
      }
      sub.seq++;
      client.send({ type: 'process', kind: 'end', pid: this.pid, seq: sub.seq, ...end });
    }
  }

  snapshot(label: string | undefined, id: number): ProcessSnapshotInfo {
    const walk = this.last;
    if (walk === null) throw refused(`process ${this.pid} has not been walked yet; try again in a moment`);
    const summary = summarize(walk);
    const info: ProcessSnapshotInfo = {
      id,
      pid: this.pid,
      time: walk.takenAt,
      label: label ?? null,
      regions: summary.total.regions,
      committed: summary.total.committed,
      reserved: summary.total.size,
      resident: summary.total.resident,
    };
    this.snapshots.push({ info, walk });
    // The oldest go first, past the count or the regions held (the two newest always stay: a diff needs them).
    const held = (): number => this.snapshots.reduce((n, x) => n + x.walk.regions.length, 0);
    while (
      this.snapshots.length > 2 &&
      (this.snapshots.length > MAX_PROCESS_SNAPSHOTS || held() > MAX_PROCESS_SNAPSHOT_REGIONS)
    ) {
      this.snapshots.shift();
    }
    return info;
  }
}

export interface ProcessWatchesOptions {
  readonly inspector: ProcessInspector;
  /** Default MAX_PROCESS_WATCHES. */
  readonly maxWatches?: number;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /** Told of every watcher a watch starts, before its first walk (the metrics export what every UI watches). */
  readonly onWatcher?: WatcherListener;
}

/** Told of a watcher the service starts, and the process's name; the watcher stays the service's. */
export type WatcherListener = (watcher: ProcessWatcher, name: string) => void;

/** Every watch of the service, and what each UI watches. */
export class ProcessWatches {
  private readonly watches = new Map<number, Watch>();
  private readonly inspector: ProcessInspector;
  private readonly maxWatches: number;
  private readonly now: () => number;
  private readonly onWatcher: WatcherListener | undefined;
  private nextSnapshotId = 1;
  private disposed = false;

  constructor(options: ProcessWatchesOptions) {
    this.inspector = options.inspector;
    this.maxWatches = options.maxWatches ?? MAX_PROCESS_WATCHES;
    this.now = options.now ?? Date.now;
    this.onWatcher = options.onWatcher;
  }

  /** Processes walked now (ended watches kept for their last picture are not counted). */
  get running(): number {
    let n = 0;
    for (const w of this.watches.values()) if (w.running) n++;
    return n;
  }

  private watching(): { pid: number; name: string }[] {
    return [...this.watches.values()].filter((w) => w.running).map((w) => ({ pid: w.pid, name: w.name }));
  }

  async list(query: string | undefined, limit: number | undefined): Promise<ProcessResults['listProcesses']> {
    const listed = await this.inspector.listProcesses();
    if (!listed.ok) throw refused(`cannot list processes: ${describeProcessError(listed.error)}`);
    const q = (query ?? '').trim().toLowerCase();
    const entries: ProcessEntry[] = listed.value
      .filter((p) => q === '' || p.name.toLowerCase().includes(q) || String(p.pid).startsWith(q))
      .map((p: ProcessInfo) => ({
        pid: p.pid,
        name: p.name,
        committed: p.privateBytes,
        resident: p.workingSet,
        // The cheap counters are what a walk needs too: none readable, no walk either.
        accessible: p.privateBytes !== null || p.workingSet !== null,
      }))
      .sort((a, b) => (b.committed ?? -1) - (a.committed ?? -1) || a.pid - b.pid);
    return { processes: entries.slice(0, limit ?? 2000), total: entries.length };
  }

  /** Watch `pid` for `client` (joins a watch of the same pid; a watch that ended is started afresh). */
  async watch(client: ProcessClient, pid: number, intervalMs?: number): Promise<WatchResult> {
    if (this.disposed) throw coded('refused', { code: 'service-closing', params: {} });
    let watch = this.watches.get(pid);
    if (watch !== undefined && !watch.running) {
      // The same pid again after an exit: maybe another process now. Start over.
      this.drop(watch);
      watch = undefined;
    }
    if (watch === undefined) {
      if (this.running >= this.maxWatches) {
        const names = this.watching()
          .map((w) => `${w.pid} ${w.name}`)
          .join(', ');
        throw coded('refused', {
          code: 'process-watch-limit',
          params: { max: this.maxWatches, watching: names },
        });
      }
      const first = await this.inspector.walkProcess(pid, { includeFree: true });
      if (!first.ok) {
        const params = { pid, detail: describeProcessError(first.error) };
        if (first.error.code === 'no-such-process' || first.error.code === 'exited') {
          throw coded('not-found', { code: 'process-not-running', params });
        }
        if (first.error.code === 'access-denied') throw coded('refused', { code: 'process-access-denied', params });
        throw coded('refused', { code: 'process-unreadable', params });
      }
      // Another request may have started it meanwhile.
      watch = this.watches.get(pid);
      if (watch === undefined) {
        if (this.running >= this.maxWatches) {
          throw refused(`at most ${this.maxWatches} processes are watched at once; stop watching one first`);
        }
        watch = new Watch(
          this.inspector,
          pid,
          first.value.name ?? `pid ${pid}`,
          intervalMs ?? DEFAULT_WATCH_INTERVAL_MS,
          this.now,
          first.value,
          this.onWatcher,
        );
        this.watches.set(pid, watch);
      }
    }
    watch.subscribe(client);
    return { pid, name: watch.name, intervalMs: watch.intervalMs, watching: this.watching() };
  }

  unwatch(client: ProcessClient, pid: number): ProcessResults['unwatchProcess'] {
    const watch = this.watches.get(pid);
    if (watch !== undefined) {
      watch.subscribers.delete(client);
      if (watch.subscribers.size === 0) this.drop(watch);
    }
    return { pid, watching: this.watching() };
  }

  /** A UI went away: let go of its watches. */
  close(client: ProcessClient): void {
    for (const watch of [...this.watches.values()]) {
      if (watch.subscribers.delete(client) && watch.subscribers.size === 0) this.drop(watch);
    }
  }

  private drop(watch: Watch): void {
    watch.stop();
    if (this.watches.get(watch.pid) === watch) this.watches.delete(watch.pid);
  }

  private get(pid: number): Watch {
    const watch = this.watches.get(pid);
    if (watch === undefined) throw notFound(`process ${pid} is not watched: watch it first`);
    return watch;
  }

  async takeSnapshot(pid: number, label?: string): Promise<ProcessResults['takeProcessSnapshot']> {
    const watch = this.get(pid);
    await watch.walkNow();
    const info = watch.snapshot(label, this.nextSnapshotId++);
    return { id: info.id, snapshot: info };
  }

  snapshots(pid: number): ProcessResults['processSnapshots'] {
    return { snapshots: this.get(pid).snapshots.map((s) => s.info) };
  }

  diff(pid: number, a: number, b: number): ProcessResults['diffProcessSnapshots'] {
    const watch = this.get(pid);
    const find = (id: number): Snapshot => {
      const s = watch.snapshots.find((x) => x.info.id === id);
      if (s === undefined) throw notFound(`no snapshot ${id} of process ${pid}`);
      return s;
    };
    const x = find(a);
    const y = find(b);
    return { diff: processDiff(pid, { ...x.info, walk: x.walk }, { ...y.info, walk: y.walk }) };
  }

  /** What a report of the watch needs: the first and last walks and the samples. */
  recorded(pid: number): {
    name: string;
    first: ProcessWalk;
    last: ProcessWalk;
    history: readonly ProcessSample[];
    end: ProcessEnd | null;
  } {
    const watch = this.get(pid);
    if (watch.first === null || watch.last === null) {
      throw refused(`process ${pid} has not been walked yet; try again in a moment`);
    }
    return { name: watch.name, first: watch.first, last: watch.last, history: watch.history, end: watch.end };
  }

  dispose(): void {
    this.disposed = true;
    for (const watch of [...this.watches.values()]) this.drop(watch);
  }
}
