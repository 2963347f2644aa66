import { describe, expect, it } from 'vitest';
import type { ProcessRegionRow, ProcessRegionType } from '../api/contract';
import {
  EMPTY_PROCESS_FILTER,
  findProcessRow,
  matchesProcess,
  mergeProcessRows,
  selectProcessRows,
  type ProcessRowFilter,
  type ProcessSortKey,
} from './processRows';

const TYPES: readonly ProcessRegionType[] = ['image', 'mapped', 'heap', 'stack', 'private', 'free'];

/** A small deterministic generator (no Math.random: a failure must replay). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function row(base: number, rnd: () => number): ProcessRegionRow {
  const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
  const size = 4096 * (1 + Math.floor(rnd() * 64));
  return {
    base,
    size,
    state: type === 'free' ? 'free' : rnd() < 0.7 ? 'commit' : 'reserve',
    type,
    protect: [0, 2, 4, 0x20][Math.floor(rnd() * 4)]!,
    committed: Math.floor(rnd() * size),
    resident: rnd() < 0.2 ? null : Math.floor(rnd() * size),
    private: null,
    file: rnd() < 0.3 ? `/usr/lib/lib${Math.floor(rnd() * 9)}.so` : null,
  };
}

describe('process rows', () => {
  it('merging a delta gives the same list as filtering and sorting everything again', () => {
    const rnd = random(7);
    const keys: ProcessSortKey[] = ['base', 'size', 'committed', 'resident', 'type', 'file', 'protect', 'state'];
    for (const key of keys) {
      for (const descending of [false, true]) {
        const filter: ProcessRowFilter = { ...EMPTY_PROCESS_FILTER, minSize: rnd() < 0.5 ? 0 : 8192 };
        const rows = new Map<number, ProcessRegionRow>();
        for (let i = 0; i < 500; i++) rows.set(0x10000 * (i + 1), row(0x10000 * (i + 1), rnd));
        let list = selectProcessRows(rows.values(), filter, key, descending);
        for (let round = 0; round < 20; round++) {
          const stale = new Set<ProcessRegionRow>();
          const incoming: ProcessRegionRow[] = [];
          for (let k = 0; k < 30; k++) {
            const base = 0x10000 * (1 + Math.floor(rnd() * 600));
            const old = rows.get(base);
            if (old) stale.add(old);
            if (rnd() < 0.2) rows.delete(base);
            else {
              const fresh = row(base, rnd);
              rows.set(base, fresh);
              incoming.push(fresh);
            }
          }
          list = mergeProcessRows(list, stale, incoming, filter, key, descending);
          expect(list).toEqual(selectProcessRows(rows.values(), filter, key, descending));
        }
      }
    }
  });

  it('filters by type, state, protection, size and file', () => {
    const rnd = random(3);
    const rows = Array.from({ length: 600 }, (_, i) => row(0x1000 * (i + 1), rnd));
    const filters: ProcessRowFilter[] = [
      { type: 'image', state: '', protect: 0, minSize: 8192, file: 'LIB' },
      { type: '', state: 'commit', protect: 4, minSize: 0, file: '' },
      { type: 'free', state: '', protect: 0, minSize: 0, file: '' },
    ];
    for (const f of filters) {
      const got = selectProcessRows(rows, f, 'base', false);
      const want = rows.filter(
        (r) =>
          (f.type === '' || r.type === f.type) &&
          (f.state === '' || r.state === f.state) &&
          (f.protect === 0 || r.protect === f.protect) &&
          r.size >= f.minSize &&
          (f.file === '' || (r.file ?? '').includes(f.file.toLowerCase())),
      );
      expect(want.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    }
  });

  it('finds the region that holds an address', () => {
    const rnd = random(5);
    const rows = selectProcessRows(
      Array.from({ length: 100 }, (_, i) => row(0x100000 * (i + 1), rnd)),
      EMPTY_PROCESS_FILTER,
      'base',
      false,
    );
    const r = rows[40]!;
    expect(findProcessRow(rows, r.base + r.size - 1)).toBe(r);
    expect(findProcessRow(rows, r.base + r.size)).toBeUndefined();
    expect(findProcessRow(rows, 0)).toBeUndefined();
  });

  it('the picker matches a name in any case, or a PID by its start', () => {
    const p = { pid: 4242, name: 'Firefox' };
    expect(matchesProcess(p, 'fire')).toBe(true);
    expect(matchesProcess(p, 'FOX')).toBe(true);
    expect(matchesProcess(p, '42')).toBe(true);
    expect(matchesProcess(p, '24')).toBe(false);
    expect(matchesProcess(p, ' ')).toBe(true);
    expect(matchesProcess(p, 'chrome')).toBe(false);
  });
});
