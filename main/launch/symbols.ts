/**
 * Symbolising a launched program's call stacks: raw return addresses → `module!function+0xoffset`, and `file:line`
 * where debug information is present, without a process per frame.
 *
 *   - ELF64 little-endian files are read here (section headers, `.symtab`, `.dynsym`, their string tables, the
 *     build-id note, `.gnu_debuglink`): only the bytes of those sections, once per module, on first use. A module's
 *     function symbols are kept as typed arrays (starts, sizes, name offsets into one compact name buffer).
 *   - A module without `.symtab` (stripped) takes its symbols, and one without `.debug_line` its lines, from its
 *     separate debug file: `/usr/lib/debug/.build-id/xx/yyyy.debug` (each of `debugRoots`), else its
 *     `.gnu_debuglink` name beside it, in `.debug/` beside it, or under each root followed by its directory (GDB's
 *     order), checked by build-id or CRC-32.
 *   - C++ names are demangled by one `c++filt` run per module, on the module's mangled function names at load.
 *   - `file:line` comes from one `addr2line` process per module per `resolveLines` batch (addresses on stdin), cached.
 *
 * Lookup rule: a sized symbol containing the address wins (the innermost one, by latest start, looking back at most
 * 16 symbols, past unsized labels inside a function); otherwise the nearest preceding symbol in the same executable
 * section (the offset may then run past that symbol's end); otherwise no function (the frame names the module and
 * the offset from its load bias).
 *
 * Nothing here throws on a module it cannot read (gone, no permission, not ELF, 32-bit, big-endian, truncated): its
 * frames name the module and the offset, and `problems()` says why once.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface LoadedModule {
  readonly path: string;
  readonly loadBias: number;
  readonly start: number;
  readonly end: number;
}

export interface SymbolisedFrame {
  readonly pc: number;
  /** The module's file name (basename of its path); null when no loaded module holds the pc. */
  readonly module: string | null;
  readonly path: string | null;
  /** Demangled where C++; null when no symbol covers the pc. */
  readonly function: string | null;
  /** pc - symbol start; pc - loadBias when there is no symbol; pc itself when there is no module. */
  readonly offset: number;
  readonly file?: string;
  readonly line?: number;
}

export interface SymboliserOptions {
  /** Whether `resolveLines` runs addr2line at all (default true). */
  readonly lineInfo?: boolean;
  /** Where separate debug files live (default ['/usr/lib/debug']). */
  readonly debugRoots?: readonly string[];
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** "libfoo.so.1!bar+0x1c", "prog!main+0x40 (prog.c:12)", "libfoo.so.1!0x1c40" (no symbol), "?!0x7f12…" (no module). */
export function formatFrame(f: SymbolisedFrame): string {
  const where =
    f.file !== undefined && f.line !== undefined ? ` (${f.file.slice(f.file.lastIndexOf('/') + 1)}:${f.line})` : '';
  if (f.module === null) return `?!${hex(f.pc)}${where}`;
  const name = f.module === '' ? '?' : f.module;
  if (f.function === null) return `${name}!${hex(f.offset)}${where}`;
  return `${name}!${f.function}+${hex(f.offset)}${where}`;
}

// ---------------------------------------------------------------------------------------------------------------
// ELF64 little-endian reading (the System V gABI's structures; only what symbolising needs)

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const NT_GNU_BUILD_ID = 3;
const ELF64_EHDR = 64;
const ELF64_SHDR = 64;
const ELF64_SYM = 24;
/** A section larger than this is not read (no real symbol table comes near it; a corrupt header might). */
const MAX_SECTION_BYTES = 1 << 30;

interface Section {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
}

const u64 = (b: Buffer, o: number): number => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;

class ElfError extends Error {}

/** An open ELF64 LE file: its section headers, and reads of any section's bytes. Close it when done. */
class ElfFile {
  readonly sections: readonly Section[];
  readonly identity: string;

  private constructor(
    private readonly fd: number,
    readonly path: string,
    sections: Section[],
    identity: string,
  ) {
    this.sections = sections;
    this.identity = identity;
  }

  /** Opens and checks `path`; throws ElfError (or an fs error) with the reason. */
  static open(path: string): ElfFile {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new ElfError('not a regular file');
      const fileSize = st.size;
      const eh = Buffer.alloc(ELF64_EHDR);
      const got = readSync(fd, eh, 0, ELF64_EHDR, 0);
      if (got < 16 || eh.readUInt32BE(0) !== 0x7f454c46) throw new ElfError('not an ELF file');
      if (eh[4] !== 2)
        throw new ElfError(`a ${eh[4] === 1 ? '32-bit' : 'unknown-class'} ELF file (only ELF64 is read)`);
      if (eh[5] !== 1) throw new ElfError('a big-endian ELF file (only little-endian is read)');
      if (got < ELF64_EHDR) throw new ElfError('a truncated ELF header');
      const shoff = u64(eh, 0x28);
      const shentsize = eh.readUInt16LE(0x3a);
      let shnum = eh.readUInt16LE(0x3c);
      let shstrndx = eh.readUInt16LE(0x3e);
      const sections: Section[] = [];
      if (shoff !== 0) {
        if (shentsize < ELF64_SHDR) throw new ElfError(`section header entries of ${shentsize} bytes`);
        const first = readExact(fd, shoff, ELF64_SHDR, fileSize);
        if (shnum === 0) shnum = u64(first, 0x20); // more than 0xff00 sections: the count is in section 0's size
        if (shstrndx === SHN_XINDEX) shstrndx = first.readUInt32LE(0x28);
        if (shnum * shentsize > MAX_SECTION_BYTES) throw new ElfError(`${shnum} section headers`);
        const table = readExact(fd, shoff, shnum * shentsize, fileSize);
        const raw = [];
        for (let i = 0; i < shnum; i++) {
          const o = i * shentsize;
          raw.push({
            nameOff: table.readUInt32LE(o),
            type: table.readUInt32LE(o + 4),
            flags: u64(table, o + 8),
            addr: u64(table, o + 0x10),
            offset: u64(table, o + 0x18),
            size: u64(table, o + 0x20),
            link: table.readUInt32LE(o + 0x28),
          });
        }
        const strs = raw[shstrndx];
        const names =
          strs && strs.type !== SHT_NOBITS && strs.size <= MAX_SECTION_BYTES
            ? readExact(fd, strs.offset, strs.size, fileSize)
            : Buffer.alloc(0);
        for (const s of raw) sections.push({ ...s, name: cString(names, s.nameOff) });
      }
      return new ElfFile(fd, path, sections, `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The bytes of a section that has them in the file (not NOBITS). */
  read(s: Section): Buffer {
    if (s.type === SHT_NOBITS) throw new ElfError(`${s.name || 'a section'} has no bytes in this file`);
    if (s.size > MAX_SECTION_BYTES) throw new ElfError(`${s.name} is ${s.size} bytes`);
    return readExact(this.fd, s.offset, s.size, Number.POSITIVE_INFINITY);
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The GNU build-id (lower-case hex), from any note section that carries it. */
  buildId(): string | null {
    for (const s of this.sections) {
      if (s.type !== SHT_NOTE || s.size > 1 << 16) continue;
      const b = this.read(s);
      for (let o = 0; o + 12 <= b.length;) {
        const namesz = b.readUInt32LE(o);
        const descsz = b.readUInt32LE(o + 4);
        const type = b.readUInt32LE(o + 8);
        const nameAt = o + 12;
        const descAt = nameAt + align4(namesz);
        if (descAt + descsz > b.length) break;
        if (type === NT_GNU_BUILD_ID && namesz === 4 && b.toString('latin1', nameAt, nameAt + 3) === 'GNU') {
          return b.toString('hex', descAt, descAt + descsz);
        }
        o = descAt + align4(descsz);
      }
    }
    return null;
  }

  /** `.gnu_debuglink`: the debug file's name and the CRC-32 of its bytes. */
  debugLink(): { readonly name: string; readonly crc: number } | null {
    const s = this.section('.gnu_debuglink');
    if (!s || s.type === SHT_NOBITS || s.size < 5 || s.size > 4096) return null;
    const b = this.read(s);
    const end = b.indexOf(0);
    if (end <= 0) return null;
    const crcAt = align4(end + 1);
    if (crcAt + 4 > b.length) return null;
    return { name: b.toString('utf8', 0, end), crc: b.readUInt32LE(crcAt) };
  }

  hasSymtab(): boolean {
    return this.sections.some((s) => s.type === SHT_SYMTAB && s.size > 0);
  }

  hasLineTable(): boolean {
    return this.sections.some(
      (s) => (s.name === '.debug_line' || s.name === '.zdebug_line') && s.type !== SHT_NOBITS && s.size > 0,
    );
  }

  close(): void {
    closeSync(this.fd);
  }
}

const align4 = (n: number): number => (n + 3) & ~3;

function cString(b: Buffer, at: number): string {
  if (at >= b.length) return '';
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 ? b.length : end);
}

function readExact(fd: number, offset: number, size: number, fileSize: number): Buffer {
  if (offset + size > fileSize) throw new ElfError('a truncated ELF file (a section lies past its end)');
  const b = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const n = readSync(fd, b, done, size - done, offset + done);
    if (n === 0) throw new ElfError('a truncated ELF file (a section lies past its end)');
    done += n;
  }
  return b;
}

/** The CRC-32 of a whole file, read in 1 MiB pieces (what `.gnu_debuglink` records). */
function fileCrc32(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.allocUnsafe(1 << 20);
    let crc = 0;
    for (let at = 0; ;) {
      const n = readSync(fd, b, 0, b.length, at);
      if (n === 0) return crc;
      crc = crc32(b.subarray(0, n), crc);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A module's function symbols

/**
 * Binding rank among aliases of one address: exported (global or weak: glibc exports `getpid` as a weak alias of
 * global `__getpid`) before local.
 */
function bindingRank(info: number): number {
  const bind = info >> 4;
  return bind === 1 || bind === 2 ? 0 : 1;
}

/** Function symbols as read, before sorting: names stay bytes in their string tables until the table is built. */
interface RawSymbols {
  readonly starts: number[];
  readonly sizes: number[];
  readonly ranks: number[];
  /** Leading underscores of the name. */
  readonly underscores: number[];
  readonly nameOffsets: number[];
  readonly nameLengths: number[];
  /** Which of `strtabs` the name is in. */
  readonly strtab: number[];
  readonly strtabs: Buffer[];
}

const emptyRawSymbols = (): RawSymbols => ({
  starts: [],
  sizes: [],
  ranks: [],
  underscores: [],
  nameOffsets: [],
  nameLengths: [],
  strtab: [],
  strtabs: [],
});

function collectFunctions(elf: ElfFile, into: RawSymbols): void {
  for (const s of elf.sections) {
    if ((s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) || s.size === 0) continue;
    const strSection = elf.sections[s.link];
    if (!strSection || strSection.type === SHT_NOBITS) continue;
    const syms = elf.read(s);
    const strs = elf.read(strSection);
    const table = into.strtabs.push(strs) - 1;
    for (let o = 0; o + ELF64_SYM <= syms.length; o += ELF64_SYM) {
      const info = syms[o + 4]!;
      const type = info & 0xf;
      if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
      const shndx = syms.readUInt16LE(o + 6);
      if (shndx === 0 || (shndx >= SHN_LORESERVE && shndx !== SHN_XINDEX)) continue; // undefined, absolute, common
      const value = u64(syms, o + 8);
      const nameAt = syms.readUInt32LE(o);
      if (value === 0 || nameAt >= strs.length || strs[nameAt] === 0) continue;
      let end = strs.indexOf(0, nameAt);
      if (end < 0) end = strs.length;
      let u = nameAt;
      while (u < end && strs[u] === 0x5f) u++;
      into.starts.push(value);
      into.sizes.push(u64(syms, o + 16));
      into.ranks.push(bindingRank(info));
      into.underscores.push(u - nameAt);
      into.nameOffsets.push(nameAt);
      into.nameLengths.push(end - nameAt);
      into.strtab.push(table);
    }
  }
}

/**
 * One module's function symbols, sorted by start, one per address (the best-named alias: global or weak, then fewest
 * leading underscores, then shortest), as typed arrays over one compact name buffer.
 */
class SymbolTable {
  readonly count: number;
  private readonly starts: Float64Array;
  private readonly sizes: Float64Array;
  private readonly nameAt: Uint32Array;
  private readonly names: Buffer;
  /** Executable sections' [start, end) pairs, sorted; empty when the file has no section headers. */
  private readonly exec: Float64Array;
  /** Demangled names: the c++filt output (bytes), and for each symbol the start of its line in it (or -1). */
  private demangledText: Buffer = Buffer.alloc(0);
  private demangledAt: Int32Array | null = null;

  constructor(raw: RawSymbols, execSections: readonly Section[]) {
    const n = raw.starts.length;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort(
      (a, b) =>
        raw.starts[a]! - raw.starts[b]! ||
        raw.ranks[a]! - raw.ranks[b]! ||
        raw.underscores[a]! - raw.underscores[b]! ||
        raw.nameLengths[a]! - raw.nameLengths[b]! ||
        a - b,
    );
    const kept: number[] = [];
    const keptSize: number[] = [];
    let nameBytes = 0;
    for (const i of order) {
      const last = kept.length - 1;
      if (last >= 0 && raw.starts[kept[last]!] === raw.starts[i]) {
        keptSize[last] = Math.max(keptSize[last]!, raw.sizes[i]!); // an alias: its size counts, its name does not
        continue;
      }
      kept.push(i);
      keptSize.push(raw.sizes[i]!);
      nameBytes += raw.nameLengths[i]!;
    }
    this.count = kept.length;
    this.starts = new Float64Array(this.count);
    this.sizes = Float64Array.from(keptSize);
    this.nameAt = new Uint32Array(this.count + 1);
    this.names = Buffer.allocUnsafe(nameBytes);
    let at = 0;
    kept.forEach((i, k) => {
      this.starts[k] = raw.starts[i]!;
      this.nameAt[k] = at;
      const from = raw.nameOffsets[i]!;
      at += raw.strtabs[raw.strtab[i]!]!.copy(this.names, at, from, from + raw.nameLengths[i]!);
    });
    this.nameAt[this.count] = at;
    const exec = execSections
      .filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0 && s.addr !== 0)
      .sort((a, b) => a.addr - b.addr);
    this.exec = Float64Array.from(exec.flatMap((s) => [s.addr, s.addr + s.size]));
  }

  /** The index of the symbol for this ELF address, or -1 (the lookup rule is in the file's header). */
  lookup(address: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= address) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0) return -1;
    for (let j = i; j >= 0 && j > i - 16; j--) {
      if (this.sizes[j]! > 0 && address < starts[j]! + this.sizes[j]!) return j;
    }
    return this.sameExecSection(starts[i]!, address) ? i : -1;
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  /** [start, end) ELF addresses of the functions called `name` (mangled or demangled); sized ones only. */
  rangesOf(name: string): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.count; i++) {
      if (this.sizes[i]! > 0 && (this.mangledName(i) === name || this.name(i) === name)) {
        out.push([this.starts[i]!, this.starts[i]! + this.sizes[i]!]);
      }
    }
    return out;
  }

  mangledName(i: number): string {
    return this.names.toString('utf8', this.nameAt[i]!, this.nameAt[i + 1]!);
  }

  name(i: number): string {
    const at = this.demangledAt?.[i] ?? -1;
    if (at < 0) return this.mangledName(i);
    const end = this.demangledText.indexOf(0x0a, at);
    return this.demangledText.toString('utf8', at, end < 0 ? this.demangledText.length : end);
  }

  /**
   * Demangles every C++ (`_Z…`) name with one c++filt run. Returns a problem to report when c++filt could not run
   * (the names then stay mangled).
   */
  demangle(): string | null {
    const mangled: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const a = this.nameAt[i]!;
      if (this.names[a] === 0x5f && this.names[a + 1] === 0x5a) mangled.push(i); // "_Z"
    }
    if (mangled.length === 0) return null;
    const input = mangled.map((i) => this.mangledName(i)).join('\n') + '\n';
    const r = spawnSync('c++filt', [], { input, maxBuffer: 16 * input.length + (1 << 20) });
    if (r.error || r.status !== 0) {
      return `c++filt could not run (${r.error?.message ?? `exit ${r.status}`}): C++ names stay mangled`;
    }
    const out = r.stdout;
    const at = new Int32Array(this.count).fill(-1);
    let pos = 0;
    for (const i of mangled) {
      if (pos >= out.length) return 'c++filt gave fewer names than it was given: C++ names stay mangled';
      at[i] = pos;
      const nl = out.indexOf(0x0a, pos);
      pos = nl < 0 ? out.length : nl + 1;
    }
    this.demangledText = out;
    this.demangledAt = at;
    return null;
  }

  private sameExecSection(symbolStart: number, address: number): boolean {
    const e = this.exec;
    if (e.length === 0) return true;
    for (let k = 0; k < e.length; k += 2) {
      if (address >= e[k]! && address < e[k + 1]!) return symbolStart >= e[k]!;
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Modules

/** Lines of one file up to this; a line past it is kept as unknown. */
const LINE_SPAN = 0x100000;
const NO_LINE = -1;

interface LineInfo {
  readonly file: string;
  readonly line: number;
}

/** What is known of one module file: its symbols (or why not), where its line table is, and lines found so far. */
interface ModuleData {
  readonly identity: string | null;
  readonly table: SymbolTable | null;
  /** The file addr2line reads: the module itself or its debug file; null when neither has a line table. */
  readonly lineFile: string | null;
  /** ELF address → fileIndex * LINE_SPAN + line (NO_LINE: addr2line knew none): numbers, not an object per pc. */
  readonly lines: Map<number, number>;
  /** The source files named in `lines`, each once. */
  readonly files: string[];
  readonly fileIndex: Map<string, number>;
}

interface PlacedModule extends LoadedModule {
  readonly name: string;
}

const noLines = (): Pick<ModuleData, 'lines' | 'files' | 'fileIndex'> => ({
  lines: new Map(),
  files: [],
  fileIndex: new Map(),
});

function identityOf(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export class Symboliser {
  private readonly lineInfo: boolean;
  private readonly debugRoots: readonly string[];
  /** Loaded modules sorted by start. */
  private modules: PlacedModule[] = [];
  private moduleStarts = new Float64Array(0);
  /** By path; only the paths in the current module set are kept. */
  private readonly data = new Map<string, ModuleData>();
  private readonly problemSet = new Set<string>();

  constructor(options: SymboliserOptions = {}) {
    this.lineInfo = options.lineInfo ?? true;
    this.debugRoots = options.debugRoots ?? ['/usr/lib/debug'];
  }

  /** Replaces the module set. Symbol tables of paths still present (and unchanged on disk) are kept; others dropped. */
  setModules(modules: readonly LoadedModule[]): void {
    this.modules = modules
      .filter((m) => m.end > m.start)
      .map((m) => ({
        path: m.path,
        loadBias: m.loadBias,
        start: m.start,
        end: m.end,
        name: basename(m.path),
      }))
      .sort((a, b) => a.start - b.start);
    this.moduleStarts = Float64Array.from(this.modules, (m) => m.start);
    const present = new Set(this.modules.map((m) => m.path));
    for (const [path, d] of this.data) {
      if (!present.has(path) || (d.identity !== null && identityOf(path) !== d.identity)) this.data.delete(path);
    }
  }

  symbolise(pc: number): SymbolisedFrame {
    const m = this.moduleAt(pc);
    if (!m) return { pc, module: null, path: null, function: null, offset: pc };
    const d = this.load(m.path);
    const address = pc - m.loadBias;
    const i = d.table ? d.table.lookup(address) : -1;
    const fn = i >= 0 ? d.table!.name(i) : null;
    const offset = i >= 0 ? address - d.table!.start(i) : address;
    const packed = d.lines.size > 0 ? d.lines.get(address) : undefined;
    if (packed !== undefined && packed !== NO_LINE) {
      const file = d.files[Math.floor(packed / LINE_SPAN)]!;
      return { pc, module: m.name, path: m.path, function: fn, offset, file, line: packed % LINE_SPAN };
    }
    return { pc, module: m.name, path: m.path, function: fn, offset };
  }

  /**
   * Finds file:line for these pcs: one addr2line per module that has a line table, all its (not yet known) addresses
   * on stdin. Never rejects: a module whose addr2line fails keeps its frames without lines (see `problems()`).
   */
  async resolveLines(pcs: readonly number[]): Promise<void> {
    if (!this.lineInfo) return;
    const byModule = new Map<ModuleData, Set<number>>();
    for (const pc of pcs) {
      const m = this.moduleAt(pc);
      if (!m) continue;
      const d = this.load(m.path);
      const address = pc - m.loadBias;
      if (d.lineFile === null || d.lines.has(address)) continue;
      let set = byModule.get(d);
      if (!set) byModule.set(d, (set = new Set()));
      set.add(address);
    }
    await Promise.all([...byModule].map(([d, set]) => this.addr2line(d, [...set])));
  }

  /** Where the functions called `name` are in memory, in every loaded module ([lo, hi) pairs): for level rules. */
  functionRanges(name: string): [number, number][] {
    const out: [number, number][] = [];
    for (const m of this.modules) {
      const table = this.load(m.path).table;
      if (!table) continue;
      for (const [lo, hi] of table.rangesOf(name)) out.push([lo + m.loadBias, hi + m.loadBias]);
    }
    return out;
  }

  /** The distinct reasons something could not be symbolised (unreadable modules, missing tools), one line each. */
  problems(): readonly string[] {
    return [...this.problemSet];
  }

  private moduleAt(pc: number): PlacedModule | undefined {
    const starts = this.moduleStarts;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= pc) lo = mid + 1;
      else hi = mid;
    }
    const m = this.modules[lo - 1];
    return m && pc < m.end ? m : undefined;
  }

  private load(path: string): ModuleData {
    const known = this.data.get(path);
    if (known) return known;
    const d = this.read(path);
    this.data.set(path, d);
    return d;
  }

  private read(path: string): ModuleData {
    let elf: ElfFile;
    try {
      elf = ElfFile.open(path);
    } catch (e) {
      this.problemSet.add(`${path}: ${reason(e)}; its frames show the module and offset only`);
      return { identity: identityOf(path), table: null, lineFile: null, ...noLines() };
    }
    try {
      const raw = emptyRawSymbols();
      collectFunctions(elf, raw);
      let execSections = elf.sections;
      let lineFile = elf.hasLineTable() ? path : null;
      if (!elf.hasSymtab() || lineFile === null) {
        const debug = this.findDebugFile(elf);
        if (debug) {
          try {
            if (!elf.hasSymtab()) collectFunctions(debug, raw);
            if (execSections.length === 0) execSections = debug.sections;
            if (lineFile === null && debug.hasLineTable()) lineFile = debug.path;
          } catch (e) {
            this.problemSet.add(`${debug.path}: ${reason(e)}; ${path} keeps its own symbols only`);
          } finally {
            debug.close();
          }
        }
      }
      const table = new SymbolTable(raw, execSections);
      const problem = table.demangle();
      if (problem) this.problemSet.add(problem);
      return { identity: elf.identity, table, lineFile, ...noLines() };
    } catch (e) {
      this.problemSet.add(`${path}: ${reason(e)}; its frames show the module and offset only`);
      return { identity: elf.identity, table: null, lineFile: null, ...noLines() };
    } finally {
      elf.close();
    }
  }

  /** The separate debug file of a stripped module, opened, or null. */
  private findDebugFile(elf: ElfFile): ElfFile | null {
    const buildId = elf.buildId();
    const candidates: { path: string; crc: number | null }[] = [];
    if (buildId && buildId.length > 2) {
      for (const root of this.debugRoots) {
        candidates.push({ path: join(root, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`), crc: null });
      }
    }
    const link = elf.debugLink();
    if (link) {
      const dir = dirname(elf.path);
      for (const p of [join(dir, link.name), join(dir, '.debug', link.name)])
        candidates.push({ path: p, crc: link.crc });
      for (const root of this.debugRoots) candidates.push({ path: join(root, dir, link.name), crc: link.crc });
    }
    for (const c of candidates) {
      if (sameFile(c.path, elf.path)) continue;
      let debug: ElfFile;
      try {
        debug = ElfFile.open(c.path);
      } catch {
        continue; // not there (the usual case) or not an ELF64 file
      }
      try {
        const id = debug.buildId();
        const matches =
          buildId !== null && id !== null ? id === buildId : c.crc !== null && fileCrc32(c.path) === c.crc;
        if (matches) return debug;
      } catch {
        // an unreadable candidate is no candidate
      }
      debug.close();
    }
    return null;
  }

  private async addr2line(d: ModuleData, addresses: readonly number[]): Promise<void> {
    const file = d.lineFile!;
    let out: string;
    try {
      out = await runWithInput('addr2line', ['-e', file], addresses.map(hex).join('\n') + '\n');
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.problemSet.add(`addr2line -e ${file} failed (${why}): frames in it have no file:line`);
      return;
    }
    const lines = out.split('\n');
    addresses.forEach((address, k) => {
      const found = parseAddr2lineLine(lines[k] ?? '');
      if (!found || found.line >= LINE_SPAN) {
        d.lines.set(address, NO_LINE);
        return;
      }
      let f = d.fileIndex.get(found.file);
      if (f === undefined) {
        f = d.files.push(found.file) - 1;
        d.fileIndex.set(found.file, f);
      }
      d.lines.set(address, f * LINE_SPAN + found.line);
    });
  }
}

/** One line of `addr2line` output: "path:12", "path:12 (discriminator 3)", "??:0", "path:?". */
function parseAddr2lineLine(text: string): LineInfo | null {
  const s = text.replace(/ \(discriminator \d+\)$/, '');
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return null;
  const file = s.slice(0, colon);
  const line = Number(s.slice(colon + 1));
  if (file === '??' || !Number.isInteger(line) || line <= 0) return null;
  return { file, line };
}

function reason(e: unknown): string {
  if (e instanceof ElfError) return e.message;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'a directory';
  return e instanceof Error ? e.message : String(e);
}

/** Runs a command with `input` on its stdin; resolves to its stdout, rejects when it cannot run or fails. */
function runWithInput(command: string, args: readonly string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a child that dies early closes its stdin: its exit says why
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else {
        const first = Buffer.concat(err).toString('utf8').split('\n')[0];
        reject(new Error(first || (signal ? `killed by ${signal}` : `exit ${code}`)));
      }
    });
    child.stdin.end(input);
  });
}
