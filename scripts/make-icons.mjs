#!/usr/bin/env node
// Draw hostmem's application icon from code — a gauge: a dark rounded tile, a 270° track, the committed share as
// a coloured arc and a needle — and write
//   build/icon.png  256×256 RGBA PNG
//   build/icon.ico  16, 24, 32, 48, 64, 128, 256 (256 as PNG, the rest as 32-bit BMP entries with an AND mask,
//                   the layout Windows Explorer, rcedit and NSIS all read)
// Pure JS: the PNG encoder uses node:zlib. Each size is rendered directly (4×4 supersampling), not downscaled,
// so the small sizes stay crisp. The generated files are committed; rerun this after changing the drawing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { isMain, repoRoot } from './util.mjs';

const SIZES = [16, 24, 32, 48, 64, 128, 256];

const colors = {
  tile: [30, 41, 59], // slate-800
  track: [71, 85, 105], // slate-600
  arcLow: [45, 212, 191], // teal-400
  arcHigh: [251, 191, 36], // amber-400
  needle: [241, 245, 249], // slate-100
};

/** Coverage-weighted shapes, evaluated at a point in unit space (0..1 across the icon). */
function sample(x, y, size) {
  const px = 1 / size; // one output pixel in unit space, to keep strokes visible at 16×16
  // Rounded tile.
  const margin = 0.03;
  const radius = 0.2;
  const qx = Math.max(Math.abs(x - 0.5) - (0.5 - margin - radius), 0);
  const qy = Math.max(Math.abs(y - 0.5) - (0.5 - margin - radius), 0);
  if (Math.hypot(qx, qy) > radius) return null;

  const cx = 0.5;
  const cy = 0.55;
  const dx = x - cx;
  const dy = y - cy;
  const r = Math.hypot(dx, dy);
  // Angle measured clockwise from straight down; the gauge spans 45°..315° (a 270° arc open at the bottom).
  let angle = (Math.atan2(-dx, dy) * 180) / Math.PI;
  if (angle < 0) angle += 360;
  const ringOuter = 0.36;
  const ringWidth = Math.max(0.09, 2.2 * px);
  const value = 0.68; // the share of the arc drawn as "committed"
  const start = 45;
  const end = 315;
  const valueEnd = start + (end - start) * value;

  // Needle: a line from the hub towards valueEnd.
  const needleAngle = (valueEnd * Math.PI) / 180;
  const nx = -Math.sin(needleAngle);
  const ny = Math.cos(needleAngle);
  const along = dx * nx + dy * ny;
  const across = Math.abs(dx * ny - dy * nx);
  const needleHalf = Math.max(0.022, 0.9 * px);
  if ((along >= 0 && along <= ringOuter - ringWidth - 0.02 && across <= needleHalf) || r <= Math.max(0.06, 1.6 * px)) {
    return colors.needle;
  }

  if (r <= ringOuter && r >= ringOuter - ringWidth && angle >= start && angle <= end) {
    if (angle <= valueEnd) {
      const t = (angle - start) / (valueEnd - start);
      return colors.arcLow.map((c, i) => Math.round(c + (colors.arcHigh[i] - c) * t));
    }
    return colors.track;
  }
  return colors.tile;
}

/** Render one size as straight (non-premultiplied) RGBA, row-major, top row first. */
export function renderIcon(size) {
  const ss = 4;
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const color = sample((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size, size);
          if (!color) continue;
          r += color[0];
          g += color[1];
          b += color[2];
          a += 1;
        }
      }
      const o = (py * size + px) * 4;
      if (a > 0) {
        rgba[o] = Math.round(r / a);
        rgba[o + 1] = Math.round(g / a);
        rgba[o + 2] = Math.round(b / a);
        rgba[o + 3] = Math.round((255 * a) / (ss * ss));
      }
    }
  }
  return rgba;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encode straight RGBA as a PNG (8-bit RGBA, filter 0 on every row). */
export function encodePng(rgba, width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A classic ICO image entry: BITMAPINFOHEADER, bottom-up BGRA pixels, 1-bit AND mask. */
function encodeIcoBitmap(rgba, size) {
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(size, 4);
  header.writeInt32LE(size * 2, 8); // colour + mask
  header.writeUInt16LE(1, 12);
  header.writeUInt16LE(32, 14);
  const pixels = Buffer.alloc(size * size * 4);
  const maskStride = Math.ceil(size / 32) * 4;
  const mask = Buffer.alloc(maskStride * size);
  for (let y = 0; y < size; y++) {
    const row = size - 1 - y;
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const o = (row * size + x) * 4;
      pixels[o] = rgba[i + 2];
      pixels[o + 1] = rgba[i + 1];
      pixels[o + 2] = rgba[i];
      pixels[o + 3] = rgba[i + 3];
      if (rgba[i + 3] === 0) mask[row * maskStride + (x >> 3)] |= 0x80 >> (x & 7);
    }
  }
  header.writeUInt32LE(pixels.length + mask.length, 20);
  return Buffer.concat([header, pixels, mask]);
}

export function encodeIco(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, data }, index) => {
    const e = 6 + 16 * index;
    header[e] = size >= 256 ? 0 : size;
    header[e + 1] = size >= 256 ? 0 : size;
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(data.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, ...images.map((image) => image.data)]);
}

function main() {
  const outDir = join(repoRoot, 'build');
  mkdirSync(outDir, { recursive: true });
  const rendered = new Map(SIZES.map((size) => [size, renderIcon(size)]));
  writeFileSync(join(outDir, 'icon.png'), encodePng(rendered.get(256), 256, 256));
  const images = SIZES.map((size) => ({
    size,
    data: size >= 256 ? encodePng(rendered.get(size), size, size) : encodeIcoBitmap(rendered.get(size), size),
  }));
  writeFileSync(join(outDir, 'icon.ico'), encodeIco(images));
  console.log(`make-icons: build/icon.png (256×256), build/icon.ico (${SIZES.join(', ')})`);
}

if (isMain(import.meta.url)) main();
