/**
 * Finding the process a person means: a pid, or a name (the short name, the executable's file name, or its path).
 */
import type { ProcessError, ProcessInfo, ProcessInspector } from '../../native';

export type FindResult =
  | { readonly kind: 'found'; readonly process: ProcessInfo }
  /** No process has that pid or name. */
  | { readonly kind: 'none'; readonly query: string }
  /** A name that several processes have: they are all listed, ascending by pid. */
  | { readonly kind: 'several'; readonly query: string; readonly matches: readonly ProcessInfo[] }
  /** The OS would not list processes or read this one. */
  | { readonly kind: 'error'; readonly error: ProcessError };

const baseName = (path: string): string => path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);

/** Whether `p` answers to `name`: exactly (case-insensitive) its name, its image's file name with or without `.exe`, or its path. */
export function matchesName(p: ProcessInfo, name: string): boolean {
  const want = name.toLowerCase();
  const candidates = [p.name];
  if (p.imagePath !== null) candidates.push(p.imagePath, baseName(p.imagePath));
  return candidates.some((c) => {
    const have = c.toLowerCase();
    return have === want || have === `${want}.exe`;
  });
}

/** A query that is all digits is a pid; anything else a name (hostmem's own process never matches a name). */
export async function findProcess(inspector: ProcessInspector, query: string): Promise<FindResult> {
  const text = query.trim();
  if (/^[0-9]+$/.test(text)) {
    const pid = Number(text);
    const info = await inspector.processInfo(pid);
    if (info.ok) return { kind: 'found', process: info.value };
    if (info.error.code === 'no-such-process' || info.error.code === 'invalid-argument')
      return { kind: 'none', query: text };
    return { kind: 'error', error: info.error };
  }
  const list = await inspector.listProcesses();
  if (!list.ok) return { kind: 'error', error: list.error };
  // hostmem itself is never a match by name (`hostmem inspect node` run by Node means another node).
  const matches = list.value.filter((p) => p.pid !== process.pid && matchesName(p, text));
  if (matches.length === 0) return { kind: 'none', query: text };
  if (matches.length === 1) return { kind: 'found', process: matches[0]! };
  return { kind: 'several', query: text, matches };
}
