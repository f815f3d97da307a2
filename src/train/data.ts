/**
 * Training data: a built variant read from disk, decoded once into an on-disk uint8 cache,
 * and served in seeded batches.
 *
 * - A variant is `<dir>/{train,valid,test}/<class>/**.<image>`; `<dir>/variant.json` (written
 *   by `augment build`) is read for information only. Classes are the class folders that
 *   hold at least one image; train, valid and test must have the same classes, and at least 2.
 * - Decoding: `decodeImage` (src/image/decode.ts: EXIF orientation, alpha flattened onto
 *   white, 8-bit sRGB), then resized to `imageSize` x `imageSize` with sharp's
 *   `fit: 'fill'` (aspect ratio not kept; icons are square) and its default lanczos3 kernel.
 * - Cache: one file per (variant, split, image size), N * size * size * 3 bytes of RGB,
 *   written to a temp name and renamed, with a JSON index (relative paths, labels and each
 *   source's size and mtime). An unchanged split reuses its cache; batches are read from it
 *   with positional reads, so memory is bounded by the batch size, not the dataset size.
 * - Normalisation: fixed, x / 127.5 - 1 (mean 0.5, std 0.5 per channel, as torchvision's
 *   Normalize(0.5, 0.5)). Fixed rather than estimated from train so that every variant
 *   sees byte-identical valid/test inputs; a variant's augmentation would otherwise move the
 *   statistics and the comparison with it.
 * - Order: `uniform` is a seeded shuffle per epoch (seed, epoch); `weighted` draws each
 *   example by first drawing a class uniformly, then an image of that class uniformly, with
 *   replacement, as many draws as the train split has images (torch's
 *   WeightedRandomSampler with weights 1/class_count, replacement=True).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import fg from 'fast-glob';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { AugmentError } from '../errors.ts';
import { decodeImage } from '../image/decode.ts';
import { deriveSeed, rngFor } from '../rng.ts';
import { IMAGE_EXTENSIONS } from '../dataset/scan.ts';

export const SPLIT_NAMES = ['train', 'valid', 'test'] as const;
export type Split = (typeof SPLIT_NAMES)[number];

export interface VariantFile {
  /** `<class>/<...>/<file>`, POSIX separators, relative to the split folder. */
  rel: string;
  /** Absolute path. */
  path: string;
  label: number;
  size: number;
  mtimeMs: number;
}

export interface Variant {
  name: string;
  dir: string;
  classes: string[];
  splits: Record<Split, VariantFile[]>;
  /** Parsed variant.json, when present. */
  info?: unknown;
}

export const DEFAULT_VARIANTS_ROOT = 'data/variants';

const imageGlob = `*/**/*.{${IMAGE_EXTENSIONS.join(',')}}`;

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** A VARIANT argument: an existing path, else a name under `variantsRoot`. */
export async function resolveVariant(arg: string, variantsRoot = DEFAULT_VARIANTS_ROOT): Promise<{ name: string; dir: string }> {
  const underRoot = join(variantsRoot, arg);
  const looksLikePath = arg.includes('/') || arg.includes('\\') || arg.startsWith('.');
  if (!looksLikePath && (await isDir(underRoot))) return { name: arg, dir: resolve(underRoot) };
  if (await isDir(arg)) return { name: basename(resolve(arg)), dir: resolve(arg) };
  throw new AugmentError('NOT_FOUND', `variant ${JSON.stringify(arg)}: no folder ${looksLikePath ? arg : `${underRoot} (nor ./${arg})`}; build it with augment build, or give a path`);
}

/** Every folder under `variantsRoot` with train/valid/test subfolders, sorted by name. */
export async function listBuiltVariants(variantsRoot = DEFAULT_VARIANTS_ROOT): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(variantsRoot, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || !(e.isDirectory() || e.isSymbolicLink())) continue;
    const d = join(variantsRoot, e.name);
    if ((await isDir(join(d, 'train'))) && (await isDir(join(d, 'valid'))) && (await isDir(join(d, 'test')))) out.push(e.name);
  }
  return out.sort();
}

/**
 * Lists a variant's images and checks its shape: all three splits present and non-empty,
 * the same classes (>= 2) in each. AugmentError NOT_FOUND / BAD_DATASET otherwise.
 */
export async function readVariant(dir: string, name = basename(resolve(dir))): Promise<Variant> {
  const byClass = {} as Record<Split, Map<string, string[]>>;
  for (const split of SPLIT_NAMES) {
    const sdir = join(dir, split);
    if (!(await isDir(sdir))) throw new AugmentError('NOT_FOUND', `variant ${name}: no ${split} folder (${sdir})`);
    const rels = (await fg(imageGlob, { cwd: sdir, caseSensitiveMatch: false, dot: false, onlyFiles: true })).sort();
    const m = new Map<string, string[]>();
    for (const rel of rels) {
      const cls = rel.slice(0, rel.indexOf('/'));
      if (!m.has(cls)) m.set(cls, []);
      m.get(cls)!.push(rel);
    }
    if (m.size === 0) throw new AugmentError('BAD_DATASET', `variant ${name}: ${split} has no images (expected ${sdir}/<class>/<images>)`);
    byClass[split] = m;
  }
  const classes = [...byClass.train.keys()].sort();
  for (const split of ['valid', 'test'] as const) {
    const here = new Set(byClass[split].keys());
    const missing = classes.filter((c) => !here.has(c));
    const extra = [...here].filter((c) => !byClass.train.has(c)).sort();
    if (missing.length > 0 || extra.length > 0) {
      const parts = [
        missing.length ? `class${missing.length > 1 ? 'es' : ''} ${missing.join(', ')} in train but not in ${split}` : '',
        extra.length ? `class${extra.length > 1 ? 'es' : ''} ${extra.join(', ')} in ${split} but not in train` : '',
      ].filter(Boolean);
      throw new AugmentError('BAD_DATASET', `variant ${name}: train and ${split} have different classes (${parts.join('; ')})`);
    }
  }
  if (classes.length < 2) {
    throw new AugmentError('BAD_DATASET', `variant ${name}: only one class (${classes[0]}); a classifier needs at least 2`);
  }
  const label = new Map(classes.map((c, i) => [c, i]));
  const splits = {} as Record<Split, VariantFile[]>;
  for (const split of SPLIT_NAMES) {
    const files: VariantFile[] = [];
    for (const cls of classes) {
      for (const rel of byClass[split].get(cls)!) {
        const path = join(dir, split, ...rel.split('/'));
        const st = await stat(path);
        files.push({ rel, path, label: label.get(cls)!, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
      }
    }
    splits[split] = files;
  }
  let info: unknown;
  try {
    info = JSON.parse(await readFile(join(dir, 'variant.json'), 'utf8'));
  } catch {
    info = undefined;
  }
  return { name, dir: resolve(dir), classes, splits, info };
}

/**
 * Why two variants cannot be compared: null when their classes and their valid and test
 * splits hold the same set of relative paths, else a one-line reason.
 */
export function evalSplitDifference(a: Variant, b: Variant): string | null {
  if (a.classes.join('\n') !== b.classes.join('\n')) {
    return `variants ${a.name} and ${b.name} have different classes (${a.classes.length} vs ${b.classes.length})`;
  }
  for (const split of ['valid', 'test'] as const) {
    const ra = a.splits[split].map((f) => f.rel).sort();
    const rb = new Set(b.splits[split].map((f) => f.rel));
    const onlyA = ra.filter((r) => !rb.has(r));
    const inA = new Set(ra);
    const onlyB = [...rb].filter((r) => !inA.has(r)).sort();
    if (onlyA.length || onlyB.length) {
      const ex = onlyA.length ? `${onlyA[0]} only in ${a.name}` : `${onlyB[0]} only in ${b.name}`;
      return `variants ${a.name} and ${b.name} have different ${split} splits (${onlyA.length + onlyB.length} files differ, e.g. ${ex}); they must share valid and test to be compared`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Decode cache

interface CacheIndex {
  version: 1;
  imageSize: number;
  n: number;
  classes: string[];
  files: Array<[rel: string, label: number, size: number, mtimeMs: number]>;
}

export interface SplitCache {
  file: string;
  imageSize: number;
  n: number;
  labels: Int32Array;
  classes: string[];
}

/** File name stem for a (variant, split, size) cache, unique per variant folder. */
export function cacheStem(v: Variant, split: Split, imageSize: number): string {
  const safe = v.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60);
  return `${safe}-${deriveSeed('variant', v.dir).slice(0, 8)}-${split}-${imageSize}px`;
}

function indexFor(v: Variant, split: Split, imageSize: number): CacheIndex {
  const files = v.splits[split];
  return {
    version: 1,
    imageSize,
    n: files.length,
    classes: v.classes,
    files: files.map((f) => [f.rel, f.label, f.size, f.mtimeMs]),
  };
}

/** Decodes one image to size x size RGB bytes. AugmentError BAD_IMAGE naming the file on failure. */
export async function decodeToSize(path: string, imageSize: number): Promise<Uint8Array> {
  const raw = await decodeImage(path);
  if (raw.width === imageSize && raw.height === imageSize) return raw.data;
  const buf = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .resize(imageSize, imageSize, { fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export interface CacheOptions {
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Makes sure `<cacheDir>/<stem>.u8` holds the decoded split (reusing it when the index
 * matches) and returns its description. On a decode failure nothing is left behind.
 */
export async function ensureSplitCache(v: Variant, split: Split, imageSize: number, cacheDir: string, opts: CacheOptions = {}): Promise<SplitCache> {
  const stem = cacheStem(v, split, imageSize);
  const dataFile = join(cacheDir, `${stem}.u8`);
  const indexFile = join(cacheDir, `${stem}.json`);
  const index = indexFor(v, split, imageSize);
  const want = JSON.stringify(index);
  const result: SplitCache = {
    file: dataFile,
    imageSize,
    n: index.n,
    labels: Int32Array.from(index.files.map((f) => f[1])),
    classes: v.classes,
  };
  const have = await readFile(indexFile, 'utf8').catch(() => '');
  const bytes = imageSize * imageSize * 3;
  if (have === want) {
    const st = await stat(dataFile).catch(() => undefined);
    if (st && st.size === index.n * bytes) return result;
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${dataFile}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    const files = v.splits[split];
    const limit = pLimit(opts.concurrency ?? Math.max(1, availableParallelism()));
    let done = 0;
    await Promise.all(
      files.map((f, i) =>
        limit(async () => {
          const px = await decodeToSize(f.path, imageSize);
          await fh.write(px, 0, bytes, i * bytes);
          opts.onProgress?.(++done, files.length);
        }),
      ),
    );
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, dataFile);
  const tmpIndex = `${indexFile}.${process.pid}.tmp`;
  await writeFile(tmpIndex, want);
  await rename(tmpIndex, indexFile);
  return result;
}

// ---------------------------------------------------------------------------------------
// Batches

export interface Batch {
  /** NHWC float32, normalised, length n * size * size * 3. */
  x: Float32Array;
  /** Class indices. */
  y: Int32Array;
  n: number;
}

/** Reads examples from a split cache by index. Holds one file descriptor; call close(). */
export class BatchReader {
  private fd: number;
  private readonly bytes: number;
  private buf: Buffer;
  constructor(readonly cache: SplitCache) {
    this.fd = openSync(cache.file, 'r');
    this.bytes = cache.imageSize * cache.imageSize * 3;
    this.buf = Buffer.alloc(this.bytes);
  }

  /** Raw uint8 RGB of example i. */
  readRaw(i: number, out: Uint8Array = new Uint8Array(this.bytes)): Uint8Array {
    const got = readSync(this.fd, out, 0, this.bytes, i * this.bytes);
    if (got !== this.bytes) throw new AugmentError('BAD_DATASET', `${this.cache.file}: cache is shorter than expected (example ${i}); delete it to rebuild`);
    return out;
  }

  read(indices: ArrayLike<number>): Batch {
    const n = indices.length;
    const x = new Float32Array(n * this.bytes);
    const y = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = indices[k];
      this.readRaw(i, this.buf);
      const o = k * this.bytes;
      for (let j = 0; j < this.bytes; j++) x[o + j] = this.buf[j] / 127.5 - 1;
      y[k] = this.cache.labels[i];
    }
    return { x, y, n };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export type SamplerName = 'uniform' | 'weighted';
export const SAMPLERS: readonly SamplerName[] = ['uniform', 'weighted'];

/** The example order of one training epoch; depends only on (labels, sampler, seed, epoch). */
export function epochOrder(labels: Int32Array, sampler: SamplerName, seed: number | string, epoch: number): Int32Array {
  const n = labels.length;
  if (sampler === 'uniform') {
    const idx = Array.from({ length: n }, (_, i) => i);
    return Int32Array.from(rngFor('epoch-order', seed, epoch).shuffle(idx));
  }
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  });
  const groups = [...byClass.keys()].sort((a, b) => a - b).map((c) => byClass.get(c)!);
  const rng = rngFor('weighted-sampler', seed, epoch);
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const g = groups[rng.int(0, groups.length - 1)];
    out[k] = g[rng.int(0, g.length - 1)];
  }
  return out;
}

/** Splits an order into batches of `batchSize` (the last one may be smaller). */
export function* batches(order: Int32Array, batchSize: number): Generator<Int32Array> {
  for (let s = 0; s < order.length; s += batchSize) yield order.subarray(s, Math.min(order.length, s + batchSize));
}

/** Removes a cache's files (used when a run is abandoned before it started). */
export async function removeCache(c: SplitCache): Promise<void> {
  await rm(c.file, { force: true });
  await rm(c.file.replace(/\.u8$/, '.json'), { force: true });
}
