/**
 * `hostmem exec [--in FILE] [--out FILE] [--commit-limit SIZE] [--reserve-limit SIZE] [--policy FILE.json] [--events]`
 * (exec-protocol.md): requests from a file or stdin, results to a file or stdout, against a fresh host over the OS.
 */
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createOsMemory } from '../../../native';
import { createHost } from '../../host';
import { DEFAULT_POLICY, type HostMemoryManager, type HostPolicy } from '../../host/types';
import { LineWriter, readLines } from '../exec/lines';
import { invalid, parsed, type Parsed } from '../exec/parsed';
import { parsePolicy } from '../exec/policy';
import { runExec } from '../exec/run';
import { parseSize } from '../exec/values';
import { usageFailure } from '../parse-values';
import type { CliIo } from './io';
import { inputFileProblem, outputFileProblem, outputIsInputProblem, reason } from './paths';
import { EXEC_MAX_LINE_BYTES, LONGEST_LINE_BYTES } from '../../telemetry/line-reader';

/** The largest policy file read: a policy is a few hundred bytes; a megabyte leaves room for many fault rules. */
const MAX_POLICY_BYTES = 1024 ** 2;

export const EXEC_SUMMARY = 'drive the host memory manager with JSON Lines requests (one result per line)';

export const EXEC_USAGE = `Usage: hostmem exec [--in FILE] [--out FILE] [--commit-limit SIZE] [--reserve-limit SIZE]
                    [--policy FILE.json] [--events] [--max-line-length SIZE]

Runs one request per line (JSON Lines) against a fresh host memory manager over this OS, in order, and writes
one result per line. See docs/spec/exec-protocol.md for the requests and results, and examples/requests.jsonl.

Options:
  --in FILE             read requests from FILE (default: standard input)
  --out FILE            write results to FILE (default: standard output)
  --commit-limit SIZE   the host's commit limit, e.g. 64MiB (overrides the policy file's)
  --reserve-limit SIZE  the host's reserve limit, e.g. 1GiB (overrides the policy file's)
  --policy FILE.json    start with this policy object (same fields as a SetPolicy request)
  --events              also print failure and memory notification events, as they happen
  --max-line-length SIZE  longest request line (default 1MiB); a longer one is not held and gets an error line
  -h, --help            show this help

SIZE is a byte count or a number with KiB, MiB, GiB. Under Wine pass files: Windows Node cannot use Unix pipes.
Exit status: 0 when every line was understood (a failing HRESULT is a result), 2 for a usage error or a line
that is not a request (its result line says why; later lines still run), and for a FILE that is missing, a folder
or not readable (writable).
`;

export interface ExecArgs {
  readonly help: boolean;
  readonly input: string | undefined;
  readonly output: string | undefined;
  readonly events: boolean;
  readonly policy: HostPolicy;
  readonly maxLineBytes: number;
  /** Files read besides --in (the --policy file), which --out must not be. */
  readonly inputs: readonly (readonly [string, string])[];
}

/** Parse `exec`'s arguments, reading the `--policy` file if any. Errors are usage errors (exit 2). */
export function parseExecArgs(argv: readonly string[]): Parsed<ExecArgs> {
  let values: {
    in?: string;
    out?: string;
    'commit-limit'?: string;
    'reserve-limit'?: string;
    policy?: string;
    events?: boolean;
    help?: boolean;
    'max-line-length'?: string;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        in: { type: 'string' },
        out: { type: 'string' },
        'commit-limit': { type: 'string' },
        'reserve-limit': { type: 'string' },
        policy: { type: 'string' },
        events: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'max-line-length': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return invalid(error instanceof Error ? error.message : String(error));
  }
  let policy: HostPolicy = DEFAULT_POLICY;
  if (values.policy !== undefined) {
    const loaded = loadPolicy(values.policy);
    if (!loaded.ok) return loaded;
    policy = loaded.value;
  }
  for (const [option, key] of [
    ['commit-limit', 'commitLimit'],
    ['reserve-limit', 'reserveLimit'],
  ] as const) {
    const text = values[option];
    if (text === undefined) continue;
    const size = parseSize(text);
    if (!size.ok) return invalid(`--${option}: ${size.error}`);
    if (size.value === 0) return invalid(`--${option}: a limit must be > 0`);
    policy = { ...policy, [key]: size.value };
  }
  let maxLineBytes = EXEC_MAX_LINE_BYTES;
  if (values['max-line-length'] !== undefined) {
    const size = parseSize(values['max-line-length']);
    if (!size.ok) return invalid(`--max-line-length: ${size.error}`);
    if (size.value === 0) return invalid('--max-line-length: must be > 0');
    if (size.value > LONGEST_LINE_BYTES)
      return invalid(`--max-line-length: at most ${LONGEST_LINE_BYTES} bytes (the longest string Node can hold)`);
    maxLineBytes = size.value;
  }
  return parsed({
    help: values.help ?? false,
    maxLineBytes,
    input: values.in,
    output: values.out,
    events: values.events ?? false,
    policy,
    inputs: values.policy === undefined ? [] : [['--policy', values.policy]],
  });
}

/** Read and check a policy file (JSON, the policy object of the spec). */
export function loadPolicy(path: string): Parsed<HostPolicy> {
  const problem = inputFileProblem(path, 'policy file', { maxBytes: MAX_POLICY_BYTES });
  if (problem !== undefined) return invalid(problem);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return invalid(`cannot read the policy file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return invalid(`the policy file ${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const policy = parsePolicy(value);
  return policy.ok ? policy : invalid(`the policy file ${path} is not a valid policy: ${policy.error}`);
}

/** The host a command runs against: a fresh one over this OS. Tests may pass another factory. */
export type HostFactory = (policy: HostPolicy) => HostMemoryManager;

export const osHost: HostFactory = (policy) => createHost({ os: createOsMemory(), policy });

function openOrFail(path: string, flags: 'r' | 'w'): Parsed<number> {
  const problem =
    flags === 'r' ? inputFileProblem(path, 'request file', { pipes: true }) : outputFileProblem(path, 'result file');
  if (problem !== undefined) return invalid(problem);
  try {
    return parsed(openSync(path, flags));
  } catch (error) {
    const verb = flags === 'r' ? 'read' : 'write';
    return invalid(`cannot ${verb} ${path}: ${reason(error)}`);
  }
}

/** Run `hostmem exec`; resolves to the exit status. */
export async function execCommand(argv: readonly string[], io: CliIo, makeHost: HostFactory = osHost): Promise<number> {
  const args = parseExecArgs(argv);
  if (!args.ok) {
    return usageFailure(io, 'exec', args.error);
  }
  if (args.value.help) {
    io.stdout.write(EXEC_USAGE);
    return 0;
  }
  const { input, output, events, policy, maxLineBytes } = args.value;
  const same =
    output === undefined
      ? undefined
      : outputIsInputProblem(
          [['--out', output]],
          [...(input === undefined ? [] : [['--in', input] as const]), ...args.value.inputs],
        );
  if (same !== undefined) return usageFailure(io, 'exec', same);

  const inFd = input === undefined ? undefined : openOrFail(input, 'r');
  if (inFd && !inFd.ok) {
    io.stderr.write(`hostmem exec: ${inFd.error}\n`);
    return 2;
  }
  const outFd = output === undefined ? undefined : openOrFail(output, 'w');
  if (outFd && !outFd.ok) {
    if (inFd?.ok) closeSync(inFd.value);
    io.stderr.write(`hostmem exec: ${outFd.error}\n`);
    return 2;
  }

  const source = inFd?.ok ? createReadStream('', { fd: inFd.value }) : io.stdin;
  const sink = outFd?.ok ? createWriteStream('', { fd: outFd.value }) : io.stdout;
  const writer = new LineWriter(sink);
  const host = makeHost(policy);
  const where = output === undefined ? 'standard output' : output;
  let exitCode: number;
  try {
    const summary = await runExec(readLines(source, maxLineBytes), host, (line) => writer.write(line), { events });
    if (summary.internalErrors > 0) {
      io.stderr.write(
        `hostmem exec: the host threw during ${summary.internalErrors} request(s); see the error lines\n`,
      );
    }
    exitCode = summary.exitCode;
  } catch (error) {
    if (!isWriteFailure(error)) throw error;
    io.stderr.write(`hostmem exec: cannot write the results to ${where}: ${reason(error)}\n`);
    return 1;
  } finally {
    host.dispose();
    if (inFd?.ok) source.destroy();
  }
  try {
    await writer.close(outFd?.ok === true);
  } catch (error) {
    io.stderr.write(`hostmem exec: cannot write the results to ${where}: ${reason(error)}\n`);
    return 1;
  }
  return exitCode;
}

/** An error of the OS while writing (ENOSPC, EIO, EPIPE…), as opposed to a bug. */
function isWriteFailure(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
