/**
 * `hostmem ps`: the running processes with their cheap counters (no address-space walk), as the OS lists them.
 */
import { parseArgs } from 'node:util';
import { createProcessInspector, type ProcessInfo, type ProcessInspector } from '../../../native';
import { formatSize } from './inspect-text';
import { usageFailure } from '../parse-values';
import type { CliIo } from './io';

export const PS_SUMMARY = 'list running processes with their committed and resident bytes';

export const PS_USAGE = `Usage: hostmem ps [--sort committed|rss|name|pid] [--filter TEXT] [--json]

Lists the processes this OS runs, with their parent, user, private committed bytes and resident set (working set),
read cheaply from the OS (/proc on Linux; Toolhelp and psapi on Windows). Figures hostmem may not read (another
user's process) are shown as '-'. Inspect one with 'hostmem inspect PID|NAME'.

Options:
  --sort KEY      committed or rss (largest first), name or pid (ascending; the default)
  --filter TEXT   only processes whose pid, name, path, command line or user contains TEXT (any case)
  --json          print {"format":"${'hostmem.process-list/1'}","takenAt":…,"backend":…,"processes":[…]}
  -h, --help      show this help

Exit status: 0 when listed, 1 when the OS would not list processes, 2 for a usage error.
`;

export const PROCESS_LIST_FORMAT = 'hostmem.process-list/1';
export const PS_SORT_KEYS = ['committed', 'rss', 'name', 'pid'] as const;
export type PsSortKey = (typeof PS_SORT_KEYS)[number];

const byKey: Record<PsSortKey, (a: ProcessInfo, b: ProcessInfo) => number> = {
  committed: (a, b) => (b.privateBytes ?? -1) - (a.privateBytes ?? -1) || a.pid - b.pid,
  rss: (a, b) => (b.workingSet ?? -1) - (a.workingSet ?? -1) || a.pid - b.pid,
  name: (a, b) => a.name.localeCompare(b.name) || a.pid - b.pid,
  pid: (a, b) => a.pid - b.pid,
};

/** Whether a process matches `--filter` (case-insensitive substring of any text field, or of the pid). */
export function matchesFilter(p: ProcessInfo, filter: string): boolean {
  const want = filter.toLowerCase();
  return [String(p.pid), p.name, p.imagePath, p.commandLine, p.user].some(
    (field) => field !== null && field.toLowerCase().includes(want),
  );
}

export function sortProcesses(list: readonly ProcessInfo[], key: PsSortKey): ProcessInfo[] {
  return [...list].sort(byKey[key]);
}

export function psTable(list: readonly ProcessInfo[]): string {
  const rows = list.map((p) => [
    String(p.pid),
    p.parentPid === null ? '-' : String(p.parentPid),
    p.user ?? '-',
    p.privateBytes === null ? '-' : formatSize(p.privateBytes),
    p.workingSet === null ? '-' : formatSize(p.workingSet),
    p.imagePath !== null && p.imagePath !== p.name ? `${p.name}  ${p.imagePath}` : p.name,
  ]);
  const head = ['PID', 'PPID', 'USER', 'COMMITTED', 'RSS', 'NAME'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = [true, true, false, true, true, false];
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export async function psCommand(
  argv: readonly string[],
  io: CliIo,
  inspector: () => ProcessInspector = createProcessInspector,
): Promise<number> {
  let values: { sort?: string; filter?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        sort: { type: 'string' },
        filter: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usageFailure(io, 'ps', error);
  }
  if (values.help) {
    io.stdout.write(PS_USAGE);
    return 0;
  }
  const sort = values.sort ?? 'pid';
  if (!(PS_SORT_KEYS as readonly string[]).includes(sort)) {
    io.stderr.write(`hostmem ps: --sort: expected one of ${PS_SORT_KEYS.join(', ')}, got ${JSON.stringify(sort)}\n`);
    return 2;
  }
  const ins = inspector();
  const takenAt = Date.now();
  const listed = await ins.listProcesses();
  if (!listed.ok) {
    io.stderr.write(`hostmem ps: ${listed.error.message}\n`);
    return 1;
  }
  const filter = values.filter;
  const shown = sortProcesses(
    filter === undefined ? listed.value : listed.value.filter((p) => matchesFilter(p, filter)),
    sort as PsSortKey,
  );
  if (values.json) {
    io.stdout.write(
      JSON.stringify({ format: PROCESS_LIST_FORMAT, takenAt, backend: ins.backend, processes: shown }) + '\n',
    );
  } else {
    io.stdout.write(psTable(shown));
  }
  return 0;
}
