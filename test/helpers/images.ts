/**
 * Fixtures for the image and op tests, all made in code (no binary files in the repo):
 * - `pattern(w, h)`: a deterministic RGB picture with gradients, edges and every colour
 *   channel busy, so any wrong index or channel shows;
 * - `icon(size)`: a real @tabler/icons outline icon rendered by sharp and flattened on white;
 * - `pngOf(...)`: a PNG writer for any colour type / bit depth (grey, grey+alpha, palette
 *   with tRNS, RGBA, 16-bit), independent of the code under test;
 * - `badFiles(dir)`: zero-byte, truncated, text-named-.png and unicode-named files.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { crc32 } from '../../src/image/png.ts';
import { createRaw, type RawImage } from '../../src/image/raw.ts';

export async function tempDir(prefix = 'augment-img-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A w x h picture: diagonal gradients, a bright rectangle and a dark stripe. */
export function pattern(w: number, h: number, seed = 0): RawImage {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      d[i] = (x * 255) / Math.max(1, w - 1);
      d[i + 1] = (y * 255) / Math.max(1, h - 1);
      d[i + 2] = ((x + y) * 37 + seed * 11) & 255;
      if (x > w / 4 && x < w / 2 && y > h / 5 && y < h / 2) d[i] = d[i + 1] = 250;
      if (Math.abs(x - y - 3) < 2) d[i] = d[i + 1] = d[i + 2] = 5;
    }
  }
  return createRaw(w, h, d);
}

/** A real icon (black strokes), rendered at `size` px and flattened on white. */
export async function icon(size: number, name = 'photo'): Promise<RawImage> {
  const pkg = dirname(createRequire(import.meta.url).resolve('@tabler/icons/package.json'));
  const svg = await readFile(join(pkg, 'icons/outline', `${name}.svg`));
  const { data, info } = await sharp(svg, { density: (72 * size) / 24 })
    .resize(size, size)
    .flatten({ background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return createRaw(info.width, info.height, new Uint8Array(data));
}

/** sharp's view of a raw image, for references. */
export const toSharp = (img: RawImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });

export async function sharpRaw(s: Sharp): Promise<RawImage> {
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return createRaw(info.width, info.height, new Uint8Array(data));
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * A PNG of any colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA) and depth 8 or
 * 16; `samples` are the unfiltered sample values row by row (16-bit ones as numbers).
 * Rows use filter `filter` (0 none, 1 sub... only 0 and 1 supported, enough to exercise both).
 */
export function pngOf(opts: {
  width: number; height: number; colourType: 0 | 2 | 3 | 4 | 6; depth?: 8 | 16;
  samples: ArrayLike<number>; palette?: number[]; trns?: number[]; filter?: 0 | 1; extraChunks?: Array<[string, Uint8Array]>;
}): Buffer {
  const { width: w, height: h, colourType, depth = 8, samples, filter = 0 } = opts;
  const spp = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colourType];
  const bps = depth / 8;
  const stride = w * spp * bps;
  const raw = Buffer.alloc(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(stride);
    for (let i = 0; i < w * spp; i++) {
      const v = samples[y * w * spp + i];
      if (bps === 1) row[i] = v;
      else row.writeUInt16BE(v, i * 2);
    }
    const o = y * (stride + 1);
    raw[o] = filter;
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = filter === 1 && i >= spp * bps ? (row[i] - row[i - spp * bps]) & 255 : row[i];
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colourType;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  for (const [t, b] of opts.extraChunks ?? []) parts.push(chunk(t, b));
  if (opts.palette) parts.push(chunk('PLTE', Uint8Array.from(opts.palette)));
  if (opts.trns) parts.push(chunk('tRNS', Uint8Array.from(opts.trns)));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Largest absolute difference between two same-size images. */
export function maxDiff(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** Fraction of channel values that differ by more than `tol`. */
export function fractionOver(a: RawImage, b: RawImage, tol: number): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) if (Math.abs(a.data[i] - b.data[i]) > tol) n++;
  return n / a.data.length;
}

export async function writeFixture(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

/**
 * Fraction of channel values of `a` that no pixel within `radius` of the same place in `b`
 * matches within `tol`: "the same picture up to a small shift". Both directions are checked.
 */
export function shiftedMismatch(a: RawImage, b: RawImage, radius: number, tol: number): number {
  const one = (p: RawImage, q: RawImage) => {
    const { width: w, height: h } = p;
    let bad = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          const v = p.data[(y * w + x) * 3 + c];
          let ok = false;
          for (let dy = -radius; dy <= radius && !ok; dy++) {
            for (let dx = -radius; dx <= radius && !ok; dx++) {
              const xx = x + dx, yy = y + dy;
              if (xx >= 0 && yy >= 0 && xx < w && yy < h && Math.abs(q.data[(yy * w + xx) * 3 + c] - v) <= tol) ok = true;
            }
          }
          if (!ok) bad++;
        }
      }
    }
    return bad / p.data.length;
  };
  return Math.max(one(a, b), one(b, a));
}
