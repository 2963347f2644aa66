/**
 * The sampler over the real host and the real OS: values equal the host's books, failures are counted per interval
 * and level, the OS and process counters are read, and memory stays flat over a simulated day (an injected clock;
 * no timing assertion anywhere).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MEM, PAGE, type OsMemoryStatus, type OsProcessCounters } from '../../native';
import { DEFAULT_POLICY, createHost, type Host, type HostPolicy } from '../host';
import { createSampler, hostLoadPercent, type SampledOs } from './sampler';

const KiB = 1024;
const MiB = 1024 * KiB;
const RC = MEM.RESERVE | MEM.COMMIT;
const RW = PAGE.READWRITE;

let host: Host | undefined;
function make(policy: Partial<HostPolicy> = {}): Host {
  host = createHost({ policy: { ...DEFAULT_POLICY, ...policy } });
  return host;
}
afterEach(() => {
  host?.dispose();
  host = undefined;
});

/** A clock the test moves. */
function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** An OS that answers instantly (for the long simulated runs), with fixed figures. */
const fakeOs: SampledOs = {
  memoryStatus: () => ({
    ok: true,
    value: { memoryLoad: 42, totalPhys: 8 * 1024 * MiB, availPhys: 4 * 1024 * MiB, totalCommit: 0, availCommit: 0 },
  }),
  processCounters: () => ({
    ok: true,
    value: { workingSet: 100 * MiB, peakWorkingSet: 120 * MiB, privateBytes: 90 * MiB, pageFaults: 0 },
  }),
};

describe('sampler', () => {
  test('a sample equals the host books, with the OS load and the process counters of this OS', async () => {
    const h = make();
    const c = clock();
    const sampler = createSampler(h, { now: c.now });
    const a = await h.VirtualAlloc(null, 256 * KiB, MEM.RESERVE, RW, 0, 'one');
    await h.VirtualAlloc(a.address!, 64 * KiB, MEM.COMMIT, RW, 0);
    await h.VirtualAlloc(null, 128 * KiB, RC, RW, 1, 'two');
    await h.AcquiredVirtualAddressSpace(0x10000000, 1 * MiB);
    const heap = await h.CreateMalloc(0);
    await h.malloc(heap.malloc!)!.Alloc(1000, 0);

    const s = sampler.sampleNow();
    const stats = h.stats();
    assert.equal(s.t, c.now());
    assert.deepEqual(
      [s.reserved, s.committed, s.external, s.heap, s.regions],
      [stats.reserved, stats.committed, stats.external, stats.heap, stats.regions],
    );
    assert.equal(s.committed, 192 * KiB);
    assert.equal(s.state, 'available');
    assert.ok(['Low', 'Neutral', 'High'].includes(s.memoryAvailable));
    // The real OS answers both questions on Linux and Windows.
    assert.ok(s.memoryLoad !== null && s.memoryLoad >= 0 && s.memoryLoad <= 100, `memoryLoad ${s.memoryLoad}`);
    assert.ok(s.workingSet !== null && s.workingSet > 0, `workingSet ${s.workingSet}`);
    assert.ok(s.privateBytes !== null && s.privateBytes > 0, `privateBytes ${s.privateBytes}`);
    assert.equal(s.hostLoad, null, 'no commit limit: no host load');
    assert.equal(s.commitLimit, null);
    assert.deepEqual(sampler.latest(), s);
    assert.deepEqual(sampler.samples(), [s]);
  });

  test('with a commit limit, hostLoad is what GetMemoryLoad answers', async () => {
    const h = make({ commitLimit: 4 * MiB });
    const sampler = createSampler(h);
    await h.VirtualAlloc(null, 1 * MiB, RC, RW, 0);
    const heap = await h.CreateMalloc(0);
    await h.malloc(heap.malloc!)!.Alloc(300 * KiB, 0);
    const s = sampler.sampleNow();
    const load = await h.GetMemoryLoad();
    assert.equal(s.hostLoad, load.memoryLoad);
    assert.equal(s.hostLoad, hostLoadPercent(1 * MiB, 300 * KiB, 4 * MiB));
    assert.equal(s.commitLimit, 4 * MiB);
  });

  test('failures are counted per interval and per level', async () => {
    const h = make();
    const c = clock();
    const sampler = createSampler(h, { now: c.now, os: fakeOs });
    const fail = async (level: number, times: number): Promise<void> => {
      for (let i = 0; i < times; i++) await h.VirtualAlloc(null, 0, RC, RW, level); // size 0: E_INVALIDARG
    };
    const foreign = async (times: number): Promise<void> => {
      for (let i = 0; i < times; i++) await h.VirtualFree(0x10000, 0, MEM.RELEASE); // not the host's
    };
    await fail(0, 3);
    await fail(1, 1);
    await foreign(2);
    c.advance(250);
    const s1 = sampler.sampleNow();
    assert.deepEqual(s1.failures, { eTaskCritical: 3, eAppDomainCritical: 1, eProcessCritical: 0, other: 2 });

    c.advance(250);
    const s2 = sampler.sampleNow();
    assert.deepEqual(s2.failures, { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 });

    await fail(2, 4);
    await fail(0, 1);
    c.advance(250);
    const s3 = sampler.sampleNow();
    assert.deepEqual(s3.failures, { eTaskCritical: 1, eAppDomainCritical: 0, eProcessCritical: 4, other: 0 });
    // The host still counts everything since it started.
    assert.deepEqual(h.stats().failures, { eTaskCritical: 4, eAppDomainCritical: 1, eProcessCritical: 4, other: 2 });
  });

  test('failures made before the sampler existed are not counted in its first interval', async () => {
    const h = make();
    await h.VirtualAlloc(null, 0, RC, RW, 0);
    const sampler = createSampler(h, { os: fakeOs });
    assert.equal(sampler.sampleNow().failures.eTaskCritical, 0);
  });

  test('state and notification state follow the host', async () => {
    const h = make({ commitLimit: 1 * MiB, processCriticalWaitMs: 0 });
    const sampler = createSampler(h, { os: fakeOs });
    assert.equal(sampler.sampleNow().memoryAvailable, 'High');
    const r = await h.VirtualAlloc(null, 960 * KiB, RC, RW, 2); // over 90 %: only eProcessCritical may
    assert.equal(sampler.sampleNow().memoryAvailable, 'Low');
    // An eProcessCritical refusal makes the host unavailable.
    await h.VirtualAlloc(null, 512 * KiB, RC, RW, 2);
    const s = sampler.sampleNow();
    assert.equal(s.state, 'unavailable');
    assert.equal(s.failures.eProcessCritical, 1);
    h.reset();
    await h.VirtualFree(r.address!, 0, MEM.RELEASE);
    const after = sampler.sampleNow();
    assert.equal(after.state, 'available');
    assert.equal(after.memoryAvailable, 'High');
  });

  test('an OS that cannot answer gives nulls, not a crash', () => {
    const h = make();
    const unsupported = { ok: false, error: { code: 'unsupported', native: 0, call: 'x', message: 'no' } } as const;
    const sampler = createSampler(h, {
      os: {
        memoryStatus: (): { ok: false; error: typeof unsupported.error } | { ok: true; value: OsMemoryStatus } =>
          unsupported,
        processCounters: (): { ok: false; error: typeof unsupported.error } | { ok: true; value: OsProcessCounters } =>
          unsupported,
      },
    });
    const s = sampler.sampleNow();
    assert.deepEqual([s.memoryLoad, s.workingSet, s.privateBytes], [null, null, null]);
  });

  test('start / stop drive an injected timer; onSample listeners get every sample, a throwing one is ignored', () => {
    const h = make();
    const c = clock();
    let tick: (() => void) | undefined;
    let asked = 0;
    const sampler = createSampler(h, {
      now: c.now,
      os: fakeOs,
      intervalMs: 500,
      every: (ms, fn) => {
        asked = ms;
        tick = fn;
        return () => {
          tick = undefined;
        };
      },
    });
    const seen: number[] = [];
    sampler.onSample(() => {
      throw new Error('listener bug');
    });
    const off = sampler.onSample((s) => seen.push(s.t));
    sampler.start();
    sampler.start(); // idempotent
    assert.equal(asked, 500);
    assert.equal(sampler.running, true);
    assert.equal(seen.length, 1, 'start samples at once');
    c.advance(500);
    tick!();
    c.advance(500);
    tick!();
    assert.equal(seen.length, 3);
    off();
    c.advance(500);
    tick!();
    assert.equal(seen.length, 3);
    sampler.stop();
    assert.equal(tick, undefined);
    assert.equal(sampler.running, false);
    assert.equal(sampler.samples().length, 4);
  });

  test("the default timer does not keep the process alive (it is unref'd) and stops", () => {
    const h = make();
    const sampler = createSampler(h, { intervalMs: 60_000 });
    sampler.start();
    assert.equal(sampler.running, true);
    sampler.stop();
    assert.equal(sampler.running, false);
    // If the timer were ref'd and left running, this test file would never exit: node --test would time out.
    sampler.start();
  });

  test('memory stays flat: 26 simulated hours at 250 ms stay within the ring capacity', async () => {
    const h = make();
    const c = clock();
    const sampler = createSampler(h, { now: c.now, os: fakeOs });
    const r = await h.VirtualAlloc(null, 64 * KiB, RC, RW, 0);
    const first = sampler.stats();
    let maxSamples = 0;
    let maxBuckets = 0;
    const total = (26 * 3_600_000) / 250;
    for (let i = 0; i < total; i++) {
      c.advance(250);
      sampler.sampleNow();
      const st = sampler.stats();
      if (st.samples > maxSamples) maxSamples = st.samples;
      if (st.buckets > maxBuckets) maxBuckets = st.buckets;
    }
    const last = sampler.stats();
    assert.equal(last.bytes, first.bytes, 'the buffers never grow');
    assert.ok(maxSamples <= last.capacity, `${maxSamples} ≤ ${last.capacity}`);
    assert.ok(maxBuckets <= last.bucketCapacity, `${maxBuckets} ≤ ${last.bucketCapacity}`);
    assert.equal(last.samples, 3_600_000 / 250, 'the last hour at full resolution');
    const history = sampler.samples();
    assert.ok(history[0]!.t >= c.now() - 24 * 3_600_000, 'nothing older than 24 hours');
    assert.ok(history.length <= last.capacity + last.bucketCapacity);
    // Downsampled points carry their span, min and max.
    const bucket = history[0]!;
    assert.ok(bucket.span !== undefined && bucket.span.n === 40, '10 s buckets of 250 ms samples');
    assert.equal(bucket.span.min.committed, 64 * KiB);
    assert.equal(bucket.committed, 64 * KiB);
    await h.VirtualFree(r.address!, 0, MEM.RELEASE);
  });

  test('bucketed history sums failures and keeps min / max of the gauges', async () => {
    const h = make();
    const c = clock(0);
    const sampler = createSampler(h, { now: c.now, os: fakeOs, historyMs: 1000, bucketMs: 10_000 });
    const regions: number[] = [];
    for (let i = 0; i < 8; i++) {
      c.advance(250);
      if (i < 4) regions.push((await h.VirtualAlloc(null, 64 * KiB, RC, RW, 0)).address!);
      else await h.VirtualFree(regions.pop()!, 0, MEM.RELEASE);
      await h.VirtualAlloc(null, 0, RC, RW, 1);
      sampler.sampleNow();
    }
    c.advance(5000);
    sampler.sampleNow(); // the first eight leave the 1 s window
    const [b, fine] = sampler.samples();
    assert.ok(b?.span, 'a bucket');
    assert.equal(b.span.n, 8);
    assert.equal(b.span.min.committed, 0);
    assert.equal(b.span.max.committed, 4 * 64 * KiB);
    assert.equal(b.span.max.regions, 4);
    assert.equal(b.committed, 0, 'last value');
    assert.equal(b.failures.eAppDomainCritical, 8, 'failures summed over the bucket');
    assert.equal(fine?.span, undefined);
    assert.equal(sampler.samples(undefined, { maxPoints: 1 }).length, 1);
    assert.equal(sampler.recent(1)[0]!.t, c.now());
  });
});
