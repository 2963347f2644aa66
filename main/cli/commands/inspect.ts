/**
 * `hostmem inspect PID|NAME`: the address space of any running process, from the OS — the summary by type (VMMap's
 * top pane), then the largest regions (or all of them), or the whole walk as versioned JSON; `--watch` walks again
 * at an interval and shows what changed; `--record` keeps the walks in a session file.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createProcessInspector,
  type ProcessError,
  type ProcessInfo,
  type ProcessInspector,
  type ProcessWalk,
} from '../../../native';
import {
  commitLimitFor,
  findProcess,
  ProcessWatcher,
  summarize,
  type GrowthLimit,
  type WatchWalkEvent,
} from '../../inspect';
import { ProcessRecordWriter, processSessionHeader } from '../../telemetry/process-records';
import { SessionWriter } from '../../telemetry/session';
import { MAX_TIMER_MS } from '../../host/types';
import { parseDuration, parseSize } from '../../workloads';
import { walkToJson, watchWalkToJson, WALK_JSON_FORMAT, WATCH_JSON_FORMAT } from './inspect-json';
import { diffText, formatSize, growthText, largestRegions, regionTable, summaryTable } from './inspect-text';
import type { CliIo } from './io';

export const INSPECT_SUMMARY = 'show the address space of a running process by type (live with --watch)';

export const INSPECT_USAGE = `Usage: hostmem inspect PID|NAME [--regions | --top N] [--json] [--watch D [--count N]
                       [--budget SIZE] [--window D]] [--record FILE [--force]]

Walks every region of a running process's address space, as the OS reports it (/proc/PID/smaps on Linux;
VirtualQueryEx on Windows), and prints the summary by type (Image, Mapped file, Shareable, Heap, Stack, Private
data, Free: size, committed, resident and private bytes, region count), then the largest regions.
A NAME is a process name or executable file name (any case, with or without .exe); when several processes have
it they are listed and nothing is walked.

Options:
  --regions       list every region (ascending), not only the largest
  --top N         how many of the largest regions to list (default 15)
  --json          print the whole walk as JSON (${WALK_JSON_FORMAT}; see docs/spec/process-inspection.md), every
                  region (so not with --top or --regions); with --watch, one JSON line per walk (${WATCH_JSON_FORMAT})
  --watch D       walk again every D (e.g. 1s, 500ms) and show what changed since the last walk, until the process
                  exits or Ctrl-C
  --count N       with --watch, stop after N walks
  --budget SIZE   with --watch, the committed bytes the process should stay under (e.g. 2GiB): the growth line says
                  when, at the pace of the window, it reaches them (default: the OS's commit limit)
  --window D      with --watch, the span of walks the growth rates are taken over (default 5m)
  --record FILE   write the walks to a session file (readable by 'hostmem replay' and 'hostmem report')
  --force         replace FILE if it exists
  -h, --help      show this help

With --watch, each walk is followed by the leak signal once the walks span a second: how fast committed, resident
and private bytes grow (per minute, over the window), the type growing fastest, and when committed bytes reach the
budget at that pace.

hostmem never lists or matches itself by name. Exit status: 0 when walked (also when a watched process exits: what
was recorded is kept), 1 when the process cannot be found or read (no such process, a name several processes have,
access denied, a zombie, a process that exited during the walk), 2 for a usage error.
`;

interface InspectArgs {
  readonly query: string;
  readonly regions: boolean;
  readonly top: number;
  readonly json: boolean;
  readonly watchMs: number | undefined;
  readonly count: number | undefined;
  readonly record: string | undefined;
  readonly budget: number | undefined;
  readonly windowMs: number | undefined;
}

/** Parse the options; a string is a usage error. */
export function parseInspectArgs(argv: readonly string[]): InspectArgs | 'help' | string {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        regions: { type: 'boolean' },
        top: { type: 'string' },
        json: { type: 'boolean' },
        watch: { type: 'string' },
        count: { type: 'string' },
        record: { type: 'string' },
        force: { type: 'boolean' },
        budget: { type: 'string' },
        window: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length !== 1) return 'expected one PID or NAME';
  const query = parsed.positionals[0]!.trim();
  if (query === '') return 'expected one PID or NAME, got an empty string';
  const count = (name: string, text: string | boolean | undefined): number | undefined | string => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (typeof text !== 'string' || !/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
      return `--${name}: expected a whole number ≥ 1, got ${JSON.stringify(text)}`;
    return n;
  };
  const top = count('top', v.top);
  if (typeof top === 'string') return top;
  const n = count('count', v.count);
  if (typeof n === 'string') return n;
  let watchMs: number | undefined;
  if (v.watch !== undefined) {
    const ms = typeof v.watch === 'string' ? parseDuration(v.watch) : undefined;
    // The shared parser refuses durations past the longest timer: say that, not "too short".
    const asked = typeof v.watch === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.watch.trim()) : null;
    const askedMs = asked
      ? Number(asked[1]) * { ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }[asked[2] as 'ms' | 's' | 'm' | 'h']
      : 0;
    if (ms === undefined && askedMs > MAX_TIMER_MS)
      return `--watch: ${JSON.stringify(v.watch)} is longer than the longest interval, ${MAX_TIMER_MS} ms (about 24.8 days)`;
    if (ms === undefined || ms < 10)
      return `--watch: expected an interval of at least 10ms, e.g. 1s or 500ms, got ${JSON.stringify(v.watch)}`;
    if (ms > MAX_TIMER_MS)
      return `--watch: ${JSON.stringify(v.watch)} is longer than the longest interval, ${MAX_TIMER_MS} ms (about 24.8 days)`;
    watchMs = ms;
  }
  if (n !== undefined && watchMs === undefined) return '--count needs --watch';
  let budget: number | undefined;
  if (v.budget !== undefined) {
    budget = typeof v.budget === 'string' ? parseSize(v.budget) : undefined;
    if (budget === undefined || budget < 1)
      return `--budget: expected a size like 512MiB or 2GiB, got ${JSON.stringify(v.budget)}`;
    if (watchMs === undefined) return '--budget needs --watch';
  }
  let windowMs: number | undefined;
  if (v.window !== undefined) {
    windowMs = typeof v.window === 'string' ? parseDuration(v.window) : undefined;
    if (windowMs === undefined || windowMs < 1000)
      return `--window: expected a span of at least 1s, e.g. 5m, got ${JSON.stringify(v.window)}`;
    if (watchMs === undefined) return '--window needs --watch';
  }
  if (v.regions && top !== undefined) return '--regions lists every region: leave out --top';
  if (v.json && (top !== undefined || v.regions))
    return `--json prints every region: leave out ${top !== undefined ? '--top' : '--regions'}`;
  const record = typeof v.record === 'string' ? v.record : undefined;
  if (record !== undefined) {
    if (record === '') return '--record: expected a file name';
    if (existsSync(record) && statSync(record).isDirectory()) return `--record: ${record} is a folder`;
    if (existsSync(record) && !v.force) return `--record: ${record} exists (add --force to replace it)`;
    const folder = dirname(resolve(record));
    if (!existsSync(folder) || !statSync(folder).isDirectory())
      return `--record: the folder ${folder} does not exist (create it first)`;
    try {
      accessSync(folder, constants.W_OK);
    } catch {
      return `--record: the folder ${folder} is not writable`;
    }
  }
  return {
    query,
    regions: v.regions === true,
    top: top ?? 15,
    json: v.json === true,
    watchMs,
    count: n,
    record,
    budget,
    windowMs,
  };
}

function errorText(e: ProcessError): string {
  return `hostmem inspect: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}\n`;
}

const clock = (t: number): string => new Date(t).toISOString().slice(11, 19);

export async function inspectCommand(
  argv: readonly string[],
  io: CliIo,
  inspector: () => ProcessInspector = createProcessInspector,
): Promise<number> {
  const args = parseInspectArgs(argv);
  if (args === 'help') {
    io.stdout.write(INSPECT_USAGE);
    return 0;
  }
  if (typeof args === 'string') {
    io.stderr.write(`hostmem inspect: ${args}\n\n${INSPECT_USAGE}`);
    return 2;
  }
  const ins = inspector();
  const found = await findProcess(ins, args.query);
  if (found.kind === 'error') {
    io.stderr.write(errorText(found.error));
    return 1;
  }
  if (found.kind === 'none') {
    io.stderr.write(
      `hostmem inspect: ${/^[0-9]+$/.test(found.query) ? `no process with id ${found.query}` : `no process named ${JSON.stringify(found.query)}`} (see 'hostmem ps')\n`,
    );
    return 1;
  }
  if (found.kind === 'several') {
    io.stderr.write(
      `hostmem inspect: ${found.matches.length} processes are named ${JSON.stringify(found.query)}; give one PID:\n` +
        found.matches.map((p) => `  ${p.pid}  ${p.imagePath ?? p.name}${p.user ? `  (${p.user})` : ''}`).join('\n') +
        '\n',
    );
    return 1;
  }
  const info = found.process;
  if (args.watchMs === undefined) return inspectOnce(ins, info, args, io);
  return watch(ins, info, args, args.watchMs, io);
}

/**
 * The session file of `--record`, opened at the first walk (so a watch that never walked leaves no file behind). A
 * file that cannot be made or written is said in one line; what is printed goes on.
 */
class Recording {
  private session: SessionWriter | undefined;
  private walks: ProcessRecordWriter | undefined;
  private failed = false;

  constructor(
    private readonly path: string,
    private readonly ins: ProcessInspector,
    private readonly command: string,
    private readonly io: CliIo,
  ) {}

  private fail(error: unknown): void {
    if (!this.failed)
      this.io.stderr.write(
        `hostmem inspect: cannot record to ${this.path}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    this.failed = true;
  }

  write(walk: ProcessWalk): void {
    if (this.failed) return;
    try {
      if (this.session === undefined) {
        this.session = new SessionWriter(
          this.path,
          processSessionHeader(this.ins.backend, this.ins.pageSize, this.command),
          {
            onCapped: (message) => this.io.stderr.write(`hostmem inspect: ${message}\n`),
          },
        );
        this.walks = new ProcessRecordWriter(this.session);
      }
      this.walks?.write(walk);
    } catch (error) {
      this.fail(error);
    }
  }

  exit(pid: number, at: number): void {
    if (this.failed || this.walks === undefined) return;
    try {
      this.walks.exit(pid, at);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Whether a file holds the walks (false: none was written). */
  get written(): boolean {
    return this.session !== undefined && !this.failed;
  }

  /** Close the file; false when recording failed. */
  async close(): Promise<boolean> {
    try {
      await this.session?.close();
    } catch (error) {
      this.fail(error);
    }
    return !this.failed;
  }
}

function openRecord(args: InspectArgs, ins: ProcessInspector, command: string, io: CliIo): Recording | null {
  return args.record === undefined ? null : new Recording(args.record, ins, command, io);
}

async function closeRecord(record: Recording | null): Promise<boolean> {
  return record === null ? true : record.close();
}

function header(info: ProcessInfo, regions: number, ms: number): string {
  const who = info.imagePath && info.imagePath !== info.name ? `${info.name} (${info.imagePath})` : info.name;
  return `process ${info.pid} ${who}${info.user ? `, user ${info.user}` : ''}: ${regions} regions, walked in ${ms.toFixed(0)} ms\n`;
}

async function inspectOnce(ins: ProcessInspector, info: ProcessInfo, args: InspectArgs, io: CliIo): Promise<number> {
  const walked = await ins.walkProcess(info.pid);
  if (!walked.ok) {
    io.stderr.write(errorText(walked.error));
    return 1;
  }
  const walk = walked.value;
  const summary = summarize(walk);
  const record = openRecord(args, ins, `hostmem inspect ${info.pid}`, io);
  record?.write(walk);
  if (args.json) {
    io.stdout.write(JSON.stringify(walkToJson(walk, info, summary)) + '\n');
  } else {
    io.stdout.write(header(info, walk.regions.length, walk.durationMs));
    if (summary.total.regions === 0) io.stdout.write('(no memory mapped: the process has no user address space)\n');
    io.stdout.write('\n' + summaryTable(summary));
    if (args.regions) io.stdout.write('\n' + regionTable(walk.regions));
    else {
      io.stdout.write(`\nLargest regions:\n`);
      io.stdout.write(regionTable(largestRegions(walk, args.top)));
    }
  }
  return (await closeRecord(record)) ? 0 : 1;
}

async function watch(
  ins: ProcessInspector,
  info: ProcessInfo,
  args: InspectArgs,
  intervalMs: number,
  io: CliIo,
): Promise<number> {
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true && !args.json;
  const record = openRecord(args, ins, `hostmem inspect ${info.pid} --watch ${intervalMs}ms`, io);
  const watcher = new ProcessWatcher(ins, info.pid, { intervalMs, keepAlive: true, growthWindowMs: args.windowMs });
  const limit = (committed: number): GrowthLimit | null =>
    args.budget !== undefined ? { bytes: args.budget, kind: 'budget' } : commitLimitFor(committed);
  let failed: ProcessError | undefined;
  const onWalk = (e: WatchWalkEvent): void => {
    record?.write(e.walk);
    const growth = watcher.growth(limit(e.summary.total.committed));
    if (args.json) {
      io.stdout.write(JSON.stringify(watchWalkToJson(e.seq, e.walk, e.summary, e.diff, growth)) + '\n');
    } else {
      const t = e.summary.total;
      const lines =
        `${tty ? '\x1b[H\x1b[2J' : e.seq > 1 ? '\n' : ''}${clock(e.walk.takenAt)}  walk ${e.seq}: ` +
        `committed ${formatSize(t.committed)}, resident ${t.resident === null ? '-' : formatSize(t.resident)}, ` +
        `${t.regions} regions (${e.reused ? `unchanged: not walked again, ${e.walk.durationMs.toFixed(0)} ms` : `${e.walk.durationMs.toFixed(0)} ms`})\n`;
      io.stdout.write(lines);
      if (e.seq === 1 || tty) io.stdout.write('\n' + summaryTable(e.summary));
      if (growth !== null) io.stdout.write(`${growthText(growth)}\n`);
      if (e.diff !== null) io.stdout.write(`\nSince the last walk:\n${diffText(e.diff, 20)}`);
      else if (tty) io.stdout.write(`\nLargest regions:\n${regionTable(largestRegions(e.walk, args.top))}`);
    }
    if (args.count !== undefined && e.seq >= args.count) watcher.stop();
  };
  watcher.onWalk(onWalk);
  watcher.onExit((e) => {
    record?.exit(info.pid, e.at);
    if (args.json)
      io.stdout.write(
        JSON.stringify({ format: WATCH_JSON_FORMAT, event: 'exit', pid: info.pid, t: e.at, walks: e.walks }) + '\n',
      );
    io.stderr.write(
      `hostmem inspect: process ${info.pid} exited at ${clock(e.at)} (after ${e.walks} walk${e.walks === 1 ? '' : 's'})` +
        `${record?.written ? `; the walks are kept in ${args.record}` : ''}\n`,
    );
  });
  watcher.onError((e) => {
    if (e.fatal) failed = e.error;
    else io.stderr.write(`hostmem inspect: ${e.error.message} (watching on)\n`);
  });
  const onSigint = (): void => watcher.stop();
  process.on('SIGINT', onSigint);
  watcher.start();
  const end = await watcher.done.finally(() => process.off('SIGINT', onSigint));
  const closed = await closeRecord(record);
  if (end === 'error' && failed) {
    io.stderr.write(errorText(failed));
    return 1;
  }
  return closed ? 0 : 1;
}
