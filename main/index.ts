// Electron bootstrap: one instance, then the window. Wiring only; the behaviour lives in main/shell and below.
import { app } from 'electron';
import { createMainWindow, revealWindow } from './shell/window';

if (!app.requestSingleInstanceLock()) {
  // Another hostmem is running: it gets a 'second-instance' event and shows itself.
  app.quit();
} else {
  let mainWindow: ReturnType<typeof createMainWindow> | null = null;

  app.on('second-instance', () => {
    if (mainWindow && !mainWindow.isDestroyed()) revealWindow(mainWindow);
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app.on('activate', () => {
    if (!mainWindow || mainWindow.isDestroyed()) mainWindow = createMainWindow();
  });

  app
    .whenReady()
    .then(() => {
      mainWindow = createMainWindow();
    })
    .catch((error: unknown) => {
      console.error('hostmem: failed to start', error);
      app.exit(1);
    });
}
