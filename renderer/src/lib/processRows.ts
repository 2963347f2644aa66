/**
 * The region table of a watched process, as pure functions (the store calls them; vitest tests them): the filters
 * (the allocation table's: type in place of level, protection, minimum size, plus state), the sort, and the
 * incremental update after a delta — drop the stale rows, sort only the changed ones, merge (lib/sortedRows, the
 * allocation list's too) — so that 1,000 changed rows out of 100,000 cost a merge, not a sort.
 */
import type { ProcessRegionRow, ProcessRegionState, ProcessRegionType } from '../api/contract';
import { findContaining, mergeSorted, ordered, selectSorted } from './sortedRows';

export type ProcessSortKey =
  'base' | 'size' | 'state' | 'type' | 'protect' | 'committed' | 'resident' | 'private' | 'file';

export interface ProcessRowFilter {
  type: ProcessRegionType | '';
  state: ProcessRegionState | '';
  /** 0: any; else the exact protection (PAGE_*, modifiers included). */
  protect: number;
  /** Bytes (region size), 0 for any. */
  minSize: number;
  /** Part of the file path (case-insensitive); '' for any. */
  file: string;
}

export const EMPTY_PROCESS_FILTER: Readonly<ProcessRowFilter> = {
  type: '',
  state: '',
  protect: 0,
  minSize: 0,
  file: '',
};

export function passesProcessFilter(r: ProcessRegionRow, f: ProcessRowFilter): boolean {
  if (f.type !== '' && r.type !== f.type) return false;
  if (f.state !== '' && r.state !== f.state) return false;
  if (f.protect !== 0 && r.protect !== f.protect) return false;
  if (r.size < f.minSize) return false;
  if (f.file !== '' && !(r.file ?? '').toLowerCase().includes(f.file.toLowerCase())) return false;
  return true;
}

const nullLast = (v: number | null): number => v ?? -1;

function comparator(key: ProcessSortKey): (a: ProcessRegionRow, b: ProcessRegionRow) => number {
  switch (key) {
    case 'base':
      return (a, b) => a.base - b.base;
    case 'size':
      return (a, b) => a.size - b.size || a.base - b.base;
    case 'committed':
      return (a, b) => a.committed - b.committed || a.base - b.base;
    case 'resident':
      return (a, b) => nullLast(a.resident) - nullLast(b.resident) || a.base - b.base;
    case 'private':
      return (a, b) => nullLast(a.private) - nullLast(b.private) || a.base - b.base;
    case 'protect':
      return (a, b) => a.protect - b.protect || a.base - b.base;
    case 'state':
      return (a, b) => (a.state < b.state ? -1 : a.state > b.state ? 1 : a.base - b.base);
    case 'type':
      return (a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.base - b.base);
    case 'file':
      return (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.base - b.base;
  }
}

export function processOrdering(
  key: ProcessSortKey,
  descending: boolean,
): (a: ProcessRegionRow, b: ProcessRegionRow) => number {
  return ordered(comparator(key), descending);
}

/** Filter and sort every row. */
export function selectProcessRows(
  rows: Iterable<ProcessRegionRow>,
  filter: ProcessRowFilter,
  key: ProcessSortKey,
  descending: boolean,
): ProcessRegionRow[] {
  return selectSorted(rows, (r) => passesProcessFilter(r, filter), processOrdering(key, descending));
}

/**
 * The list after a delta, merged rather than sorted again (lib/sortedRows): `stale` holds the row objects replaced or
 * removed (object identity: no address hashing), `incoming` the new rows (added and updated; one replaced again since
 * is in `stale` too). O(n + k log k).
 */
export function mergeProcessRows(
  previous: readonly ProcessRegionRow[],
  stale: ReadonlySet<ProcessRegionRow>,
  incoming: readonly ProcessRegionRow[],
  filter: ProcessRowFilter,
  key: ProcessSortKey,
  descending: boolean,
): ProcessRegionRow[] {
  const fresh = incoming.filter((r) => !stale.has(r) && passesProcessFilter(r, filter));
  return mergeSorted(previous, (r) => stale.has(r), fresh, processOrdering(key, descending));
}

/** The row whose [base, base + size) holds `address`, in rows sorted by base ascending. */
export const findProcessRow: (byBase: readonly ProcessRegionRow[], address: number) => ProcessRegionRow | undefined =
  findContaining;

/** A process picker's filter: by name (case-insensitive) or by PID (digits match the PID's start or whole). */
export function matchesProcess(entry: { pid: number; name: string }, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') return true;
  if (/^\d+$/.test(q)) return String(entry.pid).startsWith(q) || entry.name.toLowerCase().includes(q);
  return entry.name.toLowerCase().includes(q);
}
