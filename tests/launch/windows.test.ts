/**
 * `hostmem launch` on Windows, with the Windows agent DLL: a mingw program whose calls are known in advance, fault
 * rules that refuse the Nth VirtualAlloc / HeapAlloc (the program sees what Windows gives), and Windows Node itself
 * (node.exe, V8) under a commit budget. Everything real: the DLL the build made, loaded into a suspended process by
 * a remote LoadLibraryW, the named pipe, the program's own results. Runs under Wine in the `wine` leg and natively
 * in the Windows workflow.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Launch, type LaunchListener, type TracedProcess } from '../../main/launch/launcher';
import type { LaunchPolicy } from '../../main/launch/policy';
import { DEFAULT_POLICY } from '../../main/host/types';
import { OP, OP_FUNCTION, RESULT } from '../../main/launch/protocol';
import type { AgentEvent } from '../../main/launch/wire';
import { policy } from './testing';

const AGENT = join(process.cwd(), 'out', 'agent', 'hostmem-agent.dll');
const WINCALLS = join(process.cwd(), 'out', 'tests', 'launch', 'programs', 'wincalls.exe');

function skipReason(): string | undefined {
  if (process.platform !== 'win32') {
    return `the Windows agent runs on Windows (here ${process.platform}): the wine leg runs these tests under Wine`;
  }
  if (!existsSync(AGENT)) return 'the Windows agent was not built (no mingw-w64 when build-node ran)';
  if (!existsSync(WINCALLS)) return 'wincalls.exe was not built (no mingw-w64 when build-node ran)';
  return undefined;
}
const skip = skipReason();

const scratch = mkdtempSync(join(tmpdir(), 'hostmem-win-launch-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let runs = 0;

interface WinRan {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly root: TracedProcess;
  readonly events: AgentEvent[];
}

/** Launch a Windows program to its end, its stdout and stderr in files. */
async function runWin(
  program: string,
  args: readonly string[],
  p: LaunchPolicy,
  listener: LaunchListener = {},
): Promise<WinRan> {
  const n = runs++;
  const stdout = join(scratch, `out${n}.txt`);
  const stderr = join(scratch, `err${n}.txt`);
  const events: AgentEvent[] = [];
  const launch = await Launch.start(
    { program, args },
    {
      agentPath: AGENT,
      policy: p,
      stdioFiles: { stdin: 'NUL', stdout, stderr },
      listener: {
        ...listener,
        events(proc, batch, n, stacks) {
          for (let k = 0; k < n; k++) events.push(batch.event(k));
          listener.events?.(proc, batch, n, stacks);
        },
      },
    },
  );
  const result = await launch.done();
  const out = readFileSync(stdout, 'utf8');
  const err = readFileSync(stderr, 'utf8');
  if (launch.spawnError) throw new Error(`${launch.spawnError.message}\n${err}`);
  const root = result.processes[0];
  if (!root) throw new Error(`no traced process (exit ${result.status}; stderr: ${err})`);
  return { status: result.status, stdout: out, stderr: err, root, events };
}

const hex = (s: string | undefined): number => Number.parseInt(s ?? 'NaN', 16);

// A launch that never ends fails its test instead of holding the whole Wine leg.
describe('hostmem launch (Windows agent)', { skip, timeout: 180_000 }, () => {
  test('every hooked call of a known program is seen once, with its result; the books agree with the agent', async () => {
    const r = await runWin(WINCALLS, ['known'], policy({ sampleBytes: 0 }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.root.hello.os, 2, 'the agent said it is Windows');
    // The program's own calls: those whose innermost frame in the program is known_calls (the C runtime allocates
    // on the process heap too, through the same hooks: at start-up, and in out()'s vsnprintf). VirtualQuery and
    // HeapFree carry no stack.
    const inKnown = (e: AgentEvent): boolean =>
      e.frames.map((pc) => r.root.symbols.symbolise(pc)).find((f) => f.module === 'wincalls.exe')?.function ===
      'known_calls';
    const mine: Record<string, number> = {};
    for (const e of r.events.filter(inKnown)) mine[OP_FUNCTION[e.op]!] = (mine[OP_FUNCTION[e.op]!] ?? 0) + 1;
    assert.deepEqual(mine, {
      VirtualAlloc: 3,
      VirtualProtect: 1,
      VirtualFree: 3,
      HeapCreate: 1,
      HeapAlloc: 3,
      HeapReAlloc: 1,
      HeapDestroy: 1,
    });
    assert.equal(r.root.decoder.lost, 0);
    // The addresses the program printed are the ones the events carry, each once.
    const reserve = hex(/^reserve (\S+)$/m.exec(r.stdout)?.[1]);
    const both = hex(/^both (\S+)$/m.exec(r.stdout)?.[1]);
    const [heap, a1, a2, a3] = (/^heap (\S+) (\S+) (\S+) (\S+)$/m.exec(r.stdout) ?? []).slice(1).map(hex);
    const left = hex(/^left (\S+)$/m.exec(r.stdout)?.[1]);
    const one = (op: number, field: 'ret' | 'addr', value: number | undefined): AgentEvent => {
      const found = r.events.filter((e) => e.op === op && e[field] === value);
      assert.equal(found.length, 1, `op ${op} with ${field} 0x${value?.toString(16)}: ${found.length} events`);
      return found[0]!;
    };
    // The reservation, its commit and the second reservation (which may reuse the released address) are one each.
    const allocs = r.events.filter((e) => e.op === OP.VIRTUAL_ALLOC && (e.ret === reserve || e.ret === both));
    assert.deepEqual(
      allocs.map((e) => [e.addr === 0 ? 'new' : 'at', e.size, e.flags, e.extra]),
      [
        ['new', 1 << 20, 0x2000, 0],
        ['at', 1 << 16, 0x1000, 1 << 16],
        ['new', 3 << 16, 0x3000, 3 << 16],
      ],
    );
    assert.equal(one(OP.HEAP_CREATE, 'ret', heap).result, RESULT.OK);
    // The private heap's blocks (a freed block's address may come back for the next one).
    assert.deepEqual(
      r.events.filter((e) => e.op === OP.HEAP_ALLOC && e.addr === heap).map((e) => [e.ret, e.size]),
      [
        [a1, 1000],
        [a2, 5000],
        [left, 777],
      ],
    );
    assert.equal(one(OP.HEAP_REALLOC, 'ret', a3).size, 3000);
    // The usable sizes the agent reports are what HeapSize says in the program.
    const sizes = (/^sizes (\d+) (\d+)$/m.exec(r.stdout) ?? []).slice(1).map(Number);
    assert.deepEqual(sizes, [5000, 3000]);
    assert.deepEqual(
      [r.events.find((e) => e.op === OP.HEAP_ALLOC && e.ret === a2)?.extra, one(OP.HEAP_REALLOC, 'ret', a3).extra],
      sizes,
    );
    assert.equal(one(OP.HEAP_FREE, 'addr', a2).result, RESULT.OK);
    assert.equal(
      one(OP.VIRTUAL_QUERY, 'addr', reserve).ret,
      48,
      'VirtualQuery answered sizeof(MEMORY_BASIC_INFORMATION)',
    );
    assert.equal(one(OP.HEAP_DESTROY, 'addr', heap).result, RESULT.OK);
    // The decommit gave back 32 KiB of the 64 committed; the release the rest.
    const frees = r.events.filter((e) => e.op === OP.VIRTUAL_FREE).map((e) => e.extra);
    assert.deepEqual(frees, [1 << 15, 1 << 15, 3 << 16]);
    // Everything it reserved it released, every heap block went with its heap.
    const b = r.root.books;
    assert.equal(b.totals.reserved, 0);
    assert.equal(b.totals.committed, 0);
    assert.equal(b.peaks.committed, 3 << 16);
    const live = new Map(b.heapBlocks());
    for (const address of [a1, a2, a3, left]) assert.ok(!live.has(address!), 'no block of the heap is left');
    const c = r.root.counters;
    assert.ok(c, 'the agent sent its counters');
    assert.equal(c.committed, b.totals.committed);
    assert.equal(c.reserved, b.totals.reserved);
    assert.equal(c.heap, b.totals.heap);
    assert.ok(r.root.said, 'the agent said BYE at exit');
    // Call sites from the export table of the program: known_calls made the reservation.
    const region = r.events.find((e) => e.op === OP.VIRTUAL_ALLOC && e.ret === reserve)!;
    assert.ok(region.frames.length > 0, 'the call carried a stack');
    const site = r.root.symbols.symbolise(region.frames[0]!);
    assert.equal(site.module, 'wincalls.exe');
    assert.equal(site.function, 'known_calls');
  });

  test('a fault rule refuses every 3rd VirtualAlloc: NULL with ERROR_COMMITMENT_LIMIT or ERROR_NOT_ENOUGH_MEMORY', async () => {
    const r = await runWin(WINCALLS, ['vfaults', '30'], policy({ faults: [{ op: ['VirtualAlloc'], everyNth: 3 }] }));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^commit refused 10 of 30, 10 with ERROR_COMMITMENT_LIMIT$/m);
    assert.match(r.stdout, /^reserve refused 10 of 30, 10 with ERROR_NOT_ENOUGH_MEMORY$/m);
    const seen = r.root.books.calls.VirtualAlloc;
    assert.equal(seen?.calls, 60);
    assert.equal(seen.refused, 20);
    assert.equal(r.root.books.stats().failures.eTaskCritical, 20);
    const refused = r.events.filter((e) => e.result === RESULT.REFUSED_INJECTED);
    assert.deepEqual(
      [...new Set(refused.map((e) => e.err))].sort((x, y) => x - y),
      [8, 1455],
    );
  });

  test('a fault rule refuses every 2nd HeapAlloc: NULL, or STATUS_NO_MEMORY with HEAP_GENERATE_EXCEPTIONS', async () => {
    // Only the program's own calls (the level rule names its function: a call-site rule from the export table).
    const r = await runWin(
      WINCALLS,
      ['hfaults', '20'],
      policy({
        levelRules: [{ function: 'hfaults', level: 'eAppDomainCritical' }],
        faults: [{ op: ['HeapAlloc'], level: 'eAppDomainCritical', everyNth: 2 }],
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^heap refused 10 of 20$/m);
    assert.match(r.stdout, /^exceptions 10 for 10 NULLs$/m);
    assert.equal(r.root.books.calls.HeapAlloc?.refused, 20);
    assert.equal(r.root.books.stats().failures.eAppDomainCritical, 20);
    assert.equal(r.root.counters?.heap, r.root.books.totals.heap);
  });

  /** A script that keeps 200 arrays of 250,000 numbers (~400 MB of V8 heap): V8 reserves and commits for it. */
  const allocating = (): string => {
    const script = join(scratch, 'allocate.js');
    writeFileSync(
      script,
      "const keep = [];\nfor (let i = 0; i < 200; i++) keep.push(new Array(250000).fill(i));\nconsole.log('kept', keep.length);\n",
    );
    return script;
  };

  test("Windows Node itself: V8's reservations are seen with call sites in node.exe; the books agree with the agent", async () => {
    const r = await runWin(process.execPath, [allocating()], policy());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^kept 200$/m);
    assert.match(r.root.hello.exe, /node\.exe$/i);
    const b = r.root.books;
    assert.ok((b.calls.VirtualAlloc?.calls ?? 0) > 100, `VirtualAlloc calls: ${b.calls.VirtualAlloc?.calls}`);
    assert.ok((b.calls.HeapAlloc?.calls ?? 0) > 1000, 'the C runtime of node.exe allocates through HeapAlloc');
    assert.ok(b.peaks.committed > 300 * 1024 * 1024, `peak committed ${b.peaks.committed}`);
    // V8's reservations (its cage, its pages) are made by node.exe's own code.
    const reservations = r.events.filter((e) => e.op === OP.VIRTUAL_ALLOC && (e.flags & 0x2000) !== 0 && e.ret !== 0);
    const sites = reservations.map((e) => r.root.callSite(b.internFrames(e.frames)) ?? '');
    assert.ok(sites.length > 0);
    assert.ok(
      sites.every((s) => /^node\.exe!/i.test(s)),
      `reservations not made by node.exe: ${sites.filter((s) => !/^node\.exe!/i.test(s)).join(', ')}`,
    );
    assert.ok(r.root.said, 'node.exe exited through ExitProcess: the agent said BYE');
    const c = r.root.counters;
    assert.ok(c);
    assert.equal(c.committed, b.totals.committed);
    assert.equal(c.reserved, b.totals.reserved);
    assert.equal(c.heap, b.totals.heap);
  });

  test('Windows Node under a commit budget fails the way V8 fails on out-of-memory; the refusals are in the books', async () => {
    const budget = 256 * 1024 * 1024;
    const r = await runWin(
      process.execPath,
      [allocating()],
      policy({ host: { ...DEFAULT_POLICY, commitLimit: budget }, sampleBytes: 0 }),
    );
    assert.notEqual(r.status, 0, 'node.exe did not survive the budget');
    assert.doesNotMatch(r.stdout, /kept/);
    // V8's own words for a failed allocation: its fatal-error banner, or Node's out-of-memory line.
    assert.match(r.stderr, /Fatal error|out of memory/i, r.stderr);
    const b = r.root.books;
    const refused = Object.values(b.calls).reduce((n, c) => n + c.refused, 0);
    assert.ok((b.calls.VirtualAlloc?.refused ?? 0) + (b.calls.HeapAlloc?.refused ?? 0) > 0);
    assert.ok(refused > 0, 'hostmem refused allocations');
    assert.equal(b.stats().failures.eTaskCritical, refused, 'every refusal is in the books at its level');
    assert.ok(b.peaks.committed + b.peaks.heap <= budget + 64 * 1024 * 1024, 'the charge stayed near the budget');
    const last = r.events.filter((e) => e.result === RESULT.REFUSED_POLICY).at(-1);
    assert.ok(last && (last.err === 1455 || last.err === 8), `refused with a Windows error (${last?.err})`);
  });
});
