#!/usr/bin/env node
// Build hostmem's Linux agent (native/agent: the LD_PRELOAD object `hostmem launch` puts into a program) with the
// machine's C compiler: out/agent/libhostmem-agent.so, and out/agent/agent-build.json saying whether it was built
// and, when not, why (no compiler, not Linux) — `hostmem launch` refuses with that reason.
//   node scripts/build-agent.mjs [--sanitize=address|thread] [--out FILE]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMain, repoRoot } from './util.mjs';

export const AGENT_SOURCES = ['native/agent/linux/agent.c', 'native/agent/common/core.c'];
// C that runs inside other programs: every warning is an error.
export const AGENT_FLAGS = [
  '-O2',
  '-g',
  '-fPIC',
  '-shared',
  '-std=gnu11',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-fvisibility=hidden',
];

/** The C compiler to use: $CC, else cc, else gcc, else clang; null when there is none. */
export function findCompiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return cc;
  }
  return null;
}

/** Compile the agent; resolves to { built, path?, reason? } and writes the status file beside it. */
export function buildAgent({
  out = join(repoRoot, 'out', 'agent', 'libhostmem-agent.so'),
  sanitize,
  quiet = false,
} = {}) {
  const dir = join(out, '..');
  mkdirSync(dir, { recursive: true });
  const status = (s) => {
    if (!sanitize) writeFileSync(join(dir, 'agent-build.json'), `${JSON.stringify(s, null, 2)}\n`);
    return s;
  };
  if (process.platform !== 'linux') {
    return status({
      built: false,
      reason: `the agent of hostmem launch is built on Linux only (this is ${process.platform})`,
    });
  }
  const cc = findCompiler();
  if (!cc) {
    return status({
      built: false,
      reason:
        'no C compiler was found when hostmem was built (install gcc, e.g. `sudo apt-get install gcc`, then run `npm run build:node`)',
    });
  }
  const flags = [...AGENT_FLAGS];
  if (sanitize) flags.push(`-fsanitize=${sanitize}`, '-fno-omit-frame-pointer');
  const args = [...flags, '-o', out, ...AGENT_SOURCES.map((s) => join(repoRoot, s)), '-ldl', '-lpthread'];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`build-agent: ${cc} failed to compile the agent (exit ${r.status})`);
  }
  if (!quiet)
    console.log(`build-agent: ${out.replace(`${repoRoot}/`, '')} (${cc}${sanitize ? `, -fsanitize=${sanitize}` : ''})`);
  return status({ built: true, path: out, cc });
}

if (isMain(import.meta.url)) {
  const sanitize = process.argv.find((a) => a.startsWith('--sanitize='))?.slice('--sanitize='.length);
  const outAt = process.argv.indexOf('--out');
  const out = outAt > 0 ? process.argv[outAt + 1] : undefined;
  try {
    const s = buildAgent({ ...(out ? { out } : {}), ...(sanitize ? { sanitize } : {}) });
    if (!s.built) console.log(`build-agent: not built: ${s.reason}`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
