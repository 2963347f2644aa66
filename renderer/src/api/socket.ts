/**
 * Request/response over one WebSocket, with pushes, timeouts and automatic reconnection.
 *
 * Envelope (main/contract): `{t:'req', id, method, params}` → `{t:'res', id, ok, result | error}`; the server also
 * sends `{t:'push', message}`. Anything else, or anything malformed, is ignored. Requests made while the socket is
 * down wait for it (their timeout still runs); requests in flight when it drops fail. After a reconnection the
 * `onReconnect` listeners run (the client asks for a resync there).
 */

export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionStatus = 'connecting' | 'open' | 'closed';

export class RequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface SocketTransportOptions {
  readonly url: string;
  readonly createSocket?: SocketFactory;
  /** Per request. Default 15 s. */
  readonly timeoutMs?: number;
  /** First and largest reconnection delays. Default 250 ms and 5 s. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly frame: string;
  sent: boolean;
}

const OPEN = 1;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class SocketTransport {
  private socket: SocketLike | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pushListeners = new Set<(message: unknown) => void>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private status: ConnectionStatus = 'closed';
  private opened = false;
  private closedByUser = false;
  private delay: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly createSocket: SocketFactory;
  private readonly timeoutMs: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;

  constructor(private readonly options: SocketTransportOptions) {
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as SocketLike);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.minDelay = options.reconnectMinMs ?? 250;
    this.maxDelay = options.reconnectMaxMs ?? 5_000;
    this.delay = this.minDelay;
    this.connect();
  }

  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  request(method: string, params: unknown): Promise<unknown> {
    if (this.closedByUser) return Promise.reject(new RequestError('the connection is closed', 'closed'));
    const id = this.nextId++;
    const frame = JSON.stringify({ t: 'req', id, method, params: params ?? {} });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError(`${method}: no answer within ${this.timeoutMs} ms`, 'timeout'));
      }, this.timeoutMs);
      const p: Pending = { resolve, reject, timer, frame, sent: false };
      this.pending.set(id, p);
      this.trySend(p);
    });
  }

  onPush(listener: (message: unknown) => void): () => void {
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
    this.closedByUser = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'client closing');
    this.socket = undefined;
    this.failPending('the connection is closed');
    this.setStatus('closed');
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    for (const l of this.statusListeners) l(status);
  }

  private trySend(p: Pending): void {
    if (p.sent || this.socket === undefined || this.socket.readyState !== OPEN) return;
    try {
      this.socket.send(p.frame);
      p.sent = true;
    } catch {
      // Sent again after the reconnection.
    }
  }

  private connect(): void {
    this.setStatus('connecting');
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const reconnected = this.opened;
      this.opened = true;
      this.delay = this.minDelay;
      this.setStatus('open');
      for (const p of this.pending.values()) this.trySend(p);
      if (reconnected) for (const l of this.reconnectListeners) l();
    };
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(ev.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      // What was sent on this socket will never be answered; what was not yet sent waits for the next one.
      for (const [id, p] of this.pending) {
        if (!p.sent) continue;
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new RequestError('the connection dropped before the answer', 'disconnected'));
      }
      if (this.closedByUser) return;
      this.setStatus('closed');
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows.
    };
  }

  private scheduleReconnect(): void {
    if (this.closedByUser || this.retryTimer !== undefined) return;
    const wait = this.delay;
    this.delay = Math.min(this.maxDelay, this.delay * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, wait);
  }

  private failPending(message: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RequestError(message, 'closed'));
    }
    this.pending.clear();
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!isRecord(frame)) return;
    if (frame.t === 'push') {
      if (!isRecord(frame.message)) return;
      for (const l of this.pushListeners) l(frame.message);
      return;
    }
    if (frame.t !== 'res' || typeof frame.id !== 'number' || typeof frame.ok !== 'boolean') return;
    const p = this.pending.get(frame.id);
    if (p === undefined) return;
    this.pending.delete(frame.id);
    clearTimeout(p.timer);
    if (frame.ok) p.resolve(frame.result);
    else {
      const err = frame.error;
      const message = isRecord(err) && typeof err.message === 'string' ? err.message : 'request failed';
      const code = isRecord(err) && typeof err.code === 'string' ? err.code : 'error';
      p.reject(new RequestError(message, code));
    }
  }
}
