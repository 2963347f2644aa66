/**
 * The one sorted-list machinery of the virtualised tables (the allocation list in stores/regions.ts, a watched
 * process's regions in lib/processRows.ts): filter and sort every row; after a delta, drop the changed rows, sort only
 * the new ones and merge (O(n + k log k) instead of O(n log n): at 100,000 rows a full sort took longer than a frame
 * on every push); find the row holding an address in a list sorted by base. Pure functions.
 */

export type Compare<T> = (a: T, b: T) => number;

/** `cmp`, or its reverse. */
export function ordered<T>(cmp: Compare<T>, descending: boolean): Compare<T> {
  return descending ? (a, b) => cmp(b, a) : cmp;
}

/** The rows that `keep`, sorted by `cmp`. */
export function selectSorted<T>(rows: Iterable<T>, keep: (r: T) => boolean, cmp: Compare<T>): T[] {
  const out: T[] = [];
  for (const r of rows) if (keep(r)) out.push(r);
  out.sort(cmp);
  return out;
}

/**
 * `previous` (sorted by `cmp`) without the rows `dropped` says are gone or replaced, merged with `incoming` (the new
 * rows that pass the filter, in any order: sorted here).
 */
export function mergeSorted<T>(
  previous: readonly T[],
  dropped: (r: T) => boolean,
  incoming: T[],
  cmp: Compare<T>,
): T[] {
  incoming.sort(cmp);
  const out: T[] = [];
  let j = 0;
  for (const r of previous) {
    if (dropped(r)) continue;
    while (j < incoming.length && cmp(incoming[j]!, r) < 0) out.push(incoming[j++]!);
    out.push(r);
  }
  while (j < incoming.length) out.push(incoming[j++]!);
  return out;
}

/** The row whose [base, base + size) holds `address`, in a list sorted by base ascending. */
export function findContaining<T extends { readonly base: number; readonly size: number }>(
  byBase: readonly T[],
  address: number,
): T | undefined {
  let lo = 0;
  let hi = byBase.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = byBase[mid]!;
    if (address < r.base) hi = mid - 1;
    else if (address >= r.base + r.size) lo = mid + 1;
    else return r;
  }
  return undefined;
}
