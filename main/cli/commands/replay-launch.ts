/**
 * `hostmem replay` of a launched program's session: the program cannot be run again, so its recorded calls are applied
 * again to fresh books (by the rules the live books used) and the result is checked against what the agent itself
 * counted (its last COUNTERS record) — committed, reserved and heap bytes, to the byte — and against the events it
 * said it sent. Exit 0 when every traced process agrees, 1 when one does not.
 */
import { LaunchRebuilder, type RebuiltProcess } from '../../telemetry/launch-records';
import { SessionReader, type SessionReadOptions, type SessionIntegrity } from '../../telemetry/session-reader';

export interface LaunchReplay {
  readonly processes: readonly RebuiltProcess[];
  readonly integrity: SessionIntegrity;
}

/** The launched processes of a session, rebuilt; none when it holds no launch. */
export async function rebuildLaunch(path: string, options: SessionReadOptions = {}): Promise<LaunchReplay> {
  const reader = new SessionReader(path, options);
  await reader.header();
  const launch = new LaunchRebuilder();
  for await (const batch of reader.entries()) {
    for (const { record } of batch) launch.accept(record as { type: string } & Record<string, unknown>);
  }
  return { processes: launch.order, integrity: reader.integrity };
}

/** What one process's replay found: lines to print, and whether it agrees. */
export function checkReplayed(p: RebuiltProcess): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  const name = `${p.start.exe} (pid ${p.start.pid})`;
  const c = p.counters?.counters;
  if (!c) {
    lines.push(`${name}: ${p.calls} calls replayed; the agent sent no counters to compare with (killed at once?)`);
    return { ok: true, lines };
  }
  const t = p.books.totals;
  const untracked = p.books.untrackedFreeBytes;
  const diffs: string[] = [];
  if (t.committed !== c.committed) diffs.push(`committed: books ${t.committed}, agent ${c.committed}`);
  if (t.reserved !== c.reserved) diffs.push(`reserved: books ${t.reserved}, agent ${c.reserved}`);
  if (t.heap !== c.heap) diffs.push(`heap: books ${t.heap}, agent ${c.heap}`);
  for (const problem of p.problems) diffs.push(problem);
  // The last counters may be older than the last calls (a kill between the two): say so rather than fail.
  const stale = p.end !== undefined && !p.end.bye && diffs.length > 0;
  if (diffs.length === 0) {
    lines.push(
      `${name}: ${p.calls} calls replayed; the books agree with the agent's own counters (committed ${t.committed}, ` +
        `reserved ${t.reserved}, heap ${t.heap}${untracked > 0 ? `, after ${untracked} bytes freed that were allocated before tracing` : ''})`,
    );
  } else {
    lines.push(`${name}: ${p.calls} calls replayed; the books and the agent's counters differ: ${diffs.join('; ')}`);
    if (stale) lines.push(`${name}: it did not end normally: its last counters may predate its last calls`);
  }
  const lost = p.end?.lost ?? p.counters?.lost ?? 0;
  if (lost > 0) lines.push(`${name}: ${lost} events were lost on the way (counted when recorded)`);
  return { ok: diffs.length === 0 || stale, lines };
}
