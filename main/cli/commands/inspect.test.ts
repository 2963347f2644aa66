/**
 * `hostmem ps` and `hostmem inspect` against real processes: the JSON output checked against its schema and against
 * procps's `pmap -X` (a peer that reads the same /proc), the live watch with its record read back, and the errors
 * (no such process, a name several processes have, access denied, usage).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020';
import { createProcessInspector } from '../../../native';
import { summarize } from '../../inspect';
import { ProcessWalkReader } from '../../telemetry/process-records';
import { readSession } from '../../telemetry/session-reader';
import { main } from '../main';
import { inspectJsonSchemaDocument, walkJsonSchema, watchJsonSchema } from './inspect-json';
import type { CliIo } from './io';

function capture(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  return {
    io: { stdin: Readable.from([]), stdout: sink((t) => (out += t)), stderr: sink((t) => (err += t)) },
    stdout: () => out,
    stderr: () => err,
  };
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = capture();
  const code = await main(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

const inspector = createProcessInspector();
const scratch = mkdtempSync(join(tmpdir(), 'hostmem-inspect-cli-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A Node child that only waits (the same executable as this test: node, or node.exe under Wine). */
async function idleChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("ready")'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return child;
}

const SCHEMA_FILE = join(process.cwd(), 'docs', 'process-walk.schema.json');

describe('hostmem inspect --json', () => {
  test('docs/process-walk.schema.json is the schema the code validates with', () => {
    const generated = inspectJsonSchemaDocument();
    if (process.env.HOSTMEM_WRITE_SCHEMA === '1') writeFileSync(SCHEMA_FILE, JSON.stringify(generated, null, 2) + '\n');
    assert.deepEqual(
      JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')),
      generated,
      'docs/process-walk.schema.json is stale: regenerate it with HOSTMEM_WRITE_SCHEMA=1 and this test (then prettier)',
    );
  });

  test('prints the whole walk of a real process, valid against its schema, agreeing with the summary', async () => {
    const child = await idleChild();
    const r = await run(['inspect', String(child.pid), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as unknown;
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
    assert.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 3)));
    const parsed = walkJsonSchema.parse(doc);
    assert.equal(parsed.pid, child.pid);
    assert.equal(parsed.backend, inspector.backend);
    assert.equal(parsed.process?.pid, child.pid);
    // The summary is the summary of the regions printed beside it.
    const regions = parsed.regions.map((x) => ({ ...x, baseAddress: x.base, type: x.type ?? undefined }));
    assert.deepEqual(summarize(regions), parsed.summary);
  });

  test('agrees with pmap -X on every mapping of this test runner: address, size, Rss and file', async (t) => {
    if (inspector.backend !== 'posix' || !existsSync('/usr/bin/pmap')) {
      t.skip('pmap (procps) reads Linux /proc: on Windows the walk is checked against a child in main/inspect');
      return;
    }
    // pmap between two walks: the runner itself keeps mapping (V8, the pmap child's pipes), so a mapping counts
    // when both walks saw it unchanged (address, size); its Rss may move, never outside what the walks saw. V8's
    // collector also gives pages back (Rss down and up again between the reads): a comparison with differences is
    // made again, up to four times, and the last one's differences are what the test reports.
    const compare = async (): Promise<{ differences: string[]; compared: number; rows: number }> => {
      const before = await run(['inspect', String(process.pid), '--json']);
      const pmapText = execFileSync('/usr/bin/pmap', ['-X', String(process.pid)], { encoding: 'utf8' });
      const afterRun = await run(['inspect', String(process.pid), '--json']);
      const regions = (text: string) =>
        new Map(
          walkJsonSchema
            .parse(JSON.parse(text))
            .regions.filter((x) => x.state !== 'MEM_FREE')
            .map((x) => [x.base, x] as const),
        );
      const a = regions(before.stdout);
      const b = regions(afterRun.stdout);
      const lines = pmapText.split('\n');
      const head = lines[1]!.trim().split(/\s+/);
      const col = (name: string): number => head.indexOf(name);
      const rows = lines
        .slice(2)
        .map((l) => l.trim())
        .filter((l) => /^[0-9a-f]+ [r-][w-][x-][ps] /.test(l)) // not the totals
        .map((l) => {
          const f = l.split(/\s+/);
          return {
            address: Number.parseInt(f[col('Address')]!, 16),
            size: Number(f[col('Size')]) * 1024,
            rss: Number(f[col('Rss')]) * 1024,
            mapping: f.slice(head.length - 1).join(' '),
          };
        });
      const differences: string[] = [];
      let compared = 0;
      for (const p of rows) {
        const x = a.get(p.address);
        const y = b.get(p.address);
        const at = `0x${p.address.toString(16)}`;
        if (x === undefined && y === undefined) {
          differences.push(`${at}: address (pmap has a mapping there, neither walk does)`);
          continue;
        }
        if (x === undefined || y === undefined || x.size !== y.size) continue; // changed between the reads
        compared++;
        if (x.size !== p.size) differences.push(`${at}: size (hostmem ${x.size}, pmap ${p.size})`);
        const lo = Math.min(x.resident ?? -1, y.resident ?? -1);
        const hi = Math.max(x.resident ?? -1, y.resident ?? -1);
        if (p.rss < lo || p.rss > hi) differences.push(`${at}: Rss (hostmem ${lo}..${hi}, pmap ${p.rss})`);
        // A thread stack's label is hostmem's (found from the thread's stack pointer), not the kernel's.
        const name = x.file ?? (x.label?.startsWith('stack of thread ') ? null : x.label) ?? '';
        const base = name.slice(name.lastIndexOf('/') + 1);
        // pmap prints a file's base name, the kernel's [labels] as they are, and nothing for anonymous memory.
        if (base !== p.mapping)
          differences.push(`${at}: file (hostmem ${JSON.stringify(name)}, pmap ${JSON.stringify(p.mapping)})`);
      }
      // Every mapping both walks saw unchanged is one pmap saw too.
      const seen = new Set(rows.map((p) => p.address));
      for (const [base, x] of a)
        if (b.get(base)?.size === x.size && !seen.has(base))
          differences.push(`0x${base.toString(16)}: address (both walks have a mapping there, pmap does not)`);
      return { differences, compared, rows: rows.length };
    };
    let result = await compare();
    for (let attempt = 2; attempt <= 4 && result.differences.length > 0; attempt++) result = await compare();
    assert.deepEqual(result.differences, [], `hostmem and pmap -X differ:\n${result.differences.join('\n')}`);
    // The runner's layout moves a little between reads, not much: nearly every mapping was compared.
    assert.ok(result.compared >= result.rows * 0.9, `only ${result.compared} of ${result.rows} mappings were stable`);
  });
});

describe('hostmem inspect --watch', () => {
  test('--watch --count --json --record: valid lines, and the session rebuilds the same walks', async () => {
    const child = await idleChild();
    const file = join(scratch, 'watch.jsonl');
    const r = await run(['inspect', String(child.pid), '--watch', '20ms', '--count', '3', '--json', '--record', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => watchJsonSchema.parse(JSON.parse(l)));
    assert.deepEqual(
      lines.map((l) => (l.event === 'walk' ? l.seq : 0)),
      [1, 2, 3],
    );
    assert.equal(lines[0]!.event === 'walk' && lines[0]!.changes, null);
    const session = await readSession(file);
    assert.equal(session.header.backend, inspector.backend);
    assert.equal(session.torn, false);
    assert.deepEqual(
      session.lines.map((l) => l.type),
      ['process-walk', 'process-delta', 'process-delta'],
    );
    const reader = new ProcessWalkReader();
    const rebuilt = session.lines.map((l) => reader.accept(l)).filter((w) => w !== undefined);
    assert.equal(rebuilt.length, 3);
    rebuilt.forEach((w, i) => {
      const line = lines[i]!;
      assert.ok(line.event === 'walk');
      assert.equal(w.pid, child.pid);
      assert.equal(w.takenAt, line.t);
      // The session rebuilds exactly the walk that was summarised on screen.
      assert.deepEqual(summarize(w), line.summary);
    });
    // And replay reads it (no host calls in it).
    const replay = await run(['replay', file, '--quiet']);
    assert.equal(replay.code, 0, replay.stderr);
  });

  test('the watched process exits: says when, keeps the record, exits 0', async () => {
    const child = await idleChild();
    const file = join(scratch, 'exit.jsonl');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    setTimeout(() => child.kill('SIGKILL'), 300);
    const r = await run(['inspect', String(child.pid), '--watch', '50ms', '--record', file]);
    await exited;
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^hostmem inspect: process ${child.pid} exited at \\d\\d:\\d\\d:\\d\\d \\(after \\d+ walks?\\); the walks are kept in `,
      ),
    );
    assert.match(r.stdout, /walk 1: committed/);
    const session = await readSession(file);
    const kinds = session.lines.map((l) => l.type);
    assert.equal(kinds[0], 'process-walk');
    assert.equal(kinds.at(-1), 'process-exit');
  });
});

describe('hostmem inspect and ps: errors and usage', () => {
  test('no such process: one line, exit 1', async () => {
    const byPid = await run(['inspect', String(0x7ffffff0)]);
    assert.equal(byPid.code, 1);
    assert.equal(byPid.stderr, `hostmem inspect: no process with id ${0x7ffffff0} (see 'hostmem ps')\n`);
    const byName = await run(['inspect', 'hostmem-no-such-program']);
    assert.equal(byName.code, 1);
    assert.equal(byName.stderr, `hostmem inspect: no process named "hostmem-no-such-program" (see 'hostmem ps')\n`);
    assert.equal(byName.stdout, '');
  });

  test('a name several processes have: they are listed (never hostmem itself), nothing is walked, exit 1', async () => {
    const child = await idleChild();
    const other = await idleChild();
    const me = await inspector.processInfo(child.pid ?? 0);
    assert.ok(me.ok);
    const r = await run(['inspect', me.value.name]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /processes are named .*; give one PID:\n/);
    assert.match(r.stderr, new RegExp(`\\n  ${child.pid}  `));
    assert.match(r.stderr, new RegExp(`\\n  ${other.pid}  `));
    assert.doesNotMatch(r.stderr, new RegExp(`\\n  ${process.pid}  `), 'hostmem itself is never a match');
    assert.equal(r.stdout, '');
  });

  test('access denied: what happened and what would allow it, no stack trace', async (t) => {
    const probe = await inspector.walkProcess(1);
    if (probe.ok || probe.error.code !== 'access-denied') {
      t.skip('process 1 is readable here or absent (Wine): the mapping is unit-tested in native/');
      return;
    }
    const r = await run(['inspect', '1']);
    assert.equal(r.code, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^hostmem inspect: access denied: cannot read the memory map of process 1$/);
    assert.match(lines[1]!, /^ {2}run hostmem as the same user as the process, or as /);
  });

  test('usage errors exit 2 and say what is wrong', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['inspect'], /expected one PID or NAME/],
      [['inspect', '1', '2'], /expected one PID or NAME/],
      [['inspect', '1', '--watch', 'soon'], /--watch: expected an interval/],
      [['inspect', '1', '--watch', '1ms'], /at least 10ms/],
      [['inspect', '1', '--count', '2'], /--count needs --watch/],
      [['inspect', '1', '--top', '0'], /--top: expected a whole number/],
      [['inspect', '1', '--regions', '--top', '3'], /leave out --top/],
      [['inspect', '1', '--record', scratch], /is a folder/],
      [['inspect', '1', '--bogus'], /Unknown option/],
      [['ps', '--sort', 'size'], /--sort: expected one of committed, rss, name, pid/],
      [['ps', 'x'], /Unexpected argument|positional/i],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.equal(r.stdout, '');
    }
    const existing = join(scratch, 'exists.jsonl');
    writeFileSync(existing, 'keep me');
    const r = await run(['inspect', '1', '--record', existing]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists \(add --force to replace it\)/);
    assert.equal(readFileSync(existing, 'utf8'), 'keep me');
  });

  test('ps --json lists a child, never hostmem itself; --filter and --sort do what they say', async () => {
    const child = await idleChild();
    const pid = child.pid ?? 0;
    const all = await run(['ps', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const doc = JSON.parse(all.stdout) as {
      format: string;
      processes: Array<{ pid: number; privateBytes: number | null; privateResident: number | null }>;
    };
    assert.equal(doc.format, 'hostmem.process-list/1');
    assert.ok(doc.processes.some((p) => p.pid === pid));
    assert.ok(!doc.processes.some((p) => p.pid === process.pid), 'hostmem lists itself');
    const mine = await run(['ps', '--json', '--filter', String(pid)]);
    const filtered = (JSON.parse(mine.stdout) as typeof doc).processes;
    assert.ok(filtered.length >= 1 && filtered.some((p) => p.pid === pid));
    assert.ok(filtered.length < doc.processes.length);
    const sorted = (JSON.parse((await run(['ps', '--json', '--sort', 'committed'])).stdout) as typeof doc).processes;
    const committed = sorted.map((p) => p.privateBytes ?? -1);
    assert.deepEqual(
      committed,
      [...committed].sort((x, y) => (y ?? 0) - (x ?? 0)),
    );
    const text = await run(['ps', '--filter', String(pid)]);
    assert.match(text.stdout, /^ *PID +PPID +USER +COMMITTED +RSS +PRIVATE +NAME\n/);
    assert.match(text.stdout, new RegExp(`\\n *${pid} `));
  });

  test('inspect prints the summary by type and the largest regions', async () => {
    const r = await run(['inspect', String(process.pid), '--top', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^process ${process.pid} `));
    for (const title of ['Image', 'Mapped file', 'Shareable', 'Heap', 'Stack', 'Private data', 'Free', 'Total'])
      assert.match(r.stdout, new RegExp(`\\n${title} +\\d`));
    const largest = r.stdout.split('Largest regions:\n')[1]!.trim().split('\n');
    assert.equal(largest.length, 1 + 3);
  });
});
