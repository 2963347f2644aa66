/**
 * The contract's WebSocket client against a real `ws` server on loopback: answers matched by id, pushes checked,
 * error frames turned into ApiCallErrors, the per-request timeout, a dropped connection, and reconnection.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { ApiCallError, type Push } from './index';
import { connectSocketClient, createSocketClient, type ConnectionStatus, type SocketClient } from './client';

/** What the test server does with one request frame: answer it (a frame to send), or not at all (undefined). */
type Answer = (frame: { id: number; method: string; params: unknown }, socket: WebSocket) => unknown;

let server: WebSocketServer;
let url: string;
let answer: Answer = (f) => ({ t: 'res', id: f.id, ok: true, result: { method: f.method, params: f.params } });
const connections: WebSocket[] = [];

before(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  server.on('connection', (socket) => {
    connections.push(socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { id: number; method: string; params: unknown };
      const reply = answer(frame, socket);
      if (reply !== undefined) socket.send(JSON.stringify(reply));
    });
  });
});
after(async () => {
  for (const c of connections) c.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const open = (): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

const rejection = (p: Promise<unknown>): Promise<ApiCallError> =>
  p.then(
    (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e: unknown) => {
      assert.ok(e instanceof ApiCallError, `an ApiCallError, got ${String(e)}`);
      return e;
    },
  );

const lastConnection = (): WebSocket => connections[connections.length - 1]!;

describe('createSocketClient (one given socket)', () => {
  let client: SocketClient;
  before(async () => {
    answer = (f) => ({ t: 'res', id: f.id, ok: true, result: { method: f.method, params: f.params } });
    client = createSocketClient(await open(), { timeoutMs: 2000 });
  });
  after(() => client.close());

  test('is open at once over an open socket, and matches answers to requests', async () => {
    assert.equal(client.status, 'open');
    const [a, b] = await Promise.all([client.call('pageMap', { address: 65536 }), client.call('hello')]);
    assert.deepEqual(a, { method: 'pageMap', params: { address: 65536 } });
    assert.deepEqual(b, { method: 'hello', params: {} });
    assert.equal(client.pending, 0);
  });

  test('hands on pushes of a known shape and counts the others as malformed', async () => {
    const pushes: Push[] = [];
    const stop = client.onPush((m) => pushes.push(m));
    const before = client.malformed;
    const server = lastConnection();
    server.send('not json');
    server.send(JSON.stringify({ t: 'push', message: { type: 'full', seq: 1 } })); // fields missing
    server.send(JSON.stringify({ t: 'push', message: { type: 'workloads', time: 1, workloads: [] } }));
    await client.call('hello'); // answered after the three frames above
    stop();
    assert.deepEqual(pushes, [{ type: 'workloads', time: 1, workloads: [] }]);
    assert.equal(client.malformed - before, 2);
  });

  test('turns an error frame into an ApiCallError with its code and issues; an unknown code is internal', async () => {
    answer = (f) => ({
      t: 'res',
      id: f.id,
      ok: false,
      error:
        f.method === 'hello'
          ? { code: 'refused', message: 'no', issues: ['params.x: bad', 7] }
          : { code: 'made-up', message: 'odd' },
    });
    const refused = await rejection(client.call('hello'));
    assert.equal(refused.code, 'refused');
    assert.equal(refused.message, 'no');
    assert.deepEqual(refused.issues, ['params.x: bad']);
    assert.equal((await rejection(client.call('snapshots'))).code, 'internal');
  });
});

describe('timeouts and drops', () => {
  test('a request with no answer fails with code timeout, and is no longer pending', async () => {
    answer = () => undefined;
    const client = createSocketClient(await open(), { timeoutMs: 50 });
    const error = await rejection(client.call('workloads'));
    assert.equal(error.code, 'timeout');
    assert.match(error.message, /workloads: no answer within 50 ms/);
    assert.equal(client.pending, 0);
    client.close();
  });

  test('when its one socket closes, pending and later requests fail with closed', async () => {
    answer = () => undefined;
    const client = createSocketClient(await open(), { timeoutMs: 5000 });
    const statuses: ConnectionStatus[] = [];
    client.onStatus((s) => statuses.push(s));
    const inFlight = client.call('workloads');
    lastConnection().close();
    assert.equal((await rejection(inFlight)).code, 'closed');
    assert.equal((await rejection(client.call('hello'))).code, 'closed');
    assert.deepEqual(statuses, ['closed']);
  });

  test('close() fails what is pending and refuses what comes after', async () => {
    answer = () => undefined;
    const client = createSocketClient(await open(), { timeoutMs: 5000 });
    const inFlight = client.call('workloads');
    client.close();
    assert.equal((await rejection(inFlight)).code, 'closed');
    assert.equal((await rejection(client.call('hello'))).code, 'closed');
  });
});

describe('connectSocketClient (reconnecting)', () => {
  test('reconnects after a drop: the call in flight fails, a call made meanwhile is answered, onReconnect runs', async () => {
    let dropNext = true;
    answer = (f, socket) => {
      // A method no other test calls: a late frame from an earlier test must not take the drop.
      if (f.method === 'takeSnapshot' && dropNext) {
        dropNext = false;
        socket.terminate();
        return undefined;
      }
      return { t: 'res', id: f.id, ok: true, result: { method: f.method } };
    };
    const client = connectSocketClient({
      url,
      createSocket: (u) => new WebSocket(u),
      timeoutMs: 5000,
      reconnectMinMs: 20,
    });
    const statuses: ConnectionStatus[] = [];
    client.onStatus((s) => statuses.push(s));
    const reconnected = new Promise<void>((resolve) => client.onReconnect(resolve));
    assert.deepEqual(await client.call('hello'), { method: 'hello' });

    const dropped = client.call('takeSnapshot');
    assert.equal((await rejection(dropped)).code, 'closed');
    // Made while the socket is down: sent on the next one.
    const meanwhile = client.call('snapshots');
    await reconnected;
    assert.deepEqual(await meanwhile, { method: 'snapshots' });
    assert.deepEqual(statuses, ['open', 'closed', 'connecting', 'open']);
    client.close();
    assert.equal(client.status, 'closed');
  });
});
