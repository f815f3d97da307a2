/**
 * Tiny generated image datasets for the trainer's tests, written as built variants
 * (`<root>/<name>/{train,valid,test}/<class>/*.png`) with sharp.
 *
 * Three classes, each a pattern on a noisy grey background, with seeded jitter:
 * - `red`: a red square at a random place,
 * - `green`: green horizontal stripes,
 * - `blue`: blue vertical stripes.
 * A small dense or conv net separates them well above chance within a few epochs.
 * valid and test are drawn from a seed that does not depend on the variant name, so two
 * variants built with the same `valid`/`test` counts share byte-identical valid/test splits.
 */
import { mkdir, mkdtemp, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { rngFor, type Rng } from '../../src/rng.ts';
import { initBackend } from '../../src/train/backend/select.ts';

export const CLASSES = ['red', 'green', 'blue'] as const;

export function patternImage(cls: string, size: number, rng: Rng): Buffer {
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = 100 + rng.int(0, 60);
  const set = (x: number, y: number, rgb: [number, number, number]) => {
    const o = (y * size + x) * 3;
    px[o] = rgb[0];
    px[o + 1] = rgb[1];
    px[o + 2] = rgb[2];
  };
  const jitter = () => rng.int(-30, 30);
  if (cls === 'red') {
    const s = Math.max(3, Math.floor(size / 2));
    const x0 = rng.int(0, size - s);
    const y0 = rng.int(0, size - s);
    const c: [number, number, number] = [225 + rng.int(0, 30), 40 + jitter(), 40 + jitter()];
    for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) set(x, y, c);
  } else {
    const phase = rng.int(0, 3);
    const c: [number, number, number] = cls === 'green' ? [40 + jitter(), 225 + rng.int(0, 30), 40 + jitter()] : [40 + jitter(), 40 + jitter(), 225 + rng.int(0, 30)];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = cls === 'green' ? y : x;
        if ((v + phase) % 4 < 2) set(x, y, c);
      }
    }
  }
  return px;
}

export interface VariantSpec {
  /** Images per class in each split (a number for every class, or one per class). */
  train: number | number[];
  valid?: number;
  test?: number;
  classes?: readonly string[];
  size?: number;
  /** Seed for the train split (valid/test never depend on it). */
  seed?: string | number;
}

/** Writes one variant under `root/name` and returns its folder. */
export async function writeVariant(root: string, name: string, spec: VariantSpec): Promise<string> {
  const classes = spec.classes ?? CLASSES;
  const size = spec.size ?? 16;
  const dir = join(root, name);
  const counts = { train: spec.train, valid: spec.valid ?? 6, test: spec.test ?? 6 };
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const [ci, cls] of classes.entries()) {
      const c = counts[split];
      const n = Array.isArray(c) ? c[ci] : c;
      const folder = join(dir, split, cls);
      await mkdir(folder, { recursive: true });
      for (let i = 0; i < n; i++) {
        const rng = split === 'train' ? rngFor('train', String(spec.seed ?? name), cls, i) : rngFor(split, cls, i);
        const png = await sharp(patternImage(cls, size, rng), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
        await writeFile(join(folder, `${cls}_${String(i).padStart(3, '0')}.png`), png);
      }
    }
  }
  return dir;
}

/** A fresh temp folder (under os.tmpdir()). */
export function tempDir(prefix = 'augment-train-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Selects the wasm backend (SIMD, threads, augment's training kernels) for a test. */
export async function useWasm(): Promise<string> {
  return (await initBackend({ force: 'wasm' })).tfBackend;
}

/** writeVariant, then its train images moved into seeded random class folders (labels are noise). */
export async function writeShuffledVariant(root: string, name: string, spec: VariantSpec): Promise<string> {
  const dir = await writeVariant(root, name, spec);
  const files: Array<{ cls: string; file: string }> = [];
  for (const cls of CLASSES) for (const f of await readdir(join(dir, 'train', cls))) files.push({ cls, file: f });
  const order = rngFor('shuffle-labels').shuffle(files.map((_, i) => i));
  for (const [k, i] of order.entries()) {
    const to = CLASSES[k % CLASSES.length];
    const f = files[i];
    await rename(join(dir, 'train', f.cls, f.file), join(dir, 'train', to, `moved-${f.cls}-${f.file}`));
  }
  return dir;
}
