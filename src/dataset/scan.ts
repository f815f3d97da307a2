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
  /**
   * With `deferCacheWrite`: starts writing the decode-check cache (the first call; later calls
   * return the same promise) and resolves when it is written; resolves at once when there was
   * nothing to write. Not enumerable: a scan result printed or copied stays as it was.
   */
  cacheWritten?: () => Promise<void>;
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
  /**
   * Do not wait for the cache file before returning: the result's `cacheWritten` starts the
   * write (atomic as ever: temp name + rename) and is the promise of it. The caller starts it
   * when the main thread has nothing better to do and awaits it before it finishes.
   */
  deferCacheWrite?: boolean;
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
  // Each file's cache key once (compared here, stored with its result); each file's result by
  // its index in `found`, so that nothing is looked up by path again.
  const keys = found.map((f) => `${CACHE_VERSION}:${f.size}:${f.mtimeMs}:${pixelLimit}`);
  const results = new Array<CheckResult>(found.length);
  const misses: number[] = [];
  const cold = isEmpty(cache);
  for (let i = 0; i < found.length; i++) {
    const hit = cold ? undefined : cache[found[i].rel];
    if (hit?.key === keys[i]) results[i] = hit.result;
    else misses.push(i);
  }
  let done = found.length - misses.length;
  if (done) opts.onProgress?.(done, found.length);
  const answer = (i: number, result: CheckResult) => {
    results[i] = result;
    cache[found[i].rel] = { key: keys[i], result };
  };
  if (opts.checkBatch) {
    const batches: number[][] = [];
    for (let i = 0; i < misses.length; i += CHECK_BATCH) batches.push(misses.slice(i, i + CHECK_BATCH));
    await Promise.all(
      batches.map(async (batch) => {
        const tasks = batch.map((i): CheckTask => ({ abs: found[i].abs, size: found[i].size, mtimeMs: found[i].mtimeMs }));
        const answers = await opts.checkBatch!(tasks, pixelLimit);
        if (answers.length !== batch.length) throw new Error(`decode check answered ${answers.length} of ${batch.length} files`);
        for (let k = 0; k < batch.length; k++) answer(batch[k], answers[k]);
        opts.onProgress?.((done += batch.length), found.length);
      }),
    );
  } else {
    const limit = pLimit(opts.concurrency ?? availableParallelism());
    await Promise.all(
      misses.map((i) =>
        limit(async () => {
          const f = found[i];
          answer(i, await decodeCheck(f.abs, f.size, f.mtimeMs, pixelLimit));
          opts.onProgress?.(++done, found.length);
        }),
      ),
    );
  }
  // Only when something was decoded: N build shards reading a warm cache do not rewrite it N times.
  // Deferred (opts.deferCacheWrite): started after the first build work is out, see ScanResult.cacheWritten.
  const cacheFile = opts.cacheFile;
  const writeIt = cacheFile && misses.length > 0 ? () => writeCache(cacheFile, cache) : null;
  const deferred = opts.deferCacheWrite ? deferOnce(writeIt) : null;
  if (writeIt && !deferred) await writeIt();

  const files: SourceFile[] = [];
  const unreadable: UnreadableFile[] = [];
  for (let i = 0; i < found.length; i++) {
    const f = found[i];
    const c = results[i];
    if ('reason' in c) unreadable.push({ rel: f.rel, reason: c.reason });
    else files.push({ class: f.class, rel: f.rel, size: c.size, mtimeMs: c.mtimeMs, width: c.width, height: c.height, pixels: c.pixels, phash: c.phash });
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
  const result: ScanResult = { root, classes: walk.classes.filter((c) => withFiles.has(c)), files: kept, unreadable, emptyClasses, skipped, ignored };
  if (deferred) Object.defineProperty(result, 'cacheWritten', { value: deferred, enumerable: false });
  return result;
}

/**
 * The same picture (decoded pixels) in two classes: a label conflict. All its files are left out
 * of every class (which label is right cannot be known, and keeping one copy per class would put
 * one picture in two splits); reported by name.
 */
function pictureConflicts(files: readonly SourceFile[]): Array<{ rels: Set<string>; note: ScanNote }> {
  const byPixels = new Map<string, SourceFile[]>();
  for (const f of files) {
    if (!f.pixels) continue;
    const list = byPixels.get(f.pixels);
    if (list) list.push(f);
    else byPixels.set(f.pixels, [f]);
  }
  const out: Array<{ rels: Set<string>; note: ScanNote }> = [];
  for (const list of byPixels.values()) {
    if (list.length < 2 || list.every((f) => f.class === list[0].class)) continue; // one class: no conflict
    const classes = [...new Set(list.map((f) => f.class))].sort();
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

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** `run` started on the first call, its promise returned by every call; nothing to run: resolved. */
function deferOnce(run: (() => Promise<void>) | null): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= run ? run() : Promise.resolve());
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
