/**
 * Live regions. The rows Map (the ClientView's own, mutated in place by applyMessage) is never made reactive:
 * 100,000 rows behind a deep proxy would cost more than the table. A `version` counter says that rows changed;
 * the sorted/filtered list is computed lazily from it (only while someone reads it: the table), and `version` is
 * bumped at most as often as sorting allows (the bigger the list, the longer the interval, up to 200 ms).
 */
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, shallowRef } from 'vue';
import type { LevelName, RegionRow } from '../api/contract';
import { findContaining as findContainingRow, mergeSorted, ordered, selectSorted } from '../lib/sortedRows';

export type SortKey = 'base' | 'size' | 'committed' | 'protect' | 'level' | 'tag' | 'age';

export interface RegionFilter {
  level: LevelName | '';
  /** Exact tag; '' any; NO_TAG for regions without one. */
  tag: string;
  /** 0: any; else the exact protection, or -1 for 'mixed'. */
  protect: number;
  /** Bytes (reserved size), 0 for any. */
  minSize: number;
}

export const NO_TAG = '\u0000none';
const LEVEL_ORDER: Readonly<Record<LevelName, number>> = {
  eTaskCritical: 0,
  eAppDomainCritical: 1,
  eProcessCritical: 2,
};

export interface Clerk {
  readonly tag: string | null;
  readonly regions: number;
  readonly reserved: number;
  readonly committed: number;
}

function protectKey(p: number | 'mixed'): number {
  return p === 'mixed' ? 0x10000 : p;
}

function comparator(key: SortKey): (a: RegionRow, b: RegionRow) => number {
  switch (key) {
    case 'base':
      return (a, b) => a.base - b.base;
    case 'size':
      return (a, b) => a.size - b.size || a.base - b.base;
    case 'committed':
      return (a, b) => a.committed - b.committed || a.base - b.base;
    case 'protect':
      return (a, b) => protectKey(a.protect) - protectKey(b.protect) || a.base - b.base;
    case 'level':
      return (a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || a.base - b.base;
    case 'tag':
      return (a, b) => (a.tag ?? '').localeCompare(b.tag ?? '') || a.base - b.base;
    case 'age':
      // Oldest first (largest age) when ascending.
      return (a, b) => a.created - b.created || a.base - b.base;
  }
}

/** A reservation's 64 KiB granule number: a small integer, which Map hashes well (raw addresses hash badly). */
export function granuleOf(base: number): number {
  return Math.floor(base / 0x10000);
}

/** Whether a row passes the filter. */
function passes(r: RegionRow, filter: RegionFilter): boolean {
  const { level, tag, protect, minSize } = filter;
  if (level !== '' && r.level !== level) return false;
  if (tag !== '' && (tag === NO_TAG ? r.tag !== null : r.tag !== tag)) return false;
  if (protect !== 0 && (protect === -1 ? r.protect !== 'mixed' : r.protect !== protect)) return false;
  return r.size >= minSize;
}

function ordering(sortKey: SortKey, descending: boolean): (a: RegionRow, b: RegionRow) => number {
  return ordered(comparator(sortKey), descending);
}

/** Filter and sort rows (pure: exported for tests). */
export function selectRows(
  rows: Iterable<RegionRow>,
  filter: RegionFilter,
  sortKey: SortKey,
  descending: boolean,
): RegionRow[] {
  return selectSorted(rows, (r) => passes(r, filter), ordering(sortKey, descending));
}

/**
 * The same list after some rows changed, merged rather than sorted again (lib/sortedRows). `changed` maps a row's
 * granule (`granuleOf(base)`: reservations start on 64 KiB boundaries) to its new row, or to null when it was
 * removed. Pure: exported for tests.
 */
export function updateRows(
  previous: readonly RegionRow[],
  changed: ReadonlyMap<number, RegionRow | null>,
  filter: RegionFilter,
  sortKey: SortKey,
  descending: boolean,
): RegionRow[] {
  const incoming: RegionRow[] = [];
  for (const r of changed.values()) if (r !== null && passes(r, filter)) incoming.push(r);
  return mergeSorted(previous, (r) => changed.has(granuleOf(r.base)), incoming, ordering(sortKey, descending));
}

/** The row whose [base, base + size) holds `address`, in a list sorted by base. */
export const findContaining: (byBase: readonly RegionRow[], address: number) => RegionRow | undefined =
  findContainingRow;

export function clerksOf(rows: Iterable<RegionRow>): Clerk[] {
  const by = new Map<string | null, { regions: number; reserved: number; committed: number }>();
  for (const r of rows) {
    let c = by.get(r.tag);
    if (c === undefined) {
      c = { regions: 0, reserved: 0, committed: 0 };
      by.set(r.tag, c);
    }
    c.regions++;
    c.reserved += r.size;
    c.committed += r.committed;
  }
  return [...by.entries()]
    .map(([tag, c]) => ({ tag, ...c }))
    .sort((a, b) => b.committed - a.committed || b.reserved - a.reserved);
}

export const useRegionsStore = defineStore('regions', () => {
  const rows = shallowRef<Map<number, RegionRow>>(markRaw(new Map()));
  /** Bumped (throttled) when rows changed. */
  const version = shallowRef(0);
  const complete = shallowRef(true);
  const sortKey = shallowRef<SortKey>('base');
  const descending = shallowRef(false);
  const filter = reactive<RegionFilter>({ level: '', tag: '', protect: 0, minSize: 0 });

  let lastBump = 0;
  let lastCost = 0;
  /**
   * Rows changed since `visible` was last computed (base → new row, or null when removed), keyed by the 64 KiB
   * granule number: integers hash well in a Map, raw addresses (doubles) do not.
   */
  const pending = new Map<number, RegionRow | null>();
  let pendingOverflow = false;
  let last: { list: readonly RegionRow[]; key: string } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function bump(): void {
    const minInterval = Math.min(200, lastCost * 3);
    const now = performance.now();
    if (now - lastBump >= minInterval) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      lastBump = now;
      version.value++;
    } else if (timer === undefined) {
      timer = setTimeout(
        () => {
          timer = undefined;
          lastBump = performance.now();
          version.value++;
        },
        minInterval - (now - lastBump),
      );
    }
  }

  function replace(map: Map<number, RegionRow>, isComplete: boolean): void {
    pending.clear();
    last = undefined;
    rows.value = markRaw(map);
    complete.value = isComplete;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    lastBump = performance.now();
    version.value++;
  }

  /** Rows changed by a delta: `bases` are the added, updated and removed rows' bases. */
  function changed(map: Map<number, RegionRow>, isComplete: boolean, bases: readonly number[] = []): void {
    if (rows.value !== map) {
      rows.value = markRaw(map);
      pendingOverflow = true;
    }
    complete.value = isComplete;
    if (!pendingOverflow) {
      for (const base of bases) pending.set(granuleOf(base), map.get(base) ?? null);
      // Past a quarter of the rows a full sort is as cheap as merging.
      if (pending.size > map.size / 4 + 1000) pendingOverflow = true;
    }
    if (bases.length > 0) bump();
  }

  /** Every live row, filtered and sorted as asked (lazy: computed only while read). */
  const visible = computed<readonly RegionRow[]>(() => {
    void version.value;
    const start = performance.now();
    const f = { ...filter };
    const key = JSON.stringify([f, sortKey.value, descending.value]);
    const changes = new Map(pending);
    const list =
      last !== undefined && last.key === key && !pendingOverflow
        ? updateRows(last.list, changes, f, sortKey.value, descending.value)
        : selectRows(rows.value.values(), f, sortKey.value, descending.value);
    pending.clear();
    pendingOverflow = false;
    const out = markRaw(list) as readonly RegionRow[];
    last = { list: out, key };
    lastCost = performance.now() - start;
    return out;
  });

  /** Every live row by base (for address search). */
  const byBase = computed<readonly RegionRow[]>(() => {
    void version.value;
    if (sortKey.value === 'base' && !descending.value && visible.value.length === rows.value.size) return visible.value;
    return markRaw([...rows.value.values()].sort((a, b) => a.base - b.base));
  });

  const clerks = computed<readonly Clerk[]>(() => {
    void version.value;
    return clerksOf(rows.value.values());
  });

  const tags = computed<readonly (string | null)[]>(() => clerks.value.map((c) => c.tag));

  const count = computed(() => {
    void version.value;
    return rows.value.size;
  });

  function sortBy(key: SortKey): void {
    if (sortKey.value === key) descending.value = !descending.value;
    else {
      sortKey.value = key;
      descending.value = key === 'size' || key === 'committed';
    }
  }

  function find(address: number): RegionRow | undefined {
    return findContaining(byBase.value, address);
  }

  function get(base: number): RegionRow | undefined {
    void version.value;
    return rows.value.get(base);
  }

  return {
    rows,
    version,
    complete,
    sortKey,
    descending,
    filter,
    visible,
    byBase,
    clerks,
    tags,
    count,
    replace,
    changed,
    sortBy,
    find,
    get,
  };
});
