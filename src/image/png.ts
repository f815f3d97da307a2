/**
 * PNG in plain JS over node:zlib: the fast path of the codec.
 *
 * For a 64 px image sharp spends ~1 ms per call on overhead alone, while deflating the
 * 12 KB of pixels takes ~0.05 ms. So augment writes its PNGs itself (8-bit RGB, one row
 * filter per picture, zlib level 1 with Z_RLE: DEFAULT_PNG_ENCODING), and reads the plain PNGs that make up most datasets itself too: 8-bit,
 * non-interlaced, no colour profile, no EXIF. Anything else (16-bit, interlaced, iCCP,
 * gAMA, eXIf, a bad CRC...) makes `decodePngFast` answer `undefined` so the caller falls
 * back to sharp, which also words the errors. Both paths give the same bytes (tested).
 * zlib runs through ./zlib-reuse.ts: one reused zlib stream per thread instead of a new one per
 * file (the same bytes as zlib.deflateSync/inflateSync, which it falls back to).
 */
import * as zlib from 'node:zlib';
import { createRaw, type RawImage, type Rgb } from './raw.ts';
import { deflateReuse, inflateReuse } from './zlib-reuse.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 in JS (for Node < 20.15, which lacks zlib.crc32). */
export function crc32Js(buf: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** CRC-32 as PNG uses it: node's native one where it exists (Node >= 20.15). */
export const crc32: (buf: Uint8Array) => number =
  typeof (zlib as any).crc32 === 'function' ? (buf) => (zlib as any).crc32(buf) >>> 0 : crc32Js;

/**
 * What `encodePng` does when not told: zlib level 1 with the Z_RLE strategy (runs of one byte
 * only, no hash chains) and the 'auto' filter. The cheapest of the encodings measured in
 * scripts/bench-png.ts that still writes fewer bytes than OpenCV's default (Sub, level 1,
 * Z_RLE): ~0.8x its bytes on the sample's icons at 64 and 224 px, for less CPU than level 2.
 */
export const DEFAULT_PNG_ENCODING: Readonly<Required<PngEncoding>> = Object.freeze({ level: 1, strategy: 'rle', filter: 'auto' });
/** The zlib level of DEFAULT_PNG_ENCODING. */
export const DEFAULT_PNG_LEVEL = DEFAULT_PNG_ENCODING.level;

let scratch = new Uint8Array(0);
function scratchOf(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** How `encodePng` compresses: zlib level and strategy, and the row filter. */
export interface PngEncoding {
  /** zlib level 0-9 (default 1). */
  level?: number;
  /**
   * zlib strategy: 'default' (the matcher of `level`), 'rle' (runs only: Z_RLE), 'filtered'.
   * Default 'rle' when no level is given, else 'default' (a level asks for zlib's matcher).
   */
  strategy?: 'default' | 'rle' | 'filtered';
  /**
   * PNG row filter used on every row. 'auto' (the default): 'none' for a flat picture (most
   * pixels repeat their left neighbour: icons, drawings, masks; deflate finds those runs as
   * they are, and the Up differences only make them longer to code), 'up' for the rest
   * (photographs: ~35% smaller than unfiltered). See `flatPicture`.
   */
  filter?: 'auto' | 'up' | 'sub' | 'none';
}

const STRATEGY = { default: zlib.constants.Z_DEFAULT_STRATEGY, rle: zlib.constants.Z_RLE, filtered: zlib.constants.Z_FILTERED } as const;
const FILTER_BYTE = { none: 0, sub: 1, up: 2 } as const;

/**
 * Encode 8-bit RGB to PNG: every row with one filter (see PngEncoding.filter), one IDAT.
 * `encoding` is a PngEncoding, or a zlib level (zlib's own matcher at that level). Without
 * one: DEFAULT_PNG_ENCODING. Deterministic: same pixels and encoding give the same bytes.
 */
export function encodePng(img: RawImage, encoding?: number | PngEncoding): Buffer {
  const e: PngEncoding = encoding === undefined ? DEFAULT_PNG_ENCODING : typeof encoding === 'number' ? { level: encoding } : encoding;
  const level = e.level ?? DEFAULT_PNG_ENCODING.level;
  const strategy = e.strategy ?? (e.level === undefined ? DEFAULT_PNG_ENCODING.strategy : 'default');
  const asked = e.filter ?? 'auto';
  const { width: w, height: h, data } = img;
  const filter = asked === 'auto' ? (flatPicture(img) ? 'none' : 'up') : asked;
  const stride = w * 3;
  const n = h * (stride + 1);
  const rows = filter === 'up' ? upFilter(data, stride) : filter === 'sub' ? subFilter(data, stride) : data;
  const raw = scratchOf(n);
  for (let y = 0; y < h; y++) {
    raw[y * (stride + 1)] = y === 0 && filter === 'up' ? 0 : FILTER_BYTE[filter];
    raw.set(rows.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  // a view of zlib-reuse's scratch until the next deflate: copied into `out` below
  const idat = deflateReuse(raw.subarray(0, n), level, STRATEGY[strategy]);
  const out = Buffer.allocUnsafe(8 + 25 + 12 + idat.length + 12);
  SIGNATURE.copy(out, 0);
  let at = 8;
  at = writeChunkHeader(out, at, 13, 'IHDR');
  out.writeUInt32BE(w, at);
  out.writeUInt32BE(h, at + 4);
  out[at + 8] = 8; // bit depth
  out[at + 9] = 2; // colour type: RGB
  out[at + 10] = 0; // deflate
  out[at + 11] = 0; // adaptive filtering (per-row filter byte)
  out[at + 12] = 0; // no interlace
  at = finishChunk(out, at - 4, 13);
  at = writeChunkHeader(out, at, idat.length, 'IDAT');
  idat.copy(out, at);
  at = finishChunk(out, at - 4, idat.length);
  at = writeChunkHeader(out, at, 0, 'IEND');
  finishChunk(out, at - 4, 0);
  return out;
}

/** Rows `flatPicture` looks at: at most this many, evenly spaced. */
const FLAT_ROWS = 16;

/**
 * Whether at least half of the pixels equal their left neighbour, counted on FLAT_ROWS rows
 * spread evenly over the picture (every row of a picture with fewer; at 64 px every 4th row):
 * the test of encodePng's 'auto' filter. Stops as soon as the answer is known. A function of
 * the pixels alone (deterministic).
 */
export function flatPicture(img: RawImage): boolean {
  const { width: w, height: h, data } = img;
  if (w < 2) return false;
  const stride = w * 3;
  const nRows = Math.min(h, FLAT_ROWS);
  const total = nRows * (w - 1);
  const need = (total + 1) >> 1; // same * 2 >= total
  let same = 0;
  let left = total; // pixels not yet looked at
  for (let k = 0; k < nRows; k++) {
    const row = Math.floor((k * h) / nRows) * stride;
    for (let i = row + 3; i < row + stride; i += 3) {
      if (data[i] === data[i - 3] && data[i + 1] === data[i - 2] && data[i + 2] === data[i - 1]) same++;
    }
    left -= w - 1;
    if (same >= need) return true;
    if (same + left < need) return false;
  }
  return false;
}

let upScratch = new Uint8Array(0);

/**
 * Row differences for the "Up" filter: out[i] = data[i] - data[i - stride] (mod 256), the
 * first row unchanged. Four bytes at a time (SWAR: byte-wise subtraction without borrows
 * between bytes) where the rows are 4-byte aligned, as they are for every width that is a
 * multiple of 4.
 */
function upFilter(data: Uint8Array, stride: number): Uint8Array {
  const n = data.length;
  if (upScratch.length < n + 4) upScratch = new Uint8Array(Math.max(n + 4, upScratch.length * 2));
  const out = upScratch;
  out.set(data.subarray(0, Math.min(stride, n)), 0);
  if (stride % 4 === 0 && data.byteOffset % 4 === 0) {
    const words = n >> 2, s4 = stride >> 2;
    const a = new Uint32Array(data.buffer, data.byteOffset, words);
    const o = new Uint32Array(out.buffer, 0, words);
    for (let i = s4; i < words; i++) {
      const x = a[i], y = a[i - s4];
      o[i] = ((x | 0x80808080) - (y & 0x7f7f7f7f)) ^ ((x ^ ~y) & 0x80808080);
    }
    for (let i = words << 2; i < n; i++) out[i] = data[i] - data[i - stride];
  } else {
    for (let i = stride; i < n; i++) out[i] = data[i] - data[i - stride];
  }
  return out;
}

let subScratch = new Uint8Array(0);

/** Row differences for the "Sub" filter: out[i] = data[i] - data[i - 3] within each row. */
function subFilter(data: Uint8Array, stride: number): Uint8Array {
  const bpp = 3;
  const n = data.length;
  if (subScratch.length < n) subScratch = new Uint8Array(Math.max(n, subScratch.length * 2));
  const out = subScratch;
  for (let r = 0; r < n; r += stride) {
    for (let i = r; i < r + bpp && i < n; i++) out[i] = data[i];
    for (let i = r + bpp; i < r + stride; i++) out[i] = data[i] - data[i - bpp];
  }
  return out;
}

function writeChunkHeader(out: Buffer, at: number, length: number, type: string): number {
  out.writeUInt32BE(length, at);
  out.write(type, at + 4, 'latin1');
  return at + 8;
}

/** Write the CRC of the chunk whose type starts at `typeAt`; returns the offset after it. */
function finishChunk(out: Buffer, typeAt: number, length: number): number {
  const end = typeAt + 4 + length;
  out.writeUInt32BE(crc32(out.subarray(typeAt, end)), end);
  return end + 4;
}

/** Width and height from a PNG header, or undefined when `buf` does not start like a PNG. */
export function pngSize(buf: Uint8Array): { width: number; height: number } | undefined {
  if (buf.length < 24 || !startsWithSignature(buf)) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(12) !== 0x49484452) return undefined; // IHDR
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

function startsWithSignature(buf: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (buf[i] !== SIGNATURE[i]) return false;
  return true;
}

/**
 * Whether `buf` is a PNG that augment may keep as it is for an output of the same pixels:
 * 8-bit RGB (colour type 2), not interlaced, made of IHDR, IDAT, IEND and at most a pHYs
 * (what libvips writes), nothing after IEND. It says nothing about the data: only a file that
 * `decodePngFast` also decoded (every CRC, the inflated size) qualifies (see
 * ./decode.ts `decodeSourceReadSync`).
 */
export function plainRgbPng(buf: Uint8Array): boolean {
  if (buf.length < 57 || !startsWithSignature(buf)) return false;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 8;
  let first = true;
  while (at + 12 <= buf.length) {
    const len = v.getUint32(at);
    const type = v.getUint32(at + 4);
    const end = at + 12 + len;
    if (end > buf.length) return false;
    if (first) {
      // IHDR: 8-bit, colour type 2, deflate, filter method 0, no interlace
      if (type !== 0x49484452 || len !== 13 || buf[at + 16] !== 8 || buf[at + 17] !== 2 || buf[at + 18] !== 0 || buf[at + 19] !== 0 || buf[at + 20] !== 0) return false;
      first = false;
    } else if (type === 0x49454e44) return len === 0 && end === buf.length; // IEND, last
    else if (type !== 0x49444154 && type !== 0x70485973) return false; // IDAT, pHYs
    at = end;
  }
  return false;
}

// Ancillary chunks that change how pixels must be read: leave those files to sharp.
const NEEDS_SHARP = new Set(['iCCP', 'gAMA', 'cHRM', 'eXIf', 'sBIT']);

/**
 * Decode a plain 8-bit PNG to RGB, flattening any alpha (alpha channel or tRNS) onto
 * `background` exactly as sharp/libvips does: `floor((v * a + bg * (255 - a)) / 255)`.
 * Returns undefined for anything it does not handle; never throws on bad data.
 */
export function decodePngFast(buf: Uint8Array, background: Rgb): RawImage | undefined {
  try {
    return decode(buf, background);
  } catch {
    return undefined;
  }
}

function decode(buf: Uint8Array, background: Rgb): RawImage | undefined {
  if (buf.length < 57 || !startsWithSignature(buf)) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 8;
  let w = 0, h = 0, colourType = -1;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (at + 12 <= buf.length) {
    const len = v.getUint32(at);
    const typeAt = at + 4;
    const dataAt = at + 8;
    const end = dataAt + len;
    if (end + 4 > buf.length) return undefined; // truncated
    const type = String.fromCharCode(buf[typeAt], buf[typeAt + 1], buf[typeAt + 2], buf[typeAt + 3]);
    if (crc32(buf.subarray(typeAt, end)) !== v.getUint32(end)) return undefined;
    const body = buf.subarray(dataAt, end);
    if (type === 'IHDR') {
      if (len !== 13) return undefined;
      w = v.getUint32(dataAt);
      h = v.getUint32(dataAt + 4);
      const depth = body[8];
      colourType = body[9];
      if (depth !== 8 || body[10] !== 0 || body[11] !== 0 || body[12] !== 0) return undefined;
      if (![0, 2, 3, 4, 6].includes(colourType) || w === 0 || h === 0) return undefined;
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') {
      ended = true;
      break;
    } else if (NEEDS_SHARP.has(type) || (buf[typeAt] & 0x20) === 0) return undefined; // unknown critical chunk
    at = end + 4;
  }
  if (!ended || w === 0 || idat.length === 0) return undefined;
  if (colourType === 3 && !palette) return undefined;
  if (trns && colourType !== 3) return undefined; // colour-key transparency: rare, left to sharp
  const bpp = [1, 0, 3, 1, 2, 0, 4][colourType];
  const stride = w * bpp;
  const expected = h * (stride + 1);
  const z = idat.length === 1 ? idat[0] : Buffer.concat(idat);
  // throws on a corrupt or truncated stream, or past expected + 1 bytes: undefined (see decodePngFast)
  const raw = inflateReuse(z, expected + 1, expected);
  if (raw.length !== expected) return undefined;
  if (!unfilter(raw, w, h, bpp)) return undefined;
  return toRgb(raw, w, h, bpp, colourType, palette, trns, background);
}

/** In-place PNG unfiltering; rows stay at their filtered offsets (1 + y * (stride + 1)). */
function unfilter(raw: Uint8Array, w: number, h: number, bpp: number): boolean {
  const stride = w * bpp;
  for (let y = 0; y < h; y++) {
    const o = y * (stride + 1) + 1;
    const p = o - stride - 1; // previous row's first byte (invalid when y === 0)
    const f = raw[o - 1];
    if (f === 0) continue;
    if (f === 1) {
      for (let i = bpp; i < stride; i++) raw[o + i] += raw[o + i - bpp];
    } else if (f === 2) {
      if (y > 0) for (let i = 0; i < stride; i++) raw[o + i] += raw[p + i];
    } else if (f === 3) {
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? raw[o + i - bpp] : 0;
        const b = y > 0 ? raw[p + i] : 0;
        raw[o + i] += (a + b) >> 1;
      }
    } else if (f === 4) {
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? raw[o + i - bpp] : 0;
        const b = y > 0 ? raw[p + i] : 0;
        const c = i >= bpp && y > 0 ? raw[p + i - bpp] : 0;
        const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
        raw[o + i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
    } else return false;
  }
  return true;
}

function toRgb(
  raw: Uint8Array, w: number, h: number, bpp: number, colourType: number,
  palette: Uint8Array | undefined, trns: Uint8Array | undefined, bg: Rgb,
): RawImage {
  const stride = w * bpp;
  if (colourType === 2) {
    // RGB already: move each row down over the filter bytes, in the inflated buffer itself
    // (this function's own: no image-sized allocation or second copy)
    for (let y = 0; y < h; y++) raw.copyWithin(y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
    return createRaw(w, h, new Uint8Array(raw.buffer, raw.byteOffset, h * stride));
  }
  const out = new Uint8Array(w * h * 3);
  const [br, bgc, bb] = bg;
  let q = 0;
  for (let y = 0; y < h; y++) {
    let i = y * (stride + 1) + 1;
    for (let x = 0; x < w; x++, i += bpp, q += 3) {
      let r: number, g: number, b: number, a = 255;
      if (colourType === 6) {
        r = raw[i]; g = raw[i + 1]; b = raw[i + 2]; a = raw[i + 3];
      } else if (colourType === 3) {
        const k = raw[i];
        if (k * 3 + 2 >= palette!.length) throw new Error('palette index out of range');
        r = palette![k * 3]; g = palette![k * 3 + 1]; b = palette![k * 3 + 2];
        if (trns && k < trns.length) a = trns[k];
      } else if (colourType === 0) {
        r = g = b = raw[i];
      } else {
        r = g = b = raw[i];
        a = raw[i + 1];
      }
      if (a === 255) {
        out[q] = r; out[q + 1] = g; out[q + 2] = b;
      } else {
        const na = 255 - a;
        out[q] = ((r * a + br * na) / 255) | 0;
        out[q + 1] = ((g * a + bgc * na) / 255) | 0;
        out[q + 2] = ((b * a + bb * na) / 255) | 0;
      }
    }
  }
  return createRaw(w, h, out);
}
