// The main window. The renderer is untrusted content as far as main is concerned: isolated, sandboxed, no Node,
// no navigation away from the app, no new windows, no permissions. It reaches main only through the preload bridge.
import { join } from 'node:path';
import { app, BrowserWindow } from 'electron';
import { denyAllPermissions } from './permissions';

const here = import.meta.dirname; // out/main after the build

/** The built page (out/renderer/index.html): what the window loads and the only sender the IPC guard accepts. */
export const RENDERER_INDEX = join(here, '../renderer/index.html');

export interface MainWindowOptions {
  /** Show it once its first paint is ready (false: it stays hidden, e.g. until the tray opens it). */
  readonly show: boolean;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 800,
    minHeight: 560,
    show: false,
    title: 'hostmem',
    autoHideMenuBar: true,
    webPreferences: {
      // Our own preload, sandboxed, exposing only the contract through contextBridge; @preserve keeps this in out/.
      /* eng-disable PRELOAD_JS_CHECK @preserve */ preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick', // no middle-click new windows (window.open is denied as well)
    },
  });

  const contents = window.webContents;
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  denyAllPermissions(contents.session);

  if (options.show) window.once('ready-to-show', () => window.show());

  // `electron-vite dev` serves the renderer and says where; a packaged or built app loads the files.
  const devServer = process.env['ELECTRON_RENDERER_URL'];
  const load = !app.isPackaged && devServer ? window.loadURL(devServer) : window.loadFile(RENDERER_INDEX);
  load.catch((error: unknown) => console.error('hostmem: could not load the renderer', error));

  return window;
}

/** Bring an existing window to the front (second instance, tray, notification click). */
export function revealWindow(window: BrowserWindow): void {
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}
