/**
 * colorJitter: brightness, contrast, saturation and hue, as torchvision's ColorJitter.
 *
 * Options: `brightness`, `contrast`, `saturation`: b for factors in [max(0, 1 - b), 1 + b],
 * or [lo, hi]; `hue`: h for shifts in [-h, h] (h <= 0.5), or [lo, hi] within [-0.5, 0.5].
 * All default to 0, i.e. unchanged: `{op: colorJitter}` alone is a no-op, like the seed's
 * `ColorJitter()`. The adjustments run in a random order, drawn and recorded.
 *
 * Arithmetic: brightness and contrast are one 256-entry table; saturation blends each pixel
 * with its grey (0.2989 R + 0.587 G + 0.114 B); hue rotates in HSV. Each step rounds to 8 bits.
 */
import type { z } from 'zod';
import { createRaw, type RawImage } from '../image/raw.ts';
import { defineOp, draw, factorRange, fmt, range, zod } from './define.ts';
import { jitterNative, jitterStep, type JitterStep } from './native.ts';

const KINDS = ['brightness', 'contrast', 'saturation', 'hue'] as const;
type Kind = (typeof KINDS)[number];

const schema = () => {
  const z = zod();
  return z.strictObject({
    brightness: factorRange().default([1, 1]),
    contrast: factorRange().default([1, 1]),
    saturation: factorRange().default([1, 1]),
    hue: range({ min: -0.5, max: 0.5, single: (h) => [-h, h] }).default([0, 0]),
  });
};

export type ColorJitterOptions = z.output<ReturnType<typeof schema>>;
export interface ColorJitterParams {
  [k: string]: number | Kind[];
  /** The adjustments applied, in order: those whose range is not the identity. */
  order: Kind[];
  /** The drawn factors (1, 1, 1, 0 = unchanged for those not in `order`). */
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

const isIdentity = (k: Kind, r: [number, number]) => (k === 'hue' ? r[0] === 0 && r[1] === 0 : r[0] === 1 && r[1] === 1);

export const colorJitter = defineOp<ColorJitterOptions, ColorJitterParams>({
  name: 'colorJitter',
  summary: 'brightness / contrast / saturation (b: [1-b, 1+b]) and hue (h: [-h, h]) in random order; all 0 = no-op',
  schema,
  sample: (rng, o) => {
    // torchvision: a permutation of the four, then each active factor in fixed order.
    const perm = rng.shuffle(KINDS);
    const p: ColorJitterParams = { order: perm.filter((k) => !isIdentity(k, o[k])), brightness: 1, contrast: 1, saturation: 1, hue: 0 };
    for (const k of KINDS) if (!isIdentity(k, o[k])) p[k] = draw(rng, o[k]);
    return p;
  },
  apply: (img, p) => {
    if (p.order.length === 0) return img; // the input itself: ops never modify their input
    return jitterNative(img, steps(p, img.width * img.height)) ?? applyJs(img, p);
  },
  native: (p, _ctx, w, h) => jitterStep(steps(p, w * h)),
  label: (p) =>
    p.order.length === 0
      ? ''
      : 'jitter ' + p.order.map((k) => (k === 'hue' ? `h${p.hue >= 0 ? '+' : ''}${fmt(p.hue, 2)}` : `${k[0]}${fmt(p[k], 2)}`)).join(' '),
});

/** The steps for the compiled kernels (`./native.ts`): the same arithmetic as `applyJs`. */
function steps(p: ColorJitterParams, npix: number): JitterStep[] {
  return p.order.map((k): JitterStep => {
    const f = p[k];
    if (k === 'brightness') return { kind: 'table', table: () => table((v) => v * f) };
    if (k === 'contrast') {
      return {
        kind: 'table',
        table: (sums) => {
          const [r, g, b] = sums();
          const m = (0.2989 * r + 0.587 * g + 0.114 * b) / npix;
          return table((v) => f * v + (1 - f) * m);
        },
      };
    }
    return k === 'saturation' ? { kind: 'saturation', factor: f } : { kind: 'hue', shift: f };
  });
}

/** The JS loops: the fallback where the compiled kernels cannot load, and the tests' reference. */
export function applyJs(img: RawImage, p: ColorJitterParams): RawImage {
  let out = img;
  for (const k of p.order) {
    const f = p[k];
    if (k === 'brightness') out = lut(out, (v) => v * f);
    else if (k === 'contrast') {
      const m = meanGrey(out);
      out = lut(out, (v) => f * v + (1 - f) * m);
    } else if (k === 'saturation') out = saturate(out, f);
    else out = shiftHue(out, f);
  }
  return out;
}

const clampRound = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0);

function table(f: (v: number) => number): Uint8Array {
  const t = new Uint8Array(256);
  for (let v = 0; v < 256; v++) t[v] = clampRound(f(v));
  return t;
}

function lut(img: RawImage, f: (v: number) => number): RawImage {
  const t = table(f);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return createRaw(img.width, img.height, out);
}

function meanGrey(img: RawImage): number {
  const d = img.data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 3) {
    r += d[i];
    g += d[i + 1];
    b += d[i + 2];
  }
  return (0.2989 * r + 0.587 * g + 0.114 * b) / (d.length / 3);
}

function saturate(img: RawImage, f: number): RawImage {
  const d = img.data;
  const out = new Uint8Array(d.length);
  const k = 1 - f;
  for (let i = 0; i < d.length; i += 3) {
    const grey = k * (0.2989 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    out[i] = clampRound(f * d[i] + grey);
    out[i + 1] = clampRound(f * d[i + 1] + grey);
    out[i + 2] = clampRound(f * d[i + 2] + grey);
  }
  return createRaw(img.width, img.height, out);
}

/** torchvision's adjust_hue: RGB -> HSV, h += shift (mod 1), HSV -> RGB. */
function shiftHue(img: RawImage, shift: number): RawImage {
  const d = img.data;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i], g = d[i + 1], b = d[i + 2];
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    const c = max - min;
    if (c === 0) {
      out[i] = r;
      out[i + 1] = g;
      out[i + 2] = b;
      continue; // grey has no hue
    }
    let h = max === r ? (g - b) / c : max === g ? 2 + (b - r) / c : 4 + (r - g) / c;
    h = h / 6 + shift;
    h -= Math.floor(h);
    const v = max / 255, s = c / max;
    const h6 = h * 6;
    const sector = Math.floor(h6) % 6;
    const fr = h6 - Math.floor(h6);
    const p = v * (1 - s), q = v * (1 - s * fr), t = v * (1 - s * (1 - fr));
    let R: number, G: number, B: number;
    switch (sector) {
      case 0: R = v; G = t; B = p; break;
      case 1: R = q; G = v; B = p; break;
      case 2: R = p; G = v; B = t; break;
      case 3: R = p; G = q; B = v; break;
      case 4: R = t; G = p; B = v; break;
      default: R = v; G = p; B = q;
    }
    out[i] = clampRound(R * 255);
    out[i + 1] = clampRound(G * 255);
    out[i + 2] = clampRound(B * 255);
  }
  return createRaw(img.width, img.height, out);
}
