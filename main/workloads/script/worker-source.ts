/**
 * The code of the worker thread a user script runs in, as a string of plain JavaScript started with
 * `new Worker(WORKER_SOURCE, { eval: true, workerData })`.
 *
 * Why a string and not a separate entry file: everything here is bundled by esbuild (the CLI into one file, each
 * test into one file, the Electron main process by electron-vite), and a separate worker entry would need every
 * one of those builds to emit it next to its bundle and find it at run time (import.meta.url differs in each, and
 * inside an asar archive). A string travels inside whichever bundle imports this module, and works the same when
 * run from out/, from a test, under Windows Node in Wine, or in Electron. Keep it plain ES2022 JavaScript (no
 * TypeScript, no imports of our modules): it is not compiled.
 *
 * The protocol (every message is validated again by the parent, since a script can reach `parentPort` itself):
 *   worker → parent  { t: 'call', id, method, args }   a host call; args are numbers, strings or null
 *                    { t: 'log', message }             ctx.log
 *                    { t: 'sleep', ms }                ctx.sleep: the hang watchdog allows for it
 *                    { t: 'done' }                     the default export resolved
 *                    { t: 'error', message, stack }    it threw / rejected, or the module could not be loaded
 *                    { t: 'flood', message }           too many calls in flight, or too many calls: none is posted more
 *   parent → worker  { t: 'result', id, result }       the host's answer
 *                    { t: 'reject', id, message, type } the parent refused the call (unknown method, bad argument, …)
 *                    { t: 'stop' }                     ctx.signal aborts; the script has stopGraceMs to return
 *                    { t: 'notification', value }      memory notification (1 Low, 2 Neutral, 3 High)
 *
 * The PRNG is mulberry32, the same as main/host/random.ts (a test checks they agree).
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { url, seed, rate, backend, pageSize, allocationGranularity, maxPending, maxCalls } = workerData;

function seededRandom(s) {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const controller = new AbortController();
const pending = new Map();
const callbacks = [];
let nextId = 1;
let calls = 0;

// A script that calls faster than it awaits (a loop of host calls without await) is stopped here, in its own
// thread, once maxPending calls wait for an answer or it made more than maxCalls: nothing more is posted, so the
// parent never holds a flood of messages and stays free to stop it (duration, Ctrl+C).
// Every refused call gets the same settled promise: a loop of millions of calls costs no memory.
let flooded;

function flood(reason) {
  if (!flooded) {
    parentPort.postMessage({ t: 'flood', message: reason });
    flooded = Promise.reject(new Error('host calls refused: ' + reason));
    flooded.catch(() => undefined);
  }
  return flooded;
}

function call(method, args) {
  if (flooded) return flooded;
  if (maxPending > 0 && pending.size >= maxPending)
    return flood('more than ' + maxPending + ' host calls in flight at once (maxPending)');
  if (maxCalls > 0 && calls >= maxCalls) return flood('more than ' + maxCalls + ' host calls (maxCalls)');
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    calls++;
    try {
      parentPort.postMessage({ t: 'call', id, method, args });
    } catch (error) {
      pending.delete(id);
      reject(new TypeError('host.' + method + ': arguments must be numbers, strings or null (' + error.message + ')'));
    }
  });
}

parentPort.on('message', (m) => {
  if (!m || typeof m !== 'object') return;
  if (m.t === 'result' || m.t === 'reject') {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.t === 'result') p.resolve(m.result);
    else p.reject(m.type === 'TypeError' ? new TypeError(m.message) : new Error(m.message));
  } else if (m.t === 'stop') {
    controller.abort(new Error('the workload is stopping'));
  } else if (m.t === 'notification') {
    for (const cb of callbacks) {
      try {
        cb(m.value);
      } catch {
        // the script's callback; its error is its own
      }
    }
  }
});

const heaps = new Map();
const base = {
  backend,
  pageSize,
  allocationGranularity,
  malloc(id) {
    if (typeof id !== 'number') return undefined;
    let heap = heaps.get(id);
    if (!heap) {
      heap = Object.freeze({
        id,
        Alloc: (size, level) => call('Alloc', [id, size, level]),
        DebugAlloc: (size, level, file, line) => call('DebugAlloc', [id, size, level, file, line]),
        Free: (address) => call('Free', [id, address]),
      });
      heaps.set(id, heap);
    }
    return heap;
  },
  RegisterMemoryNotificationCallback(callback) {
    if (typeof callback !== 'function') return call('RegisterMemoryNotificationCallback', [typeof callback]);
    callbacks.push(callback);
    return call('RegisterMemoryNotificationCallback', []);
  },
};

// Every other property is a host method, forwarded to the parent, which knows which ones exist.
const host = new Proxy(base, {
  get(target, prop) {
    if (typeof prop !== 'string') return undefined;
    if (Object.prototype.hasOwnProperty.call(target, prop)) return target[prop];
    if (prop === 'then' || prop === 'toJSON' || prop === 'constructor') return undefined;
    return (...args) => call(prop, args);
  },
  set() {
    return false;
  },
  defineProperty() {
    return false;
  },
});

const started = performance.now();
let t0 = started;
let paceBase = 0;
let lastYield = started;
let idled = false;

function wait(ms) {
  if (controller.signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      controller.signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, Number(ms) || 0));
    controller.signal.addEventListener('abort', onAbort, { once: true });
  });
}

const ctx = Object.freeze({
  seed,
  rng: seededRandom(seed),
  signal: controller.signal,
  get stopping() {
    return controller.signal.aborted;
  },
  sleep(ms) {
    idled = true;
    parentPort.postMessage({ t: 'sleep', ms: Math.max(0, Number(ms) || 0) });
    return wait(ms);
  },
  async pace() {
    if (controller.signal.aborted) return false;
    if (idled) {
      idled = false;
      t0 = performance.now();
      paceBase = calls;
      lastYield = t0;
    }
    const now = performance.now();
    if (rate > 0) {
      const due = t0 + ((calls - paceBase) * 1000) / rate;
      if (due - now >= 1) {
        parentPort.postMessage({ t: 'sleep', ms: due - now });
        const slept = await wait(due - now);
        lastYield = performance.now();
        return slept && !controller.signal.aborted;
      }
      if (now - due > 1000) {
        t0 = now;
        paceBase = calls;
      }
    }
    if (now - lastYield >= 10) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    return !controller.signal.aborted;
  },
  log(message) {
    parentPort.postMessage({ t: 'log', message: String(message) });
  },
  keep() {
    // Scripts leave nothing behind: the runner releases what they still hold.
  },
  elapsed() {
    return performance.now() - started;
  },
});

(async () => {
  let mod;
  try {
    mod = await import(url);
  } catch (error) {
    parentPort.postMessage({ t: 'error', message: 'the script could not be loaded: ' + (error && error.message ? error.message : String(error)) });
    return;
  }
  const main = mod && mod.default;
  if (typeof main !== 'function') {
    parentPort.postMessage({ t: 'error', message: 'the script has no default export function (export default async function (host, ctx) { ... })' });
    return;
  }
  try {
    await main(host, ctx);
    parentPort.postMessage({ t: 'done' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ t: 'error', message, stack: error instanceof Error ? String(error.stack) : undefined });
  }
})();
`;
