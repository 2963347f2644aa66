/**
 * The connection to the backend: owns the ApiClient, routes pushes to the stores (a `reveal` to the reveal store),
 * asks for a resync after a reconnection or a gap in the deltas, and exposes `api` to the components.
 */
import { defineStore } from 'pinia';
import { markRaw, shallowRef } from 'vue';
import type { HelloResult, LogMessage, Push } from '../api/contract';
import type { LiveClient } from '../api/client';
import type { ConnectionStatus } from '../api/contract';
import { useApiStore } from './api';
import { applyPush, resetLiveView } from './live';
import { useProcessesStore } from './processes';
import { useRevealStore } from './reveal';
import { useWorkloadsStore } from './workloads';

export const useConnectionStore = defineStore('connection', () => {
  const status = shallowRef<ConnectionStatus>('connecting');
  const hello = shallowRef<HelloResult | null>(null);
  const error = shallowRef<string | null>(null);
  const log = shallowRef<readonly LogMessage[]>([]);
  /** How the client reaches the backend: 'ipc' inside the app (which has settings), 'websocket' under serve. */
  const transport = shallowRef<LiveClient['transport'] | null>(null);
  let client: LiveClient | null = null;
  const stops: (() => void)[] = [];

  function api(): LiveClient {
    return useApiStore().api();
  }

  function resync(): void {
    client?.call('resync').catch((e: unknown) => {
      error.value = e instanceof Error ? e.message : String(e);
    });
  }

  function onPush(message: Push): void {
    switch (message.type) {
      case 'full':
      case 'delta':
        applyPush(message, resync);
        break;
      case 'workloads':
        useWorkloadsStore().apply(message.workloads);
        break;
      case 'log':
        log.value = [...log.value.slice(-199), message];
        break;
      case 'reveal':
        // The app asks for the Failures view, maybe at one failure (App.vue and FailuresView.vue follow the store).
        useRevealStore().reveal(message);
        break;
      case 'process':
        useProcessesStore().apply(message);
        break;
    }
  }

  async function sayHello(): Promise<void> {
    try {
      hello.value = await api().call('hello');
      error.value = null;
      void useWorkloadsStore().refresh();
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function connect(c: LiveClient): void {
    disconnect();
    client = markRaw(c);
    useApiStore().setClient(client);
    transport.value = c.transport;
    resetLiveView();
    stops.push(
      c.onPush(onPush),
      c.onStatus((s) => {
        status.value = s;
      }),
      c.onReconnect(() => {
        resetLiveView();
        resync();
        void sayHello();
        useProcessesStore().rewatch();
      }),
    );
    void sayHello();
  }

  function disconnect(): void {
    for (const stop of stops.splice(0)) stop();
    client?.close();
    client = null;
    useApiStore().setClient(null);
    transport.value = null;
  }

  return { status, hello, error, log, transport, api, connect, disconnect, resync };
});
