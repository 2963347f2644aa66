/**
 * Out-of-range values in every field of every record kind: a real session (host calls, samples, snapshots, a note)
 * and a real recorded walk of this process (process-walk, process-delta, process-exit), each with one numeric or
 * address field replaced by a value past its bounds — a time a Date cannot hold (`t: 9e15`), a negative or
 * fractional count, a number past 2^53, a 40-digit address — then read by `hostmem report` (HTML and JSON) in this
 * process. The property: the report exits 0 or 2, never throws, never says "Invalid time value", and a time past
 * the Date range or an address that a number cannot hold is damage named as `FILE:LINE`.
 *
 * fast-check is seeded (HOSTMEM_FC_SEED, default 24) so a failure reproduces; HOSTMEM_FC_RUNS sets how many cases
 * (default 300, enough to meet every field kind and to find a time past the Date range; 1500 under CI=true).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { createProcessInspector } from '../../../native';
import { createHost } from '../../host';
import { MEM, PAGE } from '../../vocabulary';
import { ProcessRecordWriter, processSessionHeader } from '../../telemetry/process-records';
import { SessionRecorder } from '../../telemetry/recorder';
import { MAX_TIME } from '../../telemetry/record-fields';
import { SessionWriter, sessionHeader } from '../../telemetry/session';
import { takeSnapshot } from '../../telemetry/snapshot';
import { createSampler } from '../../telemetry/sampler';
import type { CliIo } from './io';
import { reportCommand } from './report';

const dir = mkdtempSync(join(tmpdir(), 'hostmem-bounds-'));
/** The sessions' lines (line 0 is the header), parsed. */
const sessions: { name: string; lines: Record<string, unknown>[] }[] = [];

async function hostSession(): Promise<string> {
  const path = join(dir, 'host.session');
  const host = createHost();
  const writer = new SessionWriter(path, sessionHeader(host.backend, host.pageSize, host.policy()));
  const recorder = new SessionRecorder(host, writer);
  const sampler = createSampler(host, { intervalMs: 60_000 });
  sampler.onSample((sample) => writer.append({ type: 'sample', ...sample }));
  sampler.sampleNow();
  const a = await host.VirtualAlloc(null, 65536, MEM.RESERVE | MEM.COMMIT, PAGE.READWRITE, 0, 'bounds');
  await host.VirtualAlloc(null, 4096, MEM.RESERVE, PAGE.READWRITE, 1);
  await host.VirtualFree(a.address ?? 0, 0, MEM.RELEASE);
  await host.VirtualAlloc(null, 8192, MEM.RESERVE | MEM.COMMIT, PAGE.READWRITE, 2);
  sampler.sampleNow();
  const snap = takeSnapshot(host, 'end');
  writer.append({ type: 'snapshot', t: snap.time, ...snap });
  writer.append({ type: 'note', t: Date.now(), note: 'bounds', message: 'a note' });
  recorder.stop();
  sampler.stop();
  await writer.close();
  host.dispose();
  return path;
}

async function walkSession(): Promise<string> {
  const path = join(dir, 'walk.session');
  const inspector = createProcessInspector();
  const writer = new SessionWriter(path, processSessionHeader(inspector.backend, inspector.pageSize));
  const records = new ProcessRecordWriter(writer);
  for (let i = 0; i < 2; i++) {
    const walk = await inspector.walkProcess(process.pid);
    assert.ok(walk.ok, 'this process can walk itself');
    // A few regions are enough to damage (every field of a region is met), and keep the property fast.
    records.write({ ...walk.value, regions: walk.value.regions.slice(0, 3 + i) });
  }
  records.exit(process.pid, Date.now());
  await writer.close();
  return path;
}

before(async () => {
  for (const path of [await hostSession(), await walkSession()]) {
    const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
    sessions.push({ name: path, lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>) });
  }
});

type Leaf = { path: (string | number)[]; kind: 'time' | 'number' | 'address' };

const TIME_KEYS = new Set(['t', 'time', 'created']);
/** A sample's gauges are any number (or null): a huge one is shown as it is, never used as a time or a size. */
const GAUGES = new Set(['memoryLoad', 'hostLoad', 'workingSet', 'privateBytes']);

/** Every number and `0x…` string under `value` (the first 2 elements of an array). */
function leaves(value: unknown, path: (string | number)[] = []): Leaf[] {
  if (typeof value === 'number') {
    return [{ path, kind: TIME_KEYS.has(String(path[path.length - 1])) ? 'time' : 'number' }];
  }
  if (typeof value === 'string') return /^0x[0-9a-f]+$/i.test(value) ? [{ path, kind: 'address' }] : [];
  if (Array.isArray(value)) return value.slice(0, 2).flatMap((v, i) => leaves(v, [...path, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [];
}

function setAt(record: Record<string, unknown>, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(record);
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = value;
  return copy;
}

const BAD_NUMBERS = [9e15, MAX_TIME + 1, -1, 2 ** 53 + 2, 1e300, 1.5, -1e300] as const;
const BAD_ADDRESSES = [`0x${'1'.repeat(40)}`, '0x10000000000000001', '0x20000000000001'] as const;

function captureIo(): { io: CliIo; err: () => string } {
  const err: string[] = [];
  const sink = (into: string[] | null): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        into?.push(String(chunk));
        callback();
      },
    });
  return { io: { stdin: Readable.from([]), stdout: sink(null), stderr: sink(err) }, err: () => err.join('') };
}

const seen = { time: 0, number: 0, address: 0, damaged: 0 };
let fileNo = 0;

test('property: a value out of range in any field of any record kind is damage or harmless — report exits 0/2, never "Invalid time value", never an exception', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.nat(), fc.nat(), fc.nat(), async (s, l, f, v) => {
      const session = sessions[s % sessions.length]!;
      const lineNo = 1 + (l % (session.lines.length - 1));
      const record = session.lines[lineNo]!;
      const all = leaves(record);
      const leaf = all[f % all.length]!;
      const bad =
        leaf.kind === 'address' ? BAD_ADDRESSES[v % BAD_ADDRESSES.length]! : BAD_NUMBERS[v % BAD_NUMBERS.length]!;
      seen[leaf.kind]++;
      const lines = session.lines.map((r, i) => JSON.stringify(i === lineNo ? setAt(r, leaf.path, bad) : r));
      const file = join(dir, `damaged-${++fileNo}.session`);
      writeFileSync(file, lines.join('\n') + '\n');
      const io = captureIo();
      const outs = ['--out', join(dir, `r-${fileNo}.json`), '--out', join(dir, `r-${fileNo}.html`)];
      const status = await reportCommand([file, ...outs, '--force'], io.io);
      const where = `${record.type as string} ${leaf.path.join('.')} = ${String(bad)} (line ${lineNo + 1})`;
      assert.ok(status === 0 || status === 2, `${where}: exit ${status}: ${io.err()}`);
      assert.doesNotMatch(io.err(), /Invalid time value|RangeError|TypeError|\n\s+at /, where);
      const named = io.err().includes(`${file}:${lineNo + 1}: `);
      if (named) seen.damaged++;
      const pastRange =
        (leaf.kind === 'time' && (bad as number) > MAX_TIME) ||
        (leaf.kind === 'address' && bad === BAD_ADDRESSES[0]) ||
        (leaf.kind === 'number' && !Number.isSafeInteger(bad) && Math.abs(bad as number) > 2 ** 53);
      if (pastRange && !GAUGES.has(String(leaf.path[0])))
        assert.ok(named, `${where}: must be damage named as FILE:LINE, got: ${io.err() || '(nothing)'}`);
    }),
    {
      numRuns: Number(process.env.HOSTMEM_FC_RUNS ?? (process.env.CI === 'true' ? 1500 : 300)),
      seed: Number(process.env.HOSTMEM_FC_SEED ?? 24),
      ...(process.env.HOSTMEM_FC_PATH ? { path: process.env.HOSTMEM_FC_PATH } : {}),
    },
  );
  assert.ok(seen.time > 0 && seen.number > 0 && seen.address > 0 && seen.damaged > 0, JSON.stringify(seen));
});
