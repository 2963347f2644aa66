/**
 * `hostmem launch` against real programs: a C program whose calls are known in advance, python3 and sqlite3 under a
 * budget and under faults, forks and execs, 8 threads at full speed, a program killed mid-run and hostmem itself
 * going away. Everything real: the agent the build made, real processes, real files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020';
import { DEFAULT_POLICY } from '../../main/host/types';
import { OP, RESULT } from '../../main/launch/protocol';
import { Launch, LaunchError } from '../../main/launch/launcher';
import { topLive } from '../../main/launch/summary';
import { AGENT, launchSkip, policy, program, run } from './testing';

const skip = launchSkip();

/** The pid of `parent`'s first child, once it has one (hostmem's program). */
async function childOf(parent: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const out = spawnSync('pgrep', ['-P', String(parent)], { encoding: 'utf8' }).stdout.trim();
    const pid = Number(out.split('\n')[0]);
    if (pid > 0) return pid;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`process ${parent} never started a child`);
}
const CLI = join(process.cwd(), 'out', 'cli', 'hostmem.js');

/** The agent's own counters at the end equal the books rebuilt from its events (the two keep the same rules). */
function assertAgentAgrees(root: Awaited<ReturnType<typeof run>>['root']): void {
  const c = root.counters;
  assert.ok(c, 'the agent sent its counters');
  const b = root.books.totals;
  assert.equal(c.committed, b.committed, 'committed: agent vs books');
  assert.equal(c.reserved, b.reserved, 'reserved: agent vs books');
  assert.equal(c.heap, b.heap, 'heap: agent vs books');
}

describe('hostmem launch (Linux agent)', { skip }, () => {
  test('every hooked call of a known program is seen once, with its result, and the books agree with the agent', async () => {
    const r = await run(program('calls'), ['known'], policy({ sampleBytes: 0 }));
    assert.equal(r.result.status, 0, r.stderr);
    const calls = r.root.books.calls;
    for (const [name, n] of Object.entries({
      mmap: 2,
      mprotect: 1,
      madvise: 1,
      mremap: 1,
      munmap: 2,
      calloc: 1,
      realloc: 1,
      posix_memalign: 1,
      aligned_alloc: 1,
      memalign: 1,
      valloc: 1,
    })) {
      assert.equal(calls[name]?.calls, n, `${name} seen ${calls[name]?.calls} times`);
    }
    // malloc(1000) and free × 6, plus stdio's own buffer (one malloc, never freed).
    assert.equal(calls.malloc?.calls, 2);
    assert.equal(calls.free?.calls, 6);
    assert.equal(r.root.decoder.lost, 0);
    // The addresses the program printed are the ones the books hold.
    const printed = /^mmap (0x[0-9a-f]+)$/m.exec(r.stdout)?.[1];
    assert.ok(printed);
    const stack = r.root.books.stackList();
    assert.ok(stack.length > 0, 'calls carry stacks');
    // Everything it mapped it unmapped: no mapping left, nothing committed.
    assert.equal(r.root.books.totals.committed, 0);
    assert.equal(r.root.books.totals.reserved, 0);
    assert.equal(r.root.books.peaks.committed, 6 << 16, 'peak committed: the remapped 384 KiB');
    assertAgentAgrees(r.root);
    // The leak that is left is stdio's buffer, named by its call site.
    const leak = topLive(r.root.books, 1)[0];
    assert.ok(leak);
    assert.match(r.root.callSite(leak.id) ?? '', /libc\.so\.6!_IO_file_doallocate/);
  });

  test('a fault rule refuses the Nth malloc: the program sees NULL with ENOMEM, the books the refusals', async () => {
    const r = await run(program('calls'), ['faults', '30'], policy({ faults: [{ op: ['malloc'], everyNth: 3 }] }));
    assert.equal(r.result.status, 0, r.stderr);
    // stdio's buffer is the first malloc: 31 mallocs in all, every third refused.
    const refused = Number(/refused (\d+) of 30/.exec(r.stdout)?.[1]);
    const seen = r.root.books.calls.malloc;
    assert.ok(seen);
    assert.equal(seen.refused, Math.floor(31 / 3));
    assert.equal(refused, seen.refused - (r.stdout.length > 0 ? 0 : 1));
    assert.equal(r.root.books.stats().failures.eTaskCritical, seen.refused);
    assertAgentAgrees(r.root);
  });

  test('a commit limit refuses at its level; a level rule by function makes a call eProcessCritical', async () => {
    const limit = 64 * 1024 * 1024;
    const r = await run(
      program('calls'),
      ['critical'],
      policy({
        host: { ...DEFAULT_POLICY, commitLimit: limit, processCriticalWaitMs: 100 },
        levelRules: [{ function: 'critical_alloc', level: 'eProcessCritical' }],
        sampleBytes: 0,
      }),
    );
    assert.equal(r.result.status, 4, r.stderr);
    const got = Number(/got (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(got >= 60 && got <= 64, `got ${got} MiB under a 64 MiB limit`);
    const f = r.root.books.stats().failures;
    assert.equal(f.eProcessCritical, 1, 'the refused call was eProcessCritical');
    assert.equal(
      r.root.books.hostState().state,
      'unavailable',
      'a timed-out eProcessCritical call makes the host unavailable',
    );
  });

  test('python3 raises MemoryError under a commit budget, and the refusal is in the books by level', async () => {
    const r = await run(
      '/usr/bin/python3',
      ['-c', 'x = [bytearray(1000) for i in range(200000)]'],
      policy({ host: { ...DEFAULT_POLICY, commitLimit: 40 * 1024 * 1024 } }),
    );
    assert.notEqual(r.result.status, 0);
    assert.match(r.stderr, /MemoryError/);
    const failures = r.root.books.stats().failures;
    assert.ok(failures.eTaskCritical >= 1, JSON.stringify(failures));
    assert.ok(r.root.books.peaks.committed + r.root.books.peaks.heap <= 40 * 1024 * 1024);
  });

  test(
    'sqlite3 reports out of memory and exits non-zero under a fault rule',
    { skip: !existsSync('/usr/bin/sqlite3') && 'sqlite3 is not installed (.ci/run installs it)' },
    async () => {
      const sql =
        'create table t(x); with recursive c(i) as (select 1 union all select i+1 from c where i < 20000) insert into t select randomblob(500) from c; select count(*) from t;';
      const r = await run(
        '/usr/bin/sqlite3',
        [':memory:', sql],
        policy({ faults: [{ op: ['Alloc'], afterBytes: 4 * 1024 * 1024 }] }),
      );
      assert.notEqual(r.result.status, 0);
      assert.match(r.stderr, /out of memory/i);
      const refused = Object.values(r.root.books.calls).reduce((n, c) => n + c.refused, 0);
      assert.ok(refused >= 1);
    },
  );

  test("exit status: the program's own, 128 + signal when killed; what cannot be launched is refused with its reason", async () => {
    const r = await run('/bin/sh', ['-c', 'exit 7'], policy());
    assert.equal(r.result.status, 7);
    const k = await run('/bin/sh', ['-c', 'kill -9 $$'], policy());
    assert.equal(k.result.status, 128 + 9);
    await assert.rejects(
      Launch.start({ program: 'no-such-program-hostmem', args: [] }, { agentPath: AGENT, policy: policy() }),
      (e) => e instanceof LaunchError && e.code === 'not-found',
    );
    const staticProgram = program('calls', ['-static']);
    await assert.rejects(
      Launch.start({ program: staticProgram, args: [] }, { agentPath: AGENT, policy: policy() }),
      (e) => e instanceof LaunchError && e.code === 'static' && /statically linked/.test(e.message),
    );
  });

  test(
    'a set-user-ID program of another user is refused (the loader would ignore the agent)',
    { skip: process.getuid?.() !== 0 && 'needs root to give a file to another user' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hostmem-setuid-'));
      try {
        const copy = join(dir, 'calls');
        copyFileSync(program('calls'), copy);
        spawnSync('chown', ['nobody', copy]);
        chmodSync(copy, 0o4755);
        await assert.rejects(
          Launch.start({ program: copy, args: [] }, { agentPath: AGENT, policy: policy() }),
          (e) => e instanceof LaunchError && e.code === 'setuid',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test("fork: followed, the child is its own traced process starting from its parent's books; dropped, untraced", async () => {
    const followed = await run(program('calls'), ['fork'], policy({ followForks: true, sampleBytes: 0 }));
    assert.equal(followed.result.status, 0, followed.stderr);
    assert.equal(followed.result.processes.length, 2);
    const child = followed.result.processes.find((p) => p.pid !== followed.root.pid)!;
    assert.equal(child.parent?.pid, followed.root.pid);
    const made = child.books.calls.malloc;
    assert.ok(made && made.calls >= 1, "the child's malloc(12345) is seen");
    assert.ok(child.books.heapAllocations >= 1);
    const dropped = await run(program('calls'), ['fork'], policy({ followForks: false }));
    assert.equal(dropped.result.processes.length, 1);
    assert.match(dropped.stdout, /child exited 0/);
  });

  test("fork + exec: the exec'd child is traced with --follow-forks, its known calls seen", async () => {
    const r = await run(program('calls'), ['exec'], policy({ followForks: true, sampleBytes: 0 }));
    assert.equal(r.result.status, 0, r.stderr);
    const execd = r.result.processes.filter((p) => p.books.calls.mremap?.calls === 1);
    assert.equal(execd.length, 1, "the exec'd image did the known calls once");
  });

  test('8 threads allocating and freeing at full speed: no event lost or repeated, no deadlock', async () => {
    const r = await run(program('calls'), ['threads', '8', '3'], policy());
    assert.equal(r.result.status, 0, r.stderr);
    const pairs = Number(/pairs (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(pairs > 10000, `only ${pairs} pairs`);
    const books = r.root.books;
    assert.equal(r.root.decoder.lost, 0);
    assert.equal(r.root.decoder.abandoned, 0);
    // Every pair the program counted is in the books, plus the few calls of its own set-up (stdio, threads).
    const mallocs = books.calls.malloc?.calls ?? 0;
    const frees = books.calls.free?.calls ?? 0;
    assert.ok(mallocs >= pairs && mallocs - pairs < 100, `malloc ${mallocs} vs ${pairs} pairs`);
    assert.ok(frees >= pairs && frees - pairs < 100, `free ${frees} vs ${pairs} pairs`);
    assertAgentAgrees(r.root);
  });

  test('killed with -9 mid-run: the session keeps whole lines and its report rebuilds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostmem-kill-'));
    try {
      const session = join(dir, 's.jsonl');
      const child = spawn(
        process.execPath,
        [CLI, 'launch', '--quiet', '--record', session, '--', program('calls'), 'sleep', '30'],
        { stdio: 'ignore' },
      );
      const pid = await childOf(child.pid!);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(pid > 0, 'the program runs');
      process.kill(pid, 'SIGKILL');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 137);
      const lines = readFileSync(session, 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      for (const l of lines) JSON.parse(l);
      const report = spawnSync(process.execPath, [CLI, 'report', session, '--out', join(dir, 'r.json')], {
        encoding: 'utf8',
      });
      assert.equal(report.status, 0, report.stderr);
      const model = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { summary: { calls: number } };
      assert.ok(model.summary.calls > 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('hostmem killed mid-run: the program finishes untouched and says so once on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostmem-gone-'));
    try {
      const out = join(dir, 'out.txt');
      const err = join(dir, 'err.txt');
      writeFileSync(out, '');
      // hostmem's stdio is the program's: files, so that they outlive hostmem.
      const child = spawn(process.execPath, [CLI, 'launch', '--quiet', '--', program('calls'), 'sleep', '3'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const pid = await childOf(child.pid!);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(pid > 0);
      child.kill('SIGKILL');
      // The program goes on: wait for it to end by itself.
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(
        !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'),
        'the program finished',
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.match(stdout, /slept/, 'the program ran to its end');
      const said = stderr.match(/hostmem agent: .*untouched/g) ?? [];
      assert.equal(said.length, 1, stderr);
      void out;
      void err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a recorded launch reports: its totals are the books', its refusal grouped by level", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostmem-report-'));
    try {
      const session = join(dir, 's.jsonl');
      const report = join(dir, 'r.json');
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          'launch',
          '--record',
          session,
          '--report',
          report,
          '--sample-bytes',
          '0',
          '--fault',
          'op=malloc,everyNth=5',
          '--',
          program('calls'),
          'leak',
          '50',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /top call sites by live bytes/);
      assert.match(r.stderr, /leak_here/);
      const model = JSON.parse(readFileSync(report, 'utf8')) as {
        summary: { current: { heap: number }; failures: { byLevel: Record<string, number> } };
        allocations: unknown[];
        launch: {
          exitCode: number;
          topByLive: { site: string; live: number; liveBlocks: number }[];
          refusals: { level: string; reason: string; frames: string[] }[];
          processes: { calls: Record<string, { calls: number; refused: number }> }[];
        };
      };
      // The report validates against the schema, and its launch section holds what the program did.
      const validate = new Ajv2020({ allErrors: true, strict: true }).compile(
        JSON.parse(readFileSync(join(process.cwd(), 'docs', 'report.schema.json'), 'utf8')) as object,
      );
      assert.ok(validate(model), JSON.stringify(validate.errors?.slice(0, 3)));
      assert.equal(model.launch.exitCode, 0);
      assert.match(model.launch.topByLive[0]!.site, /!leak_here\+/);
      assert.equal(model.launch.topByLive[0]!.live, 40 * 4096, 'every stack taken (--sample-bytes 0): exact');
      assert.equal(model.launch.topByLive[0]!.liveBlocks, 40);
      assert.equal(model.launch.refusals.length, 10);
      assert.ok(
        model.launch.refusals.every((r) => r.reason === 'injected' && r.frames.some((f) => f.includes('leak_here'))),
      );
      assert.equal(model.launch.processes[0]!.calls.malloc!.refused, 10);
      // 51 mallocs (stdio's buffer first), every fifth refused: 10 refusals at eTaskCritical.
      assert.equal(model.summary.failures.byLevel.eTaskCritical, 10);
      const leaked = Number(/leaked (\d+) of 50/.exec(r.stdout)?.[1]);
      assert.equal(leaked, 40);
      assert.ok(model.summary.current.heap >= 40 * 4096);
      // replay applies the recorded calls to fresh books and checks them against the agent's own counters.
      const replay = spawnSync(process.execPath, [CLI, 'replay', session], { encoding: 'utf8' });
      assert.equal(replay.status, 0, replay.stdout + replay.stderr);
      assert.match(replay.stdout, /the books agree with the agent's own counters/);
      // A recorded call changed (a free's usable size) no longer agrees: exit 1, and the figures that differ.
      const lines = readFileSync(session, 'utf8').split('\n');
      const at = lines.findIndex((l) => l.includes('"type":"launch-calls"') && l.includes(',['));
      assert.ok(at > 0);
      lines[at] = lines[at]!.replace(
        /\[(\d+),16,(\d+),([\d.]+),(\d+),0,0,(\d+),(\d+),(\d+)/,
        '[$1,16,$2,$3,$4,0,0,$5,$6,999$7',
      );
      writeFileSync(session, lines.join('\n'));
      const changed = spawnSync(process.execPath, [CLI, 'replay', session], { encoding: 'utf8' });
      assert.equal(changed.status, 1, changed.stdout);
      assert.match(changed.stdout, /heap: books \d+, agent \d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the agent outside hostmem: no socket in the environment, the program runs untraced and silent', () => {
    const r = spawnSync(program('calls'), ['faults', '5'], {
      env: { ...process.env, LD_PRELOAD: AGENT },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /refused 0 of 5/);
  });

  test("OP codes: a refusal by the OS is recorded as the OS's, not as the policy's", async () => {
    // mmap of 2^46 bytes: the kernel refuses (ENOMEM) by itself.
    const r = await run(
      '/usr/bin/python3',
      ['-c', 'import mmap\ntry:\n  mmap.mmap(-1, 1 << 46)\nexcept OSError as e: print("refused", e.errno)'],
      policy(),
    );
    assert.match(r.stdout, /refused 12/);
    const mmap = r.root.books.calls.mmap;
    assert.ok(mmap && mmap.failed >= 1);
    void OP;
    void RESULT;
  });

  test('usage errors and files that are not policies exit 125 with one line saying what is wrong', () => {
    const cases: [string[], RegExp][] = [
      [['launch'], /no program given/],
      [['launch', '--fault', 'op=fopen,everyNth=1', '--', '/bin/true'], /--fault .*op must name allocating calls/],
      [['launch', '--policy', '/nonexistent/p.json', '--', '/bin/true'], /--policy/],
      [['launch', '--commit-limit', '0', '--', '/bin/true'], /--commit-limit: expected a limit > 0/],
      [
        ['launch', '--report', 'x.txt', '--', '/bin/true'],
        /--report x\.txt: expected a \.html, \.json, \.csv or \.pdf file/,
      ],
      [['launch', '--default-level', 'urgent', '--', '/bin/true'], /--default-level/],
      [['launch', '--', '/nonexistent/program'], /no such program/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    }
  });

  test('a hostile peer on the agent socket is cut off; the program and its own connection go on', async () => {
    const { Socket } = await import('node:net');
    const launch = await Launch.start(
      { program: program('calls'), args: ['sleep', '2'] },
      { agentPath: AGENT, stdio: 'pipe', policy: policy() },
    );
    const environ = readFileSync(`/proc/${launch.pid}/environ`, 'utf8').split('\0');
    const path = environ.find((e) => e.startsWith('HOSTMEM_AGENT_SOCKET='))!.slice('HOSTMEM_AGENT_SOCKET='.length);
    for (const garbage of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.alloc(64, 0xff),
      Buffer.from([16, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
    ]) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = new Socket();
        s.on('error', () => resolve(true));
        s.on('close', () => resolve(true));
        s.connect(path, () => s.write(garbage));
        setTimeout(() => resolve(false), 5000);
      });
      assert.ok(closed, 'hostmem closed the connection');
    }
    const result = await launch.done();
    assert.equal(result.status, 0);
    assert.equal(result.processes.length, 1, 'only the program was traced');
    assert.ok((result.processes[0]!.books.calls.malloc?.calls ?? 0) > 100);
  });
});
