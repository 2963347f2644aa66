import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HR } from '../host/hresult';
import type { FailureGroup } from '../host/types';
import { NotificationThrottle, type NotifiableFailure } from './throttle';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void; set: (t: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (v) => void (t = v) };
}
const fail = (level: FailureGroup, size = 4096): NotifiableFailure => ({
  level,
  method: 'VirtualAlloc',
  hr: HR.E_OUTOFMEMORY,
  size,
});

describe('NotificationThrottle', () => {
  test('only AppDomain- and Process-critical failures notify', () => {
    const c = clock();
    const th = new NotificationThrottle({ now: c.now });
    assert.equal(th.failure(fail('eTaskCritical')), null);
    assert.equal(th.failure(fail('other')), null);
    assert.deepEqual(th.failure(fail('eAppDomainCritical')), {
      kind: 'eAppDomainCritical',
      time: 1_000_000,
      failure: fail('eAppDomainCritical'),
      suppressed: 0,
    });
    assert.equal(th.failure(fail('eProcessCritical'))?.kind, 'eProcessCritical', 'kinds are throttled separately');
    assert.deepEqual(th.pending(), {
      eAppDomainCritical: 0,
      eProcessCritical: 0,
      'low-memory': 0,
      'process-threshold': 0,
    });
  });

  test('one per kind per interval; the next one counts what was held back', () => {
    const c = clock();
    const th = new NotificationThrottle({ intervalMs: 30_000, now: c.now });
    assert.ok(th.failure(fail('eAppDomainCritical')));
    c.advance(1000);
    assert.equal(th.failure(fail('eAppDomainCritical')), null);
    c.advance(1000);
    assert.equal(th.failure(fail('eAppDomainCritical')), null);
    c.advance(27_999);
    assert.equal(th.failure(fail('eAppDomainCritical')), null, '29.999 s after: still held');
    assert.equal(th.pending().eAppDomainCritical, 3);
    c.advance(1);
    const n = th.failure(fail('eAppDomainCritical', 8192));
    assert.deepEqual(n, {
      kind: 'eAppDomainCritical',
      time: 1_030_000,
      failure: fail('eAppDomainCritical', 8192),
      suppressed: 3,
    });
    assert.equal(th.pending().eAppDomainCritical, 0);
    c.advance(10);
    assert.equal(th.failure(fail('eAppDomainCritical')), null, 'a new interval began');
  });

  test('due() releases a held-back summary once the interval has passed, without a new event', () => {
    const c = clock(0);
    const th = new NotificationThrottle({ intervalMs: 30_000, now: c.now });
    assert.equal(th.nextDueAt(), null);
    th.failure(fail('eProcessCritical'));
    assert.equal(th.nextDueAt(), null, 'nothing held');
    c.advance(5_000);
    for (let i = 0; i < 4; i++) th.failure(fail('eProcessCritical', 100 + i));
    assert.equal(th.nextDueAt(), 30_000);
    assert.deepEqual(th.due(), []);
    c.set(30_000);
    const [n, ...rest] = th.due();
    assert.deepEqual(rest, []);
    // The latest held-back failure is shown; the three before it are counted.
    assert.deepEqual(n, {
      kind: 'eProcessCritical',
      time: 30_000,
      failure: fail('eProcessCritical', 103),
      suppressed: 3,
    });
    assert.deepEqual(th.due(), []);
    assert.equal(th.nextDueAt(), null);
    c.advance(1);
    assert.equal(th.failure(fail('eProcessCritical')), null, 'the summary started a new interval');
  });

  test('Low memory notifies on entering Low only, throttled too', () => {
    const c = clock(0);
    const th = new NotificationThrottle({ intervalMs: 30_000, now: c.now });
    assert.equal(th.memoryAvailable(2), null);
    assert.deepEqual(th.memoryAvailable(1), { kind: 'low-memory', time: 0, suppressed: 0 });
    assert.equal(th.memoryAvailable(1), null, 'staying Low is not news');
    c.advance(1000);
    assert.equal(th.memoryAvailable(2), null);
    assert.equal(th.memoryAvailable(1), null, 'Low again within the interval: held');
    assert.equal(th.memoryAvailable(3), null);
    assert.equal(th.memoryAvailable(1), null);
    assert.equal(th.pending()['low-memory'], 2);
    c.set(40_000);
    assert.equal(th.memoryAvailable(2), null);
    assert.deepEqual(th.memoryAvailable(1), { kind: 'low-memory', time: 40_000, suppressed: 2 });
  });

  test('a clock that goes backwards does not mute notifications', () => {
    const c = clock(100_000);
    const th = new NotificationThrottle({ now: c.now });
    assert.ok(th.failure(fail('eAppDomainCritical')));
    c.set(50_000);
    assert.ok(th.failure(fail('eAppDomainCritical')));
  });

  test('interval 0 lets everything through; a bad interval is refused', () => {
    const c = clock();
    const th = new NotificationThrottle({ intervalMs: 0, now: c.now });
    for (let i = 0; i < 5; i++) assert.equal(th.failure(fail('eProcessCritical'))?.suppressed, 0);
    assert.throws(() => new NotificationThrottle({ intervalMs: -1 }), RangeError);
    assert.throws(() => new NotificationThrottle({ intervalMs: Number.NaN }), RangeError);
  });
});
