/**
 * The recipe file format (`recipes/<name>.yaml`), as a zod schema. Everything is validated at
 * load time; a bad field yields one line naming the file, the field's path and why.
 */
import { z } from 'zod';
import type { Rgb } from '../image/raw.ts';
import { DEFAULT_NEAR_DISTANCE, DUPLICATE_MODES } from '../dataset/dedupe.ts';

const NAMED_COLOURS: Record<string, Rgb> = { black: [0, 0, 0], white: [255, 255, 255], grey: [128, 128, 128], gray: [128, 128, 128] };

export const colourSchema = z
  .union([
    z.enum(Object.keys(NAMED_COLOURS) as [string, ...string[]]).transform((n) => NAMED_COLOURS[n]),
    z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'expected a colour name (black, white, grey) or #rrggbb')
      .transform((s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)) as unknown as Rgb),
    z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]),
  ])
  .transform((c) => c as Rgb);

const fraction = z.number().gt(0, 'must be above 0').lte(1, 'must be at most 1');

export const splitSchema = z
  .strictObject({
    ratios: z
      .tuple([z.number().positive(), z.number().nonnegative(), z.number().nonnegative()])
      .default([0.6, 0.2, 0.2])
      .describe('train : valid : test, any scale'),
    seed: z.number().int().default(42),
    group: z.string().min(1).optional().describe('regex over the base name; its first capture group is the group key'),
    duplicates: z
      .enum(DUPLICATE_MODES, { error: `expected one of ${DUPLICATE_MODES.join(', ')}` })
      .default('near')
      .describe('near: exact and near duplicates share a split; exact: only the same pixels; off: neither'),
    nearDistance: z
      .number()
      .int('must be a whole number of bits')
      .min(0, 'must be 0 to 64 (differing pHash bits)')
      .max(64, 'must be 0 to 64 (differing pHash bits)')
      .default(DEFAULT_NEAR_DISTANCE),
    maxGroup: z
      .union([z.literal('auto', { error: 'expected "auto" or a whole number of files' }), z.number().int('must be a whole number or "auto"').min(1, 'must be at least 1 or "auto"')], { error: 'expected "auto" or a whole number of files' })
      .default('auto')
      .describe('largest near-duplicate group; auto: half the smaller of the valid and test counts of the smallest class it touches'),
  })
  .default({ ratios: [0.6, 0.2, 0.2], seed: 42, duplicates: 'near', nearDistance: DEFAULT_NEAR_DISTANCE, maxGroup: 'auto' as const });

export const undersampleSchema = z.union([
  z.strictObject({ largest: z.number().int().min(1, 'must be at least 1'), keep: fraction }),
  z.strictObject({ classes: z.array(z.string().min(1)).min(1, 'name at least one class'), keep: fraction }),
]);

const target = z.union([z.literal('largest'), z.number().int().min(1, 'must be a positive count')]).default('largest');

export const oversampleSchema = z.union([
  z.strictObject({
    maxFactor: z.number().int('must be a whole number').min(1, 'must be at least 1 (1 = no copies)'),
    target,
  }),
  z.strictObject({
    tiers: z.array(z.number().int().min(1, 'each tier must be at least 1')).min(1),
    target,
    cap: z.boolean().default(true),
  }),
]);

export const outputSchema = z
  .strictObject({
    format: z.enum(['png', 'jpeg', 'webp']).default('png'),
    quality: z.number().int().min(1).max(100).optional(),
  })
  .default({ format: 'png' });

export const recipeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only').optional(),
  description: z.string().optional(),
  source: z.string().min(1).default('data/tabler'),
  seed: z.number().int().default(0),
  split: splitSchema,
  undersample: undersampleSchema.optional(),
  oversample: oversampleSchema.optional(),
  ops: z.unknown().optional(),
  fill: colourSchema.default([0, 0, 0]),
  background: colourSchema.default([255, 255, 255]),
  output: outputSchema,
});

export type RecipeInput = z.input<typeof recipeSchema>;
export type ParsedRecipe = z.output<typeof recipeSchema>;
