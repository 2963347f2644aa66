/**
 * User workload scripts in a worker thread, on the real host: the example works (and is deterministic); scripts
 * that throw, hang, spin, call a bogus method, leak, flood, exit, overrun their duration or reach for another
 * workload's memory are each stopped and reported, while this process stays alive and the host consistent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, test } from 'node:test';
import { DEFAULT_POLICY, createHost, type Host, type HostPolicy } from '../host';
import { seededRandom } from '../host/random';
import { WorkloadParamsError, startWorkload as start, type WorkloadHandle, type WorkloadSummary } from './index';
import { RecordingHost } from './recording-host';

let host: Host | undefined;
const handles: WorkloadHandle[] = [];
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
    assert.equal(host.stats().state, 'available');
    assert.deepEqual(host.audit().drift, [], 'the books match the OS at the end of every test');
    host.dispose();
  }
  host = undefined;
});

/** examples/workload.mjs: from the repository root (the test runner's cwd), else up from this file. */
function examplePath(): string {
  const fromCwd = resolve('examples', 'workload.mjs');
  if (existsSync(fromCwd)) return fromCwd;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'examples', 'workload.mjs');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('examples/workload.mjs not found');
}

const HEADER = `
const MEM_COMMIT = 0x1000, MEM_RESERVE = 0x2000, MEM_RELEASE = 0x8000, PAGE_READWRITE = 4;
`;

function script(body: string, params: Record<string, unknown> = {}, name = 'test-script'): WorkloadHandle {
  return startWorkload(host ?? make(), {
    source: `${HEADER}\nexport default async function (host, ctx) {\n${body}\n}`,
    name,
    params,
  });
}

function assertClean(h: Host, s: WorkloadSummary): void {
  assert.equal(s.cleanupPending, false);
  assert.equal(s.retained.regions, 0);
  assert.equal(s.retained.heapBlocks, 0);
  assert.equal(h.stats().regions, 0, 'no region left');
  assert.equal(h.stats().committed, 0);
  assert.equal(h.stats().heap, 0, 'no heap block left');
}

describe('user scripts: the example', () => {
  test('examples/workload.mjs runs to completion, touches memory, leaves nothing', async () => {
    const h = make();
    const handle = startWorkload(h, { script: examplePath(), params: { seed: 5 } });
    assert.equal(handle.kind, 'script');
    assert.equal(handle.name, 'workload.mjs');
    const s = await handle.done;
    assert.equal(s.end, 'completed', s.error);
    assert.ok(s.calls >= 150, `${s.calls} calls`);
    for (const m of [
      'VirtualAlloc',
      'VirtualFree',
      'Fill',
      'Check',
      'VirtualQuery',
      'VirtualProtect',
      'DebugAlloc',
      'Free',
    ]) {
      assert.ok((s.callsByMethod[m] ?? 0) > 0, `it calls ${m}`);
    }
    assert.deepEqual(s.failures, { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0 });
    assert.equal(s.rejectedCalls, 0);
    assert.ok(s.peak.committed > 0);
    assert.ok(s.log.some((l) => l.includes('example: done')));
    assertClean(h, s);
  });

  test('the example makes the same calls for the same seed', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const h = createHost();
      const rec = new RecordingHost(h);
      try {
        const s = await start(rec, { script: examplePath(), params: { seed } }).done;
        assert.equal(s.end, 'completed', s.error);
        return rec.lines;
      } finally {
        h.dispose();
      }
    };
    const a = await run(11);
    assert.deepEqual(await run(11), a);
    assert.notDeepEqual(await run(12), a);
  });

  test("ctx.rng in the worker is the host's seeded PRNG", async () => {
    const s = await script(`for (let i = 0; i < 3; i++) ctx.log('rng ' + ctx.rng());`, { seed: 99 }).done;
    const r = seededRandom(99);
    assert.deepEqual(
      s.log.filter((l) => l.includes('rng ')).map((l) => Number(l.split('rng ')[1])),
      [r(), r(), r()],
    );
  });
});

describe('user scripts: misbehaving scripts are stopped and reported', () => {
  test('a script that throws after allocating: error reported, memory released', async () => {
    const h = make();
    const s = await script(`
      const r = await host.VirtualAlloc(null, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0, 'script/x');
      await host.Fill(r.address, 65536, 7);
      throw new Error('boom at step 2');
    `).done;
    assert.equal(s.end, 'error');
    assert.equal(s.error, 'boom at step 2');
    assert.equal(s.released.regions, 1);
    assertClean(h, s);
  });

  test('an unhandled rejection inside the worker is reported too', async () => {
    const h = make();
    const s = await script(`
      Promise.reject(new Error('nobody catches me'));
      await ctx.sleep(2000);
    `).done;
    assert.equal(s.end, 'error');
    assert.match(s.error ?? '', /nobody catches me/);
    assertClean(h, s);
  });

  test('a script that spins (while (true) {}) is terminated by the hang watchdog', async () => {
    const h = make();
    const started = Date.now();
    const s = await script(
      `
      await host.VirtualAlloc(null, 131072, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 1, 'script/spin');
      while (true) {}
    `,
      { hangTimeoutMs: 300 },
    ).done;
    assert.equal(s.end, 'hang');
    assert.match(s.error ?? '', /no host call and no completion for 300 ms/);
    assert.ok(Date.now() - started < 3000);
    assert.equal(s.released.regions, 1, 'what it allocated is released');
    assertClean(h, s);
  });

  test('a script that waits on nothing forever is a hang; its sleeps are not', async () => {
    const h = make();
    const hung = await script(`await new Promise(() => {});`, { hangTimeoutMs: 200 }).done;
    assert.equal(hung.end, 'hang');
    const sleeper = await script(`await ctx.sleep(400); ctx.log('woke');`, { hangTimeoutMs: 200 }).done;
    assert.equal(sleeper.end, 'completed', sleeper.error);
    assert.ok(sleeper.log.some((l) => l.includes('woke')));
    assertClean(h, sleeper);
  });

  test('a script that calls a bogus method gets an error; uncaught, it ends the script', async () => {
    const h = make();
    const caught = await script(`
      try { await host.VirtualAllocEx(null, 4096); } catch (e) { ctx.log('caught: ' + e.message); }
      try { await host.VirtualAlloc('0x1000', 4096, MEM_RESERVE, PAGE_READWRITE, 0); } catch (e) { ctx.log('caught: ' + e.message); }
      try { await host.dispose(); } catch (e) { ctx.log('caught: ' + e.message); }
      try { await host.VirtualFree(1, 2, 3, 4); } catch (e) { ctx.log('caught: ' + e.message); }
    `).done;
    assert.equal(caught.end, 'completed', caught.error);
    assert.equal(caught.rejectedCalls, 4);
    assert.equal(caught.calls, 0, 'none of them reached the host');
    assert.ok(caught.log.some((l) => l.includes('caught: host.VirtualAllocEx is not a host method')));
    assert.ok(
      caught.log.some((l) => l.includes('caught: host.VirtualAlloc: address must be a number or null, got a string')),
    );
    assert.ok(caught.log.some((l) => l.includes('caught: host.dispose is not a host method')));
    assert.ok(caught.log.some((l) => l.includes('caught: host.VirtualFree takes 3 argument(s), got 4')));

    const uncaught = await script(`await host.Bogus(1);`).done;
    assert.equal(uncaught.end, 'error');
    assert.match(uncaught.error ?? '', /host\.Bogus is not a host method/);
    assertClean(h, uncaught);
  });

  test('a script that leaks: everything it left is released by the runner and reported', async () => {
    const h = make();
    const s = await script(`
      for (let i = 0; i < 3; i++) {
        const r = await host.VirtualAlloc(null, 65536 * (i + 1), MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0, 'script/leak');
        await host.Fill(r.address, 4096, 1);
      }
      await host.VirtualAlloc(null, 1 << 20, MEM_RESERVE, PAGE_READWRITE, 0, 'script/reserved-only');
      const heap = await host.CreateMalloc(0);
      await host.malloc(heap.malloc).Alloc(1000, 0);
      await host.malloc(heap.malloc).DebugAlloc(2000, 1, 'leaky.mjs', 3);
      await host.AcquiredVirtualAddressSpace(0x100000000, 65536);
    `).done;
    assert.equal(s.end, 'completed', s.error);
    assert.deepEqual(s.released, {
      regions: 4,
      reserved: 65536 + 131072 + 196608 + (1 << 20),
      committed: 65536 + 131072 + 196608,
      heapBlocks: 2,
      heapBytes: 3000,
      external: 65536,
    });
    assertClean(h, s);
    assert.equal(h.stats().external, 0);
  });

  test('a script that floods is stopped at its call cap', async () => {
    const h = make();
    const s = await script(`for (;;) await host.GetMemoryLoad();`, { maxCalls: 500 }).done;
    assert.equal(s.end, 'flood');
    assert.match(s.error ?? '', /more than 500 host calls/);
    assert.equal(s.calls, 500);
    assertClean(h, s);
  });

  test('a script that piles up calls without waiting for them is stopped at its pending cap', async () => {
    // Calls only stay in flight while the host holds them: eProcessCritical requests over the limit wait.
    const h = make({ commitLimit: 1 << 20, processCriticalWaitMs: 300 });
    const started = Date.now();
    const s = await script(
      `for (let i = 0; i < 100; i++) host.VirtualAlloc(null, 2 << 20, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 2);
       await ctx.sleep(10000);`,
      { maxPending: 10 },
    ).done;
    assert.equal(s.end, 'flood');
    assert.match(s.error ?? '', /more than 10 host calls in flight/);
    assert.ok(Date.now() - started < 2000, 'ended without waiting for the script');
    assert.equal(s.calls, 10, 'the calls in flight were answered before the summary');
    h.reset();
    assertClean(h, s);
  });

  test('a script that posts millions of calls without waiting is stopped in its own thread at its pending cap', async () => {
    // Before: each call was a message to this thread (2 M messages: minutes and hundreds of MB, Ctrl+C ignored).
    const h = make();
    const s = await script(`for (let i = 0; i < 2e6; i++) host.VirtualQuery(0); await ctx.sleep(60000);`, {
      maxPending: 1000,
    }).done;
    assert.equal(s.end, 'flood');
    assert.match(s.error ?? '', /more than 1000 host calls in flight/);
    assert.ok(s.calls <= 1000, `${s.calls} calls reached the host`);
    assertClean(h, s);
  });

  test('calls queued faster than the host answers do not hold the event loop: the duration still ends the script', async () => {
    // 150,000 calls posted at once, then a spin: served in slices, so the duration timer and the grace run on time
    // and the calls still queued are never made (before: every one was served first, the timers waiting).
    const h = make();
    const s = await script(`for (let i = 0; i < 150000; i++) host.VirtualQuery(0); for (;;) {}`, {
      maxPending: 200_000,
      durationMs: 200,
      stopGraceMs: 200,
    }).done;
    assert.equal(s.end, 'duration');
    assert.ok(s.calls < 150_000, `${s.calls} of the 150,000 queued calls were served before the script was stopped`);
    assertClean(h, s);
  });

  test('a script that exits its worker is reported', async () => {
    const h = make();
    const s = await script(`
      await host.VirtualAlloc(null, 65536, MEM_RESERVE, PAGE_READWRITE, 0, 'script/exit');
      process.exit(3);
    `).done;
    assert.equal(s.end, 'exit');
    assert.match(s.error ?? '', /exited with code 3/);
    assertClean(h, s);
  });

  test('a script that runs past durationMs and ignores the signal is terminated after the grace time', async () => {
    const h = make();
    const started = Date.now();
    const s = await script(
      `
      await host.VirtualAlloc(null, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0, 'script/late');
      for (;;) { await new Promise((r) => setTimeout(r, 50)); await host.GetMemoryLoad(); }
    `,
      { durationMs: 300, stopGraceMs: 200 },
    ).done;
    assert.equal(s.end, 'duration');
    const took = Date.now() - started;
    assert.ok(took >= 450 && took < 2000, `ended after ${took} ms`);
    assert.ok(s.log.some((l) => l.includes('did not return within 200 ms')));
    assertClean(h, s);
  });

  test('a script that honours ctx.signal ends at once when stopped', async () => {
    const h = make();
    const handle = script(
      `
      while (await ctx.pace()) {
        const r = await host.VirtualAlloc(null, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 0, 'script/loop');
        await host.VirtualFree(r.address, 0, MEM_RELEASE);
      }
      ctx.log('stopped politely, signal aborted: ' + ctx.signal.aborted);
    `,
      { rate: 500 },
    );
    await new Promise((r) => setTimeout(r, 300));
    const s = await handle.stop();
    assert.equal(s.end, 'stopped');
    assert.ok(s.log.some((l) => l.includes('stopped politely, signal aborted: true')));
    assert.ok(s.calls > 10 && s.calls < 250, `${s.calls} calls at 500/s for 0.3 s`);
    assertClean(h, s);
  });

  test("a script may not change another workload's memory", async () => {
    const h = make();
    const steady = startWorkload(h, { scenario: 'steady', params: { rate: 200, regions: 2 } });
    while (h.stats().regions === 0) await new Promise((r) => setTimeout(r, 10));
    steady.pause(); // so that steady itself does not release the region meanwhile
    await new Promise((r) => setTimeout(r, 20));
    const victim = [...h.regionList()][0]!.base;
    const s = await script(`
      try { await host.VirtualFree(${victim}, 0, MEM_RELEASE); } catch (e) { ctx.log('refused: ' + e.message); }
      try { await host.Fill(${victim}, 4096, 1); } catch (e) { ctx.log('refused: ' + e.message); }
      const q = await host.VirtualQuery(${victim});
      ctx.log('query ' + q.hr + ' owned ' + q.info.owned + ' tag ' + q.info.tag);
    `).done;
    assert.equal(s.end, 'completed', s.error);
    assert.equal(s.rejectedCalls, 2);
    assert.ok(s.log.some((l) => l.includes('is held by another workload')));
    assert.ok(
      s.log.some((l) => l.includes('query 0 owned true tag steady/region')),
      'reading is allowed',
    );
    assert.ok(
      [...h.regionList()].some((r) => r.base === victim),
      'the region is still there',
    );
    const t = await steady.stop();
    assertClean(h, t);
  });

  test('a script cannot use a heap it did not create', async () => {
    const h = make();
    const other = await h.CreateMalloc(0);
    const s = await script(`
      try { await host.malloc(${other.malloc}).Alloc(100, 0); } catch (e) { ctx.log('refused: ' + e.message); }
    `).done;
    assert.equal(s.rejectedCalls, 1);
    assert.ok(s.log.some((l) => l.includes('not a heap this script created')));
    assertClean(h, s);
  });

  test('host calls see the real host: an eProcessCritical failure makes it unavailable, and the script is told', async () => {
    const h = make({ commitLimit: 1 << 20, processCriticalWaitMs: 50 });
    const s = await script(`
      const r = await host.VirtualAlloc(null, 2 << 20, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, 2, 'script/big');
      ctx.log('hr ' + r.hr.toString(16) + ' ' + r.reason);
      const st = await host.stats();
      ctx.log('state ' + st.state);
    `).done;
    assert.ok(s.log.some((l) => l.includes('hr 80131024 timeout')));
    assert.ok(s.log.some((l) => l.includes('state unavailable')));
    assert.equal(s.failures.eProcessCritical, 1);
    h.reset();
  });

  test('console output of a script is captured into its log', async () => {
    const s = await script(`console.log('hello from the worker'); console.error('and its stderr');`).done;
    assert.equal(s.end, 'completed');
    assert.ok(
      s.log.some((l) => l.endsWith('stdout: hello from the worker')),
      s.log.join('\n'),
    );
    assert.ok(s.log.some((l) => l.endsWith('stderr: and its stderr')));
  });
});

describe('user scripts: parameters and loading', () => {
  test('bad parameters and missing files are refused before anything starts', () => {
    const h = make();
    assert.throws(() => start(h, { script: examplePath(), params: { hangTimeoutMs: 'never' } }), WorkloadParamsError);
    assert.throws(
      () => start(h, { script: examplePath(), params: { bogus: 1 } }),
      /invalid parameters for workload "workload.mjs": Unrecognized key: "bogus"/,
    );
    assert.throws(
      () => start(h, { script: join(examplePath(), '..', 'missing.mjs') }),
      /workload script not found: .*missing\.mjs/,
    );
    assert.equal(h.stats().regions, 0);
  });

  test('a script without a default export, or with a syntax error, is reported', async () => {
    const h = make();
    const noDefault = await startWorkload(h, { source: 'export const x = 1;' }).done;
    assert.equal(noDefault.end, 'error');
    assert.match(noDefault.error ?? '', /no default export function/);
    const broken = await startWorkload(h, { source: 'export default async function ( {' }).done;
    assert.equal(broken.end, 'error');
    assert.match(broken.error ?? '', /could not be loaded/);
  });

  test('pause holds a script at its next host call', async () => {
    const h = make();
    const handle = script(`for (;;) { await host.GetMemoryLoad(); await ctx.sleep(5); }`, {
      hangTimeoutMs: 200,
      stopGraceMs: 100,
    });
    await new Promise((r) => setTimeout(r, 100));
    handle.pause();
    await new Promise((r) => setTimeout(r, 30));
    const before = handle.progress().calls;
    await new Promise((r) => setTimeout(r, 400)); // longer than hangTimeoutMs: paused is not hung
    assert.equal(handle.progress().calls, before);
    assert.equal(handle.progress().state, 'paused');
    handle.resume();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(handle.progress().calls > before);
    const s = await handle.stop();
    assert.equal(s.end, 'stopped');
    assertClean(h, s);
  });
});
