/** Recorded sessions: written by the recorder from real host calls, read back, replayed with no HRESULT differing. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MEM, PAGE } from '../../../native';
import { DEFAULT_POLICY, HR, createHost } from '../../host';
import { SessionRecorder } from '../../telemetry/recorder';
import { SessionFormatError, SessionWriter, sessionHeader } from '../../telemetry/session';
import { readSession } from '../../telemetry/session-reader';
import { replaySession } from './replay';

const dir = mkdtempSync(join(tmpdir(), 'hostmem-session-'));
const RC = MEM.RESERVE | MEM.COMMIT;
const RW = PAGE.READWRITE;

test('a recorded session reads back whole and replays with zero differing HRESULTs', async () => {
  const path = join(dir, 'mixed.jsonl');
  const policy = {
    ...DEFAULT_POLICY,
    commitLimit: 64 * 65536,
    processCriticalWaitMs: 20,
    seed: 3,
    faults: [{ everyNth: 7, level: 'eTaskCritical' as const }],
  };
  const host = createHost({ policy });
  const writer = new SessionWriter(path, sessionHeader(host.backend, host.pageSize, policy, 'session.test'));
  const recorder = new SessionRecorder(host, writer);
  const bases: number[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await host.VirtualAlloc(null, 65536 + i * 100, i % 3 === 0 ? RC : MEM.RESERVE, RW, i % 3, `t${i % 4}`);
    if (r.address !== null) bases.push(r.address);
  }
  for (const [i, b] of bases.entries()) {
    await host.VirtualAlloc(b + 4096 * (i % 5), 8192, MEM.COMMIT, RW, 0);
    await host.Fill(b + 4096 * (i % 5), 100, i);
    await host.Check(b + 4096 * (i % 5), 100, i);
    await host.VirtualQuery(b + 5000);
    if (i % 4 === 0) await host.VirtualProtect(b + 4096 * (i % 5), 4096, PAGE.READONLY);
    if (i % 3 === 1) await host.VirtualFree(b, 4096, MEM.DECOMMIT);
  }
  const m = await host.CreateMalloc(1);
  const heap = host.malloc(m.malloc!)!;
  const blocks = [];
  for (let i = 0; i < 10; i++) blocks.push(await heap.DebugAlloc(1000 + i, i % 2, 'session.test.ts', i));
  for (const b of blocks.slice(0, 5)) if (b.address !== null) await heap.Free(b.address);
  await host.VirtualFree(0x10000, 0, MEM.RELEASE); // foreign: HOST_E_INVALIDOPERATION
  host.setPolicy({ ...policy, commitLimit: 2 * 65536 });
  const wait = await host.VirtualAlloc(null, 4 * 65536, RC, RW, 2); // over the limit: waits, times out
  assert.equal(wait.hr, HR.HOST_E_TIMEOUT);
  assert.equal((await host.GetMemoryLoad()).hr, HR.HOST_E_CLRNOTAVAILABLE);
  host.reset();
  for (const b of bases.slice(0, 20)) await host.VirtualFree(b, 0, MEM.RELEASE);
  const calls = recorder.recorded;
  recorder.stop();
  await writer.close();
  host.dispose();

  const session = await readSession(path);
  assert.equal(session.torn, false);
  assert.equal(session.header.backend, host.backend);
  assert.equal(
    session.lines.filter((l) => l.type === 'call').length,
    calls,
    'every call, SetPolicy and Reset included: recorder.recorded is what the file holds',
  );
  const hrs = new Set(session.lines.map((l) => (l.type === 'call' ? l.result.hrName : '')));
  for (const name of ['S_OK', 'E_OUTOFMEMORY', 'HOST_E_INVALIDOPERATION', 'HOST_E_TIMEOUT', 'HOST_E_CLRNOTAVAILABLE']) {
    assert.ok(hrs.has(name), `the session holds a ${name}`);
  }
  const report = await replaySession(path);
  assert.equal(report.calls, calls);
  assert.deepEqual(report.differences, []);
});

test('a torn last line is tolerated; a bad line elsewhere is damage: skipped, counted, named; no header is an error', async () => {
  const host = createHost();
  const path = join(dir, 'torn.jsonl');
  const writer = new SessionWriter(path, sessionHeader(host.backend, host.pageSize, DEFAULT_POLICY));
  const recorder = new SessionRecorder(host, writer);
  const r = await host.VirtualAlloc(null, 65536, RC, RW, 0);
  await host.VirtualFree(r.address!, 0, MEM.RELEASE);
  recorder.stop();
  await writer.close();
  host.dispose();
  appendFileSync(path, '{"type":"call","t":1,"request":{"op":"VirtualQ');
  const s = await readSession(path);
  assert.equal(s.torn, true);
  assert.equal(s.integrity.damaged, 0);
  assert.equal(s.lines.length, 2);
  assert.deepEqual((await replaySession(path)).differences, []);

  const broken = join(dir, 'broken.jsonl');
  const text = readFileSync(path, 'utf8').split('\n');
  writeFileSync(
    broken,
    [text[0], 'garbage', text[1], '{"type":"call","t":5,"request":7,"result":null}', text[2], ''].join('\n'),
  );
  const b = await readSession(broken);
  assert.equal(b.torn, false);
  assert.equal(b.lines.length, 2, 'both good calls are read');
  assert.equal(b.integrity.damaged, 2);
  assert.equal(b.integrity.damage[0]!.line, 2);
  assert.match(b.integrity.damage[0]!.message, /^not JSON/);
  assert.equal(b.integrity.damage[1]!.line, 4);
  assert.match(b.integrity.damage[1]!.message, /^call record: request: /);
  const replayed = await replaySession(broken);
  assert.equal(replayed.calls, 2);
  assert.deepEqual(replayed.differences, []);
  assert.equal(replayed.integrity.damaged, 2);

  writeFileSync(join(dir, 'nothdr.jsonl'), '{"type":"call","t":1}\n');
  await assert.rejects(
    readSession(join(dir, 'nothdr.jsonl')),
    (e: unknown) =>
      e instanceof SessionFormatError && /nothdr\.jsonl:1: not a hostmem\.session\/1 header/.test(e.message),
  );
});

test('the size cap stops recording with a clear message and the file stays readable', async () => {
  const host = createHost();
  const path = join(dir, 'capped.jsonl');
  let message = '';
  const writer = new SessionWriter(path, sessionHeader(host.backend, host.pageSize, DEFAULT_POLICY), {
    maxBytes: 4000,
    onCapped: (m) => (message = m),
  });
  const recorder = new SessionRecorder(host, writer);
  for (let i = 0; i < 100; i++) await host.VirtualQuery(0x10000 + i * 65536);
  recorder.stop();
  await writer.close();
  host.dispose();
  assert.match(message, /size cap of 4000 bytes/);
  const s = await readSession(path);
  assert.ok(s.lines.length > 5 && s.lines.length < 100);
  assert.equal(s.lines.at(-1)?.type, 'note');
});
