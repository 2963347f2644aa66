/**
 * Retrying a file operation that Windows refuses for a moment. On a Windows desktop an antivirus scanner, the search
 * indexer or a backup tool opens fresh files briefly, and a rename over such a file, or removing it, fails with
 * `EPERM` or `EBUSY` until they let go. A few short retries ride that out; any other error (no room, no
 * such folder) is thrown at once. No Electron here (retry.test.ts).
 */

/** The error codes worth another try. */
export const TRANSIENT_CODES: readonly string[] = ['EPERM', 'EBUSY'];

export interface RetryOptions {
  /** Tries in all (default 5). */
  readonly attempts?: number;
  /** Wait before the first retry, doubled each time (default 20 ms: at most 300 ms over 5 tries). */
  readonly delayMs?: number;
  /** Codes worth another try (default TRANSIENT_CODES). */
  readonly codes?: readonly string[];
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/** Whether `error` is one worth another try. */
export function isTransient(error: unknown, codes: readonly string[] = TRANSIENT_CODES): boolean {
  const code = codeOf(error);
  return code !== undefined && codes.includes(code);
}

/** Block the thread for `ms` (the settings are saved synchronously; this only runs between failed tries). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Run `fn`, again after a short wait while it fails with a transient code; the last error is thrown. */
export function retrySync<T>(fn: () => T, options: RetryOptions = {}): T {
  const attempts = options.attempts ?? 5;
  let delay = options.delayMs ?? 20;
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (error) {
      if (i >= attempts || !isTransient(error, options.codes)) throw error;
      sleepSync(delay);
      delay *= 2;
    }
  }
}

/** As retrySync, for asynchronous work (waits without blocking). */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  let delay = options.delayMs ?? 20;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts || !isTransient(error, options.codes)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}
