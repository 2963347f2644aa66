/**
 * Modal dialog behaviour shared by Export… and Settings: Escape closes, Tab and Shift+Tab wrap around inside the
 * dialog, focus that leaves it (a click on the page behind) is brought back, and focus returns to where it was (the
 * button that opened it) once the dialog is gone. App.vue makes the rest of the page inert meanwhile.
 */
import { nextTick, onBeforeUnmount, onMounted, onUnmounted, type ShallowRef } from 'vue';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex="0"]';

export interface ModalOptions {
  /** Called on Escape. */
  readonly close: () => void;
  /** Where focus goes once mounted (default: the dialog itself). */
  readonly initialFocus?: () => HTMLElement | null | undefined;
}

export function useModal(dialog: Readonly<ShallowRef<HTMLElement | null>>, options: ModalOptions): void {
  let returnFocus: HTMLElement | null = null;

  function focusables(): HTMLElement[] {
    const root = dialog.value;
    if (!root) return [];
    return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
      // Unchecked radios of a group are skipped by Tab: keep only the checked one.
      (el) => !(el instanceof HTMLInputElement && el.type === 'radio' && !el.checked),
    );
  }

  /** Escape closes; Tab and Shift+Tab wrap around inside the dialog. Capture on window: nothing behind sees them. */
  function onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      options.close();
      return;
    }
    if (e.key !== 'Tab') return;
    const els = focusables();
    if (els.length === 0) return;
    const first = els[0]!;
    const last = els.at(-1)!;
    const active = document.activeElement;
    const inside = active instanceof Node && dialog.value?.contains(active) === true;
    if (e.shiftKey && (!inside || active === first || active === dialog.value)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (!inside || active === last)) {
      e.preventDefault();
      first.focus();
    }
  }

  /** Focus leaving the dialog (a click on the page behind, say) is brought back. */
  function onFocusIn(e: FocusEvent): void {
    const root = dialog.value;
    if (root && e.target instanceof Node && !root.contains(e.target)) (focusables()[0] ?? root).focus();
  }

  onMounted(() => {
    returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    window.addEventListener('keydown', onKey, true);
    document.addEventListener('focusin', onFocusIn);
    void nextTick(() => (options.initialFocus?.() ?? dialog.value)?.focus());
  });
  onBeforeUnmount(() => {
    window.removeEventListener('keydown', onKey, true);
    document.removeEventListener('focusin', onFocusIn);
  });
  onUnmounted(() => {
    // After App.vue lifted `inert` from the page behind.
    if (returnFocus?.isConnected) returnFocus.focus();
  });
}
