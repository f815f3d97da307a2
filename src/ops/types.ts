/**
 * The op contract (Albumentations-style: randomness apart from pixels).
 *
 * An op is `{ name, schema, sample, apply }`:
 * - `schema` (zod) validates the op's recipe options at recipe load time;
 * - `sample(rng, options, image)` draws the concrete parameters for one output file;
 *   it is the only place randomness enters;
 * - `apply(image, params, ctx)` is a pure function of its inputs.
 * Sampled params are plain JSON, recorded in the manifest, and `apply(image, params)`
 * reproduces the output from them alone.
 *
 * Geometric ops may also expose `matrix(params, width, height)`: a 3x3 projective map from
 * OUTPUT pixel coordinates to INPUT pixel coordinates (inverse map, row-major, 9 numbers).
 * The pipeline fuses consecutive geometric ops into one resampling pass.
 */
import type { z } from 'zod';
import type { RawImage, Rgb } from '../image/raw.ts';
import type { Rng } from '../rng.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Params = { [k: string]: Json };

export interface ApplyContext {
  /** Colour for pixels exposed by geometric ops (recipe `fill`, default black). */
  fill: Rgb;
}

export interface OpDefinition<O extends object = any, P extends Params = any> {
  readonly name: string;
  readonly schema: z.ZodType<O>;
  sample(rng: Rng, options: O, image: { width: number; height: number }): P;
  apply(image: RawImage, params: P, ctx: ApplyContext): RawImage;
  /** Inverse projective map (output px -> input px) for fusable geometric ops; same canvas size. */
  matrix?(params: P, width: number, height: number): number[];
}

/** One applied op as recorded in the manifest. */
export interface AppliedOp {
  op: string;
  params: Params;
}
