import { flushPromises, mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { Plugin } from 'vue';
import { delta, failure, full, row, stats } from '../test/fixtures';
import { setup } from '../test/harness';
import FailuresView from '../views/FailuresView.vue';
import AllocationsView from '../views/AllocationsView.vue';
import RegionDrawer from './RegionDrawer.vue';

function rows(n: number) {
  const out = [];
  for (let i = 0; i < n; i++)
    out.push(
      row(0x10000 * (i + 1), {
        size: 0x10000,
        tag: i % 2 ? 'odd' : 'even',
        level: i % 3 === 0 ? 'eProcessCritical' : 'eTaskCritical',
      }),
    );
  return out;
}

describe('allocation table', () => {
  it('renders only a window of 100,000 rows, sorts, filters and finds an address', async () => {
    const { client, plugins } = setup();
    client.push(full({ rows: rows(100_000), stats: stats({ regions: 100_000 }) }));
    const w = mount(AllocationsView, { global: { plugins: plugins as Plugin[] }, attachTo: document.body });
    await flushPromises();
    const table = w.get('[data-testid="allocation-table"]');
    expect(table.attributes('data-total')).toBe('100000');
    const rendered = w.findAll('[data-testid="allocation-row"]');
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.length).toBeLessThan(100);
    expect(rendered[0]!.attributes('data-base')).toBe(String(0x10000));

    // Scroll far down: the window moves.
    (table.element as HTMLElement).scrollTop = 30 * 50_000;
    await table.trigger('scroll');
    const after = w.findAll('[data-testid="allocation-row"]');
    expect(after.length).toBeLessThan(100);
    const bases = after.map((r) => Number(r.attributes('data-base')));
    expect(bases).toContain(0x10000 * 50_001);

    // Sort by base descending.
    await w.get('[data-testid="allocation-sort-base"]').trigger('click');
    await flushPromises();
    (table.element as HTMLElement).scrollTop = 0;
    await table.trigger('scroll');
    expect(w.findAll('[data-testid="allocation-row"]')[0]!.attributes('data-base')).toBe(String(0x10000 * 100_000));

    // Filter by level.
    await w.get('[data-testid="filter-level"]').setValue('eProcessCritical');
    await flushPromises();
    expect(w.get('[data-testid="allocation-table"]').attributes('data-total')).toBe(String(Math.ceil(100_000 / 3)));
    await w.get('[data-testid="filter-level"]').setValue('');

    // Search by address: inside the 1,234th region.
    const target = 0x10000 * 1234 + 0x1234;
    await w.get('[data-testid="allocation-search"]').setValue(target.toString(16));
    await w.get('form[role="search"]').trigger('submit');
    await flushPromises();
    const result = w.get('[data-testid="allocation-search-result"]');
    expect(result.attributes('data-found')).toBe('true');
    expect(w.get('[data-testid="drawer"]').attributes('data-base')).toBe(String(0x10000 * 1234));
    expect(w.find(`[data-testid="allocation-row"][data-base="${0x10000 * 1234}"]`).exists()).toBe(true);

    await w.get('[data-testid="allocation-search"]').setValue('1');
    await w.get('form[role="search"]').trigger('submit');
    expect(w.get('[data-testid="allocation-search-result"]').attributes('data-found')).toBe('false');
    w.unmount();
  });

  it('follows deltas: added rows appear, removed ones leave', async () => {
    const { client, plugins } = setup();
    client.push(full({ rows: [row(0x10000)] }));
    const w = mount(AllocationsView, { global: { plugins: plugins as Plugin[] } });
    await flushPromises();
    client.push(delta(2, { added: [row(0x20000)], removed: [0x10000] }));
    await new Promise((r) => setTimeout(r, 5));
    await flushPromises();
    const bases = w.findAll('[data-testid="allocation-row"]').map((r) => r.attributes('data-base'));
    expect(bases).toEqual([String(0x20000)]);
  });
});

describe('the table from the keyboard', () => {
  it('is one Tab stop over 100,000 rows: End, Home, PageDown, arrows and Enter move within it', async () => {
    const { client, plugins } = setup();
    client.push(full({ rows: rows(100_000), stats: stats({ regions: 100_000 }) }));
    const w = mount(AllocationsView, { global: { plugins: plugins as Plugin[] }, attachTo: document.body });
    await flushPromises();
    const grid = w.get('[data-testid="allocation-table"]');
    expect(grid.attributes('role')).toBe('grid');
    expect(grid.attributes('tabindex')).toBe('0');
    // No row is a Tab stop of its own.
    expect(w.findAll('[data-testid="allocation-row"][tabindex="0"]')).toHaveLength(0);
    (grid.element as HTMLElement).focus();
    await grid.trigger('focus');
    const active = () => Number(grid.attributes('data-active'));
    expect(active()).toBe(0x10000);
    await grid.trigger('keydown', { key: 'End' });
    expect(active()).toBe(0x10000 * 100_000);
    // The last row is rendered and named by aria-activedescendant.
    const id = grid.attributes('aria-activedescendant');
    expect(id).toBeTruthy();
    expect(w.find(`[id="${id}"]`).attributes('data-base')).toBe(String(0x10000 * 100_000));
    await grid.trigger('keydown', { key: 'Home' });
    expect(active()).toBe(0x10000);
    await grid.trigger('keydown', { key: 'PageDown' });
    const paged = active();
    expect(paged).toBeGreaterThan(0x10000 * 2);
    await grid.trigger('keydown', { key: 'ArrowDown' });
    expect(active()).toBe(paged + 0x10000);
    await grid.trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(w.get('[data-testid="drawer"]').attributes('data-base')).toBe(String(paged + 0x10000));

    // ↑ from the first row reaches the sort buttons (not Tab stops), ←/→ between them, ↓ back to the rows.
    await grid.trigger('keydown', { key: 'Home' });
    await grid.trigger('keydown', { key: 'ArrowUp' });
    const base = w.get('[data-testid="allocation-sort-base"]');
    expect(base.attributes('tabindex')).toBe('-1');
    expect(document.activeElement).toBe(base.element);
    await base.trigger('keydown', { key: 'ArrowRight' });
    expect(document.activeElement).toBe(w.get('[data-testid="allocation-sort-size"]').element);
    await w.get('[data-testid="allocation-sort-size"]').trigger('keydown', { key: 'ArrowDown' });
    expect(document.activeElement).toBe(grid.element);
    w.unmount();
  });
});

describe('region drawer', () => {
  it('shows the page map and releases / decommits through virtualFree', async () => {
    const { client, plugins } = setup((method) => {
      if (method === 'pageMap') {
        return {
          found: true,
          pageSize: 4096,
          region: row(0x10000),
          runs: [
            { start: 0, end: 1, protect: 4, state: 'commit' },
            { start: 1, end: 16, protect: 0, state: 'reserve' },
          ],
        };
      }
      if (method === 'virtualFree') return { hr: 0, hrName: 'S_OK' };
      return {};
    });
    client.push(full({ rows: [row(0x10000)] }));
    const w = mount(RegionDrawer, { props: { base: 0x10000 }, global: { plugins: plugins as Plugin[] } });
    await flushPromises();
    expect(client.calls.find((c) => c.method === 'pageMap')?.params).toEqual({ address: 0x10000 });
    expect(w.findAll('.seg')).toHaveLength(2);
    expect(w.get('[data-testid="drawer-pagemap"]').attributes('data-runs')).toBe('2');

    await w.get('[data-testid="drawer-decommit"]').trigger('click');
    await flushPromises();
    expect(client.calls.filter((c) => c.method === 'virtualFree').at(-1)?.params).toEqual({
      address: 0x10000,
      size: 65536,
      type: 0x4000,
    });
    await w.get('[data-testid="drawer-release"]').trigger('click');
    await flushPromises();
    expect(client.calls.filter((c) => c.method === 'virtualFree').at(-1)?.params).toEqual({
      address: 0x10000,
      size: 0,
      type: 0x8000,
    });
    const result = w.get('[data-testid="drawer-result"]');
    expect(result.attributes('data-hr')).toBe('0x00000000');
    expect(result.text()).toContain('S_OK');
  });

  it('closes on Escape', async () => {
    const { plugins } = setup(() => ({ found: false, pageSize: 4096 }));
    const w = mount(RegionDrawer, {
      props: { base: 0x10000 },
      global: { plugins: plugins as Plugin[] },
      attachTo: document.body,
    });
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    expect(w.emitted('close')).toHaveLength(1);
    w.unmount();
  });
});

describe('failures view', () => {
  it('groups events by critical level with counts, bytes and reasons', async () => {
    const { client, plugins } = setup();
    client.push(
      full({
        failures: [
          failure('eTaskCritical', { size: 100 }),
          failure('eTaskCritical', { size: 50, reason: 'injected' }),
          failure('eProcessCritical', { size: 7, hr: 0x80131023, reason: 'unavailable' }),
          failure('other', { method: 'VirtualFree', size: 0, hr: 0x800701e7, reason: 'invalid' }),
        ],
        stats: stats({ failures: { eTaskCritical: 12, eAppDomainCritical: 0, eProcessCritical: 1, other: 1 } }),
      }),
    );
    const w = mount(FailuresView, { global: { plugins: plugins as Plugin[] } });
    await flushPromises();
    expect(w.get('[data-testid="failures-eTaskCritical-count"]').attributes('data-count')).toBe('12');
    expect(w.get('[data-testid="failures-eAppDomainCritical-count"]').attributes('data-count')).toBe('0');
    expect(w.get('[data-testid="failures-eTaskCritical-bytes"]').attributes('data-bytes')).toBe('150');
    const proc = w.get('[data-testid="failures-eProcessCritical"]');
    expect(proc.findAll('[data-testid="failure-event"]')).toHaveLength(1);
    expect(proc.text()).toContain('HOST_E_CLRNOTAVAILABLE');
    expect(proc.text()).toContain('host unavailable');
    const other = w.get('[data-testid="failures-other"]');
    expect(other.text()).toContain('HRESULT_FROM_WIN32(ERROR_INVALID_ADDRESS)');
    expect(w.get('[data-testid="failures-eTaskCritical"]').findAll('[data-testid="failure-event"]')).toHaveLength(2);

    client.push(
      delta(2, {
        failures: [failure('eAppDomainCritical')],
        stats: stats({ failures: { eTaskCritical: 12, eAppDomainCritical: 1, eProcessCritical: 1, other: 1 } }),
      }),
    );
    await flushPromises();
    expect(w.get('[data-testid="failures-eAppDomainCritical-count"]').attributes('data-count')).toBe('1');
  });
});
