/**
 * `pressure` on the real host: failures of all three critical levels, the first of each in the order the
 * thresholds imply (eTaskCritical 0.90, eAppDomainCritical 0.95, eProcessCritical 1.00 after its wait), the host
 * turned unavailable, and what happens then (end / reset / wait), with the policy and the memory put back.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  DEFAULT_POLICY,
  HR,
  createHost,
  type FailureEvent,
  type FailureGroup,
  type Host,
  type HostPolicy,
} from '../host';
import { startWorkload as start, type WorkloadHandle } from './index';

const MiB = 1024 * 1024;

let host: Host | undefined;
const handles: WorkloadHandle[] = [];
/** startWorkload, remembered so that a failing test does not leave a workload running. */
const startWorkload = (...args: Parameters<typeof start>): WorkloadHandle => {
  const handle = start(...args);
  handles.push(handle);
  return handle;
};
function make(policy: Partial<HostPolicy> = {}): Host {
  // A short eProcessCritical wait keeps the tests quick; the order does not depend on it.
  host = createHost({ policy: { ...DEFAULT_POLICY, processCriticalWaitMs: 150, ...policy } });
  return host;
}
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
  if (host) {
    host.reset();
    assert.deepEqual(host.audit().drift, [], 'the books match the OS at the end of every test');
    host.dispose();
  }
  host = undefined;
});

function watchFailures(h: Host): FailureEvent[] {
  const failures: FailureEvent[] = [];
  h.subscribe((e) => {
    if (e.kind === 'failure') failures.push(e.failure);
  });
  return failures;
}

function firstOf(failures: readonly FailureEvent[]): FailureGroup[] {
  const order: FailureGroup[] = [];
  for (const f of failures) if (!order.includes(f.level)) order.push(f.level);
  return order;
}

const waitFor = async (condition: () => boolean, ms = 2000): Promise<void> => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('pressure', () => {
  test('with no host limit: sets 64 MiB, fails at all three levels in threshold order, restores the policy', async () => {
    const h = make();
    const failures = watchFailures(h);
    const states: string[] = [];
    h.subscribe((e) => {
      if (e.kind === 'state') states.push(e.state);
    });
    const policyBefore = h.policy();
    const s = await startWorkload(h, { scenario: 'pressure', params: { rate: 0, durationMs: 10_000 } }).done;

    assert.equal(s.end, 'completed', 'onUnavailable "end": it ends by itself');
    assert.ok(s.failures.eTaskCritical > 0 && s.failures.eAppDomainCritical > 0 && s.failures.eProcessCritical > 0);
    assert.deepEqual(firstOf(failures), ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical']);
    const task = failures.find((f) => f.level === 'eTaskCritical')!;
    const appDomain = failures.find((f) => f.level === 'eAppDomainCritical')!;
    const process = failures.find((f) => f.level === 'eProcessCritical')!;
    assert.ok(task.seq < appDomain.seq && appDomain.seq < process.seq);
    assert.equal(task.hr, HR.E_OUTOFMEMORY);
    assert.equal(task.reason, 'policy');
    assert.equal(appDomain.hr, HR.E_OUTOFMEMORY);
    assert.equal(process.hr, HR.HOST_E_TIMEOUT, 'eProcessCritical waits, then times out');
    assert.equal(failures.filter((f) => f.level === 'other').length, 0, 'no call was made on the unavailable host');
    assert.deepEqual(states, ['unavailable']);
    assert.ok(s.peak.committed > 0.95 * 64 * MiB && s.peak.committed <= 64 * MiB, `peak ${s.peak.committed}`);
    assert.ok(s.log.some((l) => l.includes('no commit limit: 64.0 MiB set')));
    assert.equal(h.policy(), policyBefore, 'the previous policy is back');

    // The host is unavailable: its memory is released once the host is reset.
    assert.equal(s.cleanupPending, true);
    assert.ok(s.retained.regions > 0);
    assert.equal(h.stats().regions, s.retained.regions);
    h.reset();
    await waitFor(() => h.stats().regions === 0);
    assert.equal(h.stats().committed, 0);
  });

  test('uses the host limit when there is one, and leaves the policy alone', async () => {
    const h = make({ commitLimit: 16 * MiB });
    const failures = watchFailures(h);
    const policy = h.policy();
    const s = await startWorkload(h, {
      scenario: 'pressure',
      params: { rate: 0, chunkMin: '64KiB', chunkMax: '256KiB' },
    }).done;
    assert.deepEqual(firstOf(failures), ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical']);
    assert.ok(s.peak.committed <= 16 * MiB && s.peak.committed > 15 * MiB);
    assert.equal(h.policy(), policy);
    h.reset();
    await waitFor(() => h.stats().regions === 0);
  });

  test('chunks larger than a threshold gap are clamped and the order still holds', async () => {
    const h = make({ commitLimit: 8 * MiB });
    const failures = watchFailures(h);
    const s = await startWorkload(h, {
      scenario: 'pressure',
      params: { rate: 0, chunkMin: '1MiB', chunkMax: '4MiB', seed: 9 },
    }).done;
    assert.ok(
      s.log.some((l) => l.includes('chunks clamped')),
      s.log.join('\n'),
    );
    assert.deepEqual(firstOf(failures), ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical']);
    h.reset();
    await waitFor(() => h.stats().regions === 0);
  });

  test('the order holds for many seeds and level mixes', async () => {
    const h = make({ commitLimit: 8 * MiB, processCriticalWaitMs: 20 });
    const mixes = [
      { eTaskCritical: 1, eAppDomainCritical: 1, eProcessCritical: 1 },
      { eTaskCritical: 1, eAppDomainCritical: 3, eProcessCritical: 5 },
      { eTaskCritical: 4, eAppDomainCritical: 1, eProcessCritical: 1 },
    ];
    for (let seed = 1; seed <= 6; seed++) {
      const failures = watchFailures(h);
      await startWorkload(h, {
        scenario: 'pressure',
        params: { rate: 0, seed, levels: mixes[seed % mixes.length], chunkMin: '16KiB', chunkMax: '400KiB' },
      }).done;
      assert.deepEqual(firstOf(failures), ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'], `seed ${seed}`);
      h.reset();
      await waitFor(() => h.stats().regions === 0);
    }
  });

  test('onUnavailable "reset": resets after resetDelayMs, releases some, ramps again', async () => {
    const h = make({ commitLimit: 8 * MiB });
    const states: string[] = [];
    h.subscribe((e) => {
      if (e.kind === 'state') states.push(e.state);
    });
    const handle = startWorkload(h, {
      scenario: 'pressure',
      params: { rate: 0, onUnavailable: 'reset', resetDelayMs: 50, chunkMin: '64KiB', chunkMax: '256KiB' },
    });
    await waitFor(() => states.filter((x) => x === 'available').length >= 2, 5000);
    const s = await handle.stop();
    assert.ok(s.failures.eProcessCritical >= 2, 'two cycles at least');
    assert.ok(s.log.filter((l) => l.includes('host.reset()')).length >= 2);
    h.reset();
    await waitFor(() => h.stats().regions === 0);
  });

  test('onUnavailable "wait": waits for someone to reset the host', async () => {
    const h = make({ commitLimit: 8 * MiB });
    const handle = startWorkload(h, {
      scenario: 'pressure',
      params: { rate: 0, onUnavailable: 'wait', chunkMin: '64KiB', chunkMax: '256KiB' },
    });
    await waitFor(() => h.stats().state === 'unavailable', 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.stats().state, 'unavailable', 'it does not reset the host itself');
    assert.equal(handle.progress().state, 'running');
    assert.equal(handle.progress().failures.eProcessCritical, 1);
    h.reset();
    await waitFor(() => handle.progress().failures.eProcessCritical === 2, 3000);
    const s = await handle.stop();
    assert.ok(s.log.some((l) => l.includes('the host was reset')));
    h.reset();
    await waitFor(() => h.stats().regions === 0);
  });

  test('commitLimit null on a host without a limit: says so and ends without a call', async () => {
    const h = make();
    const s = await startWorkload(h, { scenario: 'pressure', params: { commitLimit: null } }).done;
    assert.equal(s.end, 'completed');
    assert.equal(s.calls, 0);
    assert.ok(s.log.some((l) => l.includes('no commit limit')));
    assert.equal(h.policy().commitLimit, null);
  });

  test('other workloads wait out the unavailable host instead of failing', async () => {
    const h = make({ commitLimit: 32 * MiB });
    const steady = startWorkload(h, { scenario: 'steady', params: { rate: 200 } });
    const s = await startWorkload(h, {
      scenario: 'pressure',
      params: { rate: 0, chunkMin: '256KiB', chunkMax: '512KiB' },
    }).done;
    assert.ok(s.failures.eProcessCritical > 0);
    await new Promise((r) => setTimeout(r, 300));
    const during = steady.progress();
    assert.equal(during.failures.other, 0, 'steady does not hammer the unavailable host');
    h.reset();
    await waitFor(() => h.stats().regions === steady.progress().held.regions);
    const t = await steady.stop();
    assert.ok(t.log.some((l) => l.includes('waiting for a reset')));
    assert.equal(h.stats().regions, 0);
  });
});
