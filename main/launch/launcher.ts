/**
 * `hostmem launch`'s engine: starts a program with the agent preloaded, serves the agent's channel (one connection
 * per traced process: the program, and its forked or exec'd children when followed), and keeps each traced process's
 * books. What happens is told to a listener (sessions, the CLI's summary, later the dashboard); nothing here knows
 * them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';
import { LaunchBooks } from './books';
import { hostView, toWire, type CallSiteIndex, type LaunchPolicy } from './policy';
import { HELLO_FORKED, MSG, OS, PROTOCOL_VERSION } from './protocol';
import { PeSymboliser } from './pe-symbols';
import { formatFrame, Symboliser, type LoadedModule } from './symbols';
import {
  agentPipeName,
  resolveWindowsProgram,
  spawnWindows,
  WINDOWS_AGENT_FILE,
  type InjectedProcess,
  type StdioFiles,
} from './windows';
import {
  EventColumns,
  EventDecoder,
  FrameReader,
  frame,
  parseCounters,
  parseHello,
  parseModules,
  policyFrame,
  welcomeFrame,
  type AgentCounters,
  type AgentModule,
  type Hello,
} from './wire';

export const AGENT_FILE = 'libhostmem-agent.so';
/** Written by the build beside the agent: whether it was built, and why not. */
export const AGENT_STATUS_FILE = 'agent-build.json';

/** Why hostmem could not launch the program (the CLI exits 125 with `message`). */
export class LaunchError extends Error {
  constructor(
    readonly code: 'not-found' | 'not-executable' | 'static' | 'setuid' | 'no-agent' | 'spawn' | 'unsupported',
    message: string,
  ) {
    super(message);
  }
}

export interface LaunchSpec {
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A traced process: one connection of the agent. */
export class TracedProcess {
  readonly books: LaunchBooks;
  readonly decoder = new EventDecoder();
  readonly columns = new EventColumns();
  stacks = new Int32Array(1024);
  /** ms since the epoch of an agent time (ns on its monotonic clock). */
  readonly toMs: (ns: number) => number;
  readonly symbols: Symboliser;
  modules: readonly AgentModule[] = [];
  counters: AgentCounters | undefined;
  /** The agent said goodbye (a normal exit); else the connection just closed (killed, or exec). */
  said = false;
  ended = false;
  /** Which image of its pid this is: 0, then 1 after an exec, … */
  image = 0;
  /** Stacks already told to the listener (ids ≤ this). */
  toldStacks = 0;
  readonly startedAt: number;
  protocolErrors: string[] = [];

  constructor(
    readonly hello: Hello,
    readonly parent: TracedProcess | undefined,
    policy: LaunchPolicy,
    symbols: Symboliser,
  ) {
    this.symbols = symbols;
    this.startedAt = hello.realtimeNs / 1e6;
    const offset = hello.realtimeNs - hello.monotonicNs;
    this.toMs = (ns) => (ns + offset) / 1e6;
    const callSite = (stack: number): string | undefined => this.callSite(stack);
    this.books = parent
      ? parent.books.cloneFor(hello.pid)
      : new LaunchBooks({
          pid: hello.pid,
          pageSize: hello.pageSize,
          backend: hello.os === OS.WINDOWS ? 'win32' : 'posix',
          policy: hostView(policy),
          sampleBytes: policy.sampleBytes,
          callSite,
        });
    if (parent) this.books.setCallSite(callSite);
    if (parent) this.books.setPolicy(hostView(policy));
  }

  get pid(): number {
    return this.hello.pid;
  }

  /**
   * The innermost frame of a stack that is the program's, not the allocator's (`module!function+0x…`). Frames are
   * return addresses: each is looked up one byte before, inside the call instruction (as heaptrack and perf do).
   */
  callSite(stack: number): string | undefined {
    const s = this.books.stack(stack);
    if (!s) return undefined;
    for (const pc of s.frames) {
      const f = this.symbols.symbolise(pc - 1);
      if (f.module === AGENT_FILE || (f.function !== null && ALLOCATOR_FRAME.test(f.function))) continue;
      return formatFrame(f);
    }
    return s.frames.length > 0 ? formatFrame(this.symbols.symbolise(s.frames[0]! - 1)) : undefined;
  }

  frames(stack: number): string[] {
    return (this.books.stack(stack)?.frames ?? []).map((pc) => formatFrame(this.symbols.symbolise(pc - 1)));
  }

  /** Find file:line for these stacks' frames (one addr2line per module), so that their names carry it. */
  async resolveLines(stacks: readonly number[]): Promise<void> {
    const pcs = stacks.flatMap((id) => (this.books.stack(id)?.frames ?? []).map((pc) => pc - 1));
    await this.symbols.resolveLines(pcs);
  }
}

/** Frames that are the allocator's own (C++ operator new, glibc's wrappers), skipped when naming a call site. */
const ALLOCATOR_FRAME =
  /^(operator new|operator delete|__libc_|_int_malloc|__GI___libc|g_malloc|g_realloc|PyMem_RawMalloc$|_PyMem_RawMalloc$)/;

export interface LaunchListener {
  processStarted?(p: TracedProcess): void;
  modules?(p: TracedProcess, modules: readonly AgentModule[]): void;
  /**
   * A batch of `n` events (columns reused for the next batch: read them now), with each event's stack id; stacks first
   * seen in it are > `p.toldStacks` before the call.
   */
  events?(p: TracedProcess, events: EventColumns, n: number, stacks: Int32Array): void;
  counters?(p: TracedProcess, counters: AgentCounters): void;
  processEnded?(p: TracedProcess): void;
  /** The policy changed (given to every traced process). */
  policy?(policy: LaunchPolicy): void;
}

export interface LaunchOptions {
  readonly policy: LaunchPolicy;
  /** The agent's path; default: the one the build made (`findAgent`). */
  readonly agentPath?: string;
  /** The program's stdio; default inherit (its terminal is its own). */
  readonly stdio?: 'inherit' | 'pipe' | 'ignore';
  /**
   * Run the program under another command that passes the agent's environment on (tests: `strace -E …`): given the
   * environment the program needs, answers the command to spawn. The agent is then not in the wrapper's environment.
   */
  readonly wrap?: (agentEnv: Readonly<Record<string, string>>, spec: LaunchSpec) => LaunchSpec;
  readonly listener?: LaunchListener;
  /** How long to wait, after the program exits, for traced processes it left behind to end (ms). Default 2000. */
  readonly lingerMs?: number;
  /** Windows: files for the program's stdin/stdout/stderr (each one not given is hostmem's own). */
  readonly stdioFiles?: StdioFiles;
}

export interface LaunchResult {
  /** The program's exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The status to exit with: the code, or 128 + the signal's number. */
  readonly status: number;
  readonly processes: readonly TracedProcess[];
}

/** The status a shell gives a process that ended this way. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}

// ------------------------------------------------------------------------------------------- finding things

/** The agent the build made, or a LaunchError that says why there is none. */
export function findAgent(): string {
  const fromEnv = process.env.HOSTMEM_AGENT;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new LaunchError('no-agent', `HOSTMEM_AGENT=${fromEnv}: no such file`);
    return fromEnv;
  }
  if (process.platform !== 'linux' && process.platform !== 'win32') {
    throw new LaunchError(
      'unsupported',
      `hostmem launch has no agent for ${process.platform} (Linux and Windows only)`,
    );
  }
  const agentFile = process.platform === 'win32' ? WINDOWS_AGENT_FILE : AGENT_FILE;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'agent'), join(dir, 'out', 'agent')]) {
      const file = join(candidate, agentFile);
      if (existsSync(file)) return file;
      const status = join(candidate, AGENT_STATUS_FILE);
      if (existsSync(status)) {
        let why = 'the agent was not built';
        try {
          const s = JSON.parse(readFileSync(status, 'utf8')) as { reason?: unknown; windows?: { reason?: unknown } };
          const reason = process.platform === 'win32' ? s.windows?.reason : s.reason;
          if (typeof reason === 'string') why = reason;
        } catch {
          // keep the general reason
        }
        throw new LaunchError('no-agent', `cannot launch: ${why}`);
      }
    }
    dir = dirname(dir);
  }
  throw new LaunchError('no-agent', 'cannot launch: the agent is not built (run `npm run build:node`; it needs cc)');
}

/** The program's file, found as a shell would (a name without a slash is looked up in PATH). */
export function resolveProgram(
  program: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string {
  if (program === '') throw new LaunchError('not-found', 'no program given');
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(cwd, program)]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((d) => join(d || '.', program));
  for (const c of candidates) {
    try {
      const s = statSync(c);
      if (s.isFile()) {
        if ((s.mode & 0o111) === 0) throw new LaunchError('not-executable', `${c}: not executable`);
        return c;
      }
    } catch (e) {
      if (e instanceof LaunchError) throw e;
    }
  }
  throw new LaunchError('not-found', `${program}: no such program${program.includes('/') ? '' : ' in PATH'}`);
}

function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(bytes);
    const n = readSync(fd, b, 0, bytes, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuse what the agent cannot enter, with the reason: a static binary (no dynamic loader to preload with), a
 * set-user-ID or set-group-ID program run by another user (the loader ignores LD_PRELOAD for it), or a script whose
 * interpreter is one of those.
 */
export function checkProgram(path: string, depth = 0): void {
  const head = readHead(path, 4096);
  if (head.subarray(0, 2).toString('latin1') === '#!') {
    const line = head
      .subarray(2, Math.max(2, head.indexOf(10)))
      .toString('utf8')
      .trim();
    const interpreter = line.split(/\s+/)[0] ?? '';
    if (interpreter === '' || depth > 2)
      throw new LaunchError('not-executable', `${path}: a script without an interpreter`);
    checkProgram(interpreter, depth + 1);
    return;
  }
  const s = statSync(path);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (((s.mode & 0o4000) !== 0 && s.uid !== uid) || ((s.mode & 0o2000) !== 0 && s.gid !== gid)) {
    throw new LaunchError(
      'setuid',
      `${path} is set-user-ID or set-group-ID: the dynamic loader ignores LD_PRELOAD for it, so it cannot be traced`,
    );
  }
  if (head.length < 64 || head.readUInt32BE(0) !== 0x7f454c46) return; // not ELF: the kernel will say what it is
  if (head[4] !== 2 || head[5] !== 1) return; // only 64-bit little-endian programs are looked into
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  const phnum = head.readUInt16LE(0x38);
  const table = phoff + phentsize * phnum <= head.length ? head : readHead(path, phoff + phentsize * phnum);
  for (let i = 0; i < phnum; i++) {
    if (table.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return;
  }
  throw new LaunchError(
    'static',
    `${path} is statically linked: there is no dynamic loader to preload the agent with, so its calls cannot be seen`,
  );
}

// ------------------------------------------------------------------------------------------- the launch

/** Call-site conditions against one process's modules and symbols. */
function sitesOf(p: TracedProcess | undefined): CallSiteIndex {
  return {
    moduleRanges(name) {
      if (!p) return [];
      return p.modules
        .filter((m) => m.path === name || basename(m.path) === name)
        .map((m) => [m.start, m.end] as const);
    },
    functionRanges(name) {
      if (!p) return [];
      return p.symbols.functionRanges(name);
    },
  };
}

export class Launch {
  readonly processes: TracedProcess[] = [];
  private readonly live = new Map<Socket, TracedProcess>();
  private readonly server: Server;
  private readonly dir: string;
  private child: ChildProcess | undefined;
  private policy: LaunchPolicy;
  private readonly listener: LaunchListener;
  private readonly result: Promise<LaunchResult>;
  private settle!: (r: LaunchResult) => void;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private rootPid = 0;
  /** Pids that had a traced connection: an exec of one of them is followed like the process itself. */
  private readonly tracedPids = new Set<number>();

  private constructor(
    private readonly spec: LaunchSpec,
    private readonly options: LaunchOptions,
    private readonly agentPath: string,
  ) {
    this.policy = options.policy;
    this.listener = options.listener ?? {};
    this.dir = mkdtempSync(join(tmpdir(), 'hostmem-launch-'));
    this.server = createServer((socket) => this.accept(socket));
    this.result = new Promise((resolveResult) => (this.settle = resolveResult));
  }

  /** Check the program, start it with the agent; rejects with a LaunchError when it cannot. */
  static async start(spec: LaunchSpec, options: LaunchOptions): Promise<Launch> {
    const env = spec.env ?? process.env;
    const cwd = spec.cwd ?? process.cwd();
    const agent = options.agentPath ?? findAgent();
    const program =
      process.platform === 'win32'
        ? resolveWindowsProgram(spec.program, env, cwd)
        : resolveProgram(spec.program, env, cwd);
    if (program === undefined) throw new LaunchError('not-found', `${spec.program}: no such program`);
    if (process.platform !== 'win32') checkProgram(program);
    const launch = new Launch(spec, options, agent);
    await launch.listen();
    launch.spawn(program, env, cwd);
    return launch;
  }

  /** The program's pid (under a wrapper, the first process that said hello: the wrapper's program). */
  get pid(): number {
    return this.wrappedRoot ?? this.rootPid;
  }

  private wrappedRoot: number | undefined;

  /** The program's child process (its stdio when `stdio: 'pipe'`). */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  done(): Promise<LaunchResult> {
    return this.result;
  }

  /** The program as it ended: the last image of its pid (after an exec, the program it became). */
  rootProcess(processes: readonly TracedProcess[] = this.processes): TracedProcess | undefined {
    return processes.filter((t) => t.pid === this.pid).at(-1);
  }

  /** Send a new policy to every traced process (applied by each agent at once). */
  setPolicy(policy: LaunchPolicy): void {
    this.policy = policy;
    for (const [socket, p] of this.live) {
      p.books.setPolicy(hostView(policy));
      socket.write(policyFrame(toWire(policy, sitesOf(p), false)));
    }
    this.listener.policy?.(policy);
  }

  /** Leave the unavailable state (every traced process, or one). */
  reset(pid?: number): void {
    for (const [socket, p] of this.live) {
      if (pid !== undefined && p.pid !== pid) continue;
      p.books.reset();
      socket.write(frame(MSG.RESET));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child?.kill(signal);
    this.windowsChild?.terminate(1);
  }

  private readonly pipe = process.platform === 'win32' ? agentPipeName() : undefined;
  private windowsChild: InjectedProcess | undefined;

  private socketPath(): string {
    return this.pipe ?? join(this.dir, 'agent.sock');
  }

  /** Windows: created suspended, the agent loaded, then resumed; its exit code when it ends. */
  private spawnWin32(program: string, env: Readonly<Record<string, string | undefined>>, cwd: string): void {
    const pipe = this.socketPath();
    const spec = { program, args: this.spec.args, cwd, env, agentPath: this.agentPath, pipe };
    spawnWindows(this.options.stdioFiles ? { ...spec, stdio: this.options.stdioFiles } : spec).then(
      (child) => {
        this.windowsChild = child;
        this.rootPid = child.pid;
        void child.exit.then((code) => this.exitedWith(code, null));
      },
      (e: unknown) => {
        this.spawnError = e instanceof Error ? e : new Error(String(e));
        this.cleanup();
        this.settle({ code: 125, signal: null, status: 125, processes: this.processes });
      },
    );
  }

  private exitedWith(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = { code, signal };
    this.maybeFinish();
    // Children it left behind, still traced: give them a moment, then stop waiting for them.
    this.lingerTimer = setTimeout(() => this.finish(), this.options.lingerMs ?? 2000);
    this.lingerTimer.unref();
  }

  private listen(): Promise<void> {
    return new Promise((resolveListen, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath(), () => resolveListen());
    });
  }

  private spawn(program: string, env: Readonly<Record<string, string | undefined>>, cwd: string): void {
    if (process.platform === 'win32') return this.spawnWin32(program, env, cwd);
    const preload = env.LD_PRELOAD ? `${this.agentPath} ${env.LD_PRELOAD}` : this.agentPath;
    const agentEnv = { LD_PRELOAD: preload, HOSTMEM_AGENT_SOCKET: this.socketPath() };
    let spec: LaunchSpec = { ...this.spec, program, cwd, env: { ...env, ...agentEnv } };
    if (this.options.wrap) spec = this.options.wrap(agentEnv, { ...this.spec, program, cwd, env: { ...env } });
    const child = spawn(spec.program, [...spec.args], {
      cwd,
      env: spec.env as NodeJS.ProcessEnv,
      stdio: this.options.stdio ?? 'inherit',
    });
    this.child = child;
    child.once('error', (e) => {
      this.cleanup();
      this.settle({ code: 125, signal: null, status: 125, processes: this.processes });
      this.spawnError = e;
    });
    if (child.pid !== undefined) this.rootPid = child.pid;
    child.once('exit', (code, signal) => this.exitedWith(code, signal));
  }

  /** Set when the program could not be started at all. */
  spawnError: Error | undefined;

  private accept(socket: Socket): void {
    const reader = new FrameReader();
    let proc: TracedProcess | undefined;
    const fail = (why: string): void => {
      if (proc) proc.protocolErrors.push(why);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      const frames = reader.push(chunk);
      if (frames instanceof Error) return fail(frames.message);
      for (const f of frames) {
        if (proc === undefined) {
          if (f.type !== MSG.HELLO) return fail(`first frame of type ${f.type}, not HELLO`);
          const hello = parseHello(f.payload);
          if (hello instanceof Error) return fail(hello.message);
          if (hello.version !== PROTOCOL_VERSION || (hello.os !== OS.LINUX && hello.os !== OS.WINDOWS)) {
            socket.end(welcomeFrame(false));
            return;
          }
          const parent = this.traced(hello);
          if (parent === null) {
            socket.end(welcomeFrame(false));
            return;
          }
          const symbols = hello.os === OS.WINDOWS ? new PeSymboliser() : new Symboliser();
          proc = new TracedProcess(hello, parent, this.policy, symbols);
          // An exec keeps the pid and starts a new image: its books are new, numbered after the earlier images.
          proc.image = this.processes.filter((t) => t.pid === hello.pid).length;
          this.tracedPids.add(hello.pid);
          this.processes.push(proc);
          this.live.set(socket, proc);
          socket.write(welcomeFrame(true));
          this.listener.processStarted?.(proc);
          continue;
        }
        switch (f.type) {
          case MSG.MODULES: {
            const modules = parseModules(f.payload);
            if (modules instanceof Error) return fail(modules.message);
            const first = proc.modules.length === 0;
            proc.modules = modules;
            proc.symbols.setModules(modules as readonly LoadedModule[]);
            this.listener.modules?.(proc, modules);
            // The first module list comes before the policy (call-site rules resolved from the first call); a
            // later one (dlopen) refreshes the rules that name modules or functions.
            if (first || this.policy.levelRules.some((r) => r.module !== undefined || r.function !== undefined)) {
              socket.write(
                policyFrame(toWire(this.policy, sitesOf(proc), proc.books.hostState().state === 'unavailable')),
              );
            }
            break;
          }
          case MSG.EVENTS: {
            const n = proc.decoder.decode(f.payload, proc.columns);
            if (n instanceof Error) return fail(n.message);
            this.apply(proc, n);
            break;
          }
          case MSG.COUNTERS: {
            const c = parseCounters(f.payload);
            if (c instanceof Error) return fail(c.message);
            proc.counters = c;
            proc.books.applyCounters(c);
            this.listener.counters?.(proc, c);
            break;
          }
          case MSG.BYE:
            proc.said = true;
            break;
          default:
            return fail(`unknown frame type ${f.type}`);
        }
      }
    });
    const closed = (): void => {
      this.live.delete(socket);
      if (proc && !proc.ended) {
        proc.ended = true;
        this.listener.processEnded?.(proc);
      }
      this.maybeFinish();
    };
    socket.on('close', closed);
    socket.on('error', () => socket.destroy());
  }

  /** Whether to trace a process that said hello: undefined = trace as a new process, a parent = trace as its fork. */
  private traced(hello: Hello): TracedProcess | undefined | null {
    const forked = (hello.flags & HELLO_FORKED) !== 0;
    if (forked) {
      if (!this.policy.followForks) return null;
      const parent = [...this.live.values()].find((p) => p.pid === hello.ppid);
      return parent ?? undefined;
    }
    // Under a wrapper (strace), the first image that says hello is the program.
    if (this.options.wrap && this.wrappedRoot === undefined) {
      this.wrappedRoot = hello.pid;
      return undefined;
    }
    // A new image: the program itself (its pid, or an exec of it), or an exec'd child of a traced process.
    if (hello.pid === this.rootPid || this.tracedPids.has(hello.pid)) return undefined;
    if (this.rootPid === 0 && this.processes.length === 0) return undefined; // spawned, pid not known yet
    if (this.policy.followForks) return undefined;
    return null;
  }

  private apply(p: TracedProcess, n: number): void {
    const books = p.books;
    const c = p.columns;
    if (p.stacks.length < n) p.stacks = new Int32Array(Math.max(n, p.stacks.length * 2));
    const stacks = p.stacks;
    for (let i = 0; i < n; i++) stacks[i] = c.frameCount[i]! > 0 ? books.internFrames(c.framesOf(i)) : 0;
    books.applyColumns(c, n, stacks, p.toMs);
    this.listener.events?.(p, c, n, stacks);
    p.toldStacks = books.stackList().length;
  }

  private maybeFinish(): void {
    if (this.exited && this.live.size === 0) this.finish();
  }

  private finished = false;

  private finish(): void {
    if (this.finished || !this.exited) return;
    this.finished = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    for (const [socket, p] of this.live) {
      if (!p.ended) {
        p.ended = true;
        this.listener.processEnded?.(p);
      }
      socket.destroy();
    }
    this.live.clear();
    this.cleanup();
    const { code, signal } = this.exited;
    this.settle({ code, signal, status: exitStatus(code, signal), processes: this.processes });
  }

  private cleanup(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
