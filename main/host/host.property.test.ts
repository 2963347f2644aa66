/**
 * Property tests: random sequences of valid and invalid calls against the real OS. After every step the host's
 * HRESULT equals a simple reference model's (a byte per page), the books equal the model's, committed ≤ reserved,
 * only HRESULTs from the spec appear, and the audit finds no drift between the books and the OS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MEM, PAGE } from '../../native';
import { DEFAULT_POLICY, HR, LEVELS, createHost, isKnownHResult, type Host } from './index';

const PROTECTIONS = [
  PAGE.NOACCESS,
  PAGE.READONLY,
  PAGE.READWRITE,
  PAGE.EXECUTE,
  PAGE.EXECUTE_READ,
  PAGE.EXECUTE_READWRITE,
  PAGE.READWRITE | PAGE.GUARD,
];
const BAD_PROTECTIONS = [0, PAGE.WRITECOPY, PAGE.EXECUTE_WRITECOPY, 0x03, PAGE.NOACCESS | PAGE.GUARD, 0x800];
const BAD_FLAGS = [
  0,
  0x4000,
  MEM.COMMIT | 0x2,
  MEM.LARGE_PAGES | MEM.RESERVE,
  MEM.RESET | MEM.COMMIT,
  MEM.PHYSICAL | MEM.RESERVE,
];
const LIMIT_PAGES = 200;

type Op =
  | { k: 'reserve'; pages: number; commit: boolean; protect: number; level: number }
  | { k: 'commit'; r: number; off: number; count: number; protect: number; level: number }
  | { k: 'decommit'; r: number; off: number; count: number }
  | { k: 'release'; r: number; wrong: 0 | 1 | 2 }
  | { k: 'protect'; r: number; off: number; count: number; protect: number }
  | { k: 'fill'; r: number; off: number; count: number; byte: number }
  | { k: 'foreign'; which: 0 | 1 | 2 }
  | { k: 'badAlloc'; flags: number; protect: number }
  | { k: 'stale' }
  | { k: 'reset' };

const idx = fc.nat({ max: 1000 });
const page = fc.nat({ max: 40 });
const count = fc.nat({ max: 24 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('reserve' as const),
      pages: fc.integer({ min: 1, max: 40 }),
      commit: fc.boolean(),
      protect: fc.constantFrom(...PROTECTIONS),
      level: fc.nat({ max: 2 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('commit' as const),
      r: idx,
      off: page,
      count,
      protect: fc.constantFrom(...PROTECTIONS),
      level: fc.nat({ max: 2 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('decommit' as const), r: idx, off: page, count }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('release' as const),
      r: idx,
      wrong: fc.constantFrom(0 as const, 0 as const, 1 as const, 2 as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('protect' as const),
      r: idx,
      off: page,
      count,
      protect: fc.constantFrom(...PROTECTIONS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('fill' as const), r: idx, off: page, count, byte: fc.nat({ max: 255 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('foreign' as const),
      which: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('badAlloc' as const),
      flags: fc.constantFrom(...BAD_FLAGS),
      protect: fc.constantFrom(...BAD_PROTECTIONS, PAGE.READWRITE),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('stale' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const) }) },
);

/** The reference model: a protection byte per page (0 = reserved), the limit, the state. Nothing clever. */
class Model {
  readonly regions: Array<{ base: number; pages: Uint16Array }> = [];
  readonly released: number[] = [];
  unavailable = false;
  constructor(readonly limitPages: number) {}
  committedPages(): number {
    let n = 0;
    for (const r of this.regions) for (const p of r.pages) if (p !== 0) n++;
    return n;
  }
  reservedPages(): number {
    return this.regions.reduce((n, r) => n + r.pages.length, 0);
  }
  /** The region holding an address and the page it falls in, as the host's region map finds it. */
  locate(address: number, P: number): { g: { base: number; pages: Uint16Array }; off: number } | undefined {
    for (const g of this.regions) {
      if (address >= g.base && address < g.base + g.pages.length * P)
        return { g, off: Math.floor((address - g.base) / P) };
    }
    return undefined;
  }
  fits(pages: number, level: number): boolean {
    const t = DEFAULT_POLICY.thresholds[LEVELS[level]!];
    return this.committedPages() + pages <= t * this.limitPages;
  }
  /** The HRESULT of an allocation the policy refuses at `level`, and its effect on the state. */
  refuse(level: number): number {
    if (level === 2) {
      this.unavailable = true;
      return HR.HOST_E_TIMEOUT;
    }
    return HR.E_OUTOFMEMORY;
  }
}

function writable(p: number): boolean {
  return (p & PAGE.GUARD) === 0 && (p === PAGE.READWRITE || p === PAGE.EXECUTE_READWRITE);
}

async function step(h: Host, m: Model, op: Op, P: number): Promise<number> {
  const region = (r: number) => m.regions[r % Math.max(1, m.regions.length)];
  if (op.k === 'reset') {
    h.reset();
    m.unavailable = false;
    return HR.S_OK;
  }
  if (m.unavailable && op.k !== 'stale') {
    // Every call answers "not available"; run one to check it.
    const r = await h.VirtualAlloc(null, P, MEM.RESERVE, PAGE.READWRITE, 0);
    assert.equal(r.hr, HR.HOST_E_CLRNOTAVAILABLE);
    return r.hr;
  }
  switch (op.k) {
    case 'reserve': {
      const r = await h.VirtualAlloc(
        null,
        op.pages * P - 100,
        op.commit ? MEM.RESERVE | MEM.COMMIT : MEM.RESERVE,
        op.protect,
        op.level,
      );
      let expected: number = HR.S_OK;
      if (op.commit && !m.fits(op.pages, op.level)) expected = m.refuse(op.level);
      assert.equal(r.hr, expected, `reserve ${JSON.stringify(op)}`);
      if (r.hr === HR.S_OK)
        m.regions.push({ base: r.address!, pages: new Uint16Array(op.pages).fill(op.commit ? op.protect : 0) });
      return r.hr;
    }
    case 'commit': {
      const g = region(op.r);
      if (!g) return HR.S_OK;
      const address = g.base + op.off * P;
      const r = await h.VirtualAlloc(address, op.count * P, MEM.COMMIT, op.protect, op.level);
      const at = m.locate(address, P);
      let expected: number = HR.S_OK;
      if (op.count === 0) expected = HR.E_INVALIDARG;
      else if (!at) expected = HR.HOST_E_INVALIDOPERATION;
      else if (at.off + op.count > at.g.pages.length) expected = HR.ERROR_INVALID_ADDRESS;
      else {
        let fresh = 0;
        for (let i = at.off; i < at.off + op.count; i++) if (at.g.pages[i] === 0) fresh++;
        if (fresh > 0 && !m.fits(fresh, op.level)) expected = m.refuse(op.level);
        else at.g.pages.fill(op.protect, at.off, at.off + op.count);
      }
      assert.equal(r.hr, expected, `commit ${JSON.stringify(op)}`);
      if (expected === HR.S_OK) assert.equal(r.address, address);
      return r.hr;
    }
    case 'decommit': {
      const g = region(op.r);
      if (!g) return HR.S_OK;
      const address = g.base + op.off * P;
      const r = await h.VirtualFree(address, op.count * P, MEM.DECOMMIT);
      const at = m.locate(address, P);
      let expected: number = HR.S_OK;
      if (!at) expected = HR.HOST_E_INVALIDOPERATION;
      else if (op.count === 0 && at.off !== 0) expected = HR.E_INVALIDARG;
      else if (op.count === 0) at.g.pages.fill(0);
      else if (at.off + op.count > at.g.pages.length) expected = HR.ERROR_INVALID_ADDRESS;
      else at.g.pages.fill(0, at.off, at.off + op.count);
      assert.equal(r.hr, expected, `decommit ${JSON.stringify(op)}`);
      return r.hr;
    }
    case 'release': {
      const i = op.r % Math.max(1, m.regions.length);
      const g = m.regions[i];
      if (!g) return HR.S_OK;
      const r = await h.VirtualFree(g.base + (op.wrong === 2 ? P : 0), op.wrong === 1 ? P : 0, MEM.RELEASE);
      // base+P of a one-page reservation is outside it: no host memory there.
      const expected =
        op.wrong === 0
          ? HR.S_OK
          : op.wrong === 2 && !m.locate(g.base + P, P)
            ? HR.HOST_E_INVALIDOPERATION
            : HR.E_INVALIDARG;
      assert.equal(r.hr, expected, `release ${JSON.stringify(op)}`);
      if (r.hr === HR.S_OK) {
        m.regions.splice(i, 1);
        m.released.push(g.base);
      }
      return r.hr;
    }
    case 'protect': {
      const g = region(op.r);
      if (!g) return HR.S_OK;
      const address = g.base + op.off * P;
      const r = await h.VirtualProtect(address, op.count * P, op.protect);
      const at = m.locate(address, P);
      let expected: number = HR.S_OK;
      if (op.count === 0) expected = HR.E_INVALIDARG;
      else if (!at) expected = HR.HOST_E_INVALIDOPERATION;
      else if (at.off + op.count > at.g.pages.length) expected = HR.ERROR_INVALID_ADDRESS;
      else if (at.g.pages.subarray(at.off, at.off + op.count).some((p) => p === 0)) expected = HR.ERROR_INVALID_ADDRESS;
      assert.equal(r.hr, expected, `protect ${JSON.stringify(op)}`);
      if (expected === HR.S_OK && at) {
        assert.equal(r.oldProtect, at.g.pages[at.off]);
        at.g.pages.fill(op.protect, at.off, at.off + op.count);
      }
      return r.hr;
    }
    case 'fill': {
      const g = region(op.r);
      if (!g) return HR.S_OK;
      const address = g.base + op.off * P + 8;
      const size = op.count * P;
      const r = await h.Fill(address, size, op.byte);
      const at = m.locate(address, P);
      let expected: number = HR.S_OK;
      const last = at ? Math.ceil((address - at.g.base + size) / P) : 0;
      if (op.count === 0) expected = HR.E_INVALIDARG;
      else if (!at) expected = HR.HOST_E_INVALIDOPERATION;
      else if (last > at.g.pages.length) expected = HR.ERROR_INVALID_ADDRESS;
      else {
        const pages = [...at.g.pages.subarray(at.off, last)];
        if (pages.some((p) => p === 0)) expected = HR.ERROR_INVALID_ADDRESS;
        else if (!pages.every(writable)) expected = HR.ERROR_NOACCESS;
      }
      assert.equal(r.hr, expected, `fill ${JSON.stringify(op)}`);
      if (expected === HR.S_OK) assert.equal((await h.Check(address, size, op.byte)).equal, true);
      return r.hr;
    }
    case 'foreign': {
      // An address that no reservation holds: a granule just past the highest one.
      const top = m.regions.reduce((a, g) => Math.max(a, g.base + g.pages.length * P), 0x10000000);
      const at = Math.ceil((top + 0x100000) / 0x10000) * 0x10000;
      const r =
        op.which === 0
          ? await h.VirtualFree(at, 0, MEM.RELEASE)
          : op.which === 1
            ? await h.VirtualProtect(at, P, PAGE.READWRITE)
            : await h.VirtualAlloc(at, P, MEM.COMMIT, PAGE.READWRITE, 0);
      assert.equal(r.hr, HR.HOST_E_INVALIDOPERATION);
      return r.hr;
    }
    case 'badAlloc': {
      const r = await h.VirtualAlloc(null, P, op.flags, op.protect, 0);
      assert.equal(r.hr, HR.E_INVALIDARG, `badAlloc ${JSON.stringify(op)}`);
      return r.hr;
    }
    case 'stale': {
      const base = m.released.at(-1);
      // The OS may have handed a released range out again to a later reservation: then it is owned again.
      if (base === undefined || m.regions.some((g) => base >= g.base && base < g.base + g.pages.length * P))
        return HR.S_OK;
      const r = await h.VirtualFree(base, 0, MEM.RELEASE);
      const expected = m.unavailable ? HR.HOST_E_CLRNOTAVAILABLE : HR.HOST_E_INVALIDOPERATION;
      assert.equal(r.hr, expected);
      return r.hr;
    }
  }
}

test('random call sequences: HRESULTs and books match the reference model and the OS after every step', async () => {
  let steps = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 30, maxLength: 90 }), async (ops) => {
      const h = createHost({
        policy: { ...DEFAULT_POLICY, commitLimit: LIMIT_PAGES * 4096, processCriticalWaitMs: 0 },
      });
      const P = h.pageSize;
      const m = new Model(LIMIT_PAGES);
      try {
        for (const op of ops) {
          const hr = await step(h, m, op, P);
          steps++;
          assert.ok(isKnownHResult(hr), `unknown HRESULT 0x${(hr >>> 0).toString(16)}`);
          const s = h.stats();
          assert.equal(s.reserved, m.reservedPages() * P, 'reserved bytes');
          assert.equal(s.committed, m.committedPages() * P, 'committed bytes');
          assert.ok(s.committed <= s.reserved);
          assert.equal(s.regions, m.regions.length);
          assert.equal(s.state, m.unavailable ? 'unavailable' : 'available');
          assert.deepEqual(h.audit().drift, [], 'audit after each step');
        }
      } finally {
        h.dispose();
      }
    }),
    {
      numRuns: Number(process.env.HOSTMEM_PROPERTY_RUNS ?? 55),
      seed: Number(process.env.HOSTMEM_PROPERTY_SEED ?? Date.now() % 100000),
    },
  );
  assert.ok(steps >= 2000, `ran ${steps} steps`);
  console.log(`property: ${steps} random steps, no drift`);
});
