/**
 * Projective warping: the one resampling pass behind rotate, affine, perspective and the
 * flips, alone or fused.
 *
 * Maps are 3x3 row-major inverse maps (output pixel -> input pixel) in pixel-index
 * coordinates (pixel (0, 0) is the centre of the top-left pixel). `warp(img, maps)` takes
 * the maps of consecutive ops in the order the ops apply and resamples the source once
 * through their product, while still honouring every intermediate canvas: an output pixel
 * whose position fell outside the canvas at an intermediate step gets the fill colour,
 * as it would have done had the ops run one by one. Fusion therefore equals sequential
 * application except for resampling error (one interpolation in place of several).
 */
import { createRaw, type RawImage, type Rgb } from '../image/raw.ts';
import { warpNative, warpStep, type NativeStep } from './native.ts';
import { warpWasm } from './wasm.ts';

export type Mat3 = number[];
export type Interpolation = 'nearest' | 'bilinear';

export const IDENTITY: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** a * b (apply b first, then a, to a column vector). */
export function mul(a: Mat3, b: Mat3): Mat3 {
  const r = new Array<number>(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  }
  return r;
}

export function apply(m: Mat3, x: number, y: number): [number, number] {
  const z = m[6] * x + m[7] * y + m[8];
  return [(m[0] * x + m[1] * y + m[2]) / z, (m[3] * x + m[4] * y + m[5]) / z];
}

export function isIdentity(m: Mat3): boolean {
  return m.every((v, i) => v === IDENTITY[i]);
}

/** cos and sin of `deg` degrees, exact (0, +-1) at multiples of 90 so quarter turns stay exact. */
export function cosSin(deg: number): [number, number] {
  const q = deg / 90;
  if (Number.isInteger(q)) {
    const k = ((q % 4) + 4) % 4;
    return [[1, 0], [0, 1], [-1, 0], [0, -1]][k] as [number, number];
  }
  const r = (deg * Math.PI) / 180;
  return [Math.cos(r), Math.sin(r)];
}

/**
 * Inverse map of a linear transform `lin` (2x2, output offsets -> input offsets) about the
 * image centre ((w-1)/2, (h-1)/2), with the output translated by (tx, ty) pixels first.
 */
export function aboutCentre(lin: [number, number, number, number], w: number, h: number, tx = 0, ty = 0): Mat3 {
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  const [a, b, c, d] = lin;
  // input = lin * (p - centre - t) + centre
  return [a, b, cx - a * (cx + tx) - b * (cy + ty), c, d, cy - c * (cx + tx) - d * (cy + ty), 0, 0, 1];
}

/**
 * The homography that maps each `from[i]` to `to[i]` (four point pairs, no three collinear),
 * by solving the 8x8 linear system with partial pivoting.
 */
export function homography(from: ReadonlyArray<readonly [number, number]>, to: ReadonlyArray<readonly [number, number]>): Mat3 {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i];
    const [u, v] = to[i];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let piv = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(A[r][col]) > Math.abs(A[piv][col])) piv = r;
    if (Math.abs(A[piv][col]) < 1e-12) throw new Error('degenerate quadrilateral: no homography');
    [A[col], A[piv]] = [A[piv], A[col]];
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      if (f !== 0) for (let c = col; c < 9; c++) A[r][c] -= f * A[col][c];
    }
  }
  const h = A.map((row, i) => row[8] / row[i]);
  return [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1];
}

/** True when every pixel of a w x h output lands inside a w x h canvas under `m`. */
function coversCanvas(m: Mat3, w: number, h: number): boolean {
  for (const [x, y] of [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]]) {
    const z = m[6] * x + m[7] * y + m[8];
    if (!(z > 0)) return false;
    const [u, v] = apply(m, x, y);
    if (!(u >= -0.5 && u < w - 0.5 && v >= -0.5 && v < h - 0.5)) return false;
  }
  return true; // the canvas is convex and so is its image under a map with z > 0
}

const isAffine = (m: Mat3) => m[6] === 0 && m[7] === 0 && m[8] === 1;

/**
 * Resample `img` through `maps` (inverse maps of consecutive ops, in the order the ops
 * apply; each same-size canvas). Pixels that fall outside the source, or outside an
 * intermediate canvas, get `fill`; bilinear blends towards `fill` across the border.
 */
export function warp(img: RawImage, maps: readonly Mat3[], interpolation: Interpolation, fill: Rgb): RawImage {
  const plan = warpPlan(img.width, img.height, maps, interpolation);
  if (plan.kind === 'copy') return createRaw(img.width, img.height, img.data.slice());
  if (plan.kind === 'checked') return warpChecked(img, plan.sample, plan.checks, interpolation, fill);
  const { sample, spans } = plan;
  const bilinear = interpolation === 'bilinear';
  return warpNative(img, sample, spans, bilinear, fill) ?? warpWasm(img, sample, spans, bilinear, fill) ?? resampleJs(img, sample, spans, interpolation, fill);
}

/** The fused warp as a compiled step (`./native.ts`); undefined where it is a plain copy or needs the per-pixel checks. */
export function warpNativeStep(w: number, h: number, maps: readonly Mat3[], interpolation: Interpolation, fill: Rgb): NativeStep | undefined {
  const plan = warpPlan(w, h, maps, interpolation);
  return plan.kind === 'spans' ? warpStep(plan.sample, plan.spans, interpolation === 'bilinear', fill, w) : undefined;
}

type WarpPlan =
  | { kind: 'copy' }
  | { kind: 'checked'; sample: Mat3; checks: Mat3[] }
  | { kind: 'spans'; sample: Mat3; spans: Int32Array };

/**
 * How to resample a w x h image through `maps`: a copy (identity, nearest), per-pixel checks
 * (some intermediate canvas bound is projective), or the sample map with each row's span of
 * pixels inside every intermediate canvas.
 */
function warpPlan(w: number, h: number, maps: readonly Mat3[], interpolation: Interpolation): WarpPlan {
  // composite[k] maps an output pixel to the canvas the k-th op read from.
  const composite: Mat3[] = new Array(maps.length);
  let acc = IDENTITY;
  for (let k = maps.length - 1; k >= 0; k--) composite[k] = acc = mul(maps[k], acc);
  const sample = composite[0];
  const checks = composite.slice(1).filter((m) => !coversCanvas(m, w, h));
  if (checks.length === 0 && isIdentity(sample) && interpolation === 'nearest') return { kind: 'copy' };
  if (checks.some((m) => !isAffine(m))) return { kind: 'checked', sample, checks };
  // Every intermediate canvas bound is affine: each row's valid pixels are one span.
  const spans = new Int32Array(2 * h);
  const span = new Int32Array(2);
  for (let y = 0; y < h; y++) {
    let xs = 0, xe = w;
    for (const m of checks) {
      rowSpan(m, y, w, h, span);
      if (span[0] > xs) xs = span[0];
      if (span[1] < xe) xe = span[1];
    }
    spans[2 * y] = xs;
    spans[2 * y + 1] = Math.max(xs, xe);
  }
  return { kind: 'spans', sample, spans };
}

/**
 * Resample through inverse map `m`, row y's pixels outside [spans[2y], spans[2y+1]) being
 * `fill`: the JS loops (the fallback; `warpWasm` in `./wasm.ts` does the same arithmetic).
 */
export function resampleJs(img: RawImage, m: Mat3, spans: Int32Array, interpolation: Interpolation, fill: Rgb): RawImage {
  const { width: w, height: h } = img;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const xs = spans[2 * y], xe = spans[2 * y + 1];
    fillRow(out, y * w, 0, xs, fill);
    fillRow(out, y * w, xe, w, fill);
    if (interpolation === 'nearest') sampleRowNearest(img, out, m, y, xs, xe, fill);
    else sampleRowBilinear(img, out, m, y, xs, xe, fill);
  }
  return createRaw(w, h, out);
}

/** The general path: some intermediate map is projective, so each pixel is tested. */
function warpChecked(img: RawImage, m: Mat3, checks: Mat3[], interpolation: Interpolation, fill: Rgb): RawImage {
  const { width: w, height: h } = img;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ok = true;
      for (const c of checks) {
        const z = c[6] * x + c[7] * y + c[8];
        const u = (c[0] * x + c[1] * y + c[2]) / z, v = (c[3] * x + c[4] * y + c[5]) / z;
        if (!(z > 0 && u >= -0.5 && u < w - 0.5 && v >= -0.5 && v < h - 0.5)) {
          ok = false;
          break;
        }
      }
      if (!ok) fillRow(out, y * w, x, x + 1, fill);
      else if (interpolation === 'nearest') sampleRowNearest(img, out, m, y, x, x + 1, fill);
      else sampleRowBilinear(img, out, m, y, x, x + 1, fill);
    }
  }
  return createRaw(w, h, out);
}

const insideAt = (m: Mat3, x: number, y: number, w: number, h: number) => {
  const u = m[0] * x + m[1] * y + m[2];
  const v = m[3] * x + m[4] * y + m[5];
  return u >= -0.5 && u < w - 0.5 && v >= -0.5 && v < h - 0.5;
};

/** Narrow [span[0], span[1]) to the x with -0.5 <= a*x + b < max - 0.5 (a closure-free helper of rowSpan). */
function limit(span: Int32Array, a: number, b: number, max: number): void {
  if (a === 0) {
    if (!(b >= -0.5 && b < max - 0.5)) span[1] = span[0];
    return;
  }
  const t0 = (-0.5 - b) / a, t1 = (max - 0.5 - b) / a;
  const from = a > 0 ? Math.ceil(t0) : Math.floor(t1) + 1;
  const to = a > 0 ? Math.ceil(t1) : Math.floor(t0) + 1;
  if (from > span[0]) span[0] = from;
  if (to < span[1]) span[1] = to;
}

/**
 * The pixels [span[0], span[1]) of row y that an affine map sends inside a w x h canvas
 * (a nearest-neighbour read there stays in bounds). Solved per constraint, then the ends are
 * settled with the same arithmetic as a per-pixel test, so no rounding can disagree.
 */
function rowSpan(m: Mat3, y: number, w: number, h: number, span: Int32Array): void {
  span[0] = 0;
  span[1] = w;
  limit(span, m[0], m[1] * y + m[2], w);
  limit(span, m[3], m[4] * y + m[5], h);
  let lo = span[0], hi = span[1];
  lo = Math.max(0, Math.min(lo, w));
  hi = Math.max(lo, Math.min(hi, w));
  if (lo === hi) {
    // Empty as solved; a pixel right at the edge may still test inside.
    if (lo < w && insideAt(m, lo, y, w, h)) hi = lo + 1;
    else if (lo > 0 && insideAt(m, lo - 1, y, w, h)) hi = lo--;
  }
  while (lo < hi && !insideAt(m, lo, y, w, h)) lo++;
  while (hi > lo && !insideAt(m, hi - 1, y, w, h)) hi--;
  if (lo < hi) {
    while (lo > 0 && insideAt(m, lo - 1, y, w, h)) lo--;
    while (hi < w && insideAt(m, hi, y, w, h)) hi++;
  }
  span[0] = lo;
  span[1] = hi;
}

function fillRow(out: Uint8Array, rowPixel: number, from: number, to: number, fill: Rgb): void {
  const [r, g, b] = fill;
  for (let x = from, o = (rowPixel + from) * 3; x < to; x++, o += 3) {
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
}

function sampleRowNearest(img: RawImage, out: Uint8Array, m: Mat3, y: number, xs: number, xe: number, fill: Rgb): void {
  const { width: w, height: h, data: src } = img;
  const [fr, fg, fb] = fill;
  const m0 = m[0], m3 = m[3], m6 = m[6];
  const bx = m[1] * y + m[2], by = m[4] * y + m[5], bz = m[7] * y + m[8];
  const affine = isAffine(m);
  for (let x = xs, o = (y * w + xs) * 3; x < xe; x++, o += 3) {
    let u = m0 * x + bx, v = m3 * x + by, ok = true;
    if (!affine) {
      const z = m6 * x + bz;
      ok = z > 0; // behind the map's horizon: nothing to read
      u /= z;
      v /= z;
    }
    const xi = Math.floor(u + 0.5), yi = Math.floor(v + 0.5);
    if (ok && xi >= 0 && xi < w && yi >= 0 && yi < h) {
      const i = (yi * w + xi) * 3;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    } else {
      out[o] = fr;
      out[o + 1] = fg;
      out[o + 2] = fb;
    }
  }
}

function sampleRowBilinear(img: RawImage, out: Uint8Array, m: Mat3, y: number, xs: number, xe: number, fill: Rgb): void {
  const { width: w, height: h, data: src } = img;
  const stride = w * 3, w1 = w - 1, h1 = h - 1;
  const m0 = m[0], m3 = m[3], m6 = m[6];
  const bx = m[1] * y + m[2], by = m[4] * y + m[5], bz = m[7] * y + m[8];
  const affine = isAffine(m);
  for (let x = xs, o = (y * w + xs) * 3; x < xe; x++, o += 3) {
    let u = m0 * x + bx, v = m3 * x + by;
    if (!affine) {
      const z = m6 * x + bz;
      if (!(z > 0)) {
        fillRow(out, y * w, x, x + 1, fill); // behind the map's horizon: nothing to read
        continue;
      }
      u /= z;
      v /= z;
    }
    const x0 = Math.floor(u), y0 = Math.floor(v);
    const fx = u - x0, fy = v - y0;
    if (x0 >= 0 && y0 >= 0 && x0 < w1 && y0 < h1) {
      // Two lerps along x, one along y: exact wherever fx or fy is 0.
      const i = (y0 * w + x0) * 3, j = i + stride;
      let a = src[i], b = src[j];
      a += (src[i + 3] - a) * fx;
      b += (src[j + 3] - b) * fx;
      out[o] = a + (b - a) * fy + 0.5;
      a = src[i + 1];
      b = src[j + 1];
      a += (src[i + 4] - a) * fx;
      b += (src[j + 4] - b) * fx;
      out[o + 1] = a + (b - a) * fy + 0.5;
      a = src[i + 2];
      b = src[j + 2];
      a += (src[i + 5] - a) * fx;
      b += (src[j + 5] - b) * fx;
      out[o + 2] = a + (b - a) * fy + 0.5;
    } else bilinearEdge(src, w, h, out, o, x0, y0, fx, fy, fill);
  }
}

/** Bilinear read where some of the four neighbours lie outside: those read as `fill`. */
function bilinearEdge(src: Uint8Array, w: number, h: number, out: Uint8Array, o: number, x0: number, y0: number, fx: number, fy: number, fill: Rgb): void {
  const inX0 = x0 >= 0 && x0 < w, inX1 = x0 + 1 >= 0 && x0 + 1 < w;
  const inY0 = y0 >= 0 && y0 < h, inY1 = y0 + 1 >= 0 && y0 + 1 < h;
  const i00 = inX0 && inY0 ? (y0 * w + x0) * 3 : -1;
  const i01 = inX1 && inY0 ? (y0 * w + x0 + 1) * 3 : -1;
  const i10 = inX0 && inY1 ? ((y0 + 1) * w + x0) * 3 : -1;
  const i11 = inX1 && inY1 ? ((y0 + 1) * w + x0 + 1) * 3 : -1;
  const w11 = fx * fy, w10 = fy - w11, w01 = fx - w11, w00 = 1 - fx - fy + w11;
  for (let c = 0; c < 3; c++) {
    const f = fill[c];
    const s =
      (i00 >= 0 ? src[i00 + c] : f) * w00 + (i01 >= 0 ? src[i01 + c] : f) * w01 +
      (i10 >= 0 ? src[i10 + c] : f) * w10 + (i11 >= 0 ? src[i11 + c] : f) * w11;
    out[o + c] = s >= 255 ? 255 : s <= 0 ? 0 : s + 0.5;
  }
}
