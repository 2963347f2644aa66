/**
 * A virtualised table's windowing (used by components/VirtualTable.vue): only the rows in view (plus OVERSCAN either
 * side) are in the DOM, positioned inside a spacer as tall as every row, so 100,000 rows scroll as smoothly as 100.
 * Rows have a fixed height; a sticky header row may sit at the top of the scroller, above them.
 */
import { computed, onBeforeUnmount, onMounted, shallowRef, type Ref } from 'vue';

/** Rows rendered above and below the ones in view, so that a fast scroll does not show blank space. */
const OVERSCAN = 8;

export interface VirtualRowsOptions<T> {
  /** The rows, in display order. */
  rows: () => readonly T[];
  /** The scrolling element (the template ref). */
  scroller: Readonly<Ref<HTMLElement | null>>;
  /** Pixels; every row has this height. */
  rowHeight: number;
  /** Pixels at the top of the scroller taken by a sticky header row (0 when none). */
  headerHeight?: number;
  /** The viewport height assumed until the scroller is measured (and when it measures 0). */
  initialViewport: number;
}

export function useVirtualRows<T>(options: VirtualRowsOptions<T>) {
  const { rows, scroller, rowHeight, initialViewport } = options;
  const header = options.headerHeight ?? 0;
  /** The height left for rows in the scroller. */
  const measure = (el: HTMLElement): number => el.clientHeight - header;
  const top = shallowRef(0);
  const viewport = shallowRef(initialViewport);
  let observer: ResizeObserver | undefined;

  onMounted(() => {
    const el = scroller.value;
    if (el === null) return;
    viewport.value = measure(el) > 0 ? measure(el) : initialViewport;
    if (typeof ResizeObserver !== 'undefined') {
      observer = new ResizeObserver(() => {
        if (measure(el) > 0) viewport.value = measure(el);
      });
      observer.observe(el);
    }
  });
  onBeforeUnmount(() => observer?.disconnect());

  function onScroll(): void {
    top.value = scroller.value?.scrollTop ?? 0;
  }

  const first = computed(() => Math.max(0, Math.floor(top.value / rowHeight) - OVERSCAN));
  const last = computed(() => Math.min(rows().length, Math.ceil((top.value + viewport.value) / rowHeight) + OVERSCAN));
  const windowRows = computed(() => {
    const all = rows();
    const out: { row: T; index: number }[] = [];
    for (let i = first.value; i < last.value; i++) out.push({ row: all[i]!, index: i });
    return out;
  });

  /** Set the scroll position (pixels). */
  function scrollTop(px: number): void {
    const el = scroller.value;
    if (el !== null) el.scrollTop = px;
    top.value = el?.scrollTop ?? px;
  }

  /** Scroll the least needed so that row `index` is wholly in view. */
  function scrollToIndex(index: number): void {
    const el = scroller.value;
    if (el === null) return;
    const y = index * rowHeight;
    const height = measure(el) > 0 ? measure(el) : viewport.value;
    if (y < el.scrollTop) scrollTop(y);
    else if (y + rowHeight > el.scrollTop + height) scrollTop(y + rowHeight - height);
  }

  /** The index of the first row wholly in view. */
  const firstInView = (): number => Math.ceil(top.value / rowHeight);
  /** Rows a PageUp / PageDown moves: one screen less one row. */
  const pageRows = (): number => Math.max(1, Math.floor(viewport.value / rowHeight) - 1);

  return { windowRows, onScroll, scrollTop, scrollToIndex, firstInView, pageRows };
}
