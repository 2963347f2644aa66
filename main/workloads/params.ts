/**
 * Parameter schemas shared by the scenarios and the script runner (zod 4), and what the CLI and the UI need to
 * show them: sizes and durations accept numbers or unit strings ("64MiB", "30s"), the common parameters every
 * workload has (seed, durationMs, rate, maxCalls), the level mix, and `describeParams` for documentation.
 */
import { z } from 'zod';
import { LEVELS, type LevelName } from '../host';
import { parseDurationValue, parseSizeValue } from '../vocabulary';

/** A byte count from a number or a string like "4096", "0x1000", "64KiB", "1.5MiB"; undefined when it is not one. */
export function parseSize(value: number | string): number | undefined {
  const size = parseSizeValue(value);
  return size.ok ? size.value : undefined;
}

/**
 * Milliseconds from a number or a string like "500ms", "30s", "2m", "1h" (a bare number is ms); undefined when it is
 * not one or is longer than the longest timer (MAX_TIMER_MS). The one duration parser: main/vocabulary/quantities.ts.
 */
export function parseDuration(value: number | string): number | undefined {
  const ms = parseDurationValue(value);
  return ms.ok ? ms.value : undefined;
}

/** A size parameter: bytes as a number, or a string with a unit. `min` in bytes. */
export function size(min = 1): z.ZodType<number, number | string> {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const size = parseSizeValue(value);
      if (!size.ok) {
        ctx.addIssue({ code: 'custom', message: size.error });
        return z.NEVER;
      }
      const bytes = size.value;
      if (bytes < min) {
        ctx.addIssue({ code: 'custom', message: `expected at least ${min} bytes, got ${bytes}` });
        return z.NEVER;
      }
      return bytes;
    })
    .meta({ unit: 'bytes' });
}

/** A duration parameter: ms as a number, or a string like "30s". */
export function duration(): z.ZodType<number, number | string> {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const ms = parseDurationValue(value);
      if (!ms.ok) {
        ctx.addIssue({ code: 'custom', message: ms.error });
        return z.NEVER;
      }
      return ms.value;
    })
    .meta({ unit: 'ms' });
}

/** Weights of the three critical levels (any non-negative numbers, not all zero). */
export type LevelWeights = Readonly<Record<LevelName, number>>;

export function levelWeights(defaults: LevelWeights, description: string): z.ZodType<LevelWeights, unknown> {
  const weight = (level: LevelName): z.ZodDefault<z.ZodNumber> => z.number().min(0).max(1e6).default(defaults[level]);
  return z
    .strictObject({
      eTaskCritical: weight('eTaskCritical'),
      eAppDomainCritical: weight('eAppDomainCritical'),
      eProcessCritical: weight('eProcessCritical'),
    })
    .prefault({})
    .refine((w) => LEVELS.some((l) => w[l] > 0), { message: 'at least one level needs a weight above 0' })
    .describe(description);
}

/** The parameters every workload has. */
export interface CommonParams {
  readonly seed: number;
  /** 0: until stopped. */
  readonly durationMs: number;
  /** Host calls per second; 0: as fast as the host answers. */
  readonly rate: number;
  /** Stop after this many host calls; 0: no cap. */
  readonly maxCalls: number;
}

export interface CommonDefaults {
  readonly durationMs: number;
  readonly rate: number;
}

/** The common parameter fields, with a scenario's own defaults. Spread into a `z.strictObject`. */
export function commonFields(defaults: CommonDefaults) {
  return {
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffffffff)
      .default(1)
      .describe('PRNG seed (0 … 2^32-1): the same seed gives the same sequence of requests'),
    durationMs: duration().default(defaults.durationMs).describe('how long to run, ms or "30s"; 0 runs until stopped'),
    rate: z
      .number()
      .min(0)
      .max(10_000_000)
      .default(defaults.rate)
      .describe('target host calls per second; 0 runs as fast as the host answers'),
    maxCalls: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('stop after this many host calls (0: no cap); with a cap two runs of one seed make the same calls'),
  };
}

/** One documented parameter. */
export interface ParamDoc {
  readonly name: string;
  readonly description: string;
  readonly default: unknown;
  /** A short type: "integer", "number", "size", "duration", "object", "enum: a | b", … */
  readonly type: string;
}

interface JsonSchemaNode {
  readonly unit?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly JsonSchemaNode[];
  readonly properties?: Readonly<Record<string, JsonSchemaNode>>;
  readonly description?: string;
}

function typeOf(node: JsonSchemaNode): string {
  if (node.unit === 'bytes') return 'size (bytes, or "64KiB", "1MiB")';
  if (node.unit === 'ms') return 'duration (ms, or "500ms", "30s", "2m")';
  if (node.enum) return `enum: ${node.enum.map((v) => JSON.stringify(v)).join(' | ')}`;
  if (node.anyOf) return node.anyOf.map(typeOf).join(' | ');
  if (Array.isArray(node.type)) return node.type.join(' | ');
  return typeof node.type === 'string' ? node.type : 'value';
}

/** The parameters of an object schema: names, descriptions, defaults (what parsing `{}` gives) and types. */
export function describeParams(schema: z.ZodType): ParamDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const parsed = schema.safeParse({});
  const defaults: Record<string, unknown> =
    parsed.success && typeof parsed.data === 'object' && parsed.data !== null
      ? (parsed.data as Record<string, unknown>)
      : {};
  return Object.entries(json.properties ?? {}).map(([name, node]) => ({
    name,
    description: node.description ?? '',
    default: defaults[name],
    type: typeOf(node),
  }));
}

/** A zod error as one readable line per problem: `rate: Too small: expected number to be >=0`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : ''}${issue.message}`)
    .join('; ');
}

/** Bad parameters: nothing was started. */
export class WorkloadParamsError extends Error {
  constructor(
    readonly workload: string,
    readonly problems: string,
  ) {
    super(`invalid parameters for workload "${workload}": ${problems}`);
    this.name = 'WorkloadParamsError';
  }
}

/** Validate `input` with `schema`; throws WorkloadParamsError with every problem listed. */
export function parseParams<T>(workload: string, schema: z.ZodType<T, unknown>, input: unknown): T {
  const r = schema.safeParse(input ?? {});
  if (!r.success) throw new WorkloadParamsError(workload, formatIssues(r.error));
  return r.data;
}
