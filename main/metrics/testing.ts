/**
 * For tests and the benchmark: reads a Prometheus / OpenMetrics text exposition back into samples, strictly enough
 * that a malformed line fails the test (promtool checks the format itself in the Prometheus leg).
 */

export interface ParsedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParsedExposition {
  readonly samples: readonly ParsedSample[];
  /** `# HELP` text by metric family name. */
  readonly help: ReadonlyMap<string, string>;
  /** `# TYPE` by metric family name. */
  readonly types: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

export function parseExposition(text: string): ParsedExposition {
  const samples: ParsedSample[] = [];
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    const meta = /^# (HELP|TYPE|UNIT) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') help.set(meta[2]!, meta[3]!);
      if (meta[1] === 'TYPE') types.set(meta[2]!, meta[3]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const at = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (!l || LABEL.lastIndex === at) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1]!] = unescape(l[2]!);
    }
    const raw = m[4]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    // prom-client prints NaN as `Nan` (its event-loop lag before the first sample); Prometheus parses either.
    if (Number.isNaN(value) && raw !== 'NaN' && raw !== 'Nan') throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, help, types };
}

/** The samples named `name` whose labels include `match`. */
export function select(
  parsed: ParsedExposition,
  name: string,
  match: Readonly<Record<string, string>> = {},
): ParsedSample[] {
  return parsed.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the selected samples' values (0 when none). */
export function total(parsed: ParsedExposition, name: string, match: Readonly<Record<string, string>> = {}): number {
  return select(parsed, name, match).reduce((sum, s) => sum + s.value, 0);
}
