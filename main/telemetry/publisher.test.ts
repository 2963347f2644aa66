/**
 * The publisher over the real host: a full first message that matches the host, coalesced deltas, bounded pushes
 * whose rows a client reassembles into exactly the host's region list (messages.ts `applyMessage`), resync, several
 * subscribers, and the push rate, all with an injected clock and scheduler (no timing assertion).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import fc from 'fast-check';
import { MEM, PAGE } from '../../native';
import { DEFAULT_POLICY, createHost, type Host, type HostPolicy } from '../host';
import {
  OutOfSyncError,
  applyMessage,
  sortedRows,
  type ClientView,
  type DeltaMessage,
  type FullMessage,
  type PushMessage,
  type RegionRow,
} from './messages';
import { createPublisher, type Publisher, type PublisherOptions } from './publisher';
import { createSampler, type SampledOs, type Sampler } from './sampler';

const KiB = 1024;
const RC = MEM.RESERVE | MEM.COMMIT;
const RW = PAGE.READWRITE;

const fakeOs: SampledOs = {
  memoryStatus: () => ({
    ok: true,
    value: { memoryLoad: 30, totalPhys: 1 << 30, availPhys: 1 << 29, totalCommit: 0, availCommit: 0 },
  }),
  processCounters: () => ({
    ok: true,
    value: { workingSet: 1 << 26, peakWorkingSet: 1 << 26, privateBytes: 1 << 25, pageFaults: 0 },
  }),
};

/** A simulated clock and a scheduler that runs only when the test moves the clock. */
class FakeTime {
  t = 1_700_000_000_000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;
  scheduled = 0;
  readonly now = (): number => this.t;
  readonly schedule = (fn: () => void, delayMs: number): (() => void) => {
    const id = this.nextId++;
    this.scheduled++;
    this.timers.push({ at: this.t + Math.max(0, delayMs), fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  };
  get pending(): number {
    return this.timers.length;
  }
  /** Move the clock to `to`, running every timer due on the way at its own time. */
  runUntil(to: number): void {
    for (;;) {
      const due = this.timers.filter((x) => x.at <= to).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = Math.max(this.t, to);
  }
  /** Run timers until none is left (bounded, so a bug cannot hang the test). */
  drain(): void {
    for (let i = 0; i < 100_000 && this.timers.length > 0; i++) {
      const next = Math.min(...this.timers.map((x) => x.at));
      this.runUntil(next);
    }
    assert.equal(this.timers.length, 0, 'the publisher went idle');
  }
}

/** A subscriber that records its pushes and keeps a client view with the renderer's own apply function. */
class Client {
  readonly messages: PushMessage[] = [];
  view: ClientView | undefined;
  /** Failures inside send (the publisher would swallow them as a transport error): checked by rows(). */
  readonly errors: unknown[] = [];
  readonly send = (m: PushMessage): void => {
    try {
      // Through JSON, as a transport would carry it.
      const copy = JSON.parse(JSON.stringify(m)) as PushMessage;
      assert.deepEqual(copy, m, 'a message survives JSON unchanged');
      this.messages.push(copy);
      this.view = applyMessage(this.view, copy);
    } catch (e) {
      this.errors.push(e);
    }
  };
  get last(): PushMessage {
    return this.messages.at(-1)!;
  }
  rows(): RegionRow[] {
    assert.deepEqual(this.errors, []);
    return sortedRows(this.view!);
  }
}

/** The rows the host's region list should give, computed here independently of the publisher. */
function expectedRows(h: Host): RegionRow[] {
  return [...h.regionList()].map((r) => {
    const protects = new Set(r.runs.map((x) => x.protect));
    return {
      base: r.base,
      size: r.size,
      committed: r.committed,
      level: r.level,
      tag: r.tag ?? null,
      protect: protects.size === 0 ? 0 : protects.size === 1 ? [...protects][0]! : 'mixed',
      allocationProtect: r.allocationProtect,
      created: r.created,
      runs: r.runs.length,
    };
  });
}

const rowsOf = (m: PushMessage): number =>
  m.type === 'full' ? m.rows.length : m.added.length + m.updated.length + m.removed.length;

let host: Host | undefined;
let publisher: Publisher | undefined;
afterEach(() => {
  publisher?.stop();
  publisher = undefined;
  if (host) assert.deepEqual(host.audit().drift, []);
  host?.dispose();
  host = undefined;
});

function setup(
  options: Partial<PublisherOptions> = {},
  policy: Partial<HostPolicy> = {},
): { h: Host; time: FakeTime; sampler: Sampler; pub: Publisher } {
  const time = new FakeTime();
  const h = createHost({ policy: { ...DEFAULT_POLICY, ...policy }, now: time.now });
  host = h;
  const sampler = createSampler(h, { now: time.now, os: fakeOs });
  const pub = createPublisher(h, sampler, { now: time.now, schedule: time.schedule, ...options });
  publisher = pub;
  return { h, time, sampler, pub };
}

async function reserveMany(h: Host, n: number, tag = 'r', commit = false): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await h.VirtualAlloc(null, 64 * KiB, commit ? RC : MEM.RESERVE, RW, i % 3, `${tag}${i % 4}`);
    assert.equal(r.hr, 0);
    out.push(r.address!);
  }
  return out;
}

describe('publisher: the full message', () => {
  test('the first push is full and matches the host: info, rows, stats, failures, sample history', async () => {
    const time = new FakeTime();
    const h = createHost({ policy: { ...DEFAULT_POLICY, commitLimit: 64 << 20 }, now: time.now });
    host = h;
    const sampler = createSampler(h, { now: time.now }); // the real OS
    const bases = await reserveMany(h, 5, 'full', true);
    await h.VirtualProtect(bases[0]!, 4096, PAGE.READONLY);
    await h.VirtualFree(bases[1]!, 0, MEM.DECOMMIT);
    await h.VirtualAlloc(null, 0, RC, RW, 1); // a failure
    for (let i = 0; i < 3; i++) {
      time.t += 250;
      sampler.sampleNow();
    }
    const pub = createPublisher(h, sampler, { now: time.now, schedule: time.schedule });
    publisher = pub;
    const c = new Client();
    pub.subscribe(c.send);
    assert.equal(c.messages.length, 0, 'nothing is sent from inside subscribe');
    time.drain();
    assert.equal(c.messages.length, 1);
    const m = c.last as FullMessage;
    assert.equal(m.type, 'full');
    assert.equal(m.seq, 1);
    assert.equal(m.time, time.t);
    assert.deepEqual(m.host, {
      backend: h.backend,
      pageSize: h.pageSize,
      allocationGranularity: 65536,
      policy: h.policy(),
      state: { state: 'available', cause: null, since: null },
      memoryAvailable: 'High',
    });
    assert.deepEqual(m.rows, expectedRows(h));
    assert.equal(m.complete, true);
    const rowOf = (b: number): RegionRow => m.rows.find((r) => r.base === b)!;
    assert.equal(rowOf(bases[0]!).protect, 'mixed');
    assert.equal(rowOf(bases[0]!).runs, 2);
    assert.equal(rowOf(bases[1]!).protect, 0);
    assert.equal(rowOf(bases[1]!).committed, 0);
    assert.equal(rowOf(bases[2]!).protect, RW);
    const s = h.stats();
    assert.deepEqual(m.stats, {
      reserved: s.reserved,
      committed: s.committed,
      external: s.external,
      heap: s.heap,
      regions: s.regions,
      failures: s.failures,
    });
    assert.equal(m.failures.length, 0, 'failures before the publisher existed are in the counts only');
    assert.equal(m.samples.length, 3);
    assert.deepEqual(m.samples, sampler.samples());
    assert.deepEqual(c.rows(), expectedRows(h));
  });

  test('the full message carries the last N failures and a bounded, downsampled sample history', async () => {
    const { h, time, sampler, pub } = setup({ recentFailures: 10, maxHistoryPoints: 50, historyMs: 60_000 });
    for (let i = 0; i < 25; i++) await h.VirtualAlloc(null, 0, RC, RW, i % 3);
    for (let i = 0; i < 1000; i++) {
      time.t += 250;
      sampler.sampleNow();
    }
    time.drain();
    const c = new Client();
    pub.subscribe(c.send);
    time.drain();
    const m = c.last as FullMessage;
    assert.equal(m.failures.length, 10);
    assert.deepEqual(
      m.failures.map((f) => f.level),
      Array.from(
        { length: 10 },
        (_, i) => (['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const)[(15 + i) % 3],
      ),
    );
    assert.ok(m.failures.every((f) => f.method === 'VirtualAlloc' && f.reason === 'invalid' && f.tag === null));
    assert.ok(m.samples.length <= 50 && m.samples.length > 0);
    assert.ok(m.samples[0]!.t >= time.t - 60_000 - 60_000 / 50, 'only the history window');
    assert.ok(
      m.samples.some((p) => p.span !== undefined),
      'downsampled to fit',
    );
  });
});

describe('publisher: deltas', () => {
  test('10,000 host calls between two pushes: one push with the right final rows', async () => {
    const { h, time, pub } = setup();
    const before = await reserveMany(h, 200, 'old');
    const c = new Client();
    pub.subscribe(c.send);
    time.drain();
    assert.equal(c.messages.length, 1);
    const scheduledBefore = time.scheduled;

    let calls = 0;
    const bases = await reserveMany(h, 1000, 'new');
    calls += 1000;
    // Commit (two protections) and decommit pages over and over: 8,000 calls that change rows many times each.
    // (Few VirtualProtect calls: on Linux each one reads /proc/self/maps, which is slow with 1,000s of mappings.)
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 1000; i++) {
        const b = bases[i]!;
        await h.VirtualAlloc(b + (round % 16) * 4096, 8192, MEM.COMMIT, RW, 0);
        await h.VirtualAlloc(b + (round % 16) * 4096, 4096, MEM.COMMIT, PAGE.READONLY, 0);
        await h.VirtualFree(b + (round % 16) * 4096 + 4096, 4096, MEM.DECOMMIT);
        await h.VirtualAlloc(b + 12 * 4096, 4096, MEM.COMMIT, PAGE.EXECUTE_READ, 1);
        calls += 4;
      }
    }
    // Release 300 of the new ones (added then removed: never sent) and 100 of the old (sent: must be removed).
    for (let i = 0; i < 300; i++) await h.VirtualFree(bases[i]!, 0, MEM.RELEASE);
    for (let i = 0; i < 100; i++) await h.VirtualFree(before[i]!, 0, MEM.RELEASE);
    calls += 400;
    // Changes to the old ones still alive.
    for (let i = 100; i < 200; i++) await h.VirtualAlloc(before[i]!, 4096, MEM.COMMIT, RW, 2);
    calls += 100;
    for (let i = 0; i < 10; i++) await h.VirtualProtect(bases[999 - i]!, 4096, PAGE.EXECUTE_READ);
    calls += 10;
    for (; calls < 10_000; calls++) await h.VirtualQuery(before[150]!);

    assert.equal(c.messages.length, 1, 'no push while the clock stands still');
    assert.equal(time.scheduled - scheduledBefore, 1, 'one push scheduled for all 10,000 calls');
    time.drain();
    assert.equal(c.messages.length, 2, 'exactly one push');
    const d = c.last as DeltaMessage;
    assert.equal(d.type, 'delta');
    assert.equal(d.seq, 2);
    assert.equal(d.added.length, 700, 'the new regions still alive, once each');
    assert.equal(d.removed.length, 100);
    assert.equal(d.updated.length, 100);
    assert.deepEqual(new Set(d.removed), new Set(before.slice(0, 100)));
    const expected = new Map(expectedRows(h).map((r) => [r.base, r]));
    for (const row of [...d.added, ...d.updated]) assert.deepEqual(row, expected.get(row.base));
    assert.equal(d.complete, true);
    assert.deepEqual(c.rows(), expectedRows(h));
    assert.deepEqual(c.view!.stats.committed, h.stats().committed);
  });

  test('regions reserved and released between two pushes are not sent at all; nothing new, no push', async () => {
    const { h, time, pub } = setup();
    const keep = await reserveMany(h, 3, 'keep', true);
    const c = new Client();
    pub.subscribe(c.send);
    time.drain();
    for (let i = 0; i < 50; i++) {
      const r = await h.VirtualAlloc(null, 128 * KiB, RC, RW, 0, 'temp');
      await h.VirtualAlloc(r.address!, 4096, MEM.COMMIT, PAGE.READONLY, 0);
      await h.VirtualFree(r.address!, 0, MEM.RELEASE);
    }
    time.drain();
    assert.equal(c.messages.length, 1, 'books unchanged, rows unchanged: no delta at all');

    // A base released and reserved again in one window is one updated row.
    const old = keep[0]!;
    await h.VirtualFree(old, 0, MEM.RELEASE);
    const again = await h.VirtualAlloc(old, 64 * KiB, MEM.RESERVE, PAGE.READONLY, 2, 'again');
    assert.equal(again.address, old);
    time.drain();
    const d = c.last as DeltaMessage;
    assert.deepEqual([d.added.length, d.removed.length], [0, 0]);
    assert.deepEqual(
      d.updated,
      expectedRows(h).filter((r) => r.base === old),
    );
    assert.deepEqual(c.rows(), expectedRows(h));
  });

  test('rows beyond maxRowsPerPush follow in later pushes, and the client ends equal to the host', async () => {
    const { h, time, pub } = setup({ maxRowsPerPush: 100 });
    const bases = await reserveMany(h, 1050, 'big');
    const c = new Client();
    pub.subscribe(c.send);
    time.runUntil(time.t); // the first push only
    const first = c.last as FullMessage;
    assert.equal(first.type, 'full');
    assert.equal(first.rows.length, 100);
    assert.equal(first.complete, false);
    assert.deepEqual(first.rows, expectedRows(h).slice(0, 100));

    // While the rest is on its way: release some sent and some unsent rows, change others, add new ones.
    await h.VirtualFree(
      bases.find((b) => b === first.rows[5]!.base)!,
      0,
      MEM.RELEASE,
    );
    const unsent = expectedRows(h)[700]!.base;
    await h.VirtualFree(unsent, 0, MEM.RELEASE);
    await h.VirtualAlloc(first.rows[10]!.base, 4096, MEM.COMMIT, RW, 0);
    await h.VirtualAlloc(expectedRows(h)[900]!.base, 4096, MEM.COMMIT, RW, 0);
    await reserveMany(h, 30, 'late');
    time.drain();
    for (const m of c.messages) assert.ok(rowsOf(m) <= 100, `${rowsOf(m)} rows in push ${m.seq}`);
    assert.ok(c.messages.length >= 11);
    assert.equal(c.view!.complete, true);
    assert.deepEqual(c.rows(), expectedRows(h));
    assert.ok(
      c.messages.every((m) => m.type === 'full' || !m.removed.includes(unsent)),
      'a row never sent is never removed',
    );
    // Pushes were spaced by the rate limit even while catching up.
    const times = c.messages.map((m) => m.time);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 50);
  });

  test('property: any interleaving of host calls, pushes and resyncs reconstructs exactly the host rows', async () => {
    type Op =
      | { k: 'reserve'; pages: number; commit: boolean; level: number; tag: number }
      | { k: 'commit' | 'decommit' | 'protect'; r: number; off: number; n: number }
      | { k: 'release'; r: number }
      | { k: 'push' }
      | { k: 'resync' }
      | { k: 'advance'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          k: fc.constant('reserve' as const),
          pages: fc.constantFrom(16, 32),
          commit: fc.boolean(),
          level: fc.integer({ min: 0, max: 2 }),
          tag: fc.integer({ min: 0, max: 3 }),
        }),
      },
      {
        weight: 6,
        arbitrary: fc.record({
          k: fc.constantFrom('commit' as const, 'decommit' as const, 'protect' as const),
          r: fc.nat(),
          off: fc.integer({ min: 0, max: 12 }),
          n: fc.integer({ min: 1, max: 4 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('release' as const), r: fc.nat() }) },
      { weight: 2, arbitrary: fc.constant({ k: 'push' as const }) },
      { weight: 1, arbitrary: fc.constant({ k: 'resync' as const }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 200 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 10, maxLength: 80 }),
        fc.integer({ min: 1, max: 5 }),
        async (ops, maxRows) => {
          const { h, time, pub } = setup({ maxRowsPerPush: maxRows });
          try {
            const a = new Client();
            const b = new Client();
            pub.subscribe(a.send);
            const live: number[] = [];
            for (const o of ops) {
              const pick = (r: number): number | undefined => (live.length ? live[r % live.length] : undefined);
              switch (o.k) {
                case 'reserve': {
                  const r = await h.VirtualAlloc(
                    null,
                    o.pages * 4096,
                    o.commit ? RC : MEM.RESERVE,
                    RW,
                    o.level,
                    `t${o.tag}`,
                  );
                  live.push(r.address!);
                  break;
                }
                case 'commit':
                case 'decommit':
                case 'protect': {
                  const base = pick(o.r);
                  if (base === undefined) break;
                  const at = base + o.off * 4096;
                  if (o.k === 'commit') await h.VirtualAlloc(at, o.n * 4096, MEM.COMMIT, PAGE.READONLY, 0);
                  else if (o.k === 'decommit') await h.VirtualFree(at, o.n * 4096, MEM.DECOMMIT);
                  else await h.VirtualProtect(at, o.n * 4096, PAGE.EXECUTE_READ);
                  break;
                }
                case 'release': {
                  const base = pick(o.r);
                  if (base === undefined) break;
                  await h.VirtualFree(base, 0, MEM.RELEASE);
                  live.splice(live.indexOf(base), 1);
                  break;
                }
                case 'push':
                  pub.flush();
                  if (b.messages.length === 0) pub.subscribe(b.send); // a second window, late
                  break;
                case 'resync':
                  pub.resync(a.send);
                  break;
                case 'advance':
                  time.runUntil(time.t + o.ms);
                  break;
              }
            }
            time.drain();
            for (const c of [a, b]) {
              if (c.messages.length === 0) continue;
              assert.equal(c.view!.complete, true);
              assert.deepEqual(c.rows(), expectedRows(h));
              for (const m of c.messages) assert.ok(rowsOf(m) <= maxRows);
            }
            assert.ok(a.messages.length > 0);
          } finally {
            publisher?.stop();
            publisher = undefined;
            h.dispose();
            host = undefined;
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('failures, state, notification and policy changes arrive in the next delta', async () => {
    const { h, time, pub } = setup({}, { commitLimit: 1024 * KiB, processCriticalWaitMs: 0 });
    const c = new Client();
    pub.subscribe(c.send);
    time.drain();
    const big = await h.VirtualAlloc(null, 960 * KiB, RC, RW, 2, 'big'); // ≥ 90 %: Low
    await h.VirtualAlloc(null, 512 * KiB, RC, RW, 0, 'refused'); // E_OUTOFMEMORY, task
    await h.VirtualAlloc(null, 512 * KiB, RC, RW, 2, 'fatal'); // process-critical refusal: unavailable
    const failedAt = time.t;
    time.drain();
    const d = c.last as DeltaMessage;
    assert.equal(d.type, 'delta');
    assert.deepEqual(
      d.failures.map((f) => [f.level, f.tag, f.reason]),
      [
        ['eTaskCritical', 'refused', 'policy'],
        ['eProcessCritical', 'fatal', 'timeout'], // it may wait 0 ms for memory, then times out
      ],
    );
    assert.equal(d.memoryAvailable, 'Low');
    assert.equal(d.state?.state, 'unavailable');
    assert.equal(d.state?.since, failedAt);
    assert.equal(d.policy, undefined);
    assert.deepEqual(d.stats.failures, h.stats().failures);

    h.reset();
    await h.VirtualFree(big.address!, 0, MEM.RELEASE);
    h.setPolicy({ ...h.policy(), commitLimit: 2048 * KiB });
    time.drain();
    const e = c.last as DeltaMessage;
    assert.equal(e.state?.state, 'available');
    assert.equal(e.state?.cause, 'Reset');
    assert.equal(e.memoryAvailable, 'High');
    assert.equal(e.policy?.commitLimit, 2048 * KiB);
    assert.deepEqual(c.view!.host.policy, h.policy());
    assert.equal(c.view!.host.state.state, 'available');
    assert.equal(c.view!.host.memoryAvailable, 'High');
    assert.equal(c.view!.failures.length, 2);
  });

  test('a failure storm between two pushes sends the last N and says how many were dropped', async () => {
    const { h, time, pub } = setup({ recentFailures: 20 });
    const c = new Client();
    pub.subscribe(c.send);
    time.drain();
    for (let i = 0; i < 100; i++) await h.VirtualFree(0x10000 + i * 0x10000, 0, MEM.RELEASE);
    time.drain();
    const d = c.last as DeltaMessage;
    assert.equal(d.failures.length + d.failuresDropped, 100);
    assert.ok(d.failures.length >= 20 && d.failures.length <= 40);
    assert.equal(d.failures.at(-1)!.address, 0x10000 + 99 * 0x10000);
    assert.equal(d.stats.failures.other, 100, 'the counts stay exact');
  });

  test('samples taken between pushes arrive in the next delta, in order', async () => {
    const { time, sampler, pub } = setup();
    const c = new Client();
    pub.subscribe(c.send);
    time.drain();
    for (let i = 0; i < 3; i++) {
      time.t += 10;
      sampler.sampleNow();
    }
    time.drain();
    const d = c.last as DeltaMessage;
    assert.deepEqual(
      d.samples.map((s) => s.t),
      sampler.samples().map((s) => s.t),
    );
    assert.equal(c.view!.samples.length, 3);
  });
});

describe('publisher: subscribers, resync, rate', () => {
  test('two subscribers each get their own full first message; resync gives one a new full message', async () => {
    const { h, time, pub } = setup();
    await reserveMany(h, 4, 'x');
    const a = new Client();
    const b = new Client();
    pub.subscribe(a.send);
    time.drain();
    await reserveMany(h, 2, 'y');
    const offB = pub.subscribe(b.send);
    time.drain();
    assert.deepEqual(
      a.messages.map((m) => m.type),
      ['full', 'delta'],
    );
    assert.deepEqual(
      b.messages.map((m) => m.type),
      ['full'],
    );
    assert.equal((b.last as FullMessage).rows.length, 6);
    assert.equal(pub.subscribers, 2);

    pub.resync(a.send);
    time.drain();
    assert.equal(a.last.type, 'full');
    assert.equal(a.last.seq, 1);
    assert.equal(b.messages.length, 1, 'the other window is not disturbed');
    assert.deepEqual(a.rows(), expectedRows(h));

    pub.resync();
    await reserveMany(h, 1, 'z');
    time.drain();
    assert.equal(a.last.type, 'full');
    assert.equal(b.last.type, 'full');
    assert.deepEqual(b.rows(), expectedRows(h));

    offB();
    await reserveMany(h, 1, 'w');
    time.drain();
    assert.equal(b.messages.length, 2, 'no push after unsubscribe');
    assert.equal(pub.subscribers, 1);
    assert.deepEqual(a.rows(), expectedRows(h));
  });

  test('a subscriber whose send throws gets a full message next time', async () => {
    const { h, time, pub } = setup();
    const c = new Client();
    let fail = false;
    pub.subscribe((m) => {
      if (fail) throw new Error('transport down');
      c.send(m);
    });
    time.drain();
    fail = true;
    await reserveMany(h, 1);
    time.drain();
    fail = false;
    await reserveMany(h, 1);
    time.drain();
    assert.deepEqual(
      c.messages.map((m) => m.type),
      ['full', 'full'],
    );
    assert.deepEqual(c.rows(), expectedRows(h));
  });

  test('at most 20 pushes per simulated second under a continuous call stream, and idle when calls stop', async () => {
    const { h, time, sampler, pub } = setup();
    const c = new Client();
    pub.subscribe(c.send);
    const start = time.t;
    const live: number[] = [];
    // 5 simulated seconds, a host call every simulated millisecond, a sample every 250 ms.
    for (let ms = 0; ms < 5000; ms++) {
      time.runUntil(start + ms);
      if (ms % 250 === 0) sampler.sampleNow();
      if (live.length < 20 || ms % 2 === 0) {
        live.push((await h.VirtualAlloc(null, 64 * KiB, RC, RW, ms % 3, 'stream')).address!);
      } else {
        await h.VirtualFree(live.shift()!, 0, MEM.RELEASE);
      }
    }
    time.runUntil(start + 5000);
    const perSecond = [0, 0, 0, 0, 0];
    for (const m of c.messages) {
      const s = Math.floor((m.time - start) / 1000);
      if (s < 5) perSecond[s]!++;
    }
    for (const n of perSecond) assert.ok(n <= 20 && n >= 15, `pushes per second: ${perSecond.join(', ')}`);
    time.drain();
    assert.equal(time.pending, 0, 'no timer while nothing changes');
    assert.deepEqual(c.rows(), expectedRows(h));
    assert.equal(c.view!.samples.length, sampler.samples().length, 'every sample arrived');
  });

  test('flush pushes at once; stop ends everything', async () => {
    const { h, time, pub } = setup();
    const c = new Client();
    pub.subscribe(c.send);
    pub.flush();
    assert.equal(c.messages.length, 1);
    await reserveMany(h, 1);
    pub.flush();
    assert.equal(c.messages.length, 2);
    pub.stop();
    await reserveMany(h, 1);
    time.drain();
    pub.flush();
    assert.equal(c.messages.length, 2);
    assert.throws(() => pub.subscribe(c.send));
  });
});

describe('applyMessage', () => {
  test('a delta without a full message, or out of sequence, asks for a resync', async () => {
    const { h, time, pub } = setup();
    const messages: PushMessage[] = [];
    pub.subscribe((m) => messages.push(m));
    time.drain();
    await reserveMany(h, 1);
    time.drain();
    await reserveMany(h, 1);
    time.drain();
    const [full, d1, d2] = messages as [FullMessage, DeltaMessage, DeltaMessage];
    assert.throws(() => applyMessage(undefined, d1), OutOfSyncError);
    const view = applyMessage(undefined, full);
    assert.throws(() => applyMessage(view, d2), OutOfSyncError);
    applyMessage(view, d1);
    applyMessage(view, d2);
    assert.deepEqual(sortedRows(view), expectedRows(h));
  });
});
