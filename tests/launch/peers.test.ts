/**
 * hostmem launch against the tools its users know, on programs nobody here wrote:
 * - strace -f -k -e trace=memory: every mmap/munmap/mprotect/madvise/mremap the kernel saw that went through one of
 *   the agent's hooks (its frame is in the syscall's stack) is a call in the books, one for one; the rest are ld.so's
 *   own mappings, glibc's allocator reaching the kernel by internal symbols, and the agent's own pages (explained per
 *   program in the test's diagnostics).
 * - heaptrack (Debian's 1.4): the number of heap allocations and the peak heap agree within a stated tolerance, and
 *   the top call site by allocated bytes names the same function.
 * - libfiu's fiu-run: the same kind of fault (malloc failing at random, 2 %) makes sqlite3 fail the same way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { launchSkip, policy, program, run, type Ran } from './testing';

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const skip = launchSkip();
const SQL =
  'create table t(x); with recursive c(i) as (select 1 union all select i+1 from c where i < 20000) ' +
  'insert into t select randomblob(500) from c; select count(*), sum(length(x)) from t;';
const PYTHON = 'd = {str(i): [i] * 3 for i in range(50000)}; print(len(d))';

const VM_CALLS = ['mmap', 'munmap', 'mprotect', 'madvise', 'mremap'] as const;
/** The agent's hook functions: a syscall whose innermost agent frame is one of these went through a hook. */
const HOOKS = /libhostmem-agent\.so\((hooked_mmap|mmap|mmap64|munmap|mprotect|madvise|mremap)\+/;

interface StraceCount {
  readonly hooked: Record<string, number>;
  readonly rest: Record<string, number>;
}

/**
 * Count a strace -k log's memory syscalls, by whether their stack went through a hook. strace ran only the program,
 * so every line (every thread's tid) is the program's.
 */
function countStrace(log: string): StraceCount {
  const hooked: Record<string, number> = {};
  const rest: Record<string, number> = {};
  const lines = log.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\d+) +(\w+)\(/.exec(lines[i]!);
    if (!m || !(VM_CALLS as readonly string[]).includes(m[2]!)) continue;
    const call = m[2]!;
    const stack: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j]!.startsWith(' > '); j++) stack.push(lines[j]!);
    const agentFrame = stack.find((f) => f.includes('libhostmem-agent.so'));
    if (agentFrame !== undefined && HOOKS.test(agentFrame)) hooked[call] = (hooked[call] ?? 0) + 1;
    else {
      const why = agentFrame
        ? "the agent's own pages"
        : stack.some((f) => /ld-linux/.test(f)) && !stack.some((f) => /libc\.so/.test(f))
          ? 'ld.so'
          : stack.some((f) =>
                /libc\.so\.6\((malloc|_int_|sysmalloc|__libc_|free|realloc|calloc|new_heap|alloc_new_heap|tcache|arena)/.test(
                  f,
                ),
              )
            ? 'glibc malloc (internal symbols)'
            : stack.some((f) => /ld-linux/.test(f))
              ? 'ld.so (dlopen)'
              : 'other internal calls';
      rest[`${call} by ${why}`] = (rest[`${call} by ${why}`] ?? 0) + 1;
    }
  }
  return { hooked, rest };
}

/** What the books say reached the kernel: calls that were not refused by the policy. */
function booksReachedKernel(r: Ran): Record<string, number> {
  const out: Record<string, number> = {};
  for (const call of VM_CALLS) {
    const c = r.root.books.calls[call];
    if (c) out[call] = c.calls - c.refused;
  }
  return out;
}

async function underStrace(t: TestContext, name: string, command: string, args: readonly string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-strace-'));
  try {
    const log = join(dir, 'strace.log');
    const r = await run(command, args, policy(), {
      // strace runs the program; only the program gets the agent (strace -E), so strace's own calls are not in it.
      wrap: (env, spec) => ({
        program: 'strace',
        args: [
          '-f',
          '-k',
          '-qq',
          '-e',
          'trace=memory',
          '-o',
          log,
          ...Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]),
          spec.program,
          ...spec.args,
        ],
        ...(spec.env ? { env: spec.env } : {}),
      }),
    });
    assert.equal(r.result.status, 0, r.stderr);
    const counted = countStrace(readFileSync(log, 'utf8'));
    const books = booksReachedKernel(r);
    t.diagnostic(
      `${name}: hooked ${JSON.stringify(counted.hooked)}; books ${JSON.stringify(books)}; not hooked ${JSON.stringify(counted.rest)}`,
    );
    for (const call of VM_CALLS) assert.equal(books[call] ?? 0, counted.hooked[call] ?? 0, `${name}: ${call}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe(
  "against strace: the virtual-memory calls the kernel saw through the hooks are the books'",
  { skip: skip ?? (!has('strace') && 'strace is not installed (.ci/run installs it)') },
  () => {
    test('the known program', (t) => underStrace(t, 'calls', program('calls'), ['known']));
    test('python3', (t) => underStrace(t, 'python3', '/usr/bin/python3', ['-c', PYTHON]));
    test('sqlite3', { skip: !has('sqlite3') && 'sqlite3 is not installed (.ci/run installs it)' }, (t) =>
      underStrace(t, 'sqlite3', 'sqlite3', [':memory:', SQL]),
    );
    test('node (V8 reserves and commits through mmap and mprotect)', (t) =>
      underStrace(t, 'node', process.execPath, ['-e', 'console.log(new Array(100000).fill(1).length)']));
  },
);

interface HeaptrackFigures {
  readonly allocations: number;
  readonly peak: number;
  readonly topFunction: string | undefined;
}

/**
 * heaptrack's figures, from heaptrack_print's summary and its flame graph of the bytes each stack held at the peak
 * (heaptrack_print has no cost type for bytes allocated over the run; at the peak is its "peak memory consumers").
 */
function heaptrack(dir: string, command: string, args: readonly string[]): HeaptrackFigures {
  const out = join(dir, 'ht');
  const r = spawnSync('heaptrack', ['-o', out, command, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  assert.equal(r.status, 0, r.stderr);
  const file = `${out}.zst`;
  const folded = join(dir, 'folded.txt');
  const print = spawnSync(
    'heaptrack_print',
    ['-p', '0', '-a', '0', '-T', '0', '-F', folded, '--flamegraph-cost-type', 'peak', file],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(print.status, 0, print.stderr);
  const allocations = Number(/calls to allocation functions: (\d+)/.exec(print.stdout)?.[1]);
  const p = /peak heap memory consumption: ([\d.]+)([KMG]?)/.exec(print.stdout);
  assert.ok(p, print.stdout);
  // heaptrack_print writes sizes with SI prefixes (1.70M = 1,700,000 bytes).
  const peak = Number(p[1]) * ({ '': 1, K: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[p[2]!]!;
  const byLeaf = new Map<string, number>();
  for (const line of readFileSync(folded, 'utf8').split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line);
    if (!m) continue;
    // "main (calls.c);leak_here (calls.c); 1228800": innermost last, each with its file.
    const frames = m[1]!.split(';').filter((f) => f !== '');
    const leaf = (frames[frames.length - 1] ?? '').replace(/ \(.*\)$/, '');
    byLeaf.set(leaf, (byLeaf.get(leaf) ?? 0) + Number(m[2]));
  }
  const topFunction = [...byLeaf].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { allocations, peak, topFunction };
}

describe(
  'against heaptrack: heap allocations, peak heap and the top call site agree',
  { skip: skip ?? (!has('heaptrack') && 'heaptrack is not installed (.ci/run installs it)') },
  () => {
    const cases: [string, () => string, string[]][] = [
      ['python3', () => '/usr/bin/python3', ['-c', PYTHON]],
      ['sqlite3', () => 'sqlite3', [':memory:', SQL]],
      ['sort', () => 'sort', []],
      ['the known program', () => program('calls'), ['leak', '300']],
    ];
    for (const [name, command, args] of cases) {
      test(name, async (t) => {
        const dir = mkdtempSync(join(tmpdir(), 'hostmem-heaptrack-'));
        try {
          let realArgs = args;
          if (name === 'sort') {
            const input = join(dir, 'input.txt');
            writeFileSync(
              input,
              Array.from({ length: 100000 }, (_, i) => `${(i * 7919) % 100003} line ${i}`).join('\n'),
            );
            realArgs = [input];
          }
          const h = heaptrack(dir, command(), realArgs);
          const r = await run(command(), realArgs, policy({ sampleBytes: 0 }));
          assert.equal(r.result.status, 0, r.stderr);
          const books = r.root.books;
          // hostmem's own figure closest to heaptrack's "peak consumers": each stack's highest live bytes.
          const top = [...books.stackList()].sort((a, b) => b.peakLive - a.peakLive)[0];
          const ours = top ? r.root.callSite(top.id) : undefined;
          t.diagnostic(
            `${name}: allocations heaptrack ${h.allocations} / hostmem ${books.heapAllocations}; peak heap heaptrack ${h.peak} / hostmem ${books.peaks.heapRequested}; top by bytes at peak heaptrack ${h.topFunction} / hostmem ${ours}`,
          );
          // Tolerance: a few allocations made before the agent is ready (ld.so, libc's start-up) and heaptrack's own.
          const countGap = Math.abs(h.allocations - books.heapAllocations);
          assert.ok(countGap <= Math.max(5, h.allocations * 0.01), `allocations differ by ${countGap}`);
          // heaptrack prints the peak with 3 significant digits: 2 % covers that and the start-up allocations.
          const peakGap = Math.abs(h.peak - books.peaks.heapRequested) / h.peak;
          assert.ok(
            peakGap <= 0.02 || Math.abs(h.peak - books.peaks.heapRequested) < 100_000,
            `peak heap differs by ${(peakGap * 100).toFixed(1)} %`,
          );
          if (name === 'the known program') {
            assert.equal(h.topFunction, 'leak_here');
            assert.match(ours ?? '', /!leak_here\+/);
          } else if (h.topFunction && ours) {
            const fn = /!([^+ ]+)/.exec(ours)?.[1];
            t.diagnostic(`${name}: top function heaptrack ${h.topFunction}, hostmem ${fn}`);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  },
);

describe(
  "against libfiu: the same fault, the same failure, and hostmem's books show it by level",
  {
    skip:
      skip ?? ((!has('fiu-run') || !has('sqlite3')) && 'fiu-utils or sqlite3 is not installed (.ci/run installs them)'),
  },
  () => {
    test('sqlite3 with malloc failing at random (2 %)', async () => {
      const fiu = spawnSync(
        'fiu-run',
        ['-x', '-c', 'enable_random name=libc/mm/malloc,probability=0.02', 'sqlite3', ':memory:', SQL],
        {
          encoding: 'utf8',
        },
      );
      const r = await run('sqlite3', [':memory:', SQL], policy({ faults: [{ op: ['malloc'], probability: 0.02 }] }));
      assert.notEqual(fiu.status, 0);
      assert.notEqual(r.result.status, 0);
      assert.match(fiu.stderr, /out of memory/);
      assert.match(r.stderr, /out of memory/);
      const refused = r.root.books.calls.malloc?.refused ?? 0;
      assert.ok(refused >= 1);
      assert.equal(r.root.books.stats().failures.eTaskCritical, refused, 'the refusals, at their level');
      void existsSync;
    });
  },
);
