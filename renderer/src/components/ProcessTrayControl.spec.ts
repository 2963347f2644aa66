import { flushPromises, mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { Plugin } from 'vue';
import { useProcessesStore } from '../stores/processes';
import { setup } from '../test/harness';
import { fakeSettings } from '../test/settings';
import ProcessTrayControl from './ProcessTrayControl.vue';

const tid = (id: string): string => `[data-testid="${id}"]`;
const GiB = 1024 ** 3;

describe('ProcessTrayControl (inside the app)', () => {
  it('saves the watched process and its threshold in the settings, refuses a bad size, and stops', async () => {
    const backend = fakeSettings();
    const s = setup((m, p) => backend.answer(m, p), 'en', { transport: 'ipc' });
    useProcessesStore().pid = 4242;
    const w = mount(ProcessTrayControl, { global: { plugins: s.plugins as Plugin[] } });
    await flushPromises();
    expect(w.get(tid('process-tray')).attributes('data-watching')).toBe('false');

    await w.get(tid('process-tray-threshold')).setValue('one gig');
    expect(w.get(tid('process-tray-watch')).attributes('disabled')).toBeDefined();
    expect(w.text()).toContain('Not a size');

    await w.get(tid('process-tray-threshold')).setValue('1GiB');
    await w.get(tid('process-tray')).trigger('submit');
    await flushPromises();
    expect(backend.settings.trayProcess).toBe('4242');
    expect(backend.settings.trayProcessThreshold).toBe(GiB);
    expect(w.get(tid('process-tray')).attributes('data-watching')).toBe('true');

    await w.get(tid('process-tray-stop')).trigger('click');
    await flushPromises();
    expect(backend.settings.trayProcess).toBeNull();
    expect(backend.settings.trayProcessThreshold).toBeNull();
    w.unmount();
  });
});
