// The permission handlers every session of the app gets: each of Electron 45's permission names is refused when the
// page asks for it and when Chromium checks it, every device is refused, and all three handlers are installed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  denyAllPermissions,
  devicePermissionAnswer,
  ELECTRON_PERMISSIONS,
  permissionAnswer,
  type PermissionHandlers,
} from './permissions';

/** A session that keeps the handlers it is given, to call them as Electron would (no Electron runs here). */
function recordingSession() {
  const handlers: {
    request?: Parameters<PermissionHandlers['setPermissionRequestHandler']>[0];
    check?: Parameters<PermissionHandlers['setPermissionCheckHandler']>[0];
    device?: Parameters<PermissionHandlers['setDevicePermissionHandler']>[0];
  } = {};
  const session: PermissionHandlers = {
    setPermissionRequestHandler: (h) => void (handlers.request = h),
    setPermissionCheckHandler: (h) => void (handlers.check = h),
    setDevicePermissionHandler: (h) => void (handlers.device = h),
  };
  return { session, handlers };
}

test('every permission is refused, whatever its name (known, unknown, empty)', () => {
  for (const name of [...ELECTRON_PERMISSIONS, 'something-new', '']) assert.equal(permissionAnswer(name), false, name);
  assert.equal(devicePermissionAnswer(), false);
});

test('denyAllPermissions installs the request, check and device handlers, and each answers no', () => {
  const { session, handlers } = recordingSession();
  denyAllPermissions(session);
  assert.ok(handlers.request && handlers.check && handlers.device, 'all three handlers installed');
  for (const name of ELECTRON_PERMISSIONS) {
    const answers: boolean[] = [];
    handlers.request(null, name, (granted) => answers.push(granted));
    assert.deepEqual(answers, [false], `request ${name}: the callback is called once, with false`);
    assert.equal(handlers.check(null, name, 'file://'), false, `check ${name} from the app's page`);
    assert.equal(handlers.check(null, name, 'https://example.com'), false, `check ${name} from elsewhere`);
  }
  assert.equal(handlers.device({ deviceType: 'hid', origin: 'file://' }), false);
});

test("the list names each of Electron's permissions once", () => {
  assert.equal(new Set(ELECTRON_PERMISSIONS).size, ELECTRON_PERMISSIONS.length);
  for (const name of ['clipboard-read', 'hid', 'serial', 'usb', 'media', 'notifications', 'geolocation']) {
    assert.ok((ELECTRON_PERMISSIONS as readonly string[]).includes(name), name);
  }
});
