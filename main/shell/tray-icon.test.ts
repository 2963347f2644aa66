/**
 * The tray icon's pixels, checked by value for each state at 16 and 32 px, and written as PNGs (plus 8× nearest-
 * neighbour enlargements and a contact sheet on light and dark taskbar colours) to test-artifacts/tray/ for a look.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import type { HostState, MemoryAvailable } from '../host/types';
import {
  IconCache,
  TRAY_COLOURS,
  TRAY_ICON_SIZES,
  drawTrayIcon,
  encodePng,
  filledRows,
  trayIconGeometry,
  type Rgb,
  type RgbaImage,
  type TrayIconInputs,
} from './tray-icon';

function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 8; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'main'))) return dir;
  }
  return process.cwd();
}
const artifacts = join(repoRoot(), 'test-artifacts', 'tray');

const LOW: MemoryAvailable = 1;
const NEUTRAL: MemoryAvailable = 2;
const HIGH: MemoryAvailable = 3;
const NAMES: Record<MemoryAvailable, string> = { 1: 'low', 2: 'neutral', 3: 'high' };

type Px = [number, number, number, number];
function px(img: RgbaImage, x: number, y: number): Px {
  const i = (y * img.width + x) * 4;
  return [img.rgba[i]!, img.rgba[i + 1]!, img.rgba[i + 2]!, img.rgba[i + 3]!];
}
const rgbKey = (p: Px | Rgb): string => `${p[0]},${p[1]},${p[2]}`;

/** Opaque pixel colours and their counts, over a rectangle. */
function histogram(img: RgbaImage, x0 = 0, y0 = 0, x1 = img.width, y1 = img.height): Map<string, number> {
  const h = new Map<string, number>();
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = px(img, x, y);
      if (p[3] === 0) continue;
      h.set(rgbKey(p), (h.get(rgbKey(p)) ?? 0) + 1);
    }
  }
  return h;
}
function dominant(h: Map<string, number>): string {
  return [...h.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

/** The gauge's inside: how many of its rows are entirely the fill colour, and that they are the bottom ones. */
function filledRowsOf(img: RgbaImage, fill: Rgb): number {
  const { x, y, side } = trayIconGeometry(img.width).inner;
  let rows = 0;
  for (let v = side - 1; v >= 0; v--) {
    const row = Array.from({ length: side }, (_, u) => rgbKey(px(img, x + u, y + v)));
    if (row.every((k) => k === rgbKey(fill))) rows++;
    else {
      // Above the fill, only track: the fill is one block from the bottom.
      for (let w = v; w >= 0; w--) {
        for (let u = 0; u < side; u++) assert.equal(rgbKey(px(img, x + u, y + w)), rgbKey(TRAY_COLOURS.track));
      }
      break;
    }
  }
  return rows;
}

// ---- an independent PNG reader: chunks, CRCs, IHDR, pixels -------------------------------------------------------

function crcBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Decoded {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  chunks: string[];
  rgba: Uint8Array;
}

function decodePng(buf: Buffer): Decoded {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | undefined;
  for (let off = 8; off < buf.length;) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    const crc = buf.readUInt32BE(off + 8 + len);
    assert.equal(crc, crcBitwise(buf.subarray(off + 4, off + 8 + len)), `CRC of ${type}`);
    chunks.push(type);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
    if (type === 'IEND') assert.equal(off, buf.length, 'nothing after IEND');
  }
  assert.ok(ihdr && ihdr.length === 13, 'IHDR');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const raw = inflateSync(Buffer.concat(idat));
  assert.equal(raw.length, height * (width * 4 + 1));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (width * 4 + 1)], 0, 'filter type 0');
    rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, bitDepth: ihdr[8]!, colourType: ihdr[9]!, chunks, rgba };
}

// ---- looking at them: nearest-neighbour upscale and a contact sheet ------------------------------------------------

function upscale(img: RgbaImage, k: number): RgbaImage {
  const w = img.width * k;
  const h = img.height * k;
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / k) * img.width + Math.floor(x / k)) * 4;
      out.set(img.rgba.subarray(s, s + 4), (y * w + x) * 4);
    }
  }
  return { width: w, height: h, rgba: out };
}

/** Icons at 8× in a grid, composited over a taskbar colour. */
function sheet(icons: RgbaImage[][], background: Rgb, k: number): RgbaImage {
  const gap = 16;
  const cell = 32 * k + gap;
  const cols = Math.max(...icons.map((r) => r.length));
  const w = cols * cell + gap;
  const h = icons.length * cell + gap;
  const out = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) out.set([background[0], background[1], background[2], 255], i * 4);
  icons.forEach((row, r) =>
    row.forEach((icon, c) => {
      const big = upscale(icon, k);
      const ox = gap + c * cell;
      const oy = gap + r * cell + (32 * k - big.height);
      for (let y = 0; y < big.height; y++) {
        for (let x = 0; x < big.width; x++) {
          const s = (y * big.width + x) * 4;
          const a = big.rgba[s + 3]! / 255;
          const d = ((oy + y) * w + ox + x) * 4;
          for (let ch = 0; ch < 3; ch++) out[d + ch] = Math.round(big.rgba[s + ch]! * a + out[d + ch]! * (1 - a));
        }
      }
    }),
  );
  return { width: w, height: h, rgba: out };
}

// ---- tests -------------------------------------------------------------------------------------------------------

const STATES: ReadonlyArray<{ name: string; inputs: TrayIconInputs }> = [
  { name: 'high', inputs: { ratio: 0.3, memoryAvailable: HIGH, state: 'available' } },
  { name: 'neutral', inputs: { ratio: 0.7, memoryAvailable: NEUTRAL, state: 'available' } },
  { name: 'low', inputs: { ratio: 0.95, memoryAvailable: LOW, state: 'available' } },
  { name: 'unavailable', inputs: { ratio: 0.5, memoryAvailable: NEUTRAL, state: 'unavailable' } },
];

describe('tray icon pixels', () => {
  for (const size of [16, 32]) {
    for (const m of [LOW, NEUTRAL, HIGH]) {
      test(`${NAMES[m]} at ${size} px: filled part in the state colour, frame, track, transparent corners`, () => {
        const img = drawTrayIcon({ ratio: 0.5, memoryAvailable: m, state: 'available' }, size);
        assert.equal(img.width, size);
        assert.equal(img.height, size);
        assert.equal(img.rgba.length, size * size * 4);
        const g = trayIconGeometry(size);
        // The four corners of the icon, and the frame's own corner pixels, are fully transparent.
        for (const [x, y] of [
          [0, 0],
          [size - 1, 0],
          [0, size - 1],
          [size - 1, size - 1],
          [g.pad, g.pad],
          [size - 1 - g.pad, g.pad],
          [g.pad, size - 1 - g.pad],
          [size - 1 - g.pad, size - 1 - g.pad],
        ] as const) {
          assert.equal(px(img, x, y)[3], 0, `(${x},${y}) transparent`);
        }
        // The margin is transparent all round.
        for (let i = 0; i < size; i++) {
          for (let p = 0; p < g.pad; p++) {
            assert.equal(px(img, i, p)[3], 0);
            assert.equal(px(img, p, i)[3], 0);
            assert.equal(px(img, i, size - 1 - p)[3], 0);
            assert.equal(px(img, size - 1 - p, i)[3], 0);
          }
        }
        // Crisp: every pixel fully opaque or fully transparent, and only four colours used.
        for (let i = 3; i < img.rgba.length; i += 4) assert.ok(img.rgba[i] === 0 || img.rgba[i] === 255);
        const all = histogram(img);
        assert.deepEqual(
          new Set(all.keys()),
          new Set([TRAY_COLOURS.fill[m], TRAY_COLOURS.frame[m], TRAY_COLOURS.track].map(rgbKey)),
        );
        // The lower half of the gauge is the fill colour; the upper half the track.
        const { x, y, side } = g.inner;
        assert.equal(dominant(histogram(img, x, y + side / 2, x + side, y + side)), rgbKey(TRAY_COLOURS.fill[m]));
        assert.equal(histogram(img, x, y + side / 2, x + side, y + side).size, 1);
        assert.equal(dominant(histogram(img, x, y, x + side, y + side / 2)), rgbKey(TRAY_COLOURS.track));
        assert.equal(filledRowsOf(img, TRAY_COLOURS.fill[m]), side / 2);
        // The frame (middle of the left edge) in the darker state colour.
        assert.equal(rgbKey(px(img, g.pad, size / 2)), rgbKey(TRAY_COLOURS.frame[m]));
      });
    }

    test(`the colours say the state at ${size} px: red low, amber neutral, green high`, () => {
      const fillOf = (m: MemoryAvailable): Px => {
        const img = drawTrayIcon({ ratio: 1, memoryAvailable: m, state: 'available' }, size);
        return px(img, size / 2, size / 2);
      };
      const [lr, lg, lb] = fillOf(LOW);
      assert.ok(lr > 200 && lg < 100 && lb < 100, 'Low is red');
      const [nr, ng, nb] = fillOf(NEUTRAL);
      assert.ok(nr > 200 && ng > 120 && ng < nr && nb < 60, 'Neutral is amber');
      const [hr, hg, hb] = fillOf(HIGH);
      assert.ok(hg > 150 && hr < 100 && hb < 100, 'High is green');
    });

    test(`unavailable at ${size} px: grey only, whatever the ratio, with a dark cross`, () => {
      for (const m of [LOW, NEUTRAL, HIGH]) {
        const img = drawTrayIcon({ ratio: 0.2, memoryAvailable: m, state: 'unavailable' }, size);
        const h = histogram(img);
        for (const key of h.keys()) {
          const [r, gg, b] = key.split(',').map(Number) as [number, number, number];
          assert.ok(r === gg && gg === b, `grey pixel, got ${key}`);
        }
        const { x, y, side } = trayIconGeometry(size).inner;
        // Grey dominates the inside; the cross crosses at the centre and on both diagonals.
        assert.equal(dominant(histogram(img, x, y, x + side, y + side)), rgbKey(TRAY_COLOURS.unavailableFill));
        const cross = rgbKey(TRAY_COLOURS.unavailableCross);
        const inset = Math.max(1, Math.floor(side / 6));
        assert.equal(rgbKey(px(img, x + inset, y + inset)), cross, 'top-left arm');
        assert.equal(rgbKey(px(img, x + side - 1 - inset, y + inset)), cross, 'top-right arm');
        assert.equal(rgbKey(px(img, x + inset, y + side - 1 - inset)), cross, 'bottom-left arm');
        assert.equal(rgbKey(px(img, x + side / 2, y + side / 2)), cross, 'centre');
        // Not crossed next to the frame, and the same pixels whatever the colour / ratio.
        assert.equal(rgbKey(px(img, x, y + side / 2)), rgbKey(TRAY_COLOURS.unavailableFill));
        assert.equal(px(img, 0, 0)[3], 0);
        const other = drawTrayIcon({ ratio: 0.9, memoryAvailable: HIGH, state: 'unavailable' }, size);
        assert.deepEqual(other.rgba, img.rgba);
      }
    });

    test(`fill proportion at ${size} px: ratio 0, 0.5, 1 (and clamping)`, () => {
      const side = trayIconGeometry(size).inner.side;
      const rows = (ratio: number): number =>
        filledRowsOf(drawTrayIcon({ ratio, memoryAvailable: HIGH, state: 'available' }, size), TRAY_COLOURS.fill[HIGH]);
      assert.equal(rows(0), 0);
      assert.equal(rows(0.5), side / 2);
      assert.equal(rows(1), side);
      assert.equal(rows(-3), 0);
      assert.equal(rows(7), side);
      assert.equal(rows(Number.NaN), 0);
      assert.equal(rows(0.001), 1, 'anything above zero shows one row');
      assert.equal(rows(0.999), side);
    });
  }

  test('every size draws, with its own geometry', () => {
    for (const size of TRAY_ICON_SIZES) {
      const img = drawTrayIcon({ ratio: 0.5, memoryAvailable: NEUTRAL, state: 'available' }, size);
      assert.equal(img.width, size);
      assert.equal(px(img, 0, 0)[3], 0);
      assert.equal(filledRowsOf(img, TRAY_COLOURS.fill[NEUTRAL]), filledRows(0.5, size));
    }
    assert.throws(() => drawTrayIcon({ ratio: 0.5, memoryAvailable: NEUTRAL, state: 'available' }, 4), RangeError);
  });
});

describe('tray icon PNG', () => {
  test('encodePng: signature, IHDR, IDAT, IEND, CRCs, and the same pixels back', () => {
    for (const size of TRAY_ICON_SIZES) {
      for (const { inputs } of STATES) {
        const img = drawTrayIcon(inputs, size);
        const png = encodePng(img);
        const d = decodePng(png);
        assert.deepEqual(d.chunks, ['IHDR', 'IDAT', 'IEND']);
        assert.equal(d.width, size);
        assert.equal(d.height, size);
        assert.equal(d.bitDepth, 8);
        assert.equal(d.colourType, 6);
        assert.deepEqual(d.rgba, img.rgba);
      }
    }
    assert.throws(() => encodePng({ width: 2, height: 2, rgba: new Uint8Array(3) }), RangeError);
  });

  test('writes the icons to test-artifacts/tray/ (1× and 8×, and contact sheets)', () => {
    mkdirSync(artifacts, { recursive: true });
    const rows: RgbaImage[][] = [];
    for (const { name, inputs } of STATES) {
      const row: RgbaImage[] = [];
      for (const size of TRAY_ICON_SIZES) {
        const img = drawTrayIcon(inputs, size);
        const file = join(artifacts, `tray-${name}-${size}.png`);
        writeFileSync(file, encodePng(img));
        writeFileSync(join(artifacts, `tray-${name}-${size}-x8.png`), encodePng(upscale(img, 8)));
        assert.deepEqual(decodePng(encodePng(img)).rgba, img.rgba);
        row.push(img);
      }
      rows.push(row);
    }
    // The fill levels at 16 px, from empty to full, in each colour.
    const levels = [LOW, NEUTRAL, HIGH].map((m) =>
      [0, 0.25, 0.5, 0.75, 1].map((ratio) => drawTrayIcon({ ratio, memoryAvailable: m, state: 'available' }, 16)),
    );
    writeFileSync(join(artifacts, 'sheet-light.png'), encodePng(sheet(rows, [0xf3, 0xf3, 0xf3], 8)));
    writeFileSync(join(artifacts, 'sheet-dark.png'), encodePng(sheet(rows, [0x20, 0x20, 0x20], 8)));
    writeFileSync(join(artifacts, 'levels-16-dark.png'), encodePng(sheet(levels, [0x20, 0x20, 0x20], 8)));
    writeFileSync(join(artifacts, 'levels-16-light.png'), encodePng(sheet(levels, [0xf3, 0xf3, 0xf3], 8)));
    assert.ok(existsSync(join(artifacts, 'tray-unavailable-16.png')));
  });

  test('build/tray/ (the committed tray images) is exactly what the app draws at run time', () => {
    // The images ship beside the installer's icon for docs and packaging; they must not drift from the drawing.
    for (const { name, inputs } of STATES) {
      for (const size of TRAY_ICON_SIZES) {
        const file = join(repoRoot(), 'build', 'tray', `tray-${name}-${size}.png`);
        assert.ok(existsSync(file), `${file} exists (copy it from test-artifacts/tray/ after changing the drawing)`);
        assert.deepEqual(decodePng(readFileSync(file)).rgba, drawTrayIcon(inputs, size).rgba, file);
      }
    }
  });
});

describe('IconCache', () => {
  const at = (ratio: number, memoryAvailable: MemoryAvailable = HIGH, state: HostState = 'available') => ({
    ratio,
    memoryAvailable,
    state,
  });

  test('draws every size once, then nothing while nothing visible changes', () => {
    const cache = new IconCache();
    const first = cache.update(at(0.5));
    assert.equal(first.changed, true);
    assert.deepEqual(first.redrawn, [...TRAY_ICON_SIZES]);
    assert.equal(first.frames.length, TRAY_ICON_SIZES.length);
    assert.equal(cache.draws, 4);
    const again = cache.update(at(0.5));
    assert.equal(again.changed, false);
    assert.deepEqual(again.redrawn, []);
    assert.equal(cache.draws, 4);
    // A change too small to move a pixel row at any size (32 px: 24 rows, ~4.2 % a row).
    const tiny = cache.update(at(0.505));
    assert.equal(tiny.changed, false);
    assert.equal(cache.draws, 4);
    assert.equal(tiny.frames[0], first.frames[0], 'the same frame objects');
  });

  test('redraws only the sizes whose pixels change', () => {
    const cache = new IconCache();
    cache.update(at(0.5));
    // 16 px has 12 rows, 32 px has 24: 0.5 → 0.53 moves a row at 32 px (12 → 13) but not at 16 px (6 → 6).
    assert.equal(filledRows(0.53, 16), filledRows(0.5, 16));
    assert.notEqual(filledRows(0.53, 32), filledRows(0.5, 32));
    const u = cache.update(at(0.53));
    assert.equal(u.changed, true);
    assert.ok(u.redrawn.includes(32));
    assert.ok(!u.redrawn.includes(16));
  });

  test('redraws on a colour change and on a host state change; unavailable ignores the ratio', () => {
    const cache = new IconCache([16]);
    cache.update(at(0.5, HIGH));
    assert.equal(cache.update(at(0.5, NEUTRAL)).changed, true);
    assert.equal(cache.update(at(0.5, NEUTRAL, 'unavailable')).changed, true);
    assert.equal(cache.update(at(0.9, LOW, 'unavailable')).changed, false, 'unavailable looks the same');
    assert.equal(cache.update(at(0.9, LOW, 'available')).changed, true);
    assert.equal(cache.draws, 4);
    const png = cache.current()[0]!.png;
    assert.deepEqual(decodePng(png).rgba, drawTrayIcon(at(0.9, LOW), 16).rgba);
  });
});
