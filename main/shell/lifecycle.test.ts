// When closing windows quits the app, how often a crashed page is reloaded, and the deadline on quitting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CRASH_WINDOW_MS, CrashReloads, MAX_CRASH_RELOADS, quitsOnAllClosed, settleWithin } from './lifecycle';

test('only the main window’s own close (or quitting) quits: the PDF print window closing never does', () => {
  // A PDF exported from the tray: the print window was the last window (the main one hidden, or never opened).
  assert.equal(quitsOnAllClosed({ mainWindowClosed: false, quitting: false }), false);
  assert.equal(quitsOnAllClosed({ mainWindowClosed: true, quitting: false }), true);
  assert.equal(quitsOnAllClosed({ mainWindowClosed: false, quitting: true }), true);
});

test('a page that keeps crashing is reloaded MAX_CRASH_RELOADS times a minute, then left alone', () => {
  let now = 0;
  const crashes = new CrashReloads(() => now);
  const answers = Array.from({ length: MAX_CRASH_RELOADS + 2 }, () => crashes.crashed());
  assert.deepEqual(answers, [...Array<boolean>(MAX_CRASH_RELOADS).fill(true), false, false]);
  now += CRASH_WINDOW_MS; // a minute later the count starts again
  assert.equal(crashes.crashed(), true);
});

test('settleWithin says whether the work finished, failed, or ran past the deadline', async () => {
  assert.equal(await settleWithin(Promise.resolve(1), 1_000), 'done');
  assert.equal(await settleWithin(Promise.reject(new Error('x')), 1_000), 'failed');
  assert.equal(await settleWithin(new Promise(() => undefined), 20), 'timed-out');
});
