/**
 * /metrics over real HTTP on 127.0.0.1, with the real host, sampler and service: the token as a Bearer header or
 * `?token=`, 401 (with WWW-Authenticate) without it or with a wrong one, the format by Accept, and a metrics-only
 * server that serves nothing else (no renderer folder needed, no page, no socket). No timing assertion.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { MEM, PAGE } from '../../native';
import { createHost, type Host } from '../host';
import { createHostMetrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, type HostMetrics } from '../metrics';
import { parseExposition, total } from '../metrics/testing';
import { createService, type Service } from '../service';
import { createPublisher, type Publisher } from '../telemetry/publisher';
import { createSampler, type Sampler } from '../telemetry/sampler';
import { METRICS_PATH, ServeError, startServer, type RunningServer } from './index';

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

let host: Host;
let sampler: Sampler;
let publisher: Publisher;
let service: Service;
let metrics: HostMetrics;
let server: RunningServer;

before(async () => {
  host = createHost();
  sampler = createSampler(host, { intervalMs: 60_000 });
  publisher = createPublisher(host, sampler);
  metrics = createHostMetrics({ host, sampler, version: '0.0.0-test' });
  service = createService({ host, sampler, publisher, transport: 'websocket', version: '0.0.0-test' });
  server = await startServer({ service, metrics, metricsOnly: true });
});

after(async () => {
  await server.close();
  await service.dispose();
  publisher.stop();
  metrics.dispose();
  sampler.stop();
  host.dispose();
});

describe('/metrics', () => {
  test('a Bearer token or ?token= gets the exposition; none, a wrong one or another scheme gets 401', async () => {
    const url = `${server.origin}${METRICS_PATH}`;
    assert.equal(server.metricsUrl, url);
    const r = await host.VirtualAlloc(null, 256 * 1024, MEM.RESERVE | MEM.COMMIT, PAGE.READWRITE, 0);
    sampler.sampleNow();
    const ok = await get(url, { authorization: `Bearer ${server.token}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
    const parsed = parseExposition(ok.body);
    assert.equal(total(parsed, 'hostmem_host_committed_bytes'), host.stats().committed);
    assert.equal(total(parsed, 'hostmem_host_calls_total', { method: 'VirtualAlloc', result: 'S_OK' }), 1);
    assert.equal((await get(`${url}?token=${server.token}`)).status, 200);
    assert.equal((await get(url, { authorization: `bearer  ${server.token}` })).status, 200, 'scheme is case-blind');

    const wrong: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${server.token}x` },
      { authorization: `Basic ${Buffer.from(`u:${server.token}`).toString('base64')}` },
      { authorization: 'Bearer' },
    ];
    for (const headers of wrong) {
      const refused = await get(url, headers);
      assert.equal(refused.status, 401, JSON.stringify(headers));
      assert.match(String(refused.headers['www-authenticate']), /^Bearer/);
      assert.doesNotMatch(refused.body, /hostmem_host/);
    }
    // A right query token does not rescue a wrong header, nor the reverse.
    assert.equal((await get(`${url}?token=wrong`, { authorization: `Bearer ${server.token}` })).status, 401);
    await host.VirtualFree(r.address!, 0, MEM.RELEASE);
  });

  test('the Accept header picks OpenMetrics; HEAD has the headers only; other methods are 405', async () => {
    const url = `${server.origin}${METRICS_PATH}`;
    const auth = { authorization: `Bearer ${server.token}` };
    const open = await get(url, { ...auth, accept: 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5' });
    assert.equal(open.headers['content-type'], OPENMETRICS_CONTENT_TYPE);
    assert.ok(open.body.endsWith('# EOF\n'));
    const head = await get(url, auth, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(Number(head.headers['content-length']) > 100);
    assert.equal((await get(url, auth, 'POST')).status, 405);
  });

  test('a wrong Host is still 403 with a good token (DNS rebinding)', async () => {
    const url = `${server.origin}${METRICS_PATH}`;
    const answer = await get(url, { authorization: `Bearer ${server.token}`, host: `evil.example:${server.port}` });
    assert.equal(answer.status, 403);
  });
});

describe('metrics only', () => {
  test('nothing but /metrics is served: no page, no socket, no renderer folder needed', async () => {
    assert.equal(server.url, `${server.origin}${METRICS_PATH}?token=${server.token}`);
    const page = await get(`${server.origin}/?token=${server.token}`);
    assert.equal(page.status, 404);
    assert.match(page.body, /serves \/metrics only/);
    assert.equal((await get(`${server.origin}/index.html`, { authorization: `Bearer ${server.token}` })).status, 404);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`), 404);
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${server.port}/ws`), 401);
  });

  test('metricsOnly without metrics, or a dashboard without a renderer folder, is refused', async () => {
    await assert.rejects(startServer({ service, metricsOnly: true }), ServeError);
    await assert.rejects(startServer({ service }), ServeError);
  });
});
