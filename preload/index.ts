// The sandboxed preload (built to one CommonJS script: a sandboxed preload can require nothing but `electron`). It is
// the only door between the page and main, and exposes exactly the contract's ApiClient — `call(method, params)` and
// `onPush(listener)` — as `window.hostmem`, frozen; nothing of Node, Electron or ipcRenderer itself.
//
// Main validates everything (main/shell/ipc-guard.ts); the checks here only keep the page from sending what can
// never be a request. A call rejects with the contract's ApiError as a plain object `{ code, message, issues? }`
// (Error subclasses lose their fields crossing contextBridge); the renderer turns it into an ApiCallError.
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CHANNELS } from '../main/contract/ipc';

type PushListener = (message: unknown) => void;

const listeners = new Set<PushListener>();
let subscribed = false;

ipcRenderer.on(IPC_CHANNELS.push, (_event, message: unknown) => {
  for (const listener of listeners) {
    try {
      listener(message);
    } catch (error) {
      console.error('hostmem: a push listener threw', error);
    }
  }
});

interface Answer {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly code: string; readonly message: string; readonly issues?: readonly string[] };
}

function isAnswer(value: unknown): value is Answer {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

async function call(method: unknown, params?: unknown): Promise<unknown> {
  if (typeof method !== 'string') throw { code: 'bad-request', message: 'a method name is a string' };
  let answer: unknown;
  try {
    answer = await ipcRenderer.invoke(IPC_CHANNELS.call, { method, params });
  } catch (error) {
    // Main could not answer at all (shutting down, or params that cannot be cloned).
    throw { code: 'closed', message: error instanceof Error ? error.message : String(error) };
  }
  if (!isAnswer(answer)) throw { code: 'internal', message: 'malformed answer from main' };
  if (answer.ok) return answer.value;
  throw answer.error ?? { code: 'internal', message: 'error without details' };
}

function onPush(listener: unknown): () => void {
  if (typeof listener !== 'function') throw new TypeError('onPush takes a function');
  const l = listener as PushListener;
  listeners.add(l);
  // The first listener starts this page's pushes; main answers with a full message (after a reload, too).
  if (!subscribed) {
    subscribed = true;
    ipcRenderer.send(IPC_CHANNELS.subscribe);
  }
  return () => {
    listeners.delete(l);
  };
}

contextBridge.exposeInMainWorld('hostmem', Object.freeze({ call, onPush }));
