/**
 * What the app's sessions let a page use: nothing. The dashboard needs no web permission (no camera, clipboard,
 * notifications from the page, devices…), and the page is treated as untrusted content (docs/security.md), so every
 * session the app creates answers no to all three of Electron's questions:
 *
 * - a permission *request* (`setPermissionRequestHandler`): the page asked, e.g. `getUserMedia`, `Notification.
 *   requestPermission()`;
 * - a permission *check* (`setPermissionCheckHandler`): Chromium asks whether a permission is already granted, e.g.
 *   `navigator.permissions.query`, and before the WebHID/Web Serial/WebUSB choosers; without this handler Electron's
 *   default answer is yes for most of them;
 * - a *device* permission (`setDevicePermissionHandler`): whether a HID, serial or USB device may be used.
 *
 * No Electron here (only its names): the shell applies `denyAllPermissions` to Electron's sessions
 * (./sessions.ts), and permissions.test.ts checks the answers in plain Node.
 */

/** Electron 45's permission names (the union of `Session.setPermission{Check,Request}Handler`; ./sessions.ts
 * fails to type-check when Electron's list changes, so docs/security.md can name them exactly). */
export const ELECTRON_PERMISSIONS = [
  'ar',
  'automatic-fullscreen',
  'background-fetch',
  'background-sync',
  'captured-surface-control',
  'clipboard-read',
  'clipboard-sanitized-write',
  'deprecated-sync-clipboard-read',
  'display-capture',
  'fileSystem',
  'fullscreen',
  'geolocation',
  'geolocation-approximate',
  'hand-tracking',
  'hid',
  'idle-detection',
  'keyboardLock',
  'local-fonts',
  'local-network',
  'local-network-access',
  'loopback-network',
  'media',
  'mediaKeySystem',
  'midi',
  'midiSysex',
  'nfc',
  'notifications',
  'openExternal',
  'payment-handler',
  'periodic-background-sync',
  'persistent-storage',
  'pointerLock',
  'screen-wake-lock',
  'sensors',
  'serial',
  'smart-card',
  'speaker-selection',
  'storage-access',
  'system-wake-lock',
  'top-level-storage-access',
  'usb',
  'vr',
  'web-app-installation',
  'web-printing',
  'window-management',
  'unknown',
] as const;

export type PermissionName = (typeof ELECTRON_PERMISSIONS)[number];

/** Permissions the page may be granted, when it asks or when Chromium checks: none. */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set<string>();

/** The answer to a permission request or check, for any page of the app. */
export function permissionAnswer(permission: string): boolean {
  return ALLOWED_PERMISSIONS.has(permission);
}

/** The answer to "may the page use this HID / serial / USB device?". */
export function devicePermissionAnswer(): boolean {
  return false;
}

/** The part of Electron's Session that sets the three handlers (Electron's Session fits it). */
export interface PermissionHandlers {
  setPermissionRequestHandler(
    handler: (webContents: unknown, permission: PermissionName, callback: (granted: boolean) => void) => void,
  ): void;
  setPermissionCheckHandler(
    handler: (webContents: unknown, permission: PermissionName, requestingOrigin: string) => boolean,
  ): void;
  setDevicePermissionHandler(handler: (details: unknown) => boolean): void;
}

/** Install the three handlers on one session: every request, check and device permission is denied. */
export function denyAllPermissions(session: PermissionHandlers): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(permissionAnswer(permission)));
  session.setPermissionCheckHandler((_contents, permission) => permissionAnswer(permission));
  session.setDevicePermissionHandler(() => devicePermissionAnswer());
}
