import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import App from './App.vue';
import type { HostmemBridge } from './bridge';

const bridge: HostmemBridge = { versions: { electron: '45.4.1', chrome: '142.0.0.0', node: '22.20.0' } };

describe('App', () => {
  afterEach(() => {
    Reflect.deleteProperty(window, 'hostmem');
  });

  it('shows the runtime versions the preload bridge exposes', () => {
    Object.defineProperty(window, 'hostmem', { value: bridge, configurable: true });
    const wrapper = mount(App);
    expect(wrapper.get('h1').text()).toBe('hostmem');
    const versions = wrapper.get('[data-test="versions"]').text();
    expect(versions).toContain('45.4.1');
    expect(versions).toContain('142.0.0.0');
    expect(versions).toContain('22.20.0');
    expect(wrapper.find('[data-test="outside"]').exists()).toBe(false);
  });

  it('says so when it is not running inside Electron', () => {
    const wrapper = mount(App);
    expect(wrapper.get('[data-test="outside"]').text()).toContain('Not running inside Electron');
    expect(wrapper.find('[data-test="versions"]').exists()).toBe(false);
  });
});
