/**
 * `hostmem replay SESSION`: re-execute a recorded session's requests (through the exec driver, against a fresh host
 * over this OS, with the recorded starting policy) and report every HRESULT that differs from the recording.
 */
import { parseArgs } from 'node:util';
import { createHost } from '../../host';
import { readSessionLines, SessionFormatError, type CallLine } from '../../telemetry/session';
import { parsePolicy } from '../exec/policy';
import { runExec } from '../exec/run';
import type { CliIo } from './io';

export const REPLAY_SUMMARY = 'replay a recorded session and report every HRESULT that differs';

export const REPLAY_USAGE = `Usage: hostmem replay SESSION [--quiet]

Re-executes the requests of a session recorded with 'hostmem run --record' (or by the app), in order, against
a fresh host over this OS with the recorded starting policy, and compares each HRESULT with the recording.

Options:
  --quiet      print only the summary line
  -h, --help   show this help

Exit status: 0 when every HRESULT matches, 1 when some differ, 2 for a usage error or a file that is not a session.
`;

export interface ReplayDifference {
  /** Line of the session file. */
  readonly line: number;
  readonly id: string | undefined;
  readonly op: string;
  readonly recorded: string;
  readonly replayed: string;
}

export interface ReplayReport {
  readonly calls: number;
  readonly differences: ReplayDifference[];
  readonly torn: boolean;
}

/** Replay a session file; throws SessionFormatError for a file that is not one. */
export async function replaySession(path: string): Promise<ReplayReport> {
  const pending: Array<{ line: number; call: CallLine }> = [];
  const differences: ReplayDifference[] = [];
  let torn = false;
  let calls = 0;

  const lines = readSessionLines(path, () => (torn = true));
  const first = await lines.next();
  if (first.done || !('header' in first.value)) throw new SessionFormatError(`${path}: no session header`);
  const policy = parsePolicy(first.value.header.policy);
  if (!policy.ok) throw new SessionFormatError(`${path}:1: the recorded policy is not valid: ${policy.error}`);
  const host = createHost({ policy: policy.value });

  let fileLine = 1;
  async function* requests(): AsyncGenerator<string> {
    for await (const item of lines) {
      fileLine++;
      if (!('line' in item) || item.line.type !== 'call') continue;
      const call = item.line as CallLine;
      pending.push({ line: fileLine, call });
      yield JSON.stringify(call.request);
    }
  }

  try {
    await runExec(requests(), host, (text) => {
      const expected = pending.shift();
      if (!expected) return;
      calls++;
      const out = JSON.parse(text) as { hr?: string; error?: string };
      const replayed = out.hr ?? `error: ${out.error ?? 'no result'}`;
      if (replayed !== expected.call.result.hr) {
        const id = expected.call.request.id;
        differences.push({
          line: expected.line,
          id: typeof id === 'string' ? id : undefined,
          op: expected.call.request.op,
          recorded: `${expected.call.result.hr} ${expected.call.result.hrName}`,
          replayed: out.hr === undefined ? replayed : `${out.hr} ${(out as { hrName?: string }).hrName ?? ''}`.trim(),
        });
      }
    });
  } finally {
    host.dispose();
  }
  return { calls, differences, torn };
}

export async function replayCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: { values: { quiet?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    io.stderr.write(`hostmem replay: ${error instanceof Error ? error.message : String(error)}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout.write(REPLAY_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.stderr.write(`hostmem replay: expected one SESSION file\n\n${REPLAY_USAGE}`);
    return 2;
  }
  const path = parsed.positionals[0]!;
  let report: ReplayReport;
  try {
    report = await replaySession(path);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`hostmem replay: ${message}\n`);
    return 2;
  }
  if (!parsed.values.quiet) {
    for (const d of report.differences) {
      io.stdout.write(
        `line ${d.line}${d.id ? ` (${d.id})` : ''} ${d.op}: recorded ${d.recorded}, replayed ${d.replayed}\n`,
      );
    }
  }
  const tornNote = report.torn ? ' (the last line was torn and was left out)' : '';
  io.stdout.write(`replayed ${report.calls} calls: ${report.differences.length} differing HRESULTs${tornNote}\n`);
  return report.differences.length === 0 ? 0 : 1;
}
