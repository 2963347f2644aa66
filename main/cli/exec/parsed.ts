import { quote } from '../../vocabulary';

/** A parser's answer: the value, or a message that says what was expected and what was given. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function invalid<T>(error: string): Parsed<T> {
  return { ok: false, error };
}

/** How a JSON value reads in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return 'an object';
}
