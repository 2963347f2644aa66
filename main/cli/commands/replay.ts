/**
 * `hostmem replay SESSION`: re-execute a recorded session's requests (through the exec driver, against a fresh host
 * over this OS, with the recorded starting policy) and report every HRESULT that differs from the recording.
 */
import { parseArgs } from 'node:util';
import { createHost } from '../../host';
import { SessionFormatError } from '../../telemetry/session';
import { SessionReader, type SessionIntegrity, type SessionReadOptions } from '../../telemetry/session-reader';
import type { CallRecord } from '../../telemetry/session-records';
import { parsePolicy } from '../exec/policy';
import { runExec } from '../exec/run';
import { usageFailure } from '../parse-values';
import type { CliIo } from './io';
import { checkReplayed, rebuildLaunch } from './replay-launch';
import { inputFileProblem } from './paths';
import { integrityNotes, maxLineOption, sessionSource, writeIntegrity } from './session-output';

export const REPLAY_SUMMARY = 'replay a recorded session and report every HRESULT that differs';

export const REPLAY_USAGE = `Usage: hostmem replay SESSION [--quiet] [--strict] [--max-line-length SIZE]

Re-executes the requests of a session recorded with 'hostmem run --record' (or by the app), in order, against
a fresh host over this OS with the recorded starting policy, and compares each HRESULT with the recording.

A damaged line (not JSON, or not what its record kind must hold) is skipped, counted and named as FILE:LINE on
standard error; the summary line says how many. A torn last line (a killed recording) is left out.

Options:
  --quiet                  print only the summary line (and damage)
  --strict                 exit 2 when any line is damaged
  --max-line-length SIZE   longest line read (default 256MiB); a longer one is damage and is not held
  -h, --help               show this help

Exit status: 0 when every HRESULT matches, 1 when some differ, 2 for a usage error, a SESSION that is missing,
a folder, unreadable or not a session, or (with --strict) a damaged line.
`;

export interface ReplayDifference {
  /** Line of the session file. */
  readonly line: number;
  readonly id: string | undefined;
  readonly op: string;
  readonly recorded: string;
  readonly replayed: string;
}

/** Differences kept (and printed) one by one; the rest are counted. */
export const MAX_LISTED_DIFFERENCES = 1000;

export interface ReplayReport {
  readonly calls: number;
  /** The first MAX_LISTED_DIFFERENCES differences, in file order. */
  readonly differences: ReplayDifference[];
  /** Every differing HRESULT, listed or not. */
  readonly differing: number;
  /** Records of a recorded process watch (process-walk…): a session of walks has no calls to replay. */
  readonly walks: number;
  readonly torn: boolean;
  readonly integrity: SessionIntegrity;
}

/** Replay a session file; throws SessionFormatError for a file that is not one. Damaged lines are skipped. */
export async function replaySession(path: string, options: SessionReadOptions = {}): Promise<ReplayReport> {
  const pending: Array<{ line: number; call: CallRecord }> = [];
  const differences: ReplayDifference[] = [];
  let calls = 0;
  let differing = 0;
  let walks = 0;

  const reader = new SessionReader(path, options);
  const header = await reader.header();
  const policy = parsePolicy(header.policy);
  if (!policy.ok) throw new SessionFormatError(`${path}:1: the recorded policy is not valid: ${policy.error}`);
  const host = createHost({ policy: policy.value });

  async function* requests(): AsyncGenerator<string> {
    for await (const batch of reader.entries()) {
      for (const { line, record } of batch) {
        if (record.type === 'process-walk' || record.type === 'process-delta') walks++;
        if (record.type !== 'call') continue;
        pending.push({ line, call: record });
        yield JSON.stringify(record.request);
      }
    }
  }

  try {
    await runExec(
      requests(),
      host,
      (text) => {
        const expected = pending.shift();
        if (!expected) return;
        calls++;
        const out = JSON.parse(text) as { hr?: string; hrName?: string; error?: string };
        const recorded = expected.call.result;
        if (out.hr === recorded.hr) return;
        if (++differing > MAX_LISTED_DIFFERENCES) return;
        const id = expected.call.request.id;
        differences.push({
          line: expected.line,
          id: id === undefined ? undefined : String(id),
          op: expected.call.request.op,
          recorded: `${recorded.hr} ${recorded.hrName}`,
          // exec numbers its own lines: the session's line is given instead.
          replayed:
            out.hr === undefined
              ? `no result (${(out.error ?? 'no result').replace(/^line \d+: /, '')})`
              : `${out.hr} ${out.hrName ?? ''}`.trim(),
        });
        // Only ids of live memory are kept: memory follows the live allocations, not the number of calls.
      },
      { liveIdsOnly: true },
    );
  } finally {
    host.dispose();
  }
  const integrity = reader.integrity;
  return { calls, differences, differing, walks, torn: integrity.torn, integrity };
}

export async function replayCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: {
    values: { quiet?: boolean; strict?: boolean; 'max-line-length'?: string; help?: boolean };
    positionals: string[];
  };
  let maxLineBytes: number | undefined;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        quiet: { type: 'boolean' },
        strict: { type: 'boolean' },
        'max-line-length': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
    maxLineBytes = maxLineOption(parsed.values['max-line-length']);
  } catch (error) {
    return usageFailure(io, 'replay', error);
  }
  if (parsed.values.help) {
    io.stdout.write(REPLAY_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    return usageFailure(io, 'replay', 'expected one SESSION file');
  }
  const path = parsed.positionals[0]!;
  const problem = inputFileProblem(path, 'session file', { pipes: true });
  if (problem !== undefined) {
    io.stderr.write(`hostmem replay: ${problem}\n`);
    return 2;
  }
  // A launched program's session: its calls are applied again to fresh books and checked against the agent's counters.
  // That takes a first reading: a session given as a pipe is copied once (sessionSource) and read from the copy.
  let source: Awaited<ReturnType<typeof sessionSource>>;
  try {
    source = await sessionSource(path);
  } catch (error) {
    io.stderr.write(`hostmem replay: ${path}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  try {
    return await replayFrom(source.path);
  } finally {
    source.dispose();
  }

  async function replayFrom(readPath: string): Promise<number> {
    try {
      const launched = await rebuildLaunch(readPath, maxLineBytes === undefined ? {} : { maxLineBytes });
      if (launched.processes.length > 0) {
        writeIntegrity(io, 'hostmem replay', path, launched.integrity);
        let ok = true;
        for (const p of launched.processes) {
          const r = checkReplayed(p);
          ok &&= r.ok;
          for (const line of r.lines) io.stdout.write(`${line}\n`);
        }
        if (parsed.values.strict && launched.integrity.damaged > 0) return 2;
        return ok ? 0 : 1;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      io.stderr.write(`hostmem replay: ${error instanceof SessionFormatError ? message : `${path}: ${message}`}\n`);
      return 2;
    }
    let report: ReplayReport;
    try {
      report = await replaySession(readPath, maxLineBytes === undefined ? {} : { maxLineBytes });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      io.stderr.write(`hostmem replay: ${error instanceof SessionFormatError ? message : `${path}: ${message}`}\n`);
      return 2;
    }
    writeIntegrity(io, 'hostmem replay', path, report.integrity);
    if (!parsed.values.quiet) {
      for (const d of report.differences) {
        io.stdout.write(
          `${path}:${d.line}:${d.id ? ` (${d.id})` : ''} ${d.op}: recorded ${d.recorded}, replayed ${d.replayed}\n`,
        );
      }
    }
    if (!parsed.values.quiet && report.differing > report.differences.length)
      io.stdout.write(`${path}: ${report.differing - report.differences.length} more differences not listed\n`);
    const notes = integrityNotes(report.integrity);
    if (report.calls === 0 && report.walks > 0)
      notes.unshift('it holds a recorded watch of a process, which has no calls to replay (see hostmem report)');
    io.stdout.write(
      `replayed ${report.calls} calls: ${report.differing} differing HRESULTs${notes.length > 0 ? `; ${notes.join('; ')}` : ''}\n`,
    );
    if (parsed.values.strict && report.integrity.damaged > 0) return 2;
    return report.differing === 0 ? 0 : 1;
  }
}
