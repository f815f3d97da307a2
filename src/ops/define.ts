/**
 * What every op file shares: the extended op contract (`AugmentOp`) and the zod pieces
 * that op options are made of, so that every range reads and fails the same way.
 *
 * The schemas are built on first use (an op's `schema` is a getter over its builder), from
 * zod loaded here, unless the thread said before loading the ops that it validates nothing:
 * a build worker (../variant/worker-entry.mjs sets `globalThis[Symbol.for(NO_SCHEMAS)]`)
 * only samples and applies, so it never loads zod (~0.1 s of each worker's start-up).
 */
import type { z } from 'zod';
import type { NativeStep } from './native.ts';
import type { ApplyContext, OpDefinition, Params } from './types.ts';
import type { Interpolation } from './warp.ts';

/** The global symbol's name a thread sets (to true) before loading the ops when it never validates options. */
export const NO_SCHEMAS = 'augment.ops.noSchemas';

const zodModule: typeof import('zod') | undefined = (globalThis as Record<symbol, unknown>)[Symbol.for(NO_SCHEMAS)] === true ? undefined : await import('zod');

/** zod's `z`, for the schema builders. */
export function zod(): typeof z {
  if (!zodModule) throw new Error('op option schemas are not loaded in this thread (a build worker only samples and applies ops)');
  return zodModule.z;
}

/** The op contract of `types.ts` plus what the pipeline and the contact sheet need. */
export interface AugmentOp<O extends object = any, P extends Params = any> extends OpDefinition<O, P> {
  /** One line of documentation: what the op does and its options with defaults. */
  readonly summary: string;
  /** Short label for a contact sheet, e.g. `rot 127°`; '' for a no-op. */
  label(params: P): string;
  /** Output size for ops that change it (resize, crop); absent = same size. */
  outputSize?(params: P, width: number, height: number): { width: number; height: number };
  /** Interpolation of a geometric op (one with `matrix`), for the fused pass. */
  interpolation?(params: P): Interpolation;
  /**
   * The op as a compiled kernel step (`./native.ts`) for a `width` x `height` image: the same
   * result as `apply`. `applyOps` runs a row of such steps in the kernels' memory without
   * copying the image out between them. Only for ops that keep the image size.
   */
  native?(params: P, ctx: ApplyContext, width: number, height: number): NativeStep;
}

/** An op as its file writes it: `schema` is a builder, called once, when the schema is first used. */
export type OpSource<O extends object, P extends Params> = Omit<AugmentOp<O, P>, 'schema'> & { schema: () => z.ZodType<O> };

export function defineOp<O extends object, P extends Params>(source: OpSource<O, P>): AugmentOp<O, P> {
  const { schema: build, ...op } = source;
  let schema: z.ZodType<O> | undefined;
  return Object.defineProperty(op, 'schema', { enumerable: true, get: () => (schema ??= build()) }) as AugmentOp<O, P>;
}

export type Range = [number, number];

export const interpolation = () => zod().enum(['nearest', 'bilinear'], { error: 'expected "nearest" or "bilinear"' });

/**
 * A [min, max] range. A single number d means `single(d)` (e.g. [-d, d] for angles,
 * [1 - d, 1 + d] for colour factors), as torchvision reads it.
 */
export function range(opts: { min?: number; max?: number; single: (d: number) => Range }) {
  const { min = -Infinity, max = Infinity } = opts;
  const bounds = `${min === -Infinity ? '' : `${min} <= `}value${max === Infinity ? '' : ` <= ${max}`}`;
  const z = zod();
  const finite = z.number({ error: 'expected a number' }).finite();
  return z
    .union([finite, z.tuple([finite, finite])], { error: 'expected a number or a [min, max] pair' })
    .transform((v, ctx): Range => {
      const r = typeof v === 'number' ? opts.single(v) : v;
      if (r[0] > r[1]) {
        const message = typeof v === 'number' ? `expected a number >= 0, received ${v}` : `expected min <= max, received [${r[0]}, ${r[1]}]`;
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      if (r[0] < min || r[1] > max) {
        ctx.addIssue({ code: 'custom', message: `expected ${bounds}, received ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return [r[0], r[1]];
    });
}

/** Degrees: d means [-d, d]. */
export const degreesRange = () => range({ single: (d) => [-d, d] });

/** torchvision colour factor: b means [max(0, 1 - b), 1 + b]. */
export const factorRange = () => range({ min: 0, single: (b) => [Math.max(0, 1 - b), 1 + b] });

/** An odd kernel size (or a [width, height] pair of them). */
export const oddSize = () => {
  const z = zod();
  return z
    .union([z.number(), z.tuple([z.number(), z.number()])], { error: 'expected an odd size or a [width, height] pair' })
    .transform((v, ctx): [number, number] => {
      const r: [number, number] = typeof v === 'number' ? [v, v] : v;
      if (!r.every((k) => Number.isInteger(k) && k > 0 && k % 2 === 1)) {
        ctx.addIssue({ code: 'custom', message: `expected odd positive integers, received ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return r;
    });
};

/** A size in pixels: n, or [width, height]. */
export const pixelSize = () => {
  const z = zod();
  return z
    .union([z.number(), z.tuple([z.number(), z.number()])], { error: 'expected a size in pixels or a [width, height] pair' })
    .transform((v, ctx): number | [number, number] => {
      const all = typeof v === 'number' ? [v] : v;
      if (!all.every((k) => Number.isInteger(k) && k > 0)) {
        ctx.addIssue({ code: 'custom', message: `expected positive integers, received ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return v;
    });
};

/** Uniform draw in a range; a zero-width range still draws, so the stream never shifts. */
export const draw = (rng: { uniform(lo: number, hi: number): number }, r: Range) => rng.uniform(r[0], r[1]);

/** Round for labels: `fmt(1.2345, 2)` -> "1.23". */
export const fmt = (v: number, digits = 0) => String(Number(v.toFixed(digits)));
