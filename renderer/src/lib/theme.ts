/** The OS colour scheme, as a reactive flag (CSS follows `prefers-color-scheme` on its own; canvases need this). */
import { onScopeDispose, shallowRef, type Ref } from 'vue';

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
