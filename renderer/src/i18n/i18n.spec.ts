import { describe, expect, it } from 'vitest';
import en from './en';
import { LANGUAGES } from '../api/contract';
import { catalogues } from './index';

type Tree = { readonly [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

/** Keys whose value may equal the English one: proper names, API names, units, words French shares. */
const SAME_AS_EN = new Set([
  'app.title',
  'playground.alloc',
  'playground.free',
  'nav.allocations', // fr: "Allocations"
  'alloc.title', // fr: "Allocations"
  'alloc.columns.base', // fr: "Base"
  'alloc.columns.protect', // fr: "Protection"
  'alloc.filterProtect', // fr
  'drawer.protect', // fr
  'playground.protect', // fr
  'host.notification', // fr: "Notification"
  'chart.pause', // fr: "Pause"
  'scenarios.pause', // fr: "Pause"
  'drawer.pages', // fr: "pages"
  'drawer.title', // "Region {base}" vs "Région {base}" differ anyway
  'settings.ms', // unit
  'settings.history.15m', // fr: "15 minutes"
  'processes.picker.columns.pid', // "PID" everywhere
  'processes.types.image', // fr: "Image" (VMMap's word)
  'processes.summary.type', // fr: "Type"
  'processes.table.columns.type', // fr
  'processes.table.filterType', // fr
  'processes.table.columns.protect', // fr: "Protection"
  'processes.table.filterProtect', // fr
  'processes.export.format', // fr: "Format"
  'processes.bar.legend', // placeholders and a colon only
]);

const PLACEHOLDER = /\{(\w+)\}/g;

describe('i18n catalogues', () => {
  const reference = flatten(en as unknown as Tree);

  for (const locale of LANGUAGES) {
    it(`${locale} has exactly the English keys, the same placeholders, no empty value`, () => {
      const flat = flatten(catalogues[locale] as unknown as Tree);
      expect([...flat.keys()].sort()).toEqual([...reference.keys()].sort());
      for (const [key, value] of flat) {
        expect(value.trim(), key).not.toBe('');
        const want = [...reference.get(key)!.matchAll(PLACEHOLDER)].map((m) => m[1]).sort();
        const got = [...value.matchAll(PLACEHOLDER)].map((m) => m[1]).sort();
        expect(got, key).toEqual(want);
        expect(value, `${key} must not use vue-i18n's special characters`).not.toMatch(/[|@$]/);
      }
    });
  }

  for (const locale of ['fr', 'zh-CN'] as const) {
    it(`${locale} leaves no English behind (except proper names and units)`, () => {
      const flat = flatten(catalogues[locale] as unknown as Tree);
      const same = [...flat].filter(([k, v]) => v === reference.get(k) && !SAME_AS_EN.has(k)).map(([k]) => k);
      expect(same).toEqual([]);
    });
  }

  it('zh-CN has CJK text in every value that is not a proper name', () => {
    const flat = flatten(catalogues['zh-CN'] as unknown as Tree);
    const latinOnly = [...flat]
      .filter(([k, v]) => !SAME_AS_EN.has(k) && !/[\u4e00-\u9fff]/.test(v) && !/^\{\w+\}( \/ \{\w+\})?$/.test(v))
      .map(([k]) => k);
    expect(latinOnly).toEqual([]);
  });
});
