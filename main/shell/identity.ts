/**
 * Who the app is to Windows. The AppUserModelID must equal electron-builder's appId: the installer's Start-menu
 * shortcut carries that ID, and Windows shows (and groups) the app's notifications only when the running process
 * declares the same one. identity.test.ts reads electron-builder.yml and build/installer.nsh to keep them equal.
 *
 * A run that is not the installed app (`npm start`, the Electron tests, an unpacked build) takes another identity
 * (`appIdentity(false)`): Electron 45 writes a Start-menu shortcut named after the app, with its AppUserModelID and
 * toast activator CLSID, and registers that CLSID under HKCU\Software\Classes\CLSID with its own executable. Under
 * the product's identity a development run would overwrite the installed app's shortcut and activator.
 */
export const APP_ID = 'dev.hostmem.app';
export const PRODUCT_NAME = 'hostmem';

/**
 * The installed app's toast activator (`app.setToastActivatorCLSID`): fixed, so the shortcut, the registry key the
 * uninstaller removes (build/installer.nsh) and the running app agree, release after release.
 */
export const TOAST_ACTIVATOR_CLSID = '{8915AA7E-3BDA-4660-AF17-25DCCDEE4DD9}';

/** What a run that is not the installed app calls itself (a name, an AppUserModelID and a CLSID of its own). */
export const DEV_SUFFIX = 'dev';
const DEV_TOAST_ACTIVATOR_CLSID = '{BE2A7FE2-41B1-47EA-94B1-CD46CC4812B0}';

export interface AppIdentity {
  /** `app.setAppUserModelId`: also the name of the login item's `Run` value (Electron's default). */
  readonly appUserModelId: string;
  /** `app.setToastActivatorCLSID`. */
  readonly toastActivatorClsid: string;
  /** `app.setName`: Electron names its Start-menu shortcut `<name>.lnk`. */
  readonly name: string;
  /** Whether this is the installed app (it may write the product's login item). */
  readonly product: boolean;
}

/** The identity of this run: the product's when packaged, a development one otherwise. */
export function appIdentity(packaged: boolean): AppIdentity {
  return packaged
    ? { appUserModelId: APP_ID, toastActivatorClsid: TOAST_ACTIVATOR_CLSID, name: PRODUCT_NAME, product: true }
    : {
        appUserModelId: `${APP_ID}.${DEV_SUFFIX}`,
        toastActivatorClsid: DEV_TOAST_ACTIVATOR_CLSID,
        name: `${PRODUCT_NAME}-${DEV_SUFFIX}`,
        product: false,
      };
}

/** The command-line switch that starts the app in the tray (the login item passes it). */
export const HIDDEN_SWITCH = '--hidden';

/** Whether the app was asked to start hidden in the tray. */
export function startsHidden(argv: readonly string[]): boolean {
  return argv.includes(HIDDEN_SWITCH);
}

/**
 * The switch that asks the running app to quit through its own path (workloads stopped, memory released, within
 * QUIT_DEADLINE_MS): `hostmem --quit` passes it to the running instance and exits; with none running it does nothing.
 */
export const QUIT_SWITCH = '--quit';

/** Whether a launch asks the running app to quit. */
export function asksToQuit(argv: readonly string[]): boolean {
  return argv.includes(QUIT_SWITCH);
}

/**
 * The Start-menu shortcut the installer creates (electron-builder.yml: nsis.shortcutName, no menu category: straight
 * under Programs), carrying APP_ID: Windows shows the app's toasts only while it exists (./notify-route.ts). Electron
 * writes the same name (`<app name>.lnk`) for the installed app.
 */
export const START_MENU_SHORTCUT = `${PRODUCT_NAME}.lnk`;

/** The shortcut Electron writes for this identity (per-user Programs folder). */
export function shortcutName(identity: AppIdentity): string {
  return `${identity.name}.lnk`;
}
