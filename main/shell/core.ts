/**
 * The desktop app's core, without Electron: the host over this OS, its sampler and publisher, the service that
 * answers the contract (the IPC transport in ./ipc hands it every request), the default workload, and what the tray
 * shows — icon frames, tooltip, menu — recomputed on every sample but reported only when something visible changed.
 * Desktop notifications come out of the throttle (AppDomain-/Process-critical failures, entering Low memory).
 *
 * The Electron parts (./app, ./tray, ./ipc) only draw what this hands them and forward clicks back, so everything
 * here is tested in plain Node with the real host (core.test.ts).
 */
import pkg from '../../package.json';
import { createProcessInspector, type ProcessInspector } from '../../native';
import { commitLimitFor, findProcess, ProcessWatcher } from '../inspect';
import { describeProcessError } from '../service/processes';
import { createHost, type FailureEvent, type Host, type MemoryAvailable } from '../host';
import { createHostMetrics, WatchedProcesses, type HostMetrics } from '../metrics';
import type { ReportModel } from '../reports';
import { createService, type Answer, type SaveProcessReport, type Service, type ServiceSession } from '../service';
import { createPublisher, type Publisher } from '../telemetry/publisher';
import { createSampler, type Sampler } from '../telemetry/sampler';
import type {
  AppSettings,
  ClipboardItem,
  ExportResult,
  Language,
  Params,
  ParsedParams,
  SettingsResult,
  WorkloadInfo,
} from '../contract';
import { MetricsEndpoint } from './metrics-endpoint';
import { NotificationThrottle, type ThrottledNotification } from './throttle';
import { IconCache, visibleKey, type IconUpdate, type TrayIconInputs } from './tray-icon';
import {
  gaugeRatio,
  notificationText,
  resolveLocale,
  trayMenu,
  trayTooltip,
  type MenuItemSpec,
  type NotificationText,
} from './tray-model';
import { historyMs, type Settings, type SettingsLanguage } from './settings';
import { processThresholdText, ThresholdWatch, trayTooltipWithProcess, type TrayProcess } from './tray-process';

/** Failures kept for the tray's "Recent failures" submenu. */
export const RECENT_FAILURES = 10;

export interface TrayView {
  /** The icon at every size; `changed` is false when no pixel changed since the last view. */
  readonly icon: IconUpdate;
  readonly tooltip: string;
  readonly menu: readonly MenuItemSpec[];
  /** Changes exactly when `menu` does (the shell rebuilds the native menu only then). */
  readonly menuKey: string;
  /** What the icon shows, as a key (equal keys, equal pixels). */
  readonly iconKey: string;
}

export interface ShellNotification extends NotificationText {
  readonly kind: ThrottledNotification['kind'];
  /** The failure it is about, when it is about one (a click can show it). */
  readonly failureSeq: number | null;
}

/** Read and change the running app's settings (updateSettings throws an Error, nothing changed, to refuse). */
export interface AppSettingsAccess {
  get(): SettingsResult;
  update(patch: Partial<AppSettings>): SettingsResult | Promise<SettingsResult>;
}

export interface ShellCoreOptions {
  readonly settings: Settings;
  /** The UI's locale when the settings say 'system' (Electron's app.getLocale()). */
  readonly systemLocale: string;
  /** Writes an exported report where the user wants it (the app's save dialog); see ServiceOptions. */
  readonly saveReport?: (request: ParsedParams<'exportReport'>, model: ReportModel) => Promise<ExportResult>;
  /** Writes a watched process's report where the user wants it (Export… in the Processes view). */
  readonly saveProcessReport?: SaveProcessReport;
  /** The app's settings as the contract's getSettings / updateSettings see them (the service answers with these). */
  readonly appSettings?: AppSettingsAccess;
  /** Copies a value main holds to the clipboard (copyToClipboard; the app's Electron clipboard). */
  readonly copyToClipboard?: (what: ClipboardItem) => void;
  /** Default: a host over this OS with the settings' policy. */
  readonly host?: Host;
  /** Notification rate limit per kind, ms (default 30 s). */
  readonly notifyIntervalMs?: number;
  /** Reads other processes (the Processes view, the tray's process). Default: this OS's inspector. */
  readonly inspector?: ProcessInspector;
  /** How often the tray's process is walked, ms (default 2,000). */
  readonly trayProcessIntervalMs?: number;
  readonly now?: () => number;
}

export interface ShellCore {
  readonly host: Host;
  readonly sampler: Sampler;
  readonly publisher: Publisher;
  readonly service: Service;
  /** The Prometheus metrics of this host (counted from the start, served only when the settings say so). */
  readonly metrics: HostMetrics;
  /** The loopback /metrics endpoint the settings turn on (./metrics-endpoint). */
  readonly metricsEndpoint: MetricsEndpoint;
  /** The tray's and notifications' language. */
  readonly locale: Language;
  /** Change the language (a settings change): the tray is redrawn at the next sample. */
  setLanguage(language: SettingsLanguage): void;
  /** The current tray view (computes it now). */
  trayView(): TrayView;
  /**
   * Draw the tray icon at these sizes from now on (the display's, tray-scale.ts); the next view redraws them all.
   * Throws a RangeError for a size the drawing does not support.
   */
  setTrayIconSizes(sizes: readonly number[]): void;
  /** Called after a sample when the icon, the tooltip or the menu changed. Returns the unsubscribe function. */
  onTrayChange(listener: (view: TrayView) => void): () => void;
  /** Desktop notifications the throttle let through. */
  onNotification(listener: (notification: ShellNotification) => void): () => void;
  /** Whether every running workload is paused (false when none runs). */
  readonly paused: boolean;
  /** Pause or resume every running workload; resolves to how many changed. */
  setPaused(paused: boolean): Promise<number>;
  /** The tray's Start at login tick (the shell applies it to the OS and saves the settings). */
  startAtLogin: boolean;
  /** A report of the host now, saved by `saveReport` (the same path as the page's Export… dialog). */
  exportReport(params: Params<'exportReport'>): Promise<Answer<ExportResult>>;
  /** A failure listed in Recent failures, by its seq. */
  recentFailure(seq: number): FailureEvent | undefined;
  /**
   * Watch a process in the tray (a pid or a name; null stops): its committed bytes in the tooltip, a notification
   * (throttled) when it passes `threshold` bytes. Resolves with the process found, or rejects saying why not.
   */
  setTrayProcess(query: string | null, threshold: number | null): Promise<TrayProcess | null>;
  /** The tray's process now (null: none). */
  readonly trayProcess: TrayProcess | null;
  /** Stop the workloads (their memory released), telemetry, and the host. Idempotent. */
  dispose(): Promise<void>;
}

export function createShellCore(options: ShellCoreOptions): ShellCore {
  return new ShellCoreImpl(options);
}

class ShellCoreImpl implements ShellCore {
  readonly host: Host;
  readonly sampler: Sampler;
  readonly publisher: Publisher;
  readonly service: Service;
  readonly metrics: HostMetrics;
  readonly metricsEndpoint: MetricsEndpoint;
  /** The processes the metrics export: the Processes view's watches and the tray's. */
  private readonly watchedProcesses = new WatchedProcesses();
  locale: Language;
  startAtLogin: boolean;

  private readonly systemLocale: string;
  private icons = new IconCache();
  private readonly throttle: NotificationThrottle;
  private readonly recent: FailureEvent[] = [];
  private readonly trayListeners = new Set<(view: TrayView) => void>();
  private readonly notifyListeners = new Set<(n: ShellNotification) => void>();
  /** The service session the tray's workload commands go through (its pushes are not needed: dropped). */
  private readonly control: ServiceSession;
  private readonly unsubscribe: (() => void)[] = [];
  private workloadList: readonly WorkloadInfo[] = [];
  private lastTooltip = '';
  private lastMenuKey = '';
  private disposed: Promise<void> | null = null;
  private readonly inspector: ProcessInspector;
  private readonly trayProcessIntervalMs: number;
  private processWatch:
    { watcher: ProcessWatcher; state: TrayProcess; threshold: ThresholdWatch | null; generation: number } | undefined;
  private processGeneration = 0;

  constructor(options: ShellCoreOptions) {
    const { settings } = options;
    this.systemLocale = options.systemLocale;
    this.locale = resolveLocale(settings.language === 'system' ? options.systemLocale : settings.language);
    this.startAtLogin = settings.startAtLogin;
    this.host = options.host ?? createHost({ policy: settings.policy });
    this.sampler = createSampler(this.host, {
      intervalMs: settings.samplingIntervalMs,
      historyMs: historyMs(settings.historyLength),
      ...(options.now && { now: options.now }),
    });
    this.publisher = createPublisher(this.host, this.sampler, { maxPushesPerSecond: 20 });
    // Before the default workload's first call, so that the counters agree with the host's own.
    this.metrics = createHostMetrics({
      host: this.host,
      sampler: this.sampler,
      version: pkg.version,
      processes: this.watchedProcesses,
    });
    this.inspector = options.inspector ?? createProcessInspector();
    this.trayProcessIntervalMs = options.trayProcessIntervalMs ?? 2000;
    this.service = createService({
      inspector: this.inspector,
      // Processes watched in the Processes view are exported by the metrics endpoint too, while watched.
      onProcessWatcher: (watcher, name) => this.watchedProcesses.add(watcher, name),
      host: this.host,
      sampler: this.sampler,
      publisher: this.publisher,
      transport: 'ipc',
      version: pkg.version,
      ...(options.saveReport && { saveReport: options.saveReport }),
      ...(options.saveProcessReport && { saveProcessReport: options.saveProcessReport }),
      ...(options.appSettings && { appSettings: options.appSettings }),
      ...(options.copyToClipboard && { copyToClipboard: options.copyToClipboard }),
      ...(options.now && { now: options.now }),
    });
    this.metricsEndpoint = new MetricsEndpoint(this.service, this.metrics);
    this.throttle = new NotificationThrottle({
      intervalMs: options.notifyIntervalMs ?? 30_000,
      ...(options.now && { now: options.now }),
    });
    this.control = this.service.connect((message) => {
      if (message.type === 'workloads') this.workloadList = message.workloads;
    });

    this.unsubscribe.push(
      this.host.subscribe((event) => {
        if (event.kind !== 'failure') return;
        this.recent.push(event.failure);
        if (this.recent.length > RECENT_FAILURES) this.recent.shift();
        const shown = this.throttle.failure(event.failure);
        if (shown) this.notify(shown);
      }),
      this.sampler.onSample(() => this.tick()),
    );
    this.sampler.start();
    if (settings.defaultWorkload !== 'none') this.service.startWorkload(settings.defaultWorkload);
    if (settings.trayProcess !== null) {
      this.setTrayProcess(settings.trayProcess, settings.trayProcessThreshold).catch(() => {
        // Not running now (or not readable): the tray shows the host alone; the settings keep the choice.
      });
    }
  }

  get trayProcess(): TrayProcess | null {
    return this.processWatch?.state ?? null;
  }

  async setTrayProcess(query: string | null, threshold: number | null): Promise<TrayProcess | null> {
    const generation = ++this.processGeneration;
    this.processWatch?.watcher.stop();
    this.processWatch = undefined;
    if (query === null || this.disposed !== null) {
      this.tick();
      return null;
    }
    const found = await findProcess(this.inspector, query);
    if (found.kind !== 'found') {
      throw new Error(
        found.kind === 'none'
          ? `no running process has the id or name ${JSON.stringify(query)}`
          : found.kind === 'several'
            ? `${found.matches.length} processes are named ${JSON.stringify(query)}: choose one by its pid`
            : describeProcessError(found.error),
      );
    }
    // A later call (or dispose) won the race.
    if (generation !== this.processGeneration || this.disposed !== null) return null;
    const { pid, name } = found.process;
    const watcher = new ProcessWatcher(this.inspector, pid, { intervalMs: this.trayProcessIntervalMs });
    this.watchedProcesses.add(watcher, name);
    const watch = {
      watcher,
      state: { pid, name, committed: null, ended: null } as TrayProcess,
      threshold: threshold === null ? null : new ThresholdWatch(threshold),
      generation,
    };
    this.processWatch = watch;
    watcher.onWalk((e) => {
      const committed = e.summary.total.committed;
      watch.state = { ...watch.state, name: e.walk.name ?? watch.state.name, committed };
      if (watch.threshold?.update(committed)) {
        const shown = this.throttle.processThreshold();
        if (shown) this.notify(shown);
      }
      this.tick();
    });
    watcher.onExit(() => {
      watch.state = { ...watch.state, ended: 'exited' };
      this.tick();
    });
    watcher.onError((e) => {
      if (!e.fatal) return;
      watch.state = { ...watch.state, ended: e.error.code === 'access-denied' ? 'access-denied' : 'failed' };
      this.tick();
    });
    watcher.start();
    return watch.state;
  }

  setLanguage(language: SettingsLanguage): void {
    this.locale = resolveLocale(language === 'system' ? this.systemLocale : language);
  }

  get paused(): boolean {
    const running = this.workloadList.filter((w) => w.state === 'running' || w.state === 'paused');
    return running.length > 0 && running.every((w) => w.state === 'paused');
  }

  async setPaused(paused: boolean): Promise<number> {
    const answer = await this.control.request({ method: 'workloads' });
    if (!answer.ok) throw new Error(answer.error.message);
    const { workloads } = answer.value as { workloads: readonly WorkloadInfo[] };
    let changed = 0;
    for (const w of workloads) {
      if (w.state !== (paused ? 'running' : 'paused')) continue;
      const r = await this.control.request({ method: 'pauseWorkload', params: { id: w.id, paused } });
      if (r.ok) changed++;
    }
    const after = await this.control.request({ method: 'workloads' });
    if (after.ok) this.workloadList = (after.value as { workloads: readonly WorkloadInfo[] }).workloads;
    this.tick();
    return changed;
  }

  async exportReport(params: Params<'exportReport'>): Promise<Answer<ExportResult>> {
    return (await this.control.request({ method: 'exportReport', params })) as Answer<ExportResult>;
  }

  recentFailure(seq: number): FailureEvent | undefined {
    return this.recent.find((f) => f.seq === seq);
  }

  trayView(): TrayView {
    const stats = this.host.stats();
    const policy = this.host.policy();
    const memoryAvailable: MemoryAvailable = this.host.memoryState();
    const inputs: TrayIconInputs = {
      ratio: gaugeRatio(stats, policy, this.sampler.latest()?.memoryLoad ?? null),
      memoryAvailable,
      state: stats.state,
    };
    const menu = trayMenu({
      locale: this.locale,
      paused: this.paused,
      startAtLogin: this.startAtLogin,
      recentFailures: this.recent,
    });
    return {
      icon: this.icons.update(inputs),
      tooltip: trayTooltipWithProcess(
        trayTooltip(stats, policy, memoryAvailable, this.locale),
        this.trayProcess,
        this.locale,
      ),
      menu,
      menuKey: JSON.stringify(menu),
      iconKey: visibleKey(inputs, 16),
    };
  }

  setTrayIconSizes(sizes: readonly number[]): void {
    this.icons = new IconCache(sizes);
  }

  onTrayChange(listener: (view: TrayView) => void): () => void {
    this.trayListeners.add(listener);
    return () => this.trayListeners.delete(listener);
  }

  onNotification(listener: (notification: ShellNotification) => void): () => void {
    this.notifyListeners.add(listener);
    return () => this.notifyListeners.delete(listener);
  }

  /** After every sample: notifications that are due, then the tray when it changed. */
  private tick(): void {
    const low = this.throttle.memoryAvailable(this.host.memoryState());
    if (low) this.notify(low);
    for (const due of this.throttle.due()) this.notify(due);
    if (this.trayListeners.size === 0) {
      // Nobody sees the tray now: the next listener is told the view as it will be, even if it equals the last sent.
      this.lastTooltip = '';
      this.lastMenuKey = '';
      return;
    }
    const view = this.trayView();
    if (!view.icon.changed && view.tooltip === this.lastTooltip && view.menuKey === this.lastMenuKey) return;
    this.lastTooltip = view.tooltip;
    this.lastMenuKey = view.menuKey;
    for (const listener of this.trayListeners) listener(view);
  }

  private notify(n: ThrottledNotification): void {
    const watch = this.processWatch;
    const processText =
      n.kind === 'process-threshold' && watch?.threshold && watch.state.committed !== null
        ? processThresholdText(
            { name: watch.state.name, pid: watch.state.pid, committed: watch.state.committed },
            watch.threshold.threshold,
            n.suppressed,
            this.locale,
            watch.watcher.growth(commitLimitFor(watch.state.committed)),
          )
        : undefined;
    const text = notificationText(n, this.locale, processText);
    const failure = n.failure as Partial<FailureEvent> | undefined;
    const shown: ShellNotification = { ...text, kind: n.kind, failureSeq: failure?.seq ?? null };
    for (const listener of this.notifyListeners) listener(shown);
  }

  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const u of this.unsubscribe) u();
      this.processWatch?.watcher.stop();
      this.processWatch = undefined;
      this.control.close();
      await this.metricsEndpoint.close();
      await this.service.dispose();
      this.metrics.dispose();
      this.watchedProcesses.dispose();
      this.publisher.stop();
      this.sampler.stop();
      this.host.dispose();
    })();
    return this.disposed;
  }
}
