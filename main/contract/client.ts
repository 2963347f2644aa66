/**
 * The WebSocket side of `ApiClient`: requests as `{ t: 'req', id, method, params }` frames, answers matched by id,
 * pushes handed to listeners. Works over the browser's WebSocket and over the `ws` package's (tests, benchmarks):
 * it needs only `send`, `readyState` and `addEventListener`. Browser-safe (no Node imports).
 */
import {
  ApiCallError,
  type ApiClient,
  type ApiError,
  type Method,
  type ParamsArg,
  type Push,
  type Result,
  type ServerFrame,
} from './index';

/** The part of a WebSocket the client uses (the DOM's WebSocket and `ws`'s both fit). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: () => void): void;
}

export interface SocketClient extends ApiClient {
  /** Rejects every pending call with a 'closed' error and closes the socket. */
  close(): void;
  /** Calls sent and not answered yet. */
  readonly pending: number;
  /** Frames that were not valid JSON or not a frame (kept for diagnostics). */
  readonly malformed: number;
}

const OPEN = 1;

interface Waiting {
  resolve(value: unknown): void;
  reject(error: ApiCallError): void;
}

export function createSocketClient(socket: SocketLike): SocketClient {
  let nextId = 1;
  let malformed = 0;
  const waiting = new Map<number, Waiting>();
  const listeners = new Set<(message: Push) => void>();
  let closed = false;

  const failAll = (message: string): void => {
    for (const w of waiting.values()) w.reject(new ApiCallError({ code: 'closed', message }));
    waiting.clear();
  };

  socket.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') {
      malformed++;
      return;
    }
    let frame: ServerFrame;
    try {
      frame = JSON.parse(event.data) as ServerFrame;
    } catch {
      malformed++;
      return;
    }
    if (frame.t === 'push') {
      for (const l of [...listeners]) {
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
    if (frame.t === 'res' && typeof frame.id === 'number') {
      const w = waiting.get(frame.id);
      if (!w) return;
      waiting.delete(frame.id);
      if (frame.ok) w.resolve(frame.result);
      else w.reject(new ApiCallError(frame.error as ApiError));
      return;
    }
    if (frame.t === 'res' && !frame.ok && frame.id === null) {
      // An answer to a frame the server could not read: nothing to match it to.
      malformed++;
      return;
    }
    malformed++;
  });
  socket.addEventListener('close', () => {
    closed = true;
    failAll('the connection closed');
  });

  return {
    call<M extends Method>(method: M, ...args: ParamsArg<M>): Promise<Result<M>> {
      if (closed || socket.readyState !== OPEN) {
        return Promise.reject(new ApiCallError({ code: 'closed', message: 'the connection is not open' }));
      }
      const id = nextId++;
      return new Promise<Result<M>>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        try {
          socket.send(JSON.stringify({ t: 'req', id, method, params: args[0] ?? {} }));
        } catch (e) {
          waiting.delete(id);
          reject(new ApiCallError({ code: 'closed', message: e instanceof Error ? e.message : String(e) }));
        }
      });
    },
    onPush(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      failAll('the client closed the connection');
      socket.close(1000, 'bye');
    },
    get pending() {
      return waiting.size;
    },
    get malformed() {
      return malformed;
    },
  };
}
