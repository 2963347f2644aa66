/**
 * The service over the real host: every contract request answered (validated first), bad requests answered with
 * errors, workloads started / paused / stopped with their memory released, snapshots and their diff, pushes of
 * workload progress and log lines, live reports exported through a real writer. No timing assertion: tests wait
 * for events, never for durations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import { MEM, PAGE } from '../../native';
import { type Push, type WorkloadsMessage } from '../contract';
import { createHost, DEFAULT_POLICY, type Host } from '../host';
import { defaultPrinter, writeReport, type ReportModel } from '../reports';
import { createPublisher, type Publisher } from '../telemetry/publisher';
import { createSampler, type Sampler } from '../telemetry/sampler';
import { createService, type SaveReport, type Service, type ServiceOptions, type ServiceSession } from './index';

const KiB = 1024;

interface Rig {
  host: Host;
  sampler: Sampler;
  publisher: Publisher;
  service: Service;
  session: ServiceSession;
  pushes: Push[];
}

const rigs: Rig[] = [];

function rig(options: Partial<Pick<ServiceOptions, 'saveReport'>> & { host?: Host } = {}): Rig {
  const host = options.host ?? createHost();
  const sampler = createSampler(host, { intervalMs: 250 });
  const publisher = createPublisher(host, sampler);
  const service = createService({
    host,
    sampler,
    publisher,
    transport: 'ipc',
    version: '0.0.0-test',
    ...(options.saveReport && { saveReport: options.saveReport }),
  });
  const pushes: Push[] = [];
  const session = service.connect((m) => pushes.push(m));
  const r = { host, sampler, publisher, service, session, pushes };
  rigs.push(r);
  return r;
}

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.session.close();
    await r.service.dispose();
    r.publisher.stop();
    r.sampler.stop();
    r.host.dispose();
  }
});

async function ok(session: ServiceSession, method: string, params?: unknown): Promise<Record<string, unknown>> {
  const a = await session.request({ method, params });
  if (!a.ok) assert.fail(`${method} failed: ${a.error.code} ${a.error.message}`);
  return a.value as Record<string, unknown>;
}

test('hello answers host info, scenarios with their parameters and languages', async () => {
  const { session, host } = rig();
  const hello = await ok(session, 'hello');
  assert.equal(hello.version, '0.0.0-test');
  assert.equal(hello.transport, 'ipc');
  const info = hello.host as { backend: string; pageSize: number; state: { state: string } };
  assert.equal(info.backend, host.backend);
  assert.equal(info.pageSize, host.pageSize);
  assert.equal(info.state.state, 'available');
  const scenarios = hello.scenarios as { name: string; params: { name: string }[] }[];
  assert.ok(scenarios.some((s) => s.name === 'pressure' && s.params.some((p) => p.name === 'commitLimit')));
  assert.deepEqual(hello.languages, ['en', 'fr', 'zh-CN']);
});

test('bad requests get bad-request errors, never a throw', async () => {
  const { session } = rig();
  const bad: unknown[] = [
    undefined,
    null,
    42,
    'hello',
    [],
    {},
    { method: 'nope' },
    { method: '__proto__' },
    { method: 'toString' },
    { method: 'hello', params: { extra: 1 } },
    { method: 'virtualAlloc', params: {} },
    { method: 'virtualAlloc', params: { address: null, size: -1, type: 0x3000, protect: 4, level: 0 } },
    { method: 'virtualAlloc', params: { address: null, size: 4096, type: 0x3000, protect: 4, level: 7 } },
    { method: 'virtualAlloc', params: { address: 1.5, size: 4096, type: 0x3000, protect: 4, level: 0 } },
    { method: 'virtualFree', params: { address: '0x1000', size: 0, type: 0x8000 } },
    { method: 'setPolicy', params: { policy: { commitLimit: 0 } } },
    { method: 'setPolicy', params: { policy: { thresholds: { eTaskCritical: 2 } } } },
    { method: 'setPolicy', params: { policy: { faults: [{ op: 'VirtualAlloc' }] } } },
    { method: 'pauseWorkload', params: { id: 'w1' } },
    { method: 'diffSnapshots', params: { a: 0, b: 1 } },
    { method: 'history', params: { maxPoints: 0 } },
  ];
  for (const input of bad) {
    const a = await session.request(input);
    assert.equal(a.ok, false, `accepted: ${JSON.stringify(input)}`);
    if (!a.ok) {
      assert.equal(a.error.code, 'bad-request', JSON.stringify(input));
      assert.ok(a.error.message.length > 0);
    }
  }
  // Valid but refused or unknown.
  const notFound = await session.request({ method: 'stopWorkload', params: { id: 'w999' } });
  assert.equal(!notFound.ok && notFound.error.code, 'not-found');
  const noScenario = await session.request({ method: 'startWorkload', params: { scenario: 'nope' } });
  assert.equal(!noScenario.ok && noScenario.error.code, 'refused');
  const badParams = await session.request({
    method: 'startWorkload',
    params: { scenario: 'steady', params: { rate: -1 } },
  });
  assert.equal(!badParams.ok && badParams.error.code, 'refused');
  const noSnap = await session.request({ method: 'diffSnapshots', params: { a: 1, b: 2 } });
  assert.equal(!noSnap.ok && noSnap.error.code, 'not-found');
  // Still answering.
  await ok(session, 'hello');
});

test('virtualAlloc / pageMap / virtualFree through the service, with HRESULT names; levels by number or name', async () => {
  const { session, host } = rig();
  const a = await ok(session, 'virtualAlloc', {
    address: null,
    size: 256 * KiB,
    type: MEM.RESERVE,
    protect: PAGE.READWRITE,
    level: 'eAppDomainCritical',
    tag: 'test/ui',
  });
  assert.equal(a.hrName, 'S_OK');
  const base = a.address as number;
  assert.equal(host.regionAt(base)?.level, 'eAppDomainCritical');
  const c = await ok(session, 'virtualAlloc', {
    address: base,
    size: 64 * KiB,
    type: MEM.COMMIT,
    protect: PAGE.READWRITE,
    level: 1,
  });
  assert.equal(c.hrName, 'S_OK');
  const map = (await ok(session, 'pageMap', { address: base + 1 })) as {
    found: boolean;
    region: { base: number; committed: number; tag: string };
    runs: { start: number; end: number; state: string }[];
  };
  assert.equal(map.found, true);
  assert.equal(map.region.base, base);
  assert.equal(map.region.committed, 64 * KiB);
  assert.equal(map.region.tag, 'test/ui');
  assert.deepEqual(
    map.runs.map((r) => r.state),
    ['commit', 'reserve'],
  );
  const pages = (256 * KiB) / host.pageSize;
  assert.equal(map.runs.at(-1)!.end, pages);
  const f = await ok(session, 'virtualFree', { address: base, size: 0, type: MEM.RELEASE });
  assert.equal(f.hrName, 'S_OK');
  assert.equal(host.stats().regions, 0);
  assert.equal((await ok(session, 'pageMap', { address: base })).found, false);
  // A failing call answers its HRESULT and reason, not an error.
  const bad = await ok(session, 'virtualFree', { address: base, size: 0, type: MEM.RELEASE });
  assert.notEqual(bad.hr, 0);
  assert.notEqual(bad.hrName, 'S_OK');
});

test('setPolicy states the whole policy (missing fields from the defaults); reset answers the state', async () => {
  const { session, host } = rig();
  const r = (
    await ok(session, 'setPolicy', { policy: { commitLimit: 8 * 1024 * KiB, thresholds: { eTaskCritical: 0.5 } } })
  ).policy as { commitLimit: number; thresholds: Record<string, number>; processCriticalWaitMs: number };
  assert.equal(r.commitLimit, 8 * 1024 * KiB);
  assert.deepEqual(r.thresholds, { eTaskCritical: 0.5, eAppDomainCritical: 0.95, eProcessCritical: 1 });
  assert.equal(host.policy().commitLimit, 8 * 1024 * KiB);
  // Thresholds out of order are the host's to refuse: a 'refused' answer, the policy unchanged.
  const refused = await session.request({
    method: 'setPolicy',
    params: { policy: { thresholds: { eTaskCritical: 0.99, eAppDomainCritical: 0.5 } } },
  });
  if (!refused.ok) assert.equal(refused.error.code, 'refused');
  assert.deepEqual(await ok(session, 'reset'), { state: 'available' });
});

test('workloads: several at once, progress pushed, pause, stop releases their memory', async () => {
  const { session, host, pushes } = rig();
  const a = await ok(session, 'startWorkload', { scenario: 'steady', params: { seed: 1, rate: 0, maxCalls: 0 } });
  const b = await ok(session, 'startWorkload', { scenario: 'steady', params: { seed: 2, rate: 0 } });
  assert.notEqual(a.id, b.id);
  const listed = (await ok(session, 'workloads')).workloads as { id: string; state: string }[];
  assert.deepEqual(
    listed.map((w) => w.id),
    [a.id, b.id],
  );
  assert.ok(
    pushes.some((p) => p.type === 'workloads'),
    'a workloads push on start',
  );
  // Wait until both hold memory.
  while (host.stats().regions === 0) await new Promise((r) => setTimeout(r, 5));
  const paused = await ok(session, 'pauseWorkload', { id: a.id, paused: true });
  assert.equal(paused.paused, true);
  const resumed = await ok(session, 'pauseWorkload', { id: a.id, paused: false });
  assert.equal(resumed.paused, false);
  const sa = await ok(session, 'stopWorkload', { id: a.id });
  const sb = await ok(session, 'stopWorkload', { id: b.id });
  assert.equal(sa.end, 'stopped');
  assert.equal(sb.end, 'stopped');
  assert.equal(host.stats().regions, 0, 'their reservations were released');
  assert.equal(host.stats().committed, 0);
  // Stopping again answers the same summary.
  assert.equal((await ok(session, 'stopWorkload', { id: a.id })).end, 'stopped');
  const after = (await ok(session, 'workloads')).workloads as { id: string; state: string; end?: string }[];
  assert.ok(after.every((w) => w.state === 'ended' && w.end === 'stopped'));
  const last = pushes.filter((p): p is WorkloadsMessage => p.type === 'workloads').at(-1)!;
  assert.ok(last.workloads.every((w) => w.state === 'ended'));
});

test('workload log lines are pushed as log messages', async () => {
  const { session, pushes } = rig();
  // pressure with a tiny limit says what it does in its log.
  const w = await ok(session, 'startWorkload', {
    scenario: 'pressure',
    params: { seed: 3, rate: 0, commitLimit: '4MiB', chunkMin: '64KiB', chunkMax: '128KiB', durationMs: 0 },
  });
  while (!pushes.some((p) => p.type === 'log' && p.workload === w.id)) await new Promise((r) => setTimeout(r, 5));
  await ok(session, 'stopWorkload', { id: w.id });
  await ok(session, 'reset');
});

test('snapshots, their list and diff; history', async () => {
  const { session, host } = rig();
  const s1 = await ok(session, 'takeSnapshot', { label: 'before' });
  const a = await host.VirtualAlloc(null, 128 * KiB, MEM.RESERVE | MEM.COMMIT, PAGE.READWRITE, 0, 'snap');
  const s2 = await ok(session, 'takeSnapshot');
  const list = (await ok(session, 'snapshots')).snapshots as { id: number; label: string | null; regions: number }[];
  assert.deepEqual(
    list.map((s) => [s.id, s.label, s.regions]),
    [
      [s1.id, 'before', 0],
      [s2.id, null, 1],
    ],
  );
  const d = (await ok(session, 'diffSnapshots', { a: s1.id, b: s2.id })) as {
    diff: { appeared: { base: number; tag: string }[]; totals: { committed: { delta: number } } };
    truncated: boolean;
  };
  assert.equal(d.truncated, false);
  assert.deepEqual(
    d.diff.appeared.map((r) => [r.base, r.tag]),
    [[a.address, 'snap']],
  );
  assert.equal(d.diff.totals.committed.delta, 128 * KiB);
  const h = (await ok(session, 'history', { maxPoints: 10 })).points as unknown[];
  assert.ok(Array.isArray(h));
});

test('resync: the next push is a full message; a closed session gets nothing more', async () => {
  const { session, publisher, pushes, host } = rig();
  publisher.flush();
  assert.equal(pushes[0]?.type, 'full');
  await host.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, PAGE.READWRITE, 0);
  publisher.flush();
  assert.equal(pushes.at(-1)?.type, 'delta');
  await ok(session, 'resync');
  publisher.flush();
  assert.equal(pushes.at(-1)?.type, 'full');
  session.close();
  const n = pushes.length;
  await host.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, PAGE.READWRITE, 0);
  publisher.flush();
  assert.equal(pushes.length, n);
});

// ---------------------------------------------------------------------------------------------- exportReport

const reportDir = mkdtempSync(join(tmpdir(), 'hostmem-service-reports-'));
after(() => rmSync(reportDir, { recursive: true, force: true }));

interface Saved {
  request: unknown;
  model: ReportModel;
  files: string[];
}

/** A real saver, as the app's minus the dialog: writes the report into `folder` as r.<format>. */
function saver(folder: string, saved: Saved[], print?: Parameters<typeof writeReport>[2]): SaveReport {
  return async (request, model) => {
    const files = await writeReport(model, join(folder, `r.${request.format}`), { force: true, ...print });
    saved.push({ request, model, files });
    return { outcome: 'saved', files };
  };
}

/** Some successes and failures at every level on a host with a small commit limit. */
async function exercise(host: Host): Promise<void> {
  const MiB = 1024 * KiB;
  const RC = MEM.RESERVE | MEM.COMMIT;
  for (let i = 0; i < 3; i++) assert.equal((await host.VirtualAlloc(null, MiB, RC, PAGE.READWRITE, 2, 'keep')).hr, 0);
  assert.notEqual((await host.VirtualAlloc(null, MiB, RC, PAGE.READWRITE, 0, 'grow')).hr, 0);
  assert.notEqual((await host.VirtualAlloc(null, MiB, RC, PAGE.READWRITE, 1, 'grow')).hr, 0);
  assert.notEqual((await host.VirtualFree(0x1000, 0, MEM.RELEASE)).hr, 0);
}

test('exportReport without a place to save it is refused, saying so; bad params are bad requests', async () => {
  const { session } = rig();
  const a = await session.request({ method: 'exportReport', params: { format: 'json' } });
  assert.equal(a.ok, false);
  if (!a.ok) {
    assert.equal(a.error.code, 'refused');
    assert.match(a.error.message, /nowhere to save/);
  }
  for (const params of [
    undefined,
    {},
    { format: 'docx' },
    { format: 'json', include: ['clerks'] },
    { format: 'json', language: 'de' },
    { format: 'json', extra: 1 },
  ]) {
    const r = await session.request({ method: 'exportReport', params });
    assert.equal(!r.ok && r.error.code, 'bad-request', JSON.stringify(params));
  }
});

test('exportReport builds the live report (events since the service began), sections and language as asked', async () => {
  const saved: Saved[] = [];
  const folder = mkdtempSync(join(reportDir, 'live-'));
  const host = createHost({ policy: { ...DEFAULT_POLICY, commitLimit: 4 * 1024 * KiB } });
  const { session, sampler } = rig({ host, saveReport: saver(folder, saved) });
  sampler.sampleNow();
  await exercise(host);
  sampler.sampleNow();
  const stats = host.stats();
  const failuresTotal = stats.failures.eTaskCritical + stats.failures.eAppDomainCritical + stats.failures.other;
  assert.ok(failuresTotal >= 3);

  // Everything, by default, in English.
  const all = await ok(session, 'exportReport', { format: 'json' });
  assert.deepEqual(all, { outcome: 'saved', files: [join(folder, 'r.json')] });
  const full = saved.at(-1)!.model;
  assert.equal(full.language, 'en');
  assert.equal(full.source.kind, 'live');
  assert.deepEqual(full.source.omitted, []);
  assert.equal(full.summary.current.reserved, stats.reserved);
  assert.equal(full.summary.current.committed, stats.committed);
  assert.equal(full.summary.current.regions, stats.regions);
  assert.deepEqual(full.summary.failures.byLevel, stats.failures);
  assert.equal(full.failures.length, failuresTotal, 'every failure event since the service began');
  assert.equal(full.allocations.length, stats.regions);
  assert.ok(full.samples.length >= 2);
  const json = JSON.parse(readFileSync(join(folder, 'r.json'), 'utf8')) as {
    schema: string;
    summary: { failures: { byLevel: unknown } };
    failures: unknown[];
  };
  assert.equal(json.schema, 'hostmem.report/1');
  assert.deepEqual(json.summary.failures.byLevel, stats.failures);
  assert.equal(json.failures.length, failuresTotal);

  // Only the failures, in French: the rest left out, the summary whole.
  await ok(session, 'exportReport', { format: 'html', include: ['failures'], language: 'fr' });
  const some = saved.at(-1)!;
  assert.deepEqual(some.request, { format: 'html', include: ['failures'], language: 'fr' });
  assert.equal(some.model.language, 'fr');
  assert.deepEqual(some.model.source.omitted, ['allocations', 'samples']);
  assert.equal(some.model.allocations.length, 0);
  assert.equal(some.model.samples.length, 0);
  assert.equal(some.model.failures.length, failuresTotal);
  assert.equal(some.model.summary.current.committed, stats.committed);
  assert.deepEqual(some.model.summary.failures.byLevel, stats.failures);
  assert.deepEqual(some.model.clerks, full.clerks);
  assert.match(readFileSync(join(folder, 'r.html'), 'utf8'), /<html lang="fr">/);

  // CSV: one file per included section; none at all is refused before anything is written.
  const csv = (await ok(session, 'exportReport', { format: 'csv', include: ['samples', 'allocations'] })) as {
    files: string[];
  };
  assert.deepEqual(csv.files, [join(folder, 'r.csv'), join(folder, 'r.samples.csv')]);
  const none = await session.request({ method: 'exportReport', params: { format: 'csv', include: [] } });
  assert.equal(!none.ok && none.error.code, 'refused');
  assert.equal(saved.length, 3);
});

test('errors of saveReport (an unwritable folder, no Chromium) answer refused with their message', async () => {
  const saved: Saved[] = [];
  const missing = join(reportDir, 'no-such-folder');
  const { session } = rig({ saveReport: saver(missing, saved) });
  const a = await session.request({ method: 'exportReport', params: { format: 'html' } });
  assert.equal(a.ok, false);
  if (!a.ok) {
    assert.equal(a.error.code, 'refused');
    assert.match(a.error.message, /cannot write .*no-such-folder.*the folder does not exist/);
  }
  const folder = mkdtempSync(join(reportDir, 'pdf-'));
  const noChromium = rig({
    saveReport: (request, model) =>
      saver(folder, saved, { print: defaultPrinter({ HOSTMEM_CHROMIUM: join(folder, 'no-chromium') }) })(
        request,
        model,
      ),
  });
  const b = await noChromium.session.request({ method: 'exportReport', params: { format: 'pdf' } });
  assert.equal(b.ok, false);
  if (!b.ok) {
    assert.equal(b.error.code, 'refused');
    assert.match(b.error.message, /cannot make a PDF: HOSTMEM_CHROMIUM=.*no-chromium does not exist/);
  }
  assert.equal(saved.length, 0);
  // Still answering.
  await ok(session, 'hello');
});

test('a disposed service refuses exportReport', async () => {
  const saved: Saved[] = [];
  const { session, service } = rig({ saveReport: saver(reportDir, saved) });
  await service.dispose();
  const a = await session.request({ method: 'exportReport', params: { format: 'json' } });
  assert.equal(!a.ok && a.error.code, 'refused');
  assert.equal(saved.length, 0);
});

test('reveal goes to every open page, not to a closed one (the tray asks the page to show a failure)', () => {
  const { service, session, pushes } = rig();
  const other: Push[] = [];
  const second = service.connect((m) => other.push(m));
  second.close();
  service.reveal(42);
  service.reveal(null);
  const reveals = pushes.filter((p) => p.type === 'reveal');
  assert.deepEqual(reveals, [
    { type: 'reveal', view: 'failures', failureSeq: 42 },
    { type: 'reveal', view: 'failures', failureSeq: null },
  ]);
  assert.equal(other.filter((p) => p.type === 'reveal').length, 0);
  session.close();
});
