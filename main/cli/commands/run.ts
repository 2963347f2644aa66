/**
 * `hostmem run --scenario NAME | --script FILE [...]`: run a workload headless against a host over this OS, with a
 * live progress line, an optional recorded session, and a final summary (peaks, failures by level).
 * `hostmem scenarios`: the built-in scenarios and their parameters.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY, createHost, FAILURE_GROUPS, type FailureCounts, type HostPolicy } from '../../host';
import {
  buildLiveReport,
  ChromiumMissingError,
  collectReportEvents,
  outputPaths,
  type ChromiumPrinter,
  type PrintHtml,
} from '../../reports';
import { SessionRecorder } from '../../telemetry/recorder';
import { quote, type Language } from '../../vocabulary';
import { createSampler } from '../../telemetry/sampler';
import { takeSnapshot } from '../../telemetry/snapshot';
import { SessionWriter, sessionHeader } from '../../telemetry/session';
import {
  SCENARIOS,
  describeParams,
  getScenario,
  startWorkload,
  type WorkloadSpec,
  type WorkloadSummary,
} from '../../workloads';
import {
  durationOption,
  integerOption,
  limitOption,
  rateOption,
  sizeOption,
  usageFailure,
  UsageError,
} from '../parse-values';
import { loadPolicy } from './exec';
import type { CliIo } from './io';
import {
  existingOutputProblem,
  inputFileProblem,
  isSameFile,
  outputFileProblem,
  outputIsInputProblem,
  reason,
} from './paths';
import { checkReportTargets, parseLanguage, printerFor, writeReports } from './report';

/** The largest workload script read (a module, not data). */
const MAX_SCRIPT_BYTES = 16 * 1024 ** 2;

export const RUN_SUMMARY = 'run a built-in scenario or a workload script, with live progress and a summary';
export const SCENARIOS_SUMMARY = 'list the built-in scenarios and their parameters';

export const RUN_USAGE = `Usage: hostmem run (--scenario NAME | --script FILE) [--seed N] [--duration 30s] [--rate N]
                   [--max-calls N] [--param NAME=VALUE ...] [--commit-limit SIZE] [--reserve-limit SIZE]
                   [--policy FILE.json] [--record FILE] [--max-record-size SIZE]
                   [--out FILE ...] [--lang LANG] [--force] [--quiet]

Runs a workload against a fresh host memory manager over this OS until it ends (its duration, --max-calls, or
Ctrl-C), then prints a summary: calls, peaks, failures by critical level. 'hostmem scenarios' lists the scenarios.

Options:
  --scenario NAME         a built-in scenario (steady, gc-heap, leak, fragmentation, pressure, burst)
  --script FILE           a JS module exporting default async function (host, ctx) (see examples/)
  --seed N                PRNG seed: the same seed gives the same sequence of requests
  --duration D            how long, e.g. 30s, 2m, 500ms (0: until stopped)
  --rate N                target host calls per second (0: as fast as the host answers)
  --max-calls N           stop after N host calls
  --param NAME=VALUE      a scenario parameter (repeatable; VALUE is JSON or a plain string)
  --commit-limit SIZE     the host's commit limit, e.g. 64MiB (overrides the policy file's)
  --reserve-limit SIZE    the host's reserve limit
  --policy FILE.json      the host's starting policy (the exec policy object)
  --record FILE           record the session (every call in exec format, samples, snapshots) to FILE
  --snapshot-every D      with --record, a region-map snapshot every D (e.g. 10s; default: at start and end)
  --max-record-size SIZE  stop recording past SIZE (default 1GiB)
  --out FILE              at the end, write an allocation report; format by extension: .html .csv .json .pdf
                          (repeatable; see 'hostmem report --help'); --report FILE is the old spelling
  --lang LANG             language of the HTML/PDF report: en (default), fr, zh-CN
  --force                 replace a --record or --out file that exists
  --quiet                 no progress line
  -h, --help              show this help

Exit status: 0 when the workload ended normally, 1 when it failed (threw, hung, flooded) or a report could not
be written, 2 for a usage error.
`;

export const SCENARIOS_USAGE = `Usage: hostmem scenarios [--json]

Lists the built-in scenarios with their parameters and defaults.
`;

interface RunArgs {
  readonly spec: WorkloadSpec;
  readonly policy: HostPolicy;
  readonly record: string | undefined;
  readonly maxRecordBytes: number;
  /** Region-map snapshots into the session every this many ms (0: one at the start and one at the end). */
  readonly snapshotEveryMs: number;
  readonly quiet: boolean;
  readonly reports: readonly string[];
  readonly language: Language;
  readonly force: boolean;
}

function parseRunArgs(argv: readonly string[]): RunArgs | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scenario: { type: 'string' },
      script: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      'max-calls': { type: 'string' },
      param: { type: 'string', multiple: true },
      'commit-limit': { type: 'string' },
      'reserve-limit': { type: 'string' },
      policy: { type: 'string' },
      record: { type: 'string' },
      'snapshot-every': { type: 'string' },
      'max-record-size': { type: 'string' },
      out: { type: 'string', short: 'o', multiple: true },
      report: { type: 'string', multiple: true },
      lang: { type: 'string' },
      force: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  // --out, as in `hostmem report`; --report is its old spelling, kept as an alias for one release.
  const reports = [...(values.out ?? []), ...(values.report ?? [])];
  if ((values.scenario === undefined) === (values.script === undefined)) {
    throw new UsageError('give exactly one of --scenario NAME or --script FILE');
  }
  const params: Record<string, unknown> = {};
  for (const p of values.param ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param ${quote(p)}: expected NAME=VALUE`);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A plain string value ("64MiB", "end").
    }
    params[p.slice(0, eq)] = value;
  }
  if (values.seed !== undefined) params.seed = integerOption('--seed', values.seed);
  if (values['max-calls'] !== undefined) params.maxCalls = integerOption('--max-calls', values['max-calls']);
  if (values.rate !== undefined) params.rate = rateOption('--rate', values.rate);
  if (values.duration !== undefined) params.durationMs = durationOption('--duration', values.duration);
  let policy: HostPolicy | undefined;
  if (values.policy !== undefined) {
    const loaded = loadPolicy(values.policy);
    if (!loaded.ok) throw new UsageError(`--policy ${loaded.error}`);
    policy = loaded.value;
  }
  const commitLimit =
    values['commit-limit'] === undefined ? undefined : limitOption('--commit-limit', values['commit-limit']);
  const reserveLimit =
    values['reserve-limit'] === undefined ? undefined : limitOption('--reserve-limit', values['reserve-limit']);
  const base = policy ?? DEFAULT_POLICY;
  const finalPolicy: HostPolicy = {
    ...base,
    commitLimit: commitLimit ?? base.commitLimit,
    reserveLimit: reserveLimit ?? base.reserveLimit,
  };
  if (values.script !== undefined) {
    const problem = inputFileProblem(values.script, 'workload script', { maxBytes: MAX_SCRIPT_BYTES });
    if (problem !== undefined) throw new UsageError(`--script ${problem}`);
  }
  const inputs = [
    ...(values.script === undefined ? [] : [['--script', values.script] as const]),
    ...(values.policy === undefined ? [] : [['--policy', values.policy] as const]),
  ];
  const outputs = [
    ...(values.record === undefined ? [] : [['--record', values.record] as const]),
    ...reports.flatMap((r) => outputPaths(r).map((path) => ['--out', path] as const)),
  ];
  const same = outputIsInputProblem(outputs, inputs);
  if (same !== undefined) throw new UsageError(same);
  for (const [, report] of outputs.filter(([option]) => option === '--out'))
    if (values.record !== undefined && isSameFile(report, values.record))
      throw new UsageError(`--out ${report} is the --record file: choose another name`);
  const spec: WorkloadSpec =
    values.scenario !== undefined ? { scenario: values.scenario, params } : { script: values.script!, params };
  if (values.scenario !== undefined && !getScenario(values.scenario)) {
    throw new UsageError(
      `unknown scenario ${quote(values.scenario)} (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`,
    );
  }
  return {
    spec,
    policy: finalPolicy,
    record: checkedRecordPath(values.record, values.force ?? false),
    maxRecordBytes:
      values['max-record-size'] === undefined
        ? 1024 ** 3
        : sizeOption('--max-record-size', values['max-record-size'], 1),
    snapshotEveryMs: snapshotEvery(values['snapshot-every']),
    quiet: values.quiet ?? false,
    ...reportArgs(reports, values.lang, values.force ?? false),
  };
}

function reportArgs(
  reports: readonly string[],
  lang: string | undefined,
  force: boolean,
): { reports: readonly string[]; language: Language; force: boolean } {
  try {
    checkReportTargets(reports, force, '--out');
    return { reports, language: parseLanguage(lang), force };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function snapshotEvery(text: string | undefined): number {
  return text === undefined ? 0 : durationOption('--snapshot-every', text, 1);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function formatFailures(f: FailureCounts): string {
  return FAILURE_GROUPS.map((g) => `${g} ${f[g]}`).join(', ');
}

export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let args: RunArgs | 'help';
  try {
    args = parseRunArgs(argv);
  } catch (error) {
    return usageFailure(io, 'run', error);
  }
  if (args === 'help') {
    io.stdout.write(RUN_USAGE);
    return 0;
  }
  let print: ChromiumPrinter | undefined;
  try {
    print = printerFor(args.reports);
  } catch (error) {
    if (!(error instanceof ChromiumMissingError)) throw error;
    io.stderr.write(`hostmem run: --out: ${error.message}\n`);
    return 2;
  }
  // A PDF report: Chromium starts now, while the workload runs, and prints the report at the end.
  print?.warm();
  try {
    return await runWorkload(args, argv, io, print);
  } finally {
    await print?.close();
  }
}

async function runWorkload(
  args: RunArgs,
  argv: readonly string[],
  io: CliIo,
  print: PrintHtml | undefined,
): Promise<number> {
  const host = createHost({ policy: args.policy });
  const collector = args.reports.length > 0 ? collectReportEvents(host) : undefined;
  let writer: SessionWriter | undefined;
  let recorder: SessionRecorder | undefined;
  if (args.record !== undefined) {
    try {
      writer = new SessionWriter(
        args.record,
        sessionHeader(host.backend, host.pageSize, args.policy, `hostmem run ${argv.join(' ')}`),
        {
          maxBytes: args.maxRecordBytes,
          onCapped: (message) => io.stderr.write(`\nhostmem run: ${message}\n`),
        },
      );
    } catch (error) {
      io.stderr.write(`hostmem run: cannot record to ${args.record}: ${reason(error)}\n`);
      host.dispose();
      return 1;
    }
    recorder = new SessionRecorder(host, writer);
  }

  // The host-wide peaks from the host's own books after every call (samples every 250 ms would miss a short peak),
  // so they are never below the workload's own.
  let peakReserved = 0;
  let peakCommitted = 0;
  // Every host call (and policy change or reset: a recording holds them as call lines), whoever made it: the
  // workload, or the run releasing what the workload still held at its end.
  let hostCalls = 0;
  const stopPeaks = host.subscribe((event) => {
    if (event.kind === 'policy' || event.kind === 'reset') hostCalls++;
    if (event.kind !== 'call') return;
    hostCalls++;
    const { reserved, committed } = host.stats();
    if (reserved > peakReserved) peakReserved = reserved;
    if (committed > peakCommitted) peakCommitted = committed;
  });
  // Samples every 250 ms: the session's sample lines.
  const sampler = createSampler(host, { intervalMs: 250 });
  sampler.onSample((sample) => {
    writer?.append({ type: 'sample', ...sample });
  });
  const snapshot = (label: string): void => {
    if (!writer) return;
    const snap = takeSnapshot(host, label);
    writer.append({ type: 'snapshot', t: snap.time, ...snap });
  };
  snapshot('start');
  sampler.start();
  const snapshots =
    writer && args.snapshotEveryMs > 0 ? setInterval(() => snapshot('periodic'), args.snapshotEveryMs) : undefined;
  snapshots?.unref();

  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  let handle: ReturnType<typeof startWorkload>;
  try {
    handle = startWorkload(host, args.spec, {
      onLog: (entry) => {
        if (!args.quiet) io.stderr.write(`${tty ? '\r\x1b[K' : ''}[${entry.name}] ${entry.message}\n`);
      },
    });
  } catch (error) {
    sampler.stop();
    if (snapshots) clearInterval(snapshots);
    recorder?.stop();
    collector?.stop();
    await writer?.close();
    host.dispose();
    io.stderr.write(`hostmem run: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const durationMs = Number(handle.params.durationMs ?? 0);
  const started = Date.now();
  let lastPlain = 0;
  const progress = (): void => {
    if (args.quiet) return;
    const p = handle.progress();
    const s = host.stats();
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? Math.round(p.calls / elapsed) : 0;
    const figures = `${elapsed.toFixed(1)}s  calls ${p.calls} (${rate}/s)  reserved ${formatBytes(s.reserved)}  committed ${formatBytes(s.committed)}  failures T${p.failures.eTaskCritical}/A${p.failures.eAppDomainCritical}/P${p.failures.eProcessCritical}/o${p.failures.other}  ${s.state}`;
    if (tty) {
      const width = 24;
      const done = durationMs > 0 ? Math.min(1, (Date.now() - started) / durationMs) : 0;
      const bar =
        durationMs > 0
          ? `[${'#'.repeat(Math.round(done * width)).padEnd(width, '-')}] ${Math.round(done * 100)}% `
          : '';
      io.stderr.write(`\r\x1b[K${bar}${figures}`);
    } else if (Date.now() - lastPlain >= 1000) {
      lastPlain = Date.now();
      io.stderr.write(`${figures}\n`);
    }
  };
  const timer = setInterval(progress, 250);
  const onSigint = (): void => {
    io.stderr.write(`${tty ? '\r\x1b[K' : ''}hostmem run: stopping (Ctrl-C)…\n`);
    void handle.stop();
  };
  process.on('SIGINT', onSigint);

  let summary: WorkloadSummary;
  try {
    summary = await handle.done;
  } finally {
    clearInterval(timer);
    if (snapshots) clearInterval(snapshots);
    process.off('SIGINT', onSigint);
  }
  sampler.sampleNow();
  sampler.stop();
  snapshot('end');
  if (tty && !args.quiet) io.stderr.write('\r\x1b[K');
  stopPeaks();
  const calls = recorder?.recorded;
  recorder?.stop();
  let recordFailed: string | undefined;
  try {
    await writer?.close();
  } catch (error) {
    recordFailed = `hostmem run: the session ${args.record ?? ''} is incomplete: ${error instanceof Error ? error.message : String(error)}`;
  }
  const final = host.stats();
  let reportsOk = true;
  if (collector) {
    collector.stop();
    // The report describes the host as the workload left it: before dispose releases everything.
    const model = buildLiveReport({
      host,
      samples: sampler.samples(),
      collector,
      language: args.language,
      command: `hostmem run ${argv.join(' ')}`,
    });
    reportsOk = await writeReports(model, args.reports, { force: args.force, print }, io, 'hostmem run');
  }
  host.dispose();

  const seconds = summary.durationMs / 1000;
  const lines = [
    `${summary.name} (${summary.kind}, seed ${summary.seed}): ${summary.end}${summary.error ? ` — ${summary.error}` : ''}`,
    `  duration      ${seconds.toFixed(2)} s`,
    `  calls         ${hostCalls} (${seconds > 0 ? Math.round(summary.calls / seconds) : summary.calls} calls/s)${hostCalls === summary.calls ? '' : `: ${summary.calls} by the workload, ${hostCalls - summary.calls} around it (policy changes, releasing what it held at the end)`}`,
    `  peak          reserved ${formatBytes(peakReserved)}, committed ${formatBytes(peakCommitted)} (workload's own: reserved ${formatBytes(summary.peak.reserved)}, committed ${formatBytes(summary.peak.committed)}, heap ${formatBytes(summary.peak.heap)})`,
    `  failures      ${formatFailures(summary.failures)}`,
  ];
  const byHr = Object.entries(summary.failuresByHr);
  if (byHr.length > 0) lines.push(`  by HRESULT    ${byHr.map(([name, n]) => `${name} ${n}`).join(', ')}`);
  lines.push(`  host at end   ${final.state}, failures ${formatFailures(final.failures)}`);
  if (summary.retained.regions + summary.retained.heapBlocks > 0) {
    lines.push(
      `  retained      ${summary.retained.regions} regions, ${summary.retained.heapBlocks} heap blocks (${formatBytes(summary.retained.reserved)} reserved)`,
    );
  }
  if (args.record !== undefined)
    lines.push(
      `  recorded      ${calls ?? 0} calls to ${args.record}${writer?.isCapped ? ' (stopped at the size cap)' : ''}`,
    );
  io.stdout.write(lines.join('\n') + '\n');
  if (recordFailed !== undefined) io.stderr.write(`${recordFailed}\n`);
  return ['error', 'hang', 'flood', 'exit'].includes(summary.end) || !reportsOk || recordFailed !== undefined ? 1 : 0;
}

export async function scenariosCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let json: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      io.stdout.write(SCENARIOS_USAGE);
      return 0;
    }
    json = values.json ?? false;
  } catch (error) {
    return usageFailure(io, 'scenarios', error);
  }
  const list = SCENARIOS.map((s) => ({ name: s.name, description: s.description, params: describeParams(s.params) }));
  if (json) {
    io.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return 0;
  }
  for (const s of list) {
    io.stdout.write(`${s.name}\n  ${s.description}\n`);
    for (const p of s.params) {
      io.stdout.write(`    ${p.name.padEnd(18)} ${p.description} (default ${JSON.stringify(p.default)})\n`);
    }
    io.stdout.write('\n');
  }
  return 0;
}

/** `--record FILE`: a file that can be created, or replaced with --force (not a folder, in a folder that exists). */
function checkedRecordPath(path: string | undefined, force: boolean): string | undefined {
  if (path === undefined) return undefined;
  const problem = outputFileProblem(path, 'session file') ?? existingOutputProblem('--record', path, force);
  if (problem !== undefined) throw new UsageError(problem.startsWith('--record') ? problem : `--record ${problem}`);
  return path;
}
