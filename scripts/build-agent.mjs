#!/usr/bin/env node
// Build hostmem's Linux agent (native/agent: the LD_PRELOAD object `hostmem launch` puts into a program) with the
// machine's C compiler: out/agent/libhostmem-agent.so, and out/agent/agent-build.json saying whether it was built
// and, when not, why (no compiler, not Linux) — `hostmem launch` refuses with that reason.
//   node scripts/build-agent.mjs [--sanitize=address|thread] [--out FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

// ------------------------------------------------------------------------------------------- the Windows agent
// native/agent/windows: a DLL built with mingw-w64 (Debian's x86_64-w64-mingw32-gcc here, MSYS2's or Chocolatey's
// gcc on Windows). Its status goes into agent-build.json under "windows", beside the Linux agent's.

export const WINDOWS_AGENT_SOURCES = [
  'native/agent/windows/agent.c',
  'native/agent/common/core.c',
  'native/agent/common/channel.c',
];
export const WINDOWS_AGENT_FLAGS = [
  '-O2',
  '-g',
  '-shared',
  '-std=gnu11',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-static-libgcc',
];

/** The mingw-w64 C compiler: $HOSTMEM_MINGW_CC, else x86_64-w64-mingw32-gcc, else (on Windows) gcc; or null. */
export function findMingw() {
  const candidates = [process.env.HOSTMEM_MINGW_CC, 'x86_64-w64-mingw32-gcc'];
  if (process.platform === 'win32') candidates.push('gcc');
  for (const cc of candidates.filter(Boolean)) {
    const r = spawnSync(cc, ['-dumpmachine'], { encoding: 'utf8' });
    if (r.status === 0 && /x86_64-w64-(mingw32|windows-gnu)/.test(r.stdout)) return cc;
  }
  return null;
}

/** Compile the Windows agent; resolves to { built, path?, reason? }, also written to agent-build.json ("windows"). */
export function buildWindowsAgent({ out = join(repoRoot, 'out', 'agent', 'hostmem-agent.dll'), quiet = false } = {}) {
  const dir = join(out, '..');
  mkdirSync(dir, { recursive: true });
  const status = (s) => {
    const file = join(dir, 'agent-build.json');
    let all = {};
    try {
      if (existsSync(file)) all = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      all = {};
    }
    writeFileSync(file, `${JSON.stringify({ ...all, windows: s }, null, 2)}\n`);
    return s;
  };
  const cc = findMingw();
  if (!cc) {
    return status({
      built: false,
      reason:
        'no mingw-w64 compiler was found when hostmem was built (Debian: `sudo apt-get install gcc-mingw-w64-x86-64`; Windows: MSYS2 mingw-w64-x86_64-gcc), so hostmem launch has no Windows agent',
    });
  }
  const args = [
    ...WINDOWS_AGENT_FLAGS,
    '-o',
    out,
    ...WINDOWS_AGENT_SOURCES.map((s) => join(repoRoot, s)),
    '-lntdll',
    '-lpsapi',
  ];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`build-agent: ${cc} failed to compile the Windows agent (exit ${r.status})`);
  }
  if (!quiet) console.log(`build-agent: ${out.replace(`${repoRoot}/`, '')} (${cc})`);
  return status({ built: true, path: out, cc });
}

/**
 * The Windows programs the launch tests run (tests/launch/programs/win*.c) into out/tests/launch/programs/, with
 * every function exported so that call sites are named from the export table. Resolves to the files built.
 */
export function buildWindowsTestPrograms({ outDir = join(repoRoot, 'out', 'tests', 'launch', 'programs') } = {}) {
  const cc = findMingw();
  if (!cc) return [];
  mkdirSync(outDir, { recursive: true });
  const built = [];
  for (const name of ['wincalls']) {
    const out = join(outDir, `${name}.exe`);
    const src = join(repoRoot, 'tests', 'launch', 'programs', `${name}.c`);
    const r = spawnSync(cc, ['-O1', '-g', '-Wall', '-Wextra', '-Werror', '-Wl,--export-all-symbols', '-o', out, src], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      throw new Error(`build-agent: ${cc} failed to compile ${name}.c (exit ${r.status})`);
    }
    built.push(out);
  }
  return built;
}

if (isMain(import.meta.url)) {
  const sanitize = process.argv.find((a) => a.startsWith('--sanitize='))?.slice('--sanitize='.length);
  const outAt = process.argv.indexOf('--out');
  const out = outAt > 0 ? process.argv[outAt + 1] : undefined;
  try {
    const s = buildAgent({ ...(out ? { out } : {}), ...(sanitize ? { sanitize } : {}) });
    if (!s.built) console.log(`build-agent: not built: ${s.reason}`);
    if (!sanitize && !out) {
      const w = buildWindowsAgent();
      if (!w.built) console.log(`build-agent: Windows agent not built: ${w.reason}`);
    }
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
