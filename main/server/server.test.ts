/**
 * The real server on 127.0.0.1 (a random port) with the real service and host: token and Origin refusals over HTTP
 * and WebSocket, the page and its cookie, hello and the first full message, a few hundred random frames answered
 * without bringing the server down, and a virtualAlloc sent through the socket showing up as a row of the next
 * delta. Exported reports as one-time downloads over real HTTP (fetch): the content is the report, a second fetch is
 * 404, the token and Origin checks apply, CSV gives three links, links expire and are bounded. No timing assertion.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020';
import WebSocket from 'ws';
import { MEM, PAGE } from '../../native';
import { type DeltaMessage, type ExportResult, type Params, type Push, type ServerFrame } from '../contract';
import { createSocketClient, type SocketClient } from '../contract/client';
import { createHost, type Host } from '../host';
import { seededRandom } from '../host/random';
import { defaultPrinter, findChromium } from '../reports';
import { parseCsv } from '../reports/testing';
import { createService, type Service } from '../service';
import { createPublisher, type Publisher } from '../telemetry/publisher';
import { createSampler, type Sampler } from '../telemetry/sampler';
import {
  createReportDownloads,
  ServeError,
  startServer,
  TOKEN_COOKIE,
  type ReportDownloads,
  type RunningServer,
} from './index';

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Open a socket: resolves with it once open, or with the HTTP status the upgrade was refused with. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
  });
}

let staticDir: string;
let host: Host;
let sampler: Sampler;
let publisher: Publisher;
let service: Service;
let server: RunningServer;
let downloads: ReportDownloads;
/** The downloads' clock: stands still unless a test moves it (expiry without waiting). */
let downloadClock = 1_000_000;

before(async () => {
  staticDir = mkdtempSync(join(tmpdir(), 'hostmem-serve-'));
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>hostmem</title><div id="app"></div>');
  mkdirSync(join(staticDir, 'assets'));
  writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log("hostmem");');
  host = createHost();
  sampler = createSampler(host, { intervalMs: 250 });
  publisher = createPublisher(host, sampler);
  downloads = createReportDownloads({ now: () => downloadClock });
  service = createService({
    host,
    sampler,
    publisher,
    transport: 'websocket',
    version: '0.0.0-test',
    saveReport: downloads.saveReport,
  });
  sampler.start();
  server = await startServer({ service, staticDir, downloads });
});

after(async () => {
  await server.close();
  await service.dispose();
  publisher.stop();
  sampler.stop();
  host.dispose();
  // Windows (Wine) may still hold a just-served file open for a moment: retry, then leave the temp folder.
  try {
    rmSync(staticDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  } catch {
    // A stray temp folder is not a test failure.
  }
});

const wsUrl = (token?: string): string =>
  `ws://127.0.0.1:${server.port}/ws${token === undefined ? '' : `?token=${token}`}`;

describe('refusals', () => {
  test('the printed URL is loopback with a long random token', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
  });

  test('HTTP without the token, or with a wrong one, is 401; the page with it is 200 and sets the cookie', async () => {
    assert.equal((await get(`${server.origin}/`)).status, 401);
    assert.equal((await get(`${server.origin}/?token=wrong`)).status, 401);
    assert.equal((await get(`${server.origin}/?token=${server.token}x`)).status, 401);
    assert.equal((await get(`${server.origin}/assets/app.js`)).status, 401);
    assert.equal((await get(`${server.origin}/assets/app.js`, { cookie: `${TOKEN_COOKIE}=nope` })).status, 401);
    const page = await get(server.url);
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="app">/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, new RegExp(`${TOKEN_COOKIE}=${server.token}`));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const asset = await get(`${server.origin}/assets/app.js`, { cookie: `${TOKEN_COOKIE}=${server.token}` });
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
    assert.equal((await get(`${server.origin}/missing.js?token=${server.token}`)).status, 404);
    const traversal = await get(`${server.origin}/..%2f..%2f..%2fetc%2fpasswd?token=${server.token}`);
    assert.ok(traversal.status === 403 || traversal.status === 404, `status ${traversal.status}`);
  });

  test('a wrong Origin or Host is 403, even with the token', async () => {
    assert.equal((await get(server.url, { origin: 'http://evil.example' })).status, 403);
    assert.equal((await get(server.url, { origin: `http://127.0.0.1:${server.port + 1}` })).status, 403);
    assert.equal((await get(server.url, { origin: 'null' })).status, 403);
    assert.equal((await get(server.url, { origin: server.origin })).status, 200);
    assert.equal((await get(server.url, { host: `evil.example:${server.port}` })).status, 403);
    assert.equal((await get(server.url, { host: `localhost:${server.port}` })).status, 200);
  });

  test('two Host headers are 400 (Node keeps only the first: the check would see one name, a proxy another)', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(
          `GET /?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /more than one Host header/);
  });

  test('a port in use is one sentence (a ServeError), not listen EADDRINUSE', async () => {
    await assert.rejects(
      startServer({ service, staticDir, port: server.port }),
      (error: Error) =>
        error instanceof ServeError &&
        error.message ===
          `port ${server.port} on 127.0.0.1 is already in use: pick another --port, or 0 for any free port`,
    );
  });

  test('sockets without the token, with a wrong one, or from another Origin are refused', async () => {
    assert.equal(await openSocket(wsUrl()), 401);
    assert.equal(await openSocket(wsUrl('wrong')), 401);
    assert.equal(await openSocket(wsUrl(server.token), { origin: 'http://evil.example' }), 403);
    assert.equal(await openSocket(`ws://127.0.0.1:${server.port}/other?token=${server.token}`), 404);
    const viaCookie = await openSocket(wsUrl(), { cookie: `${TOKEN_COOKIE}=${server.token}`, origin: server.origin });
    assert.ok(viaCookie instanceof WebSocket);
    viaCookie.close();
  });

  test('a non-loopback host without allowRemote is refused, and a missing renderer says how to build it', async () => {
    await assert.rejects(startServer({ service, staticDir, host: '0.0.0.0' }), (e: unknown) => {
      assert.ok(e instanceof ServeError);
      assert.match(e.message, /--allow-remote/);
      return true;
    });
    const empty = mkdtempSync(join(tmpdir(), 'hostmem-empty-'));
    try {
      await assert.rejects(startServer({ service, staticDir: empty }), /run npm run build:app/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the socket', () => {
  let ws: WebSocket;
  let client: SocketClient;
  const pushes: Push[] = [];

  before(async () => {
    const opened = await openSocket(wsUrl(server.token), { origin: server.origin });
    assert.ok(opened instanceof WebSocket);
    ws = opened;
    client = createSocketClient(ws);
    client.onPush((m) => pushes.push(m));
  });
  after(() => client.close());

  const waitFor = async <T extends Push>(pred: (p: Push) => p is T, from = 0): Promise<T> => {
    for (;;) {
      const hit = pushes.slice(from).find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  test('hello, and the first push is a full message', async () => {
    const hello = await client.call('hello');
    assert.equal(hello.transport, 'websocket');
    assert.equal(hello.host.backend, host.backend);
    const full = await waitFor((p): p is Extract<Push, { type: 'full' }> => p.type === 'full');
    assert.equal(full.seq, 1);
    assert.equal(full.host.pageSize, host.pageSize);
  });

  test('virtualAlloc through the socket shows up as a row in a following delta', async () => {
    const from = pushes.length;
    const r = await client.call('virtualAlloc', {
      address: null,
      size: 192 * 1024,
      type: MEM.RESERVE | MEM.COMMIT,
      protect: PAGE.READWRITE,
      level: 'eTaskCritical',
      tag: 'ws/test',
    });
    assert.equal(r.hrName, 'S_OK');
    const delta = await waitFor(
      (p): p is DeltaMessage => p.type === 'delta' && p.added.some((row) => row.base === r.address),
      from,
    );
    const row = delta.added.find((x) => x.base === r.address)!;
    assert.equal(row.tag, 'ws/test');
    assert.equal(row.committed, 192 * 1024);
    assert.equal(row.level, 'eTaskCritical');
    const free = await client.call('virtualFree', { address: r.address!, size: 0, type: MEM.RELEASE });
    assert.equal(free.hrName, 'S_OK');
  });

  test('a bad request gets an error answer with its id; unreadable frames get id null', async () => {
    await assert.rejects(
      client.call('virtualAlloc', { address: null, size: -5, type: 0, protect: 0, level: 0 }),
      (e: unknown) => (e as { code?: string }).code === 'bad-request',
    );
    const answers: ServerFrame[] = [];
    const onMessage = (data: WebSocket.RawData): void => {
      const f = JSON.parse(data.toString()) as ServerFrame;
      if (f.t === 'res') answers.push(f);
    };
    ws.on('message', onMessage);
    ws.send('not json');
    ws.send(JSON.stringify({ t: 'req', id: 'abc', method: 'nope' }));
    while (answers.length < 2) await new Promise((r) => setTimeout(r, 5));
    ws.off('message', onMessage);
    assert.deepEqual(
      answers.map((a) => [a.t === 'res' && a.id, a.t === 'res' && !a.ok && a.error.code]),
      [
        [null, 'bad-request'],
        ['abc', 'bad-request'],
      ],
    );
  });

  test('fuzz: 400 random frames are all answered and the server keeps serving', async () => {
    const rng = seededRandom(20260705);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
    const methods = [
      'hello',
      'resync',
      'virtualAlloc',
      'virtualFree',
      'pageMap',
      'setPolicy',
      'pauseWorkload',
      'stopWorkload',
      'workloads',
      'takeSnapshot',
      'snapshots',
      'diffSnapshots',
      'history',
      'startWorkload',
      'exportReport',
      'constructor',
      '__proto__',
      '',
      'x'.repeat(500),
    ];
    const value = (depth: number): unknown => {
      switch (Math.floor(rng() * (depth > 2 ? 6 : 9))) {
        case 0:
          return null;
        case 1:
          return pick([0, -1, 1.5, 2 ** 53, -(2 ** 60), 65536, 0x3000, 4, Number.MAX_VALUE]);
        case 2:
          return pick(['', 'a', '0x1000', 'eTaskCritical', '64MiB', 'w1', '\u0000', 'NaN']);
        case 3:
          return rng() < 0.5;
        case 4:
          return undefined;
        case 5:
          return Math.floor(rng() * 1e6);
        case 6:
          return Array.from({ length: Math.floor(rng() * 4) }, () => value(depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          const keys = [
            'address',
            'size',
            'type',
            'protect',
            'level',
            'tag',
            'id',
            'paused',
            'a',
            'b',
            'policy',
            'since',
          ];
          for (let i = Math.floor(rng() * 6); i > 0; i--) o[pick(keys)] = value(depth + 1);
          return o;
        }
      }
    };
    const answers = new Map<string, ServerFrame>();
    let unreadable = 0;
    const onMessage = (data: WebSocket.RawData): void => {
      const f = JSON.parse(data.toString()) as ServerFrame;
      if (f.t !== 'res') return;
      if (f.id === null) unreadable++;
      else answers.set(String(f.id), f);
    };
    ws.on('message', onMessage);
    const ids: string[] = [];
    let withoutId = 0;
    for (let i = 0; i < 400; i++) {
      const kind = rng();
      if (kind < 0.1) {
        ws.send(pick(['', '{', '[]', '"x"', 'null', '{"t":"req"}', '\u0000\u0001']));
        withoutId++;
      } else if (kind < 0.15) {
        ws.send(Buffer.from([1, 2, 3]));
        withoutId++;
      } else {
        const id = `f${i}`;
        ids.push(id);
        const frame = { t: 'req', id, method: pick(methods), params: value(0) };
        ws.send(JSON.stringify(frame));
      }
    }
    while (answers.size < ids.length || unreadable < withoutId) await new Promise((r) => setTimeout(r, 10));
    ws.off('message', onMessage);
    assert.deepEqual([...answers.keys()].sort(), [...ids].sort());
    for (const a of answers.values()) {
      if (a.t === 'res' && !a.ok) assert.notEqual(a.error.code, 'internal', `internal error: ${a.error.message}`);
    }
    // Still serving: over this socket, a new one, and HTTP.
    assert.equal((await client.call('hello')).transport, 'websocket');
    const again = await openSocket(wsUrl(server.token));
    assert.ok(again instanceof WebSocket);
    again.close();
    assert.equal((await get(server.url)).status, 200);
    // Whatever the fuzz started or allocated goes away with the host in `after`.
    host.reset();
  });
});

// ---------------------------------------------------------------------------------------------- report downloads

interface Fetched {
  status: number;
  headers: { get(name: string): string | null };
  body: Buffer;
}

/**
 * One HTTP request with node:http (not fetch: undici's connect fails on loopback under Wine, where these tests also
 * run), answering with fetch-like headers.
 */
function fetchUrl(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get: (name) => {
              const v = headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          body: Buffer.concat(chunks),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

type Download = Extract<ExportResult, { outcome: 'download' }>;

describe('report downloads', () => {
  let client: SocketClient;
  const cookie = (): Record<string, string> => ({ cookie: `${TOKEN_COOKIE}=${server.token}` });
  const link = (url: string): string => `${server.origin}${url}`;

  const exportReport = async (params: Params<'exportReport'>): Promise<Download> => {
    const r = await client.call('exportReport', params);
    assert.equal(r.outcome, 'download');
    return r as Download;
  };

  before(async () => {
    const opened = await openSocket(wsUrl(server.token), { origin: server.origin });
    assert.ok(opened instanceof WebSocket);
    client = createSocketClient(opened);
    // Something to report: live allocations, and failures at two levels and without one.
    host.setPolicy({ ...host.policy(), commitLimit: 8 * 1024 * 1024 });
    for (const level of ['eTaskCritical', 'eAppDomainCritical', 'eProcessCritical'] as const) {
      const r = await client.call('virtualAlloc', {
        address: null,
        size: 1024 * 1024,
        type: MEM.RESERVE | MEM.COMMIT,
        protect: PAGE.READWRITE,
        level,
        tag: `dl/${level}`,
      });
      assert.equal(r.hrName, 'S_OK');
    }
    for (const level of ['eTaskCritical', 'eAppDomainCritical'] as const) {
      const r = await client.call('virtualAlloc', {
        address: null,
        size: 6 * 1024 * 1024,
        type: MEM.RESERVE | MEM.COMMIT,
        protect: PAGE.READWRITE,
        level,
      });
      assert.notEqual(r.hrName, 'S_OK');
    }
    await client.call('virtualFree', { address: 0x1000, size: 0, type: MEM.RELEASE });
  });
  after(() => client.close());

  test('a JSON export downloads once, as an attachment, and is the report of this host', async () => {
    const r = await exportReport({ format: 'json' });
    assert.equal(r.files.length, 1);
    const [file] = r.files;
    assert.match(file!.name, /^hostmem-report-\d{8}-\d{6}\.json$/);
    assert.match(file!.url, /^\/download\/[A-Za-z0-9_-]{32}$/);
    const got = await fetchUrl(link(file!.url), { headers: cookie() });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(got.headers.get('content-disposition'), `attachment; filename="${file!.name}"`);
    assert.equal(got.headers.get('cache-control'), 'no-store');
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    const json = JSON.parse(got.body.toString('utf8')) as {
      schema: string;
      source: { kind: string; omitted: string[] };
      summary: { current: Record<string, number>; failures: { total: number; byLevel: Record<string, number> } };
      allocations: Array<{ size: number; tag: string | null }>;
      failures: unknown[];
    };
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(
      JSON.parse(readFileSync(join(process.cwd(), 'docs', 'report.schema.json'), 'utf8')) as object,
    );
    assert.ok(validate(json), JSON.stringify(validate.errors, null, 2));
    assert.equal(json.schema, 'hostmem.report/1');
    assert.equal(json.source.kind, 'live');
    assert.deepEqual(json.source.omitted, []);
    const stats = host.stats();
    assert.equal(json.summary.current.reserved, stats.reserved);
    assert.equal(json.summary.current.committed, stats.committed);
    assert.equal(json.summary.current.regions, stats.regions);
    assert.deepEqual(json.summary.failures.byLevel, stats.failures);
    assert.ok(stats.failures.eTaskCritical > 0 && stats.failures.eAppDomainCritical > 0 && stats.failures.other > 0);
    assert.equal(json.failures.length, json.summary.failures.total);
    assert.equal(json.allocations.length, stats.regions);
    assert.ok(json.allocations.some((a) => a.tag === 'dl/eProcessCritical'));

    // Once: the second fetch is 404, and the file is gone from the private folder.
    const again = await fetchUrl(link(file!.url), { headers: cookie() });
    assert.equal(again.status, 404);
    while (readdirSync(downloads.dir!).length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  });

  test('downloads need the token (401) and a same Origin (403); refusals do not use the link up', async () => {
    const { files } = await exportReport({ format: 'html', language: 'fr', include: ['failures'] });
    const url = link(files[0]!.url);
    assert.equal((await fetchUrl(url)).status, 401);
    assert.equal((await fetchUrl(`${url}?token=wrong`)).status, 401);
    assert.equal((await fetchUrl(url, { headers: { cookie: `${TOKEN_COOKIE}=nope` } })).status, 401);
    assert.equal((await fetchUrl(url, { headers: { ...cookie(), origin: 'http://evil.example' } })).status, 403);
    assert.equal((await fetchUrl(url, { method: 'POST', headers: cookie() })).status, 405);
    assert.equal((await fetchUrl(`${link('/download/')}${'A'.repeat(32)}`, { headers: cookie() })).status, 404);
    const got = await fetchUrl(`${url}?token=${server.token}`, { headers: { origin: server.origin } });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(String(got.headers.get('content-security-policy')), /sandbox/);
    assert.equal(got.headers.get('set-cookie'), null);
    const html = got.body.toString('utf8');
    assert.match(html, /<html lang="fr">/);
    assert.ok(html.includes('La liste des allocations vivantes a été laissée de côté dans ce rapport.'));
    assert.equal((await fetchUrl(url, { headers: cookie() })).status, 404);
  });

  test('a CSV export gives three links, one per file, each the right list', async () => {
    const { files } = await exportReport({ format: 'csv' });
    assert.equal(files.length, 3);
    const stem = files[0]!.name.replace(/\.csv$/, '');
    assert.match(stem, /^hostmem-report-\d{8}-\d{6}$/);
    assert.deepEqual(
      files.map((f) => f.name),
      [`${stem}.csv`, `${stem}.failures.csv`, `${stem}.samples.csv`],
    );
    assert.equal(new Set(files.map((f) => f.url)).size, 3);
    const stats = host.stats();
    const rows: string[][][] = [];
    for (const f of files) {
      const got = await fetchUrl(link(f.url), { headers: cookie() });
      assert.equal(got.status, 200, f.name);
      assert.equal(got.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.equal(got.headers.get('content-disposition'), `attachment; filename="${f.name}"`);
      rows.push(parseCsv(got.body.toString('utf8')));
    }
    const [allocations, failures, samples] = rows;
    assert.equal(allocations![0]![0], 'base');
    assert.equal(allocations!.length - 1, stats.regions);
    const total = stats.failures.eTaskCritical + stats.failures.eAppDomainCritical;
    assert.equal(failures!.length - 1, total + stats.failures.eProcessCritical + stats.failures.other);
    assert.equal(samples![0]![0], 'time');
    for (const f of files) assert.equal((await fetchUrl(link(f.url), { headers: cookie() })).status, 404);
    // A section left out has no file, so no link.
    const some = await exportReport({ format: 'csv', include: ['failures'] });
    assert.deepEqual(
      some.files.map((f) => f.name.replace(/^hostmem-report-\d{8}-\d{6}/, '')),
      ['.failures.csv'],
    );
  });

  test('links expire after 10 minutes; at most 32 files wait, the oldest dropped', async () => {
    const first = await exportReport({ format: 'json', include: [] });
    downloadClock += 10 * 60_000;
    assert.equal((await fetchUrl(link(first.files[0]!.url), { headers: cookie() })).status, 404, 'expired');
    const made: string[] = [];
    for (let i = 0; i < 12; i++) made.push(...(await exportReport({ format: 'csv' })).files.map((f) => f.url));
    assert.equal(made.length, 36);
    assert.equal(downloads.pending, 32);
    assert.equal(readdirSync(downloads.dir!).length, 32, 'dropped files are deleted');
    for (const url of made.slice(0, 4))
      assert.equal((await fetchUrl(link(url), { headers: cookie() })).status, 404, 'dropped');
    assert.equal((await fetchUrl(link(made.at(-1)!), { headers: cookie() })).status, 200);
    downloadClock += 10 * 60_000;
    assert.equal((await fetchUrl(link(made[4]!), { headers: cookie() })).status, 404, 'expired');
    assert.equal(downloads.pending, 0);
  });

  test('PDF: printed by Chromium where there is one; without one, refused saying so', async (t) => {
    // A second service over the same host whose printer finds no Chromium.
    const noChromium = createReportDownloads({
      printer: () => defaultPrinter({ HOSTMEM_CHROMIUM: join(staticDir, 'no-chromium') }),
    });
    const other = createService({
      host,
      sampler,
      publisher,
      transport: 'websocket',
      version: '0.0.0-test',
      saveReport: noChromium.saveReport,
    });
    const session = other.connect(() => undefined);
    try {
      const a = await session.request({ method: 'exportReport', params: { format: 'pdf' } });
      assert.equal(a.ok, false);
      if (!a.ok) {
        assert.equal(a.error.code, 'refused');
        assert.match(a.error.message, /cannot make a PDF: HOSTMEM_CHROMIUM=.*no-chromium does not exist/);
        assert.match(a.error.message, /Install Chromium/);
      }
      assert.equal(noChromium.dir, undefined, 'nothing written');
    } finally {
      session.close();
      await other.dispose();
      await noChromium.close();
    }
    if (findChromium() === undefined) {
      t.diagnostic('PDF download skipped: no Chromium (/usr/bin/chromium or HOSTMEM_CHROMIUM)');
      return;
    }
    const { files } = await exportReport({ format: 'pdf', include: ['allocations'] });
    assert.match(files[0]!.name, /^hostmem-report-\d{8}-\d{6}\.pdf$/);
    const got = await fetchUrl(link(files[0]!.url), { headers: cookie() });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/pdf');
    assert.equal(got.body.subarray(0, 5).toString('latin1'), '%PDF-');
  });

  test('closing the server removes the folder; later exports are refused', async () => {
    const d = createReportDownloads();
    const s = createService({
      host,
      sampler,
      publisher,
      transport: 'websocket',
      version: '0.0.0-test',
      saveReport: d.saveReport,
    });
    const running = await startServer({ service: s, staticDir, downloads: d });
    const session = s.connect(() => undefined);
    try {
      const a = await session.request({ method: 'exportReport', params: { format: 'json' } });
      assert.ok(a.ok);
      const dir = d.dir!;
      assert.equal(readdirSync(dir).length, 1);
      await running.close();
      assert.equal(existsSync(dir), false);
      const b = await session.request({ method: 'exportReport', params: { format: 'json' } });
      assert.equal(!b.ok && b.error.code, 'refused');
      assert.match(!b.ok ? b.error.message : '', /shutting down/);
    } finally {
      session.close();
      await s.dispose();
    }
  });
});
