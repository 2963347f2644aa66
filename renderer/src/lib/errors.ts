import { ApiCallError } from '../api/contract';

/** A readable message for a failed call (validation issues included). */
export function errorText(e: unknown): string {
  if (e instanceof ApiCallError && e.issues.length > 0) return `${e.message} — ${e.issues.join('; ')}`;
  return e instanceof Error ? e.message : String(e);
}
