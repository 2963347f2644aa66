import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareOutput, expectedExitCode, parseJsonLines, type Json } from './compare';

const actual: Json[] = [
  { line: 1, id: 'r1', op: 'VirtualAlloc', hr: '0x00000000', hrName: 'S_OK', address: '0x7f0000010000' },
  { event: 'notification', line: 2, memoryAvailable: 'Low', time: 5 },
  {
    line: 2,
    op: 'VirtualQuery',
    hr: '0x00000000',
    info: { baseAddress: '0x7f0000011000', regionSize: 4096, owned: true },
  },
  { line: 3, op: 'GetMemoryLoad', hr: '0x00000000', memoryLoad: 42, availableBytes: 10 },
  { line: 4, error: 'line 4: unknown op "Bogus"' },
  { line: 5, op: 'Stats', hr: '0x00000000', drift: [] },
  { line: 6, op: 'GetMemoryLoad', hr: '0x00000000', memoryLoad: 42, availableBytes: 9 },
];

test('partial objects and every matcher', () => {
  const expected: Json[] = [
    { line: 1, id: 'r1', address: '$align:65536', hr: '$hex', hrName: '$string' },
    { $optional: true, event: 'notification', memoryAvailable: 'High' },
    { event: 'notification', memoryAvailable: 'Low', time: '$number' },
    { line: 2, info: { baseAddress: '$=r1+0x1000', owned: true, level: '$absent' }, reason: '$absent' },
    { line: 3, memoryLoad: '$range:0..100', availableBytes: '$nonnull', hr: '$any' },
    { line: 4, error: '$contains:unknown op', $comment: 'ignored' },
    { line: 5, drift: [] },
    { line: 6, memoryLoad: '$same:3' },
  ];
  assert.deepEqual(compareOutput(expected, actual), []);
});

test('mismatches name the output line, input line, field, expected and actual', () => {
  const expected: Json[] = [
    { line: 1, hr: '0x80070057' },
    { event: 'notification', memoryAvailable: 'High' },
    { line: 2, info: { baseAddress: '$=r1+0x2000', regionSize: 8192, tag: 'x' } },
    { line: 3, memoryLoad: '$range:0..10', reason: '$absent' },
    { line: 4, error: '$contains:missing' },
    { line: 5, drift: [{}] },
    { line: 6, availableBytes: '$same:3' },
  ];
  const problems = compareOutput(expected, actual);
  const text = problems.join('\n');
  assert.equal(problems.length, 7, text);
  assert.match(
    text,
    /output line 1, input line 1, op "VirtualAlloc", id "r1":\n {4}hr: expected "0x80070057", got "0x00000000"/,
  );
  assert.match(text, /info\.baseAddress: expected \$=r1\+0x2000 = 0x7f0000012000, got "0x7f0000011000"/);
  assert.match(text, /memoryAvailable: expected "High", got "Low"/);
  assert.match(text, /info\.regionSize: expected 8192, got 4096/);
  assert.match(text, /info\.tag: expected "x", but the field is absent/);
  assert.match(text, /memoryLoad: expected a number in 0\.\.10, got 42/);
  assert.match(text, /error: expected a string containing "missing"/);
  assert.match(text, /drift: expected \[\{\}\], got \[\]/);
  assert.match(text, /availableBytes: expected the same as input line 3: 10, got 9/);
});

test('missing and extra lines are reported; optional lines may be absent at the end', () => {
  assert.match(compareOutput([{ line: 1 }, { line: 2 }], [{ line: 1 }]).join(''), /missing output line 2/);
  assert.match(compareOutput([{ line: 1 }], [{ line: 1 }, { line: 2 }]).join(''), /unexpected output line 2/);
  assert.deepEqual(compareOutput([{ line: 1 }, { $optional: true, event: 'x' }], [{ line: 1 }]), []);
  assert.throws(() => compareOutput([{ line: '$typo' }], [{ line: 1 }]), /unknown matcher "\$typo"/);
});

test('exit status expected from the expected lines, and JSON Lines parsing', () => {
  assert.equal(expectedExitCode([{ line: 1, hr: '0x80070057' }]), 0);
  assert.equal(expectedExitCode([{ line: 1, error: '$string' }]), 2);
  assert.deepEqual(parseJsonLines('{"a":1}\r\n\n[2]\n', 'x'), [{ a: 1 }, [2]]);
  assert.throws(() => parseJsonLines('{"a":1}\nnope\n', 'file.jsonl'), /file\.jsonl:2: not JSON/);
});
