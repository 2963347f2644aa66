import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HR } from '../host/hresult';
import type { FailureCounts, HostStats, MemoryAvailable } from '../host/types';
import { LANGUAGES } from '../vocabulary';
import {
  MENU_IDS,
  TOOLTIP_MAX,
  formatBytes,
  gaugeRatio,
  notificationText,
  resolveLocale,
  trayMenu,
  trayTooltip,
  truncate,
  type MenuItemSpec,
  type RecentFailure,
} from './tray-model';

const GiB = 1024 ** 3;
const noFailures: FailureCounts = { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 };

function stats(over: Partial<HostStats> = {}): HostStats {
  return {
    reserved: 3 * GiB,
    committed: 1.5 * GiB,
    external: 0,
    heap: 0,
    regions: 4,
    state: 'available',
    failures: noFailures,
    ...over,
  };
}

describe('trayTooltip', () => {
  test('English: state, committed against the limit, reserved, failures by level', () => {
    const text = trayTooltip(
      stats({ failures: { eTaskCritical: 3, eAppDomainCritical: 1, eProcessCritical: 0, other: 2 } }),
      { commitLimit: 2 * GiB },
      1,
      'en',
    );
    assert.equal(
      text,
      [
        'hostmem · memory Low',
        'Committed 1.5 GiB / 2 GiB (75%)',
        'Reserved 3 GiB',
        'Failures: Task 3 · AppDomain 1 · Process 0 · Other 2',
      ].join('\n'),
    );
  });

  test('no limit, no failures, unavailable', () => {
    const text = trayTooltip(stats({ state: 'unavailable' }), { commitLimit: null }, 3);
    assert.equal(text, 'hostmem · host unavailable\nCommitted 1.5 GiB (no limit)\nReserved 3 GiB\nFailures: none');
  });

  test('French and Chinese', () => {
    const fr = trayTooltip(stats(), { commitLimit: 2 * GiB }, 2, 'fr-FR');
    assert.equal(fr, 'hostmem · mémoire neutre\nEngagé 1,5 GiB / 2 GiB (75%)\nRéservé 3 GiB\nÉchecs : aucun');
    const zh = trayTooltip(stats({ state: 'unavailable' }), { commitLimit: null }, 2, 'zh-CN');
    assert.ok(zh.startsWith('hostmem · 宿主不可用\n已提交 1.5 GiB (无上限)'), zh);
  });

  const huge: FailureCounts = {
    eTaskCritical: 9_007_199_254_740_991,
    eAppDomainCritical: 123_456_789_012,
    eProcessCritical: 98_765_432,
    other: 4_294_967_295,
  };
  const cases: Array<[string, HostStats, number | null]> = [
    ['huge', stats({ reserved: 2 ** 63, committed: 2 ** 62, failures: huge }), 2 ** 60],
    ['max safe', stats({ reserved: Number.MAX_SAFE_INTEGER, committed: Number.MAX_SAFE_INTEGER, failures: huge }), 1],
    ['over limit', stats({ committed: 1e18, failures: huge, state: 'unavailable' }), 1],
    ['absurd', stats({ reserved: Number.MAX_VALUE, committed: Infinity, failures: huge }), Number.MAX_VALUE],
    ['NaN', stats({ reserved: Number.NaN, committed: Number.NaN, failures: { ...huge, other: Number.NaN } }), null],
    ['small', stats(), 2 * GiB],
    [
      'beyond safe counts',
      stats({ failures: { eTaskCritical: 1e300, eAppDomainCritical: 1e20, eProcessCritical: 1, other: 0 } }),
      null,
    ],
  ];
  for (const locale of [...LANGUAGES, undefined, 'de-DE']) {
    for (const [name, s, limit] of cases) {
      for (const m of [1, 2, 3] as MemoryAvailable[]) {
        test(`≤ ${TOOLTIP_MAX} UTF-16 units: ${name}, ${locale ?? 'default'}, memory ${m}`, () => {
          const text = trayTooltip(s, { commitLimit: limit }, m, locale);
          assert.ok(text.length <= TOOLTIP_MAX, `${text.length}: ${JSON.stringify(text)}`);
          assert.ok(text.startsWith('hostmem · '));
          assert.ok(!/NaN|Infinity|undefined|\d{5}/.test(text), text);
          // The committed line is always there.
          assert.equal(text.split('\n').length >= 2, true);
        });
      }
    }
  }

  test('long failure counts go short before anything is dropped', () => {
    const text = trayTooltip(stats({ failures: huge }), { commitLimit: 2 * GiB }, 1, 'fr');
    assert.ok(text.length <= TOOLTIP_MAX);
    assert.match(text, /Réservé/);
    assert.match(text, /Échecs : /);
  });

  test('truncate never splits a surrogate pair', () => {
    assert.equal(truncate('abc', 5), 'abc');
    assert.equal(truncate('abcdef', 4), 'abc…');
    const t = truncate('ab😀cd', 4);
    assert.equal(t, 'ab…');
    assert.ok(t.length <= 4);
  });

  test('formatBytes and gaugeRatio', () => {
    assert.equal(formatBytes(0, 'en'), '0 B');
    assert.equal(formatBytes(512 * 1024, 'en'), '512 KiB');
    assert.equal(formatBytes(1.25 * GiB, 'fr'), '1,3 GiB');
    assert.equal(formatBytes(2 ** 70, 'en'), '1 ZiB');
    assert.equal(formatBytes(Number.MAX_VALUE, 'en'), '>1023 YiB');
    assert.equal(formatBytes(Number.NaN, 'en'), '?');
    assert.equal(formatBytes(-5, 'en'), '0 B');
    assert.equal(gaugeRatio({ committed: GiB }, { commitLimit: 2 * GiB }, 90), 0.5);
    assert.equal(gaugeRatio({ committed: GiB }, { commitLimit: null }, 42), 0.42);
    assert.equal(gaugeRatio({ committed: GiB }, { commitLimit: null }, null), 0);
    assert.equal(gaugeRatio({ committed: 5 * GiB }, { commitLimit: GiB }, null), 1);
  });

  test('resolveLocale', () => {
    assert.equal(resolveLocale('fr-CA'), 'fr');
    assert.equal(resolveLocale('zh'), 'zh-CN');
    assert.equal(resolveLocale('zh-Hans-CN'), 'zh-CN');
    assert.equal(resolveLocale('de'), 'en');
    assert.equal(resolveLocale(undefined), 'en');
  });
});

describe('trayMenu', () => {
  const failures: RecentFailure[] = [
    {
      seq: 7,
      time: Date.UTC(2024, 0, 1, 12, 0, 5),
      method: 'VirtualAlloc',
      hr: HR.E_OUTOFMEMORY,
      level: 'eAppDomainCritical',
    },
    { seq: 9, time: Date.UTC(2024, 0, 1, 12, 0, 9), method: 'Alloc', hr: HR.HOST_E_TIMEOUT, level: 'eProcessCritical' },
    { seq: 8, time: Date.UTC(2024, 0, 1, 12, 0, 7), method: 'VirtualFree', hr: HR.E_INVALIDARG, level: 'other' },
  ];
  const shape = (items: readonly MenuItemSpec[]): string[] =>
    items.map((i) => (i.type === 'separator' ? '---' : `${i.type}:${i.id}:${i.label}`));

  test('running, no failures, start at login off (en)', () => {
    const menu = trayMenu({ paused: false, startAtLogin: false, recentFailures: [] });
    assert.deepEqual(shape(menu), [
      'normal:open:Open hostmem',
      'normal:pause-workloads:Pause workloads',
      'normal:export-report:Export report…',
      '---',
      'submenu:recent-failures:Recent failures',
      '---',
      'checkbox:start-at-login:Start at login',
      '---',
      'normal:quit:Quit',
    ]);
    const recent = menu.find((i) => i.id === MENU_IDS.recentFailures)!;
    assert.equal(recent.enabled, false);
    assert.deepEqual(recent.submenu, []);
    assert.equal(menu.find((i) => i.id === MENU_IDS.startAtLogin)!.checked, false);
    // Plain data: survives JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(menu)), menu);
  });

  test('paused, some failures (newest first, capped), start at login on', () => {
    const menu = trayMenu({
      paused: true,
      startAtLogin: true,
      recentFailures: failures,
      maxRecent: 2,
      timeZone: 'UTC',
    });
    assert.equal(menu[1]!.id, MENU_IDS.resume);
    assert.equal(menu[1]!.label, 'Resume workloads');
    assert.ok(!menu.some((i) => i.id === MENU_IDS.pause));
    const recent = menu.find((i) => i.id === MENU_IDS.recentFailures)!;
    assert.equal(recent.enabled, true);
    assert.deepEqual(recent.submenu, [
      { id: 'failure:9', label: '12:00:09 · Alloc · HOST_E_TIMEOUT · Process', type: 'normal', enabled: true },
      {
        id: 'failure:8',
        label: '12:00:07 · VirtualFree · E_INVALIDARG · Other',
        type: 'normal',
        enabled: true,
      },
    ]);
    assert.equal(menu.find((i) => i.id === MENU_IDS.startAtLogin)!.checked, true);
  });

  test('every locale has every label, and they differ from English where they should', () => {
    const en = trayMenu({ paused: false, startAtLogin: false, recentFailures: failures, timeZone: 'UTC' });
    for (const locale of LANGUAGES) {
      for (const paused of [false, true]) {
        const menu = trayMenu({ locale, paused, startAtLogin: true, recentFailures: failures, timeZone: 'UTC' });
        assert.deepEqual(
          menu.map((i) => [i.id, i.type]),
          trayMenu({ paused, startAtLogin: true, recentFailures: failures }).map((i) => [i.id, i.type]),
        );
        for (const item of menu) {
          if (item.type === 'separator') continue;
          assert.ok(item.label && item.label.trim().length > 0, `${locale} ${item.id}`);
        }
        if (locale !== 'en' && !paused) {
          for (const [i, item] of menu.entries()) {
            if (item.type !== 'separator') assert.notEqual(item.label, en[i]!.label, `${locale} ${item.id}`);
          }
        }
      }
    }
    const zh = trayMenu({
      locale: 'zh-CN',
      paused: false,
      startAtLogin: false,
      recentFailures: failures,
      timeZone: 'UTC',
    });
    assert.equal(
      zh.find((i) => i.id === MENU_IDS.recentFailures)!.submenu![2]!.label,
      '12:00:05 · VirtualAlloc · E_OUTOFMEMORY · 应用程序域',
    );
  });
});

describe('notificationText', () => {
  test('a failure, with the held-back count', () => {
    const t = notificationText(
      {
        kind: 'eAppDomainCritical',
        time: 0,
        failure: { level: 'eAppDomainCritical', method: 'VirtualAlloc', hr: HR.E_OUTOFMEMORY, size: 64 * 1024 },
        suppressed: 3,
      },
      'en',
    );
    assert.deepEqual(t, {
      title: 'AppDomain-critical allocation failure',
      body: 'VirtualAlloc · E_OUTOFMEMORY · 64 KiB\n3 more AppDomain-critical failures',
    });
  });

  test('low memory, every locale', () => {
    for (const locale of LANGUAGES) {
      const t = notificationText({ kind: 'low-memory', time: 0, suppressed: 2 }, locale);
      assert.ok(t.title.length > 0 && t.body.includes('2'), `${locale}: ${JSON.stringify(t)}`);
    }
    assert.deepEqual(notificationText({ kind: 'low-memory', time: 0, suppressed: 0 }), {
      title: 'Low memory',
      body: 'The host is short of memory (Low).',
    });
  });
});
