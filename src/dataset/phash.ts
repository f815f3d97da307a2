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
import { phashNative, type PhashTables } from '../ops/native.ts';

const N = 32;
const K = 8;

export function pixelHash(img: RawImage): string {
  return createHash('sha256').update(`${img.width}x${img.height}:`).update(img.data).digest('hex').slice(0, 24);
}

/**
 * Grey (ITU-R 601 luma, as PIL's "L") resampled to 32 x 32 by area averaging.
 *
 * One pass over the pixels, nothing of the image's size allocated: each source row's grey
 * values are resampled to 32 columns as the row is read, and that row's share goes straight
 * into the output rows it covers. Every output value is the same sum, in the same order, as the
 * two-pass form (grey image, then rows, then columns): cell (Y, x) = sum over its source rows y,
 * increasing, of w_Y(y) * (sum over its source columns i, increasing, of w_x(i) * grey(y, i)),
 * each sum from 0, each grey r * 0.299 + g * 0.587 + b * 0.114. So the bits are the same.
 */
export function greyThumbnail(img: RawImage): Float64Array {
  const { width: w, height: h, data } = img;
  const xw = areaWeights(w);
  const yw = areaWeights(h);
  const xStart = xw.start;
  const xIndex = xw.index;
  const xWeight = xw.weight;
  const out = new Float64Array(N * N);
  const row = rowScratch; // this source row resampled to N columns
  // the output rows (and weights) each source row goes into, in increasing source row order
  const into = yw.byIndex;
  const m = xw.uniform;
  const wm = xWeight[0];
  for (let y = 0; y < h; y++) {
    const base = y * w * 3;
    if (m > 0)
      // every cell: the next m columns, each of weight wm (the same terms as below), four cells
      // at a time (four sums in flight, each in its own order)
      for (let x = 0; x < N; x += 4) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        const step = m * 3;
        for (let t = 0, j = base + x * step; t < m; t++, j += 3) {
          s0 += (data[j] * 0.299 + data[j + 1] * 0.587 + data[j + 2] * 0.114) * wm;
          const j1 = j + step;
          s1 += (data[j1] * 0.299 + data[j1 + 1] * 0.587 + data[j1 + 2] * 0.114) * wm;
          const j2 = j1 + step;
          s2 += (data[j2] * 0.299 + data[j2 + 1] * 0.587 + data[j2 + 2] * 0.114) * wm;
          const j3 = j2 + step;
          s3 += (data[j3] * 0.299 + data[j3 + 1] * 0.587 + data[j3 + 2] * 0.114) * wm;
        }
        row[x] = s0;
        row[x + 1] = s1;
        row[x + 2] = s2;
        row[x + 3] = s3;
      }
    else
      for (let x = 0; x < N; x++) {
        let s = 0;
        // a cell's source columns are consecutive (areaWeights): step through them
        for (let k = xStart[x], end = xStart[x + 1], j = base + xIndex[k] * 3; k < end; k++, j += 3)
          s += (data[j] * 0.299 + data[j + 1] * 0.587 + data[j + 2] * 0.114) * xWeight[k];
        row[x] = s;
      }
    for (let e = into.start[y], end = into.start[y + 1]; e < end; e++) {
      const o = into.cell[e] * N;
      const wt = into.weight[e];
      for (let x = 0; x < N; x++) out[o + x] += row[x] * wt;
    }
  }
  return out;
}

const rowScratch = new Float64Array(N);

/**
 * For each of the N output cells of a side of `n` pixels, the source indices it covers (consecutive)
 * and their weights (summing to 1), flat: cell k is entries start[k] .. start[k + 1] - 1. Kept per size
 * (a dataset has few), in the order the sums add them, so every hash is the same bit for bit.
 * `byIndex` is the same pairs the other way round: for source index i, the cells it is in, as
 * entries byIndex.start[i] .. byIndex.start[i + 1] - 1, in increasing cell order.
 */
interface AreaWeights {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
  byIndex: { start: Int32Array; cell: Int32Array; weight: Float64Array };
  /** m when cell k is exactly indices k * m .. k * m + m - 1, all of one weight (n a multiple of 32); else 0. */
  uniform: number;
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
  // a, b and so every cover are multiples of 1/32: no cover is dropped, each cell's indices are consecutive
  for (let k = 0; k < N; k++)
    for (let e = start[k] + 1; e < start[k + 1]; e++) if (index[e] !== index[e - 1] + 1) throw new Error(`area weights of ${n}: cell ${k} is not consecutive`);
  // the inverse: per source index, its (cell, weight) pairs; cells increase along `index`'s order
  const count = new Int32Array(n + 1);
  for (const i of index) count[i + 1]++;
  for (let i = 0; i < n; i++) count[i + 1] += count[i];
  const at = count.slice(0, n);
  const cell = new Int32Array(index.length);
  const byWeight = new Float64Array(index.length);
  for (let k = 0; k < N; k++)
    for (let e = start[k]; e < start[k + 1]; e++) {
      const p = at[index[e]]++;
      cell[p] = k;
      byWeight[p] = weight[e];
    }
  const m = n % N === 0 ? n / N : 0;
  let uniform = m;
  for (let k = 0; k < N && uniform; k++)
    if (start[k + 1] - start[k] !== m || index[start[k]] !== k * m) uniform = 0;
  if (!weight.every((v) => v === weight[0])) uniform = 0;
  const w: AreaWeights = { start, index: Int32Array.from(index), weight: Float64Array.from(weight), byIndex: { start: count, cell, weight: byWeight }, uniform };
  if (weightsBySize.size > 64) weightsBySize.clear(); // sizes vary without bound in a photo dataset
  weightsBySize.set(n, w);
  return w;
}

const COS = (() => {
  const c = new Float64Array(K * N);
  for (let u = 0; u < K; u++) for (let x = 0; x < N; x++) c[u * N + x] = Math.cos((Math.PI * (2 * x + 1) * u) / (2 * N));
  return c;
})();

const dctScratch = new Float64Array(K * N);

/**
 * The 8 x 8 lowest DCT-II coefficients of a 32 x 32 picture, D[u * 8 + v] (u: vertical frequency).
 * Each sum runs from 0 in increasing index order (over y, then over x), four of them at a time.
 */
export function lowDct(g: Float64Array): Float64Array {
  const tmp = dctScratch; // tmp[u][x] = sum_y cos_u(y) g[y][x]
  for (let u = 0; u < K; u++) {
    const cu = u * N;
    for (let x = 0; x < N; x += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let y = 0, i = x; y < N; y++, i += N) {
        const c = COS[cu + y];
        s0 += c * g[i];
        s1 += c * g[i + 1];
        s2 += c * g[i + 2];
        s3 += c * g[i + 3];
      }
      tmp[cu + x] = s0;
      tmp[cu + x + 1] = s1;
      tmp[cu + x + 2] = s2;
      tmp[cu + x + 3] = s3;
    }
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

const selectScratch = new Float64Array(K * K - 1);

/**
 * The median of t[1..63] (the non-DC coefficients): the 32nd smallest, found by quickselect.
 * It is a value equal to what sorting would put there (-0 and +0, which sorting orders, compare
 * the same in `bitsOf`).
 */
function medianOf(t: Float64Array): number {
  const a = selectScratch;
  for (let i = 0; i < a.length; i++) a[i] = t[i + 1];
  const k = 31;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const x = a[i];
        a[i++] = a[j];
        a[j--] = x;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]; // between the two parts: equal to the pivot
  }
  return a[k];
}

function bitsOf(d: Float64Array, median: number): string {
  let hex = '';
  for (let nib = 0; nib < 16; nib++) {
    const i = nib * 4;
    hex += HEX[(d[i] >= median ? 8 : 0) | (d[i + 1] >= median ? 4 : 0) | (d[i + 2] >= median ? 2 : 0) | (d[i + 3] >= median ? 1 : 0)];
  }
  return hex;
}

/** Sign of coefficient (u, v) under each flip, as SIGN[f * 64 + u * 8 + v]: f = 0 none, 1 mirror columns (-1 on odd v), 2 mirror rows (odd u), 3 both. */
const SIGN = (() => {
  const s = new Float64Array(4 * K * K);
  for (let f = 0; f < 4; f++)
    for (let u = 0; u < K; u++) for (let v = 0; v < K; v++) s[f * K * K + u * K + v] = (f & 2 && u & 1 ? -1 : 1) * (f & 1 && v & 1 ? -1 : 1);
  return s;
})();
const flipped = new Float64Array(K * K);
const medians = new Float64Array(4);

/**
 * The 8 dihedral pHashes (identity first), concatenated: 128 hex digits. In order: the 4 flips
 * (none, columns, rows, both) of the DCT, then the same 4 of its transpose. Computed by the
 * compiled kernel (../ops/native.ts `phashNative`: ops.c `phash`, the same f64 sums in the same
 * order, so the same bits) where it loads, else by `perceptualHashJs`.
 */
export function perceptualHash(img: RawImage): string {
  return phashNative(img, phashTables(img.width, img.height)) ?? perceptualHashJs(img);
}

let lastTables: { w: number; h: number; t: PhashTables } | undefined;

/** The area weights of a w x h image (and the cosines) as `phashNative` takes them. */
function phashTables(w: number, h: number): PhashTables {
  if (lastTables && lastTables.w === w && lastTables.h === h) return lastTables.t;
  const x = areaWeights(w);
  const y = areaWeights(h).byIndex;
  const t: PhashTables = { xStart: x.start, xIndex: x.index, xWeight: x.weight, yStart: y.start, yCell: y.cell, yWeight: y.weight, cos: COS };
  lastTables = { w, h, t };
  return t;
}

/**
 * `perceptualHash` in JS (where the compiled kernel cannot load). A transpose holds the same 64
 * values as its untransposed flip with rows and columns swapped (1 <-> 2), the DC term staying
 * first, so 4 medians serve all 8 hashes.
 */
export function perceptualHashJs(img: RawImage): string {
  const d = lowDct(greyThumbnail(img));
  for (let f = 0; f < 4; f++) {
    for (let i = 0; i < K * K; i++) flipped[i] = SIGN[f * K * K + i] * d[i];
    medians[f] = medianOf(flipped);
  }
  let out = '';
  for (let transpose = 0; transpose < 2; transpose++)
    for (let f = 0; f < 4; f++) {
      for (let u = 0; u < K; u++)
        for (let v = 0; v < K; v++) flipped[u * K + v] = SIGN[f * K * K + u * K + v] * (transpose ? d[v * K + u] : d[u * K + v]);
      out += bitsOf(flipped, medians[transpose && (f === 1 || f === 2) ? 3 - f : f]);
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
