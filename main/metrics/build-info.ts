/**
 * The source revision hostmem was built from, for hostmem_build_info: `__HOSTMEM_REVISION__`, which the build
 * (scripts/build-node.mjs, electron.vite.config.ts) defines as `git rev-parse --short=12 HEAD`; `unknown` when the
 * build did not define it (no git at build time, or a test runner that does not bundle).
 */
declare const __HOSTMEM_REVISION__: string | undefined;

export function buildRevision(): string {
  return typeof __HOSTMEM_REVISION__ === 'string' && __HOSTMEM_REVISION__ !== '' ? __HOSTMEM_REVISION__ : 'unknown';
}
