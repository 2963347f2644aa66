/**
 * User workload scripts: a JS module whose default export is `async function (host, ctx)`, run in a worker thread
 * so that nothing it does can take the monitor down. Its `host` is a proxy: each call becomes a message, checked
 * here (method known, arguments numbers/strings/null, memory not another workload's) and forwarded to the real
 * host through the script's ledger; the answer goes back as a message.
 *
 * The parent ends and reports a script that throws or rejects (`error`), that neither calls the host nor finishes
 * within `hangTimeoutMs` — its sleeps excepted — (`hang`), that runs past `durationMs` and does not return within
 * `stopGraceMs` of being told (`duration`, then terminated), that makes more than `maxCalls` calls or has more than
 * `maxPending` calls in flight (`flood`), or whose worker exits or runs out of memory (`exit`). A worker that is
 * spinning (`while (true) {}`) is terminated all the same (Worker.terminate interrupts running JavaScript).
 * Whatever it allocated and did not free is released by the runner afterwards and reported in the summary.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { HR, type HostMemoryManager, type HostResult } from '../../host';
import { commonFields, duration, parseParams, type CommonParams } from '../params';
import { WorkloadRun } from '../run';
import type { StartOptions, WorkloadEnd, WorkloadHandle } from '../types';
import { checkCall, writtenAddress, type ScriptArg } from './protocol';
import { WORKER_SOURCE } from './worker-source';

export interface ScriptParams extends CommonParams {
  readonly hangTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly maxPending: number;
  readonly maxHeaps: number;
  readonly memoryLimitMb: number;
}

export const scriptParams: z.ZodType<ScriptParams, unknown> = z.strictObject({
  ...commonFields({ durationMs: 60_000, rate: 0 }),
  maxCalls: z
    .number()
    .int()
    .min(0)
    .default(1_000_000)
    .describe('a script that makes more host calls than this is stopped as a flood (0: no cap)'),
  hangTimeoutMs: duration()
    .default(5000)
    .describe('a script that neither calls the host nor finishes for this long (its sleeps excepted) is terminated'),
  stopGraceMs: duration()
    .default(1000)
    .describe('after stop or durationMs, how long the script has to return before its worker is terminated'),
  maxPending: z
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe('most host calls in flight at once before it is a flood'),
  maxHeaps: z.number().int().min(0).max(256).default(4).describe('most CreateMalloc heaps a script may create'),
  memoryLimitMb: z.number().int().min(16).max(16_384).default(256).describe("the worker's JS heap limit (MiB)"),
});

/** A message as the worker sends it (not trusted: checked field by field). */
interface WorkerMessage {
  readonly t?: unknown;
  readonly id?: unknown;
  readonly method?: unknown;
  readonly args?: unknown;
  readonly message?: unknown;
  readonly ms?: unknown;
}

/** How long the parent serves queued script calls before it lets timers and signals run. */
const DRAIN_SLICE_MS = 5;

const MAX_LOG_LINE = 2000;
const MAX_LOG_LINES = 10_000;

type Settle = { readonly reason: WorkloadEnd; readonly error?: string } | undefined;

export interface ScriptSource {
  /** A file path, or the module's source text. */
  readonly file?: string;
  readonly source?: string;
  readonly name?: string;
}

/** Where the module is loaded from, and its display name; throws a clear error when the file is not there. */
function locate(spec: ScriptSource): { url: string; name: string } {
  if (spec.file !== undefined) {
    const path = resolve(spec.file);
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`workload script not found: ${path}`);
    return { url: pathToFileURL(path).href, name: spec.name ?? basename(path) };
  }
  const source = spec.source ?? '';
  return {
    url: `data:text/javascript;base64,${Buffer.from(source, 'utf8').toString('base64')}`,
    name: spec.name ?? 'script',
  };
}

/** Start a user script. Throws (nothing started) on bad parameters or a missing file. */
export function startScript(
  host: HostMemoryManager,
  spec: ScriptSource,
  rawParams: unknown,
  options: StartOptions = {},
): WorkloadHandle {
  const { url, name } = locate(spec);
  const params = parseParams(name, scriptParams, rawParams);
  const run = new WorkloadRun(
    host,
    {
      name,
      kind: 'script',
      params: { ...params },
      seed: params.seed,
      durationMs: params.durationMs,
      rate: params.rate,
      maxCalls: 0, // the bridge enforces maxCalls itself, as a flood
    },
    options,
  );
  run.start(() => bridge(run, url, params));
  return run;
}

/** Run the worker until it ends one way or another; resolves once no host call of it is in flight. */
function bridge(run: WorkloadRun, url: string, p: ScriptParams): Promise<void> {
  const host = run.tracked;
  const ledger = run.ledger;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      url,
      seed: p.seed,
      rate: p.rate,
      backend: host.backend,
      pageSize: host.pageSize,
      allocationGranularity: host.allocationGranularity,
      maxPending: p.maxPending,
      maxCalls: p.maxCalls,
    },
    resourceLimits: { maxOldGenerationSizeMb: p.memoryLimitMb },
    stdout: true,
    stderr: true,
  });

  let settled = false;
  let received = 0;
  let logLines = 0;
  let lastActivity = performance.now();
  let sleepingUntil = 0;
  const inflight = new Set<Promise<void>>();
  const heaps = new Set<number>();
  const queue: WorkerMessage[] = [];
  let unsubscribeNotifications: (() => void) | undefined;

  const log = (message: string): void => {
    if (++logLines === MAX_LOG_LINES) run.log(`(more than ${MAX_LOG_LINES} log lines: the rest are dropped)`);
    if (logLines < MAX_LOG_LINES)
      run.log(message.length > MAX_LOG_LINE ? `${message.slice(0, MAX_LOG_LINE)}…` : message);
  };
  // The worker's console goes to the workload's log (not to the monitor's own stdout).
  const outputDone = Promise.all(
    (
      [
        [worker.stdout, 'stdout'],
        [worker.stderr, 'stderr'],
      ] as const
    ).map(([stream, prefix]) => {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => log(`${prefix}: ${line}`));
      return new Promise<void>((done) => lines.once('close', () => done()));
    }),
  );

  const post = (message: object): void => {
    if (settled) return;
    try {
      worker.postMessage(message);
    } catch {
      // The worker is gone; its exit is reported by the exit handler.
    }
  };

  return new Promise<void>((resolveBridge) => {
    let graceTimer: NodeJS.Timeout | undefined;

    const settle = (outcome: Settle): void => {
      if (settled) return;
      if (outcome) {
        run.requestStop(outcome.reason, outcome.error);
        if (outcome.error) run.log(`${outcome.reason}: ${outcome.error}`);
      }
      settled = true;
      clearInterval(watchdog);
      clearTimeout(graceTimer);
      unsubscribeNotifications?.();
      queue.length = 0;
      const terminated = worker.terminate().catch(() => undefined);
      // The last console lines, but never wait long for them.
      const output = Promise.race([outputDone, new Promise<void>((done) => setTimeout(done, 250))]);
      // The ledger must see the end of every host call made for the script before the runner releases its memory.
      void Promise.all([terminated, output, Promise.allSettled([...inflight])]).then(() => resolveBridge());
    };

    const onStop = (): void => {
      if (settled) return;
      post({ t: 'stop' });
      graceTimer = setTimeout(() => {
        run.log(`the script did not return within ${p.stopGraceMs} ms of being stopped: worker terminated`);
        settle(undefined);
      }, p.stopGraceMs);
    };
    if (run.controller.signal.aborted) onStop();
    else run.controller.signal.addEventListener('abort', onStop, { once: true });

    const watchdog = setInterval(
      () => {
        if (settled || run.paused || inflight.size > 0) return;
        const now = performance.now();
        if (now - Math.max(lastActivity, sleepingUntil) > p.hangTimeoutMs) {
          settle({
            reason: 'hang',
            error: `no host call and no completion for ${p.hangTimeoutMs} ms: the script's worker was terminated`,
          });
        }
      },
      Math.max(20, Math.min(250, p.hangTimeoutMs / 4)),
    );

    run.onPauseChange((paused) => {
      lastActivity = performance.now();
      if (!paused) scheduleDrain();
    });

    const reject = (id: number, message: string, type: 'TypeError' | 'Error' = 'TypeError'): void => {
      ledger.rejectedCalls++;
      post({ t: 'reject', id, message, type });
    };

    const call = (id: number, method: unknown, args: unknown): void => {
      received++;
      if (p.maxCalls > 0 && received > p.maxCalls) {
        settle({ reason: 'flood', error: `more than ${p.maxCalls} host calls (maxCalls)` });
        return;
      }
      if (inflight.size >= p.maxPending) {
        settle({ reason: 'flood', error: `more than ${p.maxPending} host calls in flight at once (maxPending)` });
        return;
      }
      const check = checkCall(method, args);
      if (!check.ok) {
        log(`refused: ${check.message}`);
        reject(id, check.message);
        return;
      }
      const a = check.args;
      const written = writtenAddress(check.method, a);
      if (written !== undefined && !ledger.holds(written) && ledger.heldByAnother(written)) {
        const message = `host.${check.method}: 0x${written.toString(16)} is held by another workload; a script may only change its own memory`;
        log(`refused: ${message}`);
        reject(id, message, 'Error');
        return;
      }
      if (check.method === 'Alloc' || check.method === 'DebugAlloc' || check.method === 'Free') {
        if (!heaps.has(a[0] as number)) {
          const message = `host.malloc(${String(a[0])}): not a heap this script created with CreateMalloc`;
          log(`refused: ${message}`);
          reject(id, message, 'Error');
          return;
        }
      }
      if (check.method === 'CreateMalloc' && heaps.size >= p.maxHeaps) {
        const message = `host.CreateMalloc: at most ${p.maxHeaps} heap(s) per script (maxHeaps); heaps cannot be destroyed`;
        log(`refused: ${message}`);
        reject(id, message, 'Error');
        return;
      }
      const job = dispatch(check.method, a).then(
        (result) => post({ t: 'result', id, result }),
        (error: unknown) =>
          reject(id, `host.${check.method} failed: ${error instanceof Error ? error.message : String(error)}`, 'Error'),
      );
      const tracked = job.finally(() => {
        inflight.delete(tracked);
        lastActivity = performance.now();
      });
      inflight.add(tracked);
    };

    const dispatch = async (method: string, a: readonly ScriptArg[]): Promise<unknown> => {
      const n = (i: number): number => a[i] as number;
      switch (method) {
        case 'VirtualAlloc':
          return host.VirtualAlloc(a[0] as number | null, n(1), n(2), n(3), n(4), a[5] as string | undefined);
        case 'VirtualFree':
          return host.VirtualFree(n(0), n(1), n(2));
        case 'VirtualQuery':
          return host.VirtualQuery(n(0));
        case 'VirtualProtect':
          return host.VirtualProtect(n(0), n(1), n(2));
        case 'GetMemoryLoad':
          return host.GetMemoryLoad();
        case 'RegisterMemoryNotificationCallback': {
          // The host keeps its callbacks forever; the bridge forwards notification events while the script runs.
          unsubscribeNotifications ??= run.host.subscribe((e) => {
            if (e.kind === 'notification') post({ t: 'notification', value: e.memoryAvailable });
          });
          ledger.record('RegisterMemoryNotificationCallback', undefined, HR.S_OK);
          const ok: HostResult = { hr: HR.S_OK };
          return ok;
        }
        case 'NeedsVirtualAddressSpace':
          return host.NeedsVirtualAddressSpace(n(0), n(1));
        case 'AcquiredVirtualAddressSpace':
          return host.AcquiredVirtualAddressSpace(n(0), n(1));
        case 'ReleasedVirtualAddressSpace':
          return host.ReleasedVirtualAddressSpace(n(0));
        case 'CreateMalloc': {
          const r = await host.CreateMalloc(n(0));
          if (r.hr === HR.S_OK && r.malloc !== undefined) heaps.add(r.malloc);
          return r;
        }
        case 'Alloc':
        case 'DebugAlloc':
        case 'Free': {
          const heap = host.malloc(n(0));
          if (!heap) return { hr: HR.HOST_E_INVALIDOPERATION, reason: 'invalid' };
          if (method === 'Alloc') return heap.Alloc(n(1), n(2));
          if (method === 'DebugAlloc') return heap.DebugAlloc(n(1), n(2), a[3] as string, n(4));
          return heap.Free(n(1));
        }
        case 'Fill':
          return host.Fill(n(0), n(1), n(2));
        case 'Check':
          return host.Check(n(0), n(1), n(2));
        case 'stats':
          return host.stats();
        case 'policy':
          return host.policy();
        default:
          throw new Error(`no dispatch for ${method}`);
      }
    };

    // Calls wait in `queue` and are served in slices of DRAIN_SLICE_MS, each its own macrotask: a script that posts
    // thousands of calls at once never holds the event loop, so the duration timer, the stop grace and Ctrl+C run
    // on time (the worker itself stops posting at maxPending calls in flight).
    let draining = false;
    const drain = (): void => {
      draining = false;
      const until = performance.now() + DRAIN_SLICE_MS;
      while (!settled && !run.paused && queue.length > 0) {
        const m = queue.shift()!;
        call(m.id as number, m.method, m.args);
        if (performance.now() >= until) break;
      }
      if (!settled && !run.paused && queue.length > 0) scheduleDrain();
    };
    const scheduleDrain = (): void => {
      if (draining || run.paused) return;
      draining = true;
      setImmediate(drain);
    };
    // A call that arrives while nothing waits is served at once (a script that awaits each call pays no extra hop),
    // as long as this turn of the event loop has not spent DRAIN_SLICE_MS on calls already.
    let sliceStart = 0;
    let inSlice = false;
    const mayServeNow = (): boolean => {
      if (run.paused || queue.length > 0 || draining) return false;
      const now = performance.now();
      if (!inSlice) {
        inSlice = true;
        sliceStart = now;
        setImmediate(() => {
          inSlice = false;
        });
      }
      return now - sliceStart < DRAIN_SLICE_MS;
    };

    const handle = (m: WorkerMessage): void => {
      if (settled) return;
      lastActivity = performance.now();
      switch (m.t) {
        case 'call': {
          if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) {
            log('refused: a call message without a valid id');
            ledger.rejectedCalls++;
            return;
          }
          if (mayServeNow()) {
            call(m.id, m.method, m.args);
            return;
          }
          queue.push(m);
          scheduleDrain();
          return;
        }
        case 'log':
          log(typeof m.message === 'string' ? m.message : String(m.message));
          return;
        case 'sleep':
          if (typeof m.ms === 'number' && Number.isFinite(m.ms) && m.ms >= 0) {
            sleepingUntil = Math.max(sleepingUntil, performance.now() + m.ms);
          }
          return;
        case 'done':
          settle(undefined);
          return;
        case 'flood':
          // Calls still queued are never made: the script is ending (settle clears the queue).
          settle({
            reason: 'flood',
            error: typeof m.message === 'string' && m.message !== '' ? m.message.slice(0, 200) : 'too many host calls',
          });
          return;
        case 'error':
          settle({ reason: 'error', error: typeof m.message === 'string' ? m.message : 'the script failed' });
          return;
        default:
          log('refused: an unknown message from the worker');
      }
    };

    worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null) handle(m as WorkerMessage);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        settle({ reason: 'exit', error: `the script ran out of memory (memoryLimitMb ${p.memoryLimitMb})` });
      } else settle({ reason: 'error', error: `uncaught in the script: ${error.message}` });
    });
    worker.on('exit', (code) => {
      settle({ reason: 'exit', error: `the script's worker exited with code ${code} before the script returned` });
    });
  });
}
