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
import {
  REPORT_SECTIONS,
  type ClipboardItem,
  type ExportFormat,
  type ExportResult,
  type SettingsResult,
} from '../contract';
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
import { HIDDEN_SWITCH, shortcutName, START_MENU_SHORTCUT, type AppIdentity } from './identity';
import { serveIpc, type IpcTransport } from './ipc';
import { CrashReloads, quitsOnAllClosed } from './lifecycle';
import { loginItemsSupported, mayWriteLoginItem, reconcileLoginItem, type OsLoginItem } from './login-item';
import {
  describeRoute,
  notificationRoute,
  settleRoute,
  shortcutCarriesAppId,
  startMenuShortcutPaths,
  type NotificationFacts,
  type NotificationRoute,
} from './notify-route';
import { denyPermissionsOnEverySession } from './sessions';
import { metricsTokenFor } from './metrics-endpoint';
import { loadSettings, SETTINGS_FILE, SettingsRefusedError, SettingsStore, type Settings } from './settings';
import { shellText, type ShellText } from './shell-text';
import {
  ActivationOnce,
  BalloonTargets,
  parseToastArguments,
  targetOf,
  toastArguments,
  toastXml,
  ToastKeeper,
  type ToastTarget,
} from './toast';
import { createTrayMonitor, type TrayMonitor } from './tray';
import { MENU_IDS } from './tray-model';
import { representationSizes, trayRepresentations, type TrayRepresentation } from './tray-scale';
import { createMainWindow, RENDERER_INDEX, revealWindow } from './window';

export interface DesktopAppOptions {
  /** Start in the tray (`--hidden`, the login item). */
  readonly hidden: boolean;
  /** Who this run is to Windows (./identity: the product's when packaged). */
  readonly identity: AppIdentity;
}

/** What the Electron end-to-end tests reach through `electronApp.evaluate` (only with HOSTMEM_E2E=1). */
export interface TestHook {
  tray(): { exists: boolean; tooltip: string; menuLabels: string[]; iconKey: string };
  windowVisible(): boolean;
  closeWindow(): void;
  open(): void;
  exportReport(path: string): Promise<string[]>;
  /** Several exports at once (each to its path, without asking), as two users' clicks would. */
  exportReports(paths: string[]): Promise<string[][]>;
  settingsPath(): string;
  /** The tray's Export report… with the window as it is (hidden or never opened), to `path` without asking. */
  exportFromTray(path: string): Promise<string[]>;
  /** Click what a toast or the balloon would: `args` are a toast's activation arguments ('' for the balloon). */
  activate(args: string | null): void;
  /** The target the balloon's click opens now, and the activation arguments of the last toast shown. */
  notifications(): { route: NotificationRoute; balloon: ToastTarget; lastToast: string | null; keptToasts: number };
  /** Show a notification about a failure (as a Process-critical failure would). */
  notifyFailure(seq: number): Promise<void>;
  /** The Start at login state: settings, tray tick, and what the OS says (null where it has no login items). */
  loginItem(): { settings: boolean; tray: boolean; os: OsLoginItem | null };
}

/** How long the notification route waits for Electron's own shortcut work at start (20 × 250 ms). */
const ROUTE_ATTEMPTS = 20;
const ROUTE_INTERVAL_MS = 250;

export class DesktopApp {
  private readonly settingsPath = join(app.getPath('userData'), SETTINGS_FILE);
  private readonly store: SettingsStore;
  private readonly core: ShellCore;
  private readonly ipc: IpcTransport;
  private readonly tray: TrayMonitor;
  /** Toasts, or the tray balloon where Windows would not show them (./notify-route), once Electron set up toasts. */
  private readonly notifications: Promise<NotificationRoute>;
  private routeNow: NotificationRoute = 'none';
  /** What clicking the balloon opens (./toast). */
  private readonly balloons = new BalloonTargets();
  /** Toasts a click may still reach, by id (a collected Notification loses its own click handler). */
  private readonly toasts = new ToastKeeper<Notification>();
  private toastSerial = 0;
  /** Each toast click opens once, by whichever path it came first (./toast). */
  private readonly activations = new ActivationOnce();
  private lastToast: string | null = null;
  /** Reloads of a crashing page, capped (./lifecycle). */
  private readonly crashes = new CrashReloads();
  /** The main window itself was closed (not hidden): window-all-closed may quit (./lifecycle). */
  private mainWindowClosed = false;
  private readonly identity: AppIdentity;
  /** Redraws the tray icon when a display's scale factor changes (removed at shutdown). */
  private readonly onDisplayChange = (): void => this.rescaleTray();
  private trayShape: TrayRepresentation[];
  private window: BrowserWindow | null = null;
  private quitting = false;
  private lastExportFolder = defaultReportFolder();
  /** A failure to show once the page being loaded subscribes (undefined: none). */
  private pendingReveal: number | null | undefined;

  constructor(options: DesktopAppOptions) {
    this.identity = options.identity;
    // Before any window or print session exists: each one denies every permission (docs/security.md, item 5).
    denyPermissionsOnEverySession();
    const loaded = loadSettings(this.settingsPath);
    this.store = new SettingsStore(this.settingsPath, loaded.settings);
    if (loaded.warning) log.warn(`settings: ${loaded.warning}`);
    nativeTheme.themeSource = loaded.settings.theme;
    const startAtLogin = this.reconcileStartAtLogin(loaded.settings.startAtLogin);

    this.core = createShellCore({
      settings: { ...loaded.settings, startAtLogin },
      copyToClipboard: (what) => this.copyToClipboard(what),
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
      onBalloonClick: () => this.openTarget(this.balloons.clicked()),
    });
    const trayState = this.tray.describe();
    log.info(
      `tray: ${trayState.exists ? 'shown' : 'missing'} (${this.trayShape.map((r) => `${r.size} px`).join(', ')})`,
    );
    screen.on('display-metrics-changed', this.onDisplayChange);
    screen.on('display-added', this.onDisplayChange);
    screen.on('display-removed', this.onDisplayChange);
    // Windows: every toast click, from the toast or from Action Center, whether or not its Notification still exists
    // (an activation that came before this call, e.g. the click that started the app, is handed over at once).
    if (process.platform === 'win32') {
      Notification.handleActivation((details) => {
        log.info(`notification activated (${details.type}): ${details.arguments}`);
        this.activated(details.arguments);
      });
    }
    this.notifications = this.chooseNotificationRoute();
    this.core.onTrayChange((view) => this.tray.update(view));
    this.core.onNotification((n) => this.notify(n));
    Menu.setApplicationMenu(this.applicationMenu());

    void this.applyMetrics();
    if (loaded.warning) this.showNotification(this.text.settingsTitle, loaded.warning, null);
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
    this.mainWindowClosed = false;
    const contents = window.webContents;
    // A hidden window's page gets no host deltas; shown again, it is resynced (./push-gate).
    window.on('hide', () => this.ipc.hidden(contents));
    window.on('minimize', () => this.ipc.hidden(contents));
    window.on('show', () => this.ipc.shown(contents));
    window.on('restore', () => this.ipc.shown(contents));
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
      if (this.window !== window) return;
      this.window = null;
      this.mainWindowClosed = true;
    });
    contents.on('render-process-gone', (_event, details) => {
      log.error(`renderer gone: ${details.reason} (exit code ${details.exitCode})`);
      this.ipc.drop(contents);
      // Anything but a clean exit is reloaded (the page subscribes again and gets a full message from main), a few
      // times a minute at most: a page that crashes on load would otherwise reload for ever.
      if (details.reason === 'clean-exit' || this.quitting || window.isDestroyed()) return;
      if (this.crashes.crashed()) contents.reload();
      else log.error('renderer: it keeps crashing; not reloading it again (reopen the window from the tray)');
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

  /** A toast was clicked (its activation arguments): open what it announced, once (./toast). */
  private activated(args: string): void {
    if (this.activations.first(args)) this.openTarget(parseToastArguments(args));
  }

  /** What a notification click leads to (./toast). */
  private openTarget(target: ToastTarget): void {
    if (target.kind === 'failure') this.reveal(target.seq);
    else if (target.kind === 'failures') this.reveal(null);
    else this.open();
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

  /**
   * Toasts where they are seen, else tray balloons (Windows, not installed). Electron writes this run's Start-menu
   * shortcut on a background thread once its notification presenter starts (`Notification.isSupported()` starts it):
   * the route is decided when that shortcut is there, or after ROUTE_ATTEMPTS looks. Logged with the reason.
   */
  private chooseNotificationRoute(): Promise<NotificationRoute> {
    const windows = process.platform === 'win32';
    const facts = (): NotificationFacts => ({
      toastsSupported: Notification.isSupported(),
      toastsNeedShortcut: windows,
      shortcutWithAppId: windows && this.installedShortcut(),
      balloonsAvailable: this.tray.hasBalloons,
    });
    let last = facts();
    const probe = (): NotificationRoute => notificationRoute((last = facts()));
    return settleRoute(probe, { attempts: windows ? ROUTE_ATTEMPTS : 1, intervalMs: ROUTE_INTERVAL_MS }).then(
      (route) => {
        this.routeNow = route;
        log.info(`notifications: ${describeRoute(route, last, this.identity.appUserModelId)}`);
        return route;
      },
    );
  }

  /** Whether a Start-menu shortcut carries this run's AppUserModelID (Electron's, or the installer's; Windows only). */
  private installedShortcut(): boolean {
    const names = [...new Set([shortcutName(this.identity), START_MENU_SHORTCUT])];
    return names
      .flatMap((name) => startMenuShortcutPaths(process.env, name))
      .some((path) => {
        if (!existsSync(path)) return false;
        try {
          return shortcutCarriesAppId(shell.readShortcutLink(path), this.identity.appUserModelId);
        } catch (error) {
          log.warn(`could not read ${path}: ${error instanceof Error ? error.message : String(error)}`);
          return false;
        }
      });
  }

  /** The first time the window is closed to the tray, say where the app went. */
  private trayHint(): void {
    if (this.store.current.trayHintShown) return;
    const text = this.text.hint;
    if (this.tray.balloon(text.title, text.body)) this.balloons.shown(null);
    else this.showNotification(text.title, text.body, null);
    this.updateSettings({ trayHintShown: true }).catch((error: unknown) =>
      log.error(error instanceof Error ? error.message : String(error)),
    );
  }

  /** The app's words in the UI language (./shell-text). */
  private get text(): ShellText {
    return shellText(this.core.locale);
  }

  /**
   * Save a settings change (throws SettingsRefusedError, nothing changed) and apply at once what can be: theme,
   * language (tray, notifications), start at login. Close to tray is read when the window closes; the rest waits for
   * a restart (SettingsResult.pendingRestart).
   */
  private async updateSettings(patch: Partial<Settings>): Promise<void> {
    const before = this.store.current.startAtLogin;
    const login = patch.startAtLogin !== undefined && patch.startAtLogin !== before ? patch.startAtLogin : undefined;
    // The login item first: a refusal (a run that is not installed) leaves the file as it was.
    if (login !== undefined) this.writeLoginItem(login);
    let changed: (keyof Settings)[];
    try {
      changed = this.store.update(patch);
    } catch (error) {
      if (login !== undefined) this.writeLoginItem(before);
      throw error;
    }
    const now = this.store.current;
    if (changed.length > 0) log.info(`settings changed: ${changed.join(', ')}`);
    if (changed.includes('theme')) nativeTheme.themeSource = now.theme;
    if (changed.includes('language')) {
      this.core.setLanguage(now.language);
      Menu.setApplicationMenu(this.applicationMenu());
    }
    if (changed.includes('startAtLogin')) this.core.startAtLogin = now.startAtLogin;
    if (changed.includes('trayProcess') || changed.includes('trayProcessThreshold')) {
      this.core
        .setTrayProcess(now.trayProcess, now.trayProcessThreshold)
        .then((p) => log.info(p ? `tray: watching ${p.name} (${p.pid})` : 'tray: no process watched'))
        .catch((e: unknown) => log.warn(`tray: ${e instanceof Error ? e.message : String(e)}`));
    }
    if (changed.some((name) => name.startsWith('metrics'))) await this.applyMetrics();
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
          if (result.outcome === 'saved') this.showNotification(this.text.reportSaved, result.files.join('\n'), null);
          return;
        }
        case MENU_IDS.startAtLogin:
          await this.setStartAtLogin(checked);
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

  /** The tray's Start at login: saved and applied, or — refused or failed — the tick goes back to the truth. */
  private async setStartAtLogin(on: boolean): Promise<void> {
    try {
      await this.updateSettings({ startAtLogin: on });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      log.warn(`start at login: ${why}`);
      this.tray.refreshMenu(this.core.trayView());
      dialog.showErrorBox('hostmem', this.text.startAtLoginFailed(why));
    }
  }

  /**
   * Write the OS's login item (Windows: the `Run` value named after the AppUserModelID, approved in StartupApproved;
   * macOS: a login item). Only the installed app writes it (./login-item); refused elsewhere, nothing written.
   */
  private writeLoginItem(on: boolean): void {
    if (!loginItemsSupported(process.platform)) {
      throw new SettingsRefusedError('start at login is not supported on this platform (Windows and macOS only)');
    }
    if (!mayWriteLoginItem(process.platform, app.isPackaged)) {
      throw new SettingsRefusedError('start at login is set by the installed app only (this run is not installed)');
    }
    app.setLoginItemSettings({
      openAtLogin: on,
      args: [HIDDEN_SWITCH],
      ...(process.platform === 'win32' && { name: this.identity.appUserModelId, enabled: on }),
    });
    log.info(`start at login ${on ? 'on' : 'off'}`);
  }

  /** What the OS says about the login item (null: this run does not manage it, or the OS could not be asked). */
  private osLoginItem(): OsLoginItem | null {
    if (!mayWriteLoginItem(process.platform, app.isPackaged)) return null;
    try {
      return app.getLoginItemSettings({ args: [HIDDEN_SWITCH] });
    } catch (error) {
      log.warn(`start at login: could not read it: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }

  /** Start at login as Windows (macOS) has it, saved when it differs from the settings file (./login-item). */
  private reconcileStartAtLogin(saved: boolean): boolean {
    const { startAtLogin, reason } = reconcileLoginItem({
      platform: process.platform,
      packaged: app.isPackaged,
      saved,
      os: this.osLoginItem(),
    });
    if (reason === null) return startAtLogin;
    log.info(`start at login: ${startAtLogin ? 'on' : 'off'}: ${reason}`);
    try {
      this.store.update({ startAtLogin });
    } catch (error) {
      log.warn(`start at login: could not save it: ${error instanceof Error ? error.message : String(error)}`);
    }
    return startAtLogin;
  }

  /** copyToClipboard: a value main holds, written with Electron's clipboard (the page has no clipboard permission). */
  private copyToClipboard(what: ClipboardItem): void {
    const token = this.store.current.metricsToken;
    if (what === 'metricsToken' && token === '') {
      throw new Error('there is no metrics token yet: turn the metrics endpoint on first');
    }
    clipboard.writeText(token);
    log.info(`copied the ${what} to the clipboard`);
  }

  /** The tray's Export report…: the whole report, the format chosen by the file's extension in the dialog. */
  private exportFromTray(): Promise<ExportResult> {
    return this.exportVia(undefined);
  }

  /** A whole report through the service: to the save dialog, or to `path` (the test hook) without asking. */
  private async exportVia(path: string | undefined): Promise<ExportResult> {
    if (path !== undefined) this.fixedTargets.push(path);
    try {
      const answer = await this.core.exportReport({
        format: (path && formatOf(path)) || 'html',
        include: [...REPORT_SECTIONS],
        language: this.core.locale,
      });
      if (!answer.ok) throw new Error(answer.error.message);
      return answer.value;
    } finally {
      if (path !== undefined) this.fixedTargets = this.fixedTargets.filter((p) => p !== path);
    }
  }

  /** The test hook's exports, in the order asked (the service saves them in that order): written without asking. */
  private fixedTargets: string[] = [];

  private async saveReport(format: ExportFormat, model: ReportModel | ProcessReportModel): Promise<ExportResult> {
    const target = this.fixedTargets.shift();
    if (target !== undefined) {
      const files =
        'process' in model
          ? await writeProcessReport(model, target, { print: printWithElectron })
          : await writeReport(model, target, { print: printWithElectron });
      return { outcome: 'saved', files };
    }
    const parent = this.window && !this.window.isDestroyed() && this.window.isVisible() ? this.window : null;
    const result = await saveReportWithDialog(model, {
      parent,
      format,
      folder: this.lastExportFolder,
      language: this.core.locale,
    });
    if (result.outcome === 'saved' && result.files[0]) this.lastExportFolder = dirname(result.files[0]);
    if (result.outcome === 'saved') log.info(`report saved: ${result.files.join(', ')}`);
    return result;
  }

  private notify(n: ShellNotification): void {
    log.info(`notification: ${n.title} — ${n.body}`);
    this.showNotification(n.title, n.body, n.failureSeq);
  }

  private showNotification(title: string, body: string, failureSeq: number | null): void {
    void this.notifications.then((route) => this.deliver(route, title, body, failureSeq));
  }

  private deliver(route: NotificationRoute, title: string, body: string, failureSeq: number | null): void {
    if (route === 'balloon') {
      if (this.tray.balloon(title, body)) this.balloons.shown(failureSeq);
      return;
    }
    if (route === 'none' || !Notification.isSupported()) return;
    const target = targetOf(failureSeq);
    // The id (a toast's Tag) and the activation arguments both say where a click leads (./toast).
    const id = toastArguments(target, ++this.toastSerial);
    const windows = process.platform === 'win32';
    const notification = new Notification({
      id,
      title,
      body,
      silent: false,
      ...(windows && { toastXml: toastXml(title, body, id) }),
    });
    const dropped = this.toasts.keep(id, notification);
    if (dropped) dropped.removeAllListeners();
    this.lastToast = id;
    notification.on('click', () => {
      this.toasts.forget(id);
      // Windows also reports the click to handleActivation (set in the constructor): whichever comes first opens it.
      if (this.activations.first(id)) this.openTarget(target);
    });
    notification.on('close', (event) => this.toasts.closed(id, event.reason));
    notification.on('failed', (_event, error) => {
      this.toasts.forget(id);
      log.warn(`notification failed (${error}): ${title}`);
      // Shown nowhere: the tray balloon says it instead, where there is one.
      if (this.tray.balloon(title, body)) this.balloons.shown(failureSeq);
    });
    notification.show();
  }

  /** The application menu in the UI language (rebuilt when it changes). */
  private applicationMenu(): Menu {
    const { menu } = this.text;
    const template: MenuItemConstructorOptions[] = [
      {
        label: menu.file,
        submenu: [
          {
            label: menu.exportReport,
            accelerator: 'CmdOrCtrl+E',
            click: () => void this.onTrayMenu(MENU_IDS.exportReport, false),
          },
          { type: 'separator' },
          { label: menu.closeWindow, accelerator: 'CmdOrCtrl+W', click: () => this.window?.close() },
          { label: menu.quit, accelerator: 'CmdOrCtrl+Q', click: () => app.quit() },
        ],
      },
      {
        label: menu.view,
        submenu: [
          { role: 'reload', label: menu.reload },
          ...(app.isPackaged ? [] : [{ role: 'toggleDevTools', label: menu.devTools } as const]),
          { type: 'separator' },
          { role: 'resetZoom', label: menu.actualSize },
          { role: 'zoomIn', label: menu.zoomIn },
          { role: 'zoomOut', label: menu.zoomOut },
          { type: 'separator' },
          { role: 'togglefullscreen', label: menu.fullScreen },
        ],
      },
      {
        label: menu.help,
        submenu: [
          { label: menu.openLogs, click: () => void this.openLogsFolder() },
          { label: menu.openSettings, click: () => void this.openFolder(dirname(this.settingsPath)) },
          { type: 'separator' },
          { label: menu.about, click: () => void this.about() },
        ],
      },
    ];
    return Menu.buildFromTemplate(template);
  }

  private openLogsFolder(): Promise<void> {
    return this.openFolder(dirname(log.transports.file.getFile().path));
  }

  private async openFolder(folder: string): Promise<void> {
    const error = await shell.openPath(folder);
    if (error) dialog.showErrorBox('hostmem', this.text.couldNotOpen(folder, error));
  }

  private async about(): Promise<void> {
    const { host } = this.core;
    const text = this.text.about;
    const detail = [
      `${text.version} ${app.getVersion()}`,
      `Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node ${process.versions.node}`,
      `${text.backend} ${host.backend} (${process.platform} ${process.arch}), ${text.page} ${host.pageSize} B, ${text.granularity} ${host.allocationGranularity} B`,
      `${text.appId} ${this.identity.appUserModelId}`,
      `${text.settings} ${this.settingsPath}`,
      `${text.logs} ${log.transports.file.getFile().path}`,
    ].join('\n');
    const options: Electron.MessageBoxOptions = {
      type: 'info',
      title: text.title,
      message: text.message,
      detail,
      buttons: [text.ok, text.copyDetails],
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

  /**
   * Whether `window-all-closed` quits: only when the main window itself closed (close to tray off), or when quitting
   * — never because the PDF print window was the last one (./lifecycle).
   */
  quitsOnAllClosed(): boolean {
    return quitsOnAllClosed({
      mainWindowClosed: this.mainWindowClosed && this.window === null,
      quitting: this.quitting,
    });
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
      exportReports: (paths) =>
        Promise.all(
          paths.map(async (path) => {
            const result = await this.exportVia(path);
            return result.outcome === 'saved' ? [...result.files] : [];
          }),
        ),
      settingsPath: () => this.settingsPath,
      exportFromTray: async (path) => {
        this.fixedTargets.push(path);
        await this.onTrayMenu(MENU_IDS.exportReport, false);
        return existsSync(path) ? [path] : [];
      },
      activate: (args) => (args === null ? this.openTarget(this.balloons.clicked()) : this.activated(args)),
      notifications: () => ({
        route: this.routeNow,
        balloon: this.balloons.target,
        lastToast: this.lastToast,
        keptToasts: this.toasts.size,
      }),
      notifyFailure: async (seq) => {
        await this.notifications;
        this.showNotification('hostmem test', `failure ${seq}`, seq);
        await this.notifications;
      },
      loginItem: () => ({
        settings: this.store.current.startAtLogin,
        tray: this.core.startAtLogin,
        os: this.osLoginItem(),
      }),
    };
  }
}
