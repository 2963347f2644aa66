// The desktop app's core with the real host over this OS (posix here, win32 under Wine): what the tray shows,
// when it changes, notifications, Pause/Resume of the workloads, and the export path the tray and the page share.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_POLICY, type SettingsResult } from '../contract';
import { createShellCore, RECENT_FAILURES, type ShellCore, type ShellNotification, type TrayView } from './core';
import { DEFAULT_SETTINGS, loadSettings, SettingsStore, type Settings } from './settings';
import { MENU_IDS, TOOLTIP_MAX } from './tray-model';

const MEM_COMMIT_RESERVE = 0x3000;
const PAGE_READWRITE = 0x04;
const MiB = 1024 * 1024;

// The sampler's timer is unref'd (it must not keep a CLI alive): hold the event loop while the tests wait on it.
const keepAlive = setInterval(() => undefined, 1000);
after(() => clearInterval(keepAlive));

function settings(patch: Partial<Settings> = {}): Settings {
  return { ...DEFAULT_SETTINGS, samplingIntervalMs: 100, defaultWorkload: 'none', ...patch };
}

function ids(view: TrayView): string[] {
  return view.menu.flatMap((m) => (m.id ? [m.id] : []));
}

/** The next tray view the core reports (it reports only changes). */
function nextTrayChange(core: ShellCore, accept: (view: TrayView) => boolean): Promise<TrayView> {
  return new Promise((resolve) => {
    const stop = core.onTrayChange((view) => {
      if (!accept(view)) return;
      stop();
      resolve(view);
    });
  });
}

test('the tray view: tooltip within 127 characters with the figures, the whole menu, an icon at every size', async () => {
  const core = createShellCore({ settings: settings(), systemLocale: 'en-US' });
  try {
    const view = core.trayView();
    assert.ok(view.tooltip.length <= TOOLTIP_MAX);
    assert.match(view.tooltip, /^hostmem · memory (Low|Neutral|High)\nCommitted 0 B \(no limit\)\nReserved 0 B/);
    assert.deepEqual(ids(view), [
      MENU_IDS.open,
      MENU_IDS.pause,
      MENU_IDS.exportReport,
      MENU_IDS.recentFailures,
      MENU_IDS.startAtLogin,
      MENU_IDS.quit,
    ]);
    assert.deepEqual(
      view.icon.frames.map((f) => f.size),
      [16, 20, 24, 32],
    );
    for (const f of view.icon.frames) assert.deepEqual([...f.png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // 'PNG'
  } finally {
    await core.dispose();
  }
});

test('the language setting picks the tray language; "system" follows the OS locale', async () => {
  for (const [language, systemLocale, expected] of [
    ['system', 'fr-FR', /Engagé|engagé|Validé|validé/],
    ['zh-CN', 'en-US', /已提交/],
  ] as const) {
    const core = createShellCore({ settings: settings({ language }), systemLocale });
    try {
      assert.match(core.trayView().tooltip, expected);
    } finally {
      await core.dispose();
    }
  }
});

test('a language change redraws the tray in that language at the next sample', async () => {
  const core = createShellCore({ settings: settings(), systemLocale: 'en' });
  try {
    assert.match(core.trayView().tooltip, /Committed/);
    const changed = nextTrayChange(core, (v) => v.tooltip.includes('已提交'));
    core.setLanguage('zh-CN');
    const view = await changed;
    assert.ok(
      view.menu.some((m) => m.label === '退出' || (m.label ?? '').includes('退出')),
      'the menu too',
    );
    core.setLanguage('system');
    assert.match(core.trayView().tooltip, /Committed/);
  } finally {
    await core.dispose();
  }
});

test('committing memory against a commit limit changes the icon and tooltip, and the core reports it', async () => {
  const core = createShellCore({
    settings: settings({ policy: { ...DEFAULT_POLICY, commitLimit: 8 * MiB } }),
    systemLocale: 'en',
  });
  try {
    const before = core.trayView();
    assert.match(before.tooltip, /Committed 0 B \/ 8 MiB \(0%\)/);
    const changed = nextTrayChange(core, (v) => v.tooltip.includes('(75%)'));
    const r = await core.host.VirtualAlloc(null, 6 * MiB, MEM_COMMIT_RESERVE, PAGE_READWRITE, 0);
    assert.equal(r.hr, 0);
    const view = await changed;
    assert.match(view.tooltip, /Committed 6 MiB \/ 8 MiB \(75%\)/);
    assert.notEqual(view.iconKey, before.iconKey, 'the gauge shows more filled rows');
    assert.equal(view.icon.changed, true);
    // Nothing changed since: the next view redraws nothing.
    assert.equal(core.trayView().icon.changed, false);
  } finally {
    await core.dispose();
  }
});

test('a display change: the icon is redrawn at the new sizes at once, nothing redrawn after', async () => {
  const core = createShellCore({ settings: settings(), systemLocale: 'en' });
  try {
    assert.equal(core.trayView().icon.changed, true);
    assert.equal(core.trayView().icon.changed, false);
    core.setTrayIconSizes([24]); // a 150 % display on Windows
    const view = core.trayView();
    assert.equal(view.icon.changed, true);
    assert.deepEqual(view.icon.redrawn, [24]);
    assert.deepEqual(
      view.icon.frames.map((f) => [f.size, f.image.width, f.png.readUInt32BE(16)]), // PNG IHDR width
      [[24, 24, 24]],
    );
    assert.equal(core.trayView().icon.changed, false);
    assert.throws(() => core.setTrayIconSizes([4]), RangeError);
  } finally {
    await core.dispose();
  }
});

test('AppDomain-critical failures notify, rate-limited; they are listed under Recent failures', async () => {
  const core = createShellCore({
    settings: settings({ policy: { ...DEFAULT_POLICY, commitLimit: 1 * MiB } }),
    systemLocale: 'en',
    notifyIntervalMs: 60_000,
  });
  const shown: ShellNotification[] = [];
  core.onNotification((n) => shown.push(n));
  try {
    const first = await core.host.VirtualAlloc(null, 4 * MiB, MEM_COMMIT_RESERVE, PAGE_READWRITE, 1);
    assert.notEqual(first.hr, 0, 'over the commit limit');
    const second = await core.host.VirtualAlloc(null, 4 * MiB, MEM_COMMIT_RESERVE, PAGE_READWRITE, 1);
    assert.notEqual(second.hr, 0);
    const task = await core.host.VirtualAlloc(null, 4 * MiB, MEM_COMMIT_RESERVE, PAGE_READWRITE, 0);
    assert.notEqual(task.hr, 0);
    const failures = shown.filter((n) => n.kind !== 'low-memory');
    assert.equal(failures.length, 1, 'the second AppDomain failure is held back; Task-critical does not notify');
    assert.equal(failures[0]?.kind, 'eAppDomainCritical');
    assert.match(failures[0]?.body ?? '', /VirtualAlloc · E_OUTOFMEMORY · 4 MiB/);
    const seq = failures[0]?.failureSeq;
    assert.ok(seq !== null && seq !== undefined && core.recentFailure(seq)?.level === 'eAppDomainCritical');

    const view = core.trayView();
    const recent = view.menu.find((m) => m.id === MENU_IDS.recentFailures);
    assert.equal(recent?.submenu?.length, 3, 'all three failures, newest first');
    assert.match(recent?.submenu?.[0]?.label ?? '', /VirtualAlloc · E_OUTOFMEMORY · Task$/);
    assert.match(view.tooltip, /Failures: Task 1 · AppDomain 2 · Process 0 · Other 0/);

    for (let i = 0; i < RECENT_FAILURES + 5; i++) {
      await core.host.VirtualAlloc(null, 4 * MiB, MEM_COMMIT_RESERVE, PAGE_READWRITE, 0);
    }
    assert.equal(core.trayView().menu.find((m) => m.id === MENU_IDS.recentFailures)?.submenu?.length, RECENT_FAILURES);
  } finally {
    await core.dispose();
  }
});

test('Pause / Resume workloads: the default workload pauses, the menu offers Resume, then runs again', async () => {
  const core = createShellCore({ settings: settings({ defaultWorkload: 'steady' }), systemLocale: 'en' });
  try {
    assert.equal(await core.setPaused(true), 1);
    assert.equal(core.paused, true);
    assert.deepEqual(
      ids(core.trayView()).filter((id) => id === MENU_IDS.resume || id === MENU_IDS.pause),
      [MENU_IDS.resume],
    );
    assert.equal(await core.setPaused(true), 0, 'already paused: nothing to do');
    assert.equal(await core.setPaused(false), 1);
    assert.equal(core.paused, false);
    assert.ok(ids(core.trayView()).includes(MENU_IDS.pause));
  } finally {
    await core.dispose();
  }
});

test('dispose stops the default workload, releases its memory, and can be called twice', async () => {
  const core = createShellCore({ settings: settings({ defaultWorkload: 'steady' }), systemLocale: 'en' });
  // The steady workload holds memory soon after it starts.
  await nextTrayChange(core, () => core.host.stats().regions > 0);
  assert.equal(core.service.running, 1);
  await Promise.all([core.dispose(), core.dispose()]);
  assert.equal(core.service.running, 0);
  assert.equal(core.host.stats().regions, 0, 'every reservation was released');
});

test('settings over the contract: read, change (saved, restart-bound ones pending), refuse bad values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-core-settings-'));
  const store = new SettingsStore(join(dir, 'settings.json'), settings());
  const core = createShellCore({
    settings: store.current,
    systemLocale: 'en',
    appSettings: {
      get: () => store.result(),
      update: (patch) => {
        store.update(patch);
        return store.result();
      },
    },
  });
  const page = core.service.connect(() => undefined);
  try {
    const got = await page.request({ method: 'getSettings' });
    assert.ok(got.ok);
    assert.equal((got.value as SettingsResult).settings.closeToTray, true);

    const changed = await page.request({
      method: 'updateSettings',
      params: { settings: { closeToTray: false, samplingIntervalMs: 1000 } },
    });
    assert.ok(changed.ok, JSON.stringify(changed));
    assert.deepEqual((changed.value as SettingsResult).pendingRestart, ['samplingIntervalMs']);
    assert.equal(loadSettings(store.path).settings.closeToTray, false, 'saved to the file');

    const bad = await page.request({ method: 'updateSettings', params: { settings: { samplingIntervalMs: 1 } } });
    assert.equal(!bad.ok && bad.error.code, 'bad-request');
    const unknown = await page.request({ method: 'updateSettings', params: { settings: { defaultWorkload: 'nope' } } });
    assert.equal(!unknown.ok && unknown.error.code, 'refused');
    assert.equal(store.current.defaultWorkload, 'none', 'nothing changed');
  } finally {
    page.close();
    await core.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the app (hostmem serve), settings are refused; exporting needs somewhere to save', async () => {
  const core = createShellCore({ settings: settings(), systemLocale: 'en' });
  const page = core.service.connect(() => undefined);
  try {
    const got = await page.request({ method: 'getSettings' });
    assert.equal(!got.ok && got.error.code, 'refused');
    const exported = await core.exportReport({ format: 'json' });
    assert.equal(!exported.ok && exported.error.code, 'refused');
  } finally {
    page.close();
    await core.dispose();
  }
});

test('copyToClipboard copies what main holds (the page names it, never supplies it); refused without the app', async () => {
  const copied: string[] = [];
  let failing = false;
  const core = createShellCore({
    settings: settings(),
    systemLocale: 'en',
    copyToClipboard: (what) => {
      if (failing) throw new Error('no metrics token yet: turn the endpoint on');
      copied.push(what);
    },
  });
  const bare = createShellCore({ settings: settings(), systemLocale: 'en' });
  const page = core.service.connect(() => undefined);
  const other = bare.service.connect(() => undefined);
  try {
    const ok = await page.request({ method: 'copyToClipboard', params: { what: 'metricsToken' } });
    assert.deepEqual(ok, { ok: true, value: { copied: 'metricsToken' } });
    assert.deepEqual(copied, ['metricsToken']);
    const text = await page.request({ method: 'copyToClipboard', params: { what: 'some text', text: 'x' } });
    assert.equal(!text.ok && text.error.code, 'bad-request', 'the page cannot put its own text on the clipboard');
    failing = true;
    const refused = await page.request({ method: 'copyToClipboard', params: { what: 'metricsToken' } });
    assert.equal(!refused.ok && refused.error.code, 'refused');
    assert.match(!refused.ok ? refused.error.message : '', /no metrics token/);
    const serve = await other.request({ method: 'copyToClipboard', params: { what: 'metricsToken' } });
    assert.equal(!serve.ok && serve.error.code, 'refused');
    assert.deepEqual(copied, ['metricsToken']);
  } finally {
    page.close();
    other.close();
    await core.dispose();
    await bare.dispose();
  }
});

test('the tray export goes through the service: the saver gets the live report with the sections asked for', async () => {
  let saved: { format: string; allocations: number; samples: number; omitted: readonly string[] } | null = null;
  const core = createShellCore({
    settings: settings(),
    systemLocale: 'en',
    saveReport: (request, model) => {
      saved = {
        format: request.format,
        allocations: model.allocations.length,
        samples: model.samples.length,
        omitted: model.source.omitted ?? [],
      };
      return Promise.resolve({ outcome: 'saved', files: ['/x/report.json'] });
    },
  });
  try {
    await core.host.VirtualAlloc(null, MiB, MEM_COMMIT_RESERVE, PAGE_READWRITE, 0);
    const answer = await core.exportReport({ format: 'json', include: ['allocations', 'failures'] });
    assert.ok(answer.ok);
    assert.deepEqual(answer.value, { outcome: 'saved', files: ['/x/report.json'] });
    assert.deepEqual(saved, { format: 'json', allocations: 1, samples: 0, omitted: ['samples'] });
  } finally {
    await core.dispose();
  }
});
