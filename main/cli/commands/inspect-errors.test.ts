/**
 * `hostmem inspect` where it used to give a wrong picture or a stack trace: a watched process killed while it is
 * walked (the record keeps the last whole walk, the report's diff removes nothing), a zombie, `--record` into a
 * folder that is not there, `--watch` longer than a timer can wait, `--top` or `--regions` with `--json`, a watch
 * that cannot start (no empty session left behind). Real processes and real files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { createProcessInspector, type ProcessWalk } from '../../../native';
import { MANY_MAPPINGS_SCRIPT, startScript, startZombie } from '../../../native/process-testing';
import { MAX_TIMER_MS } from '../../host/types';
import { ProcessWalkReader } from '../../telemetry/process-records';
import { readSession } from '../../telemetry/session-reader';
import { runCli } from '../testing';

const inspector = createProcessInspector();
const scratch = mkdtempSync(join(tmpdir(), 'hostmem-inspect-errors-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const run = runCli;

const linuxOnly = (t: TestContext): boolean => {
  if (inspector.backend === 'posix') return true;
  t.skip('Linux only (a child of 60,000 mappings, zombies); the node-tests leg runs it');
  return false;
};

describe('hostmem inspect: a process that dies', () => {
  test('killed during a recorded watch: the record ends on the last whole walk, the report removes nothing', async (t) => {
    if (!linuxOnly(t)) return;
    const child = await startScript(MANY_MAPPINGS_SCRIPT, ['60000']);
    const file = join(scratch, 'killed.session');
    try {
      let killed = false;
      const r = await run(['inspect', String(child.pid), '--watch', '10ms', '--record', file], (text) => {
        // After the first walk is shown, kill while the next one reads the map.
        if (!killed && text.includes('walk 1:')) {
          killed = true;
          setTimeout(() => child.process.kill('SIGKILL'), 20);
        }
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`process ${child.pid} exited at .*; the walks are kept in `));
      const session = await readSession(file);
      const reader = new ProcessWalkReader();
      const walks = session.lines.map((l) => reader.accept(l)).filter((w): w is ProcessWalk => w !== undefined);
      assert.ok(walks.length >= 1);
      const first = walks[0]!;
      const last = walks[walks.length - 1]!;
      assert.ok(first.regions.length > 60_000, `${first.regions.length} regions`);
      assert.equal(last.regions.length, first.regions.length, 'the last walk recorded is not whole');
      assert.equal(session.lines[session.lines.length - 1]!.type, 'process-exit');
      const json = join(scratch, 'killed.json');
      const rep = await run(['report', file, '--out', json]);
      assert.equal(rep.code, 0, rep.stderr);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { process: { diff: { removed: unknown[] } } };
      assert.deepEqual(report.process.diff.removed, []);
    } finally {
      await child.kill();
    }
  });

  test('a zombie: one line saying it is one, exit 1', async (t) => {
    if (!linuxOnly(t)) return;
    const zombie = await startZombie();
    const pid = zombie.pid;
    try {
      const r = await run(['inspect', String(pid)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^hostmem inspect: process ${pid} is a zombie: [^\\n]*\\n$`));
      const file = join(scratch, 'zombie.session');
      const w = await run(['inspect', String(pid), '--watch', '50ms', '--record', file]);
      assert.equal(w.code, 0, w.stderr);
      assert.equal(existsSync(file), false, 'a watch that never walked left a session file');
    } finally {
      zombie.kill();
    }
  });
});

describe('hostmem inspect: errors as one line, nothing lost', () => {
  const usage = async (argv: string[], message: string): Promise<void> => {
    const r = await run(argv);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.split('\n')[0], `hostmem inspect: ${message}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  };

  test('--record into a folder that does not exist', async () => {
    const folder = join(scratch, 'no-such-folder');
    await usage(
      ['inspect', String(process.pid), '--record', join(folder, 'x.session')],
      `--record: the folder ${folder} does not exist (create it first)`,
    );
  });

  test('--watch longer than the longest timer (2^31-1 ms) is refused, not run as a 1 ms loop', async () => {
    await usage(
      ['inspect', String(process.pid), '--watch', '600h'],
      `--watch: "600h" is longer than the longest interval, ${MAX_TIMER_MS} ms (about 24.8 days)`,
    );
    await usage(
      ['inspect', String(process.pid), '--watch', `${MAX_TIMER_MS + 1}ms`],
      `--watch: "${MAX_TIMER_MS + 1}ms" is longer than the longest interval, ${MAX_TIMER_MS} ms (about 24.8 days)`,
    );
  });

  test('--top or --regions with --json is refused (--json prints every region)', async () => {
    await usage(
      ['inspect', String(process.pid), '--json', '--top', '3'],
      '--json prints every region: leave out --top',
    );
    await usage(
      ['inspect', String(process.pid), '--json', '--regions'],
      '--json prints every region: leave out --regions',
    );
  });

  test('a process that is gone: one line, exit 1, no session file', async () => {
    const child = await startScript('console.log("ready"); setInterval(() => {}, 1000)');
    const pid = child.pid;
    await child.kill();
    const file = join(scratch, 'gone.session');
    const gone = await run(['inspect', String(pid), '--watch', '50ms', '--record', file]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, `hostmem inspect: no process with id ${pid} (see 'hostmem ps')\n`);
    assert.equal(existsSync(file), false);
  });
});
