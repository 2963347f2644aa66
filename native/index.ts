/**
 * The one place that picks the OS backend. Nothing above `native/` asks which OS it runs on.
 */
import type { OsMemory } from './os-memory';
import { createPosixMemory } from './posix';
import { createWin32Memory } from './win32';

export * from './os-memory';

let shared: OsMemory | undefined;

/** The backend for this OS (one per process: koffi libraries are loaded once). */
export function createOsMemory(): OsMemory {
  shared ??= process.platform === 'win32' ? createWin32Memory() : createPosixMemory();
  return shared;
}
