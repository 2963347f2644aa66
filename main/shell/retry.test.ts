// Brief retries on the errors an antivirus or the indexer cause on Windows (EPERM, EBUSY); anything else at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTransient, retry, retrySync } from './retry';

const coded = (code: string): Error => Object.assign(new Error(`${code}: operation failed`), { code });

/** A function that fails with `codes` in turn, then returns 'ok'; counts its calls. */
function failing(codes: string[]): { fn: () => string; calls: () => number } {
  let calls = 0;
  return {
    fn: () => {
      const code = codes[calls++];
      if (code !== undefined) throw coded(code);
      return 'ok';
    },
    calls: () => calls,
  };
}

test('EPERM and EBUSY are retried until the operation succeeds', async () => {
  const sync = failing(['EPERM', 'EBUSY']);
  assert.equal(retrySync(sync.fn, { delayMs: 1 }), 'ok');
  assert.equal(sync.calls(), 3);
  const async = failing(['EBUSY', 'EPERM', 'EPERM']);
  assert.equal(await retry(() => Promise.resolve().then(async.fn), { delayMs: 1 }), 'ok');
  assert.equal(async.calls(), 4);
});

test('any other error is thrown at once; a transient one that lasts is thrown after the last try', async () => {
  const other = failing(['ENOSPC']);
  assert.throws(() => retrySync(other.fn, { delayMs: 1 }), /ENOSPC/);
  assert.equal(other.calls(), 1);
  const lasting = failing(['EPERM', 'EPERM', 'EPERM', 'EPERM']);
  assert.throws(() => retrySync(lasting.fn, { attempts: 3, delayMs: 1 }), /EPERM/);
  assert.equal(lasting.calls(), 3);
  const lastingAsync = failing(['EBUSY', 'EBUSY', 'EBUSY']);
  await assert.rejects(
    retry(() => Promise.resolve().then(lastingAsync.fn), { attempts: 2, delayMs: 1 }),
    /EBUSY/,
  );
  assert.equal(lastingAsync.calls(), 2);
  assert.equal(isTransient(new Error('no code')), false);
  assert.equal(isTransient('EPERM'), false);
});
