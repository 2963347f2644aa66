import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { createHost } from '../../host';
import type { HostMemoryManager } from '../../host/types';
import { LineWriter, readLines, type ExecLine } from './lines';
import { runExec } from './run';

type Line = Record<string, unknown>;

async function exec(
  lines: string[],
  host: HostMemoryManager = createHost(),
): Promise<{ out: Line[]; exitCode: number }> {
  const out: Line[] = [];
  try {
    const summary = await runExec(lines, host, (line) => void out.push(JSON.parse(line) as Line));
    return { out, exitCode: summary.exitCode };
  } finally {
    host.dispose();
  }
}

test('references: an id names the latest result that had it; numeric ids work too', async () => {
  const { out, exitCode } = await exec([
    '{"op":"VirtualAlloc","id":"r","address":null,"size":65536,"type":"MEM_RESERVE","protect":"PAGE_READWRITE","level":0}',
    '{"op":"VirtualAlloc","id":"r","address":null,"size":65536,"type":"MEM_RESERVE","protect":"PAGE_READWRITE","level":0}',
    '{"op":"VirtualQuery","address":"r+0x10"}',
    '{"op":"CreateMalloc","id":7,"type":0}',
    '{"op":"Alloc","id":8,"malloc":7,"size":16,"level":0}',
    '{"op":"Free","malloc":7,"address":"8"}',
  ]);
  assert.equal(exitCode, 0, JSON.stringify(out));
  const second = out[1]?.address as string;
  assert.notEqual(out[0]?.address, second);
  assert.equal((out[2]?.info as Line).allocationBase, second);
  assert.equal(out[3]?.id, 7);
  assert.equal(out[4]?.hrName, 'S_OK');
  assert.equal(out[5]?.hrName, 'S_OK');
});

test('results omit id when the request had none, and carry per-op fields', async () => {
  const { out } = await exec([
    '{"op":"GetMemoryLoad"}',
    '{"op":"Stats","id":"s"}',
    '{"op":"Audit"}',
    '{"op":"SetPolicy","commitLimit":"1MiB"}',
    '{"op":"GetMemoryLoad"}',
    '{"op":"Reset"}',
    '{"op":"Sleep","ms":0}',
  ]);
  assert.deepEqual(Object.keys(out[0] ?? {}), ['line', 'op', 'hr', 'hrName', 'memoryLoad', 'availableBytes']);
  assert.deepEqual(Object.keys(out[1] ?? {}), [
    'line',
    'id',
    'op',
    'hr',
    'hrName',
    'reserved',
    'committed',
    'external',
    'heap',
    'regions',
    'state',
    'failures',
  ]);
  assert.deepEqual(out[2], { line: 3, op: 'Audit', hr: '0x00000000', hrName: 'S_OK', drift: [] });
  assert.deepEqual(out[4], {
    line: 5,
    op: 'GetMemoryLoad',
    hr: '0x00000000',
    hrName: 'S_OK',
    memoryLoad: 0,
    availableBytes: 1048576,
  });
  assert.deepEqual(out[6], { line: 7, op: 'Sleep', hr: '0x00000000', hrName: 'S_OK' });
});

test('a host that throws gives an error line and exit status 1; later lines still run', async () => {
  const real = createHost();
  const host = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'Fill') return () => Promise.reject(new Error('boom'));
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const { out, exitCode } = await exec(['{"op":"Fill","address":"0x1000","size":1,"byte":0}', '{"op":"Stats"}'], host);
  assert.equal(exitCode, 1);
  assert.match(String(out[0]?.error), /line 1: internal error in Fill: boom/);
  assert.equal(out[1]?.hrName, 'S_OK');
});

test('requests are pulled one at a time and each result is written before the next line is read', async () => {
  const host = createHost();
  let read = 0;
  let written = 0;
  let maxAhead = 0;
  async function* lines(): AsyncGenerator<string> {
    for (let i = 0; i < 20000; i += 1) {
      read += 1;
      maxAhead = Math.max(maxAhead, read - written);
      yield i % 2 === 0 ? '{"op":"Stats"}' : '{"op":"GetMemoryLoad"}';
    }
  }
  let pending = 0;
  const summary = await runExec(lines(), host, () => {
    written += 1;
    pending += 1;
    // Every 100th write asks the driver to wait (backpressure); it must not run ahead meanwhile.
    if (written % 100 !== 0) {
      pending -= 1;
      return undefined;
    }
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        pending -= 1;
        resolve();
      }),
    );
  });
  host.dispose();
  assert.equal(summary.exitCode, 0);
  assert.equal(summary.requests, 20000);
  assert.equal(written, 20000);
  assert.equal(maxAhead, 1);
  assert.equal(pending, 0);
});

test('readLines: CRLF, a BOM, UTF-8 split across chunks, a last line without newline', async () => {
  const text = '\uFEFF{"a":"é"}\r\n\r\n{"b":"日本"}\n{"c":1}';
  const bytes = Buffer.from(text, 'utf8');
  const chunks = [...bytes].map((byte) => Buffer.from([byte]));
  const lines: ExecLine[] = [];
  for await (const line of readLines(Readable.from(chunks))) lines.push(line);
  assert.deepEqual(lines, ['{"a":"é"}', '', '{"b":"日本"}', '{"c":1}']);
});

test('an over-long request line gets an error line, is not held, and later lines still run', async () => {
  const host = createHost();
  const out: string[] = [];
  const long = `{"op":"Stats","id":"${'x'.repeat(5000)}"}`;
  const input = Readable.from([
    `{"op":"Stats","id":"a"}\n${long.slice(0, 2000)}`,
    `${long.slice(2000)}\n`,
    '{"op":"Stats"}\n',
  ]);
  const summary = await runExec(readLines(input, 1024), host, (line) => void out.push(line));
  host.dispose();
  assert.equal(summary.exitCode, 2);
  assert.equal(out.length, 3);
  assert.equal(JSON.parse(out[0]!).hr, '0x00000000');
  assert.deepEqual(JSON.parse(out[1]!), {
    line: 2,
    error: `line 2: the line is ${long.length} bytes long, more than the maximum line length (--max-line-length)`,
  });
  assert.equal(JSON.parse(out[2]!).line, 3);
  assert.equal(JSON.parse(out[2]!).hr, '0x00000000');
});

test('Sleep refuses a delay Node cannot wait (more than 2^31-1 ms) with an error line', async () => {
  const host = createHost();
  const out: string[] = [];
  const summary = await runExec(
    ['{"op":"Sleep","ms":2147483648}', '{"op":"Sleep","ms":1e300}', '{"op":"Sleep","ms":-1}'],
    host,
    (line) => void out.push(line),
  );
  host.dispose();
  assert.equal(summary.exitCode, 2);
  for (const [i, line] of out.entries()) {
    const value = JSON.parse(line) as { line: number; error?: string };
    assert.equal(value.line, i + 1);
    assert.match(value.error ?? '', /expected milliseconds \(a number from 0 to 2147483647\)/);
  }
});

test('LineWriter waits for drain and ends files', async () => {
  const received: string[] = [];
  const sink = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk.toString());
      setImmediate(callback);
    },
  });
  const writer = new LineWriter(sink);
  for (let i = 0; i < 50; i += 1) {
    const wait = writer.write(`line ${i}`);
    if (wait) await wait;
  }
  await writer.close(true);
  assert.equal(received.join(''), Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
});

test('liveIdsOnly (replay): only ids of live memory are kept — released, failed and address-less results are forgotten', async () => {
  // Replay keeps one entry per live allocation rather than one per call: 400,000 recorded calls replay in a 40 MB
  // heap (before: out of memory), and memory no longer grows with the length of the session.
  const lines = [
    '{"op":"VirtualAlloc","id":"a","address":null,"size":65536,"type":"MEM_RESERVE","protect":"PAGE_READWRITE","level":0}',
    '{"op":"VirtualAlloc","id":"b","address":null,"size":65536,"type":"MEM_RESERVE","protect":"PAGE_READWRITE","level":0}',
    '{"op":"VirtualFree","id":"f","address":"a","size":0,"type":"MEM_RELEASE"}',
    '{"op":"VirtualQuery","id":"q","address":"b"}',
    '{"op":"VirtualQuery","address":"a"}',
    '{"op":"VirtualQuery","address":"q"}',
    '{"op":"VirtualQuery","address":"b+0x10"}',
    '{"op":"CreateMalloc","id":"h","type":0}',
    '{"op":"Alloc","id":"x","malloc":"h","size":16,"level":0}',
    '{"op":"Free","malloc":"h","address":"x"}',
    '{"op":"Free","malloc":"h","address":"x"}',
  ];
  const host = createHost();
  const out: Line[] = [];
  try {
    await runExec(lines, host, (line) => void out.push(JSON.parse(line) as Line), { liveIdsOnly: true });
  } finally {
    host.dispose();
  }
  assert.equal(out[2]?.hrName, 'S_OK');
  assert.match(String(out[4]?.error), /unknown id "a"/, 'a released reservation is forgotten');
  assert.match(String(out[5]?.error), /unknown id "q"/, 'a result without an address is not kept');
  assert.equal(out[6]?.hrName, 'S_OK', 'live memory is still named');
  assert.equal(out[9]?.hrName, 'S_OK');
  assert.match(String(out[10]?.error), /unknown id "x"/, 'a freed heap block is forgotten');
  // exec's own rule is unchanged: every id is kept.
  const all = await exec(lines);
  assert.equal(all.out[4]?.error, undefined, 'exec still knows "a" (VirtualQuery of the freed range answers)');
  assert.match(String(all.out[5]?.error), /names line 4 \(VirtualQuery\), which has no address/);
});

test('error lines quote at most ~200 characters of a bad value, whatever its size', async () => {
  const long = 'r'.repeat(10_000);
  const { out } = await exec([
    JSON.stringify({ op: long }),
    JSON.stringify({
      op: 'VirtualAlloc',
      address: long,
      size: 1,
      type: 'MEM_RESERVE',
      protect: 'PAGE_READWRITE',
      level: 0,
    }),
    JSON.stringify({
      op: 'VirtualAlloc',
      address: null,
      size: long,
      type: 'MEM_RESERVE',
      protect: 'PAGE_READWRITE',
      level: 0,
    }),
    JSON.stringify({ op: 'VirtualAlloc', address: null, size: 1, type: long, protect: 'PAGE_READWRITE', level: 0 }),
    JSON.stringify({
      op: 'VirtualAlloc',
      address: null,
      size: 1,
      type: 'MEM_RESERVE',
      protect: 'PAGE_READWRITE',
      level: long,
    }),
    JSON.stringify({ op: 'Sleep', ms: long }),
  ]);
  assert.equal(out.length, 6);
  for (const line of out) {
    const error = String(line.error);
    assert.ok(error.length < 700, `${error.length} characters: ${error.slice(0, 120)}…`);
    assert.match(error, /… \(10000 characters\)/);
  }
});
