import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Plugin } from 'vue';
import { ApiCallError, type ExportResult } from '../api/contract';
import type { Locale } from '../i18n';
import { setup, type Answer } from '../test/harness';
import ExportDialog from './ExportDialog.vue';

const tid = (id: string): string => `[data-testid="${id}"]`;

let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.restoreAllMocks();
});

function open(answer: Answer, locale: Locale = 'en') {
  const s = setup(answer, locale);
  wrapper = mount(ExportDialog, { global: { plugins: s.plugins as Plugin[] }, attachTo: document.body });
  return { ...s, w: wrapper };
}

const exportCalls = (calls: { method: string; params: unknown }[]) => calls.filter((c) => c.method === 'exportReport');

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('export dialog', () => {
  it('is a labelled modal dialog and asks in the UI language, with every section, by default', async () => {
    const { w, client } = open(() => ({ outcome: 'cancelled' }) satisfies ExportResult, 'zh-CN');
    await flushPromises();
    const dialog = w.get(tid('export-dialog'));
    expect(dialog.attributes('role')).toBe('dialog');
    expect(dialog.attributes('aria-modal')).toBe('true');
    const title = document.getElementById(dialog.attributes('aria-labelledby')!);
    expect(title?.textContent).toBe('导出报告');
    expect((w.get(tid('export-language')).element as HTMLSelectElement).value).toBe('zh-CN');
    // Focus moved into the dialog (the checked format).
    expect(document.activeElement).toBe(w.get(tid('export-format-html')).element);

    await w.get(tid('export-submit')).trigger('submit');
    await flushPromises();
    expect(exportCalls(client.calls).map((c) => c.params)).toEqual([
      { format: 'html', include: ['allocations', 'failures', 'samples'], language: 'zh-CN' },
    ]);
  });

  it('sends the chosen format, sections and language', async () => {
    const { w, client } = open(() => ({ outcome: 'saved', files: ['/tmp/r.csv'] }) satisfies ExportResult);
    await w.get(tid('export-format-csv')).setValue(true);
    await w.get(tid('export-include-failures')).setValue(false);
    await w.get(tid('export-language')).setValue('fr');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(exportCalls(client.calls).map((c) => c.params)).toEqual([
      { format: 'csv', include: ['allocations', 'samples'], language: 'fr' },
    ]);
  });

  it('shows progress while the export runs, then lists the saved files', async () => {
    const pending = deferred<ExportResult>();
    const { w } = open(() => pending.promise);
    await w.get(tid('export-format-csv')).setValue(true);
    await w.get('form').trigger('submit');
    await flushPromises();
    const submit = w.get(tid('export-submit'));
    expect(submit.attributes('disabled')).toBeDefined();
    expect(submit.text()).toBe('Exporting…');
    expect(w.get(tid('export-dialog')).attributes('aria-busy')).toBe('true');

    pending.resolve({
      outcome: 'saved',
      files: ['/home/me/report.csv', '/home/me/report.failures.csv', '/home/me/report.samples.csv'],
    });
    await flushPromises();
    expect(w.get(tid('export-submit')).attributes('disabled')).toBeUndefined();
    const result = w.get(tid('export-result'));
    expect(result.attributes('data-outcome')).toBe('saved');
    expect(result.findAll(tid('export-file')).map((f) => f.text())).toEqual([
      '/home/me/report.csv',
      '/home/me/report.failures.csv',
      '/home/me/report.samples.csv',
    ]);
    expect(w.emitted('close')).toBeUndefined();
    expect(w.get(tid('export-cancel')).text()).toBe('Close');
  });

  it('downloads each file of a download outcome through an <a download> (same-origin links only)', async () => {
    const clicked: { href: string; download: string; attached: boolean }[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.getAttribute('href') ?? '', download: this.download, attached: this.isConnected });
    });
    const { w } = open(
      () =>
        ({
          outcome: 'download',
          files: [
            { name: 'hostmem-report.csv', url: '/download/a1' },
            { name: 'hostmem-report.failures.csv', url: '/download/b2' },
            { name: 'hostmem-report.samples.csv', url: '/download/c3' },
            { name: 'elsewhere.csv', url: 'https://elsewhere.example/download/d4' },
          ],
        }) satisfies ExportResult,
    );
    await w.get(tid('export-format-csv')).setValue(true);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(clicked).toEqual([
      { href: '/download/a1', download: 'hostmem-report.csv', attached: true },
      { href: '/download/b2', download: 'hostmem-report.failures.csv', attached: true },
      { href: '/download/c3', download: 'hostmem-report.samples.csv', attached: true },
    ]);
    // The temporary anchors are gone; the dialog says what it did and keeps the links.
    expect(document.body.querySelectorAll('a[href^="/download/"]').length).toBe(3);
    const result = w.get(tid('export-result'));
    expect(result.attributes('data-outcome')).toBe('download');
    expect(result.findAll(`${tid('export-file')} a`).map((a) => a.attributes('download'))).toEqual([
      'hostmem-report.csv',
      'hostmem-report.failures.csv',
      'hostmem-report.samples.csv',
    ]);
    expect(result.text()).toContain('Your browser is downloading');
  });

  it('keeps an error in the dialog, with the form as it was', async () => {
    let fail = true;
    const { w, client } = open(() =>
      fail
        ? Promise.reject(new ApiCallError({ code: 'refused', message: 'no Chromium found' }))
        : ({ outcome: 'saved', files: ['/tmp/r.pdf'] } satisfies ExportResult),
    );
    await w.get(tid('export-format-pdf')).setValue(true);
    await w.get(tid('export-include-samples')).setValue(false);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.emitted('close')).toBeUndefined();
    const error = w.get(tid('export-error'));
    expect(error.attributes('role')).toBe('alert');
    expect(error.text()).toBe('Export failed: no Chromium found');
    expect((w.get(tid('export-format-pdf')).element as HTMLInputElement).checked).toBe(true);
    expect((w.get(tid('export-include-samples')).element as HTMLInputElement).checked).toBe(false);
    expect(w.get(tid('export-submit')).attributes('disabled')).toBeUndefined();

    // Try again: the error goes, the same request is sent.
    fail = false;
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.find(tid('export-error')).exists()).toBe(false);
    const sent = exportCalls(client.calls).map((c) => c.params);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[0]).toEqual({ format: 'pdf', include: ['allocations', 'failures'], language: 'en' });
  });

  it('closes quietly when the save dialog was cancelled', async () => {
    const { w } = open(() => ({ outcome: 'cancelled' }) satisfies ExportResult);
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.emitted('close')).toHaveLength(1);
    expect(w.find(tid('export-error')).exists()).toBe(false);
  });

  it('closes on Escape (and nothing behind it sees the key), and from its buttons', async () => {
    const { w } = open(() => ({}));
    const behind = vi.fn();
    document.addEventListener('keydown', behind);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    document.removeEventListener('keydown', behind);
    expect(w.emitted('close')).toHaveLength(1);
    expect(behind).not.toHaveBeenCalled();
    w.unmount();

    for (const id of ['export-cancel', 'export-close']) {
      const other = open(() => ({}));
      await other.w.get(tid(id)).trigger('click');
      expect(other.w.emitted('close'), id).toHaveLength(1);
      other.w.unmount();
      wrapper = null;
    }
  });

  it('keeps Tab inside the dialog and gives focus back on close', async () => {
    const opener = document.createElement('button');
    document.body.append(opener);
    opener.focus();
    const { w } = open(() => ({}));
    await flushPromises();
    const first = w.get(tid('export-close')).element as HTMLElement;
    const last = w.get(tid('export-submit')).element as HTMLElement;
    first.focus();
    const shiftTab = new KeyboardEvent('keydown', { key: 'Tab', shiftKey: true, bubbles: true, cancelable: true });
    first.dispatchEvent(shiftTab);
    expect(shiftTab.defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(last);
    const tab = new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true });
    last.dispatchEvent(tab);
    expect(document.activeElement).toBe(first);

    w.unmount();
    wrapper = null;
    expect(document.activeElement).toBe(opener);
    opener.remove();
  });
});
