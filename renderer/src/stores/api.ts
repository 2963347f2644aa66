/**
 * The ApiClient in use, set by the connection store. Stores that call the backend (workloads, snapshots) reach it
 * here, so that none of them imports the connection store, which routes pushes to them.
 */
import { defineStore } from 'pinia';
import type { LiveClient } from '../api/client';

export const useApiStore = defineStore('api', () => {
  let client: LiveClient | null = null;

  /** The client; throws before the first connection and after a disconnect. */
  function api(): LiveClient {
    if (client === null) throw new Error('not connected');
    return client;
  }

  function setClient(next: LiveClient | null): void {
    client = next;
  }

  return { api, setClient };
});
