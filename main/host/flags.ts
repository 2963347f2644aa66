/** Validation of VirtualAlloc/VirtualFree/VirtualProtect arguments, by the Win32 rules in the spec. */
import { ALLOC_PROTECTIONS, MEM, PAGE } from '../vocabulary';

const BASE_PROTECTIONS = new Set<number>(ALLOC_PROTECTIONS);
const MODIFIERS = PAGE.GUARD | PAGE.NOCACHE | PAGE.WRITECOMBINE;

/** One of the six base protections, optionally with GUARD, NOCACHE or WRITECOMBINE (as Windows combines them). */
export function isValidProtection(protect: number): boolean {
  if (!Number.isInteger(protect) || protect <= 0 || protect > 0xffff) return false;
  const base = protect & 0xff;
  const mods = protect & ~0xff;
  if (!BASE_PROTECTIONS.has(base) || (mods & ~MODIFIERS) !== 0) return false;
  // Windows refuses these combinations with ERROR_INVALID_PARAMETER.
  if ((mods & PAGE.NOCACHE) !== 0 && (mods & PAGE.WRITECOMBINE) !== 0) return false;
  if ((mods & PAGE.GUARD) !== 0 && (mods & (PAGE.NOCACHE | PAGE.WRITECOMBINE)) !== 0) return false;
  if (base === PAGE.NOACCESS && mods !== 0) return false;
  return true;
}

export function isWritable(protect: number): boolean {
  if (protect & PAGE.GUARD) return false;
  const base = protect & 0xff;
  return base === PAGE.READWRITE || base === PAGE.EXECUTE_READWRITE;
}

export function isReadable(protect: number): boolean {
  if (protect & PAGE.GUARD) return false;
  const base = protect & 0xff;
  return (
    base === PAGE.READONLY || base === PAGE.READWRITE || base === PAGE.EXECUTE_READ || base === PAGE.EXECUTE_READWRITE
  );
}

const KNOWN_ALLOC_FLAGS =
  MEM.COMMIT |
  MEM.RESERVE |
  MEM.RESET |
  MEM.TOP_DOWN |
  MEM.RESET_UNDO |
  MEM.LARGE_PAGES |
  MEM.PHYSICAL |
  MEM.WRITE_WATCH;
/** Flags no backend here supports: refused as E_INVALIDARG. */
const UNSUPPORTED_ALLOC_FLAGS = MEM.LARGE_PAGES | MEM.PHYSICAL | MEM.WRITE_WATCH;

export type AllocKind = 'reserve' | 'reserve-commit' | 'commit' | 'reset' | 'reset-undo';

/** What a VirtualAlloc flag word asks for, or undefined when it is not a valid request. */
export function allocKind(type: number, hasAddress: boolean): AllocKind | undefined {
  if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) return undefined;
  if ((type & ~KNOWN_ALLOC_FLAGS) !== 0 || (type & UNSUPPORTED_ALLOC_FLAGS) !== 0) return undefined;
  const action = type & ~MEM.TOP_DOWN;
  // MEM_RESET and MEM_RESET_UNDO stand alone and need an address (Win32 refuses any other combination).
  if (action === MEM.RESET) return hasAddress ? 'reset' : undefined;
  if (action === MEM.RESET_UNDO) return hasAddress ? 'reset-undo' : undefined;
  if ((action & (MEM.RESET | MEM.RESET_UNDO)) !== 0) return undefined;
  const commit = (action & MEM.COMMIT) !== 0;
  const reserve = (action & MEM.RESERVE) !== 0;
  if (reserve) return commit ? 'reserve-commit' : 'reserve';
  if (commit) return hasAddress ? 'commit' : 'reserve-commit';
  return undefined;
}

/** A byte count the OS could be asked for: a positive safe integer. */
export function isValidSize(size: number): boolean {
  return Number.isSafeInteger(size) && size > 0;
}

/** Above this no user-space address exists on either backend (Windows' highest user address + 1). */
export const USER_ADDRESS_LIMIT = 0x7fffffff0000;

export function isValidAddress(address: number): boolean {
  return Number.isSafeInteger(address) && address >= 0 && address < USER_ADDRESS_LIMIT;
}
