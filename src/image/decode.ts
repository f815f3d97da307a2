/**
 * Reading source images: decode once to 8-bit sRGB RGB (`RawImage`), or read the header only.
 *
 * Plain 8-bit PNGs (the common case, and every sample icon) are decoded in JS
 * (`./png.ts`); everything else goes through sharp (loaded on first use, ./sharp.ts) with
 * EXIF orientation applied, alpha flattened onto `background`, and grey / 16-bit / CMYK /
 * palette input normalised to 8-bit sRGB. Every failure is an `AugmentError('BAD_IMAGE', "<path>: <problem>")`.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Metadata, OutputInfo } from 'sharp';
import { AugmentError } from '../errors.ts';
import { decodePngFast, plainRgbPng, pngSize } from './png.ts';
import { createRaw, type RawImage, type Rgb } from './raw.ts';
import { loadSharp } from './sharp.ts';

/** sharp's own default: 0x3FFF * 0x3FFF pixels. */
export const DEFAULT_PIXEL_LIMIT = 268_402_689;
/** Icons are black on transparent: flatten onto white unless told otherwise. */
export const DEFAULT_BACKGROUND: Rgb = [255, 255, 255];

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 268,402,689, as sharp). */
  limitInputPixels?: number;
  /** Colour that transparent pixels are flattened onto (default white). */
  background?: Rgb;
}

export interface ProbeResult {
  width: number;
  height: number;
  /** sharp's format name: png, jpeg, webp, gif, tiff, heif (avif)... */
  format: string;
}

/**
 * Decode an image file to raw 8-bit RGB.
 * @example const img = await decodeImage('data/tabler/arrows/arrow-up.png');
 * @throws AugmentError BAD_IMAGE naming the file and the problem (empty, truncated, not an
 *   image, over the pixel limit, unreadable).
 */
export async function decodeImage(path: string, opts: DecodeOptions = {}): Promise<RawImage> {
  return decodeImageBuffer(await readSource(path), path, opts);
}

/**
 * `decodeImage` with one synchronous read (open, fstat, read, close on this thread) instead of
 * fs/promises' trips through libuv's thread pool: for worker threads that decode file after
 * file. A read that fails goes through `decodeImage`, which words the error as ever.
 */
export async function decodeImageReadSync(path: string, opts: DecodeOptions = {}): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return decodeImage(path, opts);
  }
  return decodeImageBuffer(bytes, path, opts);
}

/**
 * `decodeImageReadSync` for a build's source: the pixels, and the file's bytes too when they
 * may stand as the PNG of those very pixels (`png`: a plain 8-bit RGB PNG, `plainRgbPng`,
 * that the JS decoder read without a fault), so that an output of the unchanged picture can be
 * written without encoding it again.
 */
export async function decodeSourceReadSync(path: string, opts: DecodeOptions = {}): Promise<{ image: RawImage; png: Buffer | undefined }> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return { image: await decodeImage(path, opts), png: undefined };
  }
  const r = await decodeBuffer(bytes, path, opts);
  return { image: r.image, png: r.fast && plainRgbPng(bytes) ? bytes : undefined };
}

/** `decodeImage` for bytes already in memory; `name` only words the errors. */
export async function decodeImageBuffer(buf: Buffer, name: string, opts: DecodeOptions = {}): Promise<RawImage> {
  return (await decodeBuffer(buf, name, opts)).image;
}

/** `decodeImageBuffer`, saying whether the JS PNG decoder (`fast`) or sharp read it. */
async function decodeBuffer(buf: Buffer, name: string, opts: DecodeOptions): Promise<{ image: RawImage; fast: boolean }> {
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const background = opts.background ?? DEFAULT_BACKGROUND;
  checkBackground(background);
  if (buf.length === 0) throw bad(name, 'empty file (0 bytes)');
  const size = pngSize(buf);
  if (size) {
    checkLimit(name, size.width, size.height, limit);
    const fast = decodePngFast(buf, background);
    if (fast) return { image: fast, fast: true };
  }
  return { image: await decodeWithSharp(buf, name, opts), fast: false };
}

/**
 * The general path of `decodeImageBuffer` (exported for tests and benchmarks): sharp decodes
 * any format to 8-bit sRGB, with or without alpha; alpha is flattened here, with the same
 * formula as the PNG fast path. (sharp's own flatten of grey+alpha input uses only the first
 * background component, so a coloured background would come out grey.)
 */
export async function decodeWithSharp(buf: Buffer, name: string, opts: DecodeOptions = {}): Promise<RawImage> {
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const background = opts.background ?? DEFAULT_BACKGROUND;
  const sharp = await loadSharp();
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(buf, { limitInputPixels: limit, failOn: 'error' })
      .rotate() // honour EXIF orientation
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw await explain(name, buf, e, limit);
  }
  const { data, info } = decoded;
  const px = new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (info.channels === 3) return createRaw(info.width, info.height, px);
  if (info.channels === 4) return createRaw(info.width, info.height, flattenRgba(px, background));
  throw bad(name, `cannot decode image (decoded to ${info.channels} channels)`);
}

/** RGBA -> RGB over `bg`: floor((v * a + bg * (255 - a)) / 255), as libvips flattens 8-bit images. */
export function flattenRgba(rgba: Uint8Array, bg: Rgb): Uint8Array {
  const n = rgba.length >> 2;
  const out = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const a = rgba[j + 3], na = 255 - a, o = i * 3;
    for (let c = 0; c < 3; c++) out[o + c] = a === 255 ? rgba[j + c] : ((rgba[j + c] * a + bg[c] * na) / 255) | 0;
  }
  return out;
}

/**
 * Read only the header: dimensions (after EXIF orientation) and format. Does not notice
 * a truncated body; `decodeImage` does.
 * @throws AugmentError BAD_IMAGE as `decodeImage`.
 */
export async function probeImage(path: string, opts: { limitInputPixels?: number } = {}): Promise<ProbeResult> {
  const limit = opts.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  const info = await stat(path).catch((e) => {
    throw bad(path, fsProblem(e), e);
  });
  if (!info.isFile()) throw bad(path, 'not a file');
  if (info.size === 0) throw bad(path, 'empty file (0 bytes)');
  const png = await probePng(path);
  if (png) {
    checkLimit(path, png.width, png.height, limit);
    return { ...png, format: 'png' };
  }
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw bad(path, sharpProblem(e), e);
  }
  if (!meta.width || !meta.height || !meta.format) throw bad(path, 'no image dimensions in the header');
  checkLimit(path, meta.width, meta.height, limit);
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
    format: meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : meta.format,
  };
}

/**
 * PNG dimensions from the first chunks (~10x cheaper than asking sharp): undefined unless the
 * file starts like a PNG and reaches IDAT without an eXIf chunk (whose orientation sharp
 * would apply).
 */
async function probePng(path: string): Promise<{ width: number; height: number } | undefined> {
  // Synchronous: four syscalls on a local file cost less than one trip through the thread pool.
  const head = Buffer.alloc(4096);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // sharp will word the problem
  }
  const size = pngSize(head.subarray(0, n));
  if (!size || size.width === 0 || size.height === 0) return undefined;
  for (let at = 8; at + 8 <= n; ) {
    const type = head.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') return size;
    if (type === 'eXIf') return undefined;
    at += 12 + head.readUInt32BE(at);
  }
  return undefined; // chunks before IDAT run past what was read
}

async function readSource(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw bad(path, fsProblem(e), e);
  }
}

function checkLimit(name: string, width: number, height: number, limit: number): void {
  if (limit > 0 && width * height > limit) {
    throw bad(name, `image is ${width} x ${height} = ${fmt(width * height)} pixels, over the limit of ${fmt(limit)} (limitInputPixels)`);
  }
}

function checkBackground(bg: Rgb): void {
  if (!Array.isArray(bg) || bg.length !== 3 || bg.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) {
    throw new AugmentError('BAD_ARGUMENT', `Expected [r, g, b] integers 0-255 for background but received ${JSON.stringify(bg)}`);
  }
}

/** Turn a sharp failure into plain words, asking the header for dimensions when useful. */
async function explain(name: string, buf: Buffer, e: unknown, limit: number): Promise<AugmentError> {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) {
    const sharp = await loadSharp();
    const meta = await sharp(buf, { limitInputPixels: false }).metadata().catch(() => undefined);
    if (meta?.width && meta.height) {
      try {
        checkLimit(name, meta.width, meta.height, limit);
      } catch (limitError) {
        return limitError as AugmentError;
      }
    }
  }
  return bad(name, sharpProblem(e), e);
}

function sharpProblem(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/unsupported image format/i.test(msg)) return 'not an image, or a format sharp cannot read';
  if (/empty/i.test(msg)) return 'empty file (0 bytes)';
  if (/pixel limit/i.test(msg)) return 'image is over the pixel limit (limitInputPixels)';
  if (/premature end|truncat|read error|unexpected end|not enough data|incomplete|short read/i.test(msg)) {
    return `truncated or corrupt image data (${msg})`;
  }
  return `cannot decode image (${msg})`;
}

function fsProblem(e: any): string {
  switch (e?.code) {
    case 'ENOENT': return 'file not found';
    case 'EISDIR': return 'not a file (a directory)';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    default: return `cannot read file (${e?.message ?? e})`;
  }
}

function bad(name: string, problem: string, cause?: unknown): AugmentError {
  return new AugmentError('BAD_IMAGE', `${name}: ${problem}`, cause === undefined ? undefined : { cause });
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
