/**
 * The audit: the host's books against what the OS says, over every host reservation, in one OS walk
 * (`queryRanges`: one /proc/self/smaps read on Linux). Every run of pages whose state or protection differs is
 * drift; adjacent pages that differ the same way are one entry.
 */
import type { OsMemory } from '../../native/os-memory';
import type { Region } from './base';
import { fullMap } from './page-runs';
import type { AuditDrift, AuditResult } from './types';

/** `list`: the reservations in address order; `reservedBytes`: their total. */
export function auditRegions(os: OsMemory, list: readonly Region[], reservedBytes: number): AuditResult {
  const drift: AuditDrift[] = [];
  const r = os.queryRanges(list.map((g) => [g.base, g.size] as const));
  if (!r.ok) {
    // The OS could not be asked: that is drift of everything, reported rather than hidden.
    for (const g of list)
      drift.push({ base: g.base, address: g.base, size: g.size, books: 'held', os: `unknown (${r.error.message})` });
    return { drift, regions: list.length, bytes: reservedBytes };
  }
  const page = os.pageSize;
  list.forEach((region, i) => {
    const osRuns = r.value[i]!;
    const books = fullMap(region.runs, region.pages);
    let b = 0;
    let pending: AuditDrift | undefined;
    const flush = (): void => {
      if (pending) drift.push(pending);
      pending = undefined;
    };
    for (const run of osRuns) {
      const runStart = (run.baseAddress - region.base) / page;
      const runEnd = runStart + run.regionSize / page;
      let cursor = runStart;
      while (cursor < runEnd) {
        while (b < books.length && books[b]!.end <= cursor) b++;
        const book = books[b];
        if (book === undefined) break;
        const to = Math.min(runEnd, book.end);
        const booksSay = book.protect === 0 ? 'MEM_RESERVE' : `MEM_COMMIT ${os.effectiveProtect(book.protect)}`;
        const osSays = run.state === 'MEM_COMMIT' ? `MEM_COMMIT ${run.protect}` : run.state;
        if (booksSay !== osSays) {
          const address = region.base + cursor * page;
          const size = (to - cursor) * page;
          if (
            pending &&
            pending.address + pending.size === address &&
            pending.books === booksSay &&
            pending.os === osSays
          ) {
            pending = { ...pending, size: pending.size + size };
          } else {
            flush();
            pending = { base: region.base, address, size, books: booksSay, os: osSays };
          }
        }
        cursor = to;
      }
    }
    flush();
  });
  return { drift, regions: list.length, bytes: reservedBytes };
}
