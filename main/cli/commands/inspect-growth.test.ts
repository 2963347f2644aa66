/**
 * The leak signal as `hostmem inspect --watch` shows it, on a real process that leaks 1 MiB every 50 ms: the growth
 * line after each walk once the walks span a second, committed growing, and the time to the budget.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startScript } from '../../../native/process-testing';
import { runCli } from '../testing';
import { watchJsonSchema } from './inspect-json';

const run = runCli;

const LEAK = `const keep = []; console.log('ready'); setInterval(() => keep.push(Buffer.alloc(1 << 20, 1)), 50);`;

describe('hostmem inspect --watch: the leak signal', () => {
  test('a leaking process: committed grows per minute, and the budget is reached in so long', async () => {
    const child = await startScript(LEAK);
    try {
      const r = await run(['inspect', String(child.pid), '--watch', '400ms', '--count', '6', '--budget', '64GiB']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('growth over '));
      assert.ok(lines.length >= 3, r.stdout);
      const last = lines[lines.length - 1]!;
      // Growing (how fast depends on how late a loaded machine runs the child's timer: not asserted).
      assert.match(last, /^growth over \d+ s \(\d+ walks\): committed \+[0-9.]+ (KiB|MiB|GiB)\/min[,;] /);
      assert.match(last, /; committed reaches the 64\.0 GiB budget in ~\d+ (min|h)$/);
    } finally {
      await child.kill();
    }
  });

  test('--json: each walk line carries the signal (valid against the schema), null until a second is spanned', async () => {
    const child = await startScript(LEAK);
    try {
      const r = await run([
        'inspect',
        String(child.pid),
        '--watch',
        '400ms',
        '--count',
        '6',
        '--json',
        '--budget',
        '64GiB',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => watchJsonSchema.parse(JSON.parse(l)));
      const first = lines[0]!;
      const last = lines[lines.length - 1]!;
      assert.ok(first.event === 'walk' && first.growth === null);
      assert.ok(last.event === 'walk' && last.growth, 'no signal on the last walk');
      assert.ok(last.growth.total.committed > 0);
      assert.equal(last.growth.projection?.limit.kind, 'budget');
      assert.equal(last.growth.projection?.limit.bytes, 64 * 1024 ** 3);
    } finally {
      await child.kill();
    }
  });

  test('--budget and --window need --watch, and a size or a span', async () => {
    for (const [argv, message] of [
      [['--budget', '1GiB'], '--budget needs --watch'],
      [['--watch', '1s', '--budget', 'lots'], '--budget: expected a size like 512MiB or 2GiB, got "lots"'],
      [['--window', '5m'], '--window needs --watch'],
      [['--watch', '1s', '--window', '10ms'], '--window: expected a span of at least 1s, e.g. 5m, got "10ms"'],
    ] as const) {
      const r = await run(['inspect', String(process.pid), ...argv]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n')[0], `hostmem inspect: ${message}`);
    }
  });
});
