/**
 * PE export-table symbols, read from a real PE32+ image: tests/launch/programs/wincalls.exe as build-node compiles
 * it with mingw-w64 (every function exported). Runs on Linux (the image read as a file) and under Wine / Windows.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hostPathOf, moduleName, PeSymboliser, readPeExports } from './pe-symbols';

const WINCALLS = join(process.cwd(), 'out', 'tests', 'launch', 'programs', 'wincalls.exe');
const skip = existsSync(WINCALLS) ? undefined : 'wincalls.exe was not built (no mingw-w64 when build-node ran)';

describe('PE export symbols', () => {
  test('Wine drive Z: paths are read from the Unix path they stand for; module names from either separator', () => {
    assert.equal(moduleName('C:\\windows\\system32\\kernel32.dll'), 'kernel32.dll');
    assert.equal(moduleName('/tmp/a/b.exe'), 'b.exe');
    if (process.platform !== 'win32') {
      assert.equal(hostPathOf('Z:\\work\\out\\wincalls.exe'), '/work/out/wincalls.exe');
      assert.equal(hostPathOf('C:\\windows\\system32\\kernel32.dll'), 'C:\\windows\\system32\\kernel32.dll');
    }
  });

  test('a program exporting its functions: each named with its bounds from .pdata', { skip }, () => {
    const { exports } = readPeExports(WINCALLS);
    const names = exports.map((e) => e.name);
    for (const name of ['known_calls', 'vfaults', 'hfaults', 'bench', 'main']) assert.ok(names.includes(name), name);
    assert.ok(!names.includes('out'), 'a static function is not exported');
    for (const e of exports) assert.ok(e.end > e.start, `${e.name}: [${e.start}, ${e.end})`);
    const sorted = exports.map((e) => e.start);
    assert.deepEqual(
      sorted,
      [...sorted].sort((a, b) => a - b),
    );
  });

  test(
    'pcs inside an exported function are named module!function+offset; others keep the module and RVA',
    { skip },
    () => {
      const known = readPeExports(WINCALLS).exports.find((e) => e.name === 'known_calls')!;
      const base = 0x140000000;
      const s = new PeSymboliser();
      s.setModules([{ path: WINCALLS, loadBias: base, start: base, end: base + 0x100000 }]);
      assert.deepEqual(
        {
          module: s.symbolise(base + known.start + 5).module,
          function: s.symbolise(base + known.start + 5).function,
          offset: s.symbolise(base + known.start + 5).offset,
        },
        { module: 'wincalls.exe', function: 'known_calls', offset: 5 },
      );
      assert.notEqual(s.symbolise(base + known.end).function, 'known_calls', 'past its end is not known_calls');
      assert.equal(s.symbolise(base + 0x10).function, null, 'the headers are no function');
      assert.equal(s.symbolise(base + 0x10).offset, 0x10);
      assert.equal(s.symbolise(0x1000).module, null, 'outside every module');
      assert.deepEqual(s.functionRanges('known_calls'), [[base + known.start, base + known.end]]);
    },
  );

  test('an unreadable module keeps module!rva and says why once', () => {
    const s = new PeSymboliser();
    s.setModules([{ path: join(process.cwd(), 'package.json'), loadBias: 0x10000, start: 0x10000, end: 0x20000 }]);
    const f = s.symbolise(0x10040);
    assert.equal(f.function, null);
    assert.equal(f.offset, 0x40);
    s.symbolise(0x10080);
    assert.equal(s.problems().length, 1);
    assert.match(s.problems()[0]!, /not a PE image/);
  });
});
