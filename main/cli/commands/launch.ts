/**
 * `hostmem launch [options] -- PROGRAM [ARGS…]`: run a program with hostmem's agent inside it, so that its
 * reservations, commits and heap blocks go through a host of its own — seen with their call sites, admitted or
 * refused by the policy and critical level inside the program, recorded and reported. The exit status is the
 * program's own, so it can wrap a test suite.
 */
import { existsSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY, LEVELS, type HostPolicy, type LevelName } from '../../host/types';
import { Launch, LaunchError, type TracedProcess } from '../../launch/launcher';
import {
  DEFAULT_SAMPLE_BYTES,
  parseFaultText,
  parseLaunchRules,
  type LaunchFaultRule,
  type LaunchPolicy,
  type SizeParser,
} from '../../launch/policy';
import { summaryText, topLive } from '../../launch/summary';
import { LaunchRecorder } from '../../telemetry/launch-records';
import { createSampler } from '../../telemetry/sampler';
import { sessionHeader, SessionWriter } from '../../telemetry/session';
import { buildSessionReport } from '../../reports/model-session';
import { formatOf, writeReport } from '../../reports';
import { parsePolicy } from '../exec/policy';
import { parseSize } from '../exec/values';
import type { CliIo } from './io';
import { inputFileProblem, outputFileProblem } from './paths';

export const LAUNCH_SUMMARY = 'run a program with its memory calls traced and governed by the host';

/** hostmem's own failures (usage included) exit 125, like env and timeout: a wrapped program's codes stay its own. */
export const LAUNCH_FAILED = 125;

export const LAUNCH_USAGE = `Usage: hostmem launch [options] -- PROGRAM [ARGS...]

Runs PROGRAM with hostmem's agent preloaded (Linux: LD_PRELOAD), so that its virtual-memory calls (mmap, munmap,
mprotect, madvise, mremap) and heap calls (malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign,
valloc, pvalloc) go through a host of its own: each is seen with its call stack (heap calls by sampling), admitted
or refused by the policy at its critical level inside the program (a refusal is what the OS would say: MAP_FAILED or
NULL with errno ENOMEM), recorded and reported. The program's stdio is its own; hostmem's summary goes to stderr at
the end: peaks, calls, refusals by level, and the call sites holding the most live bytes (likely leaks).

On Windows (and under Wine) the agent is a DLL loaded into PROGRAM, created suspended, before its first
instruction. It hooks VirtualAlloc, VirtualAllocEx (on the program itself), VirtualFree, VirtualProtect,
VirtualQuery (counted) and HeapCreate, HeapDestroy, HeapAlloc, HeapReAlloc, HeapFree in every module (the C
runtime's malloc goes through HeapAlloc). A refusal is NULL with ERROR_COMMITMENT_LIMIT (a commit) or
ERROR_NOT_ENOUGH_MEMORY (a reservation, a heap block), or STATUS_NO_MEMORY raised where HEAP_GENERATE_EXCEPTIONS
asks for it. Fault rules name these functions (op=VirtualAlloc, op=HeapAlloc).

Options:
  --policy FILE.json     the policy: the exec policy object (commitLimit, reserveLimit, thresholds,
                         processCriticalWaitMs, seed) plus faults that name calls, levelRules, defaultLevel,
                         sampleBytes (docs/spec/agent-protocol.md, "Policy")
  --commit-limit SIZE    the commit limit (committed pages + live heap bytes), e.g. 64MiB
  --fault RULE           inject failures, e.g. op=malloc,everyNth=100 or op=mmap+malloc,level=0,probability=0.01
                         or op=Alloc,afterBytes=8MiB (repeatable; adds to the policy file's faults)
  --default-level LEVEL  the critical level of calls no level rule names (eTaskCritical, eAppDomainCritical,
                         eProcessCritical or 0, 1, 2; default eTaskCritical)
  --sample-bytes N       heap calls carry their stack once every N bytes allocated per thread (default 512KiB;
                         0 = every heap call); virtual-memory calls always carry theirs
  --follow-forks         trace the program's forked and exec'd children too (default: they run untraced)
  --record FILE          record the session (the program's calls, stacks, modules, samples) to FILE
  --force                replace FILE given to --record or --report
  --report FILE          write a report of the program at the end; .html, .json, .csv or .pdf (repeatable)
  --top N                call sites in the summary (default 5)
  --quiet                no summary on stderr
  -h, --help             show this help

Exit status: the program's own (128 + the signal's number when a signal ended it); 125 when hostmem could not
launch it (no such program, a static or set-user-ID binary, no agent built, a usage error) — each with its reason.
`;

class UsageError extends Error {}

const sizeParser: SizeParser = (value) => {
  const r = parseSize(value);
  return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.error };
};

function levelOf(text: string): LevelName {
  if (/^[0-2]$/.test(text)) return LEVELS[Number(text)]!;
  if ((LEVELS as readonly string[]).includes(text)) return text as LevelName;
  throw new UsageError(
    `--default-level: expected ${LEVELS.join(', ')} or 0, 1, 2; got ${JSON.stringify(text.slice(0, 200))}`,
  );
}

interface Parsed {
  readonly policy: LaunchPolicy;
  readonly program: string;
  readonly args: readonly string[];
  readonly record: string | undefined;
  readonly reports: readonly string[];
  readonly force: boolean;
  readonly quiet: boolean;
  readonly top: number;
}

function readPolicyFile(path: string): { host: HostPolicy; rest: Record<string, unknown> } {
  const problem = inputFileProblem(path, 'policy file');
  if (problem !== undefined) throw new UsageError(`--policy ${problem}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--policy ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UsageError(`--policy ${path}: a policy must be a JSON object`);
  }
  const { faults, levelRules, defaultLevel, sampleBytes, followForks, ...hostFields } = json as Record<string, unknown>;
  const host = parsePolicy(hostFields);
  if (!host.ok) throw new UsageError(`--policy ${path}: ${host.error}`);
  return { host: host.value, rest: { faults, levelRules, defaultLevel, sampleBytes, followForks } };
}

export function parseLaunchArgs(argv: readonly string[]): Parsed | 'help' {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  let values: {
    policy?: string;
    'commit-limit'?: string;
    fault?: string[];
    'default-level'?: string;
    'sample-bytes'?: string;
    'follow-forks'?: boolean;
    record?: string;
    force?: boolean;
    report?: string[];
    top?: string;
    quiet?: boolean;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...own],
      options: {
        policy: { type: 'string' },
        'commit-limit': { type: 'string' },
        fault: { type: 'string', multiple: true },
        'default-level': { type: 'string' },
        'sample-bytes': { type: 'string' },
        'follow-forks': { type: 'boolean' },
        record: { type: 'string' },
        force: { type: 'boolean' },
        report: { type: 'string', multiple: true },
        top: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return 'help';
  // `hostmem launch prog args` without `--` works too, as long as nothing after the program looks like an option.
  const program = command.length > 0 ? command : positionals;
  if (program.length === 0) throw new UsageError('no program given: hostmem launch [options] -- PROGRAM [ARGS...]');
  if (command.length > 0 && positionals.length > 0) {
    throw new UsageError(`unexpected ${JSON.stringify(positionals[0]!.slice(0, 200))} before --`);
  }

  let host: HostPolicy | undefined;
  let rest: Record<string, unknown> = {};
  if (values.policy !== undefined) ({ host, rest } = readPolicyFile(values.policy));
  const rules = parseLaunchRules(rest, sizeParser);
  if (!rules.ok) throw new UsageError(`--policy ${values.policy}: ${rules.error}`);
  host ??= DEFAULT_POLICY;
  if (values['commit-limit'] !== undefined) {
    const limit = parseSize(values['commit-limit']);
    if (!limit.ok) throw new UsageError(`--commit-limit: ${limit.error}`);
    if (limit.value === 0) throw new UsageError('--commit-limit: expected a limit > 0');
    host = { ...host, commitLimit: limit.value };
  }
  const faults: LaunchFaultRule[] = [...rules.value.faults];
  for (const text of values.fault ?? []) {
    const f = parseFaultText(text, sizeParser);
    if (!f.ok) throw new UsageError(`--fault ${JSON.stringify(text.slice(0, 200))}: ${f.error}`);
    faults.push(f.value);
  }
  let sampleBytes = rules.value.sampleBytes ?? DEFAULT_SAMPLE_BYTES;
  if (values['sample-bytes'] !== undefined) {
    const s = parseSize(values['sample-bytes']);
    if (!s.ok) throw new UsageError(`--sample-bytes: ${s.error}`);
    sampleBytes = s.value;
  }
  const followForks = values['follow-forks'] ?? rest.followForks === true;
  const top = values.top === undefined ? 5 : Number(values.top);
  if (!Number.isSafeInteger(top) || top < 0 || top > 1000) {
    throw new UsageError(`--top: expected a count from 0 to 1000, got ${JSON.stringify(values.top)}`);
  }
  const record = values.record;
  const force = values.force ?? false;
  for (const out of [...(record ? [record] : []), ...(values.report ?? [])]) {
    const problem = outputFileProblem(out);
    if (problem !== undefined) throw new UsageError(problem);
    if (!force && existsSync(out)) throw new UsageError(`${out} exists: give --force to replace it`);
  }
  for (const out of values.report ?? []) {
    if (formatOf(out) === undefined)
      throw new UsageError(`--report ${out}: expected a .html, .json, .csv or .pdf file`);
  }
  return {
    policy: {
      host,
      faults,
      levelRules: rules.value.levelRules,
      defaultLevel:
        values['default-level'] !== undefined
          ? levelOf(values['default-level'])
          : (rules.value.defaultLevel ?? 'eTaskCritical'),
      sampleBytes,
      followForks,
    },
    program: program[0]!,
    args: program.slice(1),
    record,
    reports: values.report ?? [],
    force,
    quiet: values.quiet ?? false,
    top,
  };
}

export async function launchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: Parsed | 'help';
  try {
    parsed = parseLaunchArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`hostmem launch: ${e.message}\nsee 'hostmem launch --help'\n`);
    return LAUNCH_FAILED;
  }
  if (parsed === 'help') {
    io.stdout.write(LAUNCH_USAGE);
    return 0;
  }
  const p = parsed;
  const cwd = process.cwd();
  // A report needs a recording: without --record, one is kept in a temporary folder and removed at the end.
  const scratch =
    p.record === undefined && p.reports.length > 0 ? mkdtempSync(join(tmpdir(), 'hostmem-launch-')) : undefined;
  const sessionPath = p.record ?? (scratch ? join(scratch, 'session.jsonl') : undefined);
  const commandLine = `hostmem launch ${argv.join(' ')}`;
  const writer = sessionPath
    ? new SessionWriter(
        sessionPath,
        sessionHeader(process.platform === 'win32' ? 'win32' : 'posix', 4096, p.policy.host, commandLine),
      )
    : undefined;
  let launch: Launch | undefined;
  const ended: { exit?: { code: number | null; signal: string | null; status: number } } = {};
  const exitOf = (t: TracedProcess): { code: number | null; signal: string | null; status: number } | null =>
    launch !== undefined && t === launch.rootProcess() ? (ended.exit ?? null) : null;
  const recorder = writer
    ? new LaunchRecorder(writer, { program: p.program, args: p.args, cwd, policy: p.policy }, exitOf)
    : undefined;
  let sampler: ReturnType<typeof createSampler> | undefined;
  try {
    launch = await Launch.start(
      { program: p.program, args: p.args, cwd },
      {
        policy: p.policy,
        listener: {
          processStarted(t) {
            recorder?.processStarted(t);
            // The program's own books over time: the session's sample lines (the report's chart).
            if (writer && t.parent === undefined && sampler === undefined) {
              sampler = createSampler(t.books, { intervalMs: 250 });
              sampler.onSample((s) => writer.append({ type: 'sample', ...s }));
              sampler.start();
            }
          },
          modules: (t, m) => recorder?.modules(t, m),
          events: (t, e, n, s) => recorder?.events(t, e, n, s),
          counters: (t, c) => recorder?.counters(t, c),
          processEnded: (t) => {
            // Written now without an exit status; the program's own is written again below once its status is known.
            if (launch !== undefined && t.pid === launch.pid) sampler?.sampleNow();
            recorder?.processEnded(t);
          },
        },
      },
    );
  } catch (e) {
    await writer?.close().catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    if (e instanceof LaunchError) {
      io.stderr.write(`hostmem launch: ${e.message}\n`);
      return LAUNCH_FAILED;
    }
    throw e;
  }
  // Ctrl+C goes to the whole foreground group, the program included: hostmem waits for it to end and reports.
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  const result = await launch.done();
  process.off('SIGINT', ignore);
  process.off('SIGTERM', ignore);
  sampler?.stop();
  ended.exit = { code: result.code, signal: result.signal, status: result.status };
  if (launch.spawnError) {
    io.stderr.write(`hostmem launch: ${p.program}: ${launch.spawnError.message}\n`);
    await writer?.close().catch(() => undefined);
    return LAUNCH_FAILED;
  }
  // The program's end record, with its exit status.
  const root = launch.rootProcess(result.processes);
  if (root && recorder) recorder.processEnded(root);
  let failed = false;
  try {
    await writer?.close();
  } catch (e) {
    io.stderr.write(`hostmem launch: ${e instanceof Error ? e.message : String(e)}\n`);
    failed = true;
  }
  if (!p.quiet) {
    // file:line for the call sites the summary names (one addr2line per module; nothing when there is no debug info).
    await Promise.all(result.processes.map((t) => t.resolveLines(topLive(t.books, p.top).map((s) => s.id))));
    io.stderr.write(
      summaryText(
        result.processes.map((t) => ({
          pid: t.pid,
          exe: t.hello.exe,
          books: t.books,
          frames: (s) => t.frames(s),
          callSite: (s) => t.callSite(s),
          lost: t.decoder.lost,
          abandoned: t.decoder.abandoned,
          nested: t.counters?.nested ?? 0,
          early: t.counters?.early ?? 0,
          ended:
            t === root
              ? result.signal
                ? `was killed by ${result.signal}`
                : `exited with code ${result.code}`
              : t.said
                ? 'exited'
                : 'ended (exec, or killed)',
        })),
        { top: p.top },
      ),
    );
    if (p.record) io.stderr.write(`hostmem: recorded to ${p.record}\n`);
  }
  if (sessionPath && p.reports.length > 0 && !failed) {
    try {
      const model = await buildSessionReport(sessionPath, { language: 'en' });
      for (const out of p.reports) {
        await writeReport(model, resolve(out), { force: true });
        if (!p.quiet) io.stderr.write(`hostmem: report written to ${out}\n`);
      }
    } catch (e) {
      io.stderr.write(`hostmem launch: the report failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  return result.status;
}
