/**
 * The one size parser and the one duration parser (main/vocabulary/quantities.ts, which every command's options go
 * through): what they accept, and where they stop. Here, not beside them: main/vocabulary is type-checked for the
 * browser, without Node's test types.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIMER_MS, parseDurationValue, parseSizeValue, quote } from '../vocabulary/quantities';

const ok = (value: number) => ({ ok: true, value });

test('durations: units, rounding, and nothing past the longest timer (never cut to 1 ms)', () => {
  assert.deepEqual(parseDurationValue('500ms'), ok(500));
  assert.deepEqual(parseDurationValue('30s'), ok(30_000));
  assert.deepEqual(parseDurationValue('2m'), ok(120_000));
  assert.deepEqual(parseDurationValue('1.5h'), ok(5_400_000));
  assert.deepEqual(parseDurationValue(' 250 '), ok(250));
  assert.deepEqual(parseDurationValue(0.4), ok(0));
  assert.deepEqual(parseDurationValue(String(MAX_TIMER_MS)), ok(MAX_TIMER_MS));
  for (const bad of [
    String(MAX_TIMER_MS + 1),
    '600h',
    '3000000000',
    1e300,
    '1e3',
    '-5s',
    '5 days',
    '',
    'NaN',
    null,
    {},
  ])
    assert.equal(parseDurationValue(bad).ok, false, JSON.stringify(bad));
  const tooLong = parseDurationValue('600h');
  assert.ok(!tooLong.ok && tooLong.error.includes('longer than 2147483647 ms'), JSON.stringify(tooLong));
});

test('sizes: units and hex, whole bytes below 2^53 only', () => {
  assert.deepEqual(parseSizeValue('64KiB'), ok(65_536));
  assert.deepEqual(parseSizeValue('1.5MiB'), ok(1_572_864));
  assert.deepEqual(parseSizeValue('0x1000'), ok(4096));
  assert.deepEqual(parseSizeValue('1TiB'), ok(1024 ** 4));
  assert.deepEqual(parseSizeValue(Number.MAX_SAFE_INTEGER), ok(Number.MAX_SAFE_INTEGER));
  for (const bad of [
    '0x20000000000000',
    '0x1FFFFFFFFFFFFFFF',
    '8192TiB',
    '1.1B',
    -1,
    1.5,
    2 ** 53,
    '9PiB',
    'lots',
    null,
  ])
    assert.equal(parseSizeValue(bad).ok, false, JSON.stringify(bad));
  assert.equal(parseSizeValue(`0x${'f'.repeat(400)}`).ok, false);
});

test('a quoted bad input is at most 200 characters, with its length', () => {
  assert.equal(quote('abc'), '"abc"');
  const long = quote('y'.repeat(10_000));
  assert.ok(long.length < 240, long);
  assert.match(long, /…\s\(10000 characters\)$/);
  const bad = parseSizeValue('z'.repeat(10_000));
  assert.ok(!bad.ok && bad.error.length < 400, String(!bad.ok && bad.error.length));
});
