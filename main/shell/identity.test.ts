import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_ID, PRODUCT_NAME, START_MENU_SHORTCUT, startsHidden } from './identity';

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
