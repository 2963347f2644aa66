/**
 * What a user script may ask of the host through the worker bridge, and the parent's check of every message
 * (a script can reach `parentPort` itself, so nothing the worker sends is trusted).
 */

/** Argument kinds: `address` is a number or null; `string?` may be left out (or undefined). */
type ArgKind = 'number' | 'address' | 'string' | 'string?';

/** The methods a script may call, with their argument kinds. Heap methods take the heap id first. */
export const SCRIPT_METHODS: Readonly<Record<string, readonly ArgKind[]>> = {
  VirtualAlloc: ['address', 'number', 'number', 'number', 'number', 'string?'],
  VirtualFree: ['number', 'number', 'number'],
  VirtualQuery: ['number'],
  VirtualProtect: ['number', 'number', 'number'],
  GetMemoryLoad: [],
  RegisterMemoryNotificationCallback: [],
  NeedsVirtualAddressSpace: ['number', 'number'],
  AcquiredVirtualAddressSpace: ['number', 'number'],
  ReleasedVirtualAddressSpace: ['number'],
  CreateMalloc: ['number'],
  Alloc: ['number', 'number', 'number'],
  DebugAlloc: ['number', 'number', 'number', 'string', 'number'],
  Free: ['number', 'number'],
  Fill: ['number', 'number', 'number'],
  Check: ['number', 'number', 'number'],
  stats: [],
  policy: [],
};

const ARG_NAMES: Readonly<Record<string, readonly string[]>> = {
  VirtualAlloc: ['address', 'size', 'type', 'protect', 'level', 'tag'],
  VirtualFree: ['address', 'size', 'freeType'],
  VirtualQuery: ['address'],
  VirtualProtect: ['address', 'size', 'protect'],
  NeedsVirtualAddressSpace: ['address', 'size'],
  AcquiredVirtualAddressSpace: ['address', 'size'],
  ReleasedVirtualAddressSpace: ['address'],
  CreateMalloc: ['mallocType'],
  Alloc: ['heap', 'size', 'level'],
  DebugAlloc: ['heap', 'size', 'level', 'file', 'line'],
  Free: ['heap', 'address'],
  Fill: ['address', 'size', 'byte'],
  Check: ['address', 'size', 'byte'],
};

export type ScriptArg = number | string | null | undefined;

export type CallCheck =
  | { readonly ok: true; readonly method: string; readonly args: readonly ScriptArg[] }
  | { readonly ok: false; readonly message: string };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : typeof value === 'object' ? 'an object' : `${typeof value}`;
}

/** Check a call's method name and arguments; the message is what the script's promise rejects with. */
export function checkCall(method: unknown, args: unknown): CallCheck {
  if (typeof method !== 'string' || !Object.hasOwn(SCRIPT_METHODS, method)) {
    const name = typeof method === 'string' ? method : String(method);
    return {
      ok: false,
      message: `host.${name} is not a host method a script may call (known: ${Object.keys(SCRIPT_METHODS).join(', ')})`,
    };
  }
  if (!Array.isArray(args)) return { ok: false, message: `host.${method}: arguments must be a list` };
  const kinds = SCRIPT_METHODS[method]!;
  const names = ARG_NAMES[method] ?? [];
  let given = args.length;
  while (given > 0 && args[given - 1] === undefined) given--;
  if (given > kinds.length) {
    return { ok: false, message: `host.${method} takes ${kinds.length} argument(s), got ${given}` };
  }
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[i]!;
    const value: unknown = args[i];
    const name = names[i] ?? `argument ${i + 1}`;
    const fine =
      kind === 'number'
        ? typeof value === 'number'
        : kind === 'address'
          ? typeof value === 'number' || value === null
          : kind === 'string'
            ? typeof value === 'string'
            : typeof value === 'string' || value === undefined;
    if (!fine) {
      const expected =
        kind === 'address'
          ? 'a number or null'
          : kind === 'number'
            ? 'a number'
            : kind === 'string'
              ? 'a string'
              : 'a string or nothing';
      return { ok: false, message: `host.${method}: ${name} must be ${expected}, got ${describe(value)}` };
    }
  }
  return { ok: true, method, args: args.slice(0, kinds.length) as ScriptArg[] };
}

/** The addresses a call would write to or free: refused when another workload holds them. */
export function writtenAddress(method: string, args: readonly ScriptArg[]): number | undefined {
  const first = args[0];
  switch (method) {
    case 'VirtualAlloc': // commit / reset inside an existing reservation
    case 'VirtualFree':
    case 'VirtualProtect':
    case 'Fill':
    case 'ReleasedVirtualAddressSpace':
      return typeof first === 'number' ? first : undefined;
    case 'Free':
      return typeof args[1] === 'number' ? args[1] : undefined;
    default:
      return undefined;
  }
}
