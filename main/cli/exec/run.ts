/**
 * The `hostmem exec` driver: request lines in, result lines out, strictly in order (each request is awaited before
 * the next line is read). A line that is not a valid request gets an error line and changes nothing; later lines
 * still run. The exit status is 0 when every line was understood, 2 otherwise.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HR, hresultName } from '../../host/hresult';
import { MEM, quote } from '../../vocabulary';
import type { HostEvent, HostMalloc, HostMemoryManager, HostResult } from '../../host/types';
import { invalid, parsed, type Parsed } from './parsed';
import { toHostPolicy } from './policy';
import { RequestParser, type AddressSpec, type MallocSpec, type Op, type Request } from './requests';
import {
  failureLine,
  formatDrift,
  formatInfo,
  formatStats,
  hexOrNull,
  notificationLine,
  resultHead,
  type OutputLine,
} from './results';
import { formatProtect } from './names';
import type { ExecLine } from './lines';

export interface ExecOptions {
  /** Interleave `{"event":"failure"|"notification",…}` lines as they happen (`--events`). */
  readonly events?: boolean;
  /**
   * Keep only the ids that name live memory or a heap (a successful VirtualAlloc, Alloc, DebugAlloc or
   * CreateMalloc), and forget one when a VirtualFree(MEM_RELEASE) or Free names it exactly and succeeds. What a
   * recorded session needs (its recorder only ever refers to live memory), in memory that follows the live
   * allocations rather than the number of calls: `hostmem replay`. Default: every id is kept (exec's rule).
   */
  readonly liveIdsOnly?: boolean;
}

/** Writes one line (without its newline). May return a promise to ask the driver to wait (backpressure). */
export type WriteLine = (line: string) => void | Promise<void>;

export interface ExecSummary {
  /** 0: every line understood; 2: some line was not a valid request; 1: the driver or the host threw. */
  readonly exitCode: 0 | 1 | 2;
  /** Requests run (valid lines). */
  readonly requests: number;
  /** Lines that were not valid requests. */
  readonly errors: number;
  /** Requests during which the host threw instead of answering (a host bug; reported as error lines too). */
  readonly internalErrors: number;
}

/** What an id names: the result of an earlier line, with the address or heap it produced. */
interface Named {
  readonly line: number;
  readonly op: Op;
  readonly hr: number;
  /** VirtualAlloc, Alloc, DebugAlloc: the address (null when the call failed). */
  readonly address?: number | null;
  /** CreateMalloc: the heap's number (null when the call failed). */
  readonly malloc?: number | null;
}

/** Thrown inside a request to turn it into an error line (e.g. a reference that resolves to nothing). */
class LineError extends Error {}

const S_OK: HostResult = { hr: HR.S_OK };

/**
 * Run request lines against a host. `lines` may be any (async) iterable of lines without their newline; blank lines
 * are skipped (they still count for line numbers). Nothing is buffered beyond the current line.
 */
export async function runExec(
  lines: AsyncIterable<ExecLine> | Iterable<ExecLine>,
  host: HostMemoryManager,
  write: WriteLine,
  options: ExecOptions = {},
): Promise<ExecSummary> {
  const driver = new Driver(host, write, options.liveIdsOnly ?? false);
  const unsubscribe = options.events ? host.subscribe((event) => driver.onEvent(event)) : undefined;
  try {
    let lineNumber = 0;
    for await (const text of lines) {
      lineNumber += 1;
      if (typeof text === 'string' && text.trim() === '') continue;
      const out =
        typeof text === 'string' ? await driver.run(lineNumber, text) : driver.tooLong(lineNumber, text.tooLong);
      driver.checkWrites();
      const pending = write(JSON.stringify(out));
      if (pending) await pending;
    }
  } finally {
    unsubscribe?.();
  }
  return driver.summary();
}

class Driver {
  private readonly names = new Map<string, Named>();
  private readonly parser = new RequestParser((id) => this.names.has(id));
  private current: number | undefined;
  private requests = 0;
  private errors = 0;
  private internalErrors = 0;
  private writeError: { error: unknown } | undefined;

  constructor(
    private readonly host: HostMemoryManager,
    private readonly write: WriteLine,
    private readonly liveIdsOnly = false,
  ) {}

  summary(): ExecSummary {
    const exitCode = this.internalErrors > 0 ? 1 : this.errors > 0 ? 2 : 0;
    return { exitCode, requests: this.requests, errors: this.errors, internalErrors: this.internalErrors };
  }

  /** Host events, printed as they happen: before the result line of the request that caused them. */
  onEvent(event: HostEvent): void {
    let out: OutputLine | undefined;
    if (event.kind === 'failure') out = failureLine(this.current, event.failure);
    else if (event.kind === 'notification') out = notificationLine(this.current, event.time, event.memoryAvailable);
    if (!out) return;
    // A listener must not throw into the host: a failed write is kept and rethrown after the request.
    try {
      const pending = this.write(JSON.stringify(out));
      if (pending) pending.catch((error: unknown) => this.writeFailed(error));
    } catch (error) {
      this.writeFailed(error);
    }
  }

  private writeFailed(error: unknown): void {
    this.writeError ??= { error };
  }

  /** Throw the first error an event write hit, if any (the output is broken: stop). */
  checkWrites(): void {
    if (this.writeError) throw this.writeError.error;
  }

  async run(line: number, text: string): Promise<OutputLine> {
    const request = this.parser.parse(text);
    if (!request.ok) return this.error(line, request.error);
    this.current = line;
    try {
      const out = await this.execute(line, request.value);
      this.requests += 1;
      return out;
    } catch (error) {
      if (error instanceof LineError) return this.error(line, `${request.value.op}: ${error.message}`);
      this.internalErrors += 1;
      const message = error instanceof Error ? error.message : String(error);
      return { line, error: `line ${line}: internal error in ${request.value.op}: ${message}` };
    } finally {
      this.current = undefined;
    }
  }

  /** A line the reader did not hold: longer than its maximum (`--max-line-length`). */
  tooLong(line: number, bytes: number): OutputLine {
    return this.error(line, `the line is ${bytes} bytes long, more than the maximum line length (--max-line-length)`);
  }

  private error(line: number, message: string): OutputLine {
    this.errors += 1;
    return { line, error: `line ${line}: ${message}` };
  }

  private remember(line: number, request: Request, hr: number, produced: Pick<Named, 'address' | 'malloc'> = {}): void {
    if (request.id === undefined) return;
    if (this.liveIdsOnly && (produced.address ?? produced.malloc ?? null) === null) return;
    this.names.set(String(request.id), { line, op: request.op, hr, ...produced });
  }

  /** With liveIdsOnly: memory released through an exact reference to its id is forgotten with it. */
  private forget(spec: AddressSpec, hr: number): void {
    if (this.liveIdsOnly && hr === HR.S_OK && spec.kind === 'reference' && spec.offset === 0)
      this.names.delete(spec.id);
  }

  private async execute(line: number, request: Request): Promise<OutputLine> {
    const host = this.host;
    const head = (result: HostResult): OutputLine => {
      this.remember(line, request, result.hr);
      return resultHead(line, request.id, request.op, result);
    };
    switch (request.op) {
      case 'VirtualAlloc': {
        const address = this.address(request.address, 'address');
        const result = await host.VirtualAlloc(
          address,
          request.size,
          request.type,
          request.protect,
          request.level,
          request.tag,
        );
        this.remember(line, request, result.hr, { address: result.address });
        return { ...resultHead(line, request.id, request.op, result), address: hexOrNull(result.address) };
      }
      case 'VirtualFree': {
        const address = this.nonNullAddress(request.address, 'address');
        const result = await host.VirtualFree(address, request.size, request.type);
        if (request.type === MEM.RELEASE) this.forget(request.address, result.hr);
        return head(result);
      }
      case 'VirtualQuery': {
        const result = await host.VirtualQuery(this.nonNullAddress(request.address, 'address'));
        const out = head(result);
        if (result.info) out.info = formatInfo(result.info);
        return out;
      }
      case 'VirtualProtect': {
        const address = this.nonNullAddress(request.address, 'address');
        const result = await host.VirtualProtect(address, request.size, request.protect);
        const out = head(result);
        if (result.oldProtect !== undefined) out.oldProtect = formatProtect(result.oldProtect);
        return out;
      }
      case 'GetMemoryLoad': {
        const result = await host.GetMemoryLoad();
        const out = head(result);
        if (result.hr === HR.S_OK) {
          out.memoryLoad = result.memoryLoad;
          out.availableBytes = result.availableBytes;
        }
        return out;
      }
      case 'NeedsVirtualAddressSpace':
        return head(await host.NeedsVirtualAddressSpace(this.nonNullAddress(request.address, 'address'), request.size));
      case 'AcquiredVirtualAddressSpace':
        return head(
          await host.AcquiredVirtualAddressSpace(this.nonNullAddress(request.address, 'address'), request.size),
        );
      case 'ReleasedVirtualAddressSpace':
        return head(await host.ReleasedVirtualAddressSpace(this.nonNullAddress(request.address, 'address')));
      case 'CreateMalloc': {
        const result = await host.CreateMalloc(request.type);
        const malloc = result.hr === HR.S_OK && result.malloc !== undefined ? result.malloc : null;
        this.remember(line, request, result.hr, { malloc });
        const out = resultHead(line, request.id, request.op, result);
        if (malloc !== null) out.malloc = malloc;
        return out;
      }
      case 'Alloc':
      case 'DebugAlloc': {
        const heap = this.heap(request.malloc);
        const result =
          request.op === 'Alloc'
            ? await heap.Alloc(request.size, request.level)
            : await heap.DebugAlloc(request.size, request.level, request.file ?? '', request.line ?? 0);
        this.remember(line, request, result.hr, { address: result.address });
        return { ...resultHead(line, request.id, request.op, result), address: hexOrNull(result.address) };
      }
      case 'Free': {
        const heap = this.heap(request.malloc);
        const result = await heap.Free(this.nonNullAddress(request.address, 'address'));
        this.forget(request.address, result.hr);
        return head(result);
      }
      case 'Fill':
        return head(await host.Fill(this.nonNullAddress(request.address, 'address'), request.size, request.byte));
      case 'Check': {
        const result = await host.Check(this.nonNullAddress(request.address, 'address'), request.size, request.byte);
        const out = head(result);
        if (result.equal !== undefined) out.equal = result.equal;
        return out;
      }
      case 'Stats':
        return { ...head(S_OK), ...formatStats(host.stats()) };
      case 'Audit':
        return { ...head(S_OK), drift: host.audit().drift.map(formatDrift) };
      case 'SetPolicy':
        host.setPolicy(toHostPolicy(request));
        return head(S_OK);
      case 'Reset':
        host.reset();
        return head(S_OK);
      case 'Sleep':
        await sleep(request.ms);
        return head(S_OK);
    }
  }

  /** An address field: null stays null (VirtualAlloc lets the OS choose). */
  private address(spec: AddressSpec, name: string): number | null {
    const resolved = this.resolve(spec, name);
    if (!resolved.ok) throw new LineError(resolved.error);
    return resolved.value;
  }

  /** An address field of a call that takes a plain pointer: null is address 0, as NULL is in Win32. */
  private nonNullAddress(spec: AddressSpec, name: string): number {
    return this.address(spec, name) ?? 0;
  }

  private resolve(spec: AddressSpec, name: string): Parsed<number | null> {
    if (spec.kind === 'null') return parsed(null);
    if (spec.kind === 'absolute') return parsed(spec.value);
    const named = this.names.get(spec.id);
    if (!named) return invalid(`field "${name}": unknown id ${quote(spec.id)} (no earlier result has that id)`);
    if (named.address === undefined) {
      return invalid(`field "${name}": ${quote(spec.id)} names line ${named.line} (${named.op}), which has no address`);
    }
    if (named.address === null) {
      return invalid(
        `field "${name}": ${quote(spec.id)} names line ${named.line} (${named.op}), whose address is null ` +
          `(it failed with ${hresultName(named.hr)})`,
      );
    }
    const address = named.address + spec.offset;
    if (address < 0 || !Number.isSafeInteger(address)) {
      return invalid(`field "${name}": ${quote(spec.text)} is outside 0..2^53`);
    }
    return parsed(address);
  }

  private heap(spec: MallocSpec): HostMalloc {
    let number: number;
    if (spec.kind === 'number') {
      number = spec.value;
    } else {
      const named = this.names.get(spec.id);
      if (!named) throw new LineError(`field "malloc": unknown id ${quote(spec.id)} (no earlier result has that id)`);
      if (named.malloc === undefined) {
        throw new LineError(
          `field "malloc": ${quote(spec.id)} names line ${named.line} (${named.op}), not a CreateMalloc`,
        );
      }
      if (named.malloc === null) {
        throw new LineError(
          `field "malloc": ${quote(spec.id)} names line ${named.line}, whose CreateMalloc failed with ${hresultName(named.hr)}`,
        );
      }
      number = named.malloc;
    }
    const heap = this.host.malloc(number);
    if (!heap) throw new LineError(`field "malloc": the host has no heap ${number}`);
    return heap;
  }
}
