/** The host's info, state, policy, notification state and books (small objects: plain shallow refs). */
import { defineStore } from 'pinia';
import { computed, shallowRef } from 'vue';
import type { ClientView, HostInfo, StatsRow } from '../api/contract';

export const useHostStore = defineStore('host', () => {
  const info = shallowRef<HostInfo | null>(null);
  const stats = shallowRef<StatsRow | null>(null);
  /** Memory load of the last sample: the OS's and the host's own. */
  const memoryLoad = shallowRef<number | null>(null);
  const hostLoad = shallowRef<number | null>(null);
  const time = shallowRef(0);

  const state = computed(() => info.value?.state.state ?? null);
  const policy = computed(() => info.value?.policy ?? null);
  const memoryAvailable = computed(() => info.value?.memoryAvailable ?? null);
  const commitLimit = computed(() => info.value?.policy.commitLimit ?? null);

  function apply(view: ClientView): void {
    if (info.value !== view.host) info.value = view.host;
    stats.value = view.stats;
    time.value = view.time;
    const last = view.samples[view.samples.length - 1];
    if (last !== undefined) {
      memoryLoad.value = last.memoryLoad;
      hostLoad.value = last.hostLoad;
    }
  }

  return { info, stats, memoryLoad, hostLoad, time, state, policy, memoryAvailable, commitLimit, apply };
});
