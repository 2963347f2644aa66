import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Plugin } from 'vue';
import { ApiCallError, type AppSettings, type HostPolicy, type ScenarioInfo } from '../api/contract';
import { STORAGE_KEY, type Locale } from '../i18n';
import { applyTheme, currentTheme } from '../lib/theme';
import { useHostStore } from '../stores/host';
import { hostInfo } from '../test/fixtures';
import { setup } from '../test/harness';
import { fakeSettings, fakeToken, SETTINGS_PATH, type FakeSettings } from '../test/settings';
import SettingsDialog from './SettingsDialog.vue';

const tid = (id: string): string => `[data-testid="${id}"]`;
const MiB = 1024 * 1024;

const SCENARIOS: ScenarioInfo[] = ['steady', 'leak', 'pressure'].map((name) => ({ name, description: '', params: [] }));

let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  applyTheme('system');
  localStorage.clear();
  document.documentElement.lang = '';
  vi.restoreAllMocks();
});

async function open(backend: FakeSettings, locale: Locale = 'en') {
  const s = setup((m, p) => backend.answer(m, p), locale, { transport: 'ipc', hello: { scenarios: SCENARIOS } });
  wrapper = mount(SettingsDialog, { global: { plugins: s.plugins as Plugin[] }, attachTo: document.body });
  await flushPromises();
  return { ...s, w: wrapper };
}

const updates = (calls: { method: string; params: unknown }[]) =>
  calls.filter((c) => c.method === 'updateSettings').map((c) => c.params);

const value = (w: VueWrapper, id: string): string => (w.get(tid(id)).element as HTMLInputElement).value;
const checked = (w: VueWrapper, id: string): boolean => (w.get(tid(id)).element as HTMLInputElement).checked;

describe('settings dialog', () => {
  it('is a labelled modal dialog that loads the settings into its form', async () => {
    const backend = fakeSettings({ samplingIntervalMs: 500, historyLength: '6h', theme: 'dark', startAtLogin: true });
    const { w, client } = await open(backend);
    expect(client.calls.filter((c) => c.method === 'getSettings')).toHaveLength(1);
    const dialog = w.get(tid('settings-dialog'));
    expect(dialog.attributes('role')).toBe('dialog');
    expect(dialog.attributes('aria-modal')).toBe('true');
    expect(document.getElementById(dialog.attributes('aria-labelledby')!)?.textContent).toBe('Settings');
    expect(w.find(tid('settings-loading')).exists()).toBe(false);

    expect(value(w, 'settings-sampling-interval')).toBe('500');
    expect(value(w, 'settings-history-length')).toBe('6h');
    expect(value(w, 'settings-language')).toBe('system');
    expect(value(w, 'settings-theme')).toBe('dark');
    expect(checked(w, 'settings-close-to-tray')).toBe(true);
    expect(checked(w, 'settings-start-at-login')).toBe(true);
    expect(value(w, 'settings-default-workload')).toBe('steady');
    // None, then the scenarios of hello.
    expect(w.findAll(`${tid('settings-default-workload')} option`).map((o) => o.attributes('value'))).toEqual([
      'none',
      'steady',
      'leak',
      'pressure',
    ]);
    expect(w.findAll(`${tid('settings-language')} option`).map((o) => o.attributes('value'))).toEqual([
      'system',
      'en',
      'fr',
      'zh-CN',
    ]);
    expect(w.get(tid('settings-path')).text()).toContain(SETTINGS_PATH);
    // Nothing changed yet: nothing to save, nothing waiting for a restart.
    expect(w.get(tid('settings-submit')).attributes('disabled')).toBeDefined();
    expect(w.find(tid('settings-pending')).exists()).toBe(false);
    // Focus went into the form.
    expect(document.activeElement).toBe(w.get(tid('settings-sampling-interval')).element);
  });

  it('sends only the settings that changed, then says which wait for a restart', async () => {
    const backend = fakeSettings();
    const { w, client } = await open(backend);
    await w.get(tid('settings-sampling-interval')).setValue('1000');
    await w.get(tid('settings-history-length')).setValue('24h');
    await w.get(tid('settings-start-at-login')).setValue(true);
    // Changed and changed back: not sent.
    await w.get(tid('settings-close-to-tray')).setValue(false);
    await w.get(tid('settings-close-to-tray')).setValue(true);
    expect(w.get(tid('settings-submit')).attributes('disabled')).toBeUndefined();
    await w.get('form').trigger('submit');
    await flushPromises();

    expect(updates(client.calls)).toEqual([
      { settings: { samplingIntervalMs: 1000, historyLength: '24h', startAtLogin: true } },
    ]);
    const result = w.get(tid('settings-result'));
    expect(result.text()).toBe('Settings saved.');
    expect(result.attributes('data-saved')).toBe('samplingIntervalMs,historyLength,startAtLogin');
    const pending = w.get(tid('settings-pending'));
    expect(pending.attributes('data-pending')).toBe('samplingIntervalMs,historyLength');
    expect(pending.text()).toBe('Restart hostmem for these to take effect: Sampling interval and History kept.');
    // Saved: nothing left to send, and the dialog stays open until closed.
    expect(w.get(tid('settings-submit')).attributes('disabled')).toBeDefined();
    expect(w.get(tid('settings-cancel')).text()).toBe('Close');
    expect(w.emitted('close')).toBeUndefined();

    // A second change sends that one only.
    await w.get(tid('settings-default-workload')).setValue('none');
    expect(w.find(tid('settings-result')).exists()).toBe(false);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(updates(client.calls)[1]).toEqual({ settings: { defaultWorkload: 'none' } });
    expect(w.get(tid('settings-pending')).attributes('data-pending')).toBe(
      'samplingIntervalMs,historyLength,defaultWorkload',
    );
  });

  it('turns the Prometheus endpoint on with its port, shows its URL and token, and asks for a new token', async () => {
    const backend = fakeSettings();
    const { w, client } = await open(backend);
    // Off by default: no token yet, and New token waits for the endpoint to be on.
    expect(checked(w, 'settings-metrics-enabled')).toBe(false);
    expect(value(w, 'settings-metrics-port')).toBe('9477');
    expect(w.get(tid('settings-metrics-status')).text()).toBe('Off.');
    expect(w.get(tid('settings-metrics-token')).text()).toBe('made when the endpoint is turned on');
    expect(w.get(tid('settings-metrics-new-token')).attributes('disabled')).toBeDefined();

    for (const bad of ['80', '70000', '']) {
      await w.get(tid('settings-metrics-port')).setValue(bad);
      expect(w.get(tid('settings-metrics-port-error')).text(), bad).toBe('Enter a port from 1024 to 65535.');
      expect(w.get(tid('settings-submit')).attributes('disabled'), bad).toBeDefined();
    }
    await w.get(tid('settings-metrics-port')).setValue('19090');
    await w.get(tid('settings-metrics-enabled')).setValue(true);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(updates(client.calls)).toEqual([{ settings: { metricsEnabled: true, metricsPort: 19090 } }]);
    const status = w.get(tid('settings-metrics-status'));
    expect(status.attributes('data-url')).toBe('http://127.0.0.1:19090/metrics');
    expect(status.text()).toBe('Serving at http://127.0.0.1:19090/metrics');
    expect(w.get(tid('settings-metrics-token')).text()).toBe(fakeToken(1));
    // Nothing waits for a restart: it applies at once.
    expect(w.find(tid('settings-pending')).exists()).toBe(false);

    // Main copies it (the page has no clipboard permission in the app).
    await w.get(tid('settings-metrics-copy')).trigger('click');
    await flushPromises();
    expect(client.calls.filter((c) => c.method === 'copyToClipboard').map((c) => c.params)).toEqual([
      { what: 'metricsToken' },
    ]);
    expect(w.get(tid('settings-metrics-copy')).text()).toBe('Copied');

    await w.get(tid('settings-metrics-new-token')).trigger('click');
    await flushPromises();
    expect(updates(client.calls)[1]).toEqual({ settings: { metricsToken: '' } });
    expect(w.get(tid('settings-metrics-token')).text()).toBe(fakeToken(2));
  });

  it('says why the endpoint is not serving', async () => {
    const backend = fakeSettings({ metricsEnabled: true, metricsToken: fakeToken(7) });
    const answer = backend.answer.bind(backend);
    backend.answer = (method, params) => {
      const r = answer(method, params);
      return method === 'getSettings'
        ? {
            ...(r as object),
            metrics: { url: null, error: 'port 9477 is already in use on 127.0.0.1: choose another one' },
          }
        : r;
    };
    const { w } = await open(backend, 'fr');
    expect(w.get(tid('settings-metrics-status')).text()).toBe(
      'Métriques non servies : port 9477 is already in use on 127.0.0.1: choose another one',
    );
  });

  it('shows settings still waiting for a restart when it opens', async () => {
    const backend = fakeSettings();
    backend.settings = { ...backend.settings, historyLength: '15m' };
    const { w } = await open(backend, 'fr');
    const pending = w.get(tid('settings-pending'));
    expect(pending.attributes('data-pending')).toBe('historyLength');
    expect(pending.text()).toBe('Redémarrez hostmem pour appliquer : Historique conservé.');
    expect(w.find(tid('settings-result')).exists()).toBe(false);
  });

  it('does not send an out-of-range sampling interval', async () => {
    const { w, client } = await open(fakeSettings());
    for (const bad of ['50', '10001', '']) {
      await w.get(tid('settings-sampling-interval')).setValue(bad);
      expect(w.get(tid('settings-sampling-error')).text(), bad).toBe(
        'Enter a whole number of milliseconds from 100 to 10,000.',
      );
      expect(w.get(tid('settings-sampling-interval')).attributes('aria-invalid')).toBe('true');
      expect(w.get(tid('settings-submit')).attributes('disabled'), bad).toBeDefined();
    }
    // Even with another change, Save waits for a valid interval.
    await w.get(tid('settings-theme')).setValue('light');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(updates(client.calls)).toEqual([]);
    await w.get(tid('settings-sampling-interval')).setValue('100');
    expect(w.find(tid('settings-sampling-error')).exists()).toBe(false);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(updates(client.calls)).toEqual([{ settings: { samplingIntervalMs: 100, theme: 'light' } }]);
  });

  it('keeps a refusal in the dialog with its issues, and the form as it was', async () => {
    const backend = fakeSettings();
    backend.failNext = new ApiCallError({
      code: 'bad-request',
      message: 'invalid params for updateSettings: params.settings.defaultWorkload: not a scenario',
      issues: [
        'params.settings.defaultWorkload: a built-in scenario (steady, leak) or "none"',
        'params.settings.policy.thresholds.eTaskCritical: Too big',
      ],
    });
    const { w, client } = await open(backend);
    await w.get(tid('settings-default-workload')).setValue('pressure');
    await w.get(tid('settings-language')).setValue('fr');
    await w.get('form').trigger('submit');
    await flushPromises();

    const error = w.get(tid('settings-error'));
    expect(error.attributes('role')).toBe('alert');
    expect(error.text()).toContain('The settings were not saved; nothing was changed:');
    expect(w.findAll(tid('settings-error-issue')).map((i) => i.text())).toEqual([
      'Workload at start-up: a built-in scenario (steady, leak) or "none"',
      'Policy at start-up (thresholds.eTaskCritical): Too big',
    ]);
    // The controls named are marked.
    expect(w.get(tid('settings-default-workload')).attributes('aria-invalid')).toBe('true');
    expect(w.get(tid('settings-language')).attributes('aria-invalid')).toBe('false');
    expect(w.find(tid('settings-result')).exists()).toBe(false);
    expect(w.emitted('close')).toBeUndefined();
    // The choices are still there; the language did not change in the page.
    expect(value(w, 'settings-default-workload')).toBe('pressure');
    expect(value(w, 'settings-language')).toBe('fr');
    expect(document.documentElement.lang).not.toBe('fr');
    expect(w.get(tid('settings-submit')).attributes('disabled')).toBeUndefined();

    // Again: the same change, and this time it is saved.
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.find(tid('settings-error')).exists()).toBe(false);
    expect(w.get(tid('settings-default-workload')).attributes('aria-invalid')).toBe('false');
    const sent = updates(client.calls);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
  });

  it('shows a refusal without issues as its message', async () => {
    const backend = fakeSettings();
    backend.failNext = new ApiCallError({ code: 'refused', message: 'EACCES: settings.json is read-only' });
    const { w } = await open(backend);
    await w.get(tid('settings-close-to-tray')).setValue(false);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get(tid('settings-error')).text()).toBe('The settings were not saved: EACCES: settings.json is read-only');
    expect(checked(w, 'settings-close-to-tray')).toBe(false);
  });

  it('applies a saved language and theme to the page at once', async () => {
    const { w } = await open(fakeSettings());
    await w.get(tid('settings-language')).setValue('fr');
    await w.get(tid('settings-theme')).setValue('dark');
    // Not before they are saved.
    expect(document.documentElement.dataset.theme).toBeUndefined();
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(document.documentElement.lang).toBe('fr');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('fr');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(currentTheme()).toBe('dark');
    // The dialog itself speaks French now.
    expect(document.getElementById('settings-title')?.textContent).toBe('Paramètres');
    expect(w.get(tid('settings-result')).text()).toBe('Paramètres enregistrés.');
    // Language and theme apply at once: nothing waits for a restart.
    expect(w.find(tid('settings-pending')).exists()).toBe(false);

    // 'system': the browser's language (happy-dom: en-US) and the OS's theme.
    await w.get(tid('settings-language')).setValue('system');
    await w.get(tid('settings-theme')).setValue('system');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(document.documentElement.lang).toBe('en');
    expect(document.documentElement.dataset.theme).toBeUndefined();
    expect(document.getElementById('settings-title')?.textContent).toBe('Settings');
  });

  it('saves the policy in force as the start-up policy and shows its limits', async () => {
    const backend = fakeSettings();
    const { w, client } = await open(backend);
    expect(w.get(tid('settings-policy-saved')).text()).toBe('commit limit none, reserve limit none');
    expect(w.get(tid('settings-policy-current')).text()).toBe('not known yet');
    expect(w.get(tid('settings-policy-use')).attributes('disabled')).toBeDefined();

    // The host store learns the policy in force from the pushes.
    const inForce: HostPolicy = {
      ...hostInfo.policy,
      commitLimit: 64 * MiB,
      reserveLimit: 256 * MiB,
      faults: [{ op: 'VirtualAlloc', level: 'eTaskCritical', everyNth: 7 }],
    };
    useHostStore().info = { ...hostInfo, policy: inForce };
    await flushPromises();
    expect(w.get(tid('settings-policy-current')).text()).toBe('commit limit 64 MiB, reserve limit 256 MiB');
    // Something else being edited stays as it is.
    await w.get(tid('settings-history-length')).setValue('6h');
    await w.get(tid('settings-policy-use')).trigger('click');
    await flushPromises();

    expect(updates(client.calls)).toEqual([
      {
        settings: {
          policy: {
            commitLimit: 64 * MiB,
            reserveLimit: 256 * MiB,
            thresholds: hostInfo.policy.thresholds,
            processCriticalWaitMs: hostInfo.policy.processCriticalWaitMs,
            faults: [{ op: 'VirtualAlloc', level: 'eTaskCritical', everyNth: 7 }],
            seed: hostInfo.policy.seed,
          },
        },
      },
    ]);
    const saved = w.get(tid('settings-policy-saved'));
    expect(saved.text()).toBe('commit limit 64 MiB, reserve limit 256 MiB');
    expect(saved.attributes('data-commit-limit')).toBe(String(64 * MiB));
    expect(saved.attributes('data-reserve-limit')).toBe(String(256 * MiB));
    expect(w.get(tid('settings-result')).attributes('data-saved')).toBe('policy');
    expect(w.get(tid('settings-pending')).attributes('data-pending')).toBe('policy');
    expect(w.get(tid('settings-pending')).text()).toContain('Policy at start-up');
    // It is the start-up policy now; the unsaved history choice is still there, still to be saved.
    expect(w.get(tid('settings-policy-use')).attributes('disabled')).toBeDefined();
    expect(w.find(tid('settings-policy-same')).exists()).toBe(true);
    expect(value(w, 'settings-history-length')).toBe('6h');
    expect(w.get(tid('settings-submit')).attributes('disabled')).toBeUndefined();
  });

  it('keeps a saved default workload the backend no longer lists', async () => {
    const { w } = await open(fakeSettings({ defaultWorkload: 'retired' } as Partial<AppSettings>));
    expect(value(w, 'settings-default-workload')).toBe('retired');
  });

  it('says so when the settings cannot be read, and tries again', async () => {
    let fail = true;
    const backend = fakeSettings();
    const { w } = await open({
      ...backend,
      answer: (m, p) =>
        m === 'getSettings' && fail
          ? Promise.reject(new ApiCallError({ code: 'refused', message: 'settings belong to the desktop app' }))
          : backend.answer(m, p),
    });
    expect(w.get(tid('settings-load-error')).text()).toContain(
      'Could not read the settings: settings belong to the desktop app',
    );
    expect(w.find('form').exists()).toBe(false);
    fail = false;
    await w.get(tid('settings-retry')).trigger('click');
    await flushPromises();
    expect(w.find(tid('settings-load-error')).exists()).toBe(false);
    expect(value(w, 'settings-history-length')).toBe('1h');
  });

  it('closes on Escape and from its buttons, without saving', async () => {
    const { w, client } = await open(fakeSettings());
    await w.get(tid('settings-theme')).setValue('dark');
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(w.emitted('close')).toHaveLength(1);
    expect(updates(client.calls)).toEqual([]);
    w.unmount();
    wrapper = null;

    for (const id of ['settings-cancel', 'settings-close']) {
      const other = await open(fakeSettings());
      await other.w.get(tid(id)).trigger('click');
      expect(other.w.emitted('close'), id).toHaveLength(1);
      other.w.unmount();
      wrapper = null;
    }
  });

  it('keeps Tab inside the dialog', async () => {
    const { w } = await open(fakeSettings());
    const first = w.get(tid('settings-close')).element as HTMLElement;
    const last = w.get(tid('settings-cancel')).element as HTMLElement;
    first.focus();
    const shiftTab = new KeyboardEvent('keydown', { key: 'Tab', shiftKey: true, bubbles: true, cancelable: true });
    first.dispatchEvent(shiftTab);
    expect(shiftTab.defaultPrevented).toBe(true);
    // Save is disabled (nothing changed): Cancel is the last focusable element.
    expect(document.activeElement).toBe(last);
    last.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(first);
  });
});
