/**
 * Start at login, without Electron (login-item.test.ts). Windows keeps the truth: the `Run` value Electron writes
 * (`app.setLoginItemSettings`, named after the AppUserModelID) and its StartupApproved entry, which Task Manager's
 * Startup page and Windows Settings turn off without telling the app. So the tray's tick is read back from Windows at
 * start (`app.getLoginItemSettings({ args: ['--hidden'] })`), and only the installed app ever writes the value: a
 * development or test run would otherwise leave a login item pointing at node_modules' electron.exe.
 */

/** What Electron's `app.getLoginItemSettings` answered (the fields used here). */
export interface OsLoginItem {
  /** A `Run` value starts this executable with exactly these arguments. */
  readonly openAtLogin: boolean;
  /** Windows: a `Run` value starts this executable (any arguments) and it is not turned off in Task Manager. */
  readonly executableWillLaunchAtLogin?: boolean;
}

export interface LoginItemFacts {
  readonly platform: NodeJS.Platform;
  /** The installed app (app.isPackaged). */
  readonly packaged: boolean;
  /** What the settings file says. */
  readonly saved: boolean;
  /** What the OS says (null: it could not be asked). */
  readonly os: OsLoginItem | null;
}

/** Where the login item is managed by this app: Windows and macOS (Electron has no login items elsewhere). */
export function loginItemsSupported(platform: NodeJS.Platform): boolean {
  return platform === 'win32' || platform === 'darwin';
}

/** Whether this run may write the OS's login item (the installed app, on a platform that has them). */
export function mayWriteLoginItem(platform: NodeJS.Platform, packaged: boolean): boolean {
  return loginItemsSupported(platform) && packaged;
}

export interface Reconciled {
  /** What the tray's tick and the settings show from now on. */
  readonly startAtLogin: boolean;
  /** Why it differs from the settings file (null: it does not). */
  readonly reason: string | null;
}

/**
 * The Start at login state at start-up. The installed app believes Windows (macOS): a login item turned off in Task
 * Manager, removed by a cleaner, or added back by hand wins over the settings file. A run that does not manage the
 * login item (not installed, or a platform without them) keeps the saved choice.
 */
export function reconcileLoginItem(facts: LoginItemFacts): Reconciled {
  if (!mayWriteLoginItem(facts.platform, facts.packaged) || facts.os === null) {
    return { startAtLogin: facts.saved, reason: null };
  }
  const actual =
    facts.platform === 'win32' ? (facts.os.executableWillLaunchAtLogin ?? facts.os.openAtLogin) : facts.os.openAtLogin;
  if (actual === facts.saved) return { startAtLogin: actual, reason: null };
  return {
    startAtLogin: actual,
    reason: actual
      ? 'the system starts hostmem at login although the settings said not to'
      : facts.platform === 'win32'
        ? 'Windows does not start hostmem at login (turned off in Task Manager or Settings, or its Run value removed)'
        : 'the system does not start hostmem at login',
  };
}
