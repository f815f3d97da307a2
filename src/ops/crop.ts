/**
 * crop: cut out a window, at random or in the centre, optionally scaled back to the input
 * size (a "zoom"). Changes the dimensions unless `resize: true`.
 *
 * Options: `size`: n or [width, height] in pixels, or `fraction`: f or [lo, hi] of each side
 * (one draw for both sides, so the aspect is kept); exactly one of the two. A window larger
 * than the image is cut to the image. `position`: `random` (default) or `center`;
 * `resize`: false (default) or true to scale the window back to the input size, with
 * `interpolation` bilinear (default) | area | nearest.
 */
import type { z } from 'zod';
import { defineOp, draw, pixelSize, range, zod } from './define.ts';
import { resampleRegion, resizeInterpolation, type ResizeInterpolation } from './resize.ts';

const schema = () => {
  const z = zod();
  return z
    .strictObject({
      size: pixelSize().optional(),
      fraction: range({ min: 0, max: 1, single: (f) => [f, f] })
        .refine((r) => r[0] > 0, { error: 'expected a fraction > 0' })
        .optional(),
      position: z.enum(['random', 'center'], { error: 'expected "random" or "center"' }).default('random'),
      resize: z.boolean({ error: 'expected true or false' }).default(false),
      interpolation: resizeInterpolation().default('bilinear'),
    })
    .check((ctx) => {
      if ((ctx.value.size === undefined) === (ctx.value.fraction === undefined)) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: 'give either size (pixels) or fraction (of each side), not both or neither' });
      }
    });
};

export type CropOptions = z.output<ReturnType<typeof schema>>;
export interface CropParams {
  [k: string]: number | ResizeInterpolation;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Output size: the window's, or the input's with `resize: true`. */
  outWidth: number;
  outHeight: number;
  interpolation: ResizeInterpolation;
}

export const crop = defineOp<CropOptions, CropParams>({
  name: 'crop',
  summary: 'cut a window: size [w, h] px or fraction [lo, hi]; position: random | center; resize: false (true scales back to the input size)',
  schema,
  sample: (rng, o, { width: w, height: h }) => {
    let cw: number, ch: number;
    if (o.size !== undefined) [cw, ch] = typeof o.size === 'number' ? [o.size, o.size] : o.size;
    else {
      const f = draw(rng, o.fraction!);
      [cw, ch] = [Math.round(w * f), Math.round(h * f)];
    }
    cw = Math.max(1, Math.min(w, cw));
    ch = Math.max(1, Math.min(h, ch));
    const [x, y] = o.position === 'center' ? [(w - cw) >> 1, (h - ch) >> 1] : [rng.int(0, w - cw), rng.int(0, h - ch)];
    return { x, y, width: cw, height: ch, outWidth: o.resize ? w : cw, outHeight: o.resize ? h : ch, interpolation: o.interpolation };
  },
  outputSize: (p) => ({ width: p.outWidth, height: p.outHeight }),
  apply: (img, p) => resampleRegion(img, p.x, p.y, p.width, p.height, p.outWidth, p.outHeight, p.interpolation),
  label: (p) => `crop ${p.width}×${p.height}` + (p.outWidth !== p.width || p.outHeight !== p.height ? `→${p.outWidth}×${p.outHeight}` : ''),
});
