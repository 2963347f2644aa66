// Where notifications go: toasts where Windows will show them (the installed app, or not Windows), the tray balloon
// for an uninstalled Windows run, and where the installer's shortcut is looked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_ID, START_MENU_SHORTCUT } from './identity';
import {
  describeRoute,
  notificationRoute,
  settleRoute,
  shortcutCarriesAppId,
  startMenuShortcutPaths,
  type NotificationFacts,
  type NotificationRoute,
} from './notify-route';

const windows = (installed: boolean): NotificationFacts => ({
  toastsSupported: true,
  toastsNeedShortcut: true,
  shortcutWithAppId: installed,
  balloonsAvailable: true,
});

test('Windows, installed (the Start-menu shortcut carries the AppUserModelID): toasts', () => {
  assert.equal(notificationRoute(windows(true)), 'toast');
});

test('Windows, not installed (npm start, the Electron tests, an unpacked build): the tray balloon', () => {
  const facts = windows(false);
  assert.equal(notificationRoute(facts), 'balloon');
  assert.match(describeRoute('balloon', facts, APP_ID), /tray balloons .*dev\.hostmem\.app.*not installed/);
});

test('macOS and Linux (toasts need no shortcut, no balloons): toasts, installed or not', () => {
  for (const installed of [true, false]) {
    const facts = {
      toastsSupported: true,
      toastsNeedShortcut: false,
      shortcutWithAppId: installed,
      balloonsAvailable: false,
    };
    assert.equal(notificationRoute(facts), 'toast');
    assert.equal(describeRoute('toast', facts, APP_ID), 'toasts');
  }
});

test('no balloon to fall back to: a toast as a last try; no notifications at all: none', () => {
  const noBalloon = { ...windows(false), balloonsAvailable: false };
  assert.equal(notificationRoute(noBalloon), 'toast');
  assert.match(describeRoute('toast', noBalloon, APP_ID), /may not appear/);
  assert.equal(notificationRoute({ ...windows(true), toastsSupported: false, balloonsAvailable: false }), 'none');
  // A Windows without toast support still has the balloon.
  assert.equal(notificationRoute({ ...windows(true), toastsSupported: false }), 'balloon');
});

test('the shortcut is looked for in the per-user, then the all-users Start menu', () => {
  assert.deepEqual(
    startMenuShortcutPaths(
      { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming', ProgramData: 'C:\\ProgramData' },
      START_MENU_SHORTCUT,
    ),
    [
      'C:\\Users\\ada\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\hostmem.lnk',
      'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\hostmem.lnk',
    ],
  );
  assert.deepEqual(startMenuShortcutPaths({ APPDATA: '', ProgramData: undefined }, START_MENU_SHORTCUT), []);
});

test("a shortcut counts only when it carries the app's ID", () => {
  assert.equal(shortcutCarriesAppId({ appUserModelId: APP_ID }, APP_ID), true);
  assert.equal(shortcutCarriesAppId({ appUserModelId: 'DEV.HOSTMEM.APP' }, APP_ID), true);
  assert.equal(shortcutCarriesAppId({ appUserModelId: 'com.squirrel.hostmem.hostmem' }, APP_ID), false);
  assert.equal(shortcutCarriesAppId({}, APP_ID), false);
  assert.equal(shortcutCarriesAppId(null, APP_ID), false);
});

test('the route waits for Electron’s own shortcut work: asked again until toasts or the attempts run out', async () => {
  const answers: NotificationRoute[] = ['balloon', 'balloon', 'toast', 'balloon'];
  let asked = 0;
  const settled = await settleRoute(() => answers[asked++] ?? 'balloon', { attempts: 10, intervalMs: 1 });
  assert.equal(settled, 'toast');
  assert.equal(asked, 3, 'stops asking once the shortcut is there');
  asked = 0;
  assert.equal(await settleRoute(() => (asked++, 'balloon'), { attempts: 4, intervalMs: 1 }), 'balloon');
  assert.equal(asked, 4);
});
