/**
 * Starting a Windows program with a DLL loaded before its first instruction (kernel32 through koffi): the process is
 * created suspended, a remote thread runs LoadLibraryW on the DLL's path inside it (the loader initialises the
 * process on that thread, so the DLL sees every statically imported module already loaded), and only when that
 * thread has returned is the main thread resumed. This works the same on Windows and under Wine (checked here);
 * adding the DLL to the suspended image's import table (Detours' way) would also work on Windows but means
 * rewriting the image's headers in the child, for no gain here.
 *
 * Waits (the remote thread, the process) run on koffi's worker threads, so the caller's event loop stays free: the
 * DLL may talk to the caller while it loads (hostmem's agent does its handshake in DllMain).
 */
import koffi from 'koffi';

const CREATE_SUSPENDED = 0x4;
const CREATE_UNICODE_ENVIRONMENT = 0x400;
const STARTF_USESTDHANDLES = 0x100;
const HANDLE_FLAG_INHERIT = 0x1;
const MEM_COMMIT_RESERVE = 0x3000;
const MEM_RELEASE = 0x8000;
const PAGE_READWRITE = 0x04;
const INFINITE = 0xffffffff;
const WAIT_OBJECT_0 = 0;
const GENERIC_READ = 0x80000000;
const GENERIC_WRITE = 0x40000000;
const FILE_SHARE_READ_WRITE = 0x3;
const OPEN_EXISTING = 3;
const CREATE_ALWAYS = 2;
const INVALID_HANDLE = -1;
const STD_HANDLES = [-10, -11, -12] as const; // STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE

/** STARTUPINFOW and PROCESS_INFORMATION on x64, as byte layouts. */
const STARTUPINFO_BYTES = 104;
const SI_FLAGS = 60;
const SI_STD = [80, 88, 96] as const;
const PROCESS_INFORMATION_BYTES = 24;
const SECURITY_ATTRIBUTES_BYTES = 24;

type Handle = number;
type AsyncCallback<T> = (error: unknown, value: T) => void;
interface AsyncFunction<A extends unknown[], R> {
  (...args: A): R;
  async(...args: [...A, AsyncCallback<R>]): void;
}

interface Kernel32 {
  CreateProcessW: (
    app: string | null,
    commandLine: Buffer,
    processAttributes: null,
    threadAttributes: null,
    inherit: number,
    flags: number,
    environment: Buffer,
    cwd: string | null,
    startup: Buffer,
    info: Buffer,
  ) => number;
  CreateFileW: (
    path: string,
    access: number,
    share: number,
    security: Buffer,
    disposition: number,
    flags: number,
    template: number,
  ) => Handle;
  GetStdHandle: (which: number) => Handle;
  SetHandleInformation: (h: Handle, mask: number, flags: number) => number;
  VirtualAllocEx: (h: Handle, address: number, size: number, type: number, protect: number) => number;
  VirtualFreeEx: (h: Handle, address: number, size: number, type: number) => number;
  WriteProcessMemory: (h: Handle, address: number, data: Buffer, size: number, written: number[]) => number;
  GetModuleHandleW: (name: string) => Handle;
  GetProcAddress: (module: Handle, name: string) => number;
  CreateRemoteThread: (
    h: Handle,
    security: number,
    stack: number,
    start: number,
    parameter: number,
    flags: number,
    tid: number[],
  ) => Handle;
  WaitForSingleObject: AsyncFunction<[h: Handle, ms: number], number>;
  GetExitCodeThread: (h: Handle, code: number[]) => number;
  GetExitCodeProcess: (h: Handle, code: number[]) => number;
  ResumeThread: (h: Handle) => number;
  TerminateProcess: (h: Handle, code: number) => number;
  CloseHandle: (h: Handle) => number;
  GetLastError: () => number;
}

let bound: Kernel32 | undefined;

function kernel32(): Kernel32 {
  if (bound) return bound;
  const lib = koffi.load('kernel32.dll');
  const f = <T>(proto: string): T => lib.func(proto) as T;
  bound = {
    CreateProcessW: f(
      'int __stdcall CreateProcessW(const char16_t *app, _Inout_ uint8_t *cmd, void *pa, void *ta, int inherit, uint32_t flags, uint8_t *env, const char16_t *cwd, uint8_t *si, _Out_ uint8_t *pi)',
    ),
    CreateFileW: f(
      'intptr_t __stdcall CreateFileW(const char16_t *path, uint32_t access, uint32_t share, uint8_t *sa, uint32_t disposition, uint32_t flags, intptr_t template)',
    ),
    GetStdHandle: f('intptr_t __stdcall GetStdHandle(int32_t which)'),
    SetHandleInformation: f('int __stdcall SetHandleInformation(intptr_t h, uint32_t mask, uint32_t flags)'),
    VirtualAllocEx: f(
      'uintptr_t __stdcall VirtualAllocEx(intptr_t h, uintptr_t address, uintptr_t size, uint32_t type, uint32_t protect)',
    ),
    VirtualFreeEx: f('int __stdcall VirtualFreeEx(intptr_t h, uintptr_t address, uintptr_t size, uint32_t type)'),
    WriteProcessMemory: f(
      'int __stdcall WriteProcessMemory(intptr_t h, uintptr_t address, uint8_t *data, uintptr_t size, _Out_ uintptr_t *written)',
    ),
    GetModuleHandleW: f('intptr_t __stdcall GetModuleHandleW(const char16_t *name)'),
    GetProcAddress: f('uintptr_t __stdcall GetProcAddress(intptr_t module, const char *name)'),
    CreateRemoteThread: f(
      'intptr_t __stdcall CreateRemoteThread(intptr_t h, uintptr_t sa, uintptr_t stack, uintptr_t start, uintptr_t param, uint32_t flags, _Out_ uint32_t *tid)',
    ),
    WaitForSingleObject: f('uint32_t __stdcall WaitForSingleObject(intptr_t h, uint32_t ms)'),
    GetExitCodeThread: f('int __stdcall GetExitCodeThread(intptr_t h, _Out_ uint32_t *code)'),
    GetExitCodeProcess: f('int __stdcall GetExitCodeProcess(intptr_t h, _Out_ uint32_t *code)'),
    ResumeThread: f('uint32_t __stdcall ResumeThread(intptr_t h)'),
    TerminateProcess: f('int __stdcall TerminateProcess(intptr_t h, uint32_t code)'),
    CloseHandle: f('int __stdcall CloseHandle(intptr_t h)'),
    GetLastError: f('uint32_t __stdcall GetLastError()'),
  };
  return bound;
}

/** One argument quoted as CommandLineToArgvW and the C runtime read it back. */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') out += `${'\\'.repeat(backslashes * 2 + 1)}"`;
    else out += `${'\\'.repeat(backslashes)}${ch}`;
    backslashes = 0;
  }
  return `${out}${'\\'.repeat(backslashes * 2)}"`;
}

/** The environment as CreateProcessW takes it with CREATE_UNICODE_ENVIRONMENT: NAME=value\0…\0, sorted by name. */
export function environmentBlock(env: Readonly<Record<string, string | undefined>>): Buffer {
  const entries = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && e[0] !== '' && !e[0].includes('='))
    .sort(([a], [b]) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
  return Buffer.from(`${entries.map(([k, v]) => `${k}=${v}\0`).join('')}\0`, 'utf16le');
}

/** Where the program's stdin, stdout and stderr go: a file (stdin: read; others: created or truncated), or this process's own. */
export interface StdioFiles {
  readonly stdin?: string;
  readonly stdout?: string;
  readonly stderr?: string;
}

export interface InjectedLaunch {
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The DLL loaded before the program's first instruction (an absolute Windows path). */
  readonly dll: string;
  readonly stdio?: StdioFiles;
}

export interface InjectedProcess {
  readonly pid: number;
  /** Resolves with the exit code once the process has ended. */
  readonly exit: Promise<number>;
  terminate(code: number): void;
}

const waitFor = (k: Kernel32, h: Handle): Promise<number> =>
  new Promise((resolve, reject) =>
    k.WaitForSingleObject.async(h, INFINITE, (error, value) => (error ? reject(error as Error) : resolve(value))),
  );

function inheritable(k: Kernel32, h: Handle): Handle {
  if (h !== 0 && h !== INVALID_HANDLE) k.SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  return h;
}

/**
 * Create the program suspended, load the DLL in it, resume it. Rejects with a one-line Error when any step fails
 * (the process, if created, is terminated first).
 */
export async function launchWithDll(spec: InjectedLaunch): Promise<InjectedProcess> {
  const k = kernel32();
  const security = Buffer.alloc(SECURITY_ATTRIBUTES_BYTES);
  security.writeUInt32LE(SECURITY_ATTRIBUTES_BYTES, 0);
  security.writeInt32LE(1, 16); // bInheritHandle
  const opened: Handle[] = [];
  const std = (['stdin', 'stdout', 'stderr'] as const).map((which, i) => {
    const file = spec.stdio?.[which];
    if (file === undefined) return inheritable(k, k.GetStdHandle(STD_HANDLES[i]!));
    const h =
      which === 'stdin'
        ? k.CreateFileW(file, GENERIC_READ, FILE_SHARE_READ_WRITE, security, OPEN_EXISTING, 0, 0)
        : k.CreateFileW(file, GENERIC_WRITE, FILE_SHARE_READ_WRITE, security, CREATE_ALWAYS, 0, 0);
    if (h === INVALID_HANDLE) {
      const error = k.GetLastError();
      for (const o of opened) k.CloseHandle(o);
      throw new Error(`cannot open ${file} for the program's ${which} (Windows error ${error})`);
    }
    opened.push(h);
    return h;
  });
  const startup = Buffer.alloc(STARTUPINFO_BYTES);
  startup.writeUInt32LE(STARTUPINFO_BYTES, 0);
  startup.writeUInt32LE(STARTF_USESTDHANDLES, SI_FLAGS);
  std.forEach((h, i) => startup.writeBigInt64LE(BigInt(h), SI_STD[i]!));
  const info = Buffer.alloc(PROCESS_INFORMATION_BYTES);
  const commandLine = Buffer.from(`${[spec.program, ...spec.args].map(quoteWindowsArg).join(' ')}\0`, 'utf16le');
  const created = k.CreateProcessW(
    spec.program,
    commandLine,
    null,
    null,
    1,
    CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT,
    environmentBlock(spec.env),
    spec.cwd,
    startup,
    info,
  );
  const createError = k.GetLastError();
  for (const o of opened) k.CloseHandle(o);
  if (!created) throw new Error(`cannot start ${spec.program} (CreateProcessW: Windows error ${createError})`);
  const process = Number(info.readBigInt64LE(0));
  const thread = Number(info.readBigInt64LE(8));
  const pid = info.readUInt32LE(16);
  const abandon = (why: string): Error => {
    k.TerminateProcess(process, 1);
    k.CloseHandle(thread);
    k.CloseHandle(process);
    return new Error(why);
  };
  // The DLL's path in the child, then LoadLibraryW on it (kernel32 is at the same address in every process).
  const path = Buffer.from(`${spec.dll}\0`, 'utf16le');
  const remote = k.VirtualAllocEx(process, 0, path.length, MEM_COMMIT_RESERVE, PAGE_READWRITE);
  if (remote === 0)
    throw abandon(`cannot write into ${spec.program} (VirtualAllocEx: Windows error ${k.GetLastError()})`);
  const written = [0];
  if (!k.WriteProcessMemory(process, remote, path, path.length, written)) {
    throw abandon(`cannot write into ${spec.program} (WriteProcessMemory: Windows error ${k.GetLastError()})`);
  }
  const loadLibrary = k.GetProcAddress(k.GetModuleHandleW('kernel32.dll'), 'LoadLibraryW');
  const tid = [0];
  const loader = k.CreateRemoteThread(process, 0, 0, loadLibrary, remote, 0, tid);
  if (loader === 0) throw abandon(`cannot load ${spec.dll} (CreateRemoteThread: Windows error ${k.GetLastError()})`);
  const waited = await waitFor(k, loader);
  const loaded = [0];
  k.GetExitCodeThread(loader, loaded);
  k.CloseHandle(loader);
  k.VirtualFreeEx(process, remote, 0, MEM_RELEASE);
  // The thread's exit code is LoadLibraryW's result, cut to 32 bits: 0 when the DLL did not load.
  if (waited !== WAIT_OBJECT_0 || loaded[0] === 0) {
    throw abandon(`${spec.dll} did not load into ${spec.program} (is it a 64-bit DLL with its dependencies?)`);
  }
  k.ResumeThread(thread);
  k.CloseHandle(thread);
  let open = true;
  const exit = waitFor(k, process).then(() => {
    const code = [0];
    k.GetExitCodeProcess(process, code);
    open = false;
    k.CloseHandle(process);
    return code[0]!;
  });
  return {
    pid,
    exit,
    terminate(code: number): void {
      // Never after the handle is closed: its value may name another object by then.
      if (open) k.TerminateProcess(process, code);
    },
  };
}
