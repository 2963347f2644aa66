/**
 * The live view of the host: folds every pushed message with the publisher's own `applyMessage` into one
 * ClientView held outside Vue reactivity, then tells each store what changed. A delta out of sequence asks for a
 * resync (through the `resync` callback the connection store gives).
 */
import { markRaw } from 'vue';
import { applyMessage, OutOfSyncError, type ClientView, type PushMessage } from '../api/contract';
import { useFailuresStore } from './failures';
import { useHostStore } from './host';
import { useRegionsStore } from './regions';
import { useSamplesStore } from './samples';

let view: ClientView | undefined;
let resyncing = false;

export function currentView(): ClientView | undefined {
  return view;
}

export function resetLiveView(): void {
  view = undefined;
  resyncing = false;
}

/** Apply one push. Returns false when it was out of sequence (a resync was asked for). */
export function applyPush(message: PushMessage, resync: () => void): boolean {
  if (message.type === 'delta' && resyncing) return false; // wait for the full message of the resync
  let next: ClientView;
  try {
    next = applyMessage(view, message);
  } catch (e) {
    if (!(e instanceof OutOfSyncError)) throw e;
    resyncing = true;
    resync();
    return false;
  }
  const full = message.type === 'full';
  if (full) resyncing = false;
  view = markRaw(next);
  const host = useHostStore();
  const regions = useRegionsStore();
  const samples = useSamplesStore();
  const failures = useFailuresStore();
  host.apply(next);
  if (full) {
    regions.replace(next.rows, next.complete);
    samples.replace(next.samples);
    failures.replace(next.failures, next.stats.failures);
  } else {
    const bases: number[] = [];
    for (const r of message.added) bases.push(r.base);
    for (const r of message.updated) bases.push(r.base);
    for (const base of message.removed) bases.push(base);
    regions.changed(next.rows, next.complete, bases);
    if (message.samples.length > 0) samples.append(message.samples);
    failures.update(next.failures, next.stats.failures, message.failures.length > 0, message.failuresDropped);
  }
  return true;
}
