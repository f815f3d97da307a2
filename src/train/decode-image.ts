/**
 * Training images from file bytes to size x size RGB: `decodeImageBuffer`
 * (src/image/decode.ts: EXIF orientation, alpha flattened onto white, 8-bit sRGB), then, when
 * the size differs, sharp's resize with `fit: 'fill'` (aspect ratio not kept; icons are square)
 * and its default lanczos3 kernel. The main thread and the decode workers both call this, so
 * both give the same bytes. A change here that changes any byte must bump DECODE_VERSION
 * (./decode-pack.ts), or caches would serve the old pixels.
 *
 * Batched resize (`resizeMany`): for a 64 px icon, a sharp call costs ~1-4 ms of fixed overhead
 * and the pixels almost nothing, so images of one geometry are stacked into one tall image and
 * resized in one call. Each tile is padded above and below with copies of its edge rows (what
 * libvips' reduce does at an image's edge, VIPS_EXTEND_COPY), P rows, P a multiple of
 * h / gcd(h, size) so that every tile starts on an output row, and P > the lanczos3 support (3
 * input px per output px, x the factor): no output row sees a neighbouring tile. The scale
 * factors are the same doubles as for one image (the same ratios). The result is byte-identical
 * to one call per image (tested on noise images): used only where that was shown, a vertical
 * factor below 4 (from 4 on, libvips shrinks by an integer factor first, aligned to the top of
 * the whole stack, not of each tile), and checked again once per geometry and process against
 * one-image calls; any mismatch switches that geometry back to one call per image.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { AugmentError } from '../errors.ts';
import { decodeImage, decodeImageBuffer } from '../image/decode.ts';
import type { RawImage } from '../image/raw.ts';

/** Decodes image bytes to size x size RGB. AugmentError BAD_IMAGE naming `name` on failure. */
export async function decodeBufferToSize(buf: Buffer, name: string, imageSize: number): Promise<Uint8Array> {
  return resizeOne(await decodeImageBuffer(buf, name), imageSize);
}

/** A file's bytes; when it cannot be read, the same one-line BAD_IMAGE error as `decodeImage`. */
export async function readImageFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    await decodeImage(path); // throws the worded error (missing, a folder, no permission...)
    return readFile(path); // it became readable meanwhile
  }
}

/** One image to size x size (the reference the batched path must equal). */
export async function resizeOne(raw: RawImage, imageSize: number): Promise<Uint8Array> {
  if (raw.width === imageSize && raw.height === imageSize) return raw.data;
  const out = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .resize(imageSize, imageSize, { fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Tiles per sharp call (bounded memory; positions stay small numbers). */
const MAX_TILES = 64;
const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

export interface StackPlan {
  /** Padding rows above and below each tile, input and output. */
  pad: number;
  padOut: number;
  /** Tile height, input and output. */
  tile: number;
  tileOut: number;
}

/** How to stack images of height h for a resize to `size`, or null where stacking is not exact. */
export function stackPlan(width: number, height: number, size: number): StackPlan | null {
  if (!(size < width && size < height)) return null;
  const f = height / size;
  if (f >= 4) return null;
  const step = height / gcd(height, size);
  const pad = step * Math.ceil((Math.ceil(3 * f) + 4) / step);
  const tile = height + 2 * pad;
  return { pad, padOut: (pad * size) / height, tile, tileOut: (tile * size) / height };
}

/** Geometry `WxH>size` -> whether the batched resize was checked equal here (false: off). */
const verified = new Map<string, boolean>();

/** Per geometry (`WxH>size`) checked in this process: true = stacked resize in use, false = found differing, one call per image. */
export function stackedResizeStatus(): Record<string, boolean> {
  return Object.fromEntries(verified);
}

async function resizeStack(images: readonly RawImage[], size: number, p: StackPlan): Promise<Uint8Array[]> {
  const { width: w, height: h } = images[0];
  const row = w * 3;
  const tall = Buffer.alloc(p.tile * row * images.length);
  images.forEach((img, k) => {
    const base = k * p.tile * row;
    for (let y = 0; y < p.tile; y++) {
      const sy = Math.min(h - 1, Math.max(0, y - p.pad));
      tall.set(img.data.subarray(sy * row, (sy + 1) * row), base + y * row);
    }
  });
  const res = await sharp(tall, { raw: { width: w, height: p.tile * images.length, channels: 3 } })
    .resize(size, p.tileOut * images.length, { fit: 'fill' })
    .raw()
    .toBuffer();
  const outRow = size * 3;
  return images.map((_, k) => {
    const start = (k * p.tileOut + p.padOut) * outRow;
    return new Uint8Array(res.buffer, res.byteOffset + start, size * outRow);
  });
}

/** `resizeOne` of every image, batching images of one geometry into few sharp calls. */
export async function resizeMany(images: readonly RawImage[], size: number): Promise<Uint8Array[]> {
  const out = new Array<Uint8Array>(images.length);
  const groups = new Map<string, number[]>();
  images.forEach((img, i) => {
    const key = `${img.width}x${img.height}>${size}`;
    if (img.width === size && img.height === size) out[i] = img.data;
    else groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const [key, idx] of groups) {
    const { width, height } = images[idx[0]];
    const p = stackPlan(width, height, size);
    if (!p || idx.length < 2 || verified.get(key) === false) {
      for (const i of idx) out[i] = await resizeOne(images[i], size);
      continue;
    }
    for (let s = 0; s < idx.length; s += MAX_TILES) {
      const part = idx.slice(s, s + MAX_TILES);
      const got = await resizeStack(
        part.map((i) => images[i]),
        size,
        p,
      );
      if (!verified.has(key)) {
        const probes = [0, part.length - 1];
        const ok = (await Promise.all(probes.map((k) => resizeOne(images[part[k]], size)))).every((ref, j) => Buffer.from(ref).equals(Buffer.from(got[probes[j]])));
        verified.set(key, ok);
        if (!ok) {
          for (const i of idx.slice(s)) out[i] = await resizeOne(images[i], size);
          break;
        }
      }
      part.forEach((i, k) => (out[i] = got[k]));
    }
  }
  return out;
}

export type ChunkOutcome = { sha256: string; pixels: Uint8Array } | { error: string; code: string };

/**
 * Reads, hashes and decodes each file, then resizes the decoded ones together (`resizeMany`).
 * One outcome per path, in order; a file that fails does not fail the others.
 */
export async function decodeChunk(paths: readonly string[], imageSize: number): Promise<ChunkOutcome[]> {
  const outcomes: ChunkOutcome[] = new Array(paths.length);
  const raws: RawImage[] = [];
  const at: number[] = [];
  const shas: string[] = [];
  const failed = (i: number, e: unknown) => {
    outcomes[i] = e instanceof AugmentError ? { error: e.message, code: e.code } : { error: `${paths[i]}: ${e instanceof Error ? e.message : String(e)}`, code: 'BAD_IMAGE' };
  };
  await Promise.all(
    paths.map(async (path, i) => {
      try {
        const buf = await readImageFile(path);
        const raw = await decodeImageBuffer(buf, path);
        raws.push(raw);
        at.push(i);
        shas.push(createHash('sha256').update(buf).digest('hex'));
      } catch (e) {
        failed(i, e);
      }
    }),
  );
  let pixels: Uint8Array[];
  try {
    pixels = await resizeMany(raws, imageSize);
  } catch {
    // a resize failure: find its image (one call each), so the error names the file
    pixels = [];
    for (let k = 0; k < raws.length; k++) {
      try {
        pixels[k] = await resizeOne(raws[k], imageSize);
      } catch (e) {
        failed(at[k], e);
      }
    }
  }
  at.forEach((i, k) => {
    if (pixels[k]) outcomes[i] = { sha256: shas[k], pixels: pixels[k] };
  });
  return outcomes;
}
