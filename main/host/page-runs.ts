/**
 * The page map of one reservation: committed pages as sorted, non-touching-when-equal runs of page indices
 * [start, end) with their protection. Pages outside every run are reserved. Most reservations hold one or two
 * runs, so a plain array beats any tree here.
 */
export interface PageRun {
  start: number;
  end: number;
  protect: number;
}

/** Pages in [start, end) that are committed. */
export function committedPagesIn(runs: readonly PageRun[], start: number, end: number): number {
  let n = 0;
  for (const r of runs) {
    if (r.end <= start) continue;
    if (r.start >= end) break;
    n += Math.min(r.end, end) - Math.max(r.start, start);
  }
  return n;
}

/** Remove [start, end) from the committed runs (decommit). Returns the number of pages that were committed. */
export function clearRange(runs: PageRun[], start: number, end: number): number {
  if (runs.length === 0) return 0;
  if (start <= runs[0]!.start && end >= runs[runs.length - 1]!.end) {
    // Decommit of everything committed (the common whole-reservation decommit).
    let all = 0;
    for (const r of runs) all += r.end - r.start;
    runs.length = 0;
    return all;
  }
  let removed = 0;
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    if (r.end <= start) continue;
    if (r.start >= end) break;
    const from = Math.max(r.start, start);
    const to = Math.min(r.end, end);
    removed += to - from;
    if (r.start < start && r.end > end) {
      // The cleared range splits this run in two.
      runs.splice(i + 1, 0, { start: end, end: r.end, protect: r.protect });
      r.end = start;
      break;
    }
    if (r.start < start) r.end = start;
    else if (r.end > end) r.start = end;
    else {
      runs.splice(i, 1);
      i--;
    }
  }
  return removed;
}

/** Make [start, end) committed with `protect` (commit or protect). Returns the pages newly committed. */
export function setRange(runs: PageRun[], start: number, end: number, protect: number): number {
  if (runs.length === 0) {
    // The common first commit of a reservation.
    runs.push({ start, end, protect });
    return end - start;
  }
  const before = committedPagesIn(runs, start, end);
  clearRange(runs, start, end);
  let i = 0;
  while (i < runs.length && runs[i]!.start < start) i++;
  runs.splice(i, 0, { start, end, protect });
  // Merge with equal neighbours so the map stays minimal.
  const next = runs[i + 1];
  if (next && next.start === end && next.protect === protect) {
    runs[i]!.end = next.end;
    runs.splice(i + 1, 1);
  }
  const prev = runs[i - 1];
  if (prev && prev.end === start && prev.protect === protect) {
    prev.end = runs[i]!.end;
    runs.splice(i, 1);
  }
  return end - start - before;
}

/**
 * The run of pages holding `page`, within [0, total): committed with its protection, or reserved (protect 0)
 * up to the next committed page.
 */
export function runAt(runs: readonly PageRun[], page: number, total: number): PageRun {
  let reservedFrom = 0;
  for (const r of runs) {
    if (page < r.start) return { start: reservedFrom, end: r.start, protect: 0 };
    if (page < r.end) return { start: r.start, end: r.end, protect: r.protect };
    reservedFrom = r.end;
  }
  return { start: reservedFrom, end: total, protect: 0 };
}

/** True when every page of [start, end) is committed and `accept(protect)` holds for each run. */
export function everyCommitted(
  runs: readonly PageRun[],
  start: number,
  end: number,
  accept: (protect: number) => boolean = () => true,
): 'yes' | 'uncommitted' | 'refused' {
  let cursor = start;
  let refused = false;
  for (const r of runs) {
    if (r.end <= cursor) continue;
    if (r.start > cursor) return 'uncommitted';
    if (!accept(r.protect)) refused = true;
    cursor = r.end;
    if (cursor >= end) break;
  }
  if (cursor < end) return 'uncommitted';
  return refused ? 'refused' : 'yes';
}

/** Every run, reserved gaps included, over [0, total): the page map the UI and the audit walk. */
export function fullMap(runs: readonly PageRun[], total: number): PageRun[] {
  const out: PageRun[] = [];
  let cursor = 0;
  for (const r of runs) {
    if (r.start > cursor) out.push({ start: cursor, end: r.start, protect: 0 });
    out.push({ start: r.start, end: r.end, protect: r.protect });
    cursor = r.end;
  }
  if (cursor < total) out.push({ start: cursor, end: total, protect: 0 });
  return out;
}
