/**
 * The tray icon, drawn at run time as RGBA pixels (no Electron here: the shell turns the PNGs into a nativeImage).
 *
 * The picture is a level gauge: a rounded tile whose inside fills from the bottom with `ratio` (committed / commit
 * limit, or the OS memory load when there is no limit). The fill and the frame take the notification state's
 * colour — High (plenty of memory): green, Neutral: amber, Low: red. An unavailable host is drawn grey, uniformly,
 * with a dark cross over it. Every edge sits on whole pixels (no anti-aliasing), so the 16 px icon stays crisp; the
 * background and the tile's corner pixels are fully transparent.
 */
import { deflateSync } from 'node:zlib';
import type { HostState, MemoryAvailable } from '../host/types';

export const TRAY_ICON_SIZES = [16, 20, 24, 32] as const;

export interface TrayIconInputs {
  /** 0..1 (clamped; NaN is drawn as 0). */
  readonly ratio: number;
  readonly memoryAvailable: MemoryAvailable;
  readonly state: HostState;
}

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width × height × 4 bytes, row-major, straight (not premultiplied) alpha. */
  readonly rgba: Uint8Array;
}

export type Rgb = readonly [number, number, number];

/** The colours the icon uses, exported so the tests (and an About box legend) name the same values. */
export const TRAY_COLOURS = {
  /** MemoryAvailable → the gauge's fill. */
  fill: { 1: [0xe5, 0x39, 0x35], 2: [0xf2, 0xa9, 0x00], 3: [0x2e, 0xb8, 0x4b] } as Readonly<
    Record<MemoryAvailable, Rgb>
  >,
  /** MemoryAvailable → the frame: the same hue, a little darker, bright enough for a dark taskbar. */
  frame: { 1: [0xb7, 0x1c, 0x1c], 2: [0xb8, 0x7a, 0x00], 3: [0x1e, 0x8e, 0x3a] } as Readonly<
    Record<MemoryAvailable, Rgb>
  >,
  /** The empty part of the gauge. */
  track: [0x2b, 0x2b, 0x2b] as Rgb,
  unavailableFill: [0x9e, 0x9e, 0x9e] as Rgb,
  unavailableFrame: [0x5c, 0x5c, 0x5c] as Rgb,
  unavailableCross: [0x1e, 0x1e, 0x1e] as Rgb,
} as const;

/** Where things are in an icon of a given size (whole pixels). */
export interface TrayIconGeometry {
  readonly size: number;
  /** Transparent margin around the tile. */
  readonly pad: number;
  /** Frame thickness (the frame's outer corner pixels are left transparent: a rounded look without blur). */
  readonly border: number;
  /** The gauge's inside: first column/row and its side length (it is square). */
  readonly inner: { readonly x: number; readonly y: number; readonly side: number };
}

export function trayIconGeometry(size: number): TrayIconGeometry {
  if (!Number.isInteger(size) || size < 8 || size > 256) throw new RangeError(`tray icon size ${size} not in 8..256`);
  const unit = Math.max(1, Math.floor(size / 16));
  const pad = unit;
  const border = unit;
  const offset = pad + border;
  return { size, pad, border, inner: { x: offset, y: offset, side: size - 2 * offset } };
}

/** How many rows of the gauge are filled for a ratio: 0 only for 0, at least one row for anything above. */
export function filledRows(ratio: number, size: number): number {
  const side = trayIconGeometry(size).inner.side;
  const r = Number.isFinite(ratio) ? Math.min(1, Math.max(0, ratio)) : ratio === Infinity ? 1 : 0;
  if (r <= 0) return 0;
  return Math.min(side, Math.max(1, Math.round(r * side)));
}

export function drawTrayIcon(inputs: TrayIconInputs, size: number): RgbaImage {
  const g = trayIconGeometry(size);
  const rgba = new Uint8Array(size * size * 4);
  const put = (x: number, y: number, c: Rgb): void => {
    const i = (y * size + x) * 4;
    rgba[i] = c[0];
    rgba[i + 1] = c[1];
    rgba[i + 2] = c[2];
    rgba[i + 3] = 255;
  };
  const unavailable = inputs.state === 'unavailable';
  const frame = unavailable ? TRAY_COLOURS.unavailableFrame : TRAY_COLOURS.frame[inputs.memoryAvailable];
  const fill = unavailable ? TRAY_COLOURS.unavailableFill : TRAY_COLOURS.fill[inputs.memoryAvailable];

  // Frame: a square ring `border` thick, its outer corner (border × border) cut away.
  const lo = g.pad;
  const hi = size - g.pad - 1;
  for (let y = lo; y <= hi; y++) {
    for (let x = lo; x <= hi; x++) {
      const cornerX = x < lo + g.border || x > hi - g.border;
      const cornerY = y < lo + g.border || y > hi - g.border;
      if (cornerX && cornerY) continue;
      put(x, y, frame);
    }
  }

  // Inside: track, then the filled rows from the bottom (the whole inside when unavailable).
  const { x: ix, y: iy, side } = g.inner;
  const rows = unavailable ? side : filledRows(inputs.ratio, size);
  for (let v = 0; v < side; v++) {
    const filled = v >= side - rows;
    for (let u = 0; u < side; u++) put(ix + u, iy + v, filled ? fill : TRAY_COLOURS.track);
  }

  if (unavailable) {
    // A cross inset from the frame, ~2 px thick at 16 px, 3 at 32 (|u − v| ≤ t on a square grid).
    const inset = Math.max(1, Math.floor(side / 6));
    const t = size >= 24 ? 1 : 0.5;
    for (let v = inset; v < side - inset; v++) {
      for (let u = inset; u < side - inset; u++) {
        if (Math.abs(u - v) <= t || Math.abs(u + v - (side - 1)) <= t)
          put(ix + u, iy + v, TRAY_COLOURS.unavailableCross);
      }
    }
  }
  return { width: size, height: size, rgba };
}

// ---- PNG -------------------------------------------------------------------------------------------------------

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309 / PNG), over one or more byte ranges in sequence. */
export function crc32(...parts: readonly Uint8Array[]): number {
  let c = 0xffffffff;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An 8-bit RGBA PNG (colour type 6, no interlace, filter 0 on every row). */
export function encodePng(image: RgbaImage): Buffer {
  const { width, height, rgba } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad image size ${width}×${height}`);
  }
  if (rgba.length !== width * height * 4)
    throw new RangeError(`rgba has ${rgba.length} bytes, not ${width * height * 4}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering (type 0 used on every row)
  ihdr[12] = 0; // no interlace
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

// ---- cache -----------------------------------------------------------------------------------------------------

export interface TrayIconFrame {
  readonly size: number;
  readonly image: RgbaImage;
  readonly png: Buffer;
}

export interface IconUpdate {
  /** True when at least one size was redrawn (the shell then calls tray.setImage); false: nothing visible changed. */
  readonly changed: boolean;
  /** The sizes redrawn by this update. */
  readonly redrawn: readonly number[];
  /** The current icon at every size. */
  readonly frames: readonly TrayIconFrame[];
}

/** What one size of the icon looks like, as a key: two inputs with the same key draw the same pixels. */
export function visibleKey(inputs: TrayIconInputs, size: number): string {
  if (inputs.state === 'unavailable') return 'unavailable';
  return `${inputs.memoryAvailable}:${filledRows(inputs.ratio, size)}`;
}

/**
 * Keeps the drawn icon per size and redraws a size only when what it shows changes: the filled rows at that size
 * (the ratio quantised to its pixels), the colour, or the host state.
 */
export class IconCache {
  private readonly keys = new Map<number, string>();
  private readonly frames = new Map<number, TrayIconFrame>();
  /** Images drawn since construction (for tests and diagnostics). */
  draws = 0;

  constructor(readonly sizes: readonly number[] = TRAY_ICON_SIZES) {
    if (sizes.length === 0) throw new RangeError('IconCache needs at least one size');
    for (const size of sizes) trayIconGeometry(size);
  }

  update(inputs: TrayIconInputs): IconUpdate {
    const redrawn: number[] = [];
    for (const size of this.sizes) {
      const key = visibleKey(inputs, size);
      if (this.keys.get(size) === key) continue;
      const image = drawTrayIcon(inputs, size);
      this.frames.set(size, { size, image, png: encodePng(image) });
      this.keys.set(size, key);
      this.draws++;
      redrawn.push(size);
    }
    return { changed: redrawn.length > 0, redrawn, frames: this.current() };
  }

  /** The icon as last drawn (empty before the first update). */
  current(): TrayIconFrame[] {
    const out: TrayIconFrame[] = [];
    for (const size of this.sizes) {
      const frame = this.frames.get(size);
      if (frame) out.push(frame);
    }
    return out;
  }
}
