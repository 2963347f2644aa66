/**
 * A child process for inspector tests: it reserves 64 MiB and commits 8 MiB of it through hostmem's own backend,
 * commits 4 MiB more elsewhere without writing it, maps a file of known size and name, reports where; on a "commit"
 * line it commits 16 MiB more, on a "touch" line it writes the 4 MiB (resident grows, no region changes). Tests run it by
 * spawning their own compiled file with HOSTMEM_INSPECT_CHILD=1 and calling `runInspectChild()` in that mode.
 * (Mapping a file asks which OS this is, so it lives here in native/.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import koffi from 'koffi';
import { createOsMemory, PAGE, type ProcessRegion, type ProcessWalk } from './index';

export const MiB = 1024 * 1024;
export const RESERVED = 64 * MiB;
export const COMMITTED = 8 * MiB;
export const MORE = 16 * MiB;
/** Not a multiple of the page size: the mapping is the file rounded up to whole pages. */
export const FILE_BYTES = 3 * MiB + 1000;
/** Committed at start and left untouched; a "touch" line writes every page (resident grows, the region does not). */
export const TOUCHED = 4 * MiB;

export interface ChildReport {
  readonly base: number;
  /** The TOUCHED bytes committed but not written until "touch". */
  readonly touchBase: number;
  readonly fileBase: number;
  readonly filePath: string;
}

/** Map `path` read-only into this process; returns the view's address. */
function mapFile(path: string, size: number): number {
  if (process.platform === 'win32') {
    const k = koffi.load('kernel32.dll');
    const CreateFileW = k.func(
      'intptr_t __stdcall CreateFileW(const char16_t *name, uint32_t access, uint32_t share, uintptr_t sa, uint32_t disposition, uint32_t flags, intptr_t template)',
    ) as (...a: Array<string | number>) => number;
    const CreateFileMappingW = k.func(
      'intptr_t __stdcall CreateFileMappingW(intptr_t file, uintptr_t sa, uint32_t protect, uint32_t high, uint32_t low, uintptr_t name)',
    ) as (...a: number[]) => number;
    const MapViewOfFile = k.func(
      'uintptr_t __stdcall MapViewOfFile(intptr_t map, uint32_t access, uint32_t high, uint32_t low, uintptr_t size)',
    ) as (...a: number[]) => number;
    const file = CreateFileW(path, 0x80000000, 7, 0, 3, 0x80, 0);
    const map = CreateFileMappingW(file, 0, PAGE.READONLY, 0, 0, 0);
    return MapViewOfFile(map, 4, 0, 0, 0);
  }
  const libc = koffi.load('libc.so.6');
  const mmap = libc.func('intptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, intptr_t off)') as (
    ...a: number[]
  ) => number;
  const open = libc.func('int open(const char *path, int flags)') as (p: string, f: number) => number;
  const fd = open(path, 0);
  return mmap(0, size, 1 /* PROT_READ */, 1 /* MAP_SHARED */, fd, 0);
}

/** The child: reserve 64 MiB, commit 8 MiB of it, map a file; on "commit", 16 MiB more; then wait. */
export function runInspectChild(): void {
  const os = createOsMemory();
  const base = os.reserve(null, RESERVED, false);
  if (!base.ok) throw new Error(base.error.message);
  const c = os.commit(base.value, COMMITTED, PAGE.READWRITE);
  if (!c.ok) throw new Error(c.error.message);
  os.fill(base.value, COMMITTED, 0x5a);
  const dir = mkdtempSync(join(tmpdir(), 'hostmem-inspect-'));
  const filePath = join(dir, `hostmem-inspect-${process.pid}.bin`);
  writeFileSync(filePath, Buffer.alloc(FILE_BYTES, 1));
  const fileBase = mapFile(filePath, FILE_BYTES);
  const touch = os.reserve(null, TOUCHED, false);
  if (!touch.ok) throw new Error(touch.error.message);
  const t = os.commit(touch.value, TOUCHED, PAGE.READWRITE);
  if (!t.ok) throw new Error(t.error.message);
  const report: ChildReport = { base: base.value, touchBase: touch.value, fileBase, filePath };
  process.stdout.write(JSON.stringify(report) + '\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'commit') {
      const more = os.commit(base.value + COMMITTED, MORE, PAGE.READWRITE);
      if (!more.ok) throw new Error(more.error.message);
      os.fill(base.value + COMMITTED, MORE, 0xa5);
      process.stdout.write('committed\n');
    } else if (line === 'touch') {
      os.fill(touch.value, TOUCHED, 0x3c);
      process.stdout.write('touched\n');
    }
  });
  rl.on('close', () => process.exit(0));
}

export class InspectChild {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string) => void> = [];
  readonly process: ChildProcessWithoutNullStreams;

  /** `compiledTest`: the compiled test file that calls `runInspectChild()` when HOSTMEM_INSPECT_CHILD is 1. */
  constructor(compiledTest: string) {
    this.process = spawn(process.execPath, [compiledTest], {
      env: { ...process.env, HOSTMEM_INSPECT_CHILD: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.process.stdout }).on('line', (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.process.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  }

  get pid(): number {
    return this.process.pid ?? 0;
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(line: string): void {
    this.process.stdin.write(line + '\n');
  }

  async kill(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGKILL');
    await exited;
  }
}

/** True in the child process of an inspector test. */
export const isInspectChild = (): boolean => process.env.HOSTMEM_INSPECT_CHILD === '1';

/** A region written out by hand (private, committed read-write unless `over` says otherwise). */
export function fixtureRegion(base: number, size: number, over: Partial<ProcessRegion> = {}): ProcessRegion {
  const state = over.state ?? 'MEM_COMMIT';
  return {
    baseAddress: base,
    size,
    state,
    type: state === 'MEM_FREE' ? undefined : 'MEM_PRIVATE',
    protect: state === 'MEM_COMMIT' ? PAGE.READWRITE : state === 'MEM_FREE' ? PAGE.NOACCESS : 0,
    allocationBase: state === 'MEM_FREE' ? 0 : base,
    allocationProtect: PAGE.READWRITE,
    committed: state === 'MEM_COMMIT' ? size : 0,
    file: null,
    label: null,
    use: null,
    resident: state === 'MEM_FREE' ? null : 0,
    private: state === 'MEM_FREE' ? null : 0,
    pss: null,
    swap: null,
    ...over,
  };
}

/** A walk of pid 42 written out by hand. */
export function fixtureWalk(regions: ProcessRegion[], takenAt = 1000): ProcessWalk {
  return {
    pid: 42,
    name: 'x',
    backend: 'posix',
    pageSize: 4096,
    takenAt,
    durationMs: 1,
    addressLimit: 0x10000000,
    regions,
  };
}

/** A child process started for a test, once it printed its first line. */
export interface StartedChild {
  readonly process: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly first: string;
  /** The next line it prints. */
  next(): Promise<string>;
  /** A line to its stdin. */
  send(line: string): void;
  kill(): Promise<void>;
}

/** Run `script` (CommonJS, `node -e`, from the repository root so `koffi` resolves) and wait for its first line. */
export async function startScript(script: string, args: readonly string[] = []): Promise<StartedChild> {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const next = (): Promise<string> => {
    const line = lines.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => waiters.push(resolve));
  };
  const first = await new Promise<string>((resolve, reject) => {
    void next().then(resolve);
    child.once('exit', (code) => reject(new Error(`the child exited (${String(code)}) before it was ready: ${err}`)));
  });
  return {
    process: child,
    pid: child.pid ?? 0,
    first,
    next,
    send: (line) => child.stdin.write(line + '\n'),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A child that prints `ready`, and on a line `grow N` allocates N bytes the OS charges as committed on every OS (a
 * Node Buffer, written: private memory Linux accounts, a commit on Windows) and prints `grown`. It ends when its
 * stdin closes.
 */
export const GROW_SCRIPT = `
const keep = [];
require('node:readline').createInterface({ input: process.stdin })
  .on('line', (l) => { const m = /^grow (\\d+)$/.exec(l); if (m) { keep.push(Buffer.alloc(Number(m[1]), 1)); console.log('grown'); } })
  .on('close', () => process.exit(0));
console.log('ready');
`;

/**
 * A child (Linux) with `count` mappings of its own besides Node's: one anonymous mapping of `count` pages, every
 * other page made PROT_NONE, so each page is a mapping. It prints `ready`.
 */
export const MANY_MAPPINGS_SCRIPT = `
const koffi = require('koffi');
const libc = koffi.load('libc.so.6');
const mmap = libc.func('intptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, intptr_t off)');
const mprotect = libc.func('int mprotect(uintptr_t addr, size_t len, int prot)');
const n = Number(process.argv[1]);
const base = mmap(0, n * 4096, 3, 0x22, -1, 0);
for (let i = 0; i < n; i += 2) if (mprotect(base + i * 4096, 4096, 0) !== 0) throw new Error('mprotect failed');
console.log('ready');
setInterval(() => {}, 1000);
`;

/**
 * A child (Linux) running `argv[1]` worker threads, each of which reports its thread id and its stack as glibc
 * made it (pthread_getattr_np: the usable stack, guard excluded). It prints one JSON line:
 * `[{"tid":…,"addr":…,"size":…},…]`.
 */
export const THREAD_STACKS_SCRIPT = `
const { Worker } = require('node:worker_threads');
const worker = \`
const { parentPort } = require('node:worker_threads');
const koffi = require('koffi');
const libc = koffi.load('libc.so.6');
const self = libc.func('unsigned long pthread_self()');
const getattr = libc.func('int pthread_getattr_np(unsigned long th, _Out_ uint8_t *attr)');
const getstack = libc.func('int pthread_attr_getstack(const uint8_t *attr, _Out_ uintptr_t *addr, _Out_ size_t *size)');
const gettid = libc.func('int gettid()');
const attr = Buffer.alloc(128);
if (getattr(self(), attr) !== 0) throw new Error('pthread_getattr_np');
const addr = [0], size = [0];
getstack(attr, addr, size);
parentPort.postMessage({ tid: gettid(), addr: Number(addr[0]), size: Number(size[0]) });
setInterval(() => {}, 1000);
\`;
const n = Number(process.argv[1]);
const got = [];
for (let i = 0; i < n; i++)
  new Worker(worker, { eval: true }).once('message', (m) => {
    got.push(m);
    if (got.length === n) console.log(JSON.stringify(got));
  });
setInterval(() => {}, 1000);
`;

/**
 * A zombie (Linux): `sh` starts `sleep 0`, then becomes `sleep 30`, which never collects it. Resolves once the
 * kernel says `Z`; `kill()` ends the parent (and so the zombie).
 */
export async function startZombie(): Promise<{ pid: number; parentPid: number; kill(): void }> {
  const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = Number((await new Promise<Buffer>((resolve) => sh.stdout.once('data', resolve))).toString());
  for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z '); i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
  return { pid, parentPid: sh.pid ?? 0, kill: () => sh.kill('SIGKILL') };
}
