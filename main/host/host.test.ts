/**
 * The host over the real OS backend: the rules that a line-by-line exec script cannot show (waiting, wake-up
 * order, notifications, events), plus the books against the OS after each scenario.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MEM, PAGE } from '../../native';
import {
  DEFAULT_POLICY,
  HR,
  MAX_TIMER_MS,
  MEMORY_AVAILABLE,
  classifyLoad,
  createHost,
  type Host,
  type HostEvent,
  type HostPolicy,
} from './index';

const KiB = 1024;
const RC = MEM.RESERVE | MEM.COMMIT;
const RW = PAGE.READWRITE;

let host: Host | undefined;
function make(policy: Partial<HostPolicy> = {}): Host {
  host = createHost({ policy: { ...DEFAULT_POLICY, ...policy } });
  return host;
}
afterEach(() => {
  if (host) {
    assert.deepEqual(host.audit().drift, [], 'the books match the OS at the end of every test');
    host.dispose();
  }
  host = undefined;
});

describe('host: reservations and the books', () => {
  test('reserve, commit inside, decommit, release keep reserved/committed exact', async () => {
    const h = make();
    const r = await h.VirtualAlloc(null, 100000, MEM.RESERVE, RW, 0, 'books');
    assert.equal(r.hr, HR.S_OK);
    assert.equal(r.address! % 0x10000, 0);
    assert.equal(h.stats().reserved, 0x19000);
    assert.equal(h.stats().committed, 0);
    const c = await h.VirtualAlloc(r.address! + 5000, 10000, MEM.COMMIT, RW, 0);
    assert.equal(c.hr, HR.S_OK);
    assert.equal(c.address, r.address! + 4096, 'commit returns the page-aligned start');
    assert.equal(h.stats().committed, 3 * 4096, '[5000, 15000) touches pages 1, 2 and 3');
    assert.deepEqual(h.audit().drift, []);
    assert.equal((await h.VirtualFree(r.address! + 8192, 1, MEM.DECOMMIT)).hr, HR.S_OK);
    assert.equal(h.stats().committed, 2 * 4096);
    assert.deepEqual(h.audit().drift, []);
    assert.equal((await h.VirtualFree(r.address!, 0, MEM.RELEASE)).hr, HR.S_OK);
    assert.deepEqual(h.stats().reserved, 0);
    assert.equal((await h.VirtualFree(r.address!, 0, MEM.RELEASE)).hr, HR.HOST_E_INVALIDOPERATION);
  });

  test('VirtualQuery describes owned runs from the books and foreign memory from the OS', async () => {
    const h = make();
    const r = await h.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, RW, 1, 'q');
    await h.VirtualAlloc(r.address! + 8192, 4096, MEM.COMMIT, PAGE.READONLY, 1);
    const q1 = await h.VirtualQuery(r.address! + 100);
    assert.equal(q1.info?.state, 'MEM_RESERVE');
    assert.equal(q1.info?.regionSize, 8192);
    assert.equal(q1.info?.owned, true);
    assert.equal(q1.info?.level, 'eAppDomainCritical');
    assert.equal(q1.info?.tag, 'q');
    const q2 = await h.VirtualQuery(r.address! + 8192);
    assert.deepEqual([q2.info?.state, q2.info?.protect, q2.info?.regionSize], ['MEM_COMMIT', PAGE.READONLY, 4096]);
    const foreign = await h.VirtualQuery(r.address! + 64 * KiB + 64 * KiB * 1000);
    assert.equal(foreign.hr, HR.S_OK);
    assert.equal(foreign.info?.owned, false);
  });

  test('events: every call, region change and failure is published in order', async () => {
    const h = make();
    const events: HostEvent[] = [];
    h.subscribe((e) => events.push(e));
    const r = await h.VirtualAlloc(null, 64 * KiB, RC, RW, 0, 'ev');
    await h.VirtualFree(r.address! + 1, 0, MEM.RELEASE);
    await h.VirtualFree(r.address!, 0, MEM.RELEASE);
    const kinds = events.map((e) =>
      e.kind === 'region' ? `region:${e.region.change}` : e.kind === 'call' ? `call:${e.method}` : e.kind,
    );
    assert.deepEqual(kinds, [
      'region:reserve',
      'region:commit',
      'call:VirtualAlloc',
      'failure',
      'call:VirtualFree',
      'region:release',
      'call:VirtualFree',
    ]);
    const failure = events.find((e) => e.kind === 'failure');
    assert.ok(failure && failure.kind === 'failure');
    assert.equal(failure.failure.hr, HR.E_INVALIDARG);
    assert.equal(failure.failure.level, 'other');
  });
});

describe('host: policy', () => {
  test('thresholds refuse by level in the order 0.90 < 0.95 < 1.00', async () => {
    const h = make({ commitLimit: 100 * 64 * KiB, processCriticalWaitMs: 20 });
    // Commit 89 granules: at 89 % everything still fits.
    const a = await h.VirtualAlloc(null, 89 * 64 * KiB, RC, RW, 0);
    assert.equal(a.hr, HR.S_OK);
    const unit = 64 * KiB;
    assert.equal((await h.VirtualAlloc(null, unit, RC, RW, 0)).hr, HR.S_OK, 'task: 90 % is allowed');
    const task = await h.VirtualAlloc(null, unit, RC, RW, 0);
    assert.deepEqual([task.hr, task.reason], [HR.E_OUTOFMEMORY, 'policy'], 'task: 91 % is refused');
    for (let i = 0; i < 5; i++) assert.equal((await h.VirtualAlloc(null, unit, RC, RW, 1)).hr, HR.S_OK);
    const appDomain = await h.VirtualAlloc(null, unit, RC, RW, 1);
    assert.deepEqual([appDomain.hr, appDomain.reason], [HR.E_OUTOFMEMORY, 'policy'], 'appdomain: 96 % is refused');
    for (let i = 0; i < 4; i++) assert.equal((await h.VirtualAlloc(null, unit, RC, RW, 2)).hr, HR.S_OK);
    assert.equal(h.stats().committed, 99 * unit);
    assert.deepEqual(h.stats().failures, { eTaskCritical: 1, eAppDomainCritical: 1, eProcessCritical: 0, other: 0 });
  });

  test('a wait no timer can do is refused by setPolicy (a 32-bit ms count: longer would fire after 1 ms)', () => {
    const h = make({});
    h.setPolicy({ ...h.policy(), processCriticalWaitMs: MAX_TIMER_MS });
    assert.equal(h.policy().processCriticalWaitMs, MAX_TIMER_MS);
    assert.throws(
      () => h.setPolicy({ ...h.policy(), processCriticalWaitMs: MAX_TIMER_MS + 1 }),
      /processCriticalWaitMs must be at most 2147483647 ms/,
    );
    assert.equal(h.policy().processCriticalWaitMs, MAX_TIMER_MS, 'the refused policy changed nothing');
  });

  test('a waiting eProcessCritical request is satisfied when memory is freed in time', async () => {
    const h = make({ commitLimit: 4 * 64 * KiB, processCriticalWaitMs: 5000 });
    const a = await h.VirtualAlloc(null, 4 * 64 * KiB, RC, RW, 2);
    assert.equal(a.hr, HR.S_OK);
    const waiting = h.VirtualAlloc(null, 64 * KiB, RC, RW, 2, 'waiter');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.stats().regions, 1, 'the waiter has not allocated yet');
    await h.VirtualFree(a.address!, 2 * 64 * KiB, MEM.DECOMMIT);
    const w = await waiting;
    assert.equal(w.hr, HR.S_OK);
    assert.equal(h.stats().state, 'available');
    assert.equal(h.stats().committed, 3 * 64 * KiB);
  });

  test('an unsatisfied eProcessCritical request times out and the host turns unavailable until Reset', async () => {
    const h = make({ commitLimit: 64 * KiB, processCriticalWaitMs: 30 });
    assert.equal((await h.VirtualAlloc(null, 64 * KiB, RC, RW, 2)).hr, HR.S_OK);
    const t0 = Date.now();
    const w = await h.VirtualAlloc(null, 64 * KiB, RC, RW, 2);
    assert.ok(Date.now() - t0 >= 25, 'it waited');
    assert.deepEqual([w.hr, w.reason], [HR.HOST_E_TIMEOUT, 'timeout']);
    assert.equal(h.stats().state, 'unavailable');
    const after = await h.VirtualQuery(0x10000);
    assert.deepEqual([after.hr, after.reason], [HR.HOST_E_CLRNOTAVAILABLE, 'unavailable']);
    h.reset();
    assert.equal((await h.GetMemoryLoad()).hr, HR.S_OK);
  });

  test('Reset abandons waiting requests', async () => {
    const h = make({ commitLimit: 64 * KiB, processCriticalWaitMs: 10000 });
    assert.equal((await h.VirtualAlloc(null, 64 * KiB, RC, RW, 2)).hr, HR.S_OK);
    const waiting = h.VirtualAlloc(null, 64 * KiB, RC, RW, 2);
    await new Promise((r) => setTimeout(r, 10));
    h.reset();
    const w = await waiting;
    assert.equal(w.hr, HR.HOST_E_ABANDONED);
  });

  test('seeded faults: the same seed injects the same failures', async () => {
    const run = async (seed: number): Promise<string> => {
      const h = createHost({ policy: { ...DEFAULT_POLICY, seed, faults: [{ probability: 0.3 }] } });
      let out = '';
      for (let i = 0; i < 60; i++) {
        const r = await h.VirtualAlloc(null, 4096, MEM.RESERVE, RW, 0);
        out += r.hr === HR.S_OK ? '.' : r.reason === 'injected' ? 'x' : '?';
      }
      h.dispose();
      return out;
    };
    const a = await run(7);
    assert.equal(a, await run(7));
    assert.notEqual(a, await run(8));
    assert.ok(a.includes('x') && a.includes('.') && !a.includes('?'));
  });

  test('notifications change once per crossing, with hysteresis', async () => {
    const h = make({ commitLimit: 100 * 4096 });
    const seen: number[] = [];
    await h.RegisterMemoryNotificationCallback((m) => seen.push(m));
    const r = await h.VirtualAlloc(null, 100 * 4096, MEM.RESERVE, RW, 0);
    const commit = (pages: number, at: number) =>
      h.VirtualAlloc(r.address! + at * 4096, pages * 4096, MEM.COMMIT, RW, 0);
    await commit(60, 0); // 60 % → Neutral
    await commit(30, 60); // 90 % → Low
    await h.VirtualFree(r.address! + 87 * 4096, 3 * 4096, MEM.DECOMMIT); // 87 %: still Low (hysteresis)
    await h.VirtualFree(r.address! + 80 * 4096, 7 * 4096, MEM.DECOMMIT); // 80 % → Neutral
    await h.VirtualFree(r.address! + 52 * 4096, 28 * 4096, MEM.DECOMMIT); // 52 % → Neutral
    await h.VirtualFree(r.address! + 40 * 4096, 12 * 4096, MEM.DECOMMIT); // 40 % → High
    assert.deepEqual(seen, [
      MEMORY_AVAILABLE.Neutral,
      MEMORY_AVAILABLE.Low,
      MEMORY_AVAILABLE.Neutral,
      MEMORY_AVAILABLE.High,
    ]);
    assert.equal(classifyLoad(0.52, MEMORY_AVAILABLE.High), MEMORY_AVAILABLE.High);
    assert.equal(classifyLoad(0.56, MEMORY_AVAILABLE.High), MEMORY_AVAILABLE.Neutral);
  });

  test('heap blocks are charged against the commit limit and freed ones wake waiters', async () => {
    const h = make({ commitLimit: 100 * KiB, processCriticalWaitMs: 5000 });
    const m = await h.CreateMalloc(1);
    const heap = h.malloc(m.malloc!);
    assert.ok(heap);
    const a = await heap.Alloc(80 * KiB, 0);
    assert.equal(a.hr, HR.S_OK);
    assert.equal(h.stats().heap, 80 * KiB);
    assert.equal((await heap.Alloc(20 * KiB, 0)).hr, HR.E_OUTOFMEMORY, 'task threshold: 90 KiB');
    const waiting = heap.DebugAlloc(30 * KiB, 2, 'host.test.ts', 42); // 110 KiB > 100 %: it waits
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(h.stats().heap, 80 * KiB, 'still waiting');
    assert.equal((await heap.Free(a.address!)).hr, HR.S_OK);
    const b = await waiting;
    assert.equal(b.hr, HR.S_OK);
    assert.equal(h.stats().heap, 30 * KiB);
    assert.equal((await heap.Free(b.address! + 8)).hr, HR.HOST_E_INVALIDOPERATION, 'not a block');
    assert.equal((await heap.Free(b.address!)).hr, HR.S_OK);
    assert.equal((await heap.Free(b.address!)).hr, HR.HOST_E_INVALIDOPERATION, 'double free');
  });

  test('Fill and Check refuse what is not committed, writable or the host’s, and never crash', async () => {
    const h = make();
    const r = await h.VirtualAlloc(null, 64 * KiB, MEM.RESERVE, RW, 0);
    const base = r.address!;
    assert.equal((await h.Fill(base, 16, 1)).hr, HR.ERROR_INVALID_ADDRESS, 'reserved, not committed');
    await h.VirtualAlloc(base, 8192, MEM.COMMIT, RW, 0);
    assert.equal((await h.Fill(base, 8192, 0x7f)).hr, HR.S_OK);
    assert.equal((await h.Check(base, 8192, 0x7f)).equal, true);
    assert.equal((await h.Fill(base + 4096, 8192, 1)).hr, HR.ERROR_INVALID_ADDRESS, 'runs into reserved pages');
    await h.VirtualProtect(base, 4096, PAGE.READONLY);
    assert.equal((await h.Fill(base, 1, 1)).hr, HR.ERROR_NOACCESS);
    assert.equal((await h.Check(base, 4096, 0x7f)).equal, true, 'read-only pages can be read');
    await h.VirtualProtect(base, 4096, PAGE.NOACCESS);
    assert.equal((await h.Check(base, 1, 0)).hr, HR.ERROR_NOACCESS);
    assert.equal((await h.Fill(0x10000, 1, 1)).hr, HR.HOST_E_INVALIDOPERATION, 'foreign');
  });
});
