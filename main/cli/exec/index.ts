/** `hostmem exec` as a library: run request lines against a host, and the parsers it is made of. */
export { runExec, type ExecOptions, type ExecSummary, type WriteLine } from './run';
export { readLines, LineWriter, type ExecLine } from './lines';
export { parsePolicy, toHostPolicy } from './policy';
export { parseSize } from './values';
export { formatProtect } from './names';
