/** Mount components with Pinia, i18n and a fake ApiClient whose answers the test decides. */
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { vi } from 'vitest';
import type { LiveClient } from '../api/client';
import type { HelloResult, Method, Push } from '../api/contract';
import { createAppI18n, type Locale } from '../i18n';
import { useConnectionStore } from '../stores/connection';
import { resetLiveView } from '../stores/live';

export type Answer = (method: Method, params: unknown) => unknown;

export interface FakeClient extends LiveClient {
  readonly calls: { method: Method; params: unknown }[];
  push(message: Push): void;
}

export interface FakeOptions {
  /** 'websocket' (as under `hostmem serve`) unless said otherwise. */
  readonly transport?: LiveClient['transport'];
  /** Fields of the `hello` answer (default: no scenarios, no host). */
  readonly hello?: Partial<HelloResult>;
}

export function fakeClient(answer: Answer = () => ({}), options: FakeOptions = {}): FakeClient {
  const listeners = new Set<(m: Push) => void>();
  const calls: { method: Method; params: unknown }[] = [];
  const c = {
    transport: options.transport ?? 'websocket',
    calls,
    call: vi.fn((method: Method, params?: unknown) => {
      calls.push({ method, params });
      if (method === 'hello') return Promise.resolve({ scenarios: [], host: null, ...options.hello });
      if (method === 'workloads') return Promise.resolve({ workloads: [] });
      return Promise.resolve(answer(method, params));
    }),
    onPush: (l: (m: Push) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    onStatus: () => () => undefined,
    onReconnect: () => () => undefined,
    close: () => undefined,
    push: (m: Push) => {
      for (const l of listeners) l(m);
    },
  };
  return c as unknown as FakeClient;
}

export function setup(
  answer?: Answer,
  locale: Locale = 'en',
  options: FakeOptions = {},
): { pinia: Pinia; client: FakeClient; plugins: unknown[] } {
  const pinia = createPinia();
  setActivePinia(pinia);
  resetLiveView();
  const client = fakeClient(answer, options);
  useConnectionStore(pinia).connect(client);
  const i18n = createAppI18n(locale);
  return { pinia, client, plugins: [pinia, i18n] };
}
