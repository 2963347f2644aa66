import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POLICY } from '../../host/types';
import { MEM_FLAGS, MALLOC_FLAGS, PAGE_FLAGS, formatProtect, parseFlags } from './names';
import { parsePolicy } from './policy';
import { RequestParser } from './requests';
import { parseAddress, parseByte, parseLevel, parseSize } from './values';

function ok<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) assert.fail(`expected a value, got the error: ${result.error}`);
  return result.value;
}

function error(result: { ok: true; value: unknown } | { ok: false; error: string }): string {
  if (result.ok) assert.fail(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

test('sizes: numbers and strings with KiB/MiB/GiB/TiB', () => {
  assert.equal(ok(parseSize(0)), 0);
  assert.equal(ok(parseSize(100000)), 100000);
  assert.equal(ok(parseSize('4096')), 4096);
  assert.equal(ok(parseSize('0x1000')), 4096);
  assert.equal(ok(parseSize('64KiB')), 65536);
  assert.equal(ok(parseSize('1MiB')), 1048576);
  assert.equal(ok(parseSize('1 GiB')), 1073741824);
  assert.equal(ok(parseSize('1.5MiB')), 1572864);
  assert.equal(ok(parseSize('4096TiB')), 2 ** 52);
  assert.match(error(parseSize('1MB')), /expected a size/);
  assert.match(error(parseSize(-1)), /expected a size/);
  assert.match(error(parseSize(1.5)), /expected a size/);
  assert.match(error(parseSize('0.1KiB')), /whole number/);
  assert.match(error(parseSize(null)), /got null/);
});

test('flags: a name, "A|B", an array of names or numbers, or a DWORD', () => {
  assert.equal(ok(parseFlags('MEM_RESERVE', MEM_FLAGS)), 0x2000);
  assert.equal(ok(parseFlags(['MEM_RESERVE', 'MEM_COMMIT'], MEM_FLAGS)), 0x3000);
  assert.equal(ok(parseFlags('MEM_RESERVE|MEM_COMMIT|MEM_TOP_DOWN', MEM_FLAGS)), 0x103000);
  assert.equal(ok(parseFlags(12288, MEM_FLAGS)), 12288);
  assert.equal(ok(parseFlags(['MEM_RESERVE', 0x40000000], MEM_FLAGS)), 0x40002000);
  assert.equal(ok(parseFlags([], MEM_FLAGS)), 0);
  for (const name of [
    'MEM_DECOMMIT',
    'MEM_RELEASE',
    'MEM_RESET',
    'MEM_RESET_UNDO',
    'MEM_LARGE_PAGES',
    'MEM_PHYSICAL',
    'MEM_WRITE_WATCH',
  ]) {
    assert.ok(parseFlags(name, MEM_FLAGS).ok, name);
  }
  assert.equal(ok(parseFlags('PAGE_READWRITE|PAGE_GUARD', PAGE_FLAGS)), 0x104);
  assert.equal(ok(parseFlags(['PAGE_EXECUTE_READ', 'PAGE_NOCACHE'], PAGE_FLAGS)), 0x220);
  assert.equal(ok(parseFlags('PAGE_READWRITE|PAGE_WRITECOMBINE', PAGE_FLAGS)), 0x404);
  assert.equal(ok(parseFlags('MALLOC_THREADSAFE|MALLOC_EXECUTABLE', MALLOC_FLAGS)), 3);
  assert.match(error(parseFlags('MEM_RESERV', MEM_FLAGS)), /unknown name "MEM_RESERV"/);
  assert.match(error(parseFlags('PAGE_READWRITE', MEM_FLAGS)), /unknown name "PAGE_READWRITE"/);
  assert.match(error(parseFlags(-1, MEM_FLAGS)), /DWORD/);
  assert.match(error(parseFlags(2 ** 32, PAGE_FLAGS)), /DWORD/);
  assert.match(error(parseFlags(true, PAGE_FLAGS)), /got true/);
  assert.match(error(parseFlags([{}], PAGE_FLAGS)), /name in the array/);
});

test('protections print as names, "0" for zero, hex for unnamed bits, and parse back', () => {
  assert.equal(formatProtect(0), '0');
  assert.equal(formatProtect(0x04), 'PAGE_READWRITE');
  assert.equal(formatProtect(0x104), 'PAGE_READWRITE|PAGE_GUARD');
  assert.equal(formatProtect(0x220), 'PAGE_EXECUTE_READ|PAGE_NOCACHE');
  assert.equal(formatProtect(0x804), 'PAGE_READWRITE|0x800');
  for (const value of [0, 1, 2, 4, 0x10, 0x20, 0x40, 0x104, 0x204, 0x404, 0x804, 0x80000004]) {
    assert.equal(ok(parseFlags(formatProtect(value), PAGE_FLAGS)), value >>> 0, formatProtect(value));
  }
});

test('addresses: null, hex, and references with offsets', () => {
  const ids = new Set(['r1', 'a-b', '7']);
  const isId = (id: string) => ids.has(id);
  assert.deepEqual(ok(parseAddress(null, isId)), { kind: 'null' });
  assert.deepEqual(ok(parseAddress('0x7F0000000000', isId)), { kind: 'absolute', value: 0x7f0000000000 });
  assert.deepEqual(ok(parseAddress('r1', isId)), { kind: 'reference', id: 'r1', offset: 0, text: 'r1' });
  assert.deepEqual(ok(parseAddress('r1+4096', isId)), { kind: 'reference', id: 'r1', offset: 4096, text: 'r1+4096' });
  assert.deepEqual(ok(parseAddress('r1+0x1000', isId)), {
    kind: 'reference',
    id: 'r1',
    offset: 4096,
    text: 'r1+0x1000',
  });
  assert.deepEqual(ok(parseAddress('r1-0x10', isId)), { kind: 'reference', id: 'r1', offset: -16, text: 'r1-0x10' });
  // An id may contain '-' or '+': the whole string is tried first.
  assert.deepEqual(ok(parseAddress('a-b', isId)), { kind: 'reference', id: 'a-b', offset: 0, text: 'a-b' });
  assert.deepEqual(ok(parseAddress('a-b+16', isId)), { kind: 'reference', id: 'a-b', offset: 16, text: 'a-b+16' });
  assert.deepEqual(ok(parseAddress('7+1', isId)), { kind: 'reference', id: '7', offset: 1, text: '7+1' });
  // Unknown ids parse; the driver reports them.
  assert.deepEqual(ok(parseAddress('nope', isId)), { kind: 'reference', id: 'nope', offset: 0, text: 'nope' });
  assert.match(error(parseAddress(12345, isId)), /expected an address/);
  assert.match(error(parseAddress('', isId)), /empty/);
  assert.match(error(parseAddress('0xffffffffffffffff', isId)), /above 2\^53/);
});

test('levels and bytes', () => {
  assert.equal(ok(parseLevel('eTaskCritical')), 0);
  assert.equal(ok(parseLevel('eAppDomainCritical')), 1);
  assert.equal(ok(parseLevel('eProcessCritical')), 2);
  assert.equal(ok(parseLevel(7)), 7, 'other integers pass through to the host');
  assert.match(error(parseLevel('eFoo')), /unknown level "eFoo"/);
  assert.match(error(parseLevel(1.5)), /expected a level/);
  assert.equal(ok(parseByte(0)), 0);
  assert.equal(ok(parseByte(255)), 255);
  assert.equal(ok(parseByte('0xAB')), 0xab);
  assert.match(error(parseByte(256)), /byte 0..255/);
  assert.match(error(parseByte('12')), /byte 0..255/);
});

test('policy objects: sizes, partial thresholds, faults, defaults for what is missing', () => {
  assert.deepEqual(ok(parsePolicy({})), DEFAULT_POLICY);
  const policy = ok(
    parsePolicy({
      commitLimit: '64MiB',
      reserveLimit: 1073741824,
      thresholds: { eTaskCritical: 0.5 },
      processCriticalWaitMs: 100,
      faults: [
        { op: 'VirtualAlloc', level: 'eTaskCritical', probability: 0.1 },
        { everyNth: 50 },
        { op: 'Alloc', level: 2, afterBytes: '1MiB' },
      ],
      seed: 7,
    }),
  );
  assert.deepEqual(policy, {
    commitLimit: 64 * 1024 * 1024,
    reserveLimit: 1073741824,
    thresholds: { eTaskCritical: 0.5, eAppDomainCritical: 0.95, eProcessCritical: 1.0 },
    processCriticalWaitMs: 100,
    faults: [
      { op: 'VirtualAlloc', level: 'eTaskCritical', probability: 0.1 },
      { everyNth: 50 },
      { op: 'Alloc', level: 'eProcessCritical', afterBytes: 1048576 },
    ],
    seed: 7,
  });
  assert.equal(ok(parsePolicy({ commitLimit: null })).commitLimit, null);
  assert.match(error(parsePolicy({ commitLimit: 0 })), /commitLimit/);
  assert.match(error(parsePolicy({ commitLimit: '1MB' })), /field "commitLimit": expected a size/);
  assert.match(error(parsePolicy({ thresholds: { eTaskCritical: 0 } })), /thresholds\.eTaskCritical/);
  assert.match(error(parsePolicy({ thresholds: { eFoo: 0.5 } })), /unknown field "eFoo" in "thresholds"/);
  assert.match(error(parsePolicy({ faults: [{ op: 'VirtualAlloc' }] })), /faults\[0\].*probability/);
  assert.match(error(parsePolicy({ faults: [{ everyNth: 0 }] })), /faults\[0\]\.everyNth/);
  assert.match(error(parsePolicy({ faults: [{ op: 'Nope', everyNth: 1 }] })), /faults\[0\]\.op/);
  assert.match(error(parsePolicy({ faults: [{ everyNth: 1, when: 'now' }] })), /unknown field "when" in "faults\[0\]"/);
  assert.match(error(parsePolicy({ seed: 1.5 })), /seed/);
  // A wait no timer can do (a signed 32-bit ms count) is refused, not cut to 1 ms.
  assert.equal(ok(parsePolicy({ processCriticalWaitMs: 2_147_483_647 })).processCriticalWaitMs, 2_147_483_647);
  assert.match(error(parsePolicy({ processCriticalWaitMs: 2_147_483_648 })), /processCriticalWaitMs.*0 to 2147483647/);
  assert.match(error(parsePolicy({ limit: 1 })), /unknown field "limit" \(fields: commitLimit, reserveLimit/);
  assert.match(error(parsePolicy([])), /JSON object/);
});

test('requests: one strict schema per op', () => {
  const parser = new RequestParser((id) => id === 'r1');
  const alloc = ok(
    parser.parse(
      '{"op":"VirtualAlloc","id":"r2","address":"r1+0x1000","size":"64KiB","type":["MEM_RESERVE","MEM_COMMIT"],' +
        '"protect":"PAGE_READWRITE","level":"eAppDomainCritical","tag":"t"}',
    ),
  );
  assert.deepEqual(alloc, {
    op: 'VirtualAlloc',
    id: 'r2',
    address: { kind: 'reference', id: 'r1', offset: 4096, text: 'r1+0x1000' },
    size: 65536,
    type: 0x3000,
    protect: 4,
    level: 1,
    tag: 't',
  });
  assert.deepEqual(ok(parser.parse('{"op":"Sleep","ms":5}')), { op: 'Sleep', ms: 5 });
  assert.deepEqual(ok(parser.parse('{"op":"SetPolicy","commitLimit":"1MiB"}')), {
    op: 'SetPolicy',
    commitLimit: 1048576,
  });
  assert.deepEqual(ok(parser.parse('{"op":"DebugAlloc","malloc":"m","size":1,"level":0,"file":"a.c","line":3}')), {
    op: 'DebugAlloc',
    malloc: { kind: 'reference', id: 'm' },
    size: 1,
    level: 0,
    file: 'a.c',
    line: 3,
  });
  assert.deepEqual(ok(parser.parse('{"op":"Free","malloc":2,"address":"0x1000"}')), {
    op: 'Free',
    malloc: { kind: 'number', value: 2 },
    address: { kind: 'absolute', value: 4096 },
  });
  assert.match(error(parser.parse('{')), /not JSON/);
  assert.match(error(parser.parse('"Stats"')), /JSON object/);
  assert.match(error(parser.parse('{"op":5}')), /unknown op 5/);
  assert.match(error(parser.parse('{"op":"toString"}')), /unknown op "toString"/);
  assert.match(error(parser.parse('{"op":"Stats","x":1}')), /Stats: unknown field "x" \(fields: op, id\)/);
  assert.match(error(parser.parse('{"op":"Stats","id":"0x10"}')), /looks like a hex address/);
  assert.match(error(parser.parse('{"op":"Stats","id":""}')), /expected an id/);
  assert.match(
    error(parser.parse('{"op":"VirtualFree","address":"r1"}')),
    /"size" is missing; field "type" is missing/,
  );
  assert.match(
    error(parser.parse('{"op":"VirtualAlloc","address":null,"size":1,"type":1,"protect":4,"level":0,"tag":3}')),
    /"tag": expected a string/,
  );
  assert.match(error(parser.parse('{"op":"SetPolicy","policy":{}}')), /unknown field "policy"/);
});
