/**
 * The process inspector's boundaries: bad pids, absent processes, access denied (for real where this machine
 * refuses, and by the error mapping on every OS), and a walk of this very process. The walk of a child that maps
 * known regions, with the diff and the watcher, is in main/inspect/inspect.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { createProcessInspector } from './index';
import { posixProcessError, smapsReading } from './posix/processes';
import { win32OpenError } from './win32/processes';

const inspector = createProcessInspector();

describe('process inspector: this process', () => {
  test('walks it on the expected backend: ascending regions tiling the address space', async () => {
    const expected = process.env.HOSTMEM_EXPECT_BACKEND;
    if (expected) assert.equal(inspector.backend, expected);
    const w = await inspector.walkProcess(process.pid);
    if (!w.ok) assert.fail(`${w.error.code}: ${w.error.message}`);
    assert.equal(w.value.pid, process.pid);
    let cursor = 0;
    for (const r of w.value.regions) {
      if (r.baseAddress >= w.value.addressLimit) break; // [vsyscall] lies above user space
      assert.equal(r.baseAddress, cursor, `hole or overlap at 0x${cursor.toString(16)}`);
      assert.ok(r.size > 0);
      // Windows: a commit is its size; Linux: the kernel's charge (`ac`), all or nothing of a mapping, any state.
      if (inspector.backend === 'win32') assert.equal(r.committed, r.state === 'MEM_COMMIT' ? r.size : 0);
      else assert.ok(r.committed === 0 || (r.committed === r.size && r.state !== 'MEM_FREE'));
      if (r.state === 'MEM_FREE') assert.equal(r.type, undefined);
      else assert.ok(r.allocationBase <= r.baseAddress && r.allocationBase > 0);
      cursor = r.baseAddress + r.size;
    }
    assert.equal(cursor, w.value.addressLimit);
    const images = w.value.regions.filter((r) => r.type === 'MEM_IMAGE' && r.file !== null);
    assert.ok(images.length > 0, 'node and its libraries are images');
    const without = await inspector.walkProcess(process.pid, { includeFree: false });
    assert.ok(without.ok);
    assert.ok(without.value.regions.every((r) => r.state !== 'MEM_FREE'));
  });
});

describe('process inspector: names as the OS gives them', () => {
  test('no name, path, user or file name carries a NUL (Wine counts the terminating one in some lengths)', async () => {
    const list = await inspector.listProcesses();
    if (!list.ok) assert.fail(list.error.message);
    assert.ok(list.value.length > 0);
    for (const p of list.value)
      for (const text of [p.name, p.imagePath, p.commandLine, p.user])
        assert.ok(text === null || !text.includes('\0'), `process ${p.pid}: ${JSON.stringify(text)}`);
    const w = await inspector.walkProcess(process.pid);
    if (!w.ok) assert.fail(w.error.message);
    const files = w.value.regions.filter((r) => r.file !== null);
    assert.ok(files.length > 0);
    for (const r of w.value.regions)
      assert.ok(!`${r.file ?? ''}${r.label ?? ''}`.includes('\0'), `0x${r.baseAddress.toString(16)}: ${r.file}`);
    const me = await inspector.processInfo(process.pid);
    if (!me.ok) assert.fail(me.error.message);
    for (const text of [me.value.name, me.value.imagePath, me.value.user])
      assert.ok(text === null || !text.includes('\0'), JSON.stringify(text));
  });
});

describe('process inspector: reading in chunks', () => {
  test('lines cut anywhere between two reads give the same walk', async (t) => {
    if (inspector.backend !== 'posix') {
      t.skip('the chunked smaps read is the posix backend’s; win32 asks VirtualQueryEx region by region');
      return;
    }
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("ready")'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      const pid = child.pid ?? 0;
      const layout = async (): Promise<string[]> => {
        const w = await inspector.walkProcess(pid);
        if (!w.ok) assert.fail(w.error.message);
        return w.value.regions.map(
          (r) => `${r.baseAddress}+${r.size} ${r.state} ${r.type} ${r.protect} ${r.file ?? r.label}`,
        );
      };
      const whole = await layout();
      const saved = smapsReading.chunkBytes;
      try {
        // 27 and 28 cut the fixed-width key lines at and around their end; primes cut everywhere else.
        for (const size of [27, 28, 61, 997, 4096]) {
          smapsReading.chunkBytes = size;
          assert.deepEqual(await layout(), whole, `chunks of ${size} bytes`);
        }
      } finally {
        smapsReading.chunkBytes = saved;
      }
      assert.ok(whole.length > 20);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('process inspector errors', () => {
  test('a pid that is not a positive integer is invalid', async () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) {
      const w = await inspector.walkProcess(pid);
      assert.ok(!w.ok);
      assert.equal(w.error.code, 'invalid-argument');
    }
  });

  test('a pid no process has is no-such-process, with one clear line', async () => {
    // Above Linux's pid_max (2^22) and a multiple of 4, as Windows pids are.
    const pid = 0x7ffffff0;
    for (const r of [await inspector.walkProcess(pid), await inspector.processInfo(pid)]) {
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'no-such-process');
      assert.equal(r.error.message, `no process with id ${pid}`);
    }
    assert.equal(inspector.isRunning(pid), false);
  });

  test('access denied for real: process 1 where this user may not read it', async (t) => {
    const w = await inspector.walkProcess(1);
    if (w.ok) {
      t.skip('this user may read process 1 (run the suite as a non-root user, or in a container, to see it)');
      return;
    }
    if (w.error.code === 'no-such-process') {
      t.skip('there is no process 1 here (Wine numbers its processes otherwise)');
      return;
    }
    assert.equal(w.error.code, 'access-denied');
    assert.match(w.error.message, /^access denied: /);
    assert.ok(w.error.hint && w.error.hint.length > 0);
    assert.doesNotMatch(w.error.message + w.error.hint, /\n|\bat .*:\d+/);
  });

  test('errno and Win32 errors map to the common codes', () => {
    const errno = (code: string, n: number): NodeJS.ErrnoException =>
      Object.assign(new Error(code), { code, errno: -n });
    assert.equal(posixProcessError(errno('EACCES', 13), 7, '/proc/7/smaps', 'read').code, 'access-denied');
    assert.equal(posixProcessError(errno('EPERM', 1), 7, '/proc/7/smaps', 'read').code, 'access-denied');
    assert.equal(posixProcessError(errno('ENOENT', 2), 7, '/proc/7/smaps', 'read').code, 'no-such-process');
    assert.equal(posixProcessError(errno('ESRCH', 3), 7, '/proc/7/smaps', 'read').code, 'no-such-process');
    assert.equal(posixProcessError(errno('EIO', 5), 7, '/proc/7/smaps', 'read').code, 'unknown');
    const denied = posixProcessError(errno('EACCES', 13), 7, '/proc/7/smaps', 'read the memory map');
    assert.equal(denied.native, 13);
    assert.ok(denied.hint?.includes('same user'));
    assert.equal(win32OpenError(8, 5, 'read').code, 'access-denied');
    assert.ok(win32OpenError(8, 5, 'read').hint?.includes('administrator'));
    assert.equal(win32OpenError(8, 87, 'read').code, 'no-such-process');
    assert.equal(win32OpenError(8, 299, 'read').code, 'exited');
    assert.equal(win32OpenError(8, 31, 'read').code, 'unknown');
  });
});
