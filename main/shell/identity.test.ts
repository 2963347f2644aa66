import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  APP_ID,
  appIdentity,
  asksToQuit,
  PRODUCT_NAME,
  shortcutName,
  START_MENU_SHORTCUT,
  startsHidden,
  TOAST_ACTIVATOR_CLSID,
} from './identity';

test("the AppUserModelID and product name are the installer's appId and productName", () => {
  const yml = readFileSync(join(process.cwd(), 'electron-builder.yml'), 'utf8');
  assert.equal(/^appId:\s*(\S+)\s*$/m.exec(yml)?.[1], APP_ID);
  assert.equal(/^productName:\s*(\S+)\s*$/m.exec(yml)?.[1], PRODUCT_NAME);
});

test("the Start-menu shortcut looked for is the installer's (nsis.shortcutName, directly under Programs)", () => {
  const yml = readFileSync(join(process.cwd(), 'electron-builder.yml'), 'utf8');
  assert.equal(`${/^\s+shortcutName:\s*(\S+)\s*$/m.exec(yml)?.[1]}.lnk`, START_MENU_SHORTCUT);
  assert.equal(/^\s+createStartMenuShortcut:\s*(\S+)\s*$/m.exec(yml)?.[1], 'true');
  assert.equal(/^\s+menuCategory:/m.test(yml), false, 'a menu category would put it in a subfolder');
});

test('--hidden starts the app in the tray; anything else shows the window', () => {
  assert.equal(startsHidden(['electron', '.', '--hidden']), true);
  assert.equal(startsHidden(['hostmem.exe']), false);
  assert.equal(startsHidden(['hostmem.exe', '--hiddenx', 'hidden']), false);
});

test('--quit asks the running app to quit; nothing else does', () => {
  assert.equal(asksToQuit(['hostmem.exe', '--quit']), true);
  assert.equal(asksToQuit(['hostmem.exe', '--hidden', 'quit', '--quitx']), false);
});

test('a run that is not installed has a name, AppUserModelID and toast activator of its own', () => {
  const product = appIdentity(true);
  const dev = appIdentity(false);
  assert.deepEqual(
    { id: product.appUserModelId, clsid: product.toastActivatorClsid, name: product.name },
    { id: APP_ID, clsid: TOAST_ACTIVATOR_CLSID, name: PRODUCT_NAME },
  );
  assert.notEqual(dev.appUserModelId, APP_ID);
  assert.notEqual(dev.toastActivatorClsid.toUpperCase(), TOAST_ACTIVATOR_CLSID.toUpperCase());
  assert.notEqual(shortcutName(dev), START_MENU_SHORTCUT, 'Electron would overwrite the installed app’s shortcut');
  assert.equal(shortcutName(product), START_MENU_SHORTCUT);
  for (const clsid of [product.toastActivatorClsid, dev.toastActivatorClsid]) {
    // app.setToastActivatorCLSID throws on anything but a GUID.
    assert.match(clsid, /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/);
  }
});

test('the uninstaller removes the shortcut, the CLSID key and the Run value under the names the app uses', () => {
  const nsh = readFileSync(join(process.cwd(), 'build', 'installer.nsh'), 'utf8');
  const body = /!macro customUnInstall\n([\s\S]*?)!macroend/.exec(nsh)?.[1] ?? '';
  assert.match(body, /\$\{ifNot\} \$\{isUpdated\}/, 'an update keeps them');
  assert.ok(body.includes(`Delete "$SMPROGRAMS\\${START_MENU_SHORTCUT}"`), 'the per-user shortcut');
  assert.ok(body.includes(`DeleteRegKey HKCU "Software\\Classes\\CLSID\\${TOAST_ACTIVATOR_CLSID}"`), 'the CLSID key');
  for (const key of ['Run', 'Explorer\\StartupApproved\\Run']) {
    const line = `DeleteRegValue HKCU "Software\\Microsoft\\Windows\\CurrentVersion\\${key}" "${APP_ID}"`;
    assert.ok(body.includes(line), line);
  }
});
