/**
 * main/inspect: what hostmem makes of the OS's answers about another process — the summary by type, the diff of
 * two walks, the watcher, and finding a process by pid or name. Imports `native/` only (never the host).
 */
export * from './summary';
export * from './diff';
export * from './watcher';
export * from './find';
export * from './growth';
