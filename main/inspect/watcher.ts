/**
 * The watcher: walks one process at an interval and tells what changed since the last walk. It only reads the OS
 * through a `ProcessInspector`; it never touches the host.
 *
 *   const watcher = new ProcessWatcher(inspector, pid, { intervalMs: 1000 });
 *   watcher.onWalk((e) => …);    // every walk: { seq, walk, summary, diff (null for the first), changed }
 *   watcher.onChange((e) => …);  // only walks whose diff is not empty (the first walk counts as a change)
 *   watcher.onExit((e) => …);    // the process exited (or vanished): { pid, at, walks, lastWalk }; the watcher stops
 *   watcher.onError((e) => …);   // a walk failed otherwise: { error, fatal }; fatal (access denied, …) stops it
 *   watcher.start();             // walks at once, then every intervalMs after the previous walk ended
 *   await watcher.done;          // resolves with why it stopped: 'stopped' | 'exited' | 'error'
 *   watcher.stop();
 *
 * Walks never overlap: the next one is scheduled when the previous one has ended, so a walk slower than the
 * interval just makes the interval longer. Timers are unref'd unless `keepAlive` is set.
 */
import type { ProcessError, ProcessInspector, ProcessWalk, WalkOptions } from '../../native';
import { diffWalks, isEmptyDiff, type DiffOptions, type WalkDiff } from './diff';
import { summarize, type TypeSummary } from './summary';

export interface WatchOptions extends WalkOptions, DiffOptions {
  /** Time between the end of one walk and the start of the next, ms (default 1000). */
  readonly intervalMs?: number;
  /** Keep the Node event loop alive while watching (a CLI's `--watch`); default false. */
  readonly keepAlive?: boolean;
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
  private seq = 0;
  private state: 'idle' | 'running' | 'ended' = 'idle';
  private walking: Promise<void> | undefined;
  private finish: (end: WatchEnd) => void = () => {};
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** Resolves once, when the watcher stops for good, with why. */
  readonly done: Promise<WatchEnd>;

  constructor(
    private readonly inspector: ProcessInspector,
    readonly pid: number,
    private readonly options: WatchOptions = {},
  ) {
    this.intervalMs = Math.max(0, options.intervalMs ?? 1000);
    this.now = options.now ?? Date.now;
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
    if (this.state === 'ended') return;
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
        if (this.state === 'running' && this.timer === undefined) this.schedule(this.intervalMs);
      });
    return this.walking;
  }

  private async walkOnce(): Promise<void> {
    const result = await this.inspector.walkProcess(this.pid, this.options);
    if (this.state === 'ended') return;
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
    const diff = this.last === null ? null : diffWalks(this.last, walk, this.options);
    this.last = walk;
    const event: WatchWalkEvent = {
      seq: ++this.seq,
      walk,
      summary: summarize(walk),
      diff,
      changed: diff === null || !isEmptyDiff(diff),
    };
    this.walkListeners.emit(event);
    if (event.changed) this.changeListeners.emit(event);
  }

  private end(why: WatchEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.finish(why);
  }
}
