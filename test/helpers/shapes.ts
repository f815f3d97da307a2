/**
 * A trivially learnable 4-class fixture written as a built variant
 * (`<root>/<name>/{train,valid,test}/<class>/*.png`): a filled circle, square, triangle or
 * cross, in a random saturated colour, at a random place and size (40-70% of the side), on a
 * light noisy background. Only the shape tells the class (colour and place are random), and
 * any small conv net separates the four within a few epochs, so a model that stays at chance
 * here has a training problem, not a data problem.
 *
 * Default counts (150 images, imbalanced like the sample): train 36/18/18/18, valid and test
 * 12/6/6/6 each. valid and test never depend on the variant name, so variants written with
 * the same counts share byte-identical valid/test splits (evaluate requires that).
 * `shuffleLabels` moves the train images to random class folders (a variant that cannot be
 * learned, for racing and not-learned checks).
 *
 * Also a script: `node --import tsx test/helpers/shapes.ts OUT_ROOT [NAME] [--shuffled] [--train 36,18,18,18]`.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { rngFor, type Rng } from '../../src/rng.ts';

export const SHAPES = ['circle', 'cross', 'square', 'triangle'] as const;

function inside(shape: string, x: number, y: number, cx: number, cy: number, r: number): boolean {
  const dx = x - cx;
  const dy = y - cy;
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square':
      return Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85;
    case 'triangle': {
      // Apex up: y from cy - r to cy + r, half-width growing linearly to r at the base.
      if (dy < -r || dy > r * 0.8) return false;
      return Math.abs(dx) <= ((dy + r) / (1.8 * r)) * r;
    }
    case 'cross':
      return (Math.abs(dx) <= r && Math.abs(dy) <= r * 0.3) || (Math.abs(dy) <= r && Math.abs(dx) <= r * 0.3);
    default:
      throw new Error(`unknown shape ${shape}`);
  }
}

/** RGB pixels (size x size x 3) of one shape image. */
export function shapeImage(shape: string, size: number, rng: Rng): Buffer {
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = 200 + rng.int(0, 40);
  const hue = rng.int(0, 5);
  const hi = 200 + rng.int(0, 55);
  const lo = rng.int(0, 70);
  const colour = [0, 1, 2].map((ch) => ([[hi, lo, lo], [lo, hi, lo], [lo, lo, hi], [hi, hi, lo], [hi, lo, hi], [lo, hi, hi]][hue][ch]));
  const r = (size * rng.uniform(0.4, 0.7)) / 2;
  const cx = rng.uniform(r, size - r);
  const cy = rng.uniform(r, size - r);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!inside(shape, x + 0.5, y + 0.5, cx, cy, r)) continue;
      const o = (y * size + x) * 3;
      px[o] = colour[0];
      px[o + 1] = colour[1];
      px[o + 2] = colour[2];
    }
  }
  return px;
}

export interface ShapesSpec {
  /** Images per class, in SHAPES order. */
  train?: number[];
  valid?: number[];
  test?: number[];
  size?: number;
  /** Train split into random class folders (seeded). */
  shuffleLabels?: boolean;
}

/** Writes the variant under `root/name` (temp folder + rename) and returns its folder. */
export async function writeShapesVariant(root: string, name: string, spec: ShapesSpec = {}): Promise<string> {
  const size = spec.size ?? 32;
  const counts = { train: spec.train ?? [36, 18, 18, 18], valid: spec.valid ?? [12, 6, 6, 6], test: spec.test ?? [12, 6, 6, 6] };
  const dir = join(root, name);
  const tmp = join(root, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const shuffle = rngFor('shapes-shuffle', name);
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const shape of SHAPES) await mkdir(join(tmp, split, shape), { recursive: true });
    for (const [ci, shape] of SHAPES.entries()) {
      for (let i = 0; i < counts[split][ci]; i++) {
        const rng = split === 'train' ? rngFor('shapes', 'train', name, shape, i) : rngFor('shapes', split, shape, i);
        const png = await sharp(shapeImage(shape, size, rng), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
        const folder = split === 'train' && spec.shuffleLabels ? shuffle.pick(SHAPES) : shape;
        await writeFile(join(tmp, split, folder, `${shape}_${String(i).padStart(3, '0')}.png`), png);
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}

if (import.meta.url === pathToFileURL(resolve(process.argv[1] ?? '')).href) {
  const args = process.argv.slice(2);
  const shuffled = args.includes('--shuffled');
  const ti = args.indexOf('--train');
  const train = ti >= 0 ? args[ti + 1]?.split(',').map(Number) : undefined;
  const [root, name = shuffled ? 'shapes-shuffled' : 'shapes'] = args.filter((a, i) => !a.startsWith('--') && (ti < 0 || i !== ti + 1));
  if (!root || (train && (train.length !== SHAPES.length || train.some((n) => !Number.isInteger(n) || n < 1)))) {
    console.error(`usage: node --import tsx test/helpers/shapes.ts OUT_ROOT [NAME] [--shuffled] [--train N,N,N,N (${SHAPES.join(', ')})]`);
    process.exit(2);
  }
  await mkdir(root, { recursive: true });
  console.log(await writeShapesVariant(root, name, { shuffleLabels: shuffled, train }));
}
