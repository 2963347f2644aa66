/**
 * The Symboliser on real files: a C program compiled here with `cc -g` as a PIE and as a non-PIE, stripped copies
 * whose symbols come back through build-id and through `.gnu_debuglink`, a C++ program (`c++ -g`), a shared library
 * stripped to its .dynsym, glibc's libc.so.6, and files that are not ELF64 at all. Expected addresses come from `nm`,
 * expected lines from the sources written here.
 *
 * Linux only (ELF files, cc, c++ and binutils): CI's Linux leg runs it, and fails it when those are missing; elsewhere
 * without them, and on Windows (Wine), it is skipped, saying so. The libc6-dbg case is skipped where that is absent.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatFrame, Symboliser, type LoadedModule } from './symbols';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const PIE_BIAS = 0x5555_5555_4000;
const LIB_BIAS = 0x7f12_3450_0000;

const tools = ['cc', 'c++', 'nm', 'objcopy', 'strip', 'readelf', 'addr2line', 'c++filt'];
const isCI = process.env['CI'] === 'true' || process.env['CI'] === '1';
const missing =
  process.platform === 'linux' ? tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) : [];
const skip =
  process.platform !== 'linux'
    ? `ELF symbolising is Linux's (this is ${process.platform}); it runs in the Linux node-tests leg`
    : missing.length > 0 && !isCI
      ? `needs ${missing.join(', ')} (the Linux CI image installs the compiler and binutils; under CI=true it fails)`
      : false;

const C_SOURCE = `#include <stdio.h>
#include <stdlib.h>

static int helper(int x) {
  return x * 3 + 1;
}

int twice(int x) {
  volatile int y = x;
  return y * 2;
}

int main(int argc, char **argv) {
  (void)argv;
  void *p = malloc(16);
  printf("%d %p\\n", helper(argc) + twice(argc), p);
  free(p);
  return 0;
}
`;

const CXX_SOURCE = `#include <cstdio>
namespace shapes {
struct Widget {
  int size;
  int grow(int by);
};

int Widget::grow(int by) {
  size += by;
  return size;
}

template <typename T> struct Box {
  T value;
  T get() const { return value; }
};
}  // namespace shapes

int main() {
  shapes::Widget w{1};
  shapes::Box<long> b{2};
  std::printf("%d %ld\\n", w.grow(2), b.get());
  return 0;
}
`;

const LIB_SOURCE = `int lib_entry(int x) {
  return x + 1;
}

__attribute__((noinline)) static int lib_hidden(int x) {
  return x * 7;
}

int lib_use(int x) {
  return lib_hidden(x) + lib_entry(x);
}

/* Aliases of one address: a global name, a shorter local one, a shorter global one with leading underscores. */
int lib_public(int x) {
  return x - 1;
}
static int lp(int x) __attribute__((alias("lib_public")));
int __lp(int x) __attribute__((alias("lib_public")));
int lib_use_alias(int x) {
  return lp(x);
}

/* glibc's pattern: a global implementation name and a weak public one. */
int __lib_strong(int x) {
  return x - 2;
}
int lib_weak_name(int x) __attribute__((weak, alias("__lib_strong")));

/* An unsized function symbol (an assembly label) inside a sized function. */
int lib_labelled(int x) {
  __asm__ volatile(".globl lib_label\\n.type lib_label, @function\\nlib_label:\\n");
  return x * 5 + 3;
}
`;

const lineOf = (source: string, text: string): number => {
  const i = source.split('\n').findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `${text} in the source`);
  return i + 1;
};

let dir = '';
const path = (name: string): string => join(dir, name);

/** `nm` of a file: symbol name (without @version) → address. */
function nm(file: string, dynamic = false): Map<string, number> {
  const out = execFileSync('nm', [...(dynamic ? ['-D'] : []), '--defined-only', file], { encoding: 'utf8' });
  const map = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [addr, , name] = line.trim().split(/\s+/);
    if (addr && name) map.set(name.replace(/@.*$/, ''), parseInt(addr, 16));
  }
  return map;
}

function addressOf(file: string, name: string, dynamic = false): number {
  const a = nm(file, dynamic).get(name);
  assert.ok(a !== undefined, `nm finds ${name} in ${file}`);
  return a;
}

const module = (p: string, loadBias: number, size = 0x100_0000): LoadedModule => ({
  path: p,
  loadBias,
  start: loadBias,
  end: loadBias + size,
});

const sh = (cmd: string, ...args: string[]): void => {
  execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
};

/** A section's address, as `readelf -S` prints it. */
function sectionAddress(file: string, name: string): number {
  const out = execFileSync('readelf', ['-SW', file], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes(` ${name} `));
  assert.ok(line, `${file} has ${name}`);
  const fields = line.replace(/^.*\]\s*/, '').split(/\s+/);
  return parseInt(fields[2]!, 16);
}

/** The build-id of an ELF file, as `readelf -n` prints it. */
function buildIdOf(file: string): string {
  const m = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', file], { encoding: 'utf8' }));
  assert.ok(m, `${file} has a build-id`);
  return m[1]!;
}

describe('Symboliser on real ELF files', { skip }, () => {
  before(() => {
    assert.deepEqual(missing, [], `CI must install ${missing.join(', ')} (g++ and binutils) for this test`);
    dir = mkdtempSync(join(tmpdir(), 'hostmem-symbols-'));
    writeFileSync(path('prog.c'), C_SOURCE);
    writeFileSync(path('widget.cpp'), CXX_SOURCE);
    writeFileSync(path('lib.c'), LIB_SOURCE);
    sh('cc', '-g', '-O0', '-fPIE', '-pie', '-Wl,--build-id', '-o', 'prog-pie', 'prog.c');
    sh('cc', '-g', '-O0', '-fno-pie', '-no-pie', '-o', 'prog-nopie', 'prog.c');
    // Stripped, its debug file found by build-id under a debug root of our own.
    const id = buildIdOf(path('prog-pie'));
    mkdirSync(path(`debugroot/.build-id/${id.slice(0, 2)}`), { recursive: true });
    sh('objcopy', '--only-keep-debug', 'prog-pie', `debugroot/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
    sh('strip', '--strip-all', '-o', 'prog-pie-stripped', 'prog-pie');
    // Stripped, no build-id, its debug file found by .gnu_debuglink in .debug/ beside it.
    sh('cc', '-g', '-O0', '-Wl,--build-id=none', '-o', 'prog-nb', 'prog.c');
    mkdirSync(path('.debug'));
    sh('objcopy', '--only-keep-debug', 'prog-nb', '.debug/prog-nb.debug');
    sh('objcopy', '--strip-all', '--add-gnu-debuglink=.debug/prog-nb.debug', 'prog-nb', 'prog-nb-stripped');
    sh('c++', '-g', '-O0', '-o', 'widget', 'widget.cpp');
    sh('cc', '-g', '-O0', '-shared', '-fPIC', '-o', 'libdemo.so.1', 'lib.c');
    sh('strip', '--strip-all', '-o', 'libdemo-stripped.so.1', 'libdemo.so.1');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('PIE: pc - loadBias is the ELF address; static and global functions, offsets, file:line', async () => {
    const exe = path('prog-pie');
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(exe, PIE_BIAS)]);
    const helper = PIE_BIAS + addressOf(exe, 'helper');
    const main = PIE_BIAS + addressOf(exe, 'main');
    assert.deepEqual(s.symbolise(helper + 4), {
      pc: helper + 4,
      module: 'prog-pie',
      path: exe,
      function: 'helper',
      offset: 4,
    });
    assert.equal(s.symbolise(main).function, 'main');
    assert.equal(s.symbolise(main).offset, 0);
    await s.resolveLines([helper, main]);
    const f = s.symbolise(helper);
    assert.equal(f.file, path('prog.c'));
    assert.equal(f.line, lineOf(C_SOURCE, 'static int helper('));
    assert.equal(s.symbolise(main).line, lineOf(C_SOURCE, 'int main('));
    assert.equal(formatFrame(s.symbolise(main)), `prog-pie!main+0x0 (prog.c:${lineOf(C_SOURCE, 'int main(')})`);
    assert.equal(s.symbolise(main + 1).file, undefined, 'a pc not resolved has no line');
    assert.deepEqual(s.problems(), []);
  });

  test('non-PIE (ET_EXEC): load bias 0, absolute addresses', async () => {
    const exe = path('prog-nopie');
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([{ path: exe, loadBias: 0, start: 0x40_0000, end: 0x80_0000 }]);
    const twice = addressOf(exe, 'twice');
    assert.ok(twice >= 0x40_0000 && twice < 0x80_0000, 'linked at its fixed address');
    const frame = s.symbolise(twice + 0x10);
    assert.equal(frame.function, 'twice');
    assert.equal(frame.offset, 0x10);
    await s.resolveLines([twice]);
    assert.equal(s.symbolise(twice).line, lineOf(C_SOURCE, 'int twice('));
  });

  test('stripped, debug file by build-id under a debug root: names, static ones too, and lines', async () => {
    const exe = path('prog-pie-stripped');
    const helper = PIE_BIAS + addressOf(path('prog-pie'), 'helper');
    const bare = new Symboliser({ debugRoots: [] });
    bare.setModules([module(exe, PIE_BIAS)]);
    assert.equal(bare.symbolise(helper).function, null, 'stripped and no debug file: no name');
    assert.equal(
      formatFrame(bare.symbolise(helper + 2)),
      `prog-pie-stripped!0x${(helper + 2 - PIE_BIAS).toString(16)}`,
    );

    const s = new Symboliser({ debugRoots: [path('debugroot')] });
    s.setModules([module(exe, PIE_BIAS)]);
    assert.equal(s.symbolise(helper + 3).function, 'helper');
    assert.equal(s.symbolise(helper + 3).offset, 3);
    await s.resolveLines([helper]);
    assert.equal(s.symbolise(helper).line, lineOf(C_SOURCE, 'static int helper('));
  });

  test('stripped, no build-id, debug file by .gnu_debuglink in .debug/ beside it', async () => {
    const exe = path('prog-nb-stripped');
    const twice = PIE_BIAS + addressOf(path('prog-nb'), 'twice');
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(exe, PIE_BIAS)]);
    assert.equal(s.symbolise(twice + 1).function, 'twice');
    await s.resolveLines([twice]);
    assert.equal(s.symbolise(twice).line, lineOf(C_SOURCE, 'int twice('));

    // A debug file whose CRC no longer matches is not used.
    copyFileSync(path('prog-nb-stripped'), path('other-stripped'));
    writeFileSync(path('.debug/prog-nb.debug'), Buffer.concat([Buffer.from('x'), Buffer.alloc(64)]), { flag: 'a' });
    const stale = new Symboliser({ debugRoots: [] });
    stale.setModules([module(path('other-stripped'), PIE_BIAS)]);
    assert.equal(stale.symbolise(twice + 1).function, null);
  });

  test('C++: demangled names (methods, templates) and file:line', async () => {
    const exe = path('widget');
    const grow = PIE_BIAS + addressOf(exe, '_ZN6shapes6Widget4growEi');
    const get = PIE_BIAS + addressOf(exe, '_ZNK6shapes3BoxIlE3getEv');
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(exe, PIE_BIAS)]);
    assert.equal(s.symbolise(grow + 8).function, 'shapes::Widget::grow(int)');
    assert.equal(s.symbolise(grow + 8).offset, 8);
    assert.equal(s.symbolise(get).function, 'shapes::Box<long>::get() const');
    await s.resolveLines([grow, get]);
    assert.equal(s.symbolise(grow).line, lineOf(CXX_SOURCE, 'int Widget::grow('));
    assert.equal(s.symbolise(get).line, lineOf(CXX_SOURCE, 'T get() const'));
    assert.equal(s.symbolise(grow).file, path('widget.cpp'));
  });

  test('a shared library stripped to .dynsym: a static function is named by the nearest preceding symbol', () => {
    const hidden = addressOf(path('libdemo.so.1'), 'lib_hidden');
    const entry = addressOf(path('libdemo.so.1'), 'lib_entry');
    assert.ok(entry < hidden, 'lib_entry precedes lib_hidden in .text');
    const full = new Symboliser({ debugRoots: [] });
    full.setModules([module(path('libdemo.so.1'), LIB_BIAS)]);
    assert.equal(full.symbolise(LIB_BIAS + hidden + 2).function, 'lib_hidden', 'the sized symbol containing it');

    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(path('libdemo-stripped.so.1'), LIB_BIAS)]);
    const frame = s.symbolise(LIB_BIAS + hidden + 2);
    assert.equal(frame.module, 'libdemo-stripped.so.1');
    assert.equal(frame.function, 'lib_entry');
    assert.equal(frame.offset, hidden + 2 - entry);
    assert.equal(formatFrame(frame), `libdemo-stripped.so.1!lib_entry+0x${(hidden + 2 - entry).toString(16)}`);
    assert.equal(s.symbolise(LIB_BIAS + 0x10).function, null, 'before .text (the ELF header): no function');
    const ehFrame = sectionAddress(path('libdemo-stripped.so.1'), '.eh_frame');
    assert.equal(s.symbolise(LIB_BIAS + ehFrame).function, null, 'after the code (.eh_frame): no function');
  });

  test('aliases of one address: global or weak before local, then fewest leading underscores, then shortest', () => {
    const lib = path('libdemo.so.1');
    const names = nm(lib);
    assert.equal(names.get('lp'), names.get('lib_public'));
    assert.equal(names.get('__lp'), names.get('lib_public'));
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(lib, LIB_BIAS)]);
    assert.equal(s.symbolise(LIB_BIAS + names.get('lib_public')! + 1).function, 'lib_public');
    assert.equal(names.get('lib_weak_name'), names.get('__lib_strong'));
    assert.equal(
      s.symbolise(LIB_BIAS + names.get('__lib_strong')! + 1).function,
      'lib_weak_name',
      'weak counts as global',
    );
  });

  test('a sized symbol containing the pc wins over a nearer unsized one (an assembly label inside it)', () => {
    const lib = path('libdemo.so.1');
    const outer = addressOf(lib, 'lib_labelled');
    const label = addressOf(lib, 'lib_label');
    assert.ok(label > outer, 'the label lies inside lib_labelled');
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(lib, LIB_BIAS)]);
    const frame = s.symbolise(LIB_BIAS + label + 1);
    assert.equal(frame.function, 'lib_labelled');
    assert.equal(frame.offset, label + 1 - outer);
  });

  test("libc.so.6's malloc, from .dynsym with no debug root", { skip: !existsSync(LIBC) && `no ${LIBC}` }, () => {
    const malloc = addressOf(LIBC, 'malloc', true);
    const s = new Symboliser({ debugRoots: [] });
    s.setModules([module(LIBC, 0, 0x100_0000)]);
    const frame = s.symbolise(malloc + 0x1c);
    assert.equal(frame.module, 'libc.so.6');
    assert.equal(frame.function, 'malloc', 'the global alias, not __libc_malloc');
    assert.equal(frame.offset, 0x1c);
    assert.equal(formatFrame(frame), 'libc.so.6!malloc+0x1c');
  });

  const libcDebug = (): string | null => {
    if (!existsSync(LIBC)) return null;
    const id = buildIdOf(LIBC);
    const p = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    return existsSync(p) ? p : null;
  };
  test(
    "libc.so.6 with Debian's libc6-dbg: internal functions and malloc.c lines",
    { skip: (skip || libcDebug() === null) && 'needs libc6-dbg (its build-id debug file under /usr/lib/debug)' },
    async () => {
      const debug = libcDebug()!;
      const intMalloc = addressOf(debug, '_int_malloc');
      const malloc = addressOf(LIBC, 'malloc', true);
      const s = new Symboliser();
      s.setModules([module(LIBC, 0, 0x100_0000)]);
      assert.equal(s.symbolise(intMalloc + 0x20).function, '_int_malloc');
      assert.equal(s.symbolise(malloc).function, 'malloc');
      await s.resolveLines([intMalloc, malloc]);
      assert.match(s.symbolise(intMalloc).file ?? '', /malloc\.c$/);
      assert.ok((s.symbolise(intMalloc).line ?? 0) > 0);
    },
  );

  test('modules it cannot read give module and offset, never a throw, and say why', () => {
    writeFileSync(path('notes.txt'), 'not an ELF file at all\n');
    const elf32 = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]).copy(elf32);
    writeFileSync(path('lib32.so'), elf32);
    const big = Buffer.alloc(64);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]).copy(big);
    writeFileSync(path('libbig.so'), big);
    const head = Buffer.alloc(256);
    execFileSync('head', ['-c', '256', path('prog-pie')]).copy(head);
    writeFileSync(path('truncated'), head);
    writeFileSync(path('empty'), '');
    const cases: [string, RegExp][] = [
      [path('gone.so'), /no such file/],
      [path('notes.txt'), /not an ELF file/],
      [path('lib32.so'), /32-bit ELF/],
      [path('libbig.so'), /big-endian/],
      [path('truncated'), /truncated/],
      [path('empty'), /not an ELF file/],
      [path('.debug'), /not a regular file/],
      ['linux-vdso.so.1', /no such file/],
    ];
    const mods = cases.map(([p], i) => module(p, 0x1000_0000 * (i + 1), 0x1000_0000));
    const s = new Symboliser();
    s.setModules(mods);
    cases.forEach(([p], i) => {
      const frame = s.symbolise(mods[i]!.loadBias + 0x1234);
      assert.equal(frame.function, null, p);
      assert.equal(frame.path, p);
      assert.equal(frame.offset, 0x1234);
    });
    assert.equal(formatFrame(s.symbolise(mods[2]!.loadBias + 0x40)), 'lib32.so!0x40');
    const problems = s.problems();
    for (const [p, why] of cases) {
      assert.ok(
        problems.some((line) => line.startsWith(`${p}: `) && why.test(line)),
        `${p} is reported: ${problems.join(' | ')}`,
      );
    }
  });

  test(
    'a module unreadable for its permissions gives module and offset',
    {
      skip:
        process.getuid?.() === 0 &&
        'root reads any file (it runs where the tests run as a normal user, as on a developer machine)',
    },
    () => {
      copyFileSync(path('prog-pie'), path('secret'));
      chmodSync(path('secret'), 0o000);
      const s = new Symboliser();
      s.setModules([module(path('secret'), PIE_BIAS)]);
      assert.equal(s.symbolise(PIE_BIAS + 0x1139).function, null);
      assert.match(s.problems().join('\n'), /permission denied/);
    },
  );

  test('unknown pcs; setModules replaces the set (a module appears, another goes)', () => {
    const exe = path('prog-pie');
    const lib = path('libdemo.so.1');
    const main = addressOf(exe, 'main');
    const entry = addressOf(lib, 'lib_entry');
    const s = new Symboliser({ debugRoots: [] });
    assert.deepEqual(s.symbolise(0x7f00_dead_beef), {
      pc: 0x7f00_dead_beef,
      module: null,
      path: null,
      function: null,
      offset: 0x7f00_dead_beef,
    });
    assert.equal(formatFrame(s.symbolise(0x7f00_dead_beef)), '?!0x7f00deadbeef');
    s.setModules([module(exe, PIE_BIAS)]);
    assert.equal(s.symbolise(PIE_BIAS + main).function, 'main');
    assert.equal(s.symbolise(LIB_BIAS + entry).module, null);
    s.setModules([module(lib, LIB_BIAS)]);
    assert.equal(s.symbolise(PIE_BIAS + main).module, null, 'the program is gone from the set');
    assert.equal(s.symbolise(LIB_BIAS + entry).function, 'lib_entry');
    // The same library loaded elsewhere after a dlclose/dlopen: the new bias counts.
    s.setModules([module(lib, LIB_BIAS + 0x100_0000)]);
    assert.equal(s.symbolise(LIB_BIAS + 0x100_0000 + entry + 1).function, 'lib_entry');
    assert.equal(s.symbolise(LIB_BIAS + 0x100_0000 + entry + 1).offset, 1);
  });

  test('without c++filt and addr2line on PATH: mangled names, no lines, no throw, and the reasons', async () => {
    const exe = path('widget');
    const grow = PIE_BIAS + addressOf(exe, '_ZN6shapes6Widget4growEi');
    const saved = process.env['PATH'];
    process.env['PATH'] = path('no-tools-here');
    try {
      const s = new Symboliser({ debugRoots: [] });
      s.setModules([module(exe, PIE_BIAS)]);
      assert.equal(s.symbolise(grow).function, '_ZN6shapes6Widget4growEi');
      await s.resolveLines([grow]);
      assert.equal(s.symbolise(grow).line, undefined);
      const problems = s.problems().join('\n');
      assert.match(problems, /c\+\+filt could not run .*C\+\+ names stay mangled/);
      assert.match(problems, /addr2line -e .*widget failed \(spawn addr2line ENOENT\)/);
    } finally {
      process.env['PATH'] = saved;
    }
  });

  test('lineInfo: false resolves no lines', async () => {
    const exe = path('prog-pie');
    const main = PIE_BIAS + addressOf(exe, 'main');
    const s = new Symboliser({ lineInfo: false });
    s.setModules([module(exe, PIE_BIAS)]);
    await s.resolveLines([main]);
    assert.equal(s.symbolise(main).function, 'main');
    assert.equal(s.symbolise(main).file, undefined);
  });
});

test('formatFrame', () => {
  const base = { pc: 0x7f00_0000_1000, path: '/usr/lib/libfoo.so.1' };
  assert.equal(formatFrame({ ...base, module: 'libfoo.so.1', function: 'bar', offset: 0x1c }), 'libfoo.so.1!bar+0x1c');
  assert.equal(
    formatFrame({ ...base, module: 'prog', function: 'main', offset: 0x40, file: '/src/prog.c', line: 12 }),
    'prog!main+0x40 (prog.c:12)',
  );
  assert.equal(formatFrame({ ...base, module: 'libfoo.so.1', function: null, offset: 0x1c40 }), 'libfoo.so.1!0x1c40');
  assert.equal(
    formatFrame({ pc: 0x7f00_0000_1000, module: null, path: null, function: null, offset: 0x7f00_0000_1000 }),
    '?!0x7f0000001000',
  );
});
