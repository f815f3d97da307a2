/**
 * affine: rotation, translation, scale and shear about the centre on the same canvas, as
 * torchvision's RandomAffine (whose positive angles turn clockwise, unlike RandomRotation).
 *
 * Options (torchvision's meaning): `degrees` [lo, hi] or d for [-d, d] (default [0, 180],
 * the seed's RandomAffine((0, 180))); `translate: [fx, fy]` maximum shift as a fraction of
 * width / height (shift drawn in [-fx*w, fx*w] and rounded to whole pixels); `scale: [lo,
 * hi]`; `shear`: d for an x-shear in [-d, d], [lo, hi] for x, or [xlo, xhi, ylo, yhi];
 * `interpolation: nearest | bilinear` (default nearest). With only `degrees` it rotates.
 */
import type { z } from 'zod';
import { defineOp, degreesRange, draw, fmt, interpolation, type Range, zod } from './define.ts';
import { aboutCentre, cosSin, warp, type Interpolation, type Mat3 } from './warp.ts';

const schema = () => {
  const z = zod();
  const fraction = z.number({ error: 'expected a fraction' }).min(0, { error: 'expected a fraction >= 0' }).max(1, { error: 'expected a fraction <= 1' });

  const shear = z
    .union([z.number().finite(), z.array(z.number().finite())], { error: 'expected d, [lo, hi] or [xlo, xhi, ylo, yhi] in degrees' })
    .transform((v, ctx): [Range, Range | null] => {
      const a = typeof v === 'number' ? [-Math.abs(v), Math.abs(v)] : v;
      if (typeof v === 'number' && v < 0) ctx.addIssue({ code: 'custom', message: `expected a number >= 0, received ${v}` });
      else if (a.length !== 2 && a.length !== 4) ctx.addIssue({ code: 'custom', message: `expected 2 or 4 numbers, received ${a.length}` });
      else if (a[0] > a[1] || (a.length === 4 && a[2] > a[3])) ctx.addIssue({ code: 'custom', message: `expected min <= max, received ${JSON.stringify(v)}` });
      else if (a.some((d) => Math.abs(d) >= 90)) ctx.addIssue({ code: 'custom', message: `expected shear angles strictly between -90 and 90, received ${JSON.stringify(v)}` });
      else return [[a[0], a[1]], a.length === 4 ? [a[2], a[3]] : null];
      return z.NEVER;
    });

  return z.strictObject({
    degrees: degreesRange().default([0, 180]),
    translate: z.tuple([fraction, fraction], { error: 'expected [fx, fy], fractions of width and height' }).optional(),
    scale: z
      .tuple([z.number().positive({ error: 'expected a scale > 0' }), z.number().positive({ error: 'expected a scale > 0' })], { error: 'expected [lo, hi]' })
      .refine((s) => s[0] <= s[1], { error: 'expected lo <= hi' })
      .optional(),
    shear: shear.optional(),
    interpolation: interpolation().default('nearest'),
  });
};

export type AffineOptions = z.output<ReturnType<typeof schema>>;
export interface AffineParams {
  [k: string]: number | [number, number] | Interpolation;
  angle: number;
  translate: [number, number];
  scale: number;
  shear: [number, number];
  interpolation: Interpolation;
}

/** torchvision's `_get_inverse_affine_matrix`, in pixel-index coordinates. */
export function affineMatrix(p: AffineParams, w: number, h: number): Mat3 {
  const [cosR, sinR] = cosSin(p.angle);
  const [sx, sy] = p.shear.map((d) => (d * Math.PI) / 180);
  let a: number, b: number, c: number, d: number;
  if (sx === 0 && sy === 0) {
    [a, b, c, d] = [cosR, -sinR, sinR, cosR];
  } else {
    const rot = (p.angle * Math.PI) / 180;
    const cy = Math.cos(sy);
    a = Math.cos(rot - sy) / cy;
    b = (-Math.cos(rot - sy) * Math.tan(sx)) / cy - Math.sin(rot);
    c = Math.sin(rot - sy) / cy;
    d = (-Math.sin(rot - sy) * Math.tan(sx)) / cy + Math.cos(rot);
  }
  // The forward linear part [[a, b], [c, d]] has determinant 1; its inverse over scale:
  const k = 1 / p.scale;
  return aboutCentre([d * k, -b * k, -c * k, a * k], w, h, p.translate[0], p.translate[1]);
}

export const affine = defineOp<AffineOptions, AffineParams>({
  name: 'affine',
  summary: 'rotate (clockwise) / translate / scale / shear about the centre; degrees [0, 180], translate [fx, fy], scale [lo, hi], shear, interpolation: nearest',
  schema,
  sample: (rng, o, { width, height }) => {
    // torchvision's draw order: angle, translation, scale, shear.
    const angle = draw(rng, o.degrees);
    const translate: [number, number] = o.translate
      ? [Math.round(rng.uniform(-o.translate[0] * width, o.translate[0] * width)), Math.round(rng.uniform(-o.translate[1] * height, o.translate[1] * height))]
      : [0, 0];
    const scale = o.scale ? draw(rng, o.scale) : 1;
    const shear: [number, number] = o.shear ? [draw(rng, o.shear[0]), o.shear[1] ? draw(rng, o.shear[1]) : 0] : [0, 0];
    return { angle, translate, scale, shear, interpolation: o.interpolation };
  },
  matrix: affineMatrix,
  interpolation: (p) => p.interpolation,
  apply: (img, p, ctx) => warp(img, [affineMatrix(p, img.width, img.height)], p.interpolation, ctx.fill),
  label: (p) => {
    const parts = [`aff ${fmt(p.angle)}°`];
    if (p.translate[0] || p.translate[1]) parts.push(`t${p.translate[0]},${p.translate[1]}`);
    if (p.scale !== 1) parts.push(`×${fmt(p.scale, 2)}`);
    if (p.shear[0] || p.shear[1]) parts.push(`sh${fmt(p.shear[0])},${fmt(p.shear[1])}`);
    return parts.join(' ');
  },
});
