/**
 * Symbols of Windows modules (PE32+ images) from their export tables, for frames the Windows agent captured:
 * `module!function+0x…` where the pc lies in an exported function, `module!0x…` (the RVA) elsewhere. Function
 * bounds come from the image's exception directory (.pdata: every x64 function that is not a leaf has an entry), so
 * a pc inside an unexported function is never named after the export before it. PDB files are not read.
 *
 * Module paths are the program's own (Windows paths); on Linux, a path under Wine's Z: drive is read from the
 * Unix path it stands for (a session recorded under Wine reports on Linux).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Symboliser, type LoadedModule, type SymbolisedFrame } from './symbols';

interface Section {
  readonly rva: number;
  readonly virtualSize: number;
  readonly rawOffset: number;
  readonly rawSize: number;
  readonly executable: boolean;
}

interface Export {
  readonly name: string;
  readonly start: number; // RVA
  readonly end: number; // RVA, exclusive
}

/** One image's functions: exports sorted by start, with their bounds. */
interface PeTable {
  readonly exports: readonly Export[];
}

const IMAGE_SCN_MEM_EXECUTE = 0x20000000;
const MAX_TABLE_BYTES = 64 << 20;

/** The file a module path names here: the path itself on Windows; on Linux, Wine's Z:\ drive is the root. */
export function hostPathOf(windowsPath: string): string {
  if (process.platform === 'win32') return windowsPath;
  const z = /^[zZ]:[\\/](.*)$/.exec(windowsPath);
  return z ? `/${z[1]!.replace(/\\/g, '/')}` : windowsPath;
}

/** The file name of a Windows (or POSIX) path. */
export function moduleName(path: string): string {
  const at = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return path.slice(at + 1);
}

class PeFile {
  private constructor(
    private readonly fd: number,
    private readonly size: number,
    readonly sections: readonly Section[],
    readonly exportDir: { rva: number; size: number },
    readonly exceptionDir: { rva: number; size: number },
  ) {}

  static open(path: string): PeFile {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const dos = PeFile.read(fd, 0, 64, size);
      if (dos.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE image (no MZ header)');
      const pe = dos.readUInt32LE(0x3c);
      const head = PeFile.read(fd, pe, 24 + 240, size);
      if (head.readUInt32LE(0) !== 0x4550) throw new Error('not a PE image (no PE signature)');
      const nSections = head.readUInt16LE(6);
      const optionalSize = head.readUInt16LE(20);
      if (head.readUInt16LE(24) !== 0x20b) throw new Error('not a PE32+ (64-bit) image');
      const dir = (i: number): { rva: number; size: number } => ({
        rva: head.readUInt32LE(24 + 112 + i * 8),
        size: head.readUInt32LE(24 + 112 + i * 8 + 4),
      });
      const table = PeFile.read(fd, pe + 24 + optionalSize, nSections * 40, size);
      const sections: Section[] = [];
      for (let i = 0; i < nSections; i++) {
        const o = i * 40;
        sections.push({
          virtualSize: table.readUInt32LE(o + 8),
          rva: table.readUInt32LE(o + 12),
          rawSize: table.readUInt32LE(o + 16),
          rawOffset: table.readUInt32LE(o + 20),
          executable: (table.readUInt32LE(o + 36) & IMAGE_SCN_MEM_EXECUTE) !== 0,
        });
      }
      return new PeFile(fd, size, sections, dir(0), dir(3));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private static read(fd: number, offset: number, length: number, size: number): Buffer {
    if (length > MAX_TABLE_BYTES || offset + length > size) throw new Error('a truncated PE image');
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  }

  /** `length` bytes at an RVA (they must lie in one section's file data). */
  readRva(rva: number, length: number): Buffer {
    const s = this.sections.find((x) => rva >= x.rva && rva + length <= x.rva + Math.max(x.virtualSize, x.rawSize));
    if (!s || rva - s.rva + length > s.rawSize) throw new Error(`RVA 0x${rva.toString(16)} is not in the file`);
    return PeFile.read(this.fd, s.rawOffset + (rva - s.rva), length, this.size);
  }

  executableAt(rva: number): Section | undefined {
    return this.sections.find((s) => s.executable && rva >= s.rva && rva < s.rva + s.virtualSize);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function cString(b: Buffer, at: number): string {
  const end = b.indexOf(0, at);
  return b.toString('latin1', at, end < 0 ? b.length : end);
}

/** The exported functions of a PE image with their bounds (from .pdata; else up to the next export). */
export function readPeExports(path: string): PeTable {
  const pe = PeFile.open(path);
  try {
    const { rva, size } = pe.exportDir;
    if (rva === 0 || size === 0) return { exports: [] };
    const dir = pe.readRva(rva, 40);
    const nFunctions = dir.readUInt32LE(20);
    const nNames = dir.readUInt32LE(24);
    const functions = pe.readRva(dir.readUInt32LE(28), nFunctions * 4);
    const names = pe.readRva(dir.readUInt32LE(32), nNames * 4);
    const ordinals = pe.readRva(dir.readUInt32LE(36), nNames * 2);
    // Function bounds from the exception directory: RUNTIME_FUNCTION { begin, end, unwind } (12 bytes each).
    const bounds = new Map<number, number>();
    if (pe.exceptionDir.rva !== 0 && pe.exceptionDir.size >= 12) {
      const pdata = pe.readRva(pe.exceptionDir.rva, pe.exceptionDir.size - (pe.exceptionDir.size % 12));
      for (let o = 0; o + 12 <= pdata.length; o += 12) {
        const begin = pdata.readUInt32LE(o);
        const end = pdata.readUInt32LE(o + 4);
        if (end > begin && !bounds.has(begin)) bounds.set(begin, end);
      }
    }
    const starts: { name: string; start: number }[] = [];
    for (let i = 0; i < nNames; i++) {
      const ordinal = ordinals.readUInt16LE(i * 2);
      if (ordinal >= nFunctions) continue;
      const start = functions.readUInt32LE(ordinal * 4);
      if (start >= rva && start < rva + size) continue; // a forwarder, not code here
      if (!pe.executableAt(start)) continue; // exported data
      const nameRva = names.readUInt32LE(i * 4);
      starts.push({ name: cString(pe.readRva(nameRva, Math.min(512, sectionRoom(pe, nameRva))), 0), start });
    }
    starts.sort((a, b) => a.start - b.start || (a.name < b.name ? -1 : 1));
    const exports: Export[] = [];
    for (let i = 0; i < starts.length; i++) {
      const { name, start } = starts[i]!;
      if (exports.length > 0 && exports[exports.length - 1]!.start === start) continue; // an alias: the first name
      const section = pe.executableAt(start)!;
      let next = section.rva + section.virtualSize;
      for (let j = i + 1; j < starts.length; j++) {
        if (starts[j]!.start > start) {
          next = Math.min(next, starts[j]!.start);
          break;
        }
      }
      const end = bounds.get(start) ?? next;
      exports.push({ name, start, end: Math.min(end, next) });
    }
    return { exports };
  } finally {
    pe.close();
  }
}

function sectionRoom(pe: PeFile, rva: number): number {
  const s = pe.sections.find((x) => rva >= x.rva && rva < x.rva + x.rawSize);
  return s ? s.rva + s.rawSize - rva : 0;
}

interface PlacedPe extends LoadedModule {
  readonly name: string;
}

/**
 * A Symboliser for Windows modules (the same surface as the ELF one, so a traced Windows process uses it
 * unchanged). Unreadable images keep their frames as `module!0x<rva>`, and say why in `problems()`.
 */
export class PeSymboliser extends Symboliser {
  private placed: PlacedPe[] = [];
  private readonly tables = new Map<string, PeTable | null>();
  private readonly reasons = new Set<string>();

  override setModules(modules: readonly LoadedModule[]): void {
    this.placed = modules
      .filter((m) => m.end > m.start)
      .map((m) => ({ ...m, name: moduleName(m.path) }))
      .sort((a, b) => a.start - b.start);
  }

  override symbolise(pc: number): SymbolisedFrame {
    const m = this.placed.find((x) => pc >= x.start && pc < x.end);
    if (!m) return { pc, module: null, path: null, function: null, offset: pc };
    const rva = pc - m.loadBias;
    const table = this.table(m.path);
    const e = table ? findExport(table.exports, rva) : undefined;
    if (!e) return { pc, module: m.name, path: m.path, function: null, offset: rva };
    return { pc, module: m.name, path: m.path, function: e.name, offset: rva - e.start };
  }

  override resolveLines(): Promise<void> {
    return Promise.resolve(); // no line tables without PDBs
  }

  override functionRanges(name: string): [number, number][] {
    const out: [number, number][] = [];
    for (const m of this.placed) {
      for (const e of this.table(m.path)?.exports ?? []) {
        if (e.name === name) out.push([e.start + m.loadBias, e.end + m.loadBias]);
      }
    }
    return out;
  }

  override problems(): readonly string[] {
    return [...this.reasons];
  }

  private table(path: string): PeTable | null {
    if (this.tables.has(path)) return this.tables.get(path)!;
    let t: PeTable | null = null;
    try {
      t = readPeExports(hostPathOf(path));
    } catch (e) {
      this.reasons.add(
        `${path}: ${e instanceof Error ? e.message : String(e)}; its frames show the module and offset only`,
      );
    }
    this.tables.set(path, t);
    return t;
  }
}

function findExport(exports: readonly Export[], rva: number): Export | undefined {
  let lo = 0;
  let hi = exports.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (exports[mid]!.start <= rva) lo = mid + 1;
    else hi = mid;
  }
  const e = exports[lo - 1];
  return e && rva < e.end ? e : undefined;
}
