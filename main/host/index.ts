/**
 * The host memory manager: `createHost` over this OS's backend (or one given, for tests).
 */
import { createOsMemory, type OsMemory } from '../../native';
import { Host } from './host';
import { DEFAULT_POLICY, type HostPolicy } from './types';

export * from './types';
export { HR, hresultHex, hresultName, isKnownHResult } from './hresult';
export { Host, classifyLoad, type Region } from './host';
export type { PageRun } from './page-runs';
export { HostWrapper } from './wrapper';

export interface CreateHostOptions {
  readonly os?: OsMemory;
  readonly policy?: HostPolicy;
  /** Clock for event times (ms since the epoch). */
  readonly now?: () => number;
}

export function createHost(options: CreateHostOptions = {}): Host {
  return new Host(options.os ?? createOsMemory(), options.policy ?? DEFAULT_POLICY, options.now ?? Date.now);
}
