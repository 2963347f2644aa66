/**
 * Readers for what Linux says about this process: /proc/self/maps and /proc/self/smaps (mappings and their flags),
 * /proc/meminfo (memory load, commit limit) and /proc/self/status + /proc/self/stat (process counters).
 */
import { readFileSync } from 'node:fs';

export interface Mapping {
  readonly start: number;
  readonly end: number;
  /** e.g. `rw-p`. */
  readonly perms: string;
  readonly inode: number;
  readonly path: string;
  /** VmFlags from smaps (only when read from smaps), e.g. ['rd','wr','mr','dd']. */
  readonly flags: readonly string[] | undefined;
}

function parseHeader(line: string, flags: readonly string[] | undefined): Mapping | undefined {
  // start-end perms offset dev inode [path]
  const dash = line.indexOf('-');
  const sp1 = line.indexOf(' ', dash);
  if (dash <= 0 || sp1 < 0) return undefined;
  const start = Number.parseInt(line.slice(0, dash), 16);
  const end = Number.parseInt(line.slice(dash + 1, sp1), 16);
  const perms = line.slice(sp1 + 1, sp1 + 5);
  const rest = line
    .slice(sp1 + 6)
    .trim()
    .split(/\s+/);
  // rest: offset dev inode path...
  const inode = Number(rest[2] ?? 0);
  const path = rest.slice(3).join(' ');
  return { start, end, perms, inode, path, flags };
}

/** Every mapping of this process, ascending, from /proc/self/maps (cheap: no page-table walk). */
export function readMaps(): Mapping[] {
  const text = readFileSync('/proc/self/maps', 'latin1');
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const m = parseHeader(line, undefined);
    if (m) out.push(m);
  }
  return out;
}

/** Every mapping with its VmFlags, from /proc/self/smaps (dearer: the kernel walks page tables). */
export function readSmaps(): Mapping[] {
  const text = readFileSync('/proc/self/smaps', 'latin1');
  const out: Mapping[] = [];
  let header: string | undefined;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    if (line.startsWith('VmFlags:')) {
      if (header !== undefined) {
        const m = parseHeader(header, line.slice(8).trim().split(/\s+/));
        if (m) out.push(m);
      }
      header = undefined;
      continue;
    }
    // Header lines start with a hex address followed by '-'; key lines are `Name:   value`.
    const c = line.charCodeAt(0);
    const isHex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
    if (isHex && /^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      if (header !== undefined) {
        const m = parseHeader(header, []);
        if (m) out.push(m);
      }
      header = line;
    }
  }
  if (header !== undefined) {
    const m = parseHeader(header, []);
    if (m) out.push(m);
  }
  return out;
}

/** Binary search: the mapping that holds `address`, or the index where it would go. */
export function findMapping(maps: readonly Mapping[], address: number): { index: number; found: boolean } {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = maps[mid]!;
    if (address < m.start) hi = mid - 1;
    else if (address >= m.end) lo = mid + 1;
    else return { index: mid, found: true };
  }
  return { index: lo, found: false };
}

export function readKeyValues(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const n = Number.parseInt(value, 10);
    if (Number.isNaN(n)) continue;
    out.set(key, value.endsWith('kB') ? n * 1024 : n);
  }
  return out;
}

/** minflt + majflt from /proc/self/stat (fields 10 and 12, counted after the parenthesised command name). */
export function readPageFaults(): number {
  const text = readFileSync('/proc/self/stat', 'latin1');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is state (field 3); minflt is field 10, majflt field 12.
  return Number(fields[7] ?? 0) + Number(fields[9] ?? 0);
}
