// The application menu, dialogs and the app's own notification titles exist in every UI language.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LANGUAGES } from '../vocabulary';
import { shellText, type ShellText } from './shell-text';

/** Every string of a text table, by its path (functions called with placeholders). */
function strings(text: ShellText): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') out.set(path, value);
    else if (typeof value === 'function') out.set(path, String((value as (a: string, b: string) => string)('X', 'Y')));
    else if (typeof value === 'object' && value !== null)
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(text, '');
  return out;
}

/** The same word in every language (names, formats). */
const SAME = new Set(['about.version', 'about.ok', 'about.backend', 'about.page', 'export.pdf', 'export.json']);

test('every text exists, non-empty, in every language, and fr and zh-CN are translated', () => {
  const en = strings(shellText('en'));
  for (const language of LANGUAGES) {
    const other = strings(shellText(language));
    assert.deepEqual([...other.keys()], [...en.keys()], language);
    for (const [path, value] of other) {
      assert.ok(value.trim().length > 0, `${language} ${path}`);
      if (language !== 'en' && !SAME.has(path)) assert.notEqual(value, en.get(path), `${language} ${path}`);
    }
  }
});

test('each top-level menu has one access key; the dialogs name the folder and the reason', () => {
  for (const language of LANGUAGES) {
    const { menu, couldNotOpen } = shellText(language);
    for (const label of [menu.file, menu.view, menu.help]) assert.equal(label.split('&').length, 2, label);
    assert.match(couldNotOpen('C:\\logs', 'denied'), /C:\\logs.*denied/);
  }
});
