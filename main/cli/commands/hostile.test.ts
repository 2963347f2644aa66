/**
 * Hostile files: real recorded sessions (recorded by the built `hostmem run`), damaged at random — flipped bytes, cut
 * lines, swapped lines, fields removed, retyped or set to null, huge numbers — then read by `hostmem report` and
 * `hostmem replay` (their command functions, in this process, so an exception is seen as one). For every damaged
 * file: exit 0 or 2 for report (0, 1 or 2 for replay: 1 is "an HRESULT differs", which a skipped line can cause), a
 * `FILE:LINE: …` message for what was skipped, never an exception, never a hang, and every undamaged call still
 * counted. The same for `hostmem exec` input. And a session killed with -9 mid-run reports allocations that agree
 * with its summary.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { createHost, DEFAULT_POLICY } from '../../host';
import { RegionRebuilder } from '../../reports/model-rebuild';
import { readSessionFile } from '../../telemetry/session-reader';
import { isValidSnapshot, matchCall, matchOkCallTime, SESSION_RECORD_KINDS } from '../../telemetry/session-records';
import { readLines } from '../exec/lines';
import { runExec } from '../exec/run';
import type { CliIo } from './io';
import { replayCommand } from './replay';
import { maxLineOption } from './session-output';
import { parseExecArgs } from './exec';
import { reportCommand } from './report';

const CLI = join(process.cwd(), 'out', 'cli', 'hostmem.js');
const dir = mkdtempSync(join(tmpdir(), 'hostmem-hostile-'));
const sessions: string[] = [];
let sessionLines: string[][] = [];

/** No waiting for memory in these tests: a process-critical request over the limit fails at once, when replayed too. */
const policyFile = join(dir, 'policy.json');
writeFileSync(policyFile, JSON.stringify({ commitLimit: '8MiB', processCriticalWaitMs: 0 }));

function record(name: string, args: readonly string[]): string {
  const path = join(dir, name);
  const err = openSync(join(dir, `${name}.err`), 'w');
  const r = spawnSync(process.execPath, [CLI, 'run', ...args, '--record', path, '--quiet'], {
    stdio: ['ignore', 'ignore', err],
    timeout: 120_000,
  });
  closeSync(err);
  assert.equal(r.status, 0, readFileSync(join(dir, `${name}.err`), 'utf8'));
  return path;
}

before(() => {
  sessions.push(
    record('pressure.session', ['--scenario', 'pressure', '--seed', '3', '--max-calls', '400', '--policy', policyFile]),
    record('leak.session', ['--scenario', 'leak', '--seed', '5', '--max-calls', '300', '--rate', '0']),
  );
  sessionLines = sessions.map((s) => readFileSync(s, 'utf8').split('\n').slice(0, -1));
});

function captureIo(): { io: CliIo; out: () => string; err: () => string } {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        into.push(String(chunk));
        callback();
      },
    });
  return {
    io: { stdin: Readable.from([]), stdout: sink(chunks.out), stderr: sink(chunks.err) },
    out: () => chunks.out.join(''),
    err: () => chunks.err.join(''),
  };
}

/** Fails instead of hanging. */
async function withinMinute<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within 60 s`)), 60_000);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------- damage

type Damage =
  | { kind: 'flip'; line: number; at: number; bit: number }
  | { kind: 'cut'; line: number; at: number }
  | { kind: 'swap'; line: number; other: number }
  | { kind: 'remove' | 'null'; line: number; pick: number }
  | { kind: 'retype'; line: number; pick: number; value: unknown }
  | { kind: 'huge'; line: number; pick: number; value: number };

/** Line picks: the header one time in ten, any line otherwise. */
const lineArb = fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.nat(), weight: 9 });

const HUGE = [1e300, -1e300, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, 1e21];

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), line: lineArb, at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), line: lineArb, at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), line: lineArb, other: fc.nat() }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'null' as const), line: lineArb, pick: fc.nat() }),
  fc.record({
    kind: fc.constant('retype' as const),
    line: lineArb,
    pick: fc.nat(),
    value: fc.constantFrom<unknown>('x', [], {}, true, '0x10', -1, 0.5),
  }),
  fc.record({ kind: fc.constant('huge' as const), line: lineArb, pick: fc.nat(), value: fc.constantFrom(...HUGE) }),
);

/** Every [container, key] of a JSON value, depth first (the value itself excluded). */
function slots(value: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, k]);
      slots(v, out);
    }
  }
  return out;
}

/**
 * Apply damages to a copy of `lines`; returns the lines and the original indexes whose text changed (a swapped line
 * keeps its identity: what is damaged later at its new place is still that line). A header moved away from line 1
 * counts as damaged.
 */
function damage(lines: readonly string[], damages: readonly Damage[]): { lines: string[]; touched: Set<number> } {
  const out = [...lines];
  const origin = out.map((_, i) => i);
  const touched = new Set<number>();
  for (const d of damages) {
    const i = d.line % out.length;
    const before = out[i]!;
    if (d.kind === 'flip') {
      const bytes = Buffer.from(before, 'utf8');
      if (bytes.length === 0) continue;
      bytes[d.at % bytes.length]! ^= 1 << d.bit;
      out[i] = bytes.toString('latin1');
    } else if (d.kind === 'cut') {
      out[i] = before.slice(0, d.at % Math.max(1, before.length));
    } else if (d.kind === 'swap') {
      const j = d.other % out.length;
      [out[i], out[j]] = [out[j]!, out[i]!];
      [origin[i], origin[j]] = [origin[j]!, origin[i]!];
      continue;
    } else {
      let value: unknown;
      try {
        value = JSON.parse(before);
      } catch {
        continue;
      }
      const all = slots(value);
      if (all.length === 0) continue;
      const [container, key] = all[d.pick % all.length]!;
      const c = container as Record<string | number, unknown>;
      if (d.kind === 'remove') {
        if (Array.isArray(container)) container.splice(key as number, 1);
        else delete c[key];
      } else if (d.kind === 'null') c[key] = null;
      else if (d.kind === 'retype' || d.kind === 'huge') c[key] = d.value;
      out[i] = JSON.stringify(value);
    }
    if (out[i] !== before) touched.add(origin[i]!);
  }
  if (origin[0] !== 0) touched.add(0);
  return { lines: out, touched };
}

/** Call lines of the original untouched by the damage (wherever they moved). */
function undamagedCalls(original: readonly string[], touched: ReadonlySet<number>): number {
  let n = 0;
  original.forEach((line, i) => {
    if (i > 0 && !touched.has(i) && line.startsWith('{"type":"call"')) n++;
  });
  return n;
}

interface JsonReport {
  source: { damaged: number; damage: { line: number; message: string }[]; allocationsFrom: string };
  summary: { calls: number; current: { reserved: number; committed: number; regions: number } };
  allocations: { size: number; committed: number }[];
}

let fileNo = 0;
/** What the random damage led to, so the property is known to have met each case. */
const seen = { runs: 0, notSession: 0, damaged: 0, rebuilt: 0, differing: 0 };

test('property: damaged sessions — report and replay exit 0/2 (replay 1: a differing HRESULT), FILE:LINE messages, no exception, no hang, every undamaged call counted', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat(),
      fc.array(damageArb, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      async (which, damages, finalNewline) => {
        const original = sessionLines[which % sessionLines.length]!;
        const { lines, touched } = damage(original, damages);
        const file = join(dir, `damaged-${++fileNo}.session`);
        writeFileSync(file, lines.join('\n') + (finalNewline ? '\n' : ''), 'latin1');
        const expectedCalls = undamagedCalls(original, touched);
        const headerIntact = !touched.has(0);

        const json = join(dir, `damaged-${fileNo}.json`);
        seen.runs++;
        const rep = captureIo();
        const reportStatus = await withinMinute('report', reportCommand([file, '--out', json], rep.io));
        const fileLine = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `);
        assert.ok(reportStatus === 0 || reportStatus === 2, `report exit ${reportStatus}: ${rep.err()}`);
        if (reportStatus === 2) {
          seen.notSession++;
          assert.match(rep.err(), fileLine, 'a failing report names FILE:LINE');
          assert.ok(!headerIntact || /:1: /.test(rep.err()), rep.err());
        } else {
          const model = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
          assert.ok(
            model.summary.calls >= expectedCalls,
            `${model.summary.calls} calls counted, ${expectedCalls} intact`,
          );
          for (const d of model.source.damage) assert.ok(rep.err().includes(`${file}:${d.line}: `), rep.err());
          if (model.source.damaged > 0) {
            seen.damaged++;
            assert.match(rep.err(), /damaged lines? skipped/);
          }
          if (model.source.allocationsFrom === 'calls') seen.rebuilt++;
          // The allocation list agrees with the summary, whichever source it came from.
          assert.equal(model.allocations.length, model.summary.current.regions);
          assert.equal(
            model.allocations.reduce((s, a) => s + a.size, 0),
            model.summary.current.reserved,
          );
          const strict = captureIo();
          const strictStatus = await withinMinute(
            'report --strict',
            reportCommand([file, '--out', join(dir, `strict-${fileNo}.json`), '--strict'], strict.io),
          );
          assert.equal(strictStatus, model.source.damaged > 0 ? 2 : 0, strict.err());
        }

        const rp = captureIo();
        const replayStatus = await withinMinute('replay', replayCommand([file], rp.io));
        assert.ok([0, 1, 2].includes(replayStatus), `replay exit ${replayStatus}`);
        if (replayStatus === 1) seen.differing++;
        if (replayStatus === 2) {
          assert.match(rp.err(), fileLine);
          assert.equal(reportStatus, 2, 'replay and report agree on what is not a session');
        } else {
          const m = /^replayed (\d+) calls/m.exec(rp.out());
          assert.ok(m, rp.out());
          assert.ok(Number(m[1]) >= expectedCalls, `replay counted ${m[1]}, ${expectedCalls} intact`);
          assert.equal(reportStatus, 0, 'replay and report agree on what is a session');
          if (replayStatus === 1) assert.match(rp.out(), fileLine, 'each difference names FILE:LINE');
          // The same damage, seen by both readers.
          const model = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
          for (const d of model.source.damage) assert.ok(rp.err().includes(`${file}:${d.line}: `), rp.err());
        }
      },
    ),
    {
      numRuns: Number(process.env.HOSTMEM_HOSTILE_RUNS ?? 100),
      includeErrorInReport: true,
      // To replay a failure: HOSTMEM_HOSTILE_SEED=<seed> HOSTMEM_HOSTILE_PATH=<path> (fast-check prints both).
      ...(process.env.HOSTMEM_HOSTILE_SEED ? { seed: Number(process.env.HOSTMEM_HOSTILE_SEED) } : {}),
      ...(process.env.HOSTMEM_HOSTILE_PATH ? { path: process.env.HOSTMEM_HOSTILE_PATH } : {}),
    },
  );
  // Every kind of outcome was met: damaged lines skipped, a header that is no longer a session, an end snapshot
  // damaged (allocations rebuilt from the calls).
  assert.ok(seen.damaged > 0 && seen.notSession > 0 && seen.rebuilt > 0, JSON.stringify(seen));
});

test('the recorder’s call lines take the fast path and give exactly the schema’s record; damaged ones never pass it unless the schema accepts them too', async () => {
  let fast = 0;
  let okFast = 0;
  for (const lines of sessionLines) {
    for (const line of lines.slice(1)) {
      const record = matchCall(line);
      const okTime = matchOkCallTime(line);
      if (record === undefined) {
        assert.equal(okTime, undefined);
        continue;
      }
      fast++;
      assert.deepEqual(record, SESSION_RECORD_KINDS.call.parse(JSON.parse(line)));
      assert.equal(okTime, record.result.hr === '0x00000000' ? record.t : undefined, line);
      if (okTime !== undefined) okFast++;
    }
  }
  assert.ok(fast > 100 && okFast > 100 && okFast < fast, `${fast} lines took the fast path, ${okFast} as times`);
  await fc.assert(
    fc.property(fc.nat(), fc.array(damageArb, { minLength: 1, maxLength: 3 }), (which, damages) => {
      const { lines } = damage(sessionLines[which % sessionLines.length]!, damages);
      for (const line of lines) {
        const record = matchCall(line);
        const okTime = matchOkCallTime(line);
        if (record === undefined) {
          assert.equal(okTime, undefined, line);
          continue;
        }
        assert.deepEqual(record, SESSION_RECORD_KINDS.call.parse(JSON.parse(line)), line);
        // The time-only test may leave a line to the full path (e.g. S_OK under another name), never the reverse.
        if (okTime !== undefined) assert.ok(record.result.hr === '0x00000000' && record.t === okTime, line);
      }
    }),
    { numRuns: 200 },
  );
});

test('snapshots: the quick check accepts the recorder’s and never accepts what the schema refuses', async () => {
  const snapshots = sessionLines.flatMap((lines) => lines.filter((l) => l.startsWith('{"type":"snapshot"')));
  assert.ok(
    snapshots.some((l) => l.includes('"base"')),
    'a snapshot with regions',
  );
  for (const line of snapshots) assert.equal(isValidSnapshot(JSON.parse(line)), true);
  const snapshotArb = fc.constantFrom(...snapshots);
  await fc.assert(
    fc.property(snapshotArb, fc.array(damageArb, { minLength: 1, maxLength: 3 }), (line, damages) => {
      const [damaged] = damage([line], damages).lines;
      let value: unknown;
      try {
        value = JSON.parse(damaged!);
      } catch {
        return;
      }
      const schema = SESSION_RECORD_KINDS.snapshot.safeParse(value).success;
      if (isValidSnapshot(value)) assert.ok(schema, damaged);
    }),
    { numRuns: 500 },
  );
});

test('the live regions rebuilt from the calls are the end snapshot’s, region for region', async () => {
  for (const path of sessions) {
    const { header, entries } = await readSessionFile(path);
    const books = new RegionRebuilder(header.pageSize);
    let end: (typeof entries)[number]['record'] | undefined;
    for (const { record } of entries) {
      if (record.type === 'call') books.apply(record);
      if (record.type === 'snapshot') end = record;
    }
    assert.ok(end?.type === 'snapshot' && end.label === 'end');
    const rebuilt = books.allocations();
    assert.ok(rebuilt.length > 0, `${path} leaves regions live`);
    assert.deepEqual(
      rebuilt.map((a) => [a.base, a.size, a.committed, a.level, a.tag, a.allocationProtect, a.runs]),
      end.regions.map((r) => [r.base, r.size, r.committed, r.level, r.tag, r.allocationProtect, r.runs.length]),
    );
    assert.equal(books.unplaced, 0);
    const totals = books.totals(rebuilt);
    assert.equal(totals.reserved, end.reserved);
    assert.equal(totals.committed, end.committed);
    assert.equal(totals.heap, end.heap);
  }
});

test('property: damaged exec input — one result or error line per line, numbered, exit 0 or 2, no exception', async () => {
  // The requests of a real session, as `hostmem exec` input.
  const requests = sessionLines[0]!
    .slice(1)
    .filter((l) => l.startsWith('{"type":"call"'))
    .map((l) => JSON.stringify((JSON.parse(l) as { request: unknown }).request));
  await fc.assert(
    fc.asyncProperty(
      fc.array(damageArb, { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 40, max: 400 }),
      async (damages, maxLineBytes) => {
        const { lines } = damage(requests, damages);
        const host = createHost({ policy: { ...DEFAULT_POLICY, commitLimit: 8 * 2 ** 20, processCriticalWaitMs: 0 } });
        const out: string[] = [];
        try {
          const summary = await withinMinute(
            'exec',
            runExec(readLines(Readable.from([Buffer.from(lines.join('\n'), 'latin1')]), maxLineBytes), host, (l) => {
              out.push(l);
            }),
          );
          assert.ok(summary.exitCode === 0 || summary.exitCode === 2, `exit ${summary.exitCode}`);
          const expected = lines.map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim() !== '');
          assert.equal(out.length, expected.length);
          out.forEach((text, k) => {
            const value = JSON.parse(text) as { line: number; hr?: string; error?: string };
            assert.equal(value.line, expected[k]![1]);
            if (value.error !== undefined) assert.match(value.error, new RegExp(`^line ${value.line}: `));
            else assert.match(value.hr ?? '', /^0x[0-9A-F]{8}$/);
          });
        } finally {
          host.dispose();
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('a session killed with -9 mid-run: the report rebuilds the live allocations from the calls, and they agree with its summary', async () => {
  const path = join(dir, 'killed.session');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'run',
      '--scenario',
      'leak',
      '--seed',
      '2',
      '--rate',
      '2000',
      '--duration',
      '60s',
      '--record',
      path,
      '--quiet',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Wait until a good number of calls are on disk (the writer flushes every 250 ms), then kill it.
  for (let i = 0; i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      // not created yet
    }
    if (size > 100_000) break;
  }
  child.kill('SIGKILL');
  await exited;
  const json = join(dir, 'killed.json');
  const io = captureIo();
  assert.equal(await reportCommand([path, '--out', json], io.io), 0, io.err());
  assert.match(io.err(), /no usable end snapshot: the live allocations were rebuilt from the recorded calls/);
  const model = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
  assert.equal(model.source.allocationsFrom, 'calls');
  assert.ok(model.allocations.length > 0, 'the leak left regions live');
  assert.equal(model.allocations.length, model.summary.current.regions);
  assert.equal(
    model.allocations.reduce((s, a) => s + a.size, 0),
    model.summary.current.reserved,
  );
  assert.equal(
    model.allocations.reduce((s, a) => s + a.committed, 0),
    model.summary.current.committed,
  );
});

test('a damaged session: the HTML report warns at its top (in each language), the JSON carries the damage in source', async () => {
  const lines = [...sessionLines[1]!];
  lines[3] = lines[3]!.replace('"request":{', '"request":{"x":1,');
  lines[lines.length - 1] = lines.at(-1)!.slice(0, 100); // the end snapshot, damaged
  const file = join(dir, 'warned.session');
  writeFileSync(file, lines.join('\n') + '\n');
  for (const [lang, warning, rebuilt] of [
    ['en', 'Warning: 2 damaged line(s) of the session were skipped (lines 4, ', 'rebuilt from the recorded calls'],
    ['fr', 'Attention : 2 ligne(s) endommagée(s) de la session ont été ignorées (lignes 4, ', 'reconstruits à partir'],
  ] as const) {
    const html = join(dir, `warned-${lang}.html`);
    const json = join(dir, `warned-${lang}.json`);
    const io = captureIo();
    assert.equal(await reportCommand([file, '--out', html, '--out', json, '--lang', lang], io.io), 0, io.err());
    assert.match(io.err(), new RegExp(`warned\\.session:4: call record: `));
    const page = readFileSync(html, 'utf8');
    const at = page.indexOf(warning);
    assert.ok(at > 0 && at < page.indexOf('</header>'), 'the warning is in the header, at the top');
    assert.ok(page.indexOf(rebuilt) < page.indexOf('</header>'));
    const model = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
    assert.equal(model.source.damaged, 2);
    assert.deepEqual(
      model.source.damage.map((d) => d.line),
      [4, lines.length],
    );
    assert.equal(model.source.allocationsFrom, 'calls');
    assert.equal(model.allocations.length, model.summary.current.regions);
  }
});

test('path errors in every command: a clear message and exit 2 (missing, a folder)', () => {
  const missing = join(dir, 'no-such.session');
  const cases: Array<[string[], RegExp]> = [
    [['replay', missing], /no-such\.session: no such session file/],
    [['replay', dir], /: is a folder, not a session file/],
    [['report', missing, '--out', join(dir, 'p.json')], /no such session file/],
    [['report', dir, '--out', join(dir, 'p.json')], /is a folder, not a session file/],
    [['report', sessions[0]!, '--out', join(dir, 'nope', 'p.json')], /the folder .*nope does not exist/],
    [['exec', '--in', dir], /is a folder, not a request file/],
    [['exec', '--in', missing], /no such request file/],
    [['exec', '--in', sessions[0]!, '--out', dir], /is a folder, not a result file/],
    [['exec', '--in', sessions[0]!, '--out', join(dir, 'nope', 'r.jsonl')], /the folder .*nope does not exist/],
    [['exec', '--policy', dir], /is a folder, not a policy file/],
    [
      ['run', '--scenario', 'steady', '--max-calls', '5', '--record', dir],
      /--record .*: is a folder, not a session file/,
    ],
    [['run', '--scenario', 'steady', '--max-calls', '5', '--record', join(dir, 'nope', 's')], /folder .*nope does not/],
    [['run', '--scenario', 'steady', '--policy', missing], /--policy .*: no such policy file/],
    [['run', '--script', missing], /--script .*no-such\.session: no such workload script/],
    [['run', '--script', dir], /--script .*: is a folder, not a workload script/],
  ];
  for (const [args, message] of cases) {
    const err = join(dir, 'path-err.txt');
    const fd = openSync(err, 'w');
    const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', fd], timeout: 60_000 });
    closeSync(fd);
    const stderr = readFileSync(err, 'utf8');
    assert.equal(r.status, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message, args.join(' '));
    assert.doesNotMatch(stderr, /EISDIR|ENOENT|at .*\.js:\d+/, 'no raw errno text or stack');
  }
});

test('--max-line-length: a size from 1 byte to the longest string Node can hold, in exec, replay and report', () => {
  const ok = parseExecArgs(['--max-line-length', '4KiB']);
  assert.ok(ok.ok && ok.value.maxLineBytes === 4096);
  for (const bad of ['0', '1GiB', 'lots']) {
    const r = parseExecArgs(['--max-line-length', bad]);
    assert.ok(!r.ok && /--max-line-length: /.test(r.error), bad);
    assert.throws(() => maxLineOption(bad), /--max-line-length: /);
  }
  assert.equal(maxLineOption('1MiB'), 2 ** 20);
  assert.equal(maxLineOption(undefined), undefined);
});

test('a file that cannot be read: permission denied, exit 2', (t) => {
  if (process.platform === 'win32' || process.getuid?.() === 0) {
    t.skip('needs POSIX permissions and a user they apply to (root reads everything); runs as a normal user on Linux');
    return;
  }
  const locked = join(dir, 'locked.session');
  writeFileSync(locked, readFileSync(sessions[0]!));
  chmodSync(locked, 0o000);
  for (const args of [
    ['replay', locked],
    ['report', locked, '--out', join(dir, 'l.json')],
    ['exec', '--in', locked],
  ]) {
    const err = join(dir, 'perm-err.txt');
    const fd = openSync(err, 'w');
    const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', fd], timeout: 60_000 });
    closeSync(fd);
    const stderr = readFileSync(err, 'utf8');
    assert.equal(r.status, 2, stderr);
    assert.match(stderr, /locked\.session: cannot read the (session|request) file: permission denied/);
  }
});
