/**
 * The conformance suite: every case in cases/ run through `hostmem exec` against a fresh host over this OS's real
 * backend, compared with its expected results. The same files run on Linux (posix) and under Wine (win32).
 * Run from the repository root (paths are relative to it).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseExecArgs } from '../../main/cli/commands/exec';
import { readLines, runExec } from '../../main/cli/exec';
import { createHost } from '../../main/host';
import { createOsMemory } from '../../native';
import { compareOutput, expectedExitCode, parseJsonLines, type Json } from './compare';

const CASES = join('tests', 'conformance', 'cases');
const CLI = join('out', 'cli', 'hostmem.js');

interface Case {
  readonly name: string;
  readonly input: string;
  readonly expected: string;
  /** Extra `hostmem exec` arguments from NAME.args.json (e.g. --events, --commit-limit). */
  readonly args: readonly string[];
}

function listCases(): Case[] {
  return readdirSync(CASES)
    .filter((file) => file.endsWith('.jsonl') && !file.endsWith('.expected.jsonl'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.jsonl'.length);
      const argsFile = join(CASES, `${name}.args.json`);
      let args: string[] = [];
      if (existsSync(argsFile)) {
        const value: unknown = JSON.parse(readFileSync(argsFile, 'utf8'));
        if (!Array.isArray(value) || !value.every((arg): arg is string => typeof arg === 'string')) {
          throw new Error(`${argsFile}: expected a JSON array of strings`);
        }
        args = value;
      }
      return { name, input: join(CASES, file), expected: join(CASES, `${name}.expected.jsonl`), args };
    });
}

function readExpected(c: Case): Json[] {
  assert.ok(existsSync(c.expected), `${c.name}: ${c.expected} is missing`);
  return parseJsonLines(readFileSync(c.expected, 'utf8'), c.expected);
}

function parseOutput(lines: readonly string[], where: string): Json[] {
  return parseJsonLines(lines.join('\n'), where);
}

function assertMatches(name: string, expected: readonly Json[], actual: readonly Json[]): void {
  const problems = compareOutput(expected, actual);
  assert.ok(problems.length === 0, `${name}: ${problems.length} mismatch(es):\n  ${problems.join('\n  ')}`);
}

const expectedBackend = process.env.HOSTMEM_EXPECT_BACKEND;

/** Run a case in this process, through runExec, against a fresh host over the real OS. */
async function runCase(c: Case): Promise<{ lines: Json[]; exitCode: number }> {
  const parsed = parseExecArgs(['--in', c.input, ...c.args]);
  if (!parsed.ok) assert.fail(`${c.name}: bad ${c.name}.args.json: ${parsed.error}`);
  const host = createHost({ os: createOsMemory(), policy: parsed.value.policy });
  try {
    if (expectedBackend) assert.equal(host.backend, expectedBackend, 'HOSTMEM_EXPECT_BACKEND');
    assert.equal(host.pageSize, 4096, 'the cases are written for 4 KiB pages');
    const out: string[] = [];
    const summary = await runExec(readLines(createReadStream(c.input)), host, (line) => void out.push(line), {
      events: parsed.value.events,
    });
    return { lines: parseOutput(out, `${c.name} output`), exitCode: summary.exitCode };
  } finally {
    host.dispose();
  }
}

const cases = listCases();

test('conformance: the cases are there, each with its expected results', () => {
  assert.ok(cases.length >= 10, `only ${cases.length} case files in ${CASES}`);
  for (const c of cases) assert.ok(existsSync(c.expected), `${c.expected} is missing`);
});

test(`conformance: the host runs on the ${expectedBackend ?? 'native'} backend`, () => {
  const host = createHost({ os: createOsMemory() });
  try {
    if (expectedBackend) assert.equal(host.backend, expectedBackend);
    else assert.equal(host.backend, process.platform === 'win32' ? 'win32' : 'posix');
  } finally {
    host.dispose();
  }
});

for (const c of cases) {
  test(`conformance: ${c.name}`, async () => {
    const expected = readExpected(c);
    const { lines, exitCode } = await runCase(c);
    assertMatches(c.name, expected, lines);
    assert.equal(exitCode, expectedExitCode(expected), `${c.name}: exit status`);
  });
}

/** Run the built CLI with stdio redirected to files (Windows Node under Wine cannot use Unix pipes). */
async function runCli(args: readonly string[], dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  assert.ok(existsSync(CLI), `${CLI} is missing: run scripts/build-node.mjs first`);
  const stdoutFile = join(dir, 'stdout.txt');
  const stderrFile = join(dir, 'stderr.txt');
  const stdout = openSync(stdoutFile, 'w');
  const stderr = openSync(stderrFile, 'w');
  try {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', stdout, stderr] });
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
    });
    return { code, stdout: readFileSync(stdoutFile, 'utf8'), stderr: readFileSync(stderrFile, 'utf8') };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
  }
}

async function cliCase(name: string, exitCode: number): Promise<void> {
  const c = cases.find((one) => one.name === name);
  assert.ok(c, `no case ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-conformance-'));
  try {
    const outFile = join(dir, 'results.jsonl');
    const run = await runCli(['exec', '--in', c.input, '--out', outFile, ...c.args], dir);
    assert.equal(run.code, exitCode, `hostmem exec exit status (stderr: ${run.stderr})`);
    assert.equal(run.stdout, '', 'with --out nothing goes to stdout');
    const lines = readFileSync(outFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    assertMatches(`${name} (CLI)`, readExpected(c), parseOutput(lines, `${name} CLI output`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('conformance: the built CLI runs a case file with --in/--out and exits 0', async () => {
  await cliCase('virtualfree', 0);
});

test('conformance: the built CLI exits 2 on bad lines, after running the good ones', async () => {
  await cliCase('bad-lines', 2);
});

test('conformance: the built CLI honours exec options (--events, --commit-limit)', async () => {
  await cliCase('events', 0);
});
