/**
 * The colour theme. CSS follows `prefers-color-scheme` on its own; a theme chosen in the app's settings overrides it
 * through `<html data-theme="light|dark">` (styles.css), and canvases read `useDarkTheme()`.
 */
import { computed, onScopeDispose, shallowRef, type ComputedRef, type Ref } from 'vue';
import type { Theme } from '../api/contract';

/** The theme in force in this page ('system' follows the OS / the browser). */
const chosen = shallowRef<Theme>('system');

/** The theme in force ('system' until the app's settings say otherwise). */
export function currentTheme(): Theme {
  return chosen.value;
}

/** Apply a theme to the page at once. */
export function applyTheme(theme: Theme): void {
  chosen.value = theme;
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}

/** The OS colour scheme, as a reactive flag. */
export function usePrefersDark(): Ref<boolean> {
  const query =
    typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  const dark = shallowRef(query?.matches ?? false);
  if (query) {
    const listener = (e: MediaQueryListEvent): void => {
      dark.value = e.matches;
    };
    query.addEventListener('change', listener);
    onScopeDispose(() => query.removeEventListener('change', listener));
  }
  return dark;
}

/** Whether the page is dark: the chosen theme, or the OS's when it is 'system'. */
export function useDarkTheme(): ComputedRef<boolean> {
  const prefersDark = usePrefersDark();
  return computed(() => (chosen.value === 'system' ? prefersDark.value : chosen.value === 'dark'));
}
