/** zod glue: fields parsed by our own parsers (so messages say what was expected), and issues as one line. */
import { z } from 'zod';
import { quote } from '../../vocabulary';
import type { Parsed } from './parsed';

/** A zod field that runs one of our parsers, so every message says what was expected and what was given. */
export function field<T>(parse: (value: unknown) => Parsed<T>) {
  return z.unknown().transform((value, ctx): T => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is missing' });
      return z.NEVER;
    }
    const result = parse(value);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.error });
      return z.NEVER;
    }
    return result.value;
  });
}

/** zod issues as one line: `field "thresholds.eTaskCritical": expected …; unknown field "x" (fields: …)`. */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  fieldsOf: (path: readonly PropertyKey[]) => readonly string[],
): string {
  return issues
    .map((issue) => {
      const where = issue.path
        .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
        .join('');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => quote(key)).join(', ');
        const inside = where === '' ? '' : ` in "${where}"`;
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}${inside} (fields: ${fieldsOf(issue.path).join(', ')})`;
      }
      if (where === '') return issue.message;
      return issue.message === 'is missing' ? `field "${where}" is missing` : `field "${where}": ${issue.message}`;
    })
    .join('; ');
}
