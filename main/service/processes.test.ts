/**
 * The service's process requests over the real inspector and a real child process (`hostmem exec`, see
 * tests/children/exec-child.ts): list it, watch it, see a 16 MiB commit arrive as one changed region in a delta,
 * refuse a watch past the limit, snapshot and diff, see the exit, and fold every push with the contract's
 * `applyProcessMessage`. No timing assertion: tests wait for pushes.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { execChild, type ExecChild } from '../../tests/children/exec-child';
import { createProcessInspector, type ProcessRegion } from '../../native';
import {
  applyProcessMessage,
  messageText,
  type Push,
  type ProcessMessage,
  type ProcessView,
  type ProcessDeltaMessage,
} from '../contract';
import { createHost } from '../host';
import { createHostMetrics, WatchedProcesses } from '../metrics';
import { parseExposition, select, total } from '../metrics/testing';
import { createPublisher } from '../telemetry/publisher';
import { createSampler } from '../telemetry/sampler';
import { diffRegions } from './processes';
import { createService, type Service, type ServiceSession } from './index';

const MiB = 1024 * 1024;
const host = createHost();
const sampler = createSampler(host, { intervalMs: 250 });
const publisher = createPublisher(host, sampler);
const inspector = createProcessInspector();
/** What the OS charges for hostmem's own commits: Linux nothing (its posix backend reserves with MAP_NORESERVE). */
const charged = (bytes: number): number => (inspector.backend === 'posix' ? 0 : bytes);
const services: Service[] = [];
const children: ExecChild[] = [];

function service(maxProcessWatches = 4): Service {
  const s = createService({
    host,
    sampler,
    publisher,
    transport: 'websocket',
    version: '0.0.0-test',
    inspector,
    maxProcessWatches,
  });
  services.push(s);
  return s;
}

after(async () => {
  for (const c of children) if (c.child.exitCode === null) await c.exit();
  for (const s of services) await s.dispose();
  publisher.stop();
  sampler.stop();
  host.dispose();
});

/** A session whose process pushes can be awaited one by one. */
function connect(s: Service): {
  session: ServiceSession;
  next: (pred?: (m: ProcessMessage) => boolean) => Promise<ProcessMessage>;
} {
  const queue: ProcessMessage[] = [];
  let wake: (() => void) | undefined;
  const session = s.connect((m: Push) => {
    if (m.type !== 'process') return;
    queue.push(m);
    wake?.();
  });
  const next = async (pred: (m: ProcessMessage) => boolean = () => true): Promise<ProcessMessage> => {
    for (;;) {
      const i = queue.findIndex(pred);
      if (i >= 0) return queue.splice(0, i + 1)[i]!;
      queue.length = 0;
      // A ref'd guard: the watcher's timers are unref'd, and a lost push must fail the test, not hang it.
      let guard: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        guard = setTimeout(() => reject(new Error('no process push within 30 s')), 30_000);
      });
      clearTimeout(guard);
    }
  };
  return { session, next };
}

async function ok<T = Record<string, unknown>>(session: ServiceSession, method: string, params?: unknown): Promise<T> {
  const a = await session.request({ method, params });
  if (!a.ok) assert.fail(`${method} failed: ${a.error.code} ${a.error.message}`);
  return a.value as T;
}

test('diffRegions: one merge finds added, updated and removed regions; the same object is not compared', () => {
  const region = (base: number, committed: number): ProcessRegion => ({
    baseAddress: base,
    size: 4096,
    state: 'MEM_COMMIT',
    type: 'MEM_PRIVATE',
    protect: 4,
    allocationBase: base,
    allocationProtect: 4,
    committed,
    file: null,
    label: null,
    use: null,
    resident: null,
    private: null,
    pss: 1, // not shown: a change of it alone is not a change of the row
    swap: null,
  });
  const kept = region(2, 1);
  const d = diffRegions(
    [region(1, 1), kept, region(3, 1), region(5, 1)],
    [kept, region(3, 2), region(4, 1), { ...region(5, 1), pss: 2 }],
  );
  assert.deepEqual(d.removed, [1]);
  assert.deepEqual(
    d.updated.map((r) => [r.base, r.committed]),
    [[3, 2]],
  );
  assert.deepEqual(
    d.added.map((r) => r.base),
    [4],
  );
});

test('a watched child: full picture, a 16 MiB commit as a changed region, snapshot diff, exit keeps the last picture', async () => {
  const child = await execChild();
  children.push(child);
  await child.commit(64 * 1024); // answered: Node has loaded and the exec loop runs
  const s = service();
  const { session, next } = connect(s);

  const listed = await ok<{ processes: { pid: number; committed: number | null }[] }>(session, 'listProcesses', {
    query: String(child.pid),
  });
  assert.ok(
    listed.processes.some((p) => p.pid === child.pid),
    'the child is listed',
  );

  const watched = await ok<{ pid: number; intervalMs: number }>(session, 'watchProcess', {
    pid: child.pid,
    intervalMs: 250,
  });
  assert.equal(watched.pid, child.pid);
  const full = await next((m) => m.kind === 'full');
  assert.equal(full.kind, 'full');
  let view: ProcessView = applyProcessMessage(undefined, full);
  assert.ok(view.rows.size > 10, 'a real process has many regions');
  const committedBefore = view.totals.reduce((n, t) => (t.type === 'free' ? n : n + t.committed), 0);

  const first = await ok<{ id: number }>(session, 'takeProcessSnapshot', { pid: child.pid, label: 'before' });
  const address = await child.commit(16 * MiB, 'grow');
  // Deltas until one carries the new region.
  let delta: ProcessDeltaMessage | undefined;
  while (delta === undefined) {
    const m = await next();
    view = applyProcessMessage(view, m);
    if (m.kind === 'delta' && [...m.added, ...m.updated].some((r) => r.base <= address && address < r.base + r.size)) {
      delta = m;
    }
  }
  const region = [...view.rows.values()].find((r) => r.base <= address && address < r.base + r.size);
  assert.ok(region, 'the new region is in the view');
  assert.equal(region.state, 'commit');
  assert.ok(region.committed >= charged(16 * MiB), `committed ${region.committed}`);
  assert.ok(
    delta.added.length + delta.updated.length < view.rows.size / 2,
    `a delta carries the changes only: ${delta.added.length} added, ${delta.updated.length} updated of ${view.rows.size}: ${JSON.stringify(delta.updated.slice(0, 3))}`,
  );
  const committedAfter = view.totals.reduce((n, t) => (t.type === 'free' ? n : n + t.committed), 0);
  assert.ok(
    committedAfter - committedBefore >= charged(16 * MiB),
    `committed grew by ${committedAfter - committedBefore}`,
  );

  const second = await ok<{ id: number }>(session, 'takeProcessSnapshot', { pid: child.pid, label: 'after' });
  const { diff } = await ok<{
    diff: {
      added: { base: number; committed: number }[];
      grown: { after: { base: number } }[];
      totals: { committed: { delta: number } };
    };
  }>(session, 'diffProcessSnapshots', { pid: child.pid, a: first.id, b: second.id });
  const shown = [...diff.added.map((r) => r.base), ...diff.grown.map((c) => c.after.base)];
  assert.ok(
    shown.some((b) => b <= address && address < b + 16 * MiB),
    'the diff shows the new region',
  );
  assert.ok(diff.totals.committed.delta >= charged(16 * MiB));

  await child.exit();
  let end: ProcessMessage | undefined;
  while (end === undefined) {
    const m = await next();
    view = applyProcessMessage(view, m);
    if (m.kind === 'end') end = m;
  }
  assert.equal(end.kind === 'end' && end.reason, 'exited');
  assert.equal(view.end?.reason, 'exited');
  assert.ok(view.rows.size > 10, 'the last picture stays');
  // Snapshots of an ended watch still answer.
  const list = await ok<{ snapshots: unknown[] }>(session, 'processSnapshots', { pid: child.pid });
  assert.equal(list.snapshots.length, 2);
  session.close();
});

test('refusals: past the limit (naming the watched), a process that is not running, bad params', async () => {
  const child = await execChild();
  children.push(child);
  const s = service(1);
  const { session } = connect(s);
  await ok(session, 'watchProcess', { pid: child.pid });
  const second = await session.request({ method: 'watchProcess', params: { pid: process.pid } });
  assert.equal(second.ok, false);
  assert.ok(!second.ok && second.error.code === 'refused');
  assert.match(!second.ok ? second.error.message : '', new RegExp(`at most 1 .*${child.pid}`));
  // The same refusal as a code and parameters, for a UI to word in its language.
  assert.equal(!second.ok && second.error.reason?.code, 'process-watch-limit');
  assert.equal(!second.ok && second.error.reason?.params.max, 1);

  await ok(session, 'unwatchProcess', { pid: child.pid });
  await child.exit();
  const gone = await session.request({ method: 'watchProcess', params: { pid: child.pid } });
  assert.ok(!gone.ok && gone.error.code === 'not-found', JSON.stringify(gone));
  assert.deepEqual(!gone.ok && [gone.error.reason?.code, gone.error.reason?.params.pid], [
    'process-not-running',
    child.pid,
  ]);
  assert.equal(!gone.ok && gone.error.message, !gone.ok && gone.error.reason && messageText(gone.error.reason));

  for (const params of [{ pid: -1 }, { pid: 1.5 }, { pid: '1' }, { pid: 1, intervalMs: 10 }, { pid: 1, extra: 1 }]) {
    const bad = await session.request({ method: 'watchProcess', params });
    assert.ok(!bad.ok && bad.error.code === 'bad-request', JSON.stringify(params));
  }
  const notWatched = await session.request({ method: 'takeProcessSnapshot', params: { pid: child.pid } });
  assert.ok(!notWatched.ok && notWatched.error.code === 'not-found');
  session.close();
});

test('without an inspector the process requests are refused, not crashed', async () => {
  const s = createService({ host, sampler, publisher, transport: 'ipc', version: '0' });
  services.push(s);
  const session = s.connect(() => {});
  const a = await session.request({ method: 'listProcesses' });
  assert.ok(!a.ok && a.error.code === 'refused');
  session.close();
});

test('access denied says why: another user’s process is refused with the OS’s reason', async (t) => {
  if (process.platform === 'win32' || process.getuid?.() === 0) {
    t.skip(
      'root (and Windows under Wine) reads every process here; runs as any other user, e.g. ' +
        "su -s /bin/sh nobody -c 'node --test out/tests/main/service/processes.test.js'",
    );
    return;
  }
  const s = service();
  const { session } = connect(s);
  // pid 1 belongs to root: its counters may be listed, its map not.
  const a = await session.request({ method: 'watchProcess', params: { pid: 1 } });
  assert.ok(!a.ok, 'refused');
  assert.equal(!a.ok && a.error.code, 'refused');
  assert.match(!a.ok ? a.error.message : '', /^access denied to process 1: /);
  session.close();
});

test('a process watched through the service is told to onProcessWatcher: the metrics export it until it exits', async () => {
  const child = await execChild();
  children.push(child);
  await child.commit(64 * 1024);
  const watched = new WatchedProcesses();
  const metrics = createHostMetrics({ host, sampler, version: '0.0.0-test', processes: watched });
  const s = createService({
    host,
    sampler,
    publisher,
    transport: 'websocket',
    version: '0.0.0-test',
    inspector,
    onProcessWatcher: (watcher, name) => watched.add(watcher, name),
  });
  services.push(s);
  try {
    const { session, next } = connect(s);
    await ok(session, 'watchProcess', { pid: child.pid, intervalMs: 250 });
    await next((m) => m.kind === 'full');
    // The first walk reaches the metrics with the next push at the latest.
    let parsed = parseExposition((await metrics.scrape()).body);
    for (let pushes = 0; select(parsed, 'hostmem_process_regions', { pid: String(child.pid) }).length === 0; pushes++) {
      assert.ok(pushes < 40, 'the watched process is not in the metrics after 40 pushes');
      await next();
      parsed = parseExposition((await metrics.scrape()).body);
    }
    assert.ok(total(parsed, 'hostmem_process_regions', { pid: String(child.pid) }) > 10, 'a real process has regions');
    assert.ok(total(parsed, 'hostmem_process_committed_bytes', { pid: String(child.pid) }) > 0);
    await child.exit();
    await next((m) => m.kind === 'end');
    parsed = parseExposition((await metrics.scrape()).body);
    assert.equal(select(parsed, 'hostmem_process_regions', { pid: String(child.pid) }).length, 0, 'dropped at exit');
  } finally {
    metrics.dispose();
    watched.dispose();
  }
});
