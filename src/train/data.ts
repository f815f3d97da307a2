/**
 * Training data: a built variant read from disk, decoded once into an on-disk uint8 cache,
 * and served in seeded batches.
 *
 * - A variant is `<dir>/{train,valid,test}/<class>/**.<image>`; `<dir>/variant.json` (written
 *   by `augment build`) is read for information only. Classes are the class folders that
 *   hold at least one image; train, valid and test must have the same classes, and at least 2.
 * - Decoding: ./decode-image.ts (`decodeImage`'s EXIF orientation, alpha flattened onto
 *   white, 8-bit sRGB, then sharp's `fit: 'fill'` lanczos3 resize to `imageSize` px), on
 *   worker threads or this one (./decode-pool.ts).
 * - Cache: by content, shared by every variant and run that uses the folder (default
 *   data/cache/decoded): an image's key is the SHA-256 of its file (./decode-keys.ts: from the
 *   build manifest, a hash memo, or the bytes) and the image size; records live in append-only
 *   pack files (./decode-pack.ts), filled under a lock (./decode-lock.ts) so that concurrent
 *   processes decode each image once and never see a half-written pack. Valid and test,
 *   the same files in every variant, are decoded once; so is a train original that recurs.
 *   A split is served as (pack, offset) per example; batches are read with positional reads,
 *   so memory is bounded by the batch size, not the dataset size.
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
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { AugmentError } from '../errors.ts';
import { rngFor } from '../rng.ts';
import { SPLITS, isImageName, readVariantInfo, splitDir, type SplitName } from '../variant/format.ts';
import { walkSource } from '../dataset/walk.ts';
import { decodeBufferToSize, decodeChunk, readImageFile } from './decode-image.ts';
import { contentKeys } from './decode-keys.ts';
import { withFillLock } from './decode-lock.ts';
import { loadPackIndex, packDir, PackWriter, removeAbandoned } from './decode-pack.ts';
import { decodeFiles, defaultDecodeThreads, WORKER_MIN_IMAGES, type DecodeWhere } from './decode-pool.ts';

/** The variant's splits (src/variant/format.ts), under the names the trainer has always used. */
export const SPLIT_NAMES = SPLITS;
export type Split = SplitName;

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
    if ((await Promise.all(SPLIT_NAMES.map((s) => isDir(splitDir(d, s))))).every(Boolean)) out.push(e.name);
  }
  return out.sort();
}

/**
 * Lists a variant's images and checks its shape: all three splits present and non-empty,
 * the same classes (>= 2) in each. AugmentError NOT_FOUND / BAD_DATASET otherwise.
 */
export async function readVariant(dir: string, name = basename(resolve(dir))): Promise<Variant> {
  const info = (await readVariantInfo(dir)) ?? undefined; // first: a newer format is refused before the walk
  const byClass = {} as Record<Split, Map<string, string[]>>;
  for (const split of SPLIT_NAMES) {
    const sdir = splitDir(dir, split);
    if (!(await isDir(sdir))) throw new AugmentError('NOT_FOUND', `variant ${name}: no ${split} folder (${sdir})`);
    // the source walk (src/dataset/walk.ts): links are followed, a loop or a file reached twice is not counted again
    const rels = await walkSource(sdir, `${name}/${split}`, { isImageName }).then(
      (w) => w.files.map((f) => f.rel).sort(),
      (e) => {
        if (e instanceof AugmentError && e.code === 'BAD_DATASET') return [] as string[]; // no class folders: said below
        throw e;
      },
    );
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
  const limit = pLimit(16); // stat calls in flight: a file system's per-file latency, overlapped
  for (const split of SPLIT_NAMES) {
    const listed = classes.flatMap((cls) => byClass[split].get(cls)!.map((rel) => ({ rel, cls })));
    splits[split] = await Promise.all(
      listed.map(({ rel, cls }) =>
        limit(async (): Promise<VariantFile> => {
          const path = join(dir, split, ...rel.split('/'));
          const st = await stat(path);
          return { rel, path, label: label.get(cls)!, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
        }),
      ),
    );
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

/** The shared decoded-image cache folder (relative to the working directory). */
export const DEFAULT_DECODE_CACHE = 'data/cache/decoded';

export interface SplitCache {
  imageSize: number;
  n: number;
  labels: Int32Array;
  classes: string[];
  /** The pack files this split's examples are read from (absolute paths). */
  packs: string[];
  /** Example i is `size * size * 3` bytes at byte `offsets[i]` of `packs[packOf[i]]`. */
  packOf: Uint32Array;
  offsets: Float64Array;
  /** Images of this split decoded by this call, and served from the cache (decoded + reused = n). */
  decoded: number;
  reused: number;
  /** The cache folder (absolute). */
  cacheDir: string;
}

export interface DataCounts {
  decoded: number;
  reused: number;
}

export interface CacheOptions {
  /** Cache folder, when the positional argument is not given (default data/cache/decoded). */
  cacheDir?: string;
  /** Decode threads (default: the cores this process may use, cgroup-aware, at most 8). */
  concurrency?: number;
  /** Where to decode: worker threads (this thread helps while they start), this thread, or `auto` (workers for large fills: WORKER_MIN_IMAGES). */
  decodeIn?: 'auto' | DecodeWhere;
  /** (images ready, images in total), after each decoded image; once with (n, n) when all were cached. */
  onProgress?: (done: number, total: number) => void;
  /** Another process is filling the same cache folder; this one waits for it. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
  /** Fill lock staleness (ms; default 30 s). */
  lockStaleMs?: number;
}

/** Decodes one image to size x size RGB bytes. AugmentError BAD_IMAGE naming the file on failure. */
export async function decodeToSize(path: string, imageSize: number): Promise<Uint8Array> {
  return decodeBufferToSize(await readImageFile(path), path, imageSize);
}

interface FillRequest {
  v: Variant;
  split: Split;
}

/**
 * The core of the cache: content keys of every requested split, then, holding the folder's
 * fill lock, the images whose key no pack holds are decoded (each distinct content once) into
 * one new pack. A failed image does not stop the others: what was decoded is kept (the next
 * call decodes only what is missing), then the first failure (in file order) is thrown.
 */
async function fillCaches(reqs: FillRequest[], imageSize: number, cacheDir: string, o: CacheOptions): Promise<SplitCache[]> {
  const root = resolve(cacheDir);
  const dir = packDir(root, imageSize);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e: any) {
    throw new AugmentError('BAD_ARGUMENT', `decode cache folder ${root}: cannot create ${dir} (${e?.code ?? e?.message ?? e}); give a writable folder`);
  }
  const keys = new Map<FillRequest, string[]>();
  const byVariant = new Map<Variant, FillRequest[]>();
  for (const r of reqs) byVariant.set(r.v, [...(byVariant.get(r.v) ?? []), r]);
  for (const [v, rs] of byVariant) {
    const k = await contentKeys(
      v,
      rs.map((r) => r.split),
      root,
    );
    for (const r of rs) keys.set(r, k.keys[r.split]);
  }
  const total = reqs.reduce((n, r) => n + r.v.splits[r.split].length, 0);

  return withFillLock(
    dir,
    async () => {
      await removeAbandoned(dir);
      let index = await loadPackIndex(dir, imageSize);
      // distinct missing contents: key -> [path of its first file, number of files with it]
      const missing = new Map<string, { path: string; refs: number; counted?: boolean }>();
      for (const r of reqs) {
        const files = r.v.splits[r.split];
        keys.get(r)!.forEach((k, i) => {
          if (index.get(k)) return;
          const m = missing.get(k);
          if (m) m.refs++;
          else missing.set(k, { path: files[i].path, refs: 1 });
        });
      }
      const renamed = new Map<string, string>(); // a file whose bytes changed since it was keyed
      if (missing.size === 0) o.onProgress?.(total, total);
      else {
        const list = [...missing];
        let done = total - list.reduce((n, [, m]) => n + m.refs, 0);
        const failures: Array<[number, AugmentError]> = [];
        const threads = Math.max(1, o.concurrency ?? defaultDecodeThreads());
        const where: DecodeWhere = o.decodeIn && o.decodeIn !== 'auto' ? o.decodeIn : threads > 1 && list.length >= WORKER_MIN_IMAGES ? 'workers' : 'main';
        const writer = await PackWriter.create(dir, imageSize);
        try {
          await decodeFiles(
            list.map(([, m]) => m.path),
            imageSize,
            {
              where,
              threads,
              signal: o.signal,
              onDecoded: (j, sha, px) => {
                writer.add(sha, px);
                if (sha !== list[j][0]) renamed.set(list[j][0], sha);
                done += list[j][1].refs;
                o.onProgress?.(done, total);
              },
              onFailed: (j, e) => failures.push([j, e]),
            },
          );
        } catch (e) {
          await writer.publish().catch(() => undefined);
          throw e;
        }
        await writer.publish();
        if (o.signal?.aborted) throw new AugmentError('INTERRUPTED', `decoding interrupted after ${writer.records} of ${list.length} images (kept in ${root})`);
        if (failures.length > 0) {
          failures.sort((a, b) => a[0] - b[0]);
          const more = failures.length > 1 ? ` (and ${failures.length - 1} more image${failures.length > 2 ? 's' : ''} that failed)` : '';
          throw new AugmentError(failures[0][1].code, `${failures[0][1].message}${more}`);
        }
        index = await loadPackIndex(dir, imageSize);
      }
      return reqs.map((r) => {
        const files = r.v.splits[r.split];
        const packs: string[] = [];
        const local = new Map<number, number>();
        const packOf = new Uint32Array(files.length);
        const offsets = new Float64Array(files.length);
        let decoded = 0;
        keys.get(r)!.forEach((k0, i) => {
          const k = renamed.get(k0) ?? k0;
          const at = index.get(k);
          if (!at) throw new AugmentError('BAD_DATASET', `${files[i].path}: not in the decode cache ${dir} after decoding it (was the folder removed meanwhile?)`);
          let p = local.get(at.pack);
          if (p === undefined) local.set(at.pack, (p = packs.push(index.packs[at.pack]) - 1));
          packOf[i] = p;
          offsets[i] = at.offset;
          const m = missing.get(k0);
          if (m && m.path === files[i].path && !m.counted) {
            m.counted = true;
            decoded++;
          }
        });
        return {
          imageSize,
          n: files.length,
          labels: Int32Array.from(files, (f) => f.label),
          classes: r.v.classes,
          packs,
          packOf,
          offsets,
          decoded,
          reused: files.length - decoded,
          cacheDir: root,
        };
      });
    },
    { onWait: o.onWait, signal: o.signal, staleMs: o.lockStaleMs },
  );
}

/**
 * Makes sure every image of one split is in the decoded-image cache at `imageSize` px and
 * returns where each one is, with the counts `{ decoded, reused }` of this call. The cache is
 * keyed by content (see ./decode-keys.ts, ./decode-pack.ts), so it is shared by every variant
 * and every run that uses the same folder; `cacheDir` defaults to data/cache/decoded
 * (or `opts.cacheDir`). AugmentError BAD_IMAGE naming the first file that fails to decode.
 */
export async function ensureSplitCache(v: Variant, split: Split, imageSize: number, cacheDir?: string, opts: CacheOptions = {}): Promise<SplitCache> {
  const [c] = await fillCaches([{ v, split }], imageSize, cacheDir ?? opts.cacheDir ?? DEFAULT_DECODE_CACHE, opts);
  return c;
}

/**
 * `ensureSplitCache` for every split of every variant in one pass (one lock, one pack, the
 * decode threads started once): each distinct image is decoded at most once. `decoded` +
 * `reused` = the images of all the splits together.
 */
export async function ensureVariantCaches(variants: readonly Variant[], imageSize: number, opts: CacheOptions = {}): Promise<DataCounts & { caches: Map<string, Record<Split, SplitCache>> }> {
  const reqs = variants.flatMap((v) => SPLIT_NAMES.map((split) => ({ v, split })));
  const got = await fillCaches(reqs, imageSize, opts.cacheDir ?? DEFAULT_DECODE_CACHE, opts);
  const caches = new Map<string, Record<Split, SplitCache>>();
  let decoded = 0;
  reqs.forEach((r, i) => {
    if (!caches.has(r.v.name)) caches.set(r.v.name, {} as Record<Split, SplitCache>);
    caches.get(r.v.name)![r.split] = got[i];
    decoded += got[i].decoded;
  });
  const total = got.reduce((n, c) => n + c.n, 0);
  return { caches, decoded, reused: total - decoded };
}

/**
 * For a plan, before anything is decoded: how many of these variants' images the cache holds
 * at `imageSize` (`cached`, counting every split of every variant) and how many distinct
 * images a fill would decode (`toDecode`). Reads keys and pack indexes only (no lock, no decode).
 */
export async function countCached(variants: readonly Variant[], imageSize: number, opts: { cacheDir?: string } = {}): Promise<{ cached: number; toDecode: number }> {
  const root = resolve(opts.cacheDir ?? DEFAULT_DECODE_CACHE);
  const index = await loadPackIndex(packDir(root, imageSize), imageSize);
  const missing = new Set<string>();
  let cached = 0;
  for (const v of variants) {
    const k = await contentKeys(v, SPLIT_NAMES, root);
    for (const split of SPLIT_NAMES) {
      for (const key of k.keys[split]) {
        if (index.get(key)) cached++;
        else missing.add(key);
      }
    }
  }
  return { cached, toDecode: missing.size };
}

/**
 * Seconds per image of the cache's own decode path (read, sha256, decode, batched resize),
 * for one decoder slot, timed on `paths` (a few dozen real images of the run: the resize is
 * batched, so one image alone would time sharp's per-call overhead instead).
 */
export async function measureDecodeSeconds(paths: readonly string[], imageSize: number): Promise<number> {
  if (paths.length === 0) return 0;
  const t0 = performance.now();
  await decodeChunk(paths, imageSize);
  return (performance.now() - t0) / 1000 / paths.length;
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

/**
 * Reads examples from a split cache by index, with positional reads of the pack files (memory
 * is bounded by the batch, not the split). Opens each pack once, when first needed; call close().
 */
export class BatchReader {
  private readonly fds: number[];
  private readonly bytes: number;
  private buf: Buffer;
  constructor(readonly cache: SplitCache) {
    this.fds = cache.packs.map(() => -1);
    this.bytes = cache.imageSize * cache.imageSize * 3;
    this.buf = Buffer.alloc(this.bytes);
  }

  /** Raw uint8 RGB of example i. */
  readRaw(i: number, out: Uint8Array = new Uint8Array(this.bytes)): Uint8Array {
    const p = this.cache.packOf[i];
    if (this.fds[p] < 0) this.fds[p] = openSync(this.cache.packs[p], 'r');
    const got = readSync(this.fds[p], out, 0, this.bytes, this.cache.offsets[i]);
    if (got !== this.bytes) throw new AugmentError('BAD_DATASET', `${this.cache.packs[p]}: decode cache pack is shorter than expected (example ${i}); delete ${this.cache.cacheDir} to rebuild it`);
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
    for (let p = 0; p < this.fds.length; p++) {
      if (this.fds[p] >= 0) closeSync(this.fds[p]);
      this.fds[p] = -1;
    }
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
