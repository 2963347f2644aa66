/**
 * What `hostmem launch` tells at the end, on stderr: per traced process, the peaks, the calls, the refusals by
 * critical level, what was not seen, and the call sites holding the most live bytes (the likely leaks).
 */
import { FAILURE_GROUPS } from '../host/types';
import type { LaunchBooks, StackStats } from './books';

export interface SummaryProcess {
  readonly pid: number;
  readonly exe: string;
  readonly books: LaunchBooks;
  /** Frames of a stack, symbolised. */
  readonly frames: (stack: number) => readonly string[];
  /** The innermost frame that is the program's. */
  readonly callSite: (stack: number) => string | undefined;
  readonly lost: number;
  readonly abandoned: number;
  readonly nested: number;
  readonly early: number;
  readonly ended: string;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function size(bytes: number): string {
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return `${bytes < 0 ? '-' : ''}${s} ${UNITS[u]}`;
}
const n = (x: number): string => x.toLocaleString('en-US');

/** Stacks by live bytes (largest first), those holding any. */
export function topLive(books: LaunchBooks, count: number): StackStats[] {
  return books
    .stackList()
    .filter((s) => s.live > 0)
    .sort((a, b) => b.live - a.live || b.liveBlocks - a.liveBlocks)
    .slice(0, count);
}

/** Stacks by bytes allocated over the run (largest first). */
export function topAllocated(books: LaunchBooks, count: number): StackStats[] {
  return books
    .stackList()
    .filter((s) => s.allocated > 0)
    .sort((a, b) => b.allocated - a.allocated)
    .slice(0, count);
}

export function summaryText(processes: readonly SummaryProcess[], options: { top?: number } = {}): string {
  const top = options.top ?? 5;
  const out: string[] = [];
  for (const p of processes) {
    const b = p.books;
    out.push(`hostmem: ${p.exe} (pid ${p.pid}) ${p.ended}`);
    out.push(
      `  peak committed ${size(b.peaks.committed)}, heap peak ${size(b.peaks.heap)} (asked ${size(b.peaks.heapRequested)}), ` +
        `peak charged ${size(b.peaks.charged)}, reserved peak ${size(b.peaks.reserved)}`,
    );
    out.push(
      `  at the end: committed ${size(b.totals.committed)}, heap ${size(b.totals.heap)} in ${n(b.heapBlockCount)} blocks, ` +
        `${n(b.stats().regions)} mappings`,
    );
    const calls = Object.entries(b.calls)
      .sort((x, y) => y[1].calls - x[1].calls)
      .map(([name, c]) => `${name} ${n(c.calls)}`);
    out.push(`  calls: ${calls.length > 0 ? calls.join(', ') : 'none'} (${n(b.heapAllocations)} heap allocations)`);
    const failures = b.stats().failures;
    const total = FAILURE_GROUPS.reduce((t, g) => t + failures[g], 0);
    out.push(
      `  refusals and failures by level: ${FAILURE_GROUPS.map((g) => `${g} ${n(failures[g])}`).join(', ')}` +
        (total > 0
          ? ` (${Object.entries(b.calls)
              .filter(([, c]) => c.refused + c.failed > 0)
              .map(([k, c]) => `${k}: ${n(c.refused)} refused, ${n(c.failed)} failed by the OS`)
              .join('; ')})`
          : ''),
    );
    const unseen = [
      p.lost > 0 ? `${n(p.lost)} events LOST` : 'no event lost',
      p.abandoned > 0 ? `${n(p.abandoned)} abandoned by their writer` : '',
      p.nested > 0 ? `${n(p.nested)} calls made inside the agent or the allocator (not recorded)` : '',
      p.early > 0 ? `${n(p.early)} calls before the agent was ready` : '',
      b.untrackedFrees > 0 ? `${n(b.untrackedFrees)} frees of blocks allocated before tracing` : '',
    ].filter((x) => x !== '');
    out.push(`  ${unseen.join(', ')}`);
    const live = topLive(b, top);
    if (live.length > 0) {
      out.push(`  top call sites by live bytes (likely leaks)${b.stackList().length > 0 ? '' : ''}:`);
      for (const s of live) {
        out.push(`    ${size(s.live).padStart(10)} in ${n(s.liveBlocks)} blocks  ${p.callSite(s.id) ?? '?'}`);
      }
    }
  }
  return out.join('\n') + '\n';
}
