/**
 * What a notification opens when it is clicked, however the click arrives — no Electron here (toast.test.ts).
 *
 * On Windows a toast that timed out goes to Action Center: its `close` event has fired, and by the time the user clicks
 * it there the Notification object may be gone (collected, or the app restarted). Electron 45's
 * `Notification.handleActivation` reports every click with the toast's raw activation arguments, whether or not the
 * object still exists, so each toast carries its destination in those arguments (the `launch` attribute of its XML)
 * and in its `id`. The app also keeps a reference to each toast until it is clicked or closed for a reason other
 * than a time-out, so that its own `click` event keeps working (./app.ts).
 *
 * The tray balloon (a Windows run that is not installed) has one `balloon-click` event and no id: `BalloonTargets`
 * remembers what the balloon on screen is about.
 */

/** Where a click leads: one failure, the Failures view, or just the window. */
export type ToastTarget =
  { readonly kind: 'failure'; readonly seq: number } | { readonly kind: 'failures' } | { readonly kind: 'window' };

/** The target of a notification about `failureSeq` (null: about nothing in particular). */
export function targetOf(failureSeq: number | null): ToastTarget {
  return failureSeq === null ? { kind: 'window' } : { kind: 'failure', seq: failureSeq };
}

/** The key our activation arguments carry (anything else in them is ignored). */
const KEY = 'hostmem';

/**
 * The activation arguments of a toast: `type=click` (Electron's word for a body click) and where it leads, with a
 * serial number so that two toasts about the same thing are two toasts. Also used as the toast's `id`. Windows hands a
 * body click the toast's `launch` attribute as its arguments (`toastXml` puts them there): Electron's own toast XML
 * has none, so a click from Action Center would otherwise say nothing.
 */
export function toastArguments(target: ToastTarget, serial: number): string {
  const params = new URLSearchParams({ type: 'click', [KEY]: target.kind });
  if (target.kind === 'failure') params.set('seq', String(target.seq));
  params.set('n', String(serial));
  return params.toString();
}

/**
 * Where a click with these raw activation arguments leads. Arguments that are not ours (an older build's toast, a
 * click Windows reports without arguments) open the window.
 */
export function parseToastArguments(raw: string): ToastTarget {
  const params = new URLSearchParams(raw);
  switch (params.get(KEY)) {
    case 'failure': {
      const text = params.get('seq') ?? '';
      const seq = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
      return Number.isSafeInteger(seq) ? { kind: 'failure', seq } : { kind: 'failures' };
    }
    case 'failures':
      return { kind: 'failures' };
    default:
      return { kind: 'window' };
  }
}

/** The characters XML 1.0 forbids in text: C0 controls other than tab, line feed and carriage return; U+FFFE/F. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The toast's XML (Electron's `toastXml`): the generic template with the title and the body, and the activation
 * arguments in `launch` so that a click from Action Center still says where it leads. Text that XML forbids (control
 * characters other than tab and line breaks) is dropped.
 */
export function toastXml(title: string, body: string, launch: string): string {
  const clean = (s: string): string => escapeXml(s.replace(XML_FORBIDDEN, ''));
  return (
    `<toast launch="${clean(launch)}" activationType="foreground">` +
    '<visual><binding template="ToastGeneric">' +
    `<text>${clean(title)}</text><text>${clean(body)}</text>` +
    '</binding></visual></toast>'
  );
}

/** Activations remembered (far more than Action Center holds). */
const REMEMBERED_ACTIVATIONS = 100;

/**
 * Each toast's click acted on once. On Windows a click on a toast whose Notification is still referenced comes twice —
 * to `Notification.handleActivation` and as the object's `click` event — and either may be the only one (an object
 * collected; an activation path that skips the callback): the first one opens, the second is ignored.
 */
export class ActivationOnce {
  private readonly seen = new Set<string>();

  /** Whether this is the first activation of the toast with these arguments ('' — no arguments — always is). */
  first(args: string): boolean {
    if (args === '') return true;
    if (this.seen.has(args)) return false;
    this.seen.add(args);
    if (this.seen.size > REMEMBERED_ACTIVATIONS) {
      const [oldest] = this.seen;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}

/** Why a toast's `close` event came (Electron's NotificationCloseEventParams.reason). */
export type CloseReason = 'userCanceled' | 'applicationHidden' | 'timedOut' | undefined;

/**
 * Whether a toast closed for this reason may still be clicked: a time-out moves it to Action Center; a reason Windows
 * did not give may be one too. Dismissed by the user or hidden by the app: gone.
 */
export function mayStillBeClicked(reason: CloseReason): boolean {
  return reason === 'timedOut' || reason === undefined;
}

/** Toasts kept referenced at most (the oldest is let go first; Action Center keeps about 20 per app). */
export const MAX_KEPT_TOASTS = 20;

/** The toasts a click may still reach, by id, in the order shown. */
export class ToastKeeper<T> {
  private readonly kept = new Map<string, T>();

  constructor(private readonly max = MAX_KEPT_TOASTS) {}

  /** Keep a toast just shown; returns the one let go to make room, if any. */
  keep(id: string, toast: T): T | undefined {
    this.kept.delete(id);
    this.kept.set(id, toast);
    if (this.kept.size <= this.max) return undefined;
    const [oldest] = this.kept;
    if (!oldest) return undefined;
    this.kept.delete(oldest[0]);
    return oldest[1];
  }

  /** The toast was clicked or failed: let it go. */
  forget(id: string): void {
    this.kept.delete(id);
  }

  /** The toast closed: let it go unless it may still be clicked from Action Center. */
  closed(id: string, reason: CloseReason): void {
    if (!mayStillBeClicked(reason)) this.kept.delete(id);
  }

  has(id: string): boolean {
    return this.kept.has(id);
  }

  get size(): number {
    return this.kept.size;
  }
}

/**
 * What the tray balloon leads to. Windows shows one balloon at a time, a new one replacing the last: a click opens
 * the failure the balloon was about — or, when several failures were announced since the last click, the Failures
 * view, since the one on screen is only the latest of them.
 */
export class BalloonTargets {
  private failures: number[] = [];
  private current: ToastTarget = { kind: 'window' };

  /** A balloon was shown about `failureSeq` (null: about nothing in particular: it opens the window). */
  shown(failureSeq: number | null): void {
    if (failureSeq === null) {
      this.current = { kind: 'window' };
      return;
    }
    this.failures.push(failureSeq);
    this.current = this.failures.length > 1 ? { kind: 'failures' } : { kind: 'failure', seq: failureSeq };
  }

  /** Where a click on the balloon would lead now. */
  get target(): ToastTarget {
    return this.current;
  }

  /** The balloon was clicked: where to go. The failures announced so far count as seen. */
  clicked(): ToastTarget {
    const target = this.current;
    this.failures = [];
    this.current = { kind: 'window' };
    return target;
  }
}
