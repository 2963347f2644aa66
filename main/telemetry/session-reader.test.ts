/** The one session reader's rule, case by case, on small files written here (real files, read back). */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_POLICY } from '../host';
import { SessionFormatError, sessionHeader } from './session';
import { damageSummary, readSessionFile, MAX_LISTED } from './session-reader';

const dir = mkdtempSync(join(tmpdir(), 'hostmem-reader-'));
const HEADER = JSON.stringify(sessionHeader('posix', 4096, DEFAULT_POLICY, 'session-reader.test'));
const CALL = (t: number, id: string): string =>
  `{"type":"call","t":${t},"request":{"op":"VirtualQuery","id":"${id}","address":"0x10000"},"result":{"hr":"0x00000000","hrName":"S_OK"}}`;
let n = 0;
function file(lines: readonly string[], end = '\n'): string {
  const path = join(dir, `s${++n}.session`);
  writeFileSync(path, lines.join('\n') + end);
  return path;
}

test('unknown record kinds are passed over and counted by kind, not damage', async () => {
  const path = file([HEADER, CALL(1, 'r1'), '{"type":"watch","t":2,"pid":7}', '{"type":"watch","t":3}', CALL(4, 'r2')]);
  const s = await readSessionFile(path);
  assert.equal(s.entries.length, 2);
  assert.deepEqual(s.integrity.unknownKinds, { watch: { count: 2, firstLine: 3 } });
  assert.equal(s.integrity.damaged, 0);
  assert.equal(damageSummary(s.integrity), undefined);
});

test('damage: skipped, counted, listed with what is wrong; records around it are read', async () => {
  const lines = [
    HEADER,
    CALL(1, 'r1'),
    '[1,2]',
    '{"type":7,"t":1}',
    '{"type":"watch"}',
    '{"type":"sample","t":5,"reserved":"12"}',
    '{"type":"call","t":1e300,"request":{"op":"Reset","id":"r3"},"result":{"hr":"0x00000000","hrName":"S_OK"}}',
    CALL(6, 'r4'),
  ];
  const s = await readSessionFile(file(lines));
  assert.deepEqual(
    s.entries.map((e) => e.line),
    [2, 8],
  );
  assert.equal(s.integrity.damaged, 5);
  assert.deepEqual(
    s.integrity.damage.map((d) => d.line),
    [3, 4, 5, 6, 7],
  );
  assert.match(s.integrity.damage[0]!.message, /not a record/);
  assert.match(s.integrity.damage[2]!.message, /"t" is missing/);
  assert.match(s.integrity.damage[3]!.message, /^sample record: reserved: /);
  assert.match(s.integrity.damage[4]!.message, /^call record: t: /);
  assert.equal(damageSummary(s.integrity), '5 damaged lines skipped (lines 3, 4, 5, 6, 7)');
});

test('only a last line without a newline is torn; the same line with one is damage', async () => {
  const cut = CALL(2, 'r2').slice(0, 40);
  const torn = await readSessionFile(file([HEADER, CALL(1, 'r1'), cut], ''));
  assert.equal(torn.integrity.torn, true);
  assert.equal(torn.integrity.damaged, 0);
  const damaged = await readSessionFile(file([HEADER, CALL(1, 'r1'), cut]));
  assert.equal(damaged.integrity.torn, false);
  assert.equal(damaged.integrity.damaged, 1);
  const whole = await readSessionFile(file([HEADER, CALL(1, 'r1')], ''));
  assert.equal(whole.entries.length, 1, 'a whole last record without a newline is read');
});

test('an over-long line is damage and is not held; at most MAX_LISTED are listed, all counted', async () => {
  const long = `{"type":"note","t":1,"note":"${'x'.repeat(5000)}"}`;
  const lines = [HEADER, ...Array.from({ length: MAX_LISTED + 5 }, () => long), CALL(1, 'r1')];
  const s = await readSessionFile(file(lines), { maxLineBytes: 1000 });
  assert.equal(s.integrity.damaged, MAX_LISTED + 5);
  assert.equal(s.integrity.damage.length, MAX_LISTED);
  assert.match(s.integrity.damage[0]!.message, /5\d\d\d bytes long, more than the maximum line length/);
  assert.equal(s.entries.length, 1);
  assert.match(damageSummary(s.integrity)!, /, …\)$/);
});

test('the header: missing, not JSON, another format, a bad policy are not a session (FILE:1)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [[CALL(1, 'r1')], /:1: not a hostmem\.session\/1 header: format: /],
    [['not json'], /:1: not a hostmem\.session\/1 header: not JSON/],
    [[HEADER.replace('"pageSize":4096', '"pageSize":"4096"')], /:1: .*pageSize/],
    [[HEADER.replace('"seed":', '"seed":"x","x":')], /:1: .*policy/],
  ];
  for (const [lines, message] of cases) {
    await assert.rejects(
      readSessionFile(file(lines)),
      (e: unknown) => e instanceof SessionFormatError && message.test(e.message),
    );
  }
  writeFileSync(join(dir, 'empty.session'), '');
  await assert.rejects(readSessionFile(join(dir, 'empty.session')), /empty file, not a session/);
});
