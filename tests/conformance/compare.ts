/**
 * Compares `hostmem exec` output with a case's expected lines. Expected lines are partial objects: only the fields
 * they list are compared, and string values starting with `$` are matchers (see README.md in this folder).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const MAX_REPORTED = 20;

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const HEX = /^0x[0-9a-f]+$/i;

function show(value: Json | undefined): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

/** State of one comparison: ids seen so far (for `$=id`) and results by input line (for `$same:N`). */
class Run {
  readonly addresses = new Map<string, bigint>();
  readonly byLine = new Map<number, JsonObject>();

  constructor(actual: readonly Json[]) {
    for (const line of actual) {
      if (isObject(line) && typeof line.line === 'number' && line.event === undefined && !this.byLine.has(line.line)) {
        this.byLine.set(line.line, line);
      }
    }
  }

  /** After an actual line is consumed: remember the address its id names. */
  record(line: Json): void {
    if (!isObject(line) || line.id === undefined || line.event !== undefined) return;
    const id = String(line.id);
    if (typeof line.address === 'string' && HEX.test(line.address)) this.addresses.set(id, BigInt(line.address));
    else this.addresses.delete(id);
  }
}

function pathText(path: readonly (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('') || '(line)';
}

function valueAt(root: Json | undefined, path: readonly (string | number)[]): Json | undefined {
  let value: Json | undefined = root;
  for (const key of path) {
    if (typeof key === 'number') value = Array.isArray(value) ? value[key] : undefined;
    else value = isObject(value) ? value[key] : undefined;
  }
  return value;
}

/** A matcher's verdict: undefined when it matches, else what was expected (for the message). */
function matcher(
  spec: string,
  actual: Json | undefined,
  path: readonly (string | number)[],
  run: Run,
): string | undefined {
  const fail = (what: string) => what;
  if (spec === '$any') return actual === undefined ? fail('any value') : undefined;
  if (spec === '$nonnull') return actual === undefined || actual === null ? fail('a non-null value') : undefined;
  if (spec === '$hex') return typeof actual === 'string' && HEX.test(actual) ? undefined : fail('a hex string');
  if (spec === '$number') return typeof actual === 'number' ? undefined : fail('a number');
  if (spec === '$string') return typeof actual === 'string' ? undefined : fail('a string');
  if (spec.startsWith('$contains:')) {
    const text = spec.slice('$contains:'.length);
    return typeof actual === 'string' && actual.includes(text)
      ? undefined
      : fail(`a string containing ${JSON.stringify(text)}`);
  }
  if (spec.startsWith('$align:')) {
    const alignment = BigInt(spec.slice('$align:'.length));
    return typeof actual === 'string' && HEX.test(actual) && BigInt(actual) % alignment === 0n
      ? undefined
      : fail(`a hex address aligned to ${alignment}`);
  }
  if (spec.startsWith('$range:')) {
    const [low = '', high = ''] = spec.slice('$range:'.length).split('..');
    return typeof actual === 'number' && actual >= Number(low) && actual <= Number(high)
      ? undefined
      : fail(`a number in ${low}..${high}`);
  }
  if (spec.startsWith('$=')) {
    const match = /^\$=(.+?)(?:([+-])(0x[0-9a-f]+|[0-9]+))?$/i.exec(spec);
    const [, id = '', sign, offset = '0'] = match ?? [];
    const base = run.addresses.get(id);
    if (base === undefined)
      return fail(`the address of ${JSON.stringify(id)}, but no earlier result with that id has one`);
    const want = sign === '-' ? base - BigInt(offset) : base + BigInt(offset);
    const wantHex = `0x${want.toString(16)}`;
    return typeof actual === 'string' && HEX.test(actual) && BigInt(actual) === want
      ? undefined
      : fail(`${spec} = ${wantHex}`);
  }
  if (spec.startsWith('$same:')) {
    const line = Number(spec.slice('$same:'.length));
    const other = run.byLine.get(line);
    if (!other) return fail(`the same as input line ${line}, which has no result`);
    const want = valueAt(other, path);
    return JSON.stringify(want) === JSON.stringify(actual)
      ? undefined
      : fail(`the same as input line ${line}: ${show(want)}`);
  }
  throw new Error(`unknown matcher ${JSON.stringify(spec)} in an expected file`);
}

function isMatcher(value: Json): value is string {
  return typeof value === 'string' && value.startsWith('$') && value !== '$absent';
}

/** Differences between one expected (partial) value and the actual one, as messages. */
function diff(expected: Json, actual: Json | undefined, path: (string | number)[], run: Run, out: string[]): void {
  if (isMatcher(expected)) {
    const want = matcher(expected, actual, path, run);
    if (want !== undefined) out.push(`${pathText(path)}: expected ${want}, got ${show(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push(`${pathText(path)}: expected ${show(expected)}, got ${show(actual)}`);
      return;
    }
    expected.forEach((item, i) => diff(item, actual[i], [...path, i], run, out));
    return;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) {
      out.push(`${pathText(path)}: expected an object, got ${show(actual)}`);
      return;
    }
    for (const [key, want] of Object.entries(expected)) {
      if (key.startsWith('$')) continue; // $comment, $optional
      const got = actual[key];
      if (want === '$absent') {
        if (got !== undefined) out.push(`${pathText([...path, key])}: expected no such field, got ${show(got)}`);
      } else if (got === undefined && want !== undefined) {
        out.push(
          `${pathText([...path, key])}: expected ${isMatcher(want) ? want : show(want)}, but the field is absent`,
        );
      } else {
        diff(want, got, [...path, key], run, out);
      }
    }
    return;
  }
  if (expected !== actual) out.push(`${pathText(path)}: expected ${show(expected)}, got ${show(actual)}`);
}

function describeLine(index: number, line: Json | undefined): string {
  if (!isObject(line)) return `output line ${index + 1}`;
  const parts = [`output line ${index + 1}`];
  if (line.line !== undefined) parts.push(`input line ${show(line.line)}`);
  if (line.event !== undefined) parts.push(`event ${show(line.event)}`);
  if (line.op !== undefined) parts.push(`op ${show(line.op)}`);
  if (line.id !== undefined) parts.push(`id ${show(line.id)}`);
  return parts.join(', ');
}

/**
 * Compare actual output lines with expected lines, in order. An expected line with `"$optional": true` may be
 * skipped when the actual line does not match it. Returns the mismatches (empty when all match).
 */
export function compareOutput(expected: readonly Json[], actual: readonly Json[]): string[] {
  const run = new Run(actual);
  const problems: string[] = [];
  let j = 0;
  for (const want of expected) {
    if (problems.length >= MAX_REPORTED) break;
    const optional = isObject(want) && want.$optional === true;
    const comment = isObject(want) && typeof want.$comment === 'string' ? ` (${want.$comment})` : '';
    if (j >= actual.length) {
      if (!optional) problems.push(`missing output line ${j + 1}: expected ${show(want)}${comment}`);
      continue;
    }
    const got = actual[j];
    const found: string[] = [];
    diff(want, got, [], run, found);
    if (found.length > 0 && optional) continue;
    if (found.length > 0) {
      problems.push(`${describeLine(j, got)}${comment}:\n    ${found.join('\n    ')}\n    actual: ${show(got)}`);
    }
    run.record(got ?? null);
    j += 1;
  }
  for (; j < actual.length && problems.length < MAX_REPORTED; j += 1) {
    problems.push(`unexpected ${describeLine(j, actual[j])}: ${show(actual[j])}`);
  }
  return problems;
}

/** Parse JSON Lines (blank lines skipped), naming the file and line on a syntax error. */
export function parseJsonLines(text: string, name: string): Json[] {
  const lines: Json[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      lines.push(JSON.parse(line) as Json);
    } catch (error) {
      throw new Error(`${name}:${i + 1}: not JSON: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  });
  return lines;
}

/** The exit status a case expects: 2 when it expects an error line, else 0. */
export function expectedExitCode(expected: readonly Json[]): number {
  return expected.some((line) => isObject(line) && line.error !== undefined && line.$optional !== true) ? 2 : 0;
}
