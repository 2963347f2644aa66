/**
 * The renderer's ApiClient: the preload bridge when running inside Electron (`window.hostmem`), else a WebSocket to
 * `hostmem serve` at `ws(s)://<host>/ws?token=<token of the page URL>`.
 */
import { ApiCallError, type ApiClient, type Method, type ParamsArg, type Push, type Result } from './contract';
import { RequestError, SocketTransport, type ConnectionStatus, type SocketFactory } from './socket';

/** An ApiClient that can also report its connection and when it came back (the WebSocket one). */
export interface LiveClient extends ApiClient {
  readonly transport: 'websocket' | 'ipc';
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /** Runs after a reconnection (the app asks for a resync there). */
  onReconnect(listener: () => void): () => void;
  close(): void;
}

const PUSH_TYPES = new Set(['full', 'delta', 'workloads', 'log', 'reveal', 'process']);

/** A push whose shape is at least plausible (the type and the fields the stores read first). */
export function isPush(message: unknown): message is Push {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  if (typeof m.type !== 'string' || !PUSH_TYPES.has(m.type)) return false;
  switch (m.type) {
    case 'full':
      return (
        typeof m.seq === 'number' &&
        typeof m.host === 'object' &&
        m.host !== null &&
        typeof m.stats === 'object' &&
        m.stats !== null &&
        Array.isArray(m.rows) &&
        Array.isArray(m.failures) &&
        Array.isArray(m.samples)
      );
    case 'delta':
      return (
        typeof m.seq === 'number' &&
        typeof m.stats === 'object' &&
        m.stats !== null &&
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

/** The preload rejects with the contract's ApiError as a plain object (Error fields do not cross contextBridge). */
function isApiErrorLike(e: unknown): e is { code: string; message: string; issues?: unknown } {
  return (
    typeof e === 'object' &&
    e !== null &&
    !(e instanceof Error) &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}

const ERROR_CODES = new Set(['bad-request', 'not-found', 'refused', 'internal', 'closed']);

function toApiError(e: unknown): ApiCallError {
  if (e instanceof ApiCallError) return e;
  if (isApiErrorLike(e)) {
    const issues = Array.isArray(e.issues) ? e.issues.filter((i): i is string => typeof i === 'string') : [];
    return new ApiCallError({
      code: (ERROR_CODES.has(e.code) ? e.code : 'internal') as ConstructorParameters<typeof ApiCallError>[0]['code'],
      message: e.message,
      issues,
    });
  }
  if (e instanceof RequestError) {
    const code = e.code === 'bad-request' || e.code === 'not-found' || e.code === 'refused' || e.code === 'internal';
    return new ApiCallError({ code: code ? e.code : 'closed', message: e.message } as ConstructorParameters<
      typeof ApiCallError
    >[0]);
  }
  return new ApiCallError({ code: 'internal', message: e instanceof Error ? e.message : String(e) });
}

export interface SocketClientOptions {
  readonly url: string;
  readonly createSocket?: SocketFactory;
  readonly timeoutMs?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

export function createWebSocketClient(options: SocketClientOptions): LiveClient {
  const transport = new SocketTransport(options);
  return {
    transport: 'websocket',
    call<M extends Method>(method: M, ...params: ParamsArg<M>): Promise<Result<M>> {
      return transport.request(method, params[0]).then(
        (r) => r as Result<M>,
        (e: unknown) => {
          throw toApiError(e);
        },
      );
    },
    onPush(listener: (message: Push) => void): () => void {
      return transport.onPush((m) => {
        if (isPush(m)) listener(m);
      });
    },
    onStatus: (listener) => transport.onStatus(listener),
    onReconnect: (listener) => transport.onReconnect(listener),
    close: () => transport.close(),
  };
}

/** The WebSocket URL for this page: same host, `/ws`, the page's token. */
export function socketUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

declare global {
  interface Window {
    /** Set by the preload script inside Electron: the same ApiClient. */
    readonly hostmem?: ApiClient;
  }
}

function isApiClient(value: unknown): value is ApiClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiClient).call === 'function' &&
    typeof (value as ApiClient).onPush === 'function'
  );
}

/** Wrap the preload bridge: IPC does not drop, so it is always open; pushes are checked like the socket's. */
export function createIpcClient(bridge: ApiClient): LiveClient {
  return {
    transport: 'ipc',
    call: <M extends Method>(method: M, ...params: ParamsArg<M>): Promise<Result<M>> =>
      bridge.call(method, ...params).catch((e: unknown) => {
        throw toApiError(e);
      }),
    onPush: (listener) =>
      bridge.onPush((m: unknown) => {
        if (isPush(m)) listener(m);
      }),
    onStatus: (listener) => {
      listener('open');
      return () => undefined;
    },
    onReconnect: () => () => undefined,
    close: () => undefined,
  };
}

/** The client for where the page runs. */
export function createClient(): LiveClient {
  const bridge: unknown = typeof window !== 'undefined' ? window.hostmem : undefined;
  if (isApiClient(bridge)) return createIpcClient(bridge);
  return createWebSocketClient({ url: socketUrl(window.location) });
}
