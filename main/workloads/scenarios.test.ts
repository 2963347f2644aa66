/**
 * The built-in scenarios on the real host over the real OS: each runs briefly, makes calls, and leaves nothing of
 * its own behind (leak excepted, on purpose) with the books equal to the OS; several run at once; stop, pause and
 * resume; bad parameters are refused with a clear error and nothing started.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MEM, PAGE } from '../../native';
import { DEFAULT_POLICY, createHost, type Host, type HostPolicy } from '../host';
import {
  SCENARIOS,
  WorkloadParamsError,
  describeScenario,
  listScenarios,
  startWorkload as start,
  type WorkloadHandle,
  type WorkloadSummary,
} from './index';

let host: Host | undefined;
const handles: WorkloadHandle[] = [];
/** startWorkload, remembered so that a failing test does not leave a workload running. */
const startWorkload = (...args: Parameters<typeof start>): WorkloadHandle => {
  const handle = start(...args);
  handles.push(handle);
  return handle;
};
function make(policy: Partial<HostPolicy> = {}): Host {
  host = createHost({ policy: { ...DEFAULT_POLICY, ...policy } });
  return host;
}
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
  if (host) {
    assert.deepEqual(host.audit().drift, [], 'the books match the OS at the end of every test');
    host.dispose();
  }
  host = undefined;
});

function assertLeftNothing(h: Host, s: WorkloadSummary): void {
  assert.equal(s.cleanupPending, false);
  assert.deepEqual(s.retained, { regions: 0, reserved: 0, committed: 0, heapBlocks: 0, heapBytes: 0, external: 0 });
  const st = h.stats();
  assert.equal(st.regions, 0, `${s.name} left regions`);
  assert.equal(st.reserved, 0);
  assert.equal(st.committed, 0);
  assert.equal(st.heap, 0, `${s.name} left heap blocks`);
}

const BRIEF: Record<string, Record<string, unknown>> = {
  steady: { durationMs: 500, rate: 400 },
  'gc-heap': { durationMs: 500, rate: 2000, segmentSize: '1MiB', gen0Budget: '256KiB', fullEvery: 3 },
  fragmentation: { durationMs: 500, rate: 2000, maxRegions: 64 },
  burst: { durationMs: 600, rate: 4000, idleMs: 100, burstCalls: 150 },
};

describe('scenarios: each runs, calls the host, and cleans up', () => {
  for (const [name, params] of Object.entries(BRIEF)) {
    test(`${name}: runs, touches memory, leaves nothing behind`, async () => {
      const h = make();
      const handle = startWorkload(h, { scenario: name, params });
      assert.equal(handle.name, name);
      assert.equal(handle.kind, 'scenario');
      const s = await handle.done;
      assert.equal(s.end, 'duration', s.error);
      assert.ok(s.calls > 20, `${name} made ${s.calls} calls`);
      assert.ok((s.callsByMethod.VirtualAlloc ?? 0) > 0, 'it allocates');
      assert.ok((s.callsByMethod.Fill ?? 0) > 0, 'it writes the memory');
      assert.ok(s.peak.reserved > 0 && s.peak.committed > 0, 'it committed memory');
      assert.deepEqual(s.failures, { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 });
      assert.ok(s.log.length > 0);
      assertLeftNothing(h, s);
    });
  }

  test('fragmentation: changes protections and frees out of order', async () => {
    const h = make();
    const s = await startWorkload(h, {
      scenario: 'fragmentation',
      params: { durationMs: 400, rate: 3000, protectFraction: 0.3 },
    }).done;
    assert.ok((s.callsByMethod.VirtualProtect ?? 0) > 0);
    assert.ok((s.callsByMethod.Check ?? 0) > 0);
    assert.ok(s.released.regions > 0 || (s.callsByMethod.VirtualFree ?? 0) > 0);
    assertLeftNothing(h, s);
  });

  test('gc-heap: collections decommit gen0 and full collections release', async () => {
    const h = make();
    const tags = new Set<string>();
    let decommits = 0;
    h.subscribe((e) => {
      if (e.kind === 'region' && e.region.change === 'reserve' && e.region.tag) tags.add(e.region.tag);
      if (e.kind === 'region' && e.region.change === 'decommit') decommits++;
    });
    const s = await startWorkload(h, {
      scenario: 'gc-heap',
      params: { durationMs: 500, rate: 0, segmentSize: '512KiB', gen0Budget: '128KiB', fullEvery: 2, lohChance: 0.2 },
    }).done;
    assert.ok(tags.has('gc-heap/gen0') && tags.has('gc-heap/gen2') && tags.has('gc-heap/loh'), [...tags].join(','));
    assert.ok(decommits > 0);
    assert.ok(s.log.some((l) => l.includes('full collection')));
    assertLeftNothing(h, s);
  });

  test('leak: grows and leaves what it leaked, tagged, and nothing else', async () => {
    const h = make();
    const s = await startWorkload(h, {
      scenario: 'leak',
      params: { durationMs: 500, rate: 400, leakFraction: 0.5 },
    }).done;
    assert.equal(s.end, 'duration');
    assert.ok(s.retained.regions + s.retained.heapBlocks > 0, 'something leaked');
    assert.equal(s.cleanupPending, false);
    const st = h.stats();
    assert.equal(st.regions, s.retained.regions, 'only the leaked regions are left');
    assert.equal(st.committed, s.retained.committed);
    assert.equal(st.heap, s.retained.heapBytes);
    for (const region of h.regionList()) assert.equal(region.tag, 'leak/leaked');
  });

  test('leak with releaseOnStop leaves nothing', async () => {
    const h = make();
    const s = await startWorkload(h, {
      scenario: 'leak',
      params: { durationMs: 300, rate: 400, leakFraction: 0.5, releaseOnStop: true },
    }).done;
    assert.ok(s.released.regions + s.released.heapBlocks > 0);
    assertLeftNothing(h, s);
  });

  test('steady stays away from a commit limit', async () => {
    const h = make({ commitLimit: 4 * 1024 * 1024 });
    const s = await startWorkload(h, {
      scenario: 'steady',
      params: { durationMs: 500, rate: 0, maxCommitted: '64MiB' },
    }).done;
    assert.ok(s.peak.committed <= 2 * 1024 * 1024, `peak ${s.peak.committed} within half the limit`);
    assert.deepEqual(s.failures, { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 });
    assertLeftNothing(h, s);
  });
});

describe('running workloads', () => {
  test('several at once on one host, each with its own books', async () => {
    const h = make();
    const handles = [
      startWorkload(h, { scenario: 'steady', params: { durationMs: 500, rate: 300 } }),
      startWorkload(h, { scenario: 'gc-heap', params: { durationMs: 500, rate: 1000, segmentSize: '1MiB' } }),
      startWorkload(h, { scenario: 'fragmentation', params: { durationMs: 500, rate: 1000 } }),
      startWorkload(h, { scenario: 'burst', params: { durationMs: 500, rate: 3000, idleMs: 50, burstCalls: 100 } }),
    ];
    assert.equal(new Set(handles.map((x) => x.id)).size, 4, 'distinct ids');
    await new Promise((r) => setTimeout(r, 250));
    const live = handles.map((x) => x.progress());
    assert.ok(
      live.every((p) => p.state === 'running' && p.calls > 0),
      JSON.stringify(live.map((p) => p.calls)),
    );
    const st = h.stats();
    const held = live.reduce((n, p) => n + p.held.regions, 0);
    assert.ok(Math.abs(st.regions - held) <= 4, `host ${st.regions} regions, workloads hold ${held}`);
    const summaries = await Promise.all(handles.map((x) => x.done));
    for (const s of summaries) {
      assert.equal(s.end, 'duration');
      assert.ok(s.calls > 0);
      assert.equal(s.failures.other, 0, `${s.name}: ${JSON.stringify(s.failuresByHr)}`);
    }
    assertLeftNothing(h, summaries[0]!);
  });

  test('stop() ends a workload that runs until stopped, and releases its memory', async () => {
    const h = make();
    const handle = startWorkload(h, { scenario: 'steady', params: { rate: 500 } });
    assert.equal(handle.params.durationMs, 0);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(h.stats().regions > 0);
    const s = await handle.stop();
    assert.equal(s.end, 'stopped');
    assert.equal(await handle.stop(), s, 'stop is idempotent');
    assert.equal(handle.progress().state, 'ended');
    assertLeftNothing(h, s);
  });

  test('pause holds a workload, resume lets it go on', async () => {
    const h = make();
    const handle = startWorkload(h, { scenario: 'steady', params: { rate: 1000 } });
    await new Promise((r) => setTimeout(r, 100));
    handle.pause();
    assert.equal(handle.paused, true);
    await new Promise((r) => setTimeout(r, 30));
    const before = handle.progress().calls;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(handle.progress().calls, before, 'no calls while paused');
    assert.equal(handle.progress().state, 'paused');
    handle.resume();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(handle.progress().calls > before, 'calls again after resume');
    const s = await handle.stop();
    assertLeftNothing(h, s);
  });

  test('maxCalls stops after that many calls', async () => {
    const h = make();
    const s = await startWorkload(h, { scenario: 'fragmentation', params: { rate: 0, maxCalls: 150 } }).done;
    assert.equal(s.end, 'max-calls');
    assert.ok(s.calls >= 150 && s.calls < 160, `${s.calls} calls`);
    assertLeftNothing(h, s);
  });

  test('rate is held', async () => {
    const h = make();
    const s = await startWorkload(h, { scenario: 'steady', params: { durationMs: 600, rate: 200 } }).done;
    // 200 calls/s for 0.6 s: about 120 calls (timer granularity allows some slack).
    assert.ok(s.calls >= 80 && s.calls <= 135, `${s.calls} calls in 600 ms at 200/s`);
    assertLeftNothing(h, s);
  });

  test('memory released by someone else (the UI) does not confuse a workload', async () => {
    const h = make();
    const handle = startWorkload(h, { scenario: 'steady', params: { rate: 500, regions: 4 } });
    await new Promise((r) => setTimeout(r, 150));
    for (const region of [...h.regionList()]) await h.VirtualFree(region.base, 0, MEM.RELEASE);
    await new Promise((r) => setTimeout(r, 150));
    const s = await handle.stop();
    assert.equal(s.end, 'stopped', s.error);
    assertLeftNothing(h, s);
  });

  test('a workload does not free memory it does not own', async () => {
    const h = make();
    const mine = await h.VirtualAlloc(null, 65536, MEM.RESERVE | MEM.COMMIT, PAGE.READWRITE, 0, 'test/own');
    const s = await startWorkload(h, { scenario: 'fragmentation', params: { durationMs: 300, rate: 2000 } }).done;
    assert.equal(s.retained.regions, 0);
    assert.equal(h.stats().regions, 1, 'the test region is still there');
    await h.VirtualFree(mine.address!, 0, MEM.RELEASE);
  });
});

describe('parameters', () => {
  const refused = (spec: Parameters<typeof startWorkload>[1], pattern: RegExp): void => {
    const h = host ?? make();
    const calls: string[] = [];
    const unsubscribe = h.subscribe((e) => {
      if (e.kind === 'call') calls.push(e.method);
    });
    assert.throws(
      () => startWorkload(h, spec),
      (error: unknown) => error instanceof WorkloadParamsError && pattern.test(error.message),
    );
    unsubscribe();
    assert.deepEqual(calls, [], 'nothing started');
    assert.equal(h.stats().regions, 0);
  };

  test('bad parameters are refused with a clear error and nothing starts', () => {
    make();
    refused({ scenario: 'nope' }, /no such scenario .*steady, gc-heap, leak, fragmentation, pressure, burst/);
    refused({ scenario: 'steady', params: { rate: -1 } }, /rate: Too small/);
    refused({ scenario: 'steady', params: { ratee: 5 } }, /Unrecognized key: "ratee"/);
    refused(
      { scenario: 'steady', params: { reserveMin: '2MiB', reserveMax: '1MiB' } },
      /reserveMin must not exceed reserveMax/,
    );
    refused({ scenario: 'gc-heap', params: { segmentSize: 'huge' } }, /segmentSize: expected a size \(/);
    refused({ scenario: 'leak', params: { durationMs: 'soon' } }, /durationMs: expected a duration/);
    refused({ scenario: 'pressure', params: { onUnavailable: 'panic' } }, /onUnavailable/);
    refused(
      { scenario: 'burst', params: { levels: { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0 } } },
      /at least one level/,
    );
    refused({ scenario: 'steady', params: { seed: 1.5 } }, /seed/);
    refused({ scenario: 'steady', params: 'fast' }, /expected object/i);
  });

  test('sizes and durations accept units', () => {
    const h = make();
    const handle = startWorkload(h, {
      scenario: 'burst',
      params: { durationMs: '2s', idleMs: '1.5s', sizeMax: '1MiB' },
    });
    assert.equal(handle.params.durationMs, 2000);
    assert.equal(handle.params.idleMs, 1500);
    assert.equal(handle.params.sizeMax, 1024 * 1024);
    return handle.stop().then((s) => assertLeftNothing(h, s));
  });

  test('every scenario documents its parameters and defaults', () => {
    const list = listScenarios();
    assert.deepEqual(
      list.map((s) => s.name),
      SCENARIOS.map((s) => s.name),
    );
    for (const info of list) {
      assert.ok(info.description.length > 10);
      const names = info.params.map((p) => p.name);
      for (const common of ['seed', 'durationMs', 'rate', 'maxCalls'])
        assert.ok(names.includes(common), `${info.name}.${common}`);
      for (const p of info.params) {
        assert.ok(p.description.length > 0, `${info.name}.${p.name} has a description`);
        assert.notEqual(p.default, undefined, `${info.name}.${p.name} has a default`);
      }
    }
    const pressure = describeScenario('pressure')!;
    assert.equal(pressure.params.find((p) => p.name === 'commitLimit')?.default, 64 * 1024 * 1024);
    assert.match(pressure.params.find((p) => p.name === 'onUnavailable')!.type, /enum/);
    assert.ok(describeScenario('script')!.params.some((p) => p.name === 'hangTimeoutMs'));
    assert.equal(describeScenario('nope'), undefined);
  });
});
