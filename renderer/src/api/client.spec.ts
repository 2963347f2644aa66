import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiCallError, type ApiClient, type Push, type SocketLike } from './contract';
import { createIpcClient, createWebSocketClient, socketUrl } from './client';

/** A test double for the browser WebSocket: records frames, lets the test open, answer and drop it. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { t: string; id: number; method: string; params: unknown }[] = [];
  private readonly listeners = new Map<string, ((event: { readonly data: unknown }) => void)[]>();
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  addEventListener(type: string, listener: (event: { readonly data: unknown }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  private emit(type: string, data?: unknown): void {
    for (const l of this.listeners.get(type) ?? []) l({ data });
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as FakeSocket['sent'][number]);
  }
  close(): void {
    this.drop();
  }
  open(): void {
    this.readyState = 1;
    this.emit('open');
  }
  receive(data: unknown): void {
    this.emit('message', typeof data === 'string' ? data : JSON.stringify(data));
  }
  drop(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close');
  }
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function client(timeoutMs = 1000) {
  return createWebSocketClient({
    url: 'ws://127.0.0.1:1234/ws?token=abc',
    createSocket: (url) => new FakeSocket(url),
    timeoutMs,
    reconnectMinMs: 100,
  });
}

describe('WebSocket ApiClient', () => {
  it('builds the socket URL from the page URL and its token', () => {
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:8080', search: '?token=a%2Bb&x=1' })).toBe(
      'ws://127.0.0.1:8080/ws?token=a%2Bb',
    );
    expect(socketUrl({ protocol: 'https:', host: 'h', search: '' })).toBe('wss://h/ws?token=');
  });

  it('sends requests once open and matches responses by id, whatever their order', async () => {
    const c = client();
    const a = c.call('hello');
    const b = c.call('pageMap', { address: 65536 });
    const s = FakeSocket.all[0]!;
    expect(s.sent).toHaveLength(0);
    s.open();
    expect(s.sent.map((f) => [f.t, f.method])).toEqual([
      ['req', 'hello'],
      ['req', 'pageMap'],
    ]);
    expect(s.sent[1]!.params).toEqual({ address: 65536 });
    s.receive({ t: 'res', id: s.sent[1]!.id, ok: true, result: { found: false, pageSize: 4096 } });
    s.receive({ t: 'res', id: s.sent[0]!.id, ok: false, error: { code: 'internal', message: 'boom' } });
    await expect(b).resolves.toEqual({ found: false, pageSize: 4096 });
    const err = await a.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).code).toBe('internal');
  });

  it('ignores malformed frames and pushes', () => {
    const c = client();
    const pushes: Push[] = [];
    c.onPush((m) => pushes.push(m));
    const s = FakeSocket.all[0]!;
    s.open();
    s.receive('not json');
    s.receive({ t: 'push' });
    s.receive({ t: 'push', message: { type: 'full', seq: 1 } }); // missing fields
    s.receive({ t: 'push', message: { type: 'weird' } });
    s.receive({ t: 'res', id: 'nope', ok: true });
    s.receive([1, 2, 3]);
    expect(pushes).toHaveLength(0);
    s.receive({ t: 'push', message: { type: 'workloads', time: 1, workloads: [] } });
    expect(pushes).toHaveLength(1);
  });

  it("passes a reveal push only with view 'failures' and a safe integer or null failureSeq", () => {
    const c = client();
    const pushes: Push[] = [];
    c.onPush((m) => pushes.push(m));
    const s = FakeSocket.all[0]!;
    s.open();
    s.receive({ t: 'push', message: { type: 'reveal', view: 'overview', failureSeq: 1 } });
    s.receive({ t: 'push', message: { type: 'reveal', view: 'failures' } });
    s.receive({ t: 'push', message: { type: 'reveal', view: 'failures', failureSeq: '7' } });
    s.receive({ t: 'push', message: { type: 'reveal', view: 'failures', failureSeq: 7.5 } });
    s.receive({ t: 'push', message: { type: 'reveal', view: 'failures', failureSeq: 2 ** 60 } });
    s.receive({ t: 'push', message: { type: 'reveal', failureSeq: 7 } });
    expect(pushes).toHaveLength(0);
    s.receive({ t: 'push', message: { type: 'reveal', view: 'failures', failureSeq: 7 } });
    s.receive({ t: 'push', message: { type: 'reveal', view: 'failures', failureSeq: null } });
    expect(pushes).toEqual([
      { type: 'reveal', view: 'failures', failureSeq: 7 },
      { type: 'reveal', view: 'failures', failureSeq: null },
    ]);
  });

  it('times out a request with no answer', async () => {
    const c = client(500);
    FakeSocket.all[0]!.open();
    const p = c.call('snapshots');
    vi.advanceTimersByTime(501);
    await expect(p).rejects.toThrow(/no answer/);
  });

  it('reconnects after a drop, fails the requests in flight and runs the reconnect listeners (resync)', async () => {
    const c = client();
    const onReconnect = vi.fn(() => {
      void c.call('resync');
    });
    c.onReconnect(onReconnect);
    const statuses: string[] = [];
    c.onStatus((s) => statuses.push(s));
    const first = FakeSocket.all[0]!;
    first.open();
    const inFlight = c.call('workloads');
    first.drop();
    await expect(inFlight).rejects.toBeInstanceOf(ApiCallError);
    expect(onReconnect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    const second = FakeSocket.all[1]!;
    expect(second).toBeDefined();
    second.open();
    expect(onReconnect).toHaveBeenCalledOnce();
    expect(second.sent.map((f) => f.method)).toEqual(['resync']);
    expect(statuses).toEqual(['open', 'closed', 'connecting', 'open']);
    // Answers from the dead socket are ignored.
    first.receive({ t: 'res', id: second.sent[0]!.id, ok: true, result: { ok: false } });
    second.receive({ t: 'res', id: second.sent[0]!.id, ok: true, result: { ok: true } });
  });

  it('backs off between failed attempts', () => {
    client();
    FakeSocket.all[0]!.drop();
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.drop();
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(3);
  });
});

describe('createIpcClient (the preload bridge)', () => {
  it("turns the preload's plain-object rejection into an ApiCallError with its code and issues", async () => {
    // What preload/index.ts rejects with: the contract's ApiError as a plain object.
    const bridge: ApiClient = {
      call: () =>
        Promise.reject({ code: 'bad-request', message: 'invalid params', issues: ['params.size: Too small'] }),
      onPush: () => () => undefined,
    };
    const error = await createIpcClient(bridge)
      .call('hello')
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).code).toBe('bad-request');
    expect((error as ApiCallError).issues).toEqual(['params.size: Too small']);
  });

  it('keeps an unknown code from the bridge as internal, never as a made-up code', async () => {
    const bridge: ApiClient = {
      call: () => Promise.reject({ code: 'weird', message: 'm' }),
      onPush: () => () => undefined,
    };
    const error = await createIpcClient(bridge)
      .call('hello')
      .catch((e: unknown) => e);
    expect((error as ApiCallError).code).toBe('internal');
  });
});
