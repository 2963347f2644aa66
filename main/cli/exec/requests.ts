/**
 * The requests `hostmem exec` understands (exec-protocol.md, "Requests"): one strict zod schema per op. A field that
 * is missing, ill-typed or unknown makes the whole line an error. References (`"r1+0x1000"`) are parsed here and
 * resolved against earlier results by the driver.
 */
import { z } from 'zod';
import { field, formatIssues } from './fields';
import { MALLOC_FLAGS, MEM_FLAGS, PAGE_FLAGS, parseFlags } from './names';
import { describeValue, invalid, parsed, type Parsed } from './parsed';
import { POLICY_SHAPE, policyFieldsAt } from './policy';
import { parseAddress, parseByte, parseId, parseLevel, parseMs, parseSize, type AddressSpec } from './values';

/** How a heap is named in Alloc/DebugAlloc/Free: a CreateMalloc request's id, or the heap's number. */
export type MallocSpec =
  { readonly kind: 'reference'; readonly id: string } | { readonly kind: 'number'; readonly value: number };

function parseMallocSpec(value: unknown, isId: (id: string) => boolean): Parsed<MallocSpec> {
  if (typeof value === 'string' && value !== '') return parsed({ kind: 'reference', id: value });
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    // A number that is also an earlier request's id names that request (ids may be integers).
    return isId(String(value)) ? parsed({ kind: 'reference', id: String(value) }) : parsed({ kind: 'number', value });
  }
  return invalid(
    `expected a heap: the id of a CreateMalloc request, or the heap's number; got ${describeValue(value)}`,
  );
}

function text(value: unknown): Parsed<string> {
  return typeof value === 'string' ? parsed(value) : invalid(`expected a string, got ${describeValue(value)}`);
}

function lineNumber(value: unknown): Parsed<number> {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return parsed(value);
  return invalid(`expected a line number (an integer >= 0), got ${describeValue(value)}`);
}

/** Build the schemas for one run: address and heap fields need to know which ids exist so far. */
function buildSchemas(isId: (id: string) => boolean) {
  const id = field(parseId).optional();
  const address = field((value) => parseAddress(value, isId));
  const malloc = field((value) => parseMallocSpec(value, isId));
  const size = field(parseSize);
  const level = field(parseLevel);
  const memFlags = field((value) => parseFlags(value, MEM_FLAGS));
  const protect = field((value) => parseFlags(value, PAGE_FLAGS));
  const byte = field(parseByte);
  const op = <N extends string>(name: N) => z.literal(name);
  return {
    VirtualAlloc: z.strictObject({
      op: op('VirtualAlloc'),
      id,
      address,
      size,
      type: memFlags,
      protect,
      level,
      tag: field(text).optional(),
    }),
    VirtualFree: z.strictObject({ op: op('VirtualFree'), id, address, size, type: memFlags }),
    VirtualQuery: z.strictObject({ op: op('VirtualQuery'), id, address }),
    VirtualProtect: z.strictObject({ op: op('VirtualProtect'), id, address, size, protect }),
    GetMemoryLoad: z.strictObject({ op: op('GetMemoryLoad'), id }),
    NeedsVirtualAddressSpace: z.strictObject({ op: op('NeedsVirtualAddressSpace'), id, address, size }),
    AcquiredVirtualAddressSpace: z.strictObject({ op: op('AcquiredVirtualAddressSpace'), id, address, size }),
    ReleasedVirtualAddressSpace: z.strictObject({ op: op('ReleasedVirtualAddressSpace'), id, address }),
    CreateMalloc: z.strictObject({
      op: op('CreateMalloc'),
      id,
      type: field((value) => parseFlags(value, MALLOC_FLAGS)),
    }),
    Alloc: z.strictObject({ op: op('Alloc'), id, malloc, size, level }),
    DebugAlloc: z.strictObject({
      op: op('DebugAlloc'),
      id,
      malloc,
      size,
      level,
      file: field(text).optional(),
      line: field(lineNumber).optional(),
    }),
    Free: z.strictObject({ op: op('Free'), id, malloc, address }),
    Fill: z.strictObject({ op: op('Fill'), id, address, size, byte }),
    Check: z.strictObject({ op: op('Check'), id, address, size, byte }),
    Stats: z.strictObject({ op: op('Stats'), id }),
    Audit: z.strictObject({ op: op('Audit'), id }),
    SetPolicy: z.strictObject({ op: op('SetPolicy'), id, ...POLICY_SHAPE }),
    Reset: z.strictObject({ op: op('Reset'), id }),
    Sleep: z.strictObject({ op: op('Sleep'), id, ms: field(parseMs) }),
  };
}

type Schemas = ReturnType<typeof buildSchemas>;
export type Op = keyof Schemas;
export type Request = { [K in Op]: z.output<Schemas[K]> }[Op];
export type RequestOf<K extends Op> = z.output<Schemas[K]>;

export const OPS = Object.keys(buildSchemas(() => false)) as Op[];

export type { AddressSpec };

/** Parses request lines; `isId` tells which ids earlier results defined (for references). */
export class RequestParser {
  private readonly schemas: Schemas;

  constructor(isId: (id: string) => boolean) {
    this.schemas = buildSchemas(isId);
  }

  parse(line: string): Parsed<Request> {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return invalid(`not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return invalid(`a request is a JSON object with an "op", got ${describeValue(value)}`);
    }
    const opValue = (value as { op?: unknown }).op;
    if (opValue === undefined) return invalid(`missing "op" (ops: ${OPS.join(', ')})`);
    if (typeof opValue !== 'string' || !Object.hasOwn(this.schemas, opValue)) {
      return invalid(`unknown op ${describeValue(opValue)} (ops: ${OPS.join(', ')})`);
    }
    const op = opValue as Op;
    const schema: z.ZodType<Request, unknown> = this.schemas[op];
    const result = schema.safeParse(value);
    if (!result.success)
      return invalid(`${op}: ${formatIssues(result.error.issues, (path) => this.fieldsAt(op, path))}`);
    return parsed(result.data);
  }

  private fieldsAt(op: Op, path: readonly PropertyKey[]): readonly string[] {
    if (path.length === 0) return Object.keys(this.schemas[op].shape);
    return op === 'SetPolicy' ? policyFieldsAt(path) : [];
  }
}
