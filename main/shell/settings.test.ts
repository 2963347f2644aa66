import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_POLICY } from '../contract';
import {
  DEFAULT_SETTINGS,
  historyMs,
  loadSettings,
  saveSettings,
  SettingsRefusedError,
  SettingsStore,
  type Settings,
} from './settings';

const root = mkdtempSync(join(tmpdir(), 'hostmem-settings-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh folder and the settings path in it. */
function fresh(): { dir: string; path: string } {
  const dir = mkdtempSync(join(root, `case${n++}-`));
  return { dir, path: join(dir, 'settings.json') };
}
const asideFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('settings.json.corrupt-'));

const custom: Settings = {
  samplingIntervalMs: 1000,
  historyLength: '6h',
  language: 'zh-CN',
  theme: 'dark',
  closeToTray: false,
  startAtLogin: true,
  trayHintShown: true,
  defaultWorkload: 'pressure',
  policy: {
    ...DEFAULT_POLICY,
    commitLimit: 64 * 1024 * 1024,
    thresholds: { eTaskCritical: 0.5, eAppDomainCritical: 0.75, eProcessCritical: 0.9 },
    faults: [{ op: 'VirtualAlloc', level: 'eAppDomainCritical', everyNth: 10 }],
    seed: 42,
  },
  metricsEnabled: true,
  metricsPort: 19477,
  metricsToken: 'k'.repeat(43),
  trayProcess: 'node',
  trayProcessThreshold: 512 * 1024 * 1024,
};

describe('settings', () => {
  test('the defaults', () => {
    assert.equal(DEFAULT_SETTINGS.samplingIntervalMs, 250);
    assert.equal(DEFAULT_SETTINGS.closeToTray, true);
    assert.equal(DEFAULT_SETTINGS.startAtLogin, false);
    assert.equal(DEFAULT_SETTINGS.defaultWorkload, 'steady');
    assert.equal(DEFAULT_SETTINGS.language, 'system');
    assert.equal(DEFAULT_SETTINGS.theme, 'system');
    assert.deepEqual(DEFAULT_SETTINGS.policy, DEFAULT_POLICY);
    assert.equal(historyMs(DEFAULT_SETTINGS.historyLength), 3_600_000);
  });

  test('a missing file gives the defaults, no warning, and writes nothing', () => {
    const { dir, path } = fresh();
    const loaded = loadSettings(path);
    assert.deepEqual(loaded, { settings: DEFAULT_SETTINGS });
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a valid file is read as it is', () => {
    const { dir, path } = fresh();
    writeFileSync(path, JSON.stringify(custom));
    const loaded = loadSettings(path);
    assert.equal(loaded.warning, undefined);
    assert.deepEqual(loaded.settings, custom);
    assert.deepEqual(readdirSync(dir), ['settings.json']);
  });

  test('a file from an older version (fields missing) takes the defaults for those, silently', () => {
    const { path } = fresh();
    writeFileSync(path, JSON.stringify({ theme: 'light', policy: { commitLimit: 1 << 20 } }));
    const loaded = loadSettings(path);
    assert.equal(loaded.warning, undefined);
    assert.deepEqual(loaded.settings, {
      ...DEFAULT_SETTINGS,
      theme: 'light',
      policy: { ...DEFAULT_POLICY, commitLimit: 1 << 20 },
    });
  });

  test('unknown keys (a newer version) are ignored, not a corruption', () => {
    const { dir, path } = fresh();
    writeFileSync(path, JSON.stringify({ ...custom, someFutureSetting: 3 }));
    const loaded = loadSettings(path);
    assert.equal(loaded.warning, undefined);
    assert.deepEqual(loaded.settings, custom);
    assert.deepEqual(asideFiles(dir), []);
  });

  for (const [name, text] of [
    ['not JSON', '{"theme": "dark",'],
    ['empty', ''],
    ['binary junk', '\u0000\u0001\uFFFD\uFFFD'],
    ['a JSON array', '[1, 2, 3]'],
    ['JSON null', 'null'],
    ['a JSON string', '"dark"'],
  ] as const) {
    test(`a corrupt file (${name}) is kept aside, defaults used, a warning returned`, () => {
      const { dir, path } = fresh();
      writeFileSync(path, text);
      const loaded = loadSettings(path);
      assert.deepEqual(loaded.settings, DEFAULT_SETTINGS);
      assert.ok(loaded.warning, 'a warning');
      assert.match(loaded.warning, /damaged/);
      const aside = asideFiles(dir);
      assert.equal(aside.length, 1);
      assert.match(aside[0] ?? '', /^settings\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
      assert.equal(loaded.keptAside, join(dir, aside[0] ?? ''));
      assert.ok(loaded.warning.includes(aside[0] ?? ''), 'the warning names the kept file');
      assert.equal(readFileSync(join(dir, aside[0] ?? ''), 'utf8'), text, 'kept byte for byte');
      // The defaults were written back: the next start is clean.
      assert.deepEqual(loadSettings(path), { settings: DEFAULT_SETTINGS });
    });
  }

  test('invalid values: every field invalid gives the defaults, kept aside, each field named', () => {
    const { dir, path } = fresh();
    const bad = {
      samplingIntervalMs: 5,
      historyLength: '7d',
      language: 'de',
      theme: 'purple',
      closeToTray: 'yes',
      startAtLogin: 1,
      defaultWorkload: 'no-such-scenario',
      policy: { commitLimit: -1 },
      metricsEnabled: 'on',
      metricsPort: 80,
      metricsToken: 'short"token',
    };
    writeFileSync(path, JSON.stringify(bad));
    const loaded = loadSettings(path);
    assert.deepEqual(loaded.settings, DEFAULT_SETTINGS);
    assert.ok(loaded.warning);
    for (const field of Object.keys(bad)) assert.ok(loaded.warning.includes(field), `the warning names ${field}`);
    assert.equal(asideFiles(dir).length, 1);
  });

  test('partially valid: the valid fields are kept, the invalid ones reset, the file kept aside and repaired', () => {
    const { dir, path } = fresh();
    writeFileSync(
      path,
      JSON.stringify({
        ...custom,
        samplingIntervalMs: 99_999,
        theme: 42,
        policy: { ...custom.policy, thresholds: { eTaskCritical: 2 } },
      }),
    );
    const loaded = loadSettings(path);
    const expected = { ...custom, samplingIntervalMs: 250, theme: 'system', policy: DEFAULT_POLICY };
    assert.deepEqual(loaded.settings, expected);
    assert.ok(loaded.warning);
    assert.match(loaded.warning, /samplingIntervalMs/);
    assert.match(loaded.warning, /theme/);
    assert.match(loaded.warning, /policy/);
    assert.doesNotMatch(loaded.warning, /language|historyLength|defaultWorkload/);
    assert.equal(asideFiles(dir).length, 1);
    assert.deepEqual(loadSettings(path), { settings: expected });
  });

  test('sampling interval bounds are 100 and 10000 ms, integers', () => {
    for (const [value, ok] of [
      [100, true],
      [10_000, true],
      [99, false],
      [10_001, false],
      [250.5, false],
    ] as const) {
      const { path } = fresh();
      writeFileSync(path, JSON.stringify({ samplingIntervalMs: value }));
      const loaded = loadSettings(path);
      assert.equal(loaded.settings.samplingIntervalMs, ok ? value : 250, String(value));
      assert.equal(loaded.warning === undefined, ok, String(value));
    }
  });

  test('metrics: off by default on port 9477; a port below 1024 or a token that is not base64url is reset', () => {
    assert.equal(DEFAULT_SETTINGS.metricsEnabled, false);
    assert.equal(DEFAULT_SETTINGS.metricsPort, 9477);
    assert.equal(DEFAULT_SETTINGS.metricsToken, '');
    const token = 'A'.repeat(32);
    for (const [value, ok] of [
      [{ metricsPort: 1024, metricsToken: token }, true],
      [{ metricsPort: 65535, metricsToken: '' }, true],
      [{ metricsPort: 1023 }, false],
      [{ metricsPort: 65536 }, false],
      [{ metricsToken: 'A'.repeat(31) }, false],
      [{ metricsToken: `${'A'.repeat(40)}=` }, false],
    ] as const) {
      const { path } = fresh();
      writeFileSync(path, JSON.stringify({ metricsEnabled: true, ...value }));
      const loaded = loadSettings(path);
      assert.equal(loaded.warning === undefined, ok, JSON.stringify(value));
      assert.equal(loaded.settings.metricsEnabled, true, 'the valid field is kept');
    }
  });

  test('two corrupt loads in a row keep both originals', () => {
    const { dir, path } = fresh();
    writeFileSync(path, 'garbage 1');
    loadSettings(path);
    writeFileSync(path, 'garbage 2');
    loadSettings(path);
    const kept = asideFiles(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    assert.deepEqual(kept.sort(), ['garbage 1', 'garbage 2']);
  });

  test('an unreadable path (a folder named settings.json) gives the defaults and a warning, and is left alone', () => {
    const { dir } = fresh();
    const path = join(dir, 'settings.json');
    mkdtempSync(path); // a folder whose name starts with settings.json
    const folder = readdirSync(dir)[0] ?? '';
    const loaded = loadSettings(join(dir, folder));
    assert.deepEqual(loaded.settings, DEFAULT_SETTINGS);
    assert.match(loaded.warning ?? '', /Could not read/);
    assert.deepEqual(readdirSync(dir), [folder]);
  });

  test('round trip: save then load gives the same settings; the file is readable JSON', () => {
    const { dir, path } = fresh();
    saveSettings(path, custom);
    assert.deepEqual(loadSettings(path), { settings: custom });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), custom);
    saveSettings(path, DEFAULT_SETTINGS);
    assert.deepEqual(loadSettings(path), { settings: DEFAULT_SETTINGS });
    assert.deepEqual(readdirSync(dir), ['settings.json'], 'no temporary file left behind');
  });

  test('save creates the folder when missing', () => {
    const { dir } = fresh();
    const path = join(dir, 'a', 'b', 'settings.json');
    saveSettings(path, custom);
    assert.deepEqual(loadSettings(path).settings, custom);
  });

  test('save refuses invalid settings and leaves the file as it was', () => {
    const { path } = fresh();
    saveSettings(path, custom);
    const before = readFileSync(path, 'utf8');
    const invalid = { ...custom, samplingIntervalMs: 1 };
    assert.throws(() => saveSettings(path, invalid), /Refusing to save invalid settings .*samplingIntervalMs/);
    assert.equal(readFileSync(path, 'utf8'), before);
  });

  test('an unwritable folder is a clear error naming the file, and leaves nothing behind', () => {
    const { dir } = fresh();
    // A file where the folder should be: fails for every user, root included, on every OS.
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const path = join(blocker, 'settings.json');
    assert.throws(
      () => saveSettings(path, custom),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.startsWith(`Could not save the settings to ${path}: `), error.message);
        assert.match(error.message, /E[A-Z]+/, 'the OS error code is given');
        return true;
      },
    );
    assert.deepEqual(readdirSync(dir), ['not-a-folder']);
  });

  test('loading from a path under a file (ENOTDIR on Linux, ENOENT on Windows) never throws', () => {
    const { dir } = fresh();
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'x');
    const loaded = loadSettings(join(blocker, 'settings.json'));
    assert.deepEqual(loaded.settings, DEFAULT_SETTINGS);
  });
});

describe('SettingsStore (changes while the app runs)', () => {
  test('a change is saved at once; restart-bound ones are reported as pending until they match the start again', () => {
    const { path } = fresh();
    const store = new SettingsStore(path, DEFAULT_SETTINGS);
    assert.deepEqual(store.update({ theme: 'dark', samplingIntervalMs: 500 }), ['samplingIntervalMs', 'theme']);
    assert.equal(loadSettings(path).settings.theme, 'dark');
    assert.equal(loadSettings(path).settings.samplingIntervalMs, 500);
    assert.deepEqual(store.result().pendingRestart, ['samplingIntervalMs']);
    assert.equal(store.result().path, path);
    assert.deepEqual(store.update({ samplingIntervalMs: DEFAULT_SETTINGS.samplingIntervalMs }), ['samplingIntervalMs']);
    assert.deepEqual(store.result().pendingRestart, []);
    assert.deepEqual(store.update({ theme: 'dark' }), [], 'no change, nothing reported');
  });

  test('an invalid change is refused as a whole: nothing changes in memory or on disk', () => {
    const { path } = fresh();
    const store = new SettingsStore(path, DEFAULT_SETTINGS);
    store.update({ closeToTray: false });
    const before = readFileSync(path, 'utf8');
    for (const patch of [
      { closeToTray: true, defaultWorkload: 'no-such-scenario' },
      { closeToTray: true, samplingIntervalMs: 5 },
      { closeToTray: true, bogus: 1 } as Partial<Settings>,
    ]) {
      assert.throws(() => store.update(patch), SettingsRefusedError);
      assert.equal(store.current.closeToTray, false);
      assert.equal(readFileSync(path, 'utf8'), before);
    }
    assert.throws(() => store.update({ defaultWorkload: 'nope' }), /built-in scenario/);
  });

  test('a change that cannot be saved is refused and not applied', () => {
    const { dir } = fresh();
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'x');
    const store = new SettingsStore(join(blocker, 'settings.json'), DEFAULT_SETTINGS);
    assert.throws(() => store.update({ theme: 'light' }), /Could not save the settings/);
    assert.equal(store.current.theme, DEFAULT_SETTINGS.theme);
  });
});
