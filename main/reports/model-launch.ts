/**
 * The launched program's section of a report (`launch`, versioned): its command line and exit, each traced process's
 * calls and peaks, the call sites by peak and by live bytes at the end (the likely leaks), and its refusals with their
 * call stacks. Built from a session's rebuilt books (main/telemetry/launch-records.ts).
 */
import type { RebuiltProcess } from '../telemetry/launch-records';
import { hresultName } from '../host';

export const LAUNCH_SECTION_VERSION = 1;

export interface LaunchCallSite {
  /** The stack's id in the session. */
  readonly stack: number;
  /** The innermost frame that is the program's (`module!function+0x…`). */
  readonly site: string;
  readonly frames: readonly string[];
  /** Bytes (heap figures of sampled stacks are estimates: each sampled block stands for `sampleBytes`). */
  readonly peakLive: number;
  readonly live: number;
  readonly liveBlocks: number;
  readonly allocated: number;
  readonly calls: number;
  readonly refused: number;
}

export interface LaunchRefusal {
  readonly seq: number;
  readonly time: number;
  readonly method: string;
  readonly size: number;
  readonly level: string;
  readonly reason: string;
  readonly hrName: string;
  readonly site: string | null;
  readonly frames: readonly string[];
}

export interface LaunchProcessSection {
  readonly pid: number;
  readonly parent: number | null;
  readonly exe: string;
  readonly calls: Readonly<Record<string, { calls: number; refused: number; failed: number }>>;
  readonly heapAllocations: number;
  readonly peaks: { committed: number; reserved: number; heap: number; heapRequested: number; charged: number };
  readonly lost: number;
  readonly abandoned: number;
  readonly nested: number;
  readonly early: number;
  readonly ended: 'exit' | 'killed' | 'unknown';
}

export interface LaunchSection {
  readonly version: typeof LAUNCH_SECTION_VERSION;
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly status: number | null;
  readonly sampleBytes: number;
  readonly processes: readonly LaunchProcessSection[];
  readonly topByPeak: readonly LaunchCallSite[];
  readonly topByLive: readonly LaunchCallSite[];
  readonly refusals: readonly LaunchRefusal[];
}

const ALLOCATOR =
  /!(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|operator new|__libc_|_int_malloc)/;
const siteOf = (names: readonly string[] | undefined): string =>
  names?.find((n) => !ALLOCATOR.test(n) && !n.startsWith('libhostmem-agent.so!')) ?? names?.[0] ?? '?';

/** The section for the launched program (`root`) and the processes it had traced, `top` call sites each way. */
export function launchSection(
  root: RebuiltProcess,
  all: readonly RebuiltProcess[],
  top = 20,
  maxRefusals = 1000,
): LaunchSection {
  const books = root.books;
  const site = (id: number): LaunchCallSite => {
    const s = books.stack(id)!;
    const names = root.names.get(id) ?? [];
    return {
      stack: id,
      site: siteOf(names),
      frames: names,
      peakLive: s.peakLive,
      live: s.live,
      liveBlocks: s.liveBlocks,
      allocated: s.allocated,
      calls: s.calls,
      refused: s.refused,
    };
  };
  const stacks = books.stackList();
  const byPeak = [...stacks]
    .filter((s) => s.peakLive > 0)
    .sort((a, b) => b.peakLive - a.peakLive)
    .slice(0, top);
  const byLive = [...stacks]
    .filter((s) => s.live > 0)
    .sort((a, b) => b.live - a.live)
    .slice(0, top);
  const refusals: LaunchRefusal[] = root.failures.slice(0, maxRefusals).map((f) => {
    const stack = books.lastFailureStack.get(f.seq) ?? 0;
    const names = root.names.get(stack) ?? [];
    return {
      seq: f.seq,
      time: f.time,
      method: f.method,
      size: f.size,
      level: f.level,
      reason: f.reason,
      hrName: hresultName(f.hr),
      site: names.length > 0 ? siteOf(names) : null,
      frames: names,
    };
  });
  const end = root.end;
  return {
    version: LAUNCH_SECTION_VERSION,
    program: root.start.program,
    args: root.start.args,
    cwd: root.start.cwd,
    pid: root.start.pid,
    exitCode: end?.code ?? null,
    signal: end?.signal ?? null,
    status: end?.status ?? null,
    sampleBytes: root.start.sampleBytes,
    processes: all.map((p) => ({
      pid: p.start.pid,
      parent: p.start.parent,
      exe: p.start.exe,
      calls: p.books.calls,
      heapAllocations: p.books.heapAllocations,
      peaks: { ...p.books.peaks },
      lost: p.end?.lost ?? p.counters?.lost ?? 0,
      abandoned: p.end?.abandoned ?? p.counters?.abandoned ?? 0,
      nested: p.counters?.counters.nested ?? 0,
      early: p.counters?.counters.early ?? 0,
      ended: p.end === undefined ? 'unknown' : p.end.bye || p.end.code !== null ? 'exit' : 'killed',
    })),
    topByPeak: byPeak.map((s) => site(s.id)),
    topByLive: byLive.map((s) => site(s.id)),
    refusals,
  };
}
