/**
 * Turns the host's call events into session lines in the `hostmem exec` request format, so any session replays
 * with `hostmem exec` / `hostmem replay`. Every request gets an id (`r1`, `r2`, …); an address inside a reservation
 * or heap block that a recorded request produced is written as a reference to it (`"r12"`, `"r12+0x3000"`), because
 * on replay the OS hands out other addresses. Addresses the recording never produced are written as hex.
 */
import { MEM } from '../vocabulary';
import { SortedIndex } from '../host/sorted-index';
import type { CallArgs, CallResult, HostEvent, HostMemoryManager, HostMethod } from '../host';
import { resultFields, toExecPolicy, type SessionWriter } from './session';

interface Produced {
  readonly base: number;
  readonly size: number;
  readonly id: string;
}

export interface RecorderOptions {
  /** Called for each line before it is written (tests, live counters). */
  readonly onLine?: (line: Record<string, unknown>) => void;
}

export class SessionRecorder {
  private seq = 0;
  private readonly reservations = new SortedIndex<Produced>();
  private readonly blocks = new SortedIndex<Produced>();
  /** Host heap number → id of the CreateMalloc request that made it. */
  private readonly heaps = new Map<number, string>();
  private readonly unsubscribe: () => void;
  private calls = 0;
  private readonly pageSize: number;

  constructor(
    host: HostMemoryManager,
    private readonly writer: SessionWriter,
    private readonly options: RecorderOptions = {},
  ) {
    this.pageSize = host.pageSize;
    this.unsubscribe = host.subscribe((e) => this.onEvent(e));
  }

  /** Call lines the session file holds so far (SetPolicy and Reset lines included; none past the size cap). */
  get recorded(): number {
    return this.calls;
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Write a call line; `recorded` counts the lines the file holds (none past the size cap). */
  private write(line: Record<string, unknown>): void {
    this.options.onLine?.(line);
    if (this.writer.append(line)) this.calls++;
  }

  private ref(address: number | null | string): string | null {
    if (address === null || typeof address === 'string') return address;
    const r = this.reservations.containing(address) ?? this.blocks.containing(address);
    if (r === undefined) return `0x${address.toString(16)}`;
    const off = address - r.base;
    return off === 0 ? r.id : `${r.id}+0x${off.toString(16)}`;
  }

  private onEvent(e: HostEvent): void {
    if (e.kind === 'call') {
      this.onCall(e.time, e.method, e.args, e.result);
    } else if (e.kind === 'policy') {
      this.write({
        type: 'call',
        t: e.time,
        request: { op: 'SetPolicy', id: `r${++this.seq}`, ...toExecPolicy(e.policy) },
        result: resultFields(0, undefined, undefined),
      });
    } else if (e.kind === 'reset') {
      this.write({
        type: 'call',
        t: e.time,
        request: { op: 'Reset', id: `r${++this.seq}` },
        result: resultFields(0, undefined, undefined),
      });
    }
  }

  private onCall(t: number, method: HostMethod, args: CallArgs, result: CallResult): void {
    if (method === 'RegisterMemoryNotificationCallback') return; // no exec form: a callback is not data
    const id = `r${++this.seq}`;
    const num = (k: string): number => Number(args[k] ?? 0);
    const request: Record<string, unknown> & { op: string } = { op: method, id };
    let address: number | null | undefined;
    switch (method) {
      case 'VirtualAlloc': {
        request.address = this.ref(args.address ?? null);
        Object.assign(request, { size: args.size, type: args.type, protect: args.protect, level: args.level });
        if (typeof args.tag === 'string') request.tag = args.tag;
        address = result.address ?? null;
        const type = num('type');
        const newReservation = (type & MEM.RESERVE) !== 0 || (args.address === null && (type & MEM.COMMIT) !== 0);
        if (address !== null && newReservation) {
          // The reservation spans every page holding a byte of [asked address or base, + size).
          const from = typeof args.address === 'number' && args.address !== 0 ? args.address : address;
          const end = Math.ceil((from + num('size')) / this.pageSize) * this.pageSize;
          this.reservations.insert({ base: address, size: end - address, id });
        }
        break;
      }
      case 'VirtualFree': {
        request.address = this.ref(num('address'));
        Object.assign(request, { size: args.size, type: args.type });
        if (result.hr === 0 && num('type') === MEM.RELEASE) this.reservations.remove(num('address'));
        break;
      }
      case 'VirtualQuery':
      case 'ReleasedVirtualAddressSpace':
        request.address = this.ref(num('address'));
        break;
      case 'VirtualProtect':
        Object.assign(request, { address: this.ref(num('address')), size: args.size, protect: args.protect });
        break;
      case 'NeedsVirtualAddressSpace':
      case 'AcquiredVirtualAddressSpace':
        Object.assign(request, { address: this.ref(num('address')), size: args.size });
        break;
      case 'CreateMalloc':
        request.type = args.type;
        if (result.hr === 0 && result.malloc !== undefined) this.heaps.set(result.malloc, id);
        break;
      case 'Alloc':
      case 'DebugAlloc': {
        Object.assign(request, {
          malloc: this.heaps.get(num('malloc')) ?? num('malloc'),
          size: args.size,
          level: args.level,
        });
        if (method === 'DebugAlloc') {
          if (typeof args.file === 'string') request.file = args.file;
          if (typeof args.line === 'number') request.line = args.line;
        }
        address = result.address ?? null;
        if (address !== null) this.blocks.insert({ base: address, size: Math.max(1, num('size')), id });
        break;
      }
      case 'Free':
        Object.assign(request, {
          malloc: this.heaps.get(num('malloc')) ?? num('malloc'),
          address: this.ref(num('address')),
        });
        if (result.hr === 0) this.blocks.remove(num('address'));
        break;
      case 'Fill':
      case 'Check':
        Object.assign(request, { address: this.ref(num('address')), size: args.size, byte: args.byte });
        break;
      case 'GetMemoryLoad':
        break;
    }
    if (this.options.onLine) {
      this.write({ type: 'call', t, request, result: resultFields(result.hr, result.reason, address) });
      return;
    }
    // Fast path (100,000+ calls/s while recording): the line is assembled as text, the result part cached.
    const kept = this.writer.appendText(
      `{"type":"call","t":${t},"request":${JSON.stringify(request)},"result":${this.resultJson(result.hr, result.reason, address)}}\n`,
    );
    if (kept) this.calls++;
  }

  private readonly resultCache = new Map<string, string>();

  private resultJson(hr: number, reason: string | undefined, address: number | null | undefined): string {
    if (typeof address === 'number') return JSON.stringify(resultFields(hr, reason, address));
    const key = `${hr}|${reason ?? ''}|${address === null ? 'n' : 'u'}`;
    let text = this.resultCache.get(key);
    if (text === undefined) {
      text = JSON.stringify(resultFields(hr, reason, address));
      this.resultCache.set(key, text);
    }
    return text;
  }
}
