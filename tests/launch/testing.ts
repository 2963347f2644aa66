/**
 * What the launch tests share: the agent the build made, C programs compiled for the test, and a launch that
 * collects everything (stdout of the program, its traced processes, the results).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_POLICY } from '../../main/host/types';
import {
  Launch,
  type LaunchListener,
  type LaunchOptions,
  type LaunchResult,
  type TracedProcess,
} from '../../main/launch/launcher';
import { DEFAULT_SAMPLE_BYTES, type LaunchPolicy } from '../../main/launch/policy';

export const AGENT = join(process.cwd(), 'out', 'agent', 'libhostmem-agent.so');

/** Why the launch tests cannot run here, or undefined when they can. */
export function launchSkip(): string | undefined {
  if (process.platform !== 'linux') {
    return `the Linux agent (LD_PRELOAD) runs on Linux; this is ${process.platform} (the Windows agent is its own issue)`;
  }
  if (!existsSync(AGENT))
    return 'the agent was not built (no C compiler when build-node ran: see out/agent/agent-build.json)';
  return undefined;
}

const built = new Map<string, string>();
let dir: string | undefined;

/** Compile tests/launch/programs/NAME.c (once per run) and return the executable's path. */
export function program(name: string, flags: readonly string[] = []): string {
  const key = `${name} ${flags.join(' ')}`;
  const known = built.get(key);
  if (known) return known;
  dir ??= mkdtempSync(join(tmpdir(), 'hostmem-launch-test-'));
  const out = join(dir, `${name}${built.size}`);
  const src = join(process.cwd(), 'tests', 'launch', 'programs', `${name}.c`);
  const r = spawnSync('cc', ['-O1', '-g', '-Wall', '-Wextra', '-Werror', '-pthread', ...flags, '-o', out, src], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`cc ${name}.c failed: ${r.stderr}`);
  built.set(key, out);
  return out;
}

export function policy(overrides: Partial<LaunchPolicy> = {}): LaunchPolicy {
  return {
    host: DEFAULT_POLICY,
    faults: [],
    levelRules: [],
    defaultLevel: 'eTaskCritical',
    sampleBytes: DEFAULT_SAMPLE_BYTES,
    followForks: false,
    ...overrides,
  };
}

export interface Ran {
  readonly result: LaunchResult;
  readonly stdout: string;
  readonly stderr: string;
  readonly root: TracedProcess;
  readonly launch: Launch;
}

/** Launch a program to its end, its stdio captured. */
export async function run(
  command: string,
  args: readonly string[],
  p: LaunchPolicy,
  options: Partial<LaunchOptions> & { listener?: LaunchListener; env?: Record<string, string | undefined> } = {},
): Promise<Ran> {
  const launch = await Launch.start(
    { program: command, args, ...(options.env ? { env: options.env } : {}) },
    { agentPath: AGENT, stdio: 'pipe', ...options, policy: p },
  );
  const child = launch.process!;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const result = await launch.done();
  await closed;
  const root = result.processes.find((t) => t.pid === launch.pid) ?? result.processes[0];
  if (!root) throw new Error(`no traced process (stderr: ${stderr})`);
  return { result, stdout, stderr, root, launch };
}
