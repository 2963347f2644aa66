/**
 * The tray's threshold notification carries the leak signal: a real process leaking memory, watched as the tray
 * watches it, crosses its threshold; the notification says how fast it grows and when it reaches the limit, in en,
 * fr and zh-CN. Without a growth (a first walk), the text is the plain crossing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createProcessInspector } from '../../native';
import { startScript } from '../../native/process-testing';
import { ProcessWatcher } from '../inspect';
import { processThresholdText } from './tray-process';

const LEAK = `const keep = []; console.log('ready'); setInterval(() => keep.push(Buffer.alloc(1 << 20, 1)), 50);`;
const GiB = 1024 ** 3;

describe('the tray notification with the leak signal', () => {
  test('a leaking process: "grows N/min; reaches LIMIT in ~T", in three languages', async () => {
    const child = await startScript(LEAK);
    const watcher = new ProcessWatcher(createProcessInspector(), child.pid, { intervalMs: 300, alwaysWalk: true });
    try {
      const walked = new Promise<void>((resolve) =>
        watcher.onWalk(() => {
          if (watcher.growth() !== null && watcher.walks >= 4) resolve();
        }),
      );
      watcher.start();
      await walked;
      const committed = watcher.lastWalk!.regions.reduce((n, r) => n + r.committed, 0);
      const growth = watcher.growth({ bytes: committed + 64 * GiB, kind: 'commit-limit' });
      assert.ok(growth && growth.total.committed > 0, 'the leak is not growing');
      const p = { name: 'leaky', pid: child.pid, committed };
      const en = processThresholdText(p, 1024, 0, 'en', growth).body;
      assert.match(
        en,
        /^Committed: .* \(threshold .*\)\ngrows [0-9.]+\s\S+\/min; reaches [0-9.]+\s\S+ in ~\d+ (min|h)$/,
      );
      assert.match(
        processThresholdText(p, 1024, 0, 'fr', growth).body,
        /\ncroît de .*\/min ; atteint .* dans ~\d+ (min|h)$/,
      );
      assert.match(
        processThresholdText(p, 1024, 0, 'zh-CN', growth).body,
        /\n每分钟增长 .*；约 \d+ (分钟|小时)后达到 /,
      );
      // No signal yet: the crossing alone.
      assert.doesNotMatch(processThresholdText(p, 1024, 0, 'en', null).body, /grows/);
    } finally {
      watcher.stop();
      await child.kill();
    }
  });
});
