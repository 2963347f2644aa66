/**
 * What the app asked the page to show (a `reveal` push: the user clicked a failure notification or a Recent failures
 * item in the tray): the Failures view, at one failure. The shell switches view on `request`; the Failures view
 * brings `highlight` into view, or shows `missing` when the failure is no longer in the list (it holds the last
 * 1,000). A failure newer than the list may still be on its way (the notification can beat the delta that carries
 * it), so a seq newer than every one held waits for a few seconds before it counts as missing; nothing is decided
 * before the first full message.
 */
import { defineStore } from 'pinia';
import { shallowRef, watch } from 'vue';
import { FAILURE_GROUPS, type RevealMessage, type FailureGroup } from '../api/contract';
import { useFailuresStore } from './failures';
import { currentView } from './live';

/** How long a failure newer than the list may take to arrive. */
export const REVEAL_WAIT_MS = 3000;
/** How long a revealed row stays highlighted (its background fades meanwhile, styles in FailureGroupPanel). */
export const HIGHLIGHT_MS = 6000;

export interface RevealRequest {
  readonly view: RevealMessage['view'];
  /** Increases with every reveal (the same failure twice is two requests). */
  readonly id: number;
}

export interface RevealTarget {
  readonly seq: number;
  readonly id: number;
}

export interface RevealHighlight extends RevealTarget {
  readonly group: FailureGroup;
}

export const useRevealStore = defineStore('reveal', () => {
  const failures = useFailuresStore();
  /** The last view asked for (the shell switches to it when this changes). */
  const request = shallowRef<RevealRequest | null>(null);
  /** The failure being highlighted (cleared after HIGHLIGHT_MS). */
  const highlight = shallowRef<RevealHighlight | null>(null);
  /** A failure asked for that is not in the list (until dismissed or the next reveal). */
  const missing = shallowRef<RevealTarget | null>(null);
  /** The reveal whose row was scrolled to and focused (so that coming back to the view does not do it again). */
  const focused = shallowRef(0);
  let pending: (RevealTarget & { waited: boolean }) | null = null;
  let lastId = 0;
  let waitTimer: ReturnType<typeof setTimeout> | undefined;
  let highlightTimer: ReturnType<typeof setTimeout> | undefined;

  function clearTimers(): void {
    clearTimeout(waitTimer);
    clearTimeout(highlightTimer);
    waitTimer = highlightTimer = undefined;
  }

  function find(seq: number): FailureGroup | null {
    const groups = failures.groups;
    for (const g of FAILURE_GROUPS) if (groups[g].events.some((e) => e.seq === seq)) return g;
    return null;
  }

  function newestSeq(): number | null {
    let newest: number | null = null;
    const groups = failures.groups;
    for (const g of FAILURE_GROUPS) {
      const seq = groups[g].events[0]?.seq; // newest first
      if (seq !== undefined && (newest === null || seq > newest)) newest = seq;
    }
    return newest;
  }

  /** Decide the pending reveal when the list allows it. */
  function settle(): void {
    if (pending === null || currentView() === undefined) return;
    const p = pending;
    const group = find(p.seq);
    if (group !== null) {
      pending = null;
      clearTimeout(waitTimer);
      highlight.value = { seq: p.seq, id: p.id, group };
      highlightTimer = setTimeout(() => {
        if (highlight.value?.id === p.id) highlight.value = null;
      }, HIGHLIGHT_MS);
      return;
    }
    const newest = newestSeq();
    if (!p.waited && (newest === null || p.seq > newest)) return; // may still come
    pending = null;
    clearTimeout(waitTimer);
    missing.value = { seq: p.seq, id: p.id };
  }

  function reveal(message: RevealMessage): void {
    clearTimers();
    pending = null;
    highlight.value = null;
    missing.value = null;
    const id = ++lastId;
    request.value = { view: message.view, id };
    if (message.failureSeq === null) return;
    pending = { seq: message.failureSeq, id, waited: false };
    waitTimer = setTimeout(() => {
      if (pending?.id !== id) return;
      pending = { ...pending, waited: true };
      settle();
    }, REVEAL_WAIT_MS);
    settle();
  }

  function dismiss(): void {
    missing.value = null;
  }

  function markFocused(id: number): void {
    focused.value = id;
  }

  // Every change of the list (a full message, new failures) may settle a pending reveal.
  watch(() => failures.groups, settle);

  return { request, highlight, missing, focused, reveal, dismiss, markFocused };
});
