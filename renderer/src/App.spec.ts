import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Plugin } from 'vue';
import App from './App.vue';
import { ApiCallError, type AppSettings } from './api/contract';
import type { LiveClient } from './api/client';
import { STORAGE_KEY, type Locale } from './i18n';
import { applyTheme } from './lib/theme';
import { setup, type Answer } from './test/harness';
import { fakeSettings } from './test/settings';

const tid = (id: string): string => `[data-testid="${id}"]`;

let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  applyTheme('system');
  localStorage.clear();
  document.documentElement.lang = '';
  vi.restoreAllMocks();
});

/** The shell with its views stubbed (they have specs of their own). */
async function mountApp(transport: LiveClient['transport'], answer: Answer, locale: Locale = 'en') {
  const s = setup(answer, locale, { transport });
  wrapper = mount(App, {
    global: {
      plugins: s.plugins as Plugin[],
      stubs: { OverviewView: true, AllocationsView: true, FailuresView: true, ScenariosView: true },
    },
    attachTo: document.body,
  });
  await flushPromises();
  return { ...s, w: wrapper };
}

const callsOf = (calls: { method: string; params: unknown }[], method: string) =>
  calls.filter((c) => c.method === method).map((c) => c.params);

describe('the shell and the app settings', () => {
  it('has no Settings button in the browser (hostmem serve), and asks for no settings', async () => {
    const { w, client } = await mountApp('websocket', () => ({}));
    expect(w.find(tid('export-open')).exists()).toBe(true);
    expect(w.find(tid('settings-open')).exists()).toBe(false);
    expect(callsOf(client.calls, 'getSettings')).toEqual([]);
  });

  it('has a Settings button inside the app that opens the modal dialog and gives focus back', async () => {
    const backend = fakeSettings();
    const { w } = await mountApp('ipc', (m, p) => backend.answer(m, p));
    const open = w.get(tid('settings-open'));
    expect(open.get('.settings-label').text()).toBe('Settings…');
    expect(open.attributes('aria-label')).toBe('Settings');
    expect(open.attributes('aria-expanded')).toBe('false');
    (open.element as HTMLElement).focus();
    await open.trigger('click');
    await flushPromises();
    expect(w.find(tid('settings-dialog')).exists()).toBe(true);
    expect(open.attributes('aria-expanded')).toBe('true');
    // The page behind is inert.
    expect(w.get('header').attributes('inert')).toBeDefined();
    expect(w.get('main').attributes('inert')).toBeDefined();

    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await flushPromises();
    expect(w.find(tid('settings-dialog')).exists()).toBe(false);
    expect(w.get('main').attributes('inert')).toBeUndefined();
    expect(document.activeElement).toBe(open.element);
  });

  it('takes language and theme from the app settings at start-up', async () => {
    const backend = fakeSettings({ language: 'fr', theme: 'dark' });
    const { w, client } = await mountApp('ipc', (m, p) => backend.answer(m, p));
    expect(callsOf(client.calls, 'getSettings')).toHaveLength(1);
    expect(document.documentElement.lang).toBe('fr');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect((w.get(tid('lang-select')).element as HTMLSelectElement).value).toBe('fr');
    expect(w.get(tid('settings-open')).text()).toBe('Paramètres…');
    expect(w.get(tid('settings-open')).attributes('title')).toBe('Paramètres');
    // Applying the settings saves nothing back.
    expect(callsOf(client.calls, 'updateSettings')).toEqual([]);
  });

  it("leaves the page's own language and the OS theme when the settings say 'system'", async () => {
    const backend = fakeSettings({ language: 'system', theme: 'system' } satisfies Partial<AppSettings>);
    const { w } = await mountApp('ipc', (m, p) => backend.answer(m, p), 'zh-CN');
    expect((w.get(tid('lang-select')).element as HTMLSelectElement).value).toBe('zh-CN');
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it('starts all the same when the settings cannot be read (logged)', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { w } = await mountApp('ipc', (m) =>
      m === 'getSettings' ? Promise.reject(new ApiCallError({ code: 'internal', message: 'boom' })) : {},
    );
    expect(w.find(tid('settings-open')).exists()).toBe(true);
    expect(logged).toHaveBeenCalledWith('hostmem: could not read the settings: boom');
  });

  it('saves a language picked in the header in the app settings', async () => {
    const backend = fakeSettings();
    const { w, client } = await mountApp('ipc', (m, p) => backend.answer(m, p));
    await w.get(tid('lang-select')).setValue('zh-CN');
    await flushPromises();
    expect(callsOf(client.calls, 'updateSettings')).toEqual([{ settings: { language: 'zh-CN' } }]);
    expect(backend.settings.language).toBe('zh-CN');
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('zh-CN');
  });

  it('keeps the language picked in the header when saving it fails (logged, nothing shown)', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const backend = fakeSettings();
    backend.failNext = new ApiCallError({ code: 'refused', message: 'settings.json is read-only' });
    const { w } = await mountApp('ipc', (m, p) => backend.answer(m, p));
    await w.get(tid('lang-select')).setValue('fr');
    await flushPromises();
    expect(document.documentElement.lang).toBe('fr');
    expect(logged).toHaveBeenCalledWith(
      'hostmem: the language was not saved in the settings: settings.json is read-only',
    );
    expect(w.find('[role="alert"]').exists()).toBe(false);
  });

  it('does not save the header language in the browser', async () => {
    const { w, client } = await mountApp('websocket', () => ({}));
    await w.get(tid('lang-select')).setValue('fr');
    await flushPromises();
    expect(document.documentElement.lang).toBe('fr');
    expect(callsOf(client.calls, 'updateSettings')).toEqual([]);
  });
});
