/**
 * perspective: move the four corners inwards at random and warp, as torchvision's
 * RandomPerspective (whose p of 0.5 is the node's `p:` here). Each corner moves by a whole
 * number of pixels drawn from [0, distortion * half the side]; the homography that takes the
 * moved corners back to the image corners is solved from the four point pairs, and every
 * output pixel is inverse-mapped and read bilinearly. (torchvision applies its homography to
 * pixel-corner coordinates, a half-pixel shift from this; the corner points match exactly.)
 *
 * Options: `distortion` 0..1 (default 0.5); `interpolation` (default bilinear).
 */
import type { z } from 'zod';
import { defineOp, interpolation, zod } from './define.ts';
import { homography, IDENTITY, warp, type Interpolation, type Mat3 } from './warp.ts';

const schema = () => {
  const z = zod();
  return z.strictObject({
    distortion: z.number({ error: 'expected a number between 0 and 1' }).min(0, { error: 'expected distortion >= 0' }).max(1, { error: 'expected distortion <= 1' }).default(0.5),
    interpolation: interpolation().default('bilinear'),
  });
};

type Point = [number, number];
export type PerspectiveOptions = z.output<ReturnType<typeof schema>>;
export interface PerspectiveParams {
  [k: string]: Point[] | Interpolation;
  /** Where the top-left, top-right, bottom-right and bottom-left corners land. */
  corners: Point[];
  interpolation: Interpolation;
}

export const imageCorners = (w: number, h: number): Point[] => [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]];

export function perspectiveMatrix(p: PerspectiveParams, w: number, h: number): Mat3 {
  if (w < 2 || h < 2) return IDENTITY;
  return homography(p.corners, imageCorners(w, h));
}

export const perspective = defineOp<PerspectiveOptions, PerspectiveParams>({
  name: 'perspective',
  summary: 'random perspective: corners move inwards by up to distortion (0.5) x half the side; interpolation: bilinear',
  schema,
  sample: (rng, o, { width: w, height: h }) => {
    const dx = Math.floor(o.distortion * Math.floor(w / 2));
    const dy = Math.floor(o.distortion * Math.floor(h / 2));
    const near = (d: number) => rng.int(0, d);
    const far = (size: number, d: number) => rng.int(size - d - 1, size - 1);
    // torchvision's order: top-left, top-right, bottom-right, bottom-left; x then y.
    const tl: Point = [near(dx), near(dy)];
    const tr: Point = [far(w, dx), near(dy)];
    const br: Point = [far(w, dx), far(h, dy)];
    const bl: Point = [near(dx), far(h, dy)];
    return { corners: [tl, tr, br, bl], interpolation: o.interpolation };
  },
  matrix: perspectiveMatrix,
  interpolation: (p) => p.interpolation,
  apply: (img, p, ctx) => warp(img, [perspectiveMatrix(p, img.width, img.height)], p.interpolation, ctx.fill),
  label: () => 'persp',
});
