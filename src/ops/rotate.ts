/**
 * rotate: turn the image about its centre on the same canvas, as torchvision's
 * RandomRotation: positive angles turn counter-clockwise, exposed corners get the fill
 * colour, nearest-neighbour by default. Quarter turns are exact on square images.
 *
 * Options: `degrees: [lo, hi]` (a number d means [-d, d]) or `angle: a` (fixed);
 * `interpolation: nearest | bilinear` (default nearest).
 */
import type { z } from 'zod';
import { defineOp, degreesRange, draw, fmt, interpolation, zod } from './define.ts';
import { aboutCentre, cosSin, warp, type Interpolation, type Mat3 } from './warp.ts';

const schema = () => {
  const z = zod();
  return z
    .strictObject({
      degrees: degreesRange().optional(),
      angle: z.number({ error: 'expected a number of degrees' }).finite().optional(),
      interpolation: interpolation().default('nearest'),
    })
    .check((ctx) => {
      const o = ctx.value;
      if ((o.degrees === undefined) === (o.angle === undefined)) {
        ctx.issues.push({ code: 'custom', input: o, message: 'give either degrees: [lo, hi] (random) or angle: a (fixed), not both or neither' });
      }
    });
};

export type RotateOptions = z.output<ReturnType<typeof schema>>;
export interface RotateParams {
  [k: string]: number | Interpolation;
  angle: number;
  interpolation: Interpolation;
}

export function rotateMatrix(angle: number, w: number, h: number): Mat3 {
  const [c, s] = cosSin(angle);
  // Counter-clockwise on screen (y down): input = R(-angle) applied to the output offset.
  return aboutCentre([c, -s, s, c], w, h);
}

export const rotate = defineOp<RotateOptions, RotateParams>({
  name: 'rotate',
  summary: 'turn about the centre, same canvas; degrees: [lo, hi] or angle: a (counter-clockwise), interpolation: nearest',
  schema,
  sample: (rng, o) => ({ angle: o.angle ?? draw(rng, o.degrees!), interpolation: o.interpolation }),
  matrix: (p, w, h) => rotateMatrix(p.angle, w, h),
  interpolation: (p) => p.interpolation,
  apply: (img, p, ctx) => warp(img, [rotateMatrix(p.angle, img.width, img.height)], p.interpolation, ctx.fill),
  label: (p) => `rot ${fmt(p.angle)}°`,
});
