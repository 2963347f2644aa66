// Start at login read back from the OS at start: Task Manager wins over the settings file, and only the installed app
// manages the login item.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loginItemsSupported, mayWriteLoginItem, reconcileLoginItem } from './login-item';

test('Windows, installed: turned off in Task Manager (Run value there, not approved) shows unticked', () => {
  const r = reconcileLoginItem({
    platform: 'win32',
    packaged: true,
    saved: true,
    os: { openAtLogin: true, executableWillLaunchAtLogin: false },
  });
  assert.equal(r.startAtLogin, false);
  assert.match(r.reason ?? '', /Task Manager/);
});

test('Windows, installed: a Run value added back (or never recorded) shows ticked; agreement changes nothing', () => {
  const added = reconcileLoginItem({
    platform: 'win32',
    packaged: true,
    saved: false,
    os: { openAtLogin: false, executableWillLaunchAtLogin: true },
  });
  assert.equal(added.startAtLogin, true);
  assert.notEqual(added.reason, null);
  const same = reconcileLoginItem({
    platform: 'win32',
    packaged: true,
    saved: true,
    os: { openAtLogin: true, executableWillLaunchAtLogin: true },
  });
  assert.deepEqual(same, { startAtLogin: true, reason: null });
});

test('macOS reads openAtLogin; a run that is not installed, or Linux, keeps the saved choice', () => {
  assert.equal(
    reconcileLoginItem({ platform: 'darwin', packaged: true, saved: true, os: { openAtLogin: false } }).startAtLogin,
    false,
  );
  for (const facts of [
    { platform: 'win32' as const, packaged: false },
    { platform: 'linux' as const, packaged: true },
  ]) {
    const r = reconcileLoginItem({
      ...facts,
      saved: true,
      os: { openAtLogin: false, executableWillLaunchAtLogin: false },
    });
    assert.deepEqual(r, { startAtLogin: true, reason: null }, JSON.stringify(facts));
  }
  assert.deepEqual(reconcileLoginItem({ platform: 'win32', packaged: true, saved: false, os: null }), {
    startAtLogin: false,
    reason: null,
  });
});

test('only the installed app on Windows or macOS writes a login item', () => {
  assert.equal(mayWriteLoginItem('win32', true), true);
  assert.equal(mayWriteLoginItem('win32', false), false, 'npm start, the Electron tests, an unpacked build');
  assert.equal(mayWriteLoginItem('linux', true), false);
  assert.equal(loginItemsSupported('darwin'), true);
});
