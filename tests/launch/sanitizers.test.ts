/**
 * The agent's core (native/agent/common: the lock-free ring and the policy's charge) under ThreadSanitizer and
 * AddressSanitizer + UndefinedBehaviorSanitizer: tests/launch/programs/ring-stress.c runs 8 writers against one reader
 * on a small ring (every writer's events must arrive once, in order, with their stacks whole) and 8 threads charging
 * under a commit limit (never past it). The whole agent is not run under a sanitizer inside another program: a
 * sanitizer's runtime must be the first object loaded, which an LD_PRELOAD agent cannot arrange for the program; the
 * hooks are checked by the real programs in launch.test.ts instead.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const skip =
  process.platform !== 'linux'
    ? 'the sanitizers run on Linux (gcc with libtsan/libasan)'
    : spawnSync('cc', ['--version']).status !== 0 && 'no C compiler (cc): .ci/run installs gcc';

for (const sanitizer of ['thread', 'address,undefined']) {
  test(
    `the ring and the charge under -fsanitize=${sanitizer}: nothing lost, repeated, torn or overshot, no report`,
    { skip },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'hostmem-san-'));
      try {
        const exe = join(dir, 'ring-stress');
        const root = process.cwd();
        const built = spawnSync(
          'cc',
          [
            '-O1',
            '-g',
            `-fsanitize=${sanitizer}`,
            '-fno-sanitize-recover=all',
            '-pthread',
            '-Wall',
            '-Wextra',
            '-Werror',
            '-o',
            exe,
            join(root, 'tests/launch/programs/ring-stress.c'),
            join(root, 'native/agent/common/core.c'),
          ],
          { encoding: 'utf8' },
        );
        assert.equal(built.status, 0, built.stderr);
        // setarch -R: ThreadSanitizer needs the classic address-space layout on kernels with high mmap randomisation.
        const r = spawnSync('setarch', ['-R', exe, '2'], { encoding: 'utf8', timeout: 120_000 });
        assert.equal(
          r.stderr.includes('WARNING: ThreadSanitizer') ||
            r.stderr.includes('ERROR: AddressSanitizer') ||
            r.stderr.includes('runtime error'),
          false,
          r.stderr,
        );
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const m = /events (\d+) lost 0 repeated 0 torn 0 overshoot 0/.exec(r.stdout);
        assert.ok(m && Number(m[1]) > 1000, r.stdout);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
