/**
 * The one place that picks the OS backend. Nothing above `native/` asks which OS it runs on.
 */
import type { OsMemory } from './os-memory';
import { createPosixMemory } from './posix';
import { createPosixInspector } from './posix/processes';
import type { ProcessInspector } from './process-inspector';
import { createWin32Memory } from './win32';
import { createWin32Inspector } from './win32/processes';

export * from './os-memory';

let shared: OsMemory | undefined;

/** The backend for this OS (one per process: koffi libraries are loaded once). */
export function createOsMemory(): OsMemory {
  shared ??= process.platform === 'win32' ? createWin32Memory() : createPosixMemory();
  return shared;
}

export * from './process-inspector';

let sharedInspector: ProcessInspector | undefined;

/** The process inspector for this OS (one per process, like `createOsMemory`). */
export function createProcessInspector(): ProcessInspector {
  sharedInspector ??= process.platform === 'win32' ? createWin32Inspector() : createPosixInspector();
  return sharedInspector;
}
