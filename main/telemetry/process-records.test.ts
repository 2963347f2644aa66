/**
 * The process record kinds through a real session file: a walk and its deltas rebuild the same walks; bad records
 * and out-of-order deltas are errors that say so; other kinds of lines are left alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PAGE } from '../../native';
import { fixtureRegion as region, fixtureWalk as walk } from '../../native/process-testing';
import { ProcessRecordWriter, ProcessWalkReader, processSessionHeader } from './process-records';
import { readSession, SessionWriter } from './session';

const KiB = 1024;
const MiB = 1024 * KiB;
const R = 0x1000000; // a 64 MiB reservation at 16 MiB

const before = walk([
  region(0, R, { state: 'MEM_FREE' }),
  region(R, 8 * MiB, { resident: 8 * MiB, private: 8 * MiB }),
  region(R + 8 * MiB, 56 * MiB, { state: 'MEM_RESERVE', allocationBase: R }),
  region(R + 64 * MiB, 1 * MiB, { type: 'MEM_MAPPED', file: '/data/f.bin', protect: PAGE.READONLY, resident: 4 * KiB }),
  region(R + 65 * MiB, 2 * MiB, { type: 'MEM_IMAGE', file: '/lib/x.so', protect: PAGE.EXECUTE_READ, resident: MiB }),
  region(R + 67 * MiB, 132 * KiB, { use: 'stack', label: '[stack]', resident: 8 * KiB, private: 8 * KiB }),
  region(R + 67 * MiB + 132 * KiB, 0x10000000 - (R + 67 * MiB + 132 * KiB), { state: 'MEM_FREE' }),
]);

test('records: a walk and its deltas written to a session file rebuild the same walks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-records-'));
  try {
    const file = join(dir, 's.jsonl');
    const second = walk(
      [before.regions[0]!, region(R, 64 * MiB, { resident: 64 * MiB }), ...before.regions.slice(3)],
      2000,
    );
    const third = walk(before.regions.slice(), 3000);
    const session = new SessionWriter(file, processSessionHeader('posix', 4096, 'test'));
    const records = new ProcessRecordWriter(session);
    for (const w of [before, second, third]) records.write(w);
    records.exit(42, 5000);
    await session.close();
    const read = await readSession(file);
    assert.equal(read.header.command, 'test');
    const reader = new ProcessWalkReader();
    const rebuilt = read.lines.map((l) => reader.accept(l)).filter((w) => w !== undefined);
    assert.deepEqual(rebuilt, [before, second, third]);
    assert.equal(reader.exitedAt(42), 5000);
    const badVersion = { type: 'process-walk', t: 1, v: 2 };
    // A delta that refers to no walk, and a record of a known kind that is not valid, are errors that say so.
    assert.throws(
      () => new ProcessWalkReader().accept(read.lines[1]!),
      /process-delta for pid 42 before its process-walk/,
    );
    assert.throws(() => new ProcessWalkReader().accept(badVersion), /bad process-walk record: v: /);
    // Lines of other kinds (an old session's) are not its business.
    assert.equal(new ProcessWalkReader().accept({ type: 'call', t: 1 }), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
