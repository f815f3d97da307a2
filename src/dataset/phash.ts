/**
 * Content fingerprints of a decoded image, computed once per file when the source is scanned:
 *
 * - `pixelHash`: SHA-256 (first 96 bits, hex) of the size and the decoded 8-bit RGB pixels.
 *   Equal values = the same picture, whatever the file name, folder or encoding (a PNG and a
 *   lossless WebP of one picture are equal; a JPEG re-encode is not: that is a near duplicate).
 * - `perceptualHash`: pHash as imagededup and imagehash compute it (grey, 32 x 32, 2-D DCT-II,
 *   the 8 x 8 lowest frequencies, each bit = coefficient >= the median of the 63 non-DC ones),
 *   for the image and its 7 other flips and 90-degree rotations (the dihedral group). A flip or
 *   a rotation of the picture permutes and negates DCT coefficients exactly (mirroring x
 *   multiplies column v by (-1)^v; a transpose swaps u and v), so all 8 hashes come from one
 *   DCT. Stored as 8 x 16 hex digits, the untransformed one first.
 *
 * `nearDistance(a, b)` is the fewest differing bits between one image's own hash and any of the
 * other's 8, both ways round: 0 for b = a flipped or rotated by 90 degrees (up to resampling),
 * about 32 for unrelated images.
 */
import { createHash } from 'node:crypto';
import type { RawImage } from '../image/raw.ts';

const N = 32;
const K = 8;

export function pixelHash(img: RawImage): string {
  return createHash('sha256').update(`${img.width}x${img.height}:`).update(img.data).digest('hex').slice(0, 24);
}

/** Grey (ITU-R 601 luma, as PIL's "L") resampled to 32 x 32 by area averaging. */
export function greyThumbnail(img: RawImage): Float64Array {
  const { width: w, height: h, data } = img;
  const grey = new Float64Array(w * h);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) grey[i] = data[j] * 0.299 + data[j + 1] * 0.587 + data[j + 2] * 0.114;
  const xw = areaWeights(w);
  const yw = areaWeights(h);
  const rows = new Float64Array(h * N); // each source row resampled to N columns
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < N; x++) {
      let s = 0;
      for (let k = xw.start[x], end = xw.start[x + 1]; k < end; k++) s += grey[row + xw.index[k]] * xw.weight[k];
      rows[y * N + x] = s;
    }
  }
  const out = new Float64Array(N * N);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      let s = 0;
      for (let k = yw.start[y], end = yw.start[y + 1]; k < end; k++) s += rows[yw.index[k] * N + x] * yw.weight[k];
      out[y * N + x] = s;
    }
  return out;
}

/**
 * For each of the N output cells of a side of `n` pixels, the source indices it covers and their
 * weights (summing to 1), flat: cell k is entries start[k] .. start[k + 1] - 1. Kept per size
 * (a dataset has few), in the order the sums add them, so every hash is the same bit for bit.
 */
interface AreaWeights {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}
const weightsBySize = new Map<number, AreaWeights>();

function areaWeights(n: number): AreaWeights {
  const known = weightsBySize.get(n);
  if (known) return known;
  const start = new Int32Array(N + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let k = 0; k < N; k++) {
    start[k] = index.length;
    const a = (k * n) / N;
    const b = ((k + 1) * n) / N;
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const cover = Math.min(b, i + 1) - Math.max(a, i);
      if (cover > 1e-12) {
        index.push(i);
        weight.push(cover / (b - a));
      }
    }
  }
  start[N] = index.length;
  const w: AreaWeights = { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
  if (weightsBySize.size > 64) weightsBySize.clear(); // sizes vary without bound in a photo dataset
  weightsBySize.set(n, w);
  return w;
}

const COS = (() => {
  const c = new Float64Array(K * N);
  for (let u = 0; u < K; u++) for (let x = 0; x < N; x++) c[u * N + x] = Math.cos((Math.PI * (2 * x + 1) * u) / (2 * N));
  return c;
})();

/** The 8 x 8 lowest DCT-II coefficients of a 32 x 32 picture, D[u * 8 + v] (u: vertical frequency). */
export function lowDct(g: Float64Array): Float64Array {
  const tmp = new Float64Array(K * N); // tmp[u][x] = sum_y cos_u(y) g[y][x]
  for (let u = 0; u < K; u++)
    for (let y = 0; y < N; y++) {
      const c = COS[u * N + y];
      for (let x = 0; x < N; x++) tmp[u * N + x] += c * g[y * N + x];
    }
  const d = new Float64Array(K * K);
  for (let u = 0; u < K; u++)
    for (let v = 0; v < K; v++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += COS[v * N + x] * tmp[u * N + x];
      d[u * K + v] = s;
    }
  return d;
}

const HEX = '0123456789abcdef';

function bitsOf(d: Float64Array): string {
  // A typed array sorts numerically, natively: the same order as sort((a, b) => a - b) but
  // for -0 before +0, which compare the same below.
  const median = d.slice(1).sort()[31]; // of 63 values
  let hex = '';
  for (let nib = 0; nib < 16; nib++) {
    let v = 0;
    for (let b = 0; b < 4; b++) v = (v << 1) | (d[nib * 4 + b] >= median ? 1 : 0);
    hex += HEX[v];
  }
  return hex;
}

/** The 8 dihedral pHashes (identity first), concatenated: 128 hex digits. */
export function perceptualHash(img: RawImage): string {
  const d = lowDct(greyThumbnail(img));
  let out = '';
  for (const transpose of [false, true])
    for (const [su, sv] of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) {
      const t = new Float64Array(K * K);
      for (let u = 0; u < K; u++)
        for (let v = 0; v < K; v++) t[u * K + v] = (su === -1 && u & 1 ? -1 : 1) * (sv === -1 && v & 1 ? -1 : 1) * (transpose ? d[v * K + u] : d[u * K + v]);
      out += bitsOf(t);
    }
  return out;
}

/** A perceptual hash as 16 uint32 words (8 hashes x [high, low]), for fast comparison. */
export function hashWords(phash: string): Uint32Array {
  const w = new Uint32Array(16);
  for (let i = 0; i < 16; i++) w[i] = parseInt(phash.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return w;
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Fewest differing bits between one's own hash and any of the other's 8 flips and rotations, both ways round. */
export function nearDistance(a: Uint32Array, b: Uint32Array): number {
  const oneWay = (x: Uint32Array, y: Uint32Array) => {
    let best = 64;
    for (let s = 0; s < 16; s += 2) best = Math.min(best, popcount32(x[0] ^ y[s]) + popcount32(x[1] ^ y[s + 1]));
    return best;
  };
  return Math.min(oneWay(a, b), oneWay(b, a));
}
