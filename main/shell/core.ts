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
import { createHost, type FailureEvent, type Host, type MemoryAvailable } from '../host';
import { createHostMetrics, type HostMetrics } from '../metrics';
import type { ReportModel } from '../reports';
import { createService, type Answer, type Service, type ServiceSession } from '../service';
import { createPublisher, type Publisher } from '../telemetry/publisher';
import { createSampler, type Sampler } from '../telemetry/sampler';
import type {
  AppSettings,
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
  /** The app's settings as the contract's getSettings / updateSettings see them (the service answers with these). */
  readonly appSettings?: AppSettingsAccess;
  /** Default: a host over this OS with the settings' policy. */
  readonly host?: Host;
  /** Notification rate limit per kind, ms (default 30 s). */
  readonly notifyIntervalMs?: number;
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
    this.metrics = createHostMetrics({ host: this.host, sampler: this.sampler, version: pkg.version });
    this.service = createService({
      host: this.host,
      sampler: this.sampler,
      publisher: this.publisher,
      transport: 'ipc',
      version: pkg.version,
      ...(options.saveReport && { saveReport: options.saveReport }),
      ...(options.appSettings && { appSettings: options.appSettings }),
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
      tooltip: trayTooltip(stats, policy, memoryAvailable, this.locale),
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
    if (this.trayListeners.size === 0) return;
    const view = this.trayView();
    if (!view.icon.changed && view.tooltip === this.lastTooltip && view.menuKey === this.lastMenuKey) return;
    this.lastTooltip = view.tooltip;
    this.lastMenuKey = view.menuKey;
    for (const listener of this.trayListeners) listener(view);
  }

  private notify(n: ThrottledNotification): void {
    const text = notificationText(n, this.locale);
    const failure = n.failure as Partial<FailureEvent> | undefined;
    const shown: ShellNotification = { ...text, kind: n.kind, failureSeq: failure?.seq ?? null };
    for (const listener of this.notifyListeners) listener(shown);
  }

  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const u of this.unsubscribe) u();
      this.control.close();
      await this.metricsEndpoint.close();
      await this.service.dispose();
      this.metrics.dispose();
      this.publisher.stop();
      this.sampler.stop();
      this.host.dispose();
    })();
    return this.disposed;
  }
}
