/**
 * Source scan: `<root>/<class>/**` images, found by `walkSource` (./walk.ts: links followed,
 * every directory and file known by device and inode, so a link loop is never walked twice
 * and one file never gets two labels). Hidden files and folders are ignored. Every file is
 * decoded once (sharp, failing on truncation) so that unreadable ones are found before the
 * split, not halfway through a build; results are cached by (path, size, mtime) so a second
 * scan of an unchanged source is only a stat per file.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import pLimit from 'p-limit';
import { decodeImageReadSync } from '../image/decode.ts';
import { deriveSeed } from '../rng.ts';
import { perceptualHash, pixelHash } from './phash.ts';
import { walkSource, type WalkNote, type WalkNoteKind } from './walk.ts';
import { isImageName } from '../variant/format.ts';

/** Default cap on decoded pixels per image (sharp's own default is 268 MP; 100 MP is already absurd for a classifier). */
export const DEFAULT_PIXEL_LIMIT = 100_000_000;

export interface SourceFile {
  class: string;
  /** Path relative to the source root, POSIX separators: `<class>/<...>/<file>`. */
  rel: string;
  size: number;
  mtimeMs: number;
  width: number;
  height: number;
  /** Hash of the decoded pixels (./phash.ts `pixelHash`): equal = the same picture. */
  pixels?: string;
  /** The 8 dihedral pHashes (./phash.ts `perceptualHash`), for near duplicates. */
  phash?: string;
}

export interface UnreadableFile {
  rel: string;
  reason: string;
}

/** An entry of the source tree that is not in the dataset as it was found, and why. */
export interface ScanNote {
  kind: WalkNoteKind | 'empty-class';
  rel: string;
  reason: string;
  also?: string[];
}

export interface ScanResult {
  root: string;
  classes: string[];
  files: SourceFile[];
  unreadable: UnreadableFile[];
  /** Class folders with no readable image. They take no part in the split. */
  emptyClasses: string[];
  /**
   * Entries left out, each named once: link loops, folders reached again through a link, files
   * reached twice, label conflicts, broken links, images at the source root, empty class folders.
   */
  skipped: ScanNote[];
  /** Entries that are not images (by name, or not files): ignored. */
  ignored: ScanNote[];
}

export interface ScanOptions {
  pixelLimit?: number;
  concurrency?: number;
  /** Where to keep the decode-check cache (a JSON file); none when omitted. */
  cacheFile?: string;
  onProgress?: (done: number, total: number) => void;
  /**
   * Runs `decodeCheck` over a batch of files elsewhere (the build's worker threads), results in
   * the batch's order: the files the cache does not answer go out in batches, all at once (the
   * callee limits how many run). Without it they are checked on this thread, `concurrency` at
   * a time. Either way the results, the cache and so the split are the same.
   */
  checkBatch?: (tasks: CheckTask[], pixelLimit: number) => Promise<CheckResult[]>;
}

/** One file for `decodeCheck`. */
export interface CheckTask {
  abs: string;
  size: number;
  mtimeMs: number;
}

/** Files per `checkBatch` call: large enough that a hand-off costs little per file. */
const CHECK_BATCH = 48;


export async function scanSource(rootArg: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const root = resolve(rootArg);
  const walk = await walkSource(root, rootArg, { isImageName });
  const found = walk.files;

  const cache = opts.cacheFile ? await readCache(opts.cacheFile) : {};
  const pixelLimit = opts.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  const key = (f: { size: number; mtimeMs: number }) => `${CACHE_VERSION}:${f.size}:${f.mtimeMs}:${pixelLimit}`;
  const misses = found.filter((f) => cache[f.rel]?.key !== key(f));
  let done = found.length - misses.length;
  if (done) opts.onProgress?.(done, found.length);
  const abs = (rel: string) => join(root, ...rel.split('/'));
  if (opts.checkBatch) {
    const batches: Array<typeof misses> = [];
    for (let i = 0; i < misses.length; i += CHECK_BATCH) batches.push(misses.slice(i, i + CHECK_BATCH));
    await Promise.all(
      batches.map(async (batch) => {
        const results = await opts.checkBatch!(batch.map((f) => ({ abs: abs(f.rel), size: f.size, mtimeMs: f.mtimeMs })), pixelLimit);
        if (results.length !== batch.length) throw new Error(`decode check answered ${results.length} of ${batch.length} files`);
        batch.forEach((f, i) => (cache[f.rel] = { key: key(f), result: results[i] }));
        opts.onProgress?.((done += batch.length), found.length);
      }),
    );
  } else {
    const limit = pLimit(opts.concurrency ?? availableParallelism());
    await Promise.all(
      misses.map((f) =>
        limit(async () => {
          cache[f.rel] = { key: key(f), result: await decodeCheck(abs(f.rel), f.size, f.mtimeMs, pixelLimit) };
          opts.onProgress?.(++done, found.length);
        }),
      ),
    );
  }
  const cacheChanged = misses.length > 0;
  const checked = found.map((f) => ({ class: f.class, rel: f.rel, ...cache[f.rel].result }));
  // Only when something was decoded: N build shards reading a warm cache do not rewrite it N times.
  if (opts.cacheFile && cacheChanged) await writeCache(opts.cacheFile, cache);

  const files: SourceFile[] = [];
  const unreadable: UnreadableFile[] = [];
  for (const c of checked) {
    if ('reason' in c) unreadable.push({ rel: c.rel, reason: c.reason });
    else files.push({ class: c.class, rel: c.rel, size: c.size, mtimeMs: c.mtimeMs, width: c.width, height: c.height, pixels: c.pixels, phash: c.phash });
  }
  const conflicts = pictureConflicts(files);
  const kept = conflicts.length ? files.filter((f) => !conflicts.some((c) => c.rels.has(f.rel))) : files;
  const withFiles = new Set(kept.map((f) => f.class));
  const emptyClasses = walk.classes.filter((c) => !withFiles.has(c));
  const skipped: ScanNote[] = walk.notes.filter((n) => n.kind !== 'not-image');
  for (const c of conflicts) skipped.push(c.note);
  for (const c of emptyClasses) skipped.push({ kind: 'empty-class', rel: c, reason: 'class folder with no readable image: not a class of the dataset' });
  skipped.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const ignored: ScanNote[] = walk.notes.filter((n: WalkNote) => n.kind === 'not-image');
  return { root, classes: walk.classes.filter((c) => withFiles.has(c)), files: kept, unreadable, emptyClasses, skipped, ignored };
}

/**
 * The same picture (decoded pixels) in two classes: a label conflict. All its files are left out
 * of every class (which label is right cannot be known, and keeping one copy per class would put
 * one picture in two splits); reported by name.
 */
function pictureConflicts(files: readonly SourceFile[]): Array<{ rels: Set<string>; note: ScanNote }> {
  const byPixels = new Map<string, SourceFile[]>();
  for (const f of files) if (f.pixels) byPixels.set(f.pixels, [...(byPixels.get(f.pixels) ?? []), f]);
  const out: Array<{ rels: Set<string>; note: ScanNote }> = [];
  for (const list of byPixels.values()) {
    const classes = [...new Set(list.map((f) => f.class))].sort();
    if (classes.length < 2) continue;
    const rels = list.map((f) => f.rel).sort();
    out.push({
      rels: new Set(rels),
      note: { kind: 'label-conflict', rel: rels[0], also: rels.slice(1), reason: `the same picture (decoded pixels) in ${classes.length} classes (${classes.join(', ')}) as ${rels.join(', ')}: left out of every class` },
    });
  }
  return out;
}

export type CheckResult = { size: number; mtimeMs: number; width: number; height: number; pixels: string; phash: string } | { reason: string };
type Cache = Record<string, { key: string; result: CheckResult }>;

/** Bump when what a cache entry holds changes (2: pixel and perceptual hashes). */
const CACHE_VERSION = 2;

/**
 * Decodes the whole file once, the way a build will (so a file that passes here builds);
 * returns its size and content hashes, or a plain-words reason it cannot be used.
 */
export async function decodeCheck(abs: string, size: number, mtimeMs: number, pixelLimit: number): Promise<CheckResult> {
  try {
    const img = await decodeImageReadSync(abs, { limitInputPixels: pixelLimit });
    return { size, mtimeMs, width: img.width, height: img.height, pixels: pixelHash(img), phash: perceptualHash(img) };
  } catch (e: any) {
    const msg = String(e?.message ?? e);
    return { reason: msg.startsWith(`${abs}: `) ? msg.slice(abs.length + 2) : msg };
  }
}

async function readCache(file: string): Promise<Cache> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
}

async function writeCache(file: string, cache: Cache): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  // pid + random: shards on several machines (in containers, all pid 1) write this file at once
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(cache));
  await rename(tmp, file);
}

/** Where builds and previews keep the decode-check cache of a source, under a variants folder. */
export function scanCacheFile(variantsRoot: string, sourceRoot: string): string {
  return join(variantsRoot, '.cache', `scan-${basename(sourceRoot)}-${sourceKey(sourceRoot)}.json`);
}

/** A stable name for a source root, used to key caches and split files. */
export function sourceKey(root: string): string {
  return deriveSeed('source', resolve(root)).slice(0, 12);
}

/** True when `inner` is `outer` or lies inside it. */
export function isInside(inner: string, outer: string): boolean {
  const o = resolve(outer);
  const i = resolve(inner);
  // POSIX, `inner` under `outer` as written (the common case: every output of a build): what
  // `relative` would answer, without its second resolve of both
  const under = sep === '/' && i.startsWith(o) && (i.length === o.length || o === '/' || i[o.length] === '/');
  const r = under ? i.slice(i.length === o.length || o === '/' ? o.length : o.length + 1) : relative(o, i);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && !/^[A-Za-z]:/.test(r));
}
