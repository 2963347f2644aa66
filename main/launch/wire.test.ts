/**
 * The channel's reader and the policy's parsers against bad input: a garbage or hostile peer on the agent socket, a
 * damaged batch, a policy file or --fault text that is not one. Each is a clear error value, never a throw or a hang.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFaultText, parseLaunchRules, type SizeParser } from './policy';
import { EVENT_BYTES, HELLO_LAYOUT, HELLO_MAGIC, MSG, OP } from './protocol';
import { EventColumns, EventDecoder, FrameReader, frame, parseCounters, parseHello, parseModules } from './wire';

/** The caller's size parser (the CLI gives its own): here integers and KiB/MiB, enough for these cases. */
const size: SizeParser = (v) => {
  const m = /^(\d+)(KiB|MiB)?$/.exec(String(v));
  if (!m) return { ok: false, error: `expected a size, got ${JSON.stringify(v)}` };
  return { ok: true, value: Number(m[1]) * (m[2] === 'MiB' ? 1 << 20 : m[2] === 'KiB' ? 1024 : 1) };
};

function eventsPayload(first: number, slots: readonly ((b: Buffer, at: number, seq: number) => void)[]): Buffer {
  const p = Buffer.alloc(8 + slots.length * EVENT_BYTES);
  p.writeBigUInt64LE(BigInt(first), 0);
  slots.forEach((fill, i) => {
    const at = 8 + i * EVENT_BYTES;
    p.writeUInt32LE((first + i) % 2 ** 32, at);
    fill(p, at, first + i);
  });
  return p;
}
const malloc = (size: number, ret: number) => (b: Buffer, at: number) => {
  b[at + 4] = OP.MALLOC;
  b.writeBigUInt64LE(BigInt(size), at + 32);
  b.writeBigUInt64LE(BigInt(ret), at + 40);
};

test('frames are reassembled across chunks; a header that cannot be a frame is an error', () => {
  const r = new FrameReader();
  const whole = Buffer.concat([frame(MSG.BYE), frame(MSG.COUNTERS, Buffer.alloc(72))]);
  const a = r.push(whole.subarray(0, 5));
  assert.deepEqual(a, []);
  const b = r.push(whole.subarray(5));
  assert.ok(!(b instanceof Error));
  assert.deepEqual(
    b.map((f) => [f.type, f.payload.length]),
    [
      [MSG.BYE, 0],
      [MSG.COUNTERS, 72],
    ],
  );
  assert.ok(new FrameReader().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')) instanceof Error);
  const huge = Buffer.alloc(8);
  huge.writeUInt32LE(0xffffffff, 0);
  assert.match(String(new FrameReader().push(huge)), /a frame of 4294967295 bytes/);
});

test('HELLO, MODULES and COUNTERS that are cut short or lie about their size are refused', () => {
  assert.match(String(parseHello(Buffer.alloc(10))), /HELLO of 10 bytes/);
  const h = Buffer.alloc(HELLO_LAYOUT.bytes + 3);
  assert.match(String(parseHello(h)), /magic/);
  h.writeUInt32LE(HELLO_MAGIC, 0);
  h.writeUInt16LE(200, HELLO_LAYOUT.exePathLength);
  assert.match(String(parseHello(h)), /path length/);
  h.writeUInt16LE(3, HELLO_LAYOUT.exePathLength);
  h.write('abc', HELLO_LAYOUT.bytes);
  const hello = parseHello(h);
  assert.ok(!(hello instanceof Error) && hello.exe === 'abc');
  const m = Buffer.alloc(8);
  m.writeUInt32LE(5, 0);
  assert.match(String(parseModules(m)), /cut short at module 0 of 5/);
  assert.match(String(parseCounters(Buffer.alloc(71))), /COUNTERS of 71 bytes/);
});

test('events: decoded in order; a gap, a wrong mark or a repeat is counted or refused, never silent', () => {
  const d = new EventDecoder();
  const c = new EventColumns();
  assert.equal(d.decode(eventsPayload(1, [malloc(10, 0x1000), malloc(20, 0x2000)]), c), 2);
  assert.equal(c.size[1], 20);
  assert.equal(c.ret[0], 0x1000);
  // Slots 3 and 4 never came: counted as lost.
  assert.equal(d.decode(eventsPayload(5, [malloc(30, 0x3000)]), c), 1);
  assert.equal(d.lost, 2);
  // A slot whose mark is not its own is lost, not believed.
  const bad = eventsPayload(6, [malloc(1, 1), malloc(2, 2)]);
  bad.writeUInt32LE(12345, 8);
  assert.equal(d.decode(bad, c), 1);
  assert.equal(d.lost, 3);
  // Going back is a repeat: refused.
  assert.match(String(d.decode(eventsPayload(2, [malloc(1, 1)]), c)), /repeated/);
  assert.match(String(d.decode(Buffer.alloc(8 + 10), c)), /EVENTS of 18 bytes/);
});

test('events with a stack: its frames slots are joined back; an abandoned slot is counted', () => {
  const d = new EventDecoder();
  const c = new EventColumns();
  const withFrames = (b: Buffer, at: number) => {
    malloc(64, 0x5000)(b, at);
    b.writeUInt32LE(9, at + 12);
  };
  const framesSlot = (pcs: number[]) => (b: Buffer, at: number) => {
    b[at + 4] = OP.FRAMES;
    b[at + 5] = pcs.length;
    pcs.forEach((pc, i) => b.writeBigUInt64LE(BigInt(pc), at + 8 + i * 8));
  };
  const abandoned = (b: Buffer, at: number) => {
    b[at + 4] = OP.FRAMES;
    b[at + 5] = 0;
  };
  const n = d.decode(
    eventsPayload(1, [withFrames, framesSlot([1, 2, 3, 4, 5, 6, 7]), framesSlot([8, 9]), abandoned]),
    c,
  );
  assert.equal(n, 1);
  assert.deepEqual(c.framesOf(0), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(d.abandoned, 1);
});

test('policy rules and --fault text: what is wrong is said, with where', () => {
  assert.deepEqual(parseFaultText('op=malloc+calloc,level=1,everyNth=3', size), {
    ok: true,
    value: { op: ['malloc', 'calloc'], level: 'eAppDomainCritical', everyNth: 3 },
  });
  assert.deepEqual(parseFaultText('op=mmap,afterBytes=64MiB', size), {
    ok: true,
    value: { op: ['mmap'], afterBytes: 64 * 1024 * 1024 },
  });
  for (const [text, message] of [
    ['op=malloc', /needs probability, everyNth or afterBytes/],
    ['op=fopen,everyNth=1', /op must name allocating calls/],
    ['everyNth=0', /everyNth/],
    ['probability=2', /probability/],
    ['everyNth=1,everyNth=2', /given twice/],
    ['malloc', /is not key=value/],
    ['level=9,everyNth=1', /level/],
    ['afterBytes=lots', /afterBytes/],
  ] as const) {
    const r = parseFaultText(text, size);
    assert.equal(r.ok, false, text);
    assert.match(r.ok ? '' : r.error, message, text);
  }
  const rules = parseLaunchRules({ levelRules: [{ op: 'mmap', minSize: '2MiB', maxSize: '1MiB', level: 2 }] }, size);
  assert.equal(rules.ok, false);
  assert.match(rules.ok ? '' : rules.error, /levelRules.*minSize must not be above maxSize/);
  const unknown = parseLaunchRules({ levelRules: [{ level: 'eTaskCritical', colour: 'red' }] }, size);
  assert.equal(unknown.ok, false);
  const ok = parseLaunchRules(
    { levelRules: [{ function: 'critical_alloc', level: 'eProcessCritical' }], defaultLevel: 1, sampleBytes: '1MiB' },
    size,
  );
  assert.ok(ok.ok && ok.value.defaultLevel === 'eAppDomainCritical' && ok.value.sampleBytes === 1 << 20);
});
