/**
 * What `hostmem inspect --json` prints: a versioned document, its zod schema (the JSON Schema in
 * docs/process-walk.schema.json is generated from it and checked by a test), and the JSON Lines of `--watch --json`.
 * Regions are the session records' `Region` objects (main/telemetry/process-records.ts), so one shape serves both.
 */
import { z } from 'zod';
import type { ProcessInfo, ProcessWalk } from '../../../native';
import { REGION_TYPES, type LeakSignal, type RegionChange, type TypeSummary, type WalkDiff } from '../../inspect';
import { regionJsonSchema, regionToJson } from '../../telemetry/process-records';
import { BACKENDS } from '../../vocabulary';

export const WALK_JSON_FORMAT = 'hostmem.process-walk/1';
export const WATCH_JSON_FORMAT = 'hostmem.process-watch/1';

const bytes = z.number().int().nonnegative();
const delta = z.number().int();

const totalsSchema = z.strictObject({
  size: bytes,
  committed: bytes,
  resident: bytes.nullable(),
  private: bytes.nullable(),
  regions: bytes,
});

export const summaryJsonSchema = z.strictObject({
  byType: z.strictObject(
    Object.fromEntries(REGION_TYPES.map((t) => [t, totalsSchema])) as Record<
      (typeof REGION_TYPES)[number],
      typeof totalsSchema
    >,
  ),
  total: totalsSchema,
});

const processSchema = z.strictObject({
  pid: z.number().int().positive(),
  parentPid: z.number().int().nullable(),
  name: z.string(),
  imagePath: z.string().nullable(),
  commandLine: z.string().nullable(),
  user: z.string().nullable(),
  workingSet: bytes.nullable(),
  privateBytes: bytes.nullable(),
  privateResident: bytes.nullable(),
  virtualSize: bytes.nullable(),
  startedAt: z.number().nullable(),
});

/** `hostmem inspect --json`: the whole walk. */
export const walkJsonSchema = z
  .strictObject({
    format: z.literal(WALK_JSON_FORMAT),
    pid: z.number().int().positive(),
    name: z.string().nullable(),
    backend: z.enum(BACKENDS),
    pageSize: bytes,
    takenAt: z.number().describe('when the walk started, ms since the epoch'),
    durationMs: z.number().nonnegative(),
    addressLimit: z.string().regex(/^0x[0-9a-f]+$/),
    process: processSchema.nullable().describe('the cheap counters, read just before the walk'),
    summary: summaryJsonSchema,
    regions: z.array(regionJsonSchema).describe('every region, ascending; free ones included'),
  })
  .describe('hostmem inspect --json: one walk of a process address space (hostmem.process-walk/1)');

const changeSchema = z.strictObject({
  before: regionJsonSchema,
  after: regionJsonSchema,
  fields: z.array(z.enum(['size', 'state', 'type', 'protect', 'file', 'resident', 'private'])),
  sizeDelta: delta,
  committedDelta: delta,
  residentDelta: delta.nullable(),
  privateDelta: delta.nullable(),
});

const growthRates = z.strictObject({
  committed: z.number(),
  resident: z.number().nullable(),
  private: z.number().nullable(),
});

/** The leak signal of a watch line (main/inspect/growth.ts): rates in bytes per second over the window. */
const growthSchema = z
  .strictObject({
    from: z.number(),
    to: z.number(),
    walks: z.number().int().positive(),
    byType: z.strictObject(
      Object.fromEntries(REGION_TYPES.filter((t) => t !== 'free').map((t) => [t, growthRates])) as Record<
        Exclude<(typeof REGION_TYPES)[number], 'free'>,
        typeof growthRates
      >,
    ),
    total: growthRates,
    committed: bytes,
    projection: z
      .strictObject({
        limit: z.strictObject({ bytes, kind: z.enum(['budget', 'commit-limit']) }),
        etaMs: z.number().nonnegative().nullable(),
      })
      .optional(),
  })
  .describe('the leak signal: growth in bytes per second over the window, and the time to the limit');

/** One line of `hostmem inspect --watch D --json`. */
export const watchJsonSchema = z.discriminatedUnion('event', [
  z.strictObject({
    format: z.literal(WATCH_JSON_FORMAT),
    event: z.literal('walk'),
    seq: z.number().int().positive(),
    pid: z.number().int().positive(),
    t: z.number(),
    durationMs: z.number().nonnegative(),
    summary: summaryJsonSchema,
    changes: z
      .strictObject({
        added: z.array(regionJsonSchema),
        removed: z.array(regionJsonSchema),
        grown: z.array(changeSchema),
        shrunk: z.array(changeSchema),
        changed: z.array(changeSchema),
      })
      .nullable(),
    growth: growthSchema.nullable().optional().describe('null until the walks span a second'),
  }),
  z.strictObject({
    format: z.literal(WATCH_JSON_FORMAT),
    event: z.literal('exit'),
    pid: z.number().int().positive(),
    t: z.number(),
    walks: bytes,
  }),
]);

export function walkToJson(
  walk: ProcessWalk,
  info: ProcessInfo | null,
  summary: TypeSummary,
): z.input<typeof walkJsonSchema> {
  return {
    format: WALK_JSON_FORMAT,
    pid: walk.pid,
    name: walk.name,
    backend: walk.backend,
    pageSize: walk.pageSize,
    takenAt: walk.takenAt,
    durationMs: walk.durationMs,
    addressLimit: `0x${walk.addressLimit.toString(16)}`,
    process: info,
    summary,
    regions: walk.regions.map(regionToJson),
  };
}

function changeToJson(c: RegionChange): z.input<typeof changeSchema> {
  return { ...c, before: regionToJson(c.before), after: regionToJson(c.after), fields: [...c.fields] };
}

export function watchWalkToJson(
  seq: number,
  walk: ProcessWalk,
  summary: TypeSummary,
  diff: WalkDiff | null,
  growth: LeakSignal | null = null,
): z.input<typeof watchJsonSchema> {
  return {
    format: WATCH_JSON_FORMAT,
    event: 'walk',
    seq,
    pid: walk.pid,
    t: walk.takenAt,
    durationMs: walk.durationMs,
    summary,
    changes:
      diff === null
        ? null
        : {
            added: diff.added.map(regionToJson),
            removed: diff.removed.map(regionToJson),
            grown: diff.grown.map(changeToJson),
            shrunk: diff.shrunk.map(changeToJson),
            changed: diff.changed.map(changeToJson),
          },
    growth,
  };
}

function subschema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
  return rest;
}

/** The JSON Schema of both outputs, as docs/process-walk.schema.json holds it. */
export function inspectJsonSchemaDocument(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://hostmem.dev/schemas/process-walk-1.json',
    title: 'hostmem inspect --json (hostmem.process-walk/1) and --watch --json lines (hostmem.process-watch/1)',
    $defs: {
      walk: subschema(walkJsonSchema),
      watch: subschema(watchJsonSchema),
    },
    anyOf: [{ $ref: '#/$defs/walk' }, { $ref: '#/$defs/watch' }],
  };
}
