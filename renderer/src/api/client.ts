/**
 * The renderer's ApiClient: the preload bridge when running inside Electron (`window.hostmem`), else a WebSocket to
 * `hostmem serve` at `ws(s)://<host>/ws?token=<token of the page URL>`.
 */
import {
  connectSocketClient,
  isPush,
  toApiCallError,
  type ApiClient,
  type ConnectionStatus,
  type ConnectOptions,
  type Method,
  type ParamsArg,
  type Result,
} from './contract';

/** An ApiClient that can also report its connection and when it came back (the WebSocket one). */
export interface LiveClient extends ApiClient {
  readonly transport: 'websocket' | 'ipc';
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /** Runs after a reconnection (the app asks for a resync there). */
  onReconnect(listener: () => void): () => void;
  close(): void;
}

/** The contract's WebSocket client, reconnecting, to `hostmem serve`. */
export function createWebSocketClient(options: ConnectOptions): LiveClient {
  const client = connectSocketClient(options);
  return {
    transport: 'websocket',
    call: <M extends Method>(method: M, ...params: ParamsArg<M>): Promise<Result<M>> => client.call(method, ...params),
    onPush: (listener) => client.onPush(listener),
    onStatus: (listener) => client.onStatus(listener),
    onReconnect: (listener) => client.onReconnect(listener),
    close: () => client.close(),
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
        throw toApiCallError(e);
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
