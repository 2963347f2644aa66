/**
 * The desktop app's metrics endpoint, with the app's real core (host, sampler, service, metrics) over real loopback
 * HTTP: off until the settings turn it on; then on 127.0.0.1 at the settings' port behind their token; a new token
 * or port applies at once (the old one stops working); a taken port leaves it off with the reason; off again closes
 * it. No timing assertion.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { after, describe, test } from 'node:test';
import { parseExposition, total } from '../metrics/testing';
import { createShellCore } from './core';
import { metricsTokenFor, newMetricsToken } from './metrics-endpoint';
import { DEFAULT_SETTINGS } from './settings';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // No keep-alive: each request on a new connection, as the servers under test come and go.
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A port nothing listens on now (bound, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const core = createShellCore({ settings: { ...DEFAULT_SETTINGS, defaultWorkload: 'none' }, systemLocale: 'en' });
after(() => core.dispose());

describe('metrics endpoint of the app', () => {
  test('tokens: 43 base64url characters, a new one when the settings have none', () => {
    const a = newMetricsToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, newMetricsToken());
    const made = metricsTokenFor({ ...DEFAULT_SETTINGS, metricsEnabled: true });
    assert.equal(made.generated, true);
    assert.match(made.token, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(metricsTokenFor({ ...DEFAULT_SETTINGS, metricsToken: a }), { token: a, generated: false });
  });

  test('off by default; on at the port with the token; changes apply at once; off closes it', async () => {
    const endpoint = core.metricsEndpoint;
    assert.equal(DEFAULT_SETTINGS.metricsEnabled, false);
    assert.deepEqual(await endpoint.apply(DEFAULT_SETTINGS), { url: null, error: null });

    const port = await freePort();
    const token = newMetricsToken();
    const on = { metricsEnabled: true, metricsPort: port, metricsToken: token };
    const status = await endpoint.apply(on);
    assert.deepEqual(status, { url: `http://127.0.0.1:${port}/metrics`, error: null });
    await core.host.GetMemoryLoad();
    const ok = await get(status.url!, { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200);
    assert.equal(
      total(parseExposition(ok.body), 'hostmem_host_calls_total', { method: 'GetMemoryLoad', result: 'S_OK' }),
      1,
    );
    assert.equal((await get(status.url!)).status, 401);
    assert.equal((await get(`http://127.0.0.1:${port}/?token=${token}`)).status, 404, 'metrics only');
    // Applying the same settings again keeps the server.
    assert.deepEqual(await endpoint.apply(on), status);

    const token2 = newMetricsToken();
    await endpoint.apply({ ...on, metricsToken: token2 });
    assert.equal((await get(status.url!, { authorization: `Bearer ${token}` })).status, 401, 'the old token');
    assert.equal((await get(status.url!, { authorization: `Bearer ${token2}` })).status, 200);

    const port2 = await freePort();
    const moved = await endpoint.apply({ ...on, metricsToken: token2, metricsPort: port2 });
    assert.equal(moved.url, `http://127.0.0.1:${port2}/metrics`);
    await assert.rejects(get(status.url!, { authorization: `Bearer ${token2}` }), /ECONNREFUSED/);
    assert.equal((await get(moved.url!, { authorization: `Bearer ${token2}` })).status, 200);

    assert.deepEqual(await endpoint.apply({ ...on, metricsEnabled: false }), { url: null, error: null });
    await assert.rejects(get(moved.url!, { authorization: `Bearer ${token2}` }), /ECONNREFUSED/);
  });

  test('a port in use leaves it off and says why; enabled without a token says so too', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const a = blocker.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    try {
      const status = await core.metricsEndpoint.apply({
        metricsEnabled: true,
        metricsPort: port,
        metricsToken: newMetricsToken(),
      });
      assert.equal(status.url, null);
      assert.match(status.error ?? '', new RegExp(`port ${port} is already in use`));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    const none = await core.metricsEndpoint.apply({ metricsEnabled: true, metricsPort: port, metricsToken: '' });
    assert.deepEqual(none, { url: null, error: 'no metrics token yet' });
    assert.deepEqual(await core.metricsEndpoint.close(), { url: null, error: null });
  });
});
