// Electron bootstrap: one instance, logging, then the app (host, telemetry, default workload, window, tray — all in
// main/shell/app.ts). Wiring only; the behaviour lives in main/shell and below.
import { isAbsolute } from 'node:path';
import { app } from 'electron';
import log from 'electron-log/main';
import { DesktopApp } from './shell/app';
import { APP_ID, startsHidden } from './shell/identity';

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

// The installer's appId: Windows shows this app's notifications and pins it under that identity.
app.setAppUserModelId(APP_ID);

if (!app.requestSingleInstanceLock()) {
  // Another hostmem is running: it gets 'second-instance' and shows its window.
  app.quit();
} else {
  let desktop: DesktopApp | null = null;

  app.on('second-instance', () => desktop?.open());

  // With close to tray (the default) the window only hides, so this comes only when closing to the tray is off: quit.
  app.on('window-all-closed', () => {
    if (desktop === null || desktop.quittingNow || !desktop.closesToTray) app.quit();
  });

  app.on('activate', () => desktop?.open());

  // Quitting waits for the workloads to stop and the host to release its memory, once.
  let stopped = false;
  app.on('before-quit', (event) => {
    if (stopped || desktop === null) return;
    event.preventDefault();
    desktop.markQuitting();
    desktop
      .shutdown()
      .catch((error: unknown) => log.error('hostmem: shutdown failed', error))
      .finally(() => {
        stopped = true;
        app.quit();
      });
  });

  app
    .whenReady()
    .then(() => {
      desktop = new DesktopApp({ hidden: startsHidden(process.argv) });
      if (process.env['HOSTMEM_E2E'] === '1') {
        (globalThis as { hostmemTestHook?: unknown }).hostmemTestHook = desktop.testHook();
      }
    })
    .catch((error: unknown) => {
      log.error('hostmem: failed to start', error);
      app.exit(1);
    });
}
