/**
 * `hostmem run`, `scenarios` and `replay` as a user runs them: the built CLI in a child process (stdio to files, so
 * the same test runs under Wine's Windows Node), real host, real files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CallLine } from '../../telemetry/session';
import { readSession } from '../../telemetry/session-reader';
import { replaySession } from './replay';

const CLI = join(process.cwd(), 'out', 'cli', 'hostmem.js');
const dir = mkdtempSync(join(tmpdir(), 'hostmem-run-'));

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let n = 0;
/** Run the CLI with stdin, stdout and stderr on files (Wine's Windows Node cannot use Unix pipes). */
function cli(...args: string[]): Ran {
  const k = ++n;
  const out = join(dir, `out${k}.txt`);
  const err = join(dir, `err${k}.txt`);
  const fds = [openSync(out, 'w'), openSync(err, 'w')];
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', ...fds], timeout: 120_000 });
  fds.forEach((fd) => closeSync(fd));
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

test('the CLI is built', () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run node scripts/build-node.mjs`);
});

test('run --scenario pressure: failures at all three levels, first in threshold order; the session replays exactly', async () => {
  const session = join(dir, 'pressure.session');
  const r = cli(
    'run',
    '--scenario',
    'pressure',
    '--duration',
    '30s',
    '--commit-limit',
    '32MiB',
    '--record',
    session,
    '--quiet',
  );
  assert.equal(r.status, 0, r.stderr);
  const failures = /failures\s+eTaskCritical (\d+), eAppDomainCritical (\d+), eProcessCritical (\d+)/.exec(r.stdout);
  assert.ok(failures, r.stdout);
  for (const count of failures.slice(1, 4)) assert.ok(Number(count) > 0, `a failure at every level:\n${r.stdout}`);

  const { header, lines, torn } = await readSession(session);
  assert.equal(torn, false);
  assert.ok(
    lines.some((l) => l.type === 'sample'),
    'samples are recorded',
  );
  const snapshots = lines.filter((l) => l.type === 'snapshot');
  assert.ok(snapshots.length >= 2, 'a snapshot at the start and at the end');
  assert.equal(header.policy.commitLimit, 32 * 2 ** 20);
  const firstFailure = new Map<number, number>();
  lines.forEach((line, i) => {
    if (line.type !== 'call') return;
    const call = line as CallLine;
    const level = call.request.level;
    if (call.request.op === 'VirtualAlloc' && typeof level === 'number' && call.result.hrName !== 'S_OK') {
      if (!firstFailure.has(level)) firstFailure.set(level, i);
    }
  });
  assert.deepEqual(
    [...firstFailure.keys()],
    [0, 1, 2],
    'first failures come eTaskCritical, eAppDomainCritical, eProcessCritical',
  );

  const replay = cli('replay', session);
  assert.equal(replay.status, 0, replay.stdout + replay.stderr);
  assert.match(replay.stdout, /: 0 differing HRESULTs/);
});

test('after kill -9 in the middle of a recorded run, the session reads back and replays', async () => {
  const session = join(dir, 'killed.session');
  const fds = [openSync(join(dir, 'killed.out'), 'w'), openSync(join(dir, 'killed.err'), 'w')];
  const child = spawn(
    process.execPath,
    [CLI, 'run', '--scenario', 'steady', '--rate', '0', '--duration', '60s', '--record', session, '--quiet'],
    { stdio: ['ignore', ...fds] },
  );
  fds.forEach((fd) => closeSync(fd));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  // Wait until a good part of the session is on disk, then kill it without warning.
  for (let i = 0; i < 600; i++) {
    if (existsSync(session) && statSync(session).size > 300_000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const before = statSync(session).size;
  child.kill('SIGKILL');
  await exited;
  assert.ok(before > 300_000, `the run recorded ${before} bytes before the kill`);
  const { lines } = await readSession(session);
  const calls = lines.filter((l) => l.type === 'call').length;
  assert.ok(calls > 1000, `${calls} calls read back`);
  assert.ok(statSync(session).size >= before, 'nothing flushed before the kill was lost');
  const report = await replaySession(session);
  assert.equal(report.calls, calls);
  assert.deepEqual(report.differences, []);
});

test('bad arguments are usage errors (exit 2) that say what is wrong', () => {
  const cases: Array<[string[], RegExp]> = [
    [['run'], /exactly one of --scenario/],
    [['run', '--scenario', 'nope'], /unknown scenario "nope"/],
    [['run', '--scenario', 'steady', '--duration', 'soon'], /--duration/],
    [['run', '--scenario', 'steady', '--commit-limit', '12XB'], /--commit-limit/],
    [['run', '--scenario', 'steady', '--param', 'regions=-4'], /regions/],
    [['replay'], /expected one SESSION/],
    [['replay', join(dir, 'missing.session')], /missing\.session/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('scenarios lists every built-in scenario with its parameters', () => {
  const r = cli('scenarios', '--json');
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ name: string; params: Array<{ name: string }> }>;
  assert.deepEqual(
    list.map((s) => s.name),
    ['steady', 'gc-heap', 'leak', 'fragmentation', 'pressure', 'burst'],
  );
  for (const s of list) assert.ok(s.params.some((p) => p.name === 'seed'));
});
