// Electron bootstrap: identity, one instance, logging, then the app (host, telemetry, default workload, window, tray —
// all in main/shell/app.ts). Wiring only; the behaviour lives in main/shell and below.
import { isAbsolute } from 'node:path';
import { app } from 'electron';
import log from 'electron-log/main';
import { DesktopApp } from './shell/app';
import { appIdentity, asksToQuit, startsHidden } from './shell/identity';
import { QUIT_DEADLINE_MS, settleWithin } from './shell/lifecycle';

// Who this run is to Windows (main/shell/identity.ts): the installed app, or a development/test run with a name,
// AppUserModelID and toast activator of its own, so that Electron's own Start-menu shortcut and COM registration
// never overwrite the installed app's. The name is set before anything reads it; the profile folder stays put.
const identity = appIdentity(app.isPackaged);
if (!identity.product) {
  const profile = app.getPath('userData');
  app.setName(identity.name);
  app.setPath('userData', profile);
}
if (process.platform === 'win32') {
  // Before the AppUserModelID and before any notification: Electron writes it into its shortcut and registry key.
  app.setToastActivatorCLSID(identity.toastActivatorClsid);
  app.setAppUserModelId(identity.appUserModelId);
}

// HOSTMEM_USER_DATA: a separate profile (settings, logs) — the end-to-end tests start each app in a fresh one.
const userData = process.env['HOSTMEM_USER_DATA'];
if (userData !== undefined) {
  if (isAbsolute(userData)) app.setPath('userData', userData);
  else console.error(`hostmem: HOSTMEM_USER_DATA must be an absolute path (ignored: ${JSON.stringify(userData)})`);
}

// Logs go to <userData>/logs/main.log (Help ▸ Open logs folder); 5 MB, then one old file is kept.
log.transports.file.resolvePathFn = () => `${app.getPath('userData')}/logs/main.log`;
log.transports.file.maxSize = 5 * 1024 * 1024;
log.errorHandler.startCatching({ showDialog: false });

if (!app.requestSingleInstanceLock()) {
  // Another hostmem is running: it gets 'second-instance' (with --quit: it quits; otherwise it shows its window).
  app.quit();
} else if (asksToQuit(process.argv)) {
  // `hostmem --quit` with no hostmem running: nothing to do.
  app.quit();
} else {
  let desktop: DesktopApp | null = null;
  // A second launch that came before this one was ready: acted on once it is.
  let pending: 'open' | null = null;

  app.on('second-instance', (_event, argv) => {
    const wanted = asksToQuit(argv) ? 'quit' : 'open';
    log.info(`second instance: ${wanted}`);
    if (wanted === 'quit') app.quit();
    else if (desktop) desktop.open();
    else pending = 'open';
  });

  // Only the main window's own close quits (close to tray off): not the PDF print window closing last.
  app.on('window-all-closed', () => {
    if (desktop === null || desktop.quitsOnAllClosed()) app.quit();
  });

  app.on('activate', () => desktop?.open());

  // Quitting waits for the workloads to stop and the host to release its memory, once, and QUIT_DEADLINE_MS at most.
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped || desktop === null) return;
    event.preventDefault();
    desktop.markQuitting();
    void settleWithin(desktop.shutdown(), QUIT_DEADLINE_MS).then((settled) => {
      stopped = true;
      if (settled === 'done') {
        app.quit();
        return;
      }
      log.error(`hostmem: shutdown ${settled === 'failed' ? 'failed' : `took over ${QUIT_DEADLINE_MS} ms`}; exiting`);
      app.exit(0);
    });
  });

  app
    .whenReady()
    .then(() => {
      desktop = new DesktopApp({ hidden: startsHidden(process.argv), identity });
      if (process.env['HOSTMEM_E2E'] === '1') {
        (globalThis as { hostmemTestHook?: unknown }).hostmemTestHook = desktop.testHook();
      }
      if (pending === 'open') desktop.open();
      pending = null;
    })
    .catch((error: unknown) => {
      log.error('hostmem: failed to start', error);
      app.exit(1);
    });
}
