/**
 * The `reveal` push (a failure notification or a Recent failures item clicked in the app): the shell with the real
 * Failures view, over the IPC client (so that pushes go through `isPush` as they do in the app).
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Plugin } from 'vue';
import App from './App.vue';
import { createIpcClient } from './api/client';
import type { ApiClient, FailureRow, Method } from './api/contract';
import { createAppI18n, type Locale } from './i18n';
import { useConnectionStore } from './stores/connection';
import { resetLiveView } from './stores/live';
import { HIGHLIGHT_MS, REVEAL_WAIT_MS } from './stores/reveal';
import { delta, failure, full, stats } from './test/fixtures';

const tid = (id: string): string => `[data-testid="${id}"]`;

/** The preload bridge as the page sees it: the test pushes anything, well-formed or not. */
function fakeBridge(): ApiClient & { send(message: unknown): void } {
  const listeners = new Set<(m: unknown) => void>();
  const bridge = {
    call: (method: Method) => {
      if (method === 'hello') return Promise.resolve({ scenarios: [], host: null });
      if (method === 'workloads') return Promise.resolve({ workloads: [] });
      if (method === 'getSettings') return Promise.reject(new Error('no settings here'));
      return Promise.resolve({});
    },
    onPush: (l: (m: unknown) => void) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    send: (m: unknown) => {
      for (const l of listeners) l(m);
    },
  };
  return bridge as unknown as ApiClient & { send(message: unknown): void };
}

let wrapper: VueWrapper | null = null;

beforeEach(() => {
  vi.spyOn(console, 'error').mockImplementation(() => undefined); // getSettings refused
});

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.useRealTimers();
  vi.restoreAllMocks();
  localStorage.clear();
});

async function mountApp(locale: Locale = 'en') {
  const pinia = createPinia();
  setActivePinia(pinia);
  resetLiveView();
  const bridge = fakeBridge();
  useConnectionStore(pinia).connect(createIpcClient(bridge));
  wrapper = mount(App, {
    global: {
      plugins: [pinia, createAppI18n(locale)] as Plugin[],
      stubs: { OverviewView: true, AllocationsView: true, ScenariosView: true, SparkLine: true },
    },
    attachTo: document.body,
  });
  await flushPromises();
  return { w: wrapper, send: bridge.send };
}

/** Events of one level, oldest first (as pushed). */
function events(level: FailureRow['level'], n: number): FailureRow[] {
  return Array.from({ length: n }, () => failure(level));
}

const counts = (over: Partial<Record<FailureRow['level'], number>> = {}) =>
  stats({ failures: { eTaskCritical: 0, eAppDomainCritical: 0, eProcessCritical: 0, other: 0, ...over } });

function currentView(w: VueWrapper): string | undefined {
  return w.get('main').attributes('data-testid');
}

describe('reveal push', () => {
  it('switches to the Failures view, scrolls to the failure, focuses and highlights it for a while', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const scrolled = vi.spyOn(HTMLElement.prototype, 'scrollIntoView');
    const { w, send } = await mountApp();
    const task = events('eTaskCritical', 3);
    const proc = events('eProcessCritical', 2);
    send(full({ failures: [...task, ...proc], stats: counts({ eTaskCritical: 3, eProcessCritical: 2 }) }));
    await flushPromises();
    expect(currentView(w)).toBe('view-overview');

    const target = proc[0]!;
    send({ type: 'reveal', view: 'failures', failureSeq: target.seq });
    await flushPromises();
    expect(currentView(w)).toBe('view-failures');
    expect(w.get(tid('nav-failures')).attributes('aria-selected')).toBe('true');
    const row = w.get(`${tid('failures-eProcessCritical')} ${tid('failure-event')}[data-seq="${target.seq}"]`);
    expect(row.attributes('data-revealed')).toBe('true');
    expect(row.classes()).toContain('revealed');
    expect(w.findAll('[data-revealed]')).toHaveLength(1);
    expect(document.activeElement).toBe(row.element);
    expect(scrolled).toHaveBeenCalledTimes(1);
    expect(scrolled.mock.contexts[0]).toBe(row.element);
    expect(w.get(tid('reveal-announce')).text()).toBe(`Failure #${target.seq} is highlighted.`);
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);

    // Going away and back while it is highlighted does not take the focus again.
    await w.get(tid('nav-overview')).trigger('click');
    await w.get(tid('nav-failures')).trigger('click');
    await flushPromises();
    expect(scrolled).toHaveBeenCalledTimes(1);

    vi.advanceTimersByTime(HIGHLIGHT_MS);
    await flushPromises();
    expect(w.findAll('[data-revealed]')).toHaveLength(0);
    expect(w.get(tid('reveal-announce')).text()).toBe('');
  });

  it('opens a group to all its events when the failure is beyond the newest ones shown', async () => {
    const { w, send } = await mountApp();
    const task = events('eTaskCritical', 150);
    send(full({ failures: task, stats: counts({ eTaskCritical: 150 }) }));
    await w.get(tid('nav-failures')).trigger('click');
    await flushPromises();
    const group = w.get(tid('failures-eTaskCritical'));
    expect(group.findAll(tid('failure-event'))).toHaveLength(100);
    const more = w.get(tid('failures-eTaskCritical-more'));
    expect(more.attributes('aria-expanded')).toBe('false');
    expect(more.text()).toBe('Show all 150');

    const oldest = task[0]!; // the last row of the group, newest first
    send({ type: 'reveal', view: 'failures', failureSeq: oldest.seq });
    await flushPromises();
    expect(group.findAll(tid('failure-event'))).toHaveLength(150);
    expect(more.attributes('aria-expanded')).toBe('true');
    const row = group.get(`${tid('failure-event')}[data-seq="${oldest.seq}"]`);
    expect(row.attributes('data-revealed')).toBe('true');
    expect(document.activeElement).toBe(row.element);

    // The user can go back to the newest ones.
    expect(more.text()).toBe('Show the newest 100');
    await more.trigger('click');
    expect(group.findAll(tid('failure-event'))).toHaveLength(100);
    expect(more.text()).toBe('Show all 150');
  });

  it('says so when the failure is no longer in the list, until dismissed', async () => {
    const { w, send } = await mountApp('fr');
    const task = events('eTaskCritical', 2);
    send(full({ failures: task, stats: counts({ eTaskCritical: 40 }) }));
    await flushPromises();
    const gone = task[0]!.seq - 1; // older than every one held
    send({ type: 'reveal', view: 'failures', failureSeq: gone });
    await flushPromises();
    expect(currentView(w)).toBe('view-failures');
    const notice = w.get(tid('failure-reveal-missing'));
    expect(notice.attributes('data-seq')).toBe(String(gone));
    expect(notice.text()).toContain(`L'échec n° ${gone} n'est plus dans la liste`);
    expect(w.get(tid('reveal-announce')).text()).toBe(notice.get('span').text());
    expect(w.findAll('[data-revealed]')).toHaveLength(0);

    await w.get(tid('failure-reveal-dismiss')).trigger('click');
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);
    expect(document.activeElement?.classList.contains('view-title')).toBe(true);

    // A later reveal of a failure held replaces any notice.
    send({ type: 'reveal', view: 'failures', failureSeq: gone });
    await flushPromises();
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(true);
    send({ type: 'reveal', view: 'failures', failureSeq: task[1]!.seq });
    await flushPromises();
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);
    expect(w.get(`${tid('failure-event')}[data-seq="${task[1]!.seq}"]`).attributes('data-revealed')).toBe('true');
  });

  it('waits for a failure newer than the list (the notification beat its delta), then gives up', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { w, send } = await mountApp();
    const first = events('eTaskCritical', 1);
    send(full({ failures: first, stats: counts({ eTaskCritical: 1 }) }));
    await flushPromises();
    const next = failure('eAppDomainCritical');
    send({ type: 'reveal', view: 'failures', failureSeq: next.seq });
    await flushPromises();
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);
    send(delta(2, { failures: [next], stats: counts({ eTaskCritical: 1, eAppDomainCritical: 1 }) }));
    await flushPromises();
    const row = w.get(`${tid('failures-eAppDomainCritical')} ${tid('failure-event')}[data-seq="${next.seq}"]`);
    expect(row.attributes('data-revealed')).toBe('true');
    expect(document.activeElement).toBe(row.element);

    const never = next.seq + 1000;
    send({ type: 'reveal', view: 'failures', failureSeq: never });
    await flushPromises();
    expect(w.findAll('[data-revealed]')).toHaveLength(0);
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);
    vi.advanceTimersByTime(REVEAL_WAIT_MS);
    await flushPromises();
    expect(w.get(tid('failure-reveal-missing')).attributes('data-seq')).toBe(String(never));
  });

  it('decides nothing before the first full message', async () => {
    const { w, send } = await mountApp();
    const held = events('other', 2);
    send({ type: 'reveal', view: 'failures', failureSeq: held[0]!.seq });
    await flushPromises();
    expect(currentView(w)).toBe('view-failures');
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);
    send(full({ failures: held, stats: counts({ other: 2 }) }));
    await flushPromises();
    const row = w.get(`${tid('failures-other')} ${tid('failure-event')}[data-seq="${held[0]!.seq}"]`);
    expect(row.attributes('data-revealed')).toBe('true');
  });

  it('with no failure, only switches to the Failures view', async () => {
    const { w, send } = await mountApp();
    const task = events('eTaskCritical', 2);
    send(full({ failures: task, stats: counts({ eTaskCritical: 2 }) }));
    await flushPromises();
    send({ type: 'reveal', view: 'failures', failureSeq: null });
    await flushPromises();
    expect(currentView(w)).toBe('view-failures');
    expect(w.findAll('[data-revealed]')).toHaveLength(0);
    expect(w.find(tid('failure-reveal-missing')).exists()).toBe(false);
    expect(w.get(tid('reveal-announce')).text()).toBe('');
  });

  it('ignores a malformed reveal push', async () => {
    const { w, send } = await mountApp();
    const task = events('eTaskCritical', 2);
    send(full({ failures: task, stats: counts({ eTaskCritical: 2 }) }));
    await flushPromises();
    const seq = task[0]!.seq;
    for (const bad of [
      { type: 'reveal', view: 'allocations', failureSeq: seq },
      { type: 'reveal', failureSeq: seq },
      { type: 'reveal', view: 'failures' },
      { type: 'reveal', view: 'failures', failureSeq: String(seq) },
      { type: 'reveal', view: 'failures', failureSeq: seq + 0.5 },
      { type: 'reveal', view: 'failures', failureSeq: Number.NaN },
      { type: 'reveal', view: 'failures', failureSeq: 2 ** 53 },
      { type: 'reveal', view: 'failures', failureSeq: { seq } },
    ]) {
      send(bad);
      await flushPromises();
      expect(currentView(w), JSON.stringify(bad)).toBe('view-overview');
    }
    // A well-formed one still works afterwards.
    send({ type: 'reveal', view: 'failures', failureSeq: seq });
    await flushPromises();
    expect(currentView(w)).toBe('view-failures');
  });
});
