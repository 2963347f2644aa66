/**
 * Hostile command lines, as a table: every option that takes a duration, a size, a limit, a count or a file, given a
 * value out of range — and inputs that are devices, pipes or the outputs themselves, outputs that cannot be written.
 * Each row: the exit status, one line naming the place (plus "see 'hostmem X --help'" for a usage error, never the
 * whole help), a bad value quoted at most ~200 characters, nothing the user gave destroyed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../main';
import type { CliIo } from './io';

const CLI = join(process.cwd(), 'out', 'cli', 'hostmem.js');
const dir = mkdtempSync(join(tmpdir(), 'hostmem-options-'));
const script = join(dir, 'w.mjs');
writeFileSync(script, 'export default async function () {}\n');
const policy = join(dir, 'p.json');
writeFileSync(policy, '{"commitLimit":"64MiB"}');
const requests = join(dir, 'r.jsonl');
writeFileSync(requests, '{"op":"GetMemoryLoad"}\n');
const existing = join(dir, 'existing.session');
writeFileSync(existing, 'keep me');

async function cli(argv: readonly string[]): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        into.push(String(chunk));
        callback();
      },
    });
  const io: CliIo = { stdin: Readable.from([]), stdout: sink(out), stderr: sink(err) };
  const status = await main(argv, io);
  return { status, out: out.join(''), err: err.join('') };
}

const LONG = 'x'.repeat(5000);
const TOO_LONG_MS = '3000000000';

/** [argv, the message that must be there]: each a usage error (exit 2, one line and where the help is). */
const USAGE_ERRORS: readonly (readonly [readonly string[], RegExp])[] = [
  [['run', '--scenario', 'steady', '--duration', TOO_LONG_MS], /--duration: duration "3000000000" is longer than/],
  [['run', '--scenario', 'steady', '--duration', '600h'], /--duration: duration "600h" is longer than 2147483647 ms/],
  [['run', '--scenario', 'steady', '--duration=-5s'], /--duration: expected a duration/],
  [['run', '--scenario', 'steady', '--duration', '-5s'], /Option '--duration' argument is ambiguous\. Did you forget/],
  [['run', '--scenario', 'steady', '--snapshot-every', '99999999999'], /--snapshot-every: duration .* is longer/],
  [['run', '--scenario', 'steady', '--snapshot-every', '0'], /--snapshot-every: must be at least 1 ms/],
  [['run', '--scenario', 'steady', '--commit-limit', '0'], /--commit-limit: a limit must be > 0/],
  [['run', '--scenario', 'steady', '--reserve-limit', '0'], /--reserve-limit: a limit must be > 0/],
  [['run', '--scenario', 'steady', '--commit-limit', '9PiB'], /--commit-limit: expected a size/],
  [['run', '--scenario', 'steady', '--commit-limit', '0x1FFFFFFFFFFFFFFF'], /not a whole number of bytes below 2\^53/],
  [['run', '--scenario', 'steady', '--max-record-size', '0'], /--max-record-size: must be at least 1 bytes/],
  [['run', '--scenario', 'steady', '--seed=-1'], /--seed: expected a whole number/],
  [['run', '--scenario', 'steady', '--seed', '1.5'], /--seed: expected a whole number/],
  [['run', '--scenario', 'steady', '--max-calls', 'lots'], /--max-calls: expected a whole number/],
  [['run', '--scenario', 'steady', '--rate=-1'], /--rate: expected a number ≥ 0/],
  [['run', '--scenario', LONG], /unknown scenario "x{200}"… \(5000 characters\)/],
  [['run', '--scenario', 'steady', '--policy', '/dev/zero'], /--policy \/dev\/zero: is a device, not a policy file/],
  [['run', '--script', '/dev/null'], /--script \/dev\/null: is a device, not a workload script/],
  [['run', '--scenario', 'steady', '--record', existing], /--record .*existing\.session already exists \(use --force/],
  [['run', '--script', script, '--record', script, '--force'], /--record .*w\.mjs is the --script file/],
  [['run', '--scenario', 'steady', '--policy', policy, '--record', policy, '--force'], /is the --policy file/],
  [['serve', '--port', '70000'], /--port: expected 0\.\.65535/],
  [['serve', '--port=-1'], /--port: expected a whole number/],
  [['serve', '--commit-limit', '0'], /--commit-limit: a limit must be > 0/],
  [['exec', '--commit-limit', '0'], /--commit-limit: a limit must be > 0/],
  [['exec', '--in', requests, '--out', requests], /--out .*r\.jsonl is the --in file/],
  [['exec', '--in', requests, '--policy', policy, '--out', policy], /--out .*p\.json is the --policy file/],
  [['exec', '--policy', '/dev/zero'], /\/dev\/zero: is a device, not a policy file/],
  [['replay', 'x.session', '--max-line-length', '0'], /--max-line-length: must be > 0/],
  [['report', existing, '--out', existing, '--force'], /--out .*existing\.session is the SESSION file/],
  [[LONG], /unknown command "x{200}"… \(5000 characters\)/],
];

const posixOnly = process.platform === 'win32' ? 'devices and pipes are POSIX paths: Linux leg' : false;

describe('hostile options: one line, exit 2, see --help, never the whole help', { skip: posixOnly }, () => {
  for (const [argv, message] of USAGE_ERRORS) {
    test(argv.map((a) => (a.length > 40 ? `${a.slice(0, 12)}…` : a)).join(' '), async () => {
      const { status, err, out } = await cli(argv);
      assert.equal(status, 2, err);
      assert.equal(out, '');
      assert.match(err, message);
      const lines = err.trimEnd().split('\n');
      assert.equal(lines.length, 2, err);
      const command = argv[0] === LONG ? '' : ` ${argv[0]}`;
      assert.equal(lines[1], `see 'hostmem${command} --help'`);
      assert.ok(lines[0]!.length < 400, `${lines[0]!.length} characters`);
      assert.doesNotMatch(err, /Usage:/);
    });
  }

  test('nothing the user gave is destroyed: the refused outputs keep their content', () => {
    assert.equal(readFileSync(existing, 'utf8'), 'keep me');
    assert.equal(readFileSync(script, 'utf8'), 'export default async function () {}\n');
    assert.equal(readFileSync(policy, 'utf8'), '{"commitLimit":"64MiB"}');
    assert.equal(readFileSync(requests, 'utf8'), '{"op":"GetMemoryLoad"}\n');
  });
});

describe('files that are not regular, and writes that fail', { skip: posixOnly }, () => {
  test('report /dev/zero is refused at once (it never ends), exit 2', async () => {
    const { status, err } = await cli(['report', '/dev/zero', '--out', join(dir, 'z.json')]);
    assert.equal(status, 2);
    assert.equal(err, 'hostmem report: /dev/zero: is a device, not a session file (give a regular file or a pipe)\n');
  });

  test('a session from a pipe is read once: report and replay work on a FIFO', async () => {
    const session = join(dir, 'piped.session');
    const recorded = spawnSync(
      process.execPath,
      [CLI, 'run', '--scenario', 'steady', '--max-calls', '40', '--record', session, '--quiet'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(recorded.status, 0, recorded.stderr);
    for (const argv of [
      (fifo: string) => ['report', fifo, '--out', join(dir, 'piped.json')],
      (fifo: string) => ['replay', fifo],
    ]) {
      const fifo = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
      const feed = createWriteStream(fifo);
      feed.end(readFileSync(session));
      const { status, err, out } = await cli(argv(fifo));
      assert.equal(status, 0, err);
      assert.match(out, /wrote .*piped\.json|replayed \d+ calls: 0 differing/);
    }
    const json = JSON.parse(readFileSync(join(dir, 'piped.json'), 'utf8')) as { summary: { calls: number } };
    const summary = /recorded\s+(\d+) calls/.exec(recorded.stdout);
    assert.ok(summary, recorded.stdout);
    assert.equal(json.summary.calls, Number(summary[1]), "the run's 'recorded N calls' is what the file holds");
    const terminal = /^ {2}calls\s+(\d+) /m.exec(recorded.stdout);
    assert.equal(Number(terminal?.[1]), Number(summary[1]), "the summary's calls are the host calls recorded");
  });

  test('exec --out /dev/full: one line, exit 1 (was exit 0, results lost)', async () => {
    const { status, err } = await cli(['exec', '--in', requests, '--out', '/dev/full']);
    assert.equal(status, 1);
    assert.equal(err, 'hostmem exec: cannot write the results to /dev/full: no space left on device\n');
  });

  for (const argv of [['exec', '--in', 'REQUESTS'], ['scenarios'], ['--help']]) {
    test(`hostmem ${argv.join(' ')} > /dev/full: one line, exit 1 (was a stack trace)`, () => {
      const full = openSync('/dev/full', 'w');
      const r = spawnSync(process.execPath, [CLI, ...argv.map((a) => (a === 'REQUESTS' ? requests : a))], {
        stdio: ['ignore', full, 'pipe'],
        encoding: 'utf8',
        timeout: 60_000,
      });
      closeSync(full);
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        /^hostmem(?: exec)?: cannot write (?:the output|the results to standard output): no space left on device\n$/,
      );
    });
  }

  test('run --record that cannot be created says why, in one line, exit 1', async () => {
    const { status, err } = await cli([
      'run',
      '--scenario',
      'steady',
      '--max-calls',
      '5',
      '--record',
      '/proc/x',
      '--quiet',
    ]);
    assert.equal(status, 1);
    assert.equal(err, 'hostmem run: cannot record to /proc/x: no such file or folder\n');
    assert.equal(existsSync('/proc/x'), false);
  });
});
