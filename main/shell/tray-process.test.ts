/**
 * The tray watching a process, pure parts: the tooltip line and the tooltip fitted into 127 UTF-16 units in every
 * language whatever the name, the threshold crossing with hysteresis, the notification text, and the throttle's
 * process-threshold kind (one per interval, the rest counted and released by `due()`). No timing assertion: the
 * clock is injected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotificationThrottle } from './throttle';
import { notificationText, TOOLTIP_MAX, trayTooltip } from './tray-model';
import {
  processThresholdText,
  processTooltipLine,
  ThresholdWatch,
  trayTooltipWithProcess,
  type TrayProcess,
} from './tray-process';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const hostStats = {
  reserved: 3 * GiB,
  committed: 1.5 * GiB,
  external: 0,
  heap: 0,
  regions: 12,
  heapBlocks: 0,
  state: 'available' as const,
  failures: { eTaskCritical: 123_456, eAppDomainCritical: 7, eProcessCritical: 1, other: 99_999 },
};

test('the tooltip line says the committed bytes, or why there are none', () => {
  const p: TrayProcess = { pid: 4242, name: 'node', committed: 1.5 * GiB, ended: null };
  assert.equal(processTooltipLine(p, 'en'), 'node (4242): 1.5 GiB committed');
  assert.equal(processTooltipLine(p, 'fr'), 'node (4242): 1,5 GiB engagés');
  assert.equal(processTooltipLine(p, 'zh-CN'), 'node (4242): 1.5 GiB 已提交');
  assert.equal(processTooltipLine({ ...p, committed: null }, 'en'), 'node (4242): reading…');
  assert.equal(processTooltipLine({ ...p, ended: 'exited' }, 'en'), 'node (4242): exited');
  assert.equal(processTooltipLine({ ...p, ended: 'access-denied' }, 'fr'), 'node (4242): accès refusé');
  const long = processTooltipLine({ ...p, name: 'x'.repeat(300) }, 'en');
  assert.ok(long.length <= 60, long);
  assert.match(long, /… \(4242\): 1\.5 GiB committed$/);
});

test('the tooltip keeps the host head and the process line within 127 units, in every language', () => {
  for (const locale of ['en', 'fr', 'zh-CN']) {
    const host = trayTooltip(hostStats as never, { commitLimit: 2 * GiB }, 1, locale);
    for (const name of ['node', 'a-very-long-process-name-'.repeat(6), '进程'.repeat(40), '😀'.repeat(50)]) {
      const text = trayTooltipWithProcess(host, { pid: 99999, name, committed: 123 * GiB, ended: null }, locale);
      assert.ok(text.length <= TOOLTIP_MAX, `${locale}: ${text.length}`);
      const lines = text.split('\n');
      assert.equal(lines[0], host.split('\n')[0], 'the host head stays first');
      assert.match(lines[1]!, /\(99999\): 123 GiB/);
      assert.doesNotMatch(text, /[\ud800-\udbff](?![\udc00-\udfff])/, 'no surrogate pair split');
    }
  }
  const host = trayTooltip(hostStats as never, { commitLimit: null }, 2, 'en');
  assert.equal(trayTooltipWithProcess(host, null, 'en'), host, 'no process, no change');
});

test('a threshold notifies once per crossing: hysteresis re-arms below 90 %', () => {
  const w = new ThresholdWatch(100 * MiB);
  const seen = [50, 99, 101, 150, 99, 91, 120, 89, 100, 101].map((m) => w.update(m * MiB));
  assert.deepEqual(seen, [false, false, true, false, false, false, false, false, false, true]);
  assert.equal(w.above, true);
  assert.equal(new ThresholdWatch(MiB).update(2 * MiB), true, 'the first walk above it counts');
  assert.throws(() => new ThresholdWatch(0), RangeError);
  assert.throws(() => new ThresholdWatch(Number.NaN), RangeError);
  assert.throws(() => new ThresholdWatch(1, 0), RangeError);
});

test('crossings go through the throttle: one per interval, the rest counted in the next', () => {
  let now = 1_000_000;
  const throttle = new NotificationThrottle({ intervalMs: 30_000, now: () => now });
  const first = throttle.processThreshold();
  assert.ok(first);
  assert.equal(first.kind, 'process-threshold');
  assert.equal(first.suppressed, 0);
  now += 1000;
  assert.equal(throttle.processThreshold(), null);
  assert.equal(throttle.processThreshold(), null);
  assert.equal(throttle.pending()['process-threshold'], 2);
  assert.equal(throttle.nextDueAt(), 1_030_000);
  now = 1_030_000;
  const [due] = throttle.due();
  assert.equal(due?.kind, 'process-threshold');
  assert.equal(due?.suppressed, 1, 'the latest is shown, the one before counted');
  // Independent of the other kinds.
  assert.ok(throttle.memoryAvailable(1));

  const text = processThresholdText({ name: 'node', pid: 7, committed: 1.2 * GiB }, GiB, due!.suppressed, 'en');
  assert.equal(text.title, 'node (7) passed 1 GiB committed');
  assert.equal(text.body, 'Committed: 1.2 GiB (threshold 1 GiB)\n1 more crossing since the last notification');
  assert.deepEqual(notificationText(due!, 'en', text), text, 'notificationText passes the process words through');
  const zh = processThresholdText({ name: 'node', pid: 7, committed: 2 * GiB }, GiB, 0, 'zh-CN');
  assert.match(zh.title, /已提交超过 1 GiB/);
});
