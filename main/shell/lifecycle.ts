/**
 * The app's lifecycle decisions, without Electron (lifecycle.test.ts): when closing windows quits the app, when a
 * crashed page is reloaded, and how long quitting may take.
 */

export interface AllClosedFacts {
  /** The main window itself was closed (not hidden), and that is what left no window. */
  readonly mainWindowClosed: boolean;
  /** The app is already quitting (Quit, a logoff). */
  readonly quitting: boolean;
}

/**
 * Electron's `window-all-closed` also comes when the last window to close is not the main one — the hidden window
 * that prints a PDF, while the main window was never opened (`--hidden`) or is hidden in the tray. Only the main
 * window's own close quits the app (its `close` handler already chose between hiding to the tray and closing).
 */
export function quitsOnAllClosed(facts: AllClosedFacts): boolean {
  return facts.quitting || facts.mainWindowClosed;
}

/** Reloads of a crashed page allowed within CRASH_WINDOW_MS; past that the window shows the crash and stays. */
export const MAX_CRASH_RELOADS = 3;
export const CRASH_WINDOW_MS = 60_000;

/**
 * Whether a page that just crashed is reloaded: yes, unless it already crashed `max` times within `windowMs` (a page
 * that crashes on load would otherwise reload for ever, burning a core).
 */
export class CrashReloads {
  private readonly crashes: number[] = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = MAX_CRASH_RELOADS,
    private readonly windowMs = CRASH_WINDOW_MS,
  ) {}

  /** A crash happened: reload (true) or give up (false). */
  crashed(): boolean {
    const t = this.now();
    while (this.crashes.length > 0 && t - (this.crashes[0] as number) >= this.windowMs) this.crashes.shift();
    this.crashes.push(t);
    return this.crashes.length <= this.max;
  }
}

/** How long quitting may take before the app exits anyway (the workloads, the host, the metrics endpoint). */
export const QUIT_DEADLINE_MS = 5_000;

export type Settled = 'done' | 'failed' | 'timed-out';

/** Wait for `work`, at most `ms`: what happened (never rejects). */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve('timed-out'), ms);
  });
  try {
    return await Promise.race([
      work.then(
        (): Settled => 'done',
        (): Settled => 'failed',
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
