/**
 * The watcher: walks one process at an interval and tells what changed since the last walk. It only reads the OS
 * through a `ProcessInspector`; it never touches the host.
 *
 *   const watcher = new ProcessWatcher(inspector, pid, { intervalMs: 1000 });
 *   watcher.onWalk((e) => …);    // every walk: { seq, walk, summary, diff (null for the first), changed, reused }
 *                                // (diff and changed are computed when first read: a listener that never reads
 *                                // them never pays for the diff)
 *   watcher.onChange((e) => …);  // only walks whose diff is not empty (the first walk counts as a change)
 *   watcher.onExit((e) => …);    // the process exited (or vanished): { pid, at, walks, lastWalk }; the watcher stops
 *   watcher.onError((e) => …);   // a walk failed otherwise: { error, fatal }; fatal (access denied, …) stops it
 *   watcher.growth(limit?);      // the leak signal: growth rates over the recent walks, time to a limit
 *   watcher.start();             // walks at once, then every intervalMs (cadence: see WatchOptions)
 *   await watcher.done;          // resolves with why it stopped: 'stopped' | 'exited' | 'error'
 *   watcher.stop();
 *
 * Where the inspector has a cheap fingerprint (Linux: /proc/PID/maps + statm), a tick whose fingerprint equals the
 * previous one keeps the previous regions instead of walking again (`reused: true`), so watching an idle process with
 * 100,000 mappings costs a maps read a second, not a smaps walk. Walks never overlap. With the default cadence
 * ('fixed-delay') the next walk starts `intervalMs` after the previous one ended; with 'fixed-rate' it starts
 * `intervalMs` after the previous one started, at once if that walk overran. Timers are unref'd unless `keepAlive`.
 */
import type { ProcessError, ProcessInspector, ProcessWalk, WalkOptions } from '../../native';
import { diffWalks, isEmptyDiff, type DiffOptions, type WalkDiff } from './diff';
import { GrowthTracker, type GrowthLimit, type LeakSignal } from './growth';
import { summarize, type TypeSummary } from './summary';

export interface WatchOptions extends WalkOptions, Pick<DiffOptions, 'residentThreshold'> {
  /** Time between walks, ms (default 1000): from the end of one to the start of the next, or start to start. */
  readonly intervalMs?: number;
  /** 'fixed-delay' (default): the interval runs from the end of a walk; 'fixed-rate': from its start. */
  readonly cadence?: 'fixed-delay' | 'fixed-rate';
  /** Keep the Node event loop alive while watching (a CLI's `--watch`); default false. */
  readonly keepAlive?: boolean;
  /**
   * Walk every time, even when the inspector's cheap fingerprint says nothing changed (default false: an unchanged
   * process costs a /proc/PID/maps read per interval instead of a whole smaps walk).
   */
  readonly alwaysWalk?: boolean;
  /** The window of walks the leak signal's growth rates are taken over, ms (default 5 minutes). */
  readonly growthWindowMs?: number;
  /** Clock, ms since the epoch (tests). */
  readonly now?: () => number;
}

export interface WatchWalkEvent {
  /** 1 for the first walk. */
  readonly seq: number;
  readonly walk: ProcessWalk;
  readonly summary: TypeSummary;
  /** Since the previous walk; null for the first. */
  readonly diff: WalkDiff | null;
  /** True for the first walk and whenever the diff is not empty. */
  readonly changed: boolean;
  /**
   * True when the inspector's fingerprint showed no change since the previous walk, so its regions were kept (the
   * walk is the previous one with this tick's `takenAt` and `durationMs`; the diff is empty).
   */
  readonly reused: boolean;
}

export interface WatchExitEvent {
  readonly pid: number;
  /** When the exit was seen, ms since the epoch. */
  readonly at: number;
  /** Walks completed before it. */
  readonly walks: number;
  readonly lastWalk: ProcessWalk | null;
}

export interface WatchErrorEvent {
  readonly error: ProcessError;
  /** True when the watcher stopped because of it (access denied, invalid pid, unsupported). */
  readonly fatal: boolean;
}

export type WatchEnd = 'stopped' | 'exited' | 'error';

type Listener<T> = (event: T) => void;

class Listeners<T> {
  private readonly list = new Set<Listener<T>>();
  get size(): number {
    return this.list.size;
  }
  add(cb: Listener<T>): () => void {
    this.list.add(cb);
    return () => this.list.delete(cb);
  }
  emit(event: T): void {
    for (const cb of [...this.list]) cb(event);
  }
}

export class ProcessWatcher {
  private readonly walkListeners = new Listeners<WatchWalkEvent>();
  private readonly changeListeners = new Listeners<WatchWalkEvent>();
  private readonly exitListeners = new Listeners<WatchExitEvent>();
  private readonly errorListeners = new Listeners<WatchErrorEvent>();
  private timer: NodeJS.Timeout | undefined;
  private last: ProcessWalk | null = null;
  private lastSummary: TypeSummary | null = null;
  private lastToken: string | null = null;
  private seq = 0;
  private state: 'idle' | 'running' | 'ended' = 'idle';
  private walking: Promise<void> | undefined;
  private finish: (end: WatchEnd) => void = () => {};
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly tracker: GrowthTracker;
  /** Resolves once, when the watcher stops for good, with why. */
  readonly done: Promise<WatchEnd>;

  constructor(
    private readonly inspector: ProcessInspector,
    readonly pid: number,
    private readonly options: WatchOptions = {},
  ) {
    this.intervalMs = Math.max(0, options.intervalMs ?? 1000);
    this.now = options.now ?? Date.now;
    this.tracker = new GrowthTracker(options.growthWindowMs);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  onWalk(cb: Listener<WatchWalkEvent>): () => void {
    return this.walkListeners.add(cb);
  }
  onChange(cb: Listener<WatchWalkEvent>): () => void {
    return this.changeListeners.add(cb);
  }
  onExit(cb: Listener<WatchExitEvent>): () => void {
    return this.exitListeners.add(cb);
  }
  onError(cb: Listener<WatchErrorEvent>): () => void {
    return this.errorListeners.add(cb);
  }

  /** The latest walk, if any. */
  get lastWalk(): ProcessWalk | null {
    return this.last;
  }

  get walks(): number {
    return this.seq;
  }

  /**
   * The leak signal: growth rates of committed, resident and private bytes over the recent walks, and, given a
   * limit, when committed bytes reach it at that pace. Null before the walks span a second.
   */
  growth(limit?: GrowthLimit | null): LeakSignal | null {
    return this.tracker.signal(limit);
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Start watching: one walk at once, then one every `intervalMs` after the previous ended. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.schedule(0);
  }

  /** Stop watching (a walk in progress finishes, and its result is still told). */
  stop(): void {
    this.end('stopped');
  }

  /**
   * Walk now, outside the schedule (the next scheduled walk is pushed back by a full interval). Resolves when the
   * walk has been told to the listeners.
   */
  async walkNow(): Promise<void> {
    if (this.ended) return;
    if (this.walking) return this.walking;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.tick();
  }

  private schedule(ms: number): void {
    if (this.state !== 'running') return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
    if (!this.options.keepAlive) this.timer.unref();
  }

  private tick(): Promise<void> {
    const started = performance.now();
    this.walking = this.walkOnce()
      .catch((e: unknown) => {
        // A listener threw (or the inspector broke its promise never to): told as an error, the watch goes on.
        const message = e instanceof Error ? e.message : String(e);
        this.errorListeners.emit({
          error: { code: 'unknown', pid: this.pid, native: 0, call: 'watch', message },
          fatal: false,
        });
      })
      .finally(() => {
        this.walking = undefined;
        if (this.state !== 'running' || this.timer !== undefined) return;
        const elapsed = performance.now() - started;
        this.schedule(this.options.cadence === 'fixed-rate' ? Math.max(0, this.intervalMs - elapsed) : this.intervalMs);
      });
    return this.walking;
  }

  private async walkOnce(): Promise<void> {
    const started = performance.now();
    const token = await this.fingerprint();
    if (this.ended) return;
    const last = this.last;
    if (token !== null && token === this.lastToken && last !== null && this.lastSummary !== null) {
      const walk: ProcessWalk = { ...last, takenAt: this.now(), durationMs: performance.now() - started };
      this.last = walk;
      this.tracker.add(walk.takenAt, this.lastSummary);
      this.walkListeners.emit(this.event(last, walk, this.lastSummary, this.lastSummary, true));
      return;
    }
    this.lastToken = token;
    const result = await this.inspector.walkProcess(this.pid, this.options);
    if (this.ended) return;
    if (!result.ok) {
      const { code } = result.error;
      if (code === 'exited' || code === 'no-such-process') {
        this.exitListeners.emit({ pid: this.pid, at: this.now(), walks: this.seq, lastWalk: this.last });
        this.end('exited');
        return;
      }
      const fatal = code !== 'unknown';
      this.errorListeners.emit({ error: result.error, fatal });
      if (fatal) this.end('error');
      return;
    }
    const walk = result.value;
    const previous = this.last;
    const summary = summarize(walk);
    const event = this.event(previous, walk, this.lastSummary, summary, false);
    this.last = walk;
    this.lastSummary = summary;
    this.tracker.add(walk.takenAt, summary);
    this.walkListeners.emit(event);
    if (this.changeListeners.size > 0 && event.changed) this.changeListeners.emit(event);
  }

  /** A walk event whose diff (and so `changed`) is computed once, when first read. */
  private event(
    previous: ProcessWalk | null,
    walk: ProcessWalk,
    before: TypeSummary | null,
    summary: TypeSummary,
    reused: boolean,
  ): WatchWalkEvent {
    const options = this.options;
    let diff: WalkDiff | null | undefined;
    const seq = ++this.seq;
    const getDiff = (): WalkDiff | null => {
      if (diff === undefined)
        diff =
          previous === null
            ? null
            : diffWalks(previous, walk, {
                ...options,
                summaries: before === null ? undefined : { before, after: summary },
              });
      return diff;
    };
    return {
      seq,
      walk,
      summary,
      reused,
      get diff() {
        return getDiff();
      },
      get changed() {
        if (reused) return false;
        const d = getDiff();
        return d === null || !isEmptyDiff(d);
      },
    };
  }

  /** The inspector's cheap token, or null (none, turned off, or it failed: the walk then tells what is wrong). */
  private async fingerprint(): Promise<string | null> {
    if (this.options.alwaysWalk || !this.inspector.fingerprint) return null;
    const r = await this.inspector.fingerprint(this.pid);
    return r.ok ? r.value : null;
  }

  /** Read after each await: `stop()` may have run meanwhile. */
  private get ended(): boolean {
    return this.state === 'ended';
  }

  private end(why: WatchEnd): void {
    if (this.ended) return;
    this.state = 'ended';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.finish(why);
  }
}
