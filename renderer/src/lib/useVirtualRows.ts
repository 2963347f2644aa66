/**
 * A virtualised table's windowing, shared by the allocation table and the process region table: only the rows in
 * view (plus OVERSCAN either side) are in the DOM, positioned inside a spacer as tall as every row, so 100,000 rows
 * scroll as smoothly as 100. Rows have a fixed height and are keyed by `base` (`data-base` on each row element);
 * ↑/↓ move between rows, Enter/Space select one.
 */
import { computed, onBeforeUnmount, onMounted, shallowRef, type Ref } from 'vue';

/** Rows rendered above and below the ones in view, so that a fast scroll does not show blank space. */
const OVERSCAN = 8;

export interface VirtualRowsOptions<T extends { readonly base: number }> {
  /** The rows, in display order. */
  rows: () => readonly T[];
  /** The scrolling element (the template ref). */
  scroller: Readonly<Ref<HTMLElement | null>>;
  /** Pixels; the CSS must give each row this height. */
  rowHeight: number;
  /** The viewport height assumed until the scroller is measured (and when it measures 0). */
  initialViewport: number;
  /** Enter or Space on a focused row. */
  onSelect: (row: T) => void;
}

export function useVirtualRows<T extends { readonly base: number }>(options: VirtualRowsOptions<T>) {
  const { rows, scroller, rowHeight, initialViewport, onSelect } = options;
  const scrollTop = shallowRef(0);
  const viewport = shallowRef(initialViewport);
  let observer: ResizeObserver | undefined;

  onMounted(() => {
    const el = scroller.value;
    if (el === null) return;
    viewport.value = el.clientHeight || initialViewport;
    if (typeof ResizeObserver !== 'undefined') {
      observer = new ResizeObserver(() => {
        viewport.value = el.clientHeight || viewport.value;
      });
      observer.observe(el);
    }
  });
  onBeforeUnmount(() => observer?.disconnect());

  function onScroll(): void {
    scrollTop.value = scroller.value?.scrollTop ?? 0;
  }

  const first = computed(() => Math.max(0, Math.floor(scrollTop.value / rowHeight) - OVERSCAN));
  const last = computed(() =>
    Math.min(rows().length, Math.ceil((scrollTop.value + viewport.value) / rowHeight) + OVERSCAN),
  );
  const windowRows = computed(() => {
    const all = rows();
    const out: { row: T; index: number }[] = [];
    for (let i = first.value; i < last.value; i++) out.push({ row: all[i]!, index: i });
    return out;
  });

  /** Scroll so that the row with this base is in view; false when it is not in the list. */
  function scrollToBase(base: number): boolean {
    const index = rows().findIndex((r) => r.base === base);
    const el = scroller.value;
    if (index < 0 || el === null) return index >= 0;
    const top = index * rowHeight;
    if (top < el.scrollTop || top + rowHeight > el.scrollTop + el.clientHeight - rowHeight) {
      el.scrollTop = Math.max(0, top - el.clientHeight / 3);
      scrollTop.value = el.scrollTop;
    }
    return true;
  }

  function onRowKey(e: KeyboardEvent, row: T, index: number): void {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect(row);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const target = rows()[index + (e.key === 'ArrowDown' ? 1 : -1)];
      if (target === undefined) return;
      scrollToBase(target.base);
      requestAnimationFrame(() => {
        scroller.value?.querySelector<HTMLElement>(`[data-base="${target.base}"]`)?.focus();
      });
    }
  }

  return { windowRows, onScroll, scrollToBase, onRowKey };
}
