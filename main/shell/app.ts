/**
 * The desktop app: one core (host, telemetry, service, default workload — ./core), the window, the IPC transport,
 * the tray monitor, notifications, the application menu (Help ▸ Open logs folder, About), settings and logging.
 * Behaviour that can be tested without Electron lives in ./core and the pure modules; this file wires them to
 * Electron's objects and is type-checked against Electron's own types (`npm run build`).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  app,
  type BrowserWindow,
  clipboard,
  dialog,
  Menu,
  nativeTheme,
  Notification,
  screen,
  shell,
  type MenuItemConstructorOptions,
} from 'electron';
import log from 'electron-log/main';
import { REPORT_SECTIONS, type ExportFormat, type ExportResult, type Language, type SettingsResult } from '../contract';
import {
  buildProcessReport,
  formatOf,
  LIVE_WATCH_SOURCE,
  writeProcessReport,
  writeReport,
  type ProcessReportModel,
  type ReportModel,
} from '../reports';
import { createShellCore, type ShellCore, type ShellNotification } from './core';
import { defaultReportFolder, printWithElectron, saveReportWithDialog } from './export';
import { APP_ID, HIDDEN_SWITCH, PRODUCT_NAME, START_MENU_SHORTCUT } from './identity';
import { serveIpc, type IpcTransport } from './ipc';
import {
  describeRoute,
  notificationRoute,
  shortcutCarriesAppId,
  startMenuShortcutPaths,
  type NotificationFacts,
  type NotificationRoute,
} from './notify-route';
import { denyPermissionsOnEverySession } from './sessions';
import { metricsTokenFor } from './metrics-endpoint';
import { loadSettings, SETTINGS_FILE, SettingsStore, type Settings } from './settings';
import { createTrayMonitor, type TrayMonitor } from './tray';
import { MENU_IDS } from './tray-model';
import { representationSizes, trayRepresentations, type TrayRepresentation } from './tray-scale';
import { createMainWindow, RENDERER_INDEX, revealWindow } from './window';

export interface DesktopAppOptions {
  /** Start in the tray (`--hidden`, the login item). */
  readonly hidden: boolean;
}

/** What the Electron end-to-end tests reach through `electronApp.evaluate` (only with HOSTMEM_E2E=1). */
export interface TestHook {
  tray(): { exists: boolean; tooltip: string; menuLabels: string[]; iconKey: string };
  windowVisible(): boolean;
  closeWindow(): void;
  open(): void;
  exportReport(path: string): Promise<string[]>;
  settingsPath(): string;
}

const HINT_TEXT: Readonly<Record<Language, { title: string; body: string }>> = {
  en: { title: 'hostmem is still running', body: 'It keeps monitoring from the tray. Quit from the tray menu.' },
  fr: {
    title: 'hostmem tourne toujours',
    body: 'La surveillance continue depuis la zone de notification. Quittez depuis son menu.',
  },
  'zh-CN': { title: 'hostmem 仍在运行', body: '它在系统托盘中继续监控。请从托盘菜单退出。' },
};

export class DesktopApp {
  private readonly settingsPath = join(app.getPath('userData'), SETTINGS_FILE);
  private readonly store: SettingsStore;
  private readonly core: ShellCore;
  private readonly ipc: IpcTransport;
  private readonly tray: TrayMonitor;
  /** Toasts, or the tray balloon where Windows would not show them (./notify-route). */
  private readonly notifications: NotificationRoute;
  /** What clicking the last balloon opens: a failure, or just the window (null). */
  private balloonTarget: number | null = null;
  /** Redraws the tray icon when a display's scale factor changes (removed at shutdown). */
  private readonly onDisplayChange = (): void => this.rescaleTray();
  private trayShape: TrayRepresentation[];
  private window: BrowserWindow | null = null;
  private quitting = false;
  /** Notifications stay referenced until closed (a collected Notification loses its click handler). */
  private readonly shown = new Set<Notification>();
  private lastExportFolder = defaultReportFolder();
  /** A failure to show once the page being loaded subscribes (undefined: none). */
  private pendingReveal: number | null | undefined;

  constructor(options: DesktopAppOptions) {
    // Before any window or print session exists: each one denies every permission (docs/security.md, item 5).
    denyPermissionsOnEverySession();
    const loaded = loadSettings(this.settingsPath);
    this.store = new SettingsStore(this.settingsPath, loaded.settings);
    if (loaded.warning) log.warn(`settings: ${loaded.warning}`);
    nativeTheme.themeSource = loaded.settings.theme;

    this.core = createShellCore({
      settings: loaded.settings,
      appSettings: {
        get: () => this.settingsResult(),
        update: async (patch) => {
          await this.updateSettings(patch);
          return this.settingsResult();
        },
      },
      systemLocale: app.getLocale(),
      saveReport: (request, model) => this.saveReport(request.format, model),
      saveProcessReport: (request, watch) =>
        this.saveReport(
          request.format,
          buildProcessReport(watch, {
            language: request.language ?? 'en',
            source: LIVE_WATCH_SOURCE,
          }),
        ),
    });
    log.info(
      `hostmem ${app.getVersion()} started: backend ${this.core.host.backend}, locale ${this.core.locale}, ` +
        `workload ${loaded.settings.defaultWorkload}, settings ${this.settingsPath}`,
    );

    this.ipc = serveIpc(this.core.service, { appOrigin: this.appOrigin() }, log, () => {
      // A window opened to show a failure: the page listens now.
      if (this.pendingReveal === undefined) return;
      this.core.service.reveal(this.pendingReveal);
      this.pendingReveal = undefined;
    });
    // The tray image is built for the display's scale factor, and rebuilt when it changes (./tray-scale).
    this.trayShape = this.trayRepresentations();
    this.core.setTrayIconSizes(representationSizes(this.trayShape));
    this.tray = createTrayMonitor(this.core.trayView(), this.trayShape, {
      onMenu: (id, checked) => void this.onTrayMenu(id, checked),
      onClick: () => this.open(),
      onBalloonClick: () => (this.balloonTarget !== null ? this.reveal(this.balloonTarget) : this.open()),
    });
    screen.on('display-metrics-changed', this.onDisplayChange);
    screen.on('display-added', this.onDisplayChange);
    screen.on('display-removed', this.onDisplayChange);
    this.notifications = this.chooseNotificationRoute();
    this.core.onTrayChange((view) => this.tray.update(view));
    this.core.onNotification((n) => this.notify(n));
    Menu.setApplicationMenu(this.applicationMenu());

    void this.applyMetrics();
    if (loaded.warning) this.showNotification('hostmem settings', loaded.warning, null);
    if (!options.hidden) this.open();
    else log.info('started hidden in the tray');
  }

  /** The URL the guard accepts: the built page, or the dev server's origin under `electron-vite dev`. */
  private appOrigin(): string {
    const dev = process.env['ELECTRON_RENDERER_URL'];
    return !app.isPackaged && dev ? new URL(dev).origin : pathToFileURL(RENDERER_INDEX).href;
  }

  /** Show the window, creating it when there is none. */
  open(): void {
    if (this.window && !this.window.isDestroyed()) {
      revealWindow(this.window);
      return;
    }
    const window = createMainWindow({ show: true });
    this.window = window;
    const contents = window.webContents;
    window.on('close', (event) => {
      if (this.quitting || !this.store.current.closeToTray) return;
      event.preventDefault();
      window.hide();
      this.trayHint();
    });
    // Windows is logging off or shutting down: let the window close instead of hiding it.
    window.on('session-end', () => {
      this.quitting = true;
    });
    window.on('closed', () => {
      if (this.window === window) this.window = null;
    });
    contents.on('render-process-gone', (_event, details) => {
      log.error(`renderer gone: ${details.reason} (exit code ${details.exitCode})`);
      this.ipc.drop(contents);
      // Anything but a clean exit is reloaded: the page subscribes again and gets a full message from main.
      if (details.reason !== 'clean-exit' && !this.quitting && !window.isDestroyed()) contents.reload();
    });
    contents.on('unresponsive', () => log.warn('renderer unresponsive'));
    contents.on('responsive', () => log.info('renderer responsive again'));
  }

  /**
   * Show the window at the Failures view, at one failure (a notification or a Recent failures item was clicked). A
   * window still loading would miss the push: it goes out when its page subscribes.
   */
  private reveal(failureSeq: number | null): void {
    const loaded = this.window !== null && !this.window.isDestroyed() && !this.window.webContents.isLoading();
    this.open();
    if (loaded) this.core.service.reveal(failureSeq);
    else this.pendingReveal = failureSeq;
  }

  /**
   * The tray image's representations for the primary display's scale factor: the notification area is on it. Windows
   * makes the tray's icon from the image's 1× bitmap alone.
   */
  private trayRepresentations(): TrayRepresentation[] {
    return trayRepresentations(screen.getPrimaryDisplay().scaleFactor, process.platform === 'win32');
  }

  /** A display was added, removed or changed: redraw the tray icon if the size it needs changed. */
  private rescaleTray(): void {
    const next = this.trayRepresentations();
    if (JSON.stringify(next) === JSON.stringify(this.trayShape)) return;
    this.trayShape = next;
    log.info(`tray icon redrawn for the display: ${next.map((r) => `${r.size} px @${r.scaleFactor}x`).join(', ')}`);
    this.core.setTrayIconSizes(representationSizes(next));
    this.tray.rescale(next, this.core.trayView());
  }

  /** Toasts where they are seen, else tray balloons (Windows, not installed). Logged with the reason. */
  private chooseNotificationRoute(): NotificationRoute {
    const windows = process.platform === 'win32';
    const facts: NotificationFacts = {
      toastsSupported: Notification.isSupported(),
      toastsNeedShortcut: windows,
      shortcutWithAppId: windows && this.installedShortcut(),
      balloonsAvailable: this.tray.hasBalloons,
    };
    const route = notificationRoute(facts);
    log.info(`notifications: ${describeRoute(route, facts, APP_ID)}`);
    return route;
  }

  /** Whether the installer's Start-menu shortcut exists and carries APP_ID (Windows only). */
  private installedShortcut(): boolean {
    return startMenuShortcutPaths(process.env, START_MENU_SHORTCUT).some((path) => {
      if (!existsSync(path)) return false;
      try {
        return shortcutCarriesAppId(shell.readShortcutLink(path), APP_ID);
      } catch (error) {
        log.warn(`could not read ${path}: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      }
    });
  }

  /** The first time the window is closed to the tray, say where the app went. */
  private trayHint(): void {
    if (this.store.current.trayHintShown) return;
    const text = HINT_TEXT[this.core.locale];
    this.balloonTarget = null;
    if (!this.tray.balloon(text.title, text.body)) this.showNotification(text.title, text.body, null);
    try {
      void this.updateSettings({ trayHintShown: true });
    } catch (error) {
      log.error(error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * Save a settings change (throws SettingsRefusedError, nothing changed) and apply at once what can be: theme,
   * language (tray, notifications), start at login. Close to tray is read when the window closes; the rest waits for
   * a restart (SettingsResult.pendingRestart).
   */
  private updateSettings(patch: Partial<Settings>): Promise<void> {
    const changed = this.store.update(patch);
    const now = this.store.current;
    if (changed.length > 0) log.info(`settings changed: ${changed.join(', ')}`);
    if (changed.includes('theme')) nativeTheme.themeSource = now.theme;
    if (changed.includes('language')) this.core.setLanguage(now.language);
    if (changed.includes('startAtLogin')) this.applyStartAtLogin(now.startAtLogin);
    if (changed.includes('trayProcess') || changed.includes('trayProcessThreshold')) {
      this.core
        .setTrayProcess(now.trayProcess, now.trayProcessThreshold)
        .then((p) => log.info(p ? `tray: watching ${p.name} (${p.pid})` : 'tray: no process watched'))
        .catch((e: unknown) => log.warn(`tray: ${e instanceof Error ? e.message : String(e)}`));
    }
    const metrics = changed.some((name) => name.startsWith('metrics'));
    return metrics ? this.applyMetrics() : Promise.resolve();
  }

  /** The settings with the metrics endpoint's state (what getSettings / updateSettings answer). */
  private settingsResult(): SettingsResult {
    return { ...this.store.result(), metrics: this.core.metricsEndpoint.status() };
  }

  /** Start, restart or stop the loopback /metrics endpoint as the settings say (a first token is made and saved). */
  private async applyMetrics(): Promise<void> {
    if (this.store.current.metricsEnabled) {
      const { token, generated } = metricsTokenFor(this.store.current);
      if (generated) this.store.update({ metricsToken: token });
    }
    const status = await this.core.metricsEndpoint.apply(this.store.current);
    if (status.url) log.info(`metrics endpoint at ${status.url}`);
    else if (status.error) log.warn(`metrics endpoint: ${status.error}`);
  }

  private async onTrayMenu(id: string, checked: boolean): Promise<void> {
    try {
      switch (id) {
        case MENU_IDS.open:
          this.open();
          return;
        case MENU_IDS.pause:
        case MENU_IDS.resume: {
          const n = await this.core.setPaused(id === MENU_IDS.pause);
          log.info(`${id}: ${n} workload(s)`);
          return;
        }
        case MENU_IDS.exportReport: {
          const result = await this.exportFromTray();
          if (result.outcome === 'saved') this.showNotification('Report saved', result.files.join('\n'), null);
          return;
        }
        case MENU_IDS.startAtLogin:
          this.setStartAtLogin(checked);
          return;
        case MENU_IDS.quit:
          app.quit();
          return;
        default:
          if (id.startsWith('failure:')) {
            const seq = Number(id.slice('failure:'.length));
            this.reveal(Number.isSafeInteger(seq) ? seq : null);
            return;
          }
          log.warn(`tray: unknown menu item ${id}`);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`tray ${id}: ${message}`);
      dialog.showErrorBox('hostmem', message);
    }
  }

  private setStartAtLogin(on: boolean): void {
    void this.updateSettings({ startAtLogin: on });
  }

  private applyStartAtLogin(on: boolean): void {
    // Windows and macOS: a login item that starts hostmem hidden in the tray. Elsewhere Electron has none.
    if (process.platform === 'win32' || process.platform === 'darwin') {
      app.setLoginItemSettings({ openAtLogin: on, args: [HIDDEN_SWITCH] });
    } else {
      log.warn('start at login: not supported on this platform (Windows and macOS only)');
    }
    this.core.startAtLogin = on;
  }

  /** The tray's Export report…: the whole report, the format chosen by the file's extension in the dialog. */
  private exportFromTray(): Promise<ExportResult> {
    return this.exportVia(undefined);
  }

  /** A whole report through the service: to the save dialog, or to `path` (the test hook) without asking. */
  private async exportVia(path: string | undefined): Promise<ExportResult> {
    this.fixedTarget = path;
    try {
      const answer = await this.core.exportReport({
        format: (path && formatOf(path)) || 'html',
        include: [...REPORT_SECTIONS],
        language: this.core.locale,
      });
      if (!answer.ok) throw new Error(answer.error.message);
      return answer.value;
    } finally {
      this.fixedTarget = undefined;
    }
  }

  /** Set for the test hook's export: write there instead of asking. */
  private fixedTarget: string | undefined;

  private async saveReport(format: ExportFormat, model: ReportModel | ProcessReportModel): Promise<ExportResult> {
    if (this.fixedTarget !== undefined) {
      const files =
        'process' in model
          ? await writeProcessReport(model, this.fixedTarget, { print: printWithElectron })
          : await writeReport(model, this.fixedTarget, { print: printWithElectron });
      return { outcome: 'saved', files };
    }
    const parent = this.window && !this.window.isDestroyed() && this.window.isVisible() ? this.window : null;
    const result = await saveReportWithDialog(model, { parent, format, folder: this.lastExportFolder });
    if (result.outcome === 'saved' && result.files[0]) this.lastExportFolder = dirname(result.files[0]);
    if (result.outcome === 'saved') log.info(`report saved: ${result.files.join(', ')}`);
    return result;
  }

  private notify(n: ShellNotification): void {
    log.info(`notification: ${n.title} — ${n.body}`);
    this.showNotification(n.title, n.body, n.failureSeq);
  }

  private showNotification(title: string, body: string, failureSeq: number | null): void {
    if (this.notifications === 'balloon') {
      this.balloonTarget = failureSeq;
      this.tray.balloon(title, body);
      return;
    }
    if (this.notifications === 'none' || !Notification.isSupported()) return;
    const notification = new Notification({ title, body, silent: false });
    this.shown.add(notification);
    const forget = (): void => void this.shown.delete(notification);
    notification.on('click', () => {
      forget();
      if (failureSeq !== null) this.reveal(failureSeq);
      else this.open();
    });
    notification.on('close', forget);
    notification.show();
  }

  private applicationMenu(): Menu {
    const template: MenuItemConstructorOptions[] = [
      {
        label: '&File',
        submenu: [
          {
            label: 'Export report…',
            accelerator: 'CmdOrCtrl+E',
            click: () => void this.onTrayMenu(MENU_IDS.exportReport, false),
          },
          { type: 'separator' },
          { label: 'Close window', accelerator: 'CmdOrCtrl+W', click: () => this.window?.close() },
          { label: 'Quit hostmem', accelerator: 'CmdOrCtrl+Q', click: () => app.quit() },
        ],
      },
      {
        label: '&View',
        submenu: [
          { role: 'reload' },
          ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]),
          { type: 'separator' },
          { role: 'resetZoom' },
          { role: 'zoomIn' },
          { role: 'zoomOut' },
          { type: 'separator' },
          { role: 'togglefullscreen' },
        ],
      },
      {
        label: '&Help',
        submenu: [
          { label: 'Open logs folder', click: () => void this.openLogsFolder() },
          { label: 'Open settings folder', click: () => void shell.openPath(dirname(this.settingsPath)) },
          { type: 'separator' },
          { label: `About ${PRODUCT_NAME}`, click: () => void this.about() },
        ],
      },
    ];
    return Menu.buildFromTemplate(template);
  }

  private async openLogsFolder(): Promise<void> {
    const folder = dirname(log.transports.file.getFile().path);
    const error = await shell.openPath(folder);
    if (error) dialog.showErrorBox('hostmem', `Could not open ${folder}: ${error}`);
  }

  private async about(): Promise<void> {
    const { host } = this.core;
    const detail = [
      `Version ${app.getVersion()}`,
      `Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node ${process.versions.node}`,
      `Backend ${host.backend} (${process.platform} ${process.arch}), page ${host.pageSize} B, granularity ${host.allocationGranularity} B`,
      `App ID ${APP_ID}`,
      `Settings ${this.settingsPath}`,
      `Logs ${log.transports.file.getFile().path}`,
    ].join('\n');
    const options: Electron.MessageBoxOptions = {
      type: 'info',
      title: `About ${PRODUCT_NAME}`,
      message: `${PRODUCT_NAME} — a host memory manager (IHostMemoryManager) over the real OS`,
      detail,
      buttons: ['OK', 'Copy details'],
      defaultId: 0,
    };
    const answer =
      this.window && !this.window.isDestroyed()
        ? await dialog.showMessageBox(this.window, options)
        : await dialog.showMessageBox(options);
    if (answer.response === 1) clipboard.writeText(detail);
  }

  /** Before quitting: stop the workloads (their memory released), telemetry and the host. */
  async shutdown(): Promise<void> {
    this.quitting = true;
    this.ipc.close();
    screen.off('display-metrics-changed', this.onDisplayChange);
    screen.off('display-added', this.onDisplayChange);
    screen.off('display-removed', this.onDisplayChange);
    this.tray.destroy();
    await this.core.dispose();
    log.info('hostmem stopped');
  }

  /** Closing the last window hides the app to the tray (the setting), rather than quitting it. */
  get closesToTray(): boolean {
    return this.store.current.closeToTray;
  }

  get quittingNow(): boolean {
    return this.quitting;
  }

  markQuitting(): void {
    this.quitting = true;
  }

  testHook(): TestHook {
    return {
      tray: () => this.tray.describe(),
      windowVisible: () => this.window !== null && !this.window.isDestroyed() && this.window.isVisible(),
      closeWindow: () => this.window?.close(),
      open: () => this.open(),
      exportReport: async (path) => {
        const result = await this.exportVia(path);
        return result.outcome === 'saved' ? [...result.files] : [];
      },
      settingsPath: () => this.settingsPath,
    };
  }
}
