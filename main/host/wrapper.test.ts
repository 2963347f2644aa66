/**
 * The table of calls drives the host's call events, call observers and every HostWrapper: these tests fail when
 * the table, the host and the wrapper disagree about which calls exist, their arguments or their results.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { MEM, PAGE } from '../../native';
import {
  HEAP_CALL_NAMES,
  HOST_CALL_NAMES,
  HR,
  HostWrapper,
  callArgs,
  callLevel,
  createHost,
  type Host,
  type HostEvent,
  type HostMethod,
  type HostResult,
  type WrappedCall,
} from './index';

const RW = PAGE.READWRITE;
const G = 0x10000;

let host: Host | undefined;
afterEach(() => {
  if (host) {
    assert.deepEqual(host.audit().drift, []);
    host.dispose();
  }
  host = undefined;
});

/** A wrapper that writes down what its hooks see. */
class Spy extends HostWrapper<number> {
  readonly seen: Array<{ method: HostMethod; args: readonly unknown[]; heap: number | undefined; hr: number }> = [];
  private order = 0;
  protected before(): number {
    return ++this.order;
  }
  protected after(call: WrappedCall, result: HostResult, context: number): void {
    assert.equal(context, this.order, 'after gets what before returned for the same call');
    this.seen.push({ method: call.method, args: [...call.args], heap: call.heap, hr: result.hr });
  }
}

/** Every call of the table once, through `h`, with arguments that work. */
async function everyCall(h: Host | HostWrapper<unknown>): Promise<HostMethod[]> {
  const calls: HostMethod[] = [];
  const r = await h.VirtualAlloc(null, G, MEM.RESERVE, RW, 1, 't');
  const a = r.address!;
  await h.VirtualAlloc(a, G, MEM.COMMIT, RW, 0);
  await h.VirtualProtect(a, 4096, PAGE.READONLY);
  await h.VirtualQuery(a);
  await h.Fill(a + 4096, 16, 7);
  await h.Check(a + 4096, 16, 7);
  await h.GetMemoryLoad();
  await h.RegisterMemoryNotificationCallback(() => undefined);
  await h.NeedsVirtualAddressSpace(0x7e0000000000, G);
  await h.AcquiredVirtualAddressSpace(0x7e0000000000, G);
  await h.ReleasedVirtualAddressSpace(0x7e0000000000);
  const m = await h.CreateMalloc(1);
  const heap = h.malloc(m.malloc!)!;
  const b = await heap.Alloc(100, 0);
  const d = await heap.DebugAlloc(200, 2, 'f.cpp', 9);
  await heap.Free(b.address!);
  await heap.Free(d.address!);
  await h.VirtualFree(a, 0, MEM.RELEASE);
  calls.push(
    'VirtualAlloc',
    'VirtualAlloc',
    'VirtualProtect',
    'VirtualQuery',
    'Fill',
    'Check',
    'GetMemoryLoad',
    'RegisterMemoryNotificationCallback',
    'NeedsVirtualAddressSpace',
    'AcquiredVirtualAddressSpace',
    'ReleasedVirtualAddressSpace',
    'CreateMalloc',
    'Alloc',
    'DebugAlloc',
    'Free',
    'Free',
    'VirtualFree',
  );
  return calls;
}

describe('the table of calls', () => {
  test('names exactly the host methods and heap methods there are, and every one is exercised here', async () => {
    host = createHost();
    const made = await everyCall(host);
    assert.deepEqual(new Set(made), new Set([...HOST_CALL_NAMES, ...HEAP_CALL_NAMES]));
    for (const name of HOST_CALL_NAMES) assert.equal(typeof host[name], 'function', name);
    const own = Object.getOwnPropertyNames(Object.getPrototypeOf(host) as object);
    const layers: string[] = [];
    for (let p: object | null = host; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object) {
      layers.push(...Object.getOwnPropertyNames(p));
    }
    // Every capitalised public method of the host is in the table (a method added without its line fails here).
    const capitalised = [...new Set(layers)].filter((n) => /^[A-Z]/.test(n));
    assert.deepEqual(new Set(capitalised), new Set(HOST_CALL_NAMES), `host methods: ${own.join(', ')}`);
  });

  test('call events carry the arguments under the names the table gives, undefined as null', async () => {
    host = createHost();
    const events: Array<Extract<HostEvent, { kind: 'call' }>> = [];
    host.subscribe((e) => {
      if (e.kind === 'call') events.push(e);
    });
    await everyCall(host);
    const alloc = events[0]!;
    assert.equal(alloc.method, 'VirtualAlloc');
    assert.deepEqual(alloc.args, { address: null, size: G, type: MEM.RESERVE, protect: RW, level: 1, tag: 't' });
    assert.deepEqual(events[1]!.args, {
      address: alloc.result.address!,
      size: G,
      type: MEM.COMMIT,
      protect: RW,
      level: 0,
      tag: null,
    });
    const byMethod = new Map(events.map((e) => [e.method, e.args]));
    assert.deepEqual(byMethod.get('RegisterMemoryNotificationCallback'), {});
    assert.deepEqual(byMethod.get('CreateMalloc'), { type: 1 });
    const heapId = events.find((e) => e.method === 'CreateMalloc')!.result.malloc!;
    assert.deepEqual(byMethod.get('Alloc'), { malloc: heapId, size: 100, level: 0 });
    assert.deepEqual(byMethod.get('DebugAlloc'), { malloc: heapId, size: 200, level: 2, file: 'f.cpp', line: 9 });
    assert.deepEqual(Object.keys(byMethod.get('Free')!), ['malloc', 'address']);
    assert.deepEqual(byMethod.get('VirtualFree'), { address: alloc.result.address!, size: 0, type: MEM.RELEASE });
    assert.deepEqual(callArgs('VirtualFree', [1, 2, 3]), { address: 1, size: 2, type: 3 });
    assert.equal(callLevel('VirtualAlloc', [null, 1, 2, 3, 2]), 2);
    assert.equal(callLevel('DebugAlloc', [10, 1, 'f', 1]), 1);
    assert.equal(callLevel('VirtualFree', [1, 2, 3]), undefined);
  });
});

describe('call observers (the cheap way to count calls)', () => {
  test('are told every call, host and heap, with its HRESULT, failures included, with or without listeners', async () => {
    for (const withListener of [false, true]) {
      host = createHost();
      if (withListener) host.subscribe(() => undefined);
      const told: Array<[HostMethod, number]> = [];
      const stop = host.observeCalls((method, hr) => told.push([method, hr]));
      const made = await everyCall(host);
      assert.deepEqual(
        told.map(([m]) => m),
        made,
      );
      assert.ok(told.every(([, hr]) => hr === HR.S_OK));
      await host.VirtualFree(0x10000, 0, MEM.RELEASE);
      assert.deepEqual(told.at(-1), ['VirtualFree', HR.HOST_E_INVALIDOPERATION]);
      stop();
      await host.GetMemoryLoad();
      assert.equal(told.length, made.length + 1, 'a stopped observer is told nothing more');
      host.dispose();
      host = undefined;
    }
  });

  test("an observer's exception changes nothing the host answers", async () => {
    host = createHost();
    host.observeCalls(() => {
      throw new Error('observer bug');
    });
    const r = await host.VirtualAlloc(null, G, MEM.RESERVE | MEM.COMMIT, RW, 0);
    assert.equal(r.hr, HR.S_OK);
    assert.equal((await host.VirtualFree(r.address!, 0, MEM.RELEASE)).hr, HR.S_OK);
  });
});

describe('HostWrapper', () => {
  test('forwards every call of the table, host and heap, with its arguments, the heap id and the same result', async () => {
    host = createHost();
    const spy = new Spy(host);
    const made = await everyCall(spy);
    assert.deepEqual(
      spy.seen.map((s) => s.method),
      made,
    );
    assert.ok(spy.seen.every((s) => s.hr === HR.S_OK));
    const alloc = spy.seen.find((s) => s.method === 'DebugAlloc')!;
    assert.deepEqual(alloc.args, [200, 2, 'f.cpp', 9]);
    assert.equal(typeof alloc.heap, 'number');
    assert.equal(spy.seen[0]!.heap, undefined);
    assert.equal(spy.malloc(alloc.heap!), spy.malloc(alloc.heap!), 'one wrapped heap per heap');
    assert.equal(spy.malloc(9999), undefined);
    // The inner host holds what went through the wrapper.
    assert.equal(spy.stats().regions, 0);
    const r = await spy.VirtualAlloc(null, G, MEM.RESERVE, RW, 0);
    assert.equal(host.regionAt(r.address!)?.base, r.address);
    await spy.VirtualFree(r.address!, 0, MEM.RELEASE);
  });
});
