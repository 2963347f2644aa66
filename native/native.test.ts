/**
 * The OS layer against the real OS. The same compiled file runs on Linux (posix backend) and under Wine or on
 * Windows (win32 backend): every expectation here holds on both, which is what makes the host's answers identical.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PAGE, createOsMemory, type OsMemory, type OsRegionInfo } from './index';

const os: OsMemory = createOsMemory();
const G = 0x10000;
const held: Array<[number, number]> = [];

function reserve(size: number, address: number | null = null): number {
  const r = os.reserve(address, size, false);
  assert.ok(r.ok, r.ok ? '' : `reserve failed: ${r.error.message}`);
  held.push([r.value, size]);
  return r.value;
}

function release(base: number): void {
  const i = held.findIndex(([b]) => b === base);
  assert.ok(i >= 0);
  const [, size] = held[i]!;
  held.splice(i, 1);
  const r = os.release(base, size);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
}

function info(address: number): OsRegionInfo {
  const r = os.query(address);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

/** Bytes in each state over a range, from one OS walk (regions may be split differently by each OS). */
function statesOver(start: number, size: number): Record<string, number> {
  const r = os.queryRange(start, size);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  const totals: Record<string, number> = {};
  for (const run of r.value) totals[run.state] = (totals[run.state] ?? 0) + run.regionSize;
  return totals;
}

after(() => {
  for (const [base, size] of held) os.release(base, size);
});

describe(`native layer (${os.backend})`, () => {
  test('runs on the backend the environment expects', () => {
    const expected = process.env.HOSTMEM_EXPECT_BACKEND;
    if (expected) assert.equal(os.backend, expected);
    assert.equal(os.backend, process.platform === 'win32' ? 'win32' : 'posix');
  });

  test('page size is a power of two and the allocation granularity is 64 KiB', () => {
    assert.ok(os.pageSize >= 4096 && (os.pageSize & (os.pageSize - 1)) === 0);
    assert.equal(os.allocationGranularity, G);
  });

  test('every reservation starts on a 64 KiB boundary', () => {
    const sizes = [1, 4096, 4097, 100000, G, G + 1, 3 * G - 1, 1 << 20];
    for (let i = 0; i < 40; i++) {
      const base = reserve(sizes[i % sizes.length]!);
      assert.equal(base % G, 0, `reservation ${i} at 0x${base.toString(16)} is not 64 KiB aligned`);
    }
    for (const [base] of [...held]) release(base);
  });

  test('a reservation spans exactly the pages that hold its bytes, reserved and not committed', () => {
    const base = reserve(100000);
    const first = info(base);
    assert.equal(first.state, 'MEM_RESERVE');
    assert.equal(first.allocationBase, base);
    assert.equal(first.protect, 0);
    assert.equal(first.type, 'MEM_PRIVATE');
    // 100000 bytes → 25 pages of 4 KiB = 0x19000; the rest of the 64 KiB granule is not part of it.
    const pages = Math.ceil(100000 / os.pageSize) * os.pageSize;
    assert.equal(statesOver(base, pages).MEM_RESERVE, pages);
    assert.notEqual(info(base + pages).state, 'MEM_RESERVE');
    release(base);
    assert.equal(info(base).state, 'MEM_FREE');
  });

  test('commit covers every page touched by the range; decommit returns them to reserved', () => {
    const base = reserve(4 * G);
    const p = os.pageSize;
    // [base+100, base+100+p) touches two pages.
    const c = os.commit(base + 100, p, PAGE.READWRITE);
    assert.ok(c.ok);
    const s = statesOver(base, 4 * G);
    assert.equal(s.MEM_COMMIT, 2 * p);
    assert.equal(s.MEM_RESERVE, 4 * G - 2 * p);
    const q = info(base + p + 10);
    assert.equal(q.state, 'MEM_COMMIT');
    assert.equal(q.protect, PAGE.READWRITE);
    assert.equal(q.baseAddress, base + p);
    assert.ok(os.decommit(base, 2 * p).ok);
    assert.equal(statesOver(base, 4 * G).MEM_RESERVE, 4 * G);
    release(base);
  });

  test('committed memory is writable and reads back; recommitted pages read as zero', () => {
    const base = reserve(G);
    assert.ok(os.commit(base, G, PAGE.READWRITE).ok);
    assert.equal(os.compare(base, G, 0), true, 'fresh pages are zero');
    os.fill(base, G, 0xab);
    assert.equal(os.compare(base, G, 0xab), true);
    assert.equal(os.compare(base, G, 0xac), false);
    os.fill(base + 4096, 1, 0x01);
    assert.equal(os.compare(base, G, 0xab), false, 'one changed byte is seen');
    // Committing again keeps the content.
    assert.ok(os.commit(base, G, PAGE.READWRITE).ok);
    assert.equal(os.compare(base, 4096, 0xab), true);
    assert.ok(os.decommit(base, G).ok);
    assert.ok(os.commit(base, G, PAGE.READWRITE).ok);
    assert.equal(os.compare(base, G, 0), true, 'decommit discarded the content');
    release(base);
  });

  test('committed PAGE_NOACCESS pages are committed in the OS, not reserved', () => {
    const base = reserve(G);
    assert.ok(os.commit(base, 2 * os.pageSize, PAGE.NOACCESS).ok);
    const q = info(base);
    assert.equal(q.state, 'MEM_COMMIT');
    assert.equal(q.protect, PAGE.NOACCESS);
    assert.equal(statesOver(base, G).MEM_COMMIT, 2 * os.pageSize);
    release(base);
  });

  test('no-access pages: protected to NOACCESS they stay committed; decommitted they are reserved again', () => {
    const base = reserve(G);
    const p = os.pageSize;
    assert.ok(os.commit(base, 4 * p, PAGE.READWRITE).ok);
    assert.ok(os.protect(base, 2 * p, PAGE.NOACCESS).ok);
    assert.equal(info(base).state, 'MEM_COMMIT');
    assert.equal(info(base).protect, PAGE.NOACCESS);
    assert.deepEqual(statesOver(base, G), { MEM_COMMIT: 4 * p, MEM_RESERVE: G - 4 * p });
    // Decommit over committed no-access pages and committed read-write ones: all reserved, as never committed.
    assert.ok(os.decommit(base, 3 * p).ok);
    assert.deepEqual(statesOver(base, G), { MEM_COMMIT: p, MEM_RESERVE: G - p });
    // Committed again read-write, then no-access: committed each time.
    assert.ok(os.commit(base, p, PAGE.NOACCESS).ok);
    assert.ok(os.commit(base + p, p, PAGE.READWRITE).ok);
    assert.deepEqual(statesOver(base, G), { MEM_COMMIT: 3 * p, MEM_RESERVE: G - 3 * p });
    release(base);
  });

  test('reservations released and made again keep landing on 64 KiB boundaries, whatever their sizes', () => {
    const sizes = [G, 3 * 4096, 100000, 2 * G, 1 << 20, 5 * G + 4096];
    for (let i = 0; i < 60; i++) {
      const base = reserve(sizes[i % sizes.length]!);
      assert.equal(base % G, 0, `reservation ${i} at 0x${base.toString(16)}`);
      assert.equal(info(base).state, 'MEM_RESERVE');
      if (i % 3 !== 2) release(base);
    }
    for (const [base] of [...held]) release(base);
  });

  test('protect changes the pages it covers, and the OS reports the new protection', () => {
    const base = reserve(G);
    assert.ok(os.commit(base, G, PAGE.READWRITE).ok);
    assert.ok(os.protect(base + 100, os.pageSize - 100, PAGE.READONLY).ok);
    assert.equal(info(base).protect, PAGE.READONLY);
    assert.equal(info(base + os.pageSize).protect, PAGE.READWRITE);
    assert.ok(os.protect(base, os.pageSize, PAGE.EXECUTE_READWRITE).ok);
    assert.equal(info(base).protect, PAGE.EXECUTE_READWRITE);
    const gone = reserve(G);
    release(gone);
    const clash = os.protect(gone, os.pageSize, PAGE.READONLY);
    assert.equal(clash.ok, false, 'memory that is not mapped cannot be protected');
    assert.equal(clash.ok ? '' : clash.error.code, 'invalid-address');
    release(base);
  });

  test('a reservation at a chosen free address lands there; over an address in use it fails', () => {
    const probe = reserve(4 * G);
    release(probe);
    const at = reserve(G, probe + G);
    assert.equal(at, probe + G);
    const clash = os.reserve(probe + G, G, false);
    assert.equal(clash.ok, false);
    assert.equal(clash.ok ? '' : clash.error.code, 'invalid-address');
    release(at);
  });

  test('an impossible reservation is out of memory, not a crash', () => {
    const r = os.reserve(null, 2 ** 50, false);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? '' : r.error.code, 'out-of-memory');
  });

  test('bad arguments come back as typed errors', () => {
    const zero = os.reserve(null, 0, false);
    assert.equal(zero.ok, false);
    assert.equal(zero.ok ? '' : zero.error.code, 'invalid-argument');
    // Committing where nothing is reserved: the address is not a reservation.
    const probe = reserve(G);
    release(probe);
    const c = os.commit(probe, os.pageSize, PAGE.READWRITE);
    assert.equal(c.ok, false);
    assert.equal(c.ok ? '' : c.error.code, 'invalid-address');
  });

  test('MEM_RESET keeps pages committed', () => {
    const base = reserve(G);
    assert.ok(os.commit(base, G, PAGE.READWRITE).ok);
    os.fill(base, G, 7);
    assert.ok(os.reset(base, G).ok);
    assert.equal(info(base).state, 'MEM_COMMIT');
    release(base);
  });

  test('query of a free address says MEM_FREE', () => {
    const base = reserve(G);
    release(base);
    const q = info(base);
    assert.equal(q.state, 'MEM_FREE');
    assert.equal(q.type, undefined);
  });

  test('heaps allocate, report sizes, hold bytes, refuse foreign and double frees', () => {
    for (const executable of [false, true]) {
      const h = os.heapCreate({ threadSafe: true, executable });
      assert.ok(h.ok);
      const a = os.heapAlloc(h.value, 1000);
      assert.ok(a.ok);
      const size = os.heapSize(h.value, a.value);
      assert.ok(size.ok && size.value >= 1000);
      os.fill(a.value, 1000, 0x5a);
      assert.equal(os.compare(a.value, 1000, 0x5a), true);
      assert.equal(os.heapFree(h.value, a.value + 8).ok, false, 'a pointer the heap never gave is refused');
      assert.ok(os.heapFree(h.value, a.value).ok);
      assert.equal(os.heapFree(h.value, a.value).ok, false, 'double free is refused');
      const b = os.heapAlloc(h.value, 64);
      assert.ok(b.ok);
      assert.ok(os.heapDestroy(h.value).ok, 'destroy frees what is left');
      assert.equal(os.heapAlloc(h.value, 1).ok, false, 'a destroyed heap is gone');
    }
  });

  test('memory status and process counters are plausible', () => {
    const s = os.memoryStatus();
    assert.ok(s.ok);
    assert.ok(s.value.memoryLoad >= 0 && s.value.memoryLoad <= 100);
    assert.ok(s.value.totalPhys > 0 && s.value.availPhys <= s.value.totalPhys);
    const pc = os.processCounters();
    assert.ok(pc.ok);
    assert.ok(pc.value.workingSet > 0);
    assert.ok(pc.value.peakWorkingSet >= pc.value.workingSet);
  });
});
