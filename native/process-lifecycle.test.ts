/**
 * What a walk says of real processes in the states that used to give a wrong picture (Linux, posix backend): a
 * process killed while its 60,000 mappings are read, a zombie, thread stacks, the kernel's commit charge (`ac`),
 * and Chromium (browser and renderer) where /usr/bin/chromium is installed. Under Wine these are skipped: the win32
 * walk asks VirtualQueryEx region by region, and Windows has no smaps, no zombies and no `ac`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createProcessInspector, type ProcessRegion } from './index';
import { MANY_MAPPINGS_SCRIPT, startScript, startZombie, THREAD_STACKS_SCRIPT } from './process-testing';

const inspector = createProcessInspector();
const posixOnly = (t: TestContext): boolean => {
  if (inspector.backend === 'posix' && existsSync('/proc/self/smaps')) return true;
  t.skip('Linux only (smaps, zombies, thread stack pointers, the ac flag); runs in the node-tests leg on Linux');
  return false;
};

/** The test's own reading of smaps: the sum of the sizes of the mappings whose VmFlags hold `ac`. */
function acSum(pid: number): number {
  let sum = 0;
  let size = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (header) size = Number.parseInt(header[2]!, 16) - Number.parseInt(header[1]!, 16);
    else if (line.startsWith('VmFlags:') && line.slice(8).trim().split(' ').includes('ac')) sum += size;
  }
  return sum;
}

const containing = (regions: readonly ProcessRegion[], address: number): ProcessRegion | undefined =>
  regions.find((r) => address >= r.baseAddress && address < r.baseAddress + r.size);

describe('a process that dies during a walk', () => {
  test('a child killed while its 60,000 mappings are read gives exited, in 20 runs of 20', async (t) => {
    if (!posixOnly(t)) return;
    for (let run = 1; run <= 20; run++) {
      const child = await startScript(MANY_MAPPINGS_SCRIPT, ['60000']);
      try {
        let ended = false;
        const walking = inspector.walkProcess(child.pid).finally(() => (ended = true));
        // The walk reads synchronously up to its first yield (1 MiB of ~60 MB of smaps); the kill comes then.
        const killedDuringWalk = await new Promise<boolean>((resolve) =>
          setImmediate(() => {
            const during = !ended;
            child.process.kill('SIGKILL');
            resolve(during);
          }),
        );
        const w = await walking;
        assert.ok(killedDuringWalk, `run ${run}: the kill came after the walk`);
        assert.ok(!w.ok, `run ${run}: a walk of ${w.ok ? w.value.regions.length : 0} regions, not exited`);
        assert.equal(w.error.code, 'exited', `run ${run}: ${w.error.message}`);
        assert.equal(w.error.message, `process ${child.pid} exited during the walk`);
      } finally {
        await child.kill();
      }
    }
  });

  test('a zombie is said to be one, not to have exited during the walk', async (t) => {
    if (!posixOnly(t)) return;
    const zombie = await startZombie();
    try {
      const pid = zombie.pid;
      const w = await inspector.walkProcess(pid);
      assert.ok(!w.ok);
      assert.equal(w.error.code, 'exited');
      assert.match(
        w.error.message,
        new RegExp(`^process ${pid} is a zombie: it has exited and its parent \\(${zombie.parentPid}\\)`),
      );
      assert.doesNotMatch(w.error.message, /\n/);
      assert.equal(inspector.isRunning(pid), false);
    } finally {
      zombie.kill();
    }
  });
});

describe('thread stacks (Linux)', () => {
  test('every worker thread’s stack, as glibc made it, is Stack labelled with its thread id, its guard too', async (t) => {
    if (!posixOnly(t)) return;
    const child = await startScript(THREAD_STACKS_SCRIPT, ['4']);
    try {
      const stacks = JSON.parse(child.first) as Array<{ tid: number; addr: number; size: number }>;
      assert.equal(stacks.length, 4);
      // A thread that waits for a CPU when it is asked has no stack pointer to give (a loaded machine): such a thread
      // is left out of that walk, so the child is walked again (up to 10 times) until every thread is found.
      const found = (regions: readonly ProcessRegion[]): boolean =>
        stacks.every((s) => containing(regions, s.addr)?.label === `stack of thread ${s.tid}`);
      let w = await inspector.walkProcess(child.pid);
      for (let attempt = 1; attempt < 10 && w.ok && !found(w.value.regions); attempt++)
        w = await inspector.walkProcess(child.pid);
      if (!w.ok) assert.fail(w.error.message);
      for (const s of stacks) {
        const low = containing(w.value.regions, s.addr);
        const high = containing(w.value.regions, s.addr + s.size - 1);
        assert.ok(low && high, `thread ${s.tid}: its stack is not in the walk`);
        for (const r of [low, high]) {
          assert.equal(r.use, 'stack', `thread ${s.tid}: 0x${r.baseAddress.toString(16)} is not Stack`);
          assert.equal(r.label, `stack of thread ${s.tid}`);
        }
        const guard = containing(w.value.regions, s.addr - 1);
        assert.ok(guard && guard.state === 'MEM_RESERVE', `thread ${s.tid}: no guard page below its stack`);
        assert.equal(guard.use, 'stack');
        assert.equal(low.allocationBase, guard.baseAddress, 'guard and stack are one allocation');
      }
      const main = w.value.regions.filter((r) => r.label === '[stack]');
      assert.equal(main.length, 1, 'the main thread’s stack stays [stack]');
    } finally {
      await child.kill();
    }
  });
});

describe('Committed is the kernel’s commit charge (Linux)', () => {
  test('the walk’s committed total and the list’s committed bytes are the sum of the ac mappings, to the byte', async (t) => {
    if (!posixOnly(t)) return;
    const child = await startScript(MANY_MAPPINGS_SCRIPT, ['16']);
    try {
      const w = await inspector.walkProcess(child.pid);
      if (!w.ok) assert.fail(w.error.message);
      // Charged or not, mapping by mapping, as the kernel says (`ac`): the walk's total and the list's figure are
      // the test's own sum over smaps, to the byte, and some of it is charged (Node's heap at least).
      const walked = w.value.regions.reduce((n, r) => n + r.committed, 0);
      assert.ok(walked > 0);
      assert.equal(walked, acSum(child.pid));
      const info = await inspector.processInfo(child.pid);
      if (!info.ok) assert.fail(info.error.message);
      assert.equal(info.value.privateBytes, acSum(child.pid));
      assert.ok(info.value.privateResident !== null && info.value.privateResident > 0);
      // Files mapped read-only (the program's text) are not charged.
      const text = w.value.regions.find((r) => r.type === 'MEM_IMAGE' && r.protect === 0x20);
      assert.ok(text && text.committed === 0);
    } finally {
      await child.kill();
    }
  });
});

const CHROMIUM = process.env.HOSTMEM_CHROMIUM || '/usr/bin/chromium';

describe('Chromium (real browser and renderer processes)', () => {
  test('the browser’s thread stacks are Stack; a renderer’s Committed is the sum of its ac mappings', async (t) => {
    if (!posixOnly(t)) return;
    if (!existsSync(CHROMIUM)) {
      t.skip(`${CHROMIUM} is missing: install chromium (the chromium leg's package) to run this test`);
      return;
    }
    const profile = mkdtempSync(join(tmpdir(), 'hostmem-chromium-'));
    const browser: ChildProcess = spawn(
      CHROMIUM,
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--remote-debugging-port=0',
        `--user-data-dir=${profile}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        browser.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('DevTools listening')) resolve();
        });
        browser.once('exit', () => reject(new Error(`chromium exited: ${err}`)));
      });
      const pid = browser.pid ?? 0;
      const children = (): number[] =>
        readdirSync('/proc')
          .filter((n) => /^\d+$/.test(n))
          .map(Number)
          .filter((p) => {
            try {
              return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('--type=renderer');
            } catch {
              return false;
            }
          });
      let renderers: number[] = [];
      for (let i = 0; i < 100 && renderers.length === 0; i++) {
        renderers = children();
        if (renderers.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(renderers.length > 0, 'no renderer process');

      // Every thread but the main one (whose stack is [stack]) has its stack found; a browser still starting makes
      // threads as it is walked, so it is walked again (up to 20 times) until the walk and the thread list agree.
      let found = '';
      for (let attempt = 0; attempt < 20; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
        const w = await inspector.walkProcess(pid);
        if (!w.ok) assert.fail(w.error.message);
        const threads = readdirSync(`/proc/${pid}/task`).map(Number);
        const stacks = w.value.regions.filter(
          (r) => r.label?.startsWith('stack of thread ') && r.state === 'MEM_COMMIT',
        );
        assert.ok(stacks.every((r) => r.use === 'stack'));
        const tids = new Set(stacks.map((r) => Number(r.label?.slice('stack of thread '.length))));
        const missing = threads.filter((tid) => tid !== pid && !tids.has(tid));
        found = `${stacks.length} thread stacks of ${threads.length} threads (missing: ${missing.join(', ')})`;
        if (missing.length === 0 && threads.length > 10) break;
      }
      assert.match(found, /\(missing: \)$/, found);

      // A renderer's committed bytes: the walk's and the list's, against the test's own sum of its `ac` mappings.
      const renderer = renderers[0]!;
      let agreed = false;
      const seen: string[] = [];
      for (let attempt = 0; attempt < 20 && !agreed; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
        const before = acSum(renderer);
        const rw = await inspector.walkProcess(renderer);
        const info = await inspector.processInfo(renderer);
        const after = acSum(renderer);
        if (!rw.ok || !info.ok) assert.fail('the renderer could not be read');
        const walked = rw.value.regions.reduce((n, r) => n + r.committed, 0);
        seen.push(`${before}/${walked}/${String(info.value.privateBytes)}/${after}`);
        if (before === after) {
          assert.equal(walked, before);
          assert.equal(info.value.privateBytes, before);
          agreed = true;
        }
      }
      assert.ok(agreed, `the renderer never stood still for long enough to compare: ${seen.join(' ')}`);
    } finally {
      // The browser, its zygotes and renderers are one process group: all of it goes.
      const gone = new Promise((resolve) => (browser.exitCode === null ? browser.once('exit', resolve) : resolve(0)));
      process.kill(-(browser.pid ?? 0), 'SIGKILL');
      await gone;
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  });
});
