/**
 * What a session file may hold, kind by kind: one zod schema per record kind, in one table (`SESSION_RECORD_KINDS`).
 * A new kind is one entry here (its schema, with `type: z.literal(kind)` and `t`); every reader — replay, report,
 * the dashboard, and whatever comes next — then validates it, and a reader that predates it passes it over by the
 * rule in README.md ("Reading a session").
 *
 * The schemas describe what the writers write (the recorder's `call` lines, the sampler's `sample` lines, snapshots,
 * notes), strictly enough that whatever a reader uses is there with its type: a record that passes can be used
 * without a check, and one that does not is damage (`FILE:LINE: what is wrong`).
 *
 * The recorder writes hundreds of thousands of `call` lines a second, in one exact text form. `matchCall`
 * recognises that form with one regular expression per op (built from the same field table as the schemas, and only
 * ever accepting a subset of what they accept) and builds the record without JSON.parse and zod; `matchOkCallTime`
 * gives only the time of a successful call, for readers that only count those. Both paths give the same record
 * (tested); a large report reads about 3 times faster than through JSON.parse and the schema.
 */
import { z } from 'zod';
import { LEVELS } from '../host/types';
import { LAUNCH_RECORD_SCHEMAS } from './launch-records';
import { PROCESS_RECORD_SCHEMAS } from './process-records';
import { isExactHexAddress, isTime, time } from './record-fields';

/** A byte count or an index: a safe integer ≥ 0. */
const count = z.number().int().min(0);
const integer = z.number().int();
const text = z.string();
/**
 * A recorded address: a reference to an earlier result ("r12", "r12+0x3000"), a hex address below 2^53 (what exec
 * takes), or null.
 */
const address = z.union([
  z
    .string()
    .min(1)
    .max(1000)
    .refine((s) => !/^0x[0-9a-f]+$/i.test(s) || (isExactHexAddress(s) && Number(s) <= Number.MAX_SAFE_INTEGER), {
      message: 'expected a reference or an address "0x…" below 2^53',
    }),
  z.null(),
]);
const id = z.union([z.string().min(1), integer]);
const byte = z.number().int().min(0).max(255);
/** A result's address: what the host returned, below 2^53. */
const hexAddress = z
  .string()
  .refine((s) => isExactHexAddress(s) && Number(s) <= Number.MAX_SAFE_INTEGER, 'expected a hex address below 2^53');

/** A field of a recorded request: its schema, and a regular expression (one capture) matching a subset of it. */
interface FieldKind {
  readonly schema: z.ZodType;
  readonly pattern: string;
  readonly decode: (capture: string) => unknown;
}

const STRING = String.raw`"[^"\\\u0000-\u001f]*"`;
const INT = String.raw`-?(?:0|[1-9]\d{0,14})`;
const asNumber = (s: string): number => Number(s);
const asString = (s: string): string => s.slice(1, -1);

const FIELD: Readonly<Record<'size' | 'flags' | 'int' | 'byte' | 'address' | 'text' | 'id', FieldKind>> = {
  size: { schema: count, pattern: String.raw`(0|[1-9]\d{0,14})`, decode: asNumber },
  /** A DWORD of flags (MEM_*, PAGE_*, MALLOC_*), as a number: the recorder writes numbers. */
  flags: { schema: count.max(0xffffffff), pattern: String.raw`(0|[1-9]\d{0,8})`, decode: asNumber },
  int: { schema: integer, pattern: `(${INT})`, decode: asNumber },
  byte: { schema: byte, pattern: String.raw`(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`, decode: asNumber },
  address: {
    schema: address,
    // A hex address of 14 digits or more may be past 2^53: the schema decides (the fast path only accepts less).
    pattern: String.raw`(null|"(?![0][xX][0-9a-fA-F]{14,}")[^"\\\u0000-\u001f]{1,1000}")`,
    decode: (s) => (s === 'null' ? null : asString(s)),
  },
  text: { schema: text, pattern: `(${STRING})`, decode: asString },
  id: {
    schema: id,
    pattern: String.raw`("[^"\\\u0000-\u001f]+"|${INT})`,
    decode: (s) => (s.startsWith('"') ? asString(s) : Number(s)),
  },
};

type FieldName = keyof typeof FIELD;
/** `name` or `name?` (optional), with its kind. */
type FieldList = readonly (readonly [string, FieldName])[];

/** The fields the recorder writes for each op, in the order it writes them (after `op` and `id`). */
const RECORDED_OPS = {
  VirtualAlloc: [
    ['address', 'address'],
    ['size', 'size'],
    ['type', 'flags'],
    ['protect', 'flags'],
    ['level', 'int'],
    ['tag?', 'text'],
  ],
  VirtualFree: [
    ['address', 'address'],
    ['size', 'size'],
    ['type', 'flags'],
  ],
  VirtualQuery: [['address', 'address']],
  VirtualProtect: [
    ['address', 'address'],
    ['size', 'size'],
    ['protect', 'flags'],
  ],
  GetMemoryLoad: [],
  NeedsVirtualAddressSpace: [
    ['address', 'address'],
    ['size', 'size'],
  ],
  AcquiredVirtualAddressSpace: [
    ['address', 'address'],
    ['size', 'size'],
  ],
  ReleasedVirtualAddressSpace: [['address', 'address']],
  CreateMalloc: [['type', 'flags']],
  Alloc: [
    ['malloc', 'id'],
    ['size', 'size'],
    ['level', 'int'],
  ],
  DebugAlloc: [
    ['malloc', 'id'],
    ['size', 'size'],
    ['level', 'int'],
    ['file?', 'text'],
    ['line?', 'int'],
  ],
  Free: [
    ['malloc', 'id'],
    ['address', 'address'],
  ],
  Fill: [
    ['address', 'address'],
    ['size', 'size'],
    ['byte', 'byte'],
  ],
  Check: [
    ['address', 'address'],
    ['size', 'size'],
    ['byte', 'byte'],
  ],
  Reset: [],
} as const satisfies Readonly<Record<string, FieldList>>;

type RecordedOp = keyof typeof RECORDED_OPS;

function requestSchema(op: string, fields: FieldList): z.ZodObject {
  const shape: Record<string, z.ZodType> = { op: z.literal(op), id: id.optional() };
  for (const [name, kind] of fields) {
    const optional = name.endsWith('?');
    shape[optional ? name.slice(0, -1) : name] = optional ? FIELD[kind].schema.optional() : FIELD[kind].schema;
  }
  return z.strictObject(shape);
}

/** A policy as a session writes it (the exec policy object with sizes in bytes; `toExecPolicy`). */
export const recordedPolicy = z.strictObject({
  commitLimit: count.min(1).nullable().optional(),
  reserveLimit: count.min(1).nullable().optional(),
  thresholds: z.strictObject(Object.fromEntries(LEVELS.map((l) => [l, z.number().gt(0).max(1).optional()]))).optional(),
  processCriticalWaitMs: z.number().min(0).optional(),
  faults: z
    .array(
      z
        .strictObject({
          op: z.enum(['VirtualAlloc', 'Alloc', 'DebugAlloc']).optional(),
          level: z.union([z.enum(LEVELS), z.literal(0), z.literal(1), z.literal(2)]).optional(),
          probability: z.number().min(0).max(1).optional(),
          everyNth: z.number().int().min(1).optional(),
          afterBytes: count.optional(),
        })
        .refine((f) => f.probability !== undefined || f.everyNth !== undefined || f.afterBytes !== undefined, {
          message: 'a fault needs "probability", "everyNth" or "afterBytes"',
        }),
    )
    .optional(),
  seed: integer.optional(),
});

const setPolicyRequest = recordedPolicy.extend({ op: z.literal('SetPolicy'), id: id.optional() });

const REQUEST_SCHEMAS: [z.ZodObject, ...z.ZodObject[]] = [
  setPolicyRequest,
  ...Object.entries(RECORDED_OPS).map(([op, fields]) => requestSchema(op, fields)),
];

/** A recorded request: `op`, `id`, and the op's fields (see RECORDED_OPS; SetPolicy: the policy's fields). */
export type RecordedRequest = { readonly op: RecordedOp | 'SetPolicy'; readonly id?: string | number } & Readonly<
  Record<string, unknown>
>;

const callResult = z.strictObject({
  hr: z.string().regex(/^0x[0-9A-F]{8}$/, 'expected an HRESULT such as "0x8007000E"'),
  hrName: z.string().min(1),
  reason: z.string().min(1).optional(),
  address: z.union([hexAddress, z.null()]).optional(),
});

const callRecord = z.strictObject({
  type: z.literal('call'),
  t: time,
  request: z.discriminatedUnion('op', REQUEST_SCHEMAS) as unknown as z.ZodType<RecordedRequest>,
  result: callResult,
});

const failureCounts = z.looseObject({
  eTaskCritical: count,
  eAppDomainCritical: count,
  eProcessCritical: count,
  other: count,
});
const gauge = z.number().nullable().optional();

const sampleRecord = z.looseObject({
  type: z.literal('sample'),
  t: time,
  reserved: count,
  committed: count,
  external: count,
  heap: count,
  regions: count,
  commitLimit: count.nullable().optional(),
  memoryLoad: gauge,
  hostLoad: gauge,
  workingSet: gauge,
  privateBytes: gauge,
  failures: failureCounts,
  state: z.enum(['available', 'unavailable']).optional(),
  memoryAvailable: z.enum(['Low', 'Neutral', 'High']).optional(),
});

const snapshotRegion = z.looseObject({
  base: count,
  size: count,
  committed: count,
  level: z.enum(LEVELS),
  tag: z.string().nullable(),
  allocationProtect: integer,
  created: time,
  runs: z.array(z.looseObject({ start: count, end: count, protect: integer })),
});

const snapshotRecord = z.looseObject({
  type: z.literal('snapshot'),
  t: time,
  time: time.optional(),
  label: z.string().nullable().optional(),
  pageSize: count.optional(),
  reserved: count,
  committed: count,
  external: count,
  heap: count,
  regions: z.array(snapshotRegion),
});

const noteRecord = z.looseObject({
  type: z.literal('note'),
  t: time,
  note: z.string(),
  message: z.string().optional(),
});

/**
 * Every record kind a session may hold, by its `type`. Add a kind here (one entry) and every reader validates it;
 * readers pass over kinds they do not know (README.md, "Reading a session").
 */
export const SESSION_RECORD_KINDS = {
  call: callRecord,
  sample: sampleRecord,
  snapshot: snapshotRecord,
  note: noteRecord,
  // Walks of another process (`hostmem inspect --record`, watches): process-walk, process-delta, process-exit.
  ...PROCESS_RECORD_SCHEMAS,
  // A launched program (`hostmem launch --record`): launch-start, -modules, -stacks, -calls, -counters, -end.
  ...LAUNCH_RECORD_SCHEMAS,
} as const;

export type SessionRecordKind = keyof typeof SESSION_RECORD_KINDS;
export type SessionRecordOf<K extends SessionRecordKind> = z.infer<(typeof SESSION_RECORD_KINDS)[K]>;
export type SessionRecord = { [K in SessionRecordKind]: SessionRecordOf<K> }[SessionRecordKind];
export type CallRecord = SessionRecordOf<'call'>;
export type SampleRecord = SessionRecordOf<'sample'>;
export type SnapshotRecord = SessionRecordOf<'snapshot'>;

export function isRecordKind(type: string): type is SessionRecordKind {
  return Object.hasOwn(SESSION_RECORD_KINDS, type);
}

/** The first problem zod found, as one line: `request.size: expected a number, got a string`. */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.map(String).join('.');
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return `${where === '' ? '' : `${where}: `}${issue.message}${more}`;
}

// ---------------------------------------------------------------------------------------------- fast path

/** A result as the recorder writes it: hr, hrName, reason (failures), address (VirtualAlloc, Alloc, DebugAlloc). */
const RESULT = String.raw`\{"hr":"(0x[0-9A-F]{8})","hrName":"(\w+)"(?:,"reason":"(\w+)")?(?:,"address":(null|"0x[0-9a-f]{1,13}"))?\}`;
const CALL_HEAD = '{"type":"call","t":';
const OP_AT = '"request":{"op":"';

interface FastOp {
  readonly regex: RegExp;
  readonly ok: RegExp;
  readonly names: readonly string[];
  readonly decoders: readonly ((capture: string) => unknown)[];
}

const FAST_OPS = new Map<string, FastOp>(
  Object.entries(RECORDED_OPS).map(([op, fields]: [string, FieldList]) => {
    let body = '';
    const names: string[] = [];
    const decoders: Array<(capture: string) => unknown> = [];
    for (const [name, kind] of fields) {
      const optional = name.endsWith('?');
      const key = optional ? name.slice(0, -1) : name;
      const part = `,"${key}":${FIELD[kind].pattern}`;
      body += optional ? `(?:${part})?` : part;
      names.push(key);
      decoders.push(FIELD[kind].decode);
    }
    const source = String.raw`^\{"type":"call","t":(0|[1-9]\d{0,14}),"request":\{"op":"${op}","id":${FIELD.id.pattern}${body}\},"result":${RESULT}\}$`;
    // The same line, successful, without captures: a test for readers that only need its time.
    const ok = source
      .replace(RESULT, String.raw`\{"hr":"0x00000000","hrName":"S_OK"(?:,"address":(?:null|"0x[0-9a-f]{1,13}"))?\}`)
      .replace(/\((?!\?)/g, '(?:');
    return [op, { regex: new RegExp(source), ok: new RegExp(ok), names, decoders }];
  }),
);

function fastOpOf(line: string): FastOp | undefined {
  if (!line.startsWith(CALL_HEAD)) return undefined;
  const at = line.indexOf(OP_AT, CALL_HEAD.length);
  if (at < 0) return undefined;
  const from = at + OP_AT.length;
  return FAST_OPS.get(line.slice(from, line.indexOf('"', from)));
}

/**
 * The time of a successful call line in the recorder's exact text form, when that is all a reader needs of it (the
 * same test as `matchCall`, without building the record); undefined for any other line.
 */
export function matchOkCallTime(line: string): number | undefined {
  const fast = fastOpOf(line);
  if (fast === undefined || !fast.ok.test(line)) return undefined;
  return Number(line.slice(CALL_HEAD.length, line.indexOf(',', CALL_HEAD.length)));
}

/**
 * The record of a call line in the recorder's exact text form, built without JSON.parse; undefined for any other
 * line (which then goes through JSON.parse and the schema). Whatever it accepts, the schema accepts too,
 * and gives the same record.
 */
export function matchCall(line: string): CallRecord | undefined {
  const fast = fastOpOf(line);
  if (fast === undefined) return undefined;
  const m = fast.regex.exec(line);
  if (m === null) return undefined;
  const from = line.indexOf(OP_AT, CALL_HEAD.length) + OP_AT.length;
  const request: Record<string, unknown> = { op: line.slice(from, line.indexOf('"', from)) };
  request.id = FIELD.id.decode(m[2]!);
  for (let i = 0; i < fast.names.length; i++) {
    const capture = m[i + 3];
    if (capture !== undefined) request[fast.names[i]!] = fast.decoders[i]!(capture);
  }
  const k = fast.names.length + 3;
  const result: { hr: string; hrName: string; reason?: string; address?: string | null } = {
    hr: m[k]!,
    hrName: m[k + 1]!,
  };
  const reason = m[k + 2];
  if (reason !== undefined) result.reason = reason;
  const resultAddress = m[k + 3];
  if (resultAddress !== undefined) result.address = resultAddress === 'null' ? null : asString(resultAddress);
  return { type: 'call', t: Number(m[1]), request: request as RecordedRequest, result };
}

// ---------------------------------------------------------------------------------------------- snapshots

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const LEVEL_NAMES: readonly unknown[] = LEVELS;

/**
 * True when `value` is a snapshot record the schema accepts, checked without building a copy: a snapshot holds every
 * live region (100,000 regions take zod ~0.45 s and a copy of each). It never says yes where the schema says no
 * (tested); where it says no, the reader asks the schema, for the message.
 */
export function isValidSnapshot(value: unknown): value is SnapshotRecord {
  if (!isObject(value) || value.type !== 'snapshot' || !isTime(value.t)) return false;
  if (value.time !== undefined && !isTime(value.time)) return false;
  if (value.label !== undefined && value.label !== null && typeof value.label !== 'string') return false;
  if (value.pageSize !== undefined && !isCount(value.pageSize)) return false;
  if (!isCount(value.reserved) || !isCount(value.committed) || !isCount(value.external) || !isCount(value.heap))
    return false;
  const regions = value.regions;
  if (!Array.isArray(regions)) return false;
  for (const r of regions as unknown[]) {
    if (!isObject(r)) return false;
    if (!isCount(r.base) || !isCount(r.size) || !isCount(r.committed) || !LEVEL_NAMES.includes(r.level)) return false;
    if (r.tag !== null && typeof r.tag !== 'string') return false;
    if (!Number.isSafeInteger(r.allocationProtect) || !isTime(r.created) || !Array.isArray(r.runs)) return false;
    for (const run of r.runs as unknown[]) {
      if (!isObject(run) || !isCount(run.start) || !isCount(run.end) || !Number.isSafeInteger(run.protect))
        return false;
    }
  }
  return true;
}
