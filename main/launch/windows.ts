/**
 * `hostmem launch` on Windows: the agent DLL, the named pipe it connects to, finding the program, and starting it
 * with the agent loaded before its first instruction (native/win32/launch.ts). The launcher calls these where
 * process.platform is win32; everything else (the channel, the books, the session) is the same as on Linux.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { launchWithDll, type InjectedProcess, type StdioFiles } from '../../native/win32/launch';

export const WINDOWS_AGENT_FILE = 'hostmem-agent.dll';

/** A fresh pipe name for one launch (the agent reads it from HOSTMEM_AGENT_PIPE). */
export function agentPipeName(): string {
  return `\\\\.\\pipe\\hostmem-launch-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * The program's file, found as CreateProcess's callers usually do: a path as given (with `.exe` added when it has
 * no extension), else a bare name looked up in the PATH with PATHEXT's extensions. undefined when none exists.
 */
export function resolveWindowsProgram(
  program: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string | undefined {
  const pathOf = (name: string): string => (isAbsolute(name) ? name : resolve(cwd, name));
  const extensions = ['', ...(env.PATHEXT ?? env.Pathext ?? '.COM;.EXE').split(';').filter((e) => e !== '')];
  const hasDir = /[\\/]/.test(program);
  const dirs = hasDir ? [''] : ['', ...(env.PATH ?? env.Path ?? '').split(delimiter).filter((d) => d !== '')];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = dir === '' ? pathOf(program + ext) : join(dir, program + ext);
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // next
      }
    }
  }
  return undefined;
}

export interface WindowsSpawn {
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly agentPath: string;
  readonly pipe: string;
  readonly stdio?: StdioFiles;
}

/**
 * The agent's real file: inside the installed app it is unpacked beside app.asar (electron-builder.yml), and
 * Electron's fs finds it through the archive's path, which LoadLibraryW in another process cannot open.
 */
export function unpackedPath(path: string): string {
  return path.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

/** Start the program suspended, load the agent into it, resume it. */
export function spawnWindows(spec: WindowsSpawn): Promise<InjectedProcess> {
  return launchWithDll({
    program: spec.program,
    args: spec.args,
    cwd: spec.cwd,
    env: { ...spec.env, HOSTMEM_AGENT_PIPE: spec.pipe },
    dll: unpackedPath(resolve(spec.agentPath)),
    ...(spec.stdio ? { stdio: spec.stdio } : {}),
  });
}

export type { InjectedProcess, StdioFiles };
