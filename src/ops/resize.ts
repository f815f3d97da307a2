/**
 * resize: scale to a new size (changes the dimensions, so it is never fused).
 *
 * Options: `size`: n (the shorter side becomes n, aspect kept, as torchvision's Resize(n))
 * or [width, height] (width first, as everywhere in augment; torchvision writes (h, w));
 * `interpolation`: `bilinear` (default; antialiased when shrinking, as PIL and torchvision's
 * antialias=True), `area` (box average of the covered input area) or `nearest`.
 */
import type { z } from 'zod';
import { createRaw, type RawImage } from '../image/raw.ts';
import { defineOp, pixelSize, zod } from './define.ts';

export type ResizeInterpolation = 'nearest' | 'bilinear' | 'area';
export const resizeInterpolation = () => zod().enum(['nearest', 'bilinear', 'area'], { error: 'expected "nearest", "bilinear" or "area"' });

const schema = () => {
  const z = zod();
  return z.strictObject({
    size: pixelSize(),
    interpolation: resizeInterpolation().default('bilinear'),
  });
};

export type ResizeOptions = z.output<ReturnType<typeof schema>>;
export interface ResizeParams {
  [k: string]: number | ResizeInterpolation;
  width: number;
  height: number;
  interpolation: ResizeInterpolation;
}

export function targetSize(size: number | [number, number], w: number, h: number): { width: number; height: number } {
  if (typeof size !== 'number') return { width: size[0], height: size[1] };
  return w <= h ? { width: size, height: Math.max(1, Math.round((h * size) / w)) } : { width: Math.max(1, Math.round((w * size) / h)), height: size };
}

interface Taps {
  /** First input index for each output index. */
  start: Int32Array;
  count: Int32Array;
  /** `maxTaps` weights per output index. */
  weights: Float64Array;
  maxTaps: number;
}

/** The input taps and weights of each output pixel along one axis, over input [offset, offset + length). */
function taps(offset: number, length: number, out: number, kind: ResizeInterpolation): Taps {
  const scale = length / out;
  const support = kind === 'nearest' ? 0.5 : kind === 'area' ? scale / 2 : Math.max(1, scale);
  const maxTaps = kind === 'nearest' ? 1 : Math.ceil(support * 2) + 2;
  const start = new Int32Array(out), count = new Int32Array(out), weights = new Float64Array(out * maxTaps);
  for (let i = 0; i < out; i++) {
    const centre = (i + 0.5) * scale; // in input pixel-edge units, relative to offset
    if (kind === 'nearest') {
      start[i] = offset + Math.min(length - 1, Math.floor(centre));
      count[i] = 1;
      weights[i * maxTaps] = 1;
      continue;
    }
    const lo = Math.max(0, Math.floor(centre - support)), hi = Math.min(length, Math.ceil(centre + support));
    let sum = 0, n = 0;
    for (let j = lo; j < hi; j++) {
      let wt: number;
      if (kind === 'area') wt = Math.max(0, Math.min(j + 1, centre + support) - Math.max(j, centre - support));
      else wt = Math.max(0, 1 - Math.abs(j + 0.5 - centre) / support);
      if (wt <= 0 && n === 0) continue; // leading zero taps
      weights[i * maxTaps + n++] = wt;
      sum += wt;
      if (n === 1) start[i] = offset + j;
    }
    while (n > 1 && weights[i * maxTaps + n - 1] === 0) n--;
    if (n === 0) {
      start[i] = offset + Math.min(length - 1, Math.floor(centre));
      weights[i * maxTaps] = sum = 1;
      n = 1;
    }
    for (let k = 0; k < n; k++) weights[i * maxTaps + k] /= sum;
    count[i] = n;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resample the region (x, y, cw, ch) of `img` to outW x outH, separably (rows, then columns).
 * With the region the whole image this is a resize; with outW x outH = cw x ch a crop.
 */
export function resampleRegion(
  img: RawImage, x: number, y: number, cw: number, ch: number, outW: number, outH: number, kind: ResizeInterpolation,
): RawImage {
  const { width: w, data: src } = img;
  const out = new Uint8Array(outW * outH * 3);
  if (outW === cw && outH === ch) {
    for (let r = 0; r < ch; r++) out.set(src.subarray(((y + r) * w + x) * 3, ((y + r) * w + x + cw) * 3), r * cw * 3);
    return createRaw(outW, outH, out);
  }
  const tx = taps(x, cw, outW, kind), ty = taps(y, ch, outH, kind);
  // Horizontal pass over the rows the region spans: ch rows x outW pixels.
  const mid = new Float32Array(ch * outW * 3);
  for (let r = 0; r < ch; r++) {
    const row = (y + r) * w * 3;
    for (let i = 0, o = r * outW * 3; i < outW; i++, o += 3) {
      let s0 = 0, s1 = 0, s2 = 0;
      const n = tx.count[i], base = i * tx.maxTaps;
      for (let k = 0, p = row + tx.start[i] * 3; k < n; k++, p += 3) {
        const wt = tx.weights[base + k];
        s0 += src[p] * wt;
        s1 += src[p + 1] * wt;
        s2 += src[p + 2] * wt;
      }
      mid[o] = s0;
      mid[o + 1] = s1;
      mid[o + 2] = s2;
    }
  }
  // Vertical pass.
  const stride = outW * 3;
  for (let j = 0; j < outH; j++) {
    const n = ty.count[j], base = j * ty.maxTaps, first = (ty.start[j] - y) * stride, o = j * stride;
    for (let i = 0; i < stride; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += mid[first + k * stride + i] * ty.weights[base + k];
      out[o + i] = s >= 255 ? 255 : s + 0.5;
    }
  }
  return createRaw(outW, outH, out);
}

export const resize = defineOp<ResizeOptions, ResizeParams>({
  name: 'resize',
  summary: 'scale to size: n (shorter side) or [width, height]; interpolation: bilinear (antialiased) | area | nearest',
  schema,
  sample: (_rng, o, { width, height }) => ({ ...targetSize(o.size, width, height), interpolation: o.interpolation }),
  outputSize: (p) => ({ width: p.width, height: p.height }),
  apply: (img, p) => resampleRegion(img, 0, 0, img.width, img.height, p.width, p.height, p.interpolation),
  label: (p) => `resize ${p.width}×${p.height}`,
});
