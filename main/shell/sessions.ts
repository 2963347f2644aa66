/**
 * Every session the app creates gets the permission handlers of ./permissions.ts: the default session (the main
 * window) at once, and any later one (the print window's in-memory partition) as Electron creates it.
 */
import { app, session, type Session } from 'electron';
import { denyAllPermissions, type PermissionName } from './permissions';

/** Electron's own permission names; the two checks below fail to compile when they and ours differ. */
type ElectronPermission = Parameters<Parameters<Session['setPermissionCheckHandler']>[0] & object>[1];
const sameNames: [Exclude<ElectronPermission, PermissionName>, Exclude<PermissionName, ElectronPermission>] extends [
  never,
  never,
]
  ? true
  : false = true;
void sameNames;

let installed = false;

/** Deny every permission on every session, now and later (call once the app is ready; later calls do nothing). */
export function denyPermissionsOnEverySession(): void {
  if (installed) return;
  installed = true;
  app.on('session-created', (created) => denyAllPermissions(created));
  denyAllPermissions(session.defaultSession);
}
