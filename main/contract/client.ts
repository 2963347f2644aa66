/**
 * The WebSocket client of the contract: requests as `{ t: 'req', id, method, params }` frames, answers matched by
 * id, pushes (checked for a plausible shape) handed to listeners, a timeout on every request, and — when it owns the
 * connection — reconnection with back-off. The renderer, the tests and the benchmarks all use it.
 *
 * Two ways to make one:
 * - `connectSocketClient({ url })` opens the socket itself and opens a new one after a drop (the renderer under
 *   `hostmem serve`). Requests made while it is down wait for the next socket (their timeout still runs); requests
 *   in flight when it drops fail with `closed`; after a reconnection the `onReconnect` listeners run (the renderer
 *   asks for a resync there).
 * - `createSocketClient(socket)` talks over one socket it is given (tests, benchmarks: a `ws` socket): when that
 *   socket closes, every pending and later request fails with `closed`.
 *
 * Works over the browser's WebSocket and over the `ws` package's: it needs only `send`, `close`, `readyState` and
 * `addEventListener`. Browser-safe (no Node imports). It imports the contract and the contract never imports it.
 */
import {
  ApiCallError,
  isMessageRef,
  type ApiClient,
  type ErrorCode,
  type Method,
  type ParamsArg,
  type Push,
  type Result,
} from './index';

/** The part of a WebSocket the client uses (the DOM's WebSocket and `ws`'s both fit). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionStatus = 'connecting' | 'open' | 'closed';

export interface SocketClient extends ApiClient {
  /** The connection now: `connecting` until a socket opens, `closed` after a drop (and for good after `close`). */
  readonly status: ConnectionStatus;
  /** Every change of `status`; returns the function that stops listening. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /** Runs after a reconnection (never for the first connection, never without reconnection). */
  onReconnect(listener: () => void): () => void;
  /** Rejects every pending call with a `closed` error, closes the socket and stops reconnecting. */
  close(): void;
  /** Calls not answered yet. */
  readonly pending: number;
  /** Frames that were not valid JSON, not a frame, or a push of no known shape (kept for diagnostics). */
  readonly malformed: number;
}

export interface SocketClientOptions {
  /** Per request, in ms. Default 15 s. */
  readonly timeoutMs?: number;
}

export interface ConnectOptions extends SocketClientOptions {
  readonly url: string;
  /** Default: the global `WebSocket` (the browser's; Node ≥ 22's). */
  readonly createSocket?: SocketFactory;
  /** First and largest delays between reconnection attempts, doubling in between. Default 250 ms and 5 s. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

const OPEN = 1;
const DEFAULT_TIMEOUT_MS = 15_000;

const PUSH_TYPES = new Set<string>(['full', 'delta', 'workloads', 'log', 'reveal', 'process']);

/** A push whose shape is at least plausible (its type and the fields the stores read first). */
export function isPush(message: unknown): message is Push {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  if (typeof m.type !== 'string' || !PUSH_TYPES.has(m.type)) return false;
  switch (m.type) {
    case 'full':
      return (
        typeof m.seq === 'number' &&
        isRecord(m.host) &&
        isRecord(m.stats) &&
        Array.isArray(m.rows) &&
        Array.isArray(m.failures) &&
        Array.isArray(m.samples)
      );
    case 'delta':
      return (
        typeof m.seq === 'number' &&
        isRecord(m.stats) &&
        Array.isArray(m.samples) &&
        Array.isArray(m.added) &&
        Array.isArray(m.updated) &&
        Array.isArray(m.removed) &&
        Array.isArray(m.failures)
      );
    case 'workloads':
      return Array.isArray(m.workloads);
    case 'reveal':
      return m.view === 'failures' && (m.failureSeq === null || Number.isSafeInteger(m.failureSeq));
    case 'process':
      return (
        Number.isSafeInteger(m.pid) &&
        Number.isSafeInteger(m.seq) &&
        (m.kind === 'full' ? Array.isArray(m.rows) && Array.isArray(m.history) : m.kind === 'delta' || m.kind === 'end')
      );
    default:
      return typeof m.message === 'string';
  }
}

const ERROR_CODES = new Set<string>([
  'bad-request',
  'not-found',
  'refused',
  'internal',
  'closed',
  'timeout',
] satisfies ErrorCode[]);

/**
 * The contract's error from whatever a transport rejected with: an ApiCallError as it is; an ApiError-like object
 * (a server frame's `error`, or the preload's rejection: Error fields do not cross contextBridge) with its code,
 * message and issues, an unknown code becoming `internal`; anything else as `internal`.
 */
export function toApiCallError(e: unknown): ApiCallError {
  if (e instanceof ApiCallError) return e;
  if (isRecord(e) && !(e instanceof Error) && typeof e.code === 'string' && typeof e.message === 'string') {
    const issues = Array.isArray(e.issues) ? e.issues.filter((i): i is string => typeof i === 'string') : [];
    const code = (ERROR_CODES.has(e.code) ? e.code : 'internal') as ErrorCode;
    return new ApiCallError({
      code,
      message: e.message,
      issues,
      ...(isMessageRef(e.reason) && { reason: e.reason }),
    });
  }
  return new ApiCallError({ code: 'internal', message: e instanceof Error ? e.message : String(e) });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ApiCallError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly frame: string;
  sent: boolean;
}

/** Where sockets come from: one given socket, or a factory called again after every drop. */
type Source =
  (SocketClientOptions & { readonly socket: SocketLike }) | (ConnectOptions & { readonly createSocket: SocketFactory });

class Client implements SocketClient {
  private socket: SocketLike | undefined;
  private nextId = 1;
  private malformedFrames = 0;
  private readonly waiting = new Map<number, Pending>();
  private readonly pushListeners = new Set<(message: Push) => void>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private current: ConnectionStatus = 'connecting';
  private opened = false;
  private closedForGood = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private delay: number;
  private readonly timeoutMs: number;

  constructor(private readonly source: Source) {
    this.timeoutMs = source.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.delay = 'socket' in source ? 0 : (source.reconnectMinMs ?? 250);
    if ('socket' in source) this.attach(source.socket);
    else this.connect();
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  get pending(): number {
    return this.waiting.size;
  }

  get malformed(): number {
    return this.malformedFrames;
  }

  call<M extends Method>(method: M, ...args: ParamsArg<M>): Promise<Result<M>> {
    if (this.closedForGood) {
      return Promise.reject(new ApiCallError({ code: 'closed', message: 'the connection is closed' }));
    }
    const id = this.nextId++;
    const frame = JSON.stringify({ t: 'req', id, method, params: args[0] ?? {} });
    return new Promise<Result<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ApiCallError({ code: 'timeout', message: `${method}: no answer within ${this.timeoutMs} ms` }));
      }, this.timeoutMs);
      const p: Pending = { resolve: resolve as (value: unknown) => void, reject, timer, frame, sent: false };
      this.waiting.set(id, p);
      this.trySend(id, p);
    });
  }

  onPush(listener: (message: Push) => void): () => void {
    this.pushListeners.add(listener);
    return () => this.pushListeners.delete(listener);
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  close(): void {
    this.closedForGood = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket?.close(1000, 'client closing');
    } catch {
      // Closing a socket that never opened may throw (ws); it is gone either way.
    }
    this.failAll(false, 'the client closed the connection');
    this.setStatus('closed');
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.current === status) return;
    this.current = status;
    for (const l of [...this.statusListeners]) l(status);
  }

  private trySend(id: number, p: Pending): void {
    if (p.sent || this.socket === undefined || this.socket.readyState !== OPEN) return;
    try {
      this.socket.send(p.frame);
      p.sent = true;
    } catch (e) {
      if (this.reconnects) return; // Sent again on the next socket.
      clearTimeout(p.timer);
      this.waiting.delete(id);
      p.reject(new ApiCallError({ code: 'closed', message: e instanceof Error ? e.message : String(e) }));
    }
  }

  private get reconnects(): boolean {
    return !('socket' in this.source) && !this.closedForGood;
  }

  private connect(): void {
    if ('socket' in this.source) return;
    this.setStatus('connecting');
    let socket: SocketLike;
    try {
      socket = this.source.createSocket(this.source.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.attach(socket);
  }

  private attach(socket: SocketLike): void {
    this.socket = socket;
    socket.addEventListener('open', () => {
      if (this.socket === socket) this.onOpen();
    });
    socket.addEventListener('message', (event) => {
      if (this.socket === socket) this.receive(event.data);
    });
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.onClose();
    });
    socket.addEventListener('error', () => {
      // A close event follows.
    });
    // A socket handed over already open (tests, benchmarks) fires no 'open' event.
    if (socket.readyState === OPEN) this.onOpen();
  }

  private onOpen(): void {
    if (this.current === 'open') return;
    const reconnected = this.opened;
    this.opened = true;
    if (!('socket' in this.source)) this.delay = this.source.reconnectMinMs ?? 250;
    this.setStatus('open');
    for (const [id, p] of this.waiting) this.trySend(id, p);
    if (reconnected) for (const l of [...this.reconnectListeners]) l();
  }

  private onClose(): void {
    this.socket = undefined;
    if (!this.reconnects) {
      this.closedForGood = true;
      this.failAll(false, 'the connection closed');
      this.setStatus('closed');
      return;
    }
    // What was sent on this socket will never be answered; what was not sent yet waits for the next one.
    this.failAll(true, 'the connection dropped before the answer');
    this.setStatus('closed');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.reconnects || this.retryTimer !== undefined || 'socket' in this.source) return;
    const wait = this.delay;
    this.delay = Math.min(this.source.reconnectMaxMs ?? 5_000, this.delay * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, wait);
  }

  /** Reject the pending calls (only those already sent, with `sentOnly`). */
  private failAll(sentOnly: boolean, message: string): void {
    for (const [id, p] of this.waiting) {
      if (sentOnly && !p.sent) continue;
      clearTimeout(p.timer);
      this.waiting.delete(id);
      p.reject(new ApiCallError({ code: 'closed', message }));
    }
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      this.malformedFrames++;
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      this.malformedFrames++;
      return;
    }
    if (!isRecord(frame)) {
      this.malformedFrames++;
      return;
    }
    if (frame.t === 'push') {
      if (!isPush(frame.message)) {
        this.malformedFrames++;
        return;
      }
      for (const l of [...this.pushListeners]) {
        try {
          l(frame.message);
        } catch (e) {
          // A listener's bug must not stop the others; surface it asynchronously.
          setTimeout(() => {
            throw e;
          }, 0);
        }
      }
      return;
    }
    // An answer to a frame the server could not read (id null) has nothing to match: counted as malformed.
    if (frame.t !== 'res' || typeof frame.id !== 'number' || typeof frame.ok !== 'boolean') {
      this.malformedFrames++;
      return;
    }
    const p = this.waiting.get(frame.id);
    if (p === undefined) return; // Timed out, or not ours.
    this.waiting.delete(frame.id);
    clearTimeout(p.timer);
    if (frame.ok) p.resolve(frame.result);
    else if (isRecord(frame.error)) p.reject(toApiCallError(frame.error));
    else p.reject(new ApiCallError({ code: 'internal', message: 'request failed' }));
  }
}

/** A client over one socket it is given (open or opening); no reconnection. */
export function createSocketClient(socket: SocketLike, options: SocketClientOptions = {}): SocketClient {
  return new Client({ socket, ...options });
}

/** A client that opens its socket at `url` and opens a new one after every drop. */
export function connectSocketClient(options: ConnectOptions): SocketClient {
  const createSocket: SocketFactory = options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  return new Client({ ...options, createSocket });
}
