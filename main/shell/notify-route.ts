/**
 * Where the app's desktop notifications go: a toast (Electron's Notification), or a balloon from the tray icon.
 *
 * Windows shows toasts only for an app whose Start-menu shortcut carries its AppUserModelID, that is, the installed
 * app (the NSIS installer creates `hostmem.lnk` with APP_ID). An uninstalled run — `npm start`, the Electron tests on
 * windows-latest, an unpacked build — would send toasts that never appear, so its messages go to the tray balloon
 * instead. Pure decisions (no Electron): app.ts gathers the facts once at start.
 */
import { win32 } from 'node:path';

export type NotificationRoute = 'toast' | 'balloon' | 'none';

export interface NotificationFacts {
  /** Electron can show notifications here at all (`Notification.isSupported()`). */
  readonly toastsSupported: boolean;
  /** Toasts appear only when a Start-menu shortcut carries the app's AppUserModelID (Windows). */
  readonly toastsNeedShortcut: boolean;
  /** Such a shortcut exists: the app is installed. */
  readonly shortcutWithAppId: boolean;
  /** The tray icon can show a balloon (Windows). */
  readonly balloonsAvailable: boolean;
}

/**
 * A toast where it will be seen; otherwise the tray balloon; a toast as a last try where there is no balloon; none
 * where the platform has no notifications.
 */
export function notificationRoute(facts: NotificationFacts): NotificationRoute {
  const toastsSeen = facts.toastsSupported && (!facts.toastsNeedShortcut || facts.shortcutWithAppId);
  if (toastsSeen) return 'toast';
  if (facts.balloonsAvailable) return 'balloon';
  return facts.toastsSupported ? 'toast' : 'none';
}

/** Why the route was chosen, for the log. */
export function describeRoute(route: NotificationRoute, facts: NotificationFacts, appId: string): string {
  if (route === 'balloon') return `tray balloons (no Start-menu shortcut carries ${appId}: the app is not installed)`;
  if (route === 'none') return 'none (this platform has no desktop notifications)';
  return facts.toastsNeedShortcut && !facts.shortcutWithAppId
    ? `toasts, though no Start-menu shortcut carries ${appId} (they may not appear)`
    : 'toasts';
}

export interface WindowsFolders {
  /** %APPDATA%: the per-user Start menu is under it. */
  readonly APPDATA?: string | undefined;
  /** %ProgramData%: the all-users Start menu (an install for all users). */
  readonly ProgramData?: string | undefined;
}

/** Where the installer's shortcut is: the per-user Start menu, then the all-users one (Windows paths). */
export function startMenuShortcutPaths(folders: WindowsFolders, shortcut: string): string[] {
  return [folders.APPDATA, folders.ProgramData]
    .filter((folder): folder is string => typeof folder === 'string' && folder.length > 0)
    .map((folder) => win32.join(folder, 'Microsoft', 'Windows', 'Start Menu', 'Programs', shortcut));
}

/** Whether a shortcut, as Electron's `shell.readShortcutLink` reads it, carries `appId` (case-insensitive, as IDs are). */
export function shortcutCarriesAppId(details: { readonly appUserModelId?: string } | null, appId: string): boolean {
  return details?.appUserModelId !== undefined && details.appUserModelId.toLowerCase() === appId.toLowerCase();
}

/**
 * The route once Electron has done its own shortcut work. Electron 45 writes the app's Start-menu shortcut (with
 * its AppUserModelID and toast activator) on a background thread after its notification presenter starts, so at
 * start-up the shortcut may not exist yet: `probe` is asked again every `intervalMs` until it says 'toast' or
 * `attempts` answers were had; the last answer is the route.
 */
export async function settleRoute(
  probe: () => NotificationRoute,
  options: { readonly attempts: number; readonly intervalMs: number },
): Promise<NotificationRoute> {
  let route = probe();
  for (let i = 1; i < options.attempts && route !== 'toast'; i++) {
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    route = probe();
  }
  return route;
}
