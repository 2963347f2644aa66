import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { createHost } from '../host';
import type { HostPolicy } from '../host/types';
import { execCommand, parseExecArgs, type HostFactory } from './commands/exec';
import type { CliIo } from './commands/io';
import { main, usage, VERSION } from './main';

function capture(input = ''): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const io: CliIo = {
    stdin: Readable.from([Buffer.from(input)]),
    stdout: sink((text) => (out += text)),
    stderr: sink((text) => (err += text)),
  };
  return { io, stdout: () => out, stderr: () => err };
}

const noHost: HostFactory = () => assert.fail('no host should be created');

test('hostmem --help, -h, help and no arguments print the usage with the commands', async () => {
  for (const argv of [['--help'], ['-h'], [], ['help']]) {
    const { io, stdout, stderr } = capture();
    assert.equal(await main(argv, io), 0, argv.join(' '));
    assert.equal(stdout(), usage());
    assert.equal(stderr(), '');
  }
  for (const name of ['exec', 'run', 'scenarios', 'replay', 'report', 'serve'])
    assert.match(usage(), new RegExp(`\\n {2}${name} +\\S`));
  assert.match(usage(), /\n {2}exec +drive the host memory manager/);
});

test('hostmem --version prints the package version', async () => {
  const { io, stdout } = capture();
  assert.equal(await main(['--version'], io), 0);
  assert.equal(stdout(), `${VERSION}\n`);
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});

test('unknown commands and flags are usage errors (exit 2, on stderr)', async () => {
  for (const argv of [
    ['bogus'],
    ['--bogus'],
    ['--bogus', 'exec'],
    ['help', 'bogus'],
    ['exec', '--bogus'],
    ['exec', 'x'],
  ]) {
    const { io, stdout, stderr } = capture();
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assert.equal(stdout(), '', argv.join(' '));
    assert.match(stderr(), /^hostmem( exec)?: /, argv.join(' '));
  }
});

test('hostmem exec --help and hostmem help exec print the exec usage', async () => {
  for (const argv of [
    ['exec', '--help'],
    ['help', 'exec'],
  ]) {
    const { io, stdout } = capture();
    assert.equal(await main(argv, io), 0);
    assert.match(stdout(), /^Usage: hostmem exec \[--in FILE\] \[--out FILE\] \[--commit-limit SIZE\]/);
  }
});

test('exec options: limits override the policy file; bad sizes and policy files are usage errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-cli-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ commitLimit: '1MiB', reserveLimit: '8MiB', thresholds: { eTaskCritical: 0.5 } }),
    );
    const parsed = parseExecArgs(['--policy', good, '--commit-limit', '2MiB', '--events']);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.policy.commitLimit, 2 * 1048576);
    assert.equal(parsed.value.policy.reserveLimit, 8 * 1048576);
    assert.equal(parsed.value.policy.thresholds.eTaskCritical, 0.5);
    assert.equal(parsed.value.events, true);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ commitLimit: 'lots' }));
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{');
    const cases: [string[], RegExp][] = [
      [['--commit-limit', '1MB'], /--commit-limit: expected a size/],
      [['--reserve-limit', '0'], /--reserve-limit: a limit must be > 0/],
      [['--policy', bad], /not a valid policy: field "commitLimit"/],
      [['--policy', notJson], /is not JSON/],
      [['--policy', join(dir, 'missing.json')], /missing\.json: no such policy file/],
      [['--in'], /argument missing|requires/i],
    ];
    for (const [argv, message] of cases) {
      const result = parseExecArgs(argv);
      assert.ok(!result.ok, argv.join(' '));
      assert.match(result.error, message, argv.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exec with an invalid policy file or a missing input runs nothing (exit 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-cli-'));
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ thresholds: { eTaskCritical: 2 } }));
    const out = join(dir, 'out.jsonl');
    for (const argv of [
      ['--policy', bad, '--out', out],
      ['--in', join(dir, 'missing.jsonl'), '--out', out],
    ]) {
      const { io, stderr } = capture();
      assert.equal(await execCommand(argv, io, noHost), 2, argv.join(' '));
      assert.match(stderr(), /^hostmem exec: /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exec reads stdin and writes stdout by default, and files with --in/--out', async () => {
  let policySeen: HostPolicy | undefined;
  const factory: HostFactory = (policy) => {
    policySeen = policy;
    return createHost({ policy });
  };
  const input = '{"op":"SetPolicy","reserveLimit":"1MiB"}\n{"op":"GetMemoryLoad"}\n';
  const piped = capture(input);
  assert.equal(await execCommand(['--commit-limit', '64KiB'], piped.io, factory), 0);
  assert.equal(policySeen?.commitLimit, 65536);
  const lines = piped.stdout().trim().split('\n');
  assert.equal(lines.length, 2);
  const load = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
  assert.deepEqual(Object.keys(load), ['line', 'op', 'hr', 'hrName', 'memoryLoad', 'availableBytes']);
  assert.equal(load.hrName, 'S_OK');

  const dir = mkdtempSync(join(tmpdir(), 'hostmem-cli-'));
  try {
    const inFile = join(dir, 'in.jsonl');
    const outFile = join(dir, 'out.jsonl');
    writeFileSync(inFile, '{"op":"Stats"}\r\nnot json\r\n');
    const files = capture();
    assert.equal(await execCommand(['--in', inFile, '--out', outFile], files.io, factory), 2);
    assert.equal(files.stdout(), '');
    const out = readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(out[0]?.hrName, 'S_OK');
    assert.match(String(out[1]?.error), /^line 2: not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
