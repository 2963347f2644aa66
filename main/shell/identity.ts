/**
 * Who the app is to Windows. The AppUserModelID must equal electron-builder's appId: the installer's Start-menu
 * shortcut carries that ID, and Windows shows (and groups) the app's notifications only when the running process
 * declares the same one. identity.test.ts reads electron-builder.yml to keep them equal.
 */
export const APP_ID = 'dev.hostmem.app';
export const PRODUCT_NAME = 'hostmem';

/** The command-line switch that starts the app in the tray (the login item passes it). */
export const HIDDEN_SWITCH = '--hidden';

/** Whether the app was asked to start hidden in the tray. */
export function startsHidden(argv: readonly string[]): boolean {
  return argv.includes(HIDDEN_SWITCH);
}

/**
 * The Start-menu shortcut the installer creates (electron-builder.yml: nsis.shortcutName, no menu category: straight
 * under Programs), carrying APP_ID: Windows shows the app's toasts only while it exists (./notify-route.ts).
 */
export const START_MENU_SHORTCUT = `${PRODUCT_NAME}.lnk`;
