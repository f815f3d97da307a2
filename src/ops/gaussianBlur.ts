/**
 * gaussianBlur: separable Gaussian blur, as torchvision's GaussianBlur: kernel taps at
 * -k/2..k/2 weighted exp(-x^2 / 2 sigma^2) and normalised, reflect padding (d c b | a b c d |
 * c b a), one sigma drawn for both axes.
 *
 * Options: `kernel`: odd size k or [width, height] (default [5, 9], the seed's 5 wide x 9
 * high); `sigma`: s or [lo, hi] > 0 (default [0.1, 2.0]).
 *
 * The passes run as compiled WebAssembly SIMD in integer fixed point (`./native/ops.c`: weights
 * in 1/32768ths, exact sums, the same on every machine), within one level of the float JS loops
 * kept as the fallback.
 */
import type { z } from 'zod';
import { createRaw, type RawImage } from '../image/raw.ts';
import { defineOp, draw, fmt, oddSize, range, zod } from './define.ts';
import { blurNative, blurStep } from './native.ts';
import { blurSimd } from './wasm.ts';

const schema = () => {
  const z = zod();
  return z.strictObject({
    kernel: oddSize().default([5, 9]),
    sigma: range({ min: 0, single: (s) => [s, s] })
      .refine((r) => r[0] > 0, { error: 'expected sigma > 0' })
      .default([0.1, 2.0]),
  });
};

export type GaussianBlurOptions = z.output<ReturnType<typeof schema>>;
export interface GaussianBlurParams {
  [k: string]: [number, number] | number;
  kernel: [number, number];
  sigma: number;
}

/** torchvision's `_get_gaussian_kernel1d`. */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = (i - half) / sigma;
    sum += k[i] = Math.exp(-0.5 * x * x);
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** Index of position i in 0..n-1 under reflect padding (repeated for kernels wider than the image). */
export function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/**
 * A symmetric kernel in i16 1/32768ths summing to exactly 32768: each outer pair rounded, the
 * remainder given to the centre tap (so flat stays flat). A lone centre of 32768 becomes 32767,
 * the largest Q15 weight, which still maps every value to itself (the identity of a tiny sigma).
 */
export function quantiseKernel(k: Float64Array): Int16Array {
  const n = k.length, q = new Int16Array(n);
  let rest = 32768;
  for (let i = 0; i < n >> 1; i++) {
    q[i] = q[n - 1 - i] = Math.round(((k[i] + k[n - 1 - i]) / 2) * 32768);
    rest -= 2 * q[i];
  }
  q[n >> 1] = Math.min(rest, 32767);
  return q;
}

/**
 * Blur with the compiled integer kernel (`./native.ts`) where it loads, else the hand-assembled
 * float32 SIMD passes (`./wasm.ts`), else `blurJs`. All three agree within one level.
 */
export function blur(img: RawImage, kw: number, kh: number, sigma: number): RawImage {
  const gx = gaussianKernel(kw, sigma), gy = gaussianKernel(kh, sigma);
  return blurNative(img, quantiseKernel(gx), quantiseKernel(gy)) ?? blurSimd(img, Float32Array.from(gx), Float32Array.from(gy), reflect) ?? blurJs(img, kw, kh, sigma);
}

/** The compiled blur as a step of a native run (`./native.ts`). */
export const blurNativeStep = (kw: number, kh: number, sigma: number, width: number) =>
  blurStep(quantiseKernel(gaussianKernel(kw, sigma)), quantiseKernel(gaussianKernel(kh, sigma)), width);

let tmp = new Float32Array(0);

/** The same blur in plain JS loops (the fallback, and the tests' second opinion). */
export function blurJs(img: RawImage, kw: number, kh: number, sigma: number): RawImage {
  const { width: w, height: h, data: src } = img;
  const kx = gaussianKernel(kw, sigma), ky = gaussianKernel(kh, sigma);
  const rx = (kw - 1) >> 1, ry = (kh - 1) >> 1;
  const stride = w * 3;
  if (tmp.length < src.length) tmp = new Float32Array(src.length);
  const t = tmp;
  // Horizontal pass: src -> t. Column offsets (x3) of every tap, reflect-padded.
  const cols = new Int32Array(w + kw - 1);
  for (let i = 0; i < cols.length; i++) cols[i] = reflect(i - rx, w) * 3;
  for (let y = 0; y < h; y++) {
    const row = y * stride;
    for (let x = 0, o = row; x < w; x++, o += 3) {
      let s0 = 0, s1 = 0, s2 = 0;
      for (let k = 0; k < kw; k++) {
        const i = row + cols[x + k], wk = kx[k];
        s0 += src[i] * wk;
        s1 += src[i + 1] * wk;
        s2 += src[i + 2] * wk;
      }
      t[o] = s0;
      t[o + 1] = s1;
      t[o + 2] = s2;
    }
  }
  // Vertical pass: t -> out, whole rows at a time.
  const out = new Uint8Array(src.length);
  const rows = new Int32Array(kh);
  for (let y = 0; y < h; y++) {
    for (let k = 0; k < kh; k++) rows[k] = reflect(y + k - ry, h) * stride;
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      let s = 0;
      for (let k = 0; k < kh; k++) s += t[rows[k] + i] * ky[k];
      out[o + i] = s + 0.5; // convex weights: 0 <= s <= 255
    }
  }
  return createRaw(w, h, out);
}

export const gaussianBlur = defineOp<GaussianBlurOptions, GaussianBlurParams>({
  name: 'gaussianBlur',
  summary: 'Gaussian blur, reflect padding; kernel: [w, h] odd (default [5, 9]), sigma: [lo, hi] (default [0.1, 2.0])',
  schema,
  sample: (rng, o) => ({ kernel: o.kernel, sigma: draw(rng, o.sigma) }),
  apply: (img, p) => blur(img, p.kernel[0], p.kernel[1], p.sigma),
  native: (p, _ctx, w) => blurNativeStep(p.kernel[0], p.kernel[1], p.sigma, w),
  label: (p) => `blur σ${fmt(p.sigma, 1)}`,
});
