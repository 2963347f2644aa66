import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { METHODS } from '../contract';
import { guardIpc, guardSender, IPC_REQUEST_CHANNEL, type IpcMessage, type IpcVerdict } from './ipc-guard';

// What the shell passes: the built renderer's index.html as a file: URL (a Windows path under Wine's Node).
const page = pathToFileURL(join(process.cwd(), 'out', 'renderer', 'index.html')).href;
const built = { appOrigin: page };
const dev = { appOrigin: 'http://localhost:5173' };

const good = { method: 'hello', params: {} };
function message(overrides: Partial<IpcMessage> = {}): IpcMessage {
  return { senderUrl: page, senderFrameIsMain: true, channel: IPC_REQUEST_CHANNEL, payload: good, ...overrides };
}
function refused(verdict: IpcVerdict, what: 'sender' | 'channel' | 'payload'): void {
  assert.equal(verdict.ok, false, 'refused');
  if (verdict.ok) return;
  assert.equal(verdict.refused, what, verdict.reason);
  assert.ok(verdict.reason.length > 0);
}

describe('guardIpc: the sender', () => {
  test("the app's own page in the main frame passes (query and fragment allowed)", () => {
    for (const url of [page, `${page}#/failures`, `${page}?lang=fr`]) {
      const verdict = guardIpc(message({ senderUrl: url }), built);
      assert.deepEqual(verdict, { ok: true, request: { method: 'hello', params: {} } }, url);
    }
  });

  test('a subframe of the app page is refused, even with the right URL', () => {
    refused(guardIpc(message({ senderFrameIsMain: false }), built), 'sender');
  });

  for (const url of [
    'https://evil.example/',
    'https://evil.example/out/renderer/index.html',
    'http://localhost:5173/',
    'data:text/html,<script>hostmem.call("reset")</script>',
    'about:blank',
    'blob:null/1234',
    'javascript:alert(1)',
    'file:///etc/passwd',
    pathToFileURL(join(process.cwd(), 'out', 'renderer', 'other.html')).href,
    pathToFileURL(join(process.cwd(), 'out', 'renderer', 'index.html.evil')).href,
    page.replace('file:///', 'file://evil.example/'),
    'devtools://devtools/bundled/inspector.html',
    'chrome://gpu',
    'not a url',
    '',
  ]) {
    test(`a sender at ${url.slice(0, 60) || '(empty)'} is refused`, () => {
      refused(guardIpc(message({ senderUrl: url }), built), 'sender');
    });
  }

  test('a sender whose frame is gone (no URL) is refused', () => {
    refused(guardIpc(message({ senderUrl: undefined }), built), 'sender');
    refused(guardIpc(message({ senderUrl: null }), built), 'sender');
  });

  test('dev server: its origin passes, any other origin is refused', () => {
    assert.equal(guardIpc(message({ senderUrl: 'http://localhost:5173/' }), dev).ok, true);
    assert.equal(guardIpc(message({ senderUrl: 'http://localhost:5173/index.html#/x' }), dev).ok, true);
    for (const url of [
      'http://localhost:5174/',
      'https://localhost:5173/',
      'http://127.0.0.1:5173/',
      'http://localhost.evil.example:5173/',
      'https://evil.example/',
      page,
    ]) {
      refused(guardIpc(message({ senderUrl: url }), dev), 'sender');
    }
    refused(guardIpc(message({ senderUrl: 'http://localhost:5173/', senderFrameIsMain: false }), dev), 'sender');
  });

  test('a misconfigured guard refuses everything', () => {
    for (const appOrigin of ['', 'nonsense', 'data:text/html,x', 'ftp://localhost/']) {
      refused(guardIpc(message(), { appOrigin }), 'sender');
    }
  });
});

describe('guardIpc: the channel and the request', () => {
  test('unknown channels are refused', () => {
    for (const channel of ['', 'hostmem:call2', 'call', 'ELECTRON_BROWSER_REQUIRE', 'hostmem:push']) {
      refused(guardIpc(message({ channel }), built), 'channel');
    }
  });

  test('unknown methods are refused with a bad-request error', () => {
    for (const method of ['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'HELLO', '', 42, null]) {
      const verdict = guardIpc(message({ payload: { method, params: {} } }), built);
      refused(verdict, 'payload');
      if (!verdict.ok) assert.equal(verdict.error?.code, 'bad-request');
    }
  });

  test('bad payloads are refused', () => {
    const cases: unknown[] = [
      undefined,
      null,
      'hello',
      42,
      [],
      ['hello', {}],
      { params: {} },
      { method: 'virtualAlloc', params: { address: null, size: -1, type: 0x3000, protect: 4, level: 0 } },
      { method: 'virtualAlloc', params: { address: null, size: 4096, type: 0x3000, protect: 4, level: 3 } },
      { method: 'virtualAlloc', params: { address: null, size: 4096, type: 0x3000, protect: 4, level: 0, x: 1 } },
      { method: 'virtualFree', params: { address: 2 ** 60, size: 0, type: 0x8000 } },
      { method: 'setPolicy', params: { policy: { commitLimit: 0 } } },
      { method: 'pauseWorkload', params: { id: 'w1', paused: 'yes' } },
      { method: 'hello', params: { extra: true } },
      { method: 'history', params: { maxPoints: 1e9 } },
      { method: 1n, params: {} }, // structured clone carries BigInts
      { method: 'hello', params: 1n },
    ];
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    cases.push({ method: cyclic, params: {} }, { method: 'startWorkload', params: cyclic });
    for (const payload of cases) refused(guardIpc(message({ payload }), built), 'payload');
  });

  test('good requests pass, validated and normalised by the contract', () => {
    const alloc = guardIpc(
      message({
        payload: {
          method: 'virtualAlloc',
          params: { address: null, size: 65536, type: 0x3000, protect: 4, level: 'eAppDomainCritical', tag: 't' },
        },
      }),
      built,
    );
    assert.ok(alloc.ok);
    assert.deepEqual(alloc.request, {
      method: 'virtualAlloc',
      params: { address: null, size: 65536, type: 0x3000, protect: 4, level: 1, tag: 't' },
    });
    for (const payload of [
      { method: 'hello' },
      { method: 'workloads', params: {} },
      { method: 'takeSnapshot' },
      { method: 'takeSnapshot', params: { label: 'before' } },
      { method: 'setPolicy', params: { policy: { commitLimit: 1 << 26 } } },
      { method: 'startWorkload', params: { scenario: 'steady', params: { rate: 10 } } },
      { method: 'history', params: { maxPoints: 500 } },
    ]) {
      const verdict = guardIpc(message({ payload }), built);
      assert.equal(verdict.ok, true, JSON.stringify(payload));
    }
  });
});

describe('guardIpc: fuzzing', () => {
  const anything = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withNullPrototype: true,
    withObjectString: true,
    maxDepth: 4,
  });
  const method = fc.oneof(fc.constantFrom(...METHODS), fc.string(), anything);
  const payload = fc.oneof(anything, fc.record({ method, params: anything }, { requiredKeys: [] }));

  test('random payloads from the app page never throw; they pass only as the contract says', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const verdict = guardIpc(message({ payload: p }), built);
        if (verdict.ok) assert.ok(METHODS.includes(verdict.request.method));
        else assert.equal(verdict.refused, 'payload');
      }),
      { numRuns: 500, seed: 6 },
    );
  });

  test('random messages (sender, frame, channel, payload) never throw; foreign senders never pass', () => {
    const url = fc.oneof(fc.constant(page), fc.webUrl(), fc.string(), fc.constant(undefined), fc.constant(null));
    const channel = fc.oneof(fc.constant(IPC_REQUEST_CHANNEL), fc.string());
    fc.assert(
      fc.property(url, fc.boolean(), channel, payload, (senderUrl, senderFrameIsMain, ch, p) => {
        const verdict = guardIpc({ senderUrl, senderFrameIsMain, channel: ch, payload: p }, built);
        if (senderUrl !== page || !senderFrameIsMain) assert.equal(verdict.ok, false);
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('guardSender (the subscribe message)', () => {
  test("passes the app's own page in the main frame and refuses anything else", () => {
    assert.equal(guardSender({ senderUrl: built.appOrigin, senderFrameIsMain: true }, built), null);
    assert.match(guardSender({ senderUrl: built.appOrigin, senderFrameIsMain: false }, built) ?? '', /main frame/);
    assert.match(
      guardSender({ senderUrl: 'https://evil.example/', senderFrameIsMain: true }, built) ?? '',
      /not the app/,
    );
    assert.match(guardSender({ senderUrl: undefined, senderFrameIsMain: true }, built) ?? '', /no URL/);
  });
});
