/**
 * The service: one object that answers every request of the contract (`main/contract`), whatever the transport.
 * `hostmem serve` (WebSocket) and the Electron shell (IPC) are thin layers over it: each connected UI is a
 * `ServiceSession` that gets the publisher's pushes plus workload progress and log lines, and hands every incoming
 * request — unvalidated — to `session.request`, which validates it with the contract's schemas and answers with a
 * result or an error. A bad request never throws out of it.
 *
 * Owns the workloads started through it (several at once; stopped and their memory released on `dispose`), the
 * snapshot store, and a report collector started at creation (the failure events of a live report are those since
 * the service began). Does not own the host, sampler or publisher: whoever made them disposes of them.
 *
 * `exportReport` builds the live report here (sections chosen by the request) and hands it to the transport's
 * `saveReport`: the app asks where to save it, `hostmem serve` makes download links.
 */
import type { ProcessInspector } from '../../native';
import { type Host, hresultName, type HostState } from '../host';
import {
  type ApiError,
  type AppSettings,
  type CallAnswer,
  type ClipboardItem,
  type ExportResult,
  type HelloResult,
  LANGUAGES,
  type Method,
  MAX_DIFF_ENTRIES,
  parseRequest,
  type Parsed,
  type ParsedParams,
  type Push,
  type Request,
  type Results,
  type SettingsResult,
  type SnapshotDiff,
  type WorkloadInfo,
  type WorkloadSummaryInfo,
} from '../contract';
import {
  buildLiveReport,
  collectReportEvents,
  REPORT_SECTIONS,
  selectSections,
  type ReportCollector,
  type ReportModel,
} from '../reports';
import type { StateInfo } from '../telemetry/messages';
import { regionRow, type Publisher, type Send } from '../telemetry/publisher';
import { ProcessRequestError, ProcessWatches, type ProcessClient, type WatcherListener } from './processes';
import { every as defaultEvery, type Every, type Sampler } from '../telemetry/sampler';
import { SnapshotStore } from '../telemetry/snapshot';
import {
  listScenarios,
  startWorkload,
  WorkloadParamsError,
  type WorkloadHandle,
  type WorkloadLogEntry,
  type WorkloadSummary,
} from '../workloads';

/**
 * Where an exported report goes, given the request (format, language, sections) and the live report with only the
 * chosen sections. The app asks where to save it and writes it (`saved`, or `cancelled`); `hostmem serve` writes it
 * to a private folder and answers download links (`download`). A rejection (a file that cannot be written, no
 * Chromium for a PDF…) answers `refused` with its message.
 */
export type SaveReport = (request: ParsedParams<'exportReport'>, model: ReportModel) => Promise<ExportResult>;

export interface ServiceOptions {
  readonly host: Host;
  readonly sampler: Pick<Sampler, 'samples'>;
  readonly publisher: Publisher;
  /** Default: a new store over `host`. */
  readonly snapshots?: SnapshotStore;
  readonly transport: 'websocket' | 'ipc';
  /** The hostmem version, for `hello`. */
  readonly version: string;
  /** The publisher's rate limit, for `hello`. Default 20. */
  readonly maxPushesPerSecond?: number;
  /** Workloads running at once at most. Default 8. */
  readonly maxWorkloads?: number;
  /** Ended workloads still listed by `workloads`. Default 20. */
  readonly keepEnded?: number;
  /** How often a `workloads` push goes out while any runs. Default 1,000 ms. */
  readonly progressIntervalMs?: number;
  /** The timer for progress pushes. Default setInterval, unref'd. */
  readonly every?: Every;
  /** Clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Where `exportReport` sends the report; without it, `exportReport` is refused. */
  readonly saveReport?: SaveReport;
  /**
   * The desktop app's settings for getSettings / updateSettings (`update` throws an Error to refuse, with nothing
   * changed); without it — `hostmem serve` — both are refused.
   */
  readonly appSettings?: {
    get(): SettingsResult;
    update(patch: Partial<AppSettings>): SettingsResult | Promise<SettingsResult>;
  };
  /**
   * Copies a value main holds to the system clipboard (the desktop app: Electron's clipboard); throws an Error to
   * refuse. Without it — `hostmem serve` — copyToClipboard is refused.
   */
  readonly copyToClipboard?: (what: ClipboardItem) => void;
  /** Reads other processes for the process requests (./processes.ts); without it they are refused. */
  readonly inspector?: ProcessInspector;
  /** Processes watched at once at most (every UI together). Default MAX_PROCESS_WATCHES. */
  readonly maxProcessWatches?: number;
  /**
   * A report of a watched process (exportProcessReport), given what the watch recorded; the result is saved like
   * exportReport's. Without it exportProcessReport is refused.
   */
  readonly saveProcessReport?: SaveProcessReport;
  /** Told of every process watcher the service starts (e.g. so that the metrics export the processes UIs watch). */
  readonly onProcessWatcher?: WatcherListener;
}

/** Builds and saves a process report from a watch's record (main/reports' process section, saved as the host's). */
export type SaveProcessReport = (
  request: ParsedParams<'exportProcessReport'>,
  watch: ReturnType<ProcessWatches['recorded']> & { readonly pid: number },
) => Promise<ExportResult>;

export type Answer<T = unknown> = Parsed<T>;

/** One connected UI. */
export interface ServiceSession {
  /** Validate and answer one request `{ method, params }`. Never rejects. */
  request(input: unknown): Promise<Answer>;
  /** Answer an already validated request. Never rejects. */
  handle(request: Request): Promise<Answer>;
  /** Stop pushing to this session. Idempotent. */
  close(): void;
}

export interface Service {
  /** A new session: its first push is a full message; then deltas, workload progress and log lines. */
  connect(send: (message: Push) => void): ServiceSession;
  /** Start a workload as if a UI had asked (`hostmem serve --scenario`). */
  startWorkload(scenario: string, params?: Record<string, unknown>): Results['startWorkload'];
  /** Workloads running now (not ended). */
  readonly running: number;
  readonly sessions: number;
  /** A service log line to every session (and to `onLog`). */
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Ask every page to show the Failures view, at one failure when `failureSeq` is given (tray, notifications). */
  reveal(failureSeq: number | null): void;
  /** Stop every workload (their memory released), drop every session and the progress timer. */
  dispose(): Promise<void>;
}

/** What answers one method of the contract: its validated params in, its result type out. */
type Handler<M extends Method> = (
  params: ParsedParams<M>,
  publisherSend: Send,
  processClient: ProcessClient,
) => Results[M] | Promise<Results[M]>;
type Handlers = { readonly [M in Method]: Handler<M> };
/** A validated request of one method (`Request` is the union of these). */
type RequestOf<M extends Method> = { readonly [K in M]: { readonly method: K; readonly params: ParsedParams<K> } }[M];

interface Tracked {
  readonly handle: WorkloadHandle;
  summary: WorkloadSummary | undefined;
  endedAt: number;
}

class ServiceError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

const refused = (message: string): ServiceError => new ServiceError({ code: 'refused', message });
const notFound = (message: string): ServiceError => new ServiceError({ code: 'not-found', message });

function answer(r: { hr: number; reason?: string | undefined }): CallAnswer {
  return {
    hr: r.hr,
    hrName: hresultName(r.hr),
    ...(r.reason !== undefined && { reason: r.reason as NonNullable<CallAnswer['reason']> }),
  };
}

function summaryInfo(s: WorkloadSummary): WorkloadSummaryInfo {
  return s;
}

function capDiff(diff: SnapshotDiff): Results['diffSnapshots'] {
  const over = (list: readonly unknown[]): boolean => list.length > MAX_DIFF_ENTRIES;
  const truncated = over(diff.appeared) || over(diff.vanished) || over(diff.changed);
  if (!truncated) return { diff, truncated };
  return {
    diff: {
      ...diff,
      appeared: diff.appeared.slice(0, MAX_DIFF_ENTRIES),
      vanished: diff.vanished.slice(0, MAX_DIFF_ENTRIES),
      changed: diff.changed.slice(0, MAX_DIFF_ENTRIES),
    },
    truncated,
  };
}

class ServiceImpl implements Service {
  private readonly host: Host;
  private readonly store: SnapshotStore;
  private readonly workloads = new Map<string, Tracked>();
  private readonly pushTargets = new Set<(message: Push) => void>();
  private readonly now: () => number;
  private readonly every: Every;
  private readonly maxWorkloads: number;
  private readonly keepEnded: number;
  private readonly progressIntervalMs: number;
  private stopProgress: (() => void) | undefined;
  private stateInfo: StateInfo;
  private readonly unsubscribeHost: () => void;
  private readonly collector: ReportCollector;
  private disposed = false;
  private sessionCount = 0;
  /** Watches of other processes (undefined: no inspector, the process requests are refused). */
  readonly processes: ProcessWatches | undefined;

  constructor(private readonly options: ServiceOptions) {
    this.host = options.host;
    this.store = options.snapshots ?? new SnapshotStore(options.host);
    this.now = options.now ?? Date.now;
    this.every = options.every ?? defaultEvery;
    this.maxWorkloads = options.maxWorkloads ?? 8;
    this.keepEnded = options.keepEnded ?? 20;
    this.progressIntervalMs = options.progressIntervalMs ?? 1000;
    this.stateInfo = { state: this.host.stats().state, cause: null, since: null };
    this.unsubscribeHost = this.host.subscribe((e) => {
      if (e.kind === 'state') this.stateInfo = { state: e.state, cause: e.cause, since: e.time };
    });
    this.collector = collectReportEvents(this.host, this.now);
    this.processes =
      options.inspector === undefined
        ? undefined
        : new ProcessWatches({
            inspector: options.inspector,
            now: this.now,
            ...(options.maxProcessWatches !== undefined && { maxWatches: options.maxProcessWatches }),
            ...(options.onProcessWatcher !== undefined && { onWatcher: options.onProcessWatcher }),
          });
  }

  get running(): number {
    let n = 0;
    for (const w of this.workloads.values()) if (w.summary === undefined) n++;
    return n;
  }

  get sessions(): number {
    return this.sessionCount;
  }

  // ------------------------------------------------------------------------------ sessions and pushes

  connect(send: (message: Push) => void): ServiceSession {
    if (this.disposed) throw new Error('service disposed');
    // The publisher needs one stable function per subscriber (resync finds it by identity).
    const publisherSend: Send = (message) => send(message);
    const unsubscribe = this.options.publisher.subscribe(publisherSend);
    this.pushTargets.add(send);
    this.sessionCount++;
    let closed = false;
    const processClient: ProcessClient = {
      send: (message) => {
        if (!closed) send(message);
      },
    };
    const handle = (request: Request): Promise<Answer> => this.handle(request, publisherSend, processClient);
    return {
      request: async (input) => {
        const parsed = parseRequest(input);
        return parsed.ok ? handle(parsed.value) : parsed;
      },
      handle,
      close: () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        this.processes?.close(processClient);
        this.pushTargets.delete(send);
        this.sessionCount--;
      },
    };
  }

  private broadcast(message: Push): void {
    for (const send of [...this.pushTargets]) {
      try {
        send(message);
      } catch {
        // A transport that failed is closed by its owner; the others go on.
      }
    }
  }

  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.broadcast({ type: 'log', time: this.now(), level, workload: null, name: null, message });
  }

  reveal(failureSeq: number | null): void {
    this.broadcast({ type: 'reveal', view: 'failures', failureSeq });
  }

  private onWorkloadLog(entry: WorkloadLogEntry): void {
    this.broadcast({
      type: 'log',
      time: entry.time,
      level: 'info',
      workload: entry.workload,
      name: entry.name,
      message: entry.message,
    });
  }

  private workloadInfos(): WorkloadInfo[] {
    const list: WorkloadInfo[] = [];
    for (const [id, w] of this.workloads) {
      const p = w.handle.progress();
      const s = w.summary;
      list.push({
        id,
        name: w.handle.name,
        kind: w.handle.kind,
        state: s ? 'ended' : p.state,
        startedAt: w.handle.startedAt,
        elapsedMs: s ? s.durationMs : p.elapsedMs,
        calls: s ? s.calls : p.calls,
        failures: s ? s.failures : p.failures,
        held: p.held,
        peak: s ? s.peak : p.peak,
        params: w.handle.params,
        ...(s && { end: s.end }),
        ...(s?.error !== undefined && { error: s.error }),
      });
    }
    return list;
  }

  private pushProgress(): void {
    if (this.pushTargets.size === 0) return;
    this.broadcast({ type: 'workloads', time: this.now(), workloads: this.workloadInfos() });
  }

  private updateProgressTimer(): void {
    const want = !this.disposed && this.running > 0;
    if (want && this.stopProgress === undefined) {
      this.stopProgress = this.every(this.progressIntervalMs, () => this.pushProgress());
    } else if (!want && this.stopProgress !== undefined) {
      this.stopProgress();
      this.stopProgress = undefined;
    }
  }

  // ------------------------------------------------------------------------------ workloads

  startWorkload(scenario: string, params: Record<string, unknown> = {}): Results['startWorkload'] {
    if (this.disposed) throw refused('the service is shutting down');
    if (this.running >= this.maxWorkloads) {
      throw refused(`at most ${this.maxWorkloads} workloads run at once; stop one first`);
    }
    let handle: WorkloadHandle;
    try {
      handle = startWorkload(this.host, { scenario, params }, { onLog: (entry) => this.onWorkloadLog(entry) });
    } catch (e) {
      if (e instanceof WorkloadParamsError) throw refused(e.message);
      throw e;
    }
    const tracked: Tracked = { handle, summary: undefined, endedAt: 0 };
    this.workloads.set(handle.id, tracked);
    void handle.done.then((summary) => {
      tracked.summary = summary;
      tracked.endedAt = this.now();
      this.trimEnded();
      this.updateProgressTimer();
      this.pushProgress();
    });
    this.updateProgressTimer();
    this.pushProgress();
    return { id: handle.id, name: handle.name, params: handle.params };
  }

  private trimEnded(): void {
    const ended = [...this.workloads].filter(([, w]) => w.summary !== undefined);
    for (const [id] of ended.slice(0, Math.max(0, ended.length - this.keepEnded))) this.workloads.delete(id);
  }

  private workload(id: string): Tracked {
    const w = this.workloads.get(id);
    if (!w) throw notFound(`no workload ${JSON.stringify(id)}`);
    return w;
  }

  // ------------------------------------------------------------------------------ requests

  private async handle(request: Request, publisherSend: Send, processClient: ProcessClient): Promise<Answer> {
    try {
      return { ok: true, value: await this.dispatch(request, publisherSend, processClient) };
    } catch (e) {
      if (e instanceof ServiceError || e instanceof ProcessRequestError) return { ok: false, error: e.error };
      return {
        ok: false,
        error: { code: 'internal', message: `${request.method} failed: ${e instanceof Error ? e.message : String(e)}` },
      };
    }
  }

  /** Answer one validated request with its method's handler (the map below). */
  private dispatch<M extends Method>(
    request: RequestOf<M>,
    publisherSend: Send,
    processClient: ProcessClient,
  ): Promise<Results[M]> | Results[M] {
    const handler: Handler<M> = this.handlers[request.method];
    return handler(request.params, publisherSend, processClient);
  }

  /**
   * One handler per method of the contract: the type checks that every method has one and that each answers its
   * method's result type (`Results` in the contract).
   */
  private readonly handlers: Handlers = {
    listProcesses: (params) => this.watches().list(params?.query, params?.limit),
    watchProcess: (params, _send, client) => this.watches().watch(client, params.pid, params.intervalMs),
    unwatchProcess: (params, _send, client) => this.watches().unwatch(client, params.pid),
    takeProcessSnapshot: (params) => this.watches().takeSnapshot(params.pid, params.label),
    processSnapshots: (params) => this.watches().snapshots(params.pid),
    diffProcessSnapshots: (params) => this.watches().diff(params.pid, params.a, params.b),
    exportProcessReport: (params) => this.exportProcessReport(params),
    hello: () => this.hello(),
    resync: (_params, publisherSend) => {
      this.options.publisher.resync(publisherSend);
      return { ok: true };
    },
    reset: () => {
      this.host.reset();
      return { state: this.host.stats().state };
    },
    setPolicy: (params) => {
      try {
        this.host.setPolicy(params.policy);
      } catch (e) {
        throw refused(e instanceof Error ? e.message : String(e));
      }
      return { policy: this.host.policy() };
    },
    virtualAlloc: (params) => this.virtualAlloc(params),
    virtualFree: (params) => this.virtualFree(params),
    pageMap: (params) => this.pageMap(params),
    startWorkload: (params) => this.startWorkload(params.scenario, params.params ?? {}),
    stopWorkload: (params) => this.stopWorkload(params.id),
    pauseWorkload: (params) => {
      const w = this.workload(params.id);
      if (w.summary === undefined) {
        if (params.paused) w.handle.pause();
        else w.handle.resume();
      }
      this.pushProgress();
      return { id: params.id, paused: w.handle.paused };
    },
    workloads: () => ({ workloads: this.workloadInfos() }),
    takeSnapshot: (params) => {
      const snap = this.store.take(params?.label);
      const info = this.store.list().find((s) => s.id === snap.id);
      if (!info) throw new Error('the snapshot just taken is not in the store');
      return { id: snap.id, snapshot: info };
    },
    snapshots: () => ({ snapshots: this.store.list() }),
    diffSnapshots: (params) => {
      const { a, b } = params;
      for (const id of [a, b]) if (!this.store.get(id)) throw notFound(`no snapshot ${id}`);
      const diff = this.store.diff(a, b);
      if (!diff) throw notFound(`no snapshot ${a} or ${b}`);
      return capDiff(diff);
    },
    history: (params) => {
      const since = params?.since ?? this.now() - 3_600_000;
      const points = this.options.sampler.samples(since, { maxPoints: params?.maxPoints ?? 1200 });
      return { points };
    },
    exportReport: (params) => this.exportReport(params),
    getSettings: () => this.settingsAccess().get(),
    copyToClipboard: (params) => {
      const copy = this.options.copyToClipboard;
      if (copy === undefined) throw refused('the clipboard belongs to the desktop app; copy the value from the page');
      try {
        copy(params.what);
      } catch (e) {
        throw refused(e instanceof Error ? e.message : String(e));
      }
      return { copied: params.what };
    },
    updateSettings: (params) => {
      const access = this.settingsAccess();
      // The app may answer later (the metrics endpoint restarts on a new port): a refusal either way.
      return Promise.resolve()
        .then(() => access.update(params.settings as Partial<AppSettings>))
        .then(
          (result) => result,
          (e: unknown) => {
            throw refused(e instanceof Error ? e.message : String(e));
          },
        );
    },
  };

  private watches(): ProcessWatches {
    if (this.processes === undefined) throw refused('watching other processes is not available here');
    if (this.disposed) throw refused('the service is shutting down');
    return this.processes;
  }

  private async exportProcessReport(p: ParsedParams<'exportProcessReport'>): Promise<Results['exportProcessReport']> {
    const save = this.options.saveProcessReport;
    if (save === undefined) throw refused('exporting a process report is not available here: nowhere to save it');
    const recorded = this.watches().recorded(p.pid);
    try {
      return await save(p, { ...recorded, pid: p.pid });
    } catch (e) {
      throw refused(e instanceof Error ? e.message : String(e));
    }
  }

  private settingsAccess(): NonNullable<ServiceOptions['appSettings']> {
    const access = this.options.appSettings;
    if (access === undefined) throw refused('settings belong to the desktop app; this server has none');
    return access;
  }

  private async exportReport(p: ParsedParams<'exportReport'>): Promise<Results['exportReport']> {
    const save = this.options.saveReport;
    if (save === undefined) throw refused('exporting a report is not available here: nowhere to save it');
    if (this.disposed) throw refused('the service is shutting down');
    const include = p.include ?? REPORT_SECTIONS;
    if (p.format === 'csv' && include.length === 0) {
      throw refused('a CSV report holds allocations, failures and samples: include at least one of them');
    }
    const model = buildLiveReport({
      host: this.host,
      samples: this.options.sampler.samples(),
      collector: this.collector,
      language: p.language ?? 'en',
      now: this.now,
    });
    try {
      return await save(p, selectSections(model, include));
    } catch (e) {
      // Not our bug but the user's situation (an unwritable folder, no Chromium…): say what it is.
      throw refused(e instanceof Error ? e.message : String(e));
    }
  }

  private hello(): HelloResult {
    const h = this.host;
    const names = { 1: 'Low', 2: 'Neutral', 3: 'High' } as const;
    const state: HostState = h.stats().state;
    return {
      version: this.options.version,
      transport: this.options.transport,
      host: {
        backend: h.backend,
        pageSize: h.pageSize,
        allocationGranularity: h.allocationGranularity,
        policy: h.policy(),
        state: { ...this.stateInfo, state },
        memoryAvailable: names[h.memoryState()],
      },
      scenarios: listScenarios(),
      languages: LANGUAGES,
      maxPushesPerSecond: this.options.maxPushesPerSecond ?? 20,
    };
  }

  private async virtualAlloc(p: ParsedParams<'virtualAlloc'>): Promise<Results['virtualAlloc']> {
    const r = await this.host.VirtualAlloc(p.address, p.size, p.type, p.protect, p.level, p.tag);
    return { ...answer(r), address: r.address };
  }

  private async virtualFree(p: ParsedParams<'virtualFree'>): Promise<Results['virtualFree']> {
    return answer(await this.host.VirtualFree(p.address, p.size, p.type));
  }

  private pageMap(p: ParsedParams<'pageMap'>): Results['pageMap'] {
    const map = this.host.pageMap(p.address);
    if (!map) return { found: false, pageSize: this.host.pageSize };
    return {
      found: true,
      pageSize: this.host.pageSize,
      region: regionRow(map.region),
      runs: map.runs.map((r) => ({
        start: r.start,
        end: r.end,
        protect: r.protect,
        state: r.protect === 0 ? 'reserve' : 'commit',
      })),
    };
  }

  private async stopWorkload(id: string): Promise<Results['stopWorkload']> {
    const w = this.workload(id);
    const summary = w.summary ?? (await w.handle.stop());
    return summaryInfo(summary);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.updateProgressTimer();
    await Promise.all([...this.workloads.values()].map((w) => w.handle.stop()));
    this.store.stopPeriodic();
    this.processes?.dispose();
    this.unsubscribeHost();
    this.collector.stop();
    this.pushTargets.clear();
  }
}

export function createService(options: ServiceOptions): Service {
  return new ServiceImpl(options);
}
