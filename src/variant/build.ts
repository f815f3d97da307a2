/**
 * `augment build`: materialise a recipe's variant on disk.
 *
 * scan source -> split (shared split file) -> plan (plain JSON jobs) -> skip outputs whose
 * manifest key and file still match -> worker pool writes the rest (temp name + rename, one
 * journal line per finished file) -> remove stale files -> sorted manifest + variant.json.
 * A killed build re-run resumes and ends byte-identical to an uninterrupted one.
 */
import { availableParallelism } from 'node:os';
import { rm, stat, unlink, mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { AugmentError } from '../errors.ts';
import { seedOf, seedParts } from '../rng.ts';
import { loadRecipe, type Recipe } from '../recipe/load.ts';
import { DEFAULT_PIXEL_LIMIT, isInside, scanCacheFile, scanSource, type ScanNote, type ScanResult, type UnreadableFile } from '../dataset/scan.ts';
import { resolveSplit } from '../dataset/split.ts';
import { fillSeeds, planBuild, type Plan, type SourceJob } from './plan.ts';
import { ManifestJournal, indexManifests, writeManifestFrom, type LineRef } from './manifest.ts';
import { MANIFEST_NAME, OUTPUT_FORMAT_VERSION, SHARDS_DIR, SPLITS, VARIANT_FILE, stampVariantInfo, writeJsonAtomic } from './format.ts';
import { WorkerPool } from './pool.ts';
import type { Shard } from '../cluster/shard.ts';
import { doneFile, partManifestFile, planFingerprint, removeOtherCountMarkers, shardOwns, type ShardDone } from '../cluster/parts.ts';
import type { WorkerConfig, WorkerReply, WorkerRequest } from './worker.ts';


export interface BuildProgress {
  phase: 'scan' | 'build';
  done: number;
  total: number;
}

export interface BuildOptions {
  /** Output variant folder; default `data/variants/<recipe name>` under cwd. */
  out?: string;
  /** Overrides the recipe's `source`. */
  source?: string;
  concurrency?: number;
  /** Unreadable source files are fatal instead of excluded. */
  strict?: boolean;
  pixelLimit?: number;
  cwd?: string;
  onProgress?: (p: BuildProgress) => void;
  /** Aborting stops dispatching new work; finished files stay valid for a resume. */
  signal?: AbortSignal;
  /**
   * Make only shard `index` of `count` (outputs chosen by `shardOf(output path, count)`): its
   * manifest part and finished marker go to `.shards/`, and `mergeShards` writes manifest.jsonl
   * and variant.json once every shard is done. See src/cluster/parts.ts.
   */
  shard?: Shard | null;
  /**
   * Scan the source (filling the decode-check cache) and write the split, then stop: run once
   * before a large shard array so that its N shards each read the cache instead of decoding
   * every source image N times. Writes nothing into the variant folder.
   */
  prepare?: boolean;
}

export interface BuildResult {
  name: string;
  variantDir: string;
  sourceRoot: string;
  splitFile: string;
  splitReused: boolean;
  plan: Plan;
  written: number;
  unchanged: number;
  removed: number;
  unreadable: UnreadableFile[];
  /** Source entries left out (link loops, files reached twice, label conflicts, ...) and ignored (not images), from the scan. */
  skipped: ScanNote[];
  ignored: ScanNote[];
  failed: Array<{ source: string; reason: string }>;
  seconds: number;
  concurrency: number;
  /** Set by `prepare`: the source was scanned and the split written; nothing was built. */
  prepared?: boolean;
  /** Set for a sharded build: which shard, and how many outputs it owns. */
  shard?: Shard & { planned: number };
}

export function defaultVariantDir(name: string, cwd = process.cwd()): string {
  return resolve(cwd, 'data', 'variants', name);
}

export async function buildVariant(recipeRef: string | Recipe, opts: BuildOptions = {}): Promise<BuildResult> {
  const t0 = performance.now();
  const cwd = opts.cwd ?? process.cwd();
  const recipe = typeof recipeRef === 'string' ? await loadRecipe(recipeRef, cwd) : recipeRef;
  const sourceRoot = resolve(cwd, opts.source ?? recipe.source);
  const variantDir = resolve(cwd, opts.out ?? defaultVariantDir(recipe.name, cwd));
  const variantsRoot = dirname(variantDir);
  const pixelLimit = opts.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());

  if (isInside(variantDir, sourceRoot))
    throw new AugmentError('UNSAFE_PATH', `${variantDir}: output folder is inside the source ${sourceRoot}; choose another --out (the source is never written to)`);
  if (isInside(sourceRoot, variantDir))
    throw new AugmentError('UNSAFE_PATH', `${variantDir}: output folder contains the source ${sourceRoot}; choose another --out`);
  const existing = await refuseForeignFolder(variantDir);

  // One pool of worker threads for the scan's decode check and for the build.
  const cfg: WorkerConfig = {
    sourceRoot,
    variantDir,
    ops: recipe.ops ?? null,
    fill: recipe.fill,
    background: recipe.background,
    format: recipe.output.format,
    quality: recipe.output.quality,
    pixelLimit,
  };
  // The CLI's pre-started threads when there are (../cli.ts: loading while the CLI did), else new ones.
  const pool = WorkerPool.take<WorkerRequest, WorkerReply>(new URL('./worker-entry.mjs', import.meta.url), concurrency, cfg, { depth: 2 }); // depth 2: no idle worker between chunks
  try {
    // No train/valid/test folder at the start: no stale output or stray temp file to look for.
    const hadOutputs = existing.some((n) => (SPLITS as readonly string[]).includes(n));
    return await buildWith(pool, cfg, recipe, { ...opts, t0, cwd, sourceRoot, variantDir, variantsRoot, pixelLimit, concurrency, hadOutputs });
  } finally {
    await pool.close();
  }
}

type Resolved = BuildOptions & { t0: number; cwd: string; sourceRoot: string; variantDir: string; variantsRoot: string; pixelLimit: number; concurrency: number; hadOutputs: boolean };

async function buildWith(pool: WorkerPool<WorkerRequest, WorkerReply>, cfg: WorkerConfig, recipe: Recipe, opts: Resolved): Promise<BuildResult> {
  const { t0, sourceRoot, variantDir, variantsRoot, pixelLimit, concurrency } = opts;
  const shard = opts.shard ?? null;

  // 1. scan (its decode checks in the pool's threads) + split
  const scan = await scanSource(sourceRoot, {
    pixelLimit,
    concurrency,
    deferCacheWrite: true, // written once the first chunks are out (below), awaited before the build returns
    cacheFile: scanCacheFile(variantsRoot, sourceRoot),
    onProgress: (done, total) => opts.onProgress?.({ phase: 'scan', done, total }),
    checkBatch: async (check, limit) => {
      const rep = await pool.run({ check, pixelLimit: limit }, opts.signal).catch((e: unknown) => {
        throw new AugmentError('RETRYABLE', `build of ${recipe.name}: a build worker was lost while scanning the source (${e instanceof Error ? e.message : String(e)}); run the same command again`, { cause: e });
      });
      if (!rep) throw interrupted(opts.signal, `build of ${recipe.name}${shard ? ` (shard ${shard.index}/${shard.count})` : ''}`, 'while scanning the source');
      if (!('checked' in rep)) throw new Error('build worker answered a decode check with build results');
      return rep.checked;
    },
  });
  // The decode-check cache: written while the workers build (the main thread idles then), not
  // between the scan and the first chunk; always finished (or failed) before this returns.
  let cacheWrite: Promise<void> | undefined;
  const writeCache = () => (cacheWrite ??= scan.cacheWritten?.() ?? Promise.resolve());
  let result: BuildResult;
  try {
    result = await buildScanned(pool, recipe, opts, scan, writeCache);
  } catch (e) {
    await writeCache().catch(() => {}); // a source scanned is cached even when the build fails (as before)
    throw e;
  }
  await writeCache();
  return result;
}

async function buildScanned(pool: WorkerPool<WorkerRequest, WorkerReply>, recipe: Recipe, opts: Resolved, scan: ScanResult, writeCache: () => Promise<void>): Promise<BuildResult> {
  const { t0, sourceRoot, variantDir, variantsRoot, concurrency } = opts;
  const shard = opts.shard ?? null;
  if (scan.unreadable.length && opts.strict) {
    const u = scan.unreadable[0];
    throw new AugmentError(
      'BAD_IMAGE',
      `${join(sourceRoot, u.rel)}: ${u.reason}${scan.unreadable.length > 1 ? ` (and ${scan.unreadable.length - 1} more unreadable files)` : ''}; --strict makes this fatal`,
    );
  }
  if (scan.classes.length < 2) throw new AugmentError('BAD_DATASET', `${sourceRoot}: needs at least 2 class folders with readable images, found ${scan.classes.length}`);
  const split = await resolveSplit(sourceRoot, scan.files, recipe.split, join(variantsRoot, '.splits'));

  // 2. plan, and what is already done
  const plan = planBuild(recipe, split.record.files, { seeds: !!opts.prepare }); // seeds: filled by the keyer (below), with the keys
  if (opts.prepare) {
    const r = { name: recipe.name, variantDir, sourceRoot, splitFile: split.file, splitReused: split.reused, plan, written: 0, unchanged: 0, removed: 0 };
    return { ...r, unreadable: scan.unreadable, skipped: scan.skipped, ignored: scan.ignored, failed: [], seconds: (performance.now() - t0) / 1000, concurrency, prepared: true };
  }
  if (shard) {
    // `.shards/` before this shard's first train/ folder: a shard starting alongside, checking
    // refuseForeignFolder, sees a variant folder. (After the scan: a bad source writes nothing.)
    await mkdir(join(variantDir, SHARDS_DIR), { recursive: true });
    await unlink(doneFile(variantDir, shard)).catch(() => {});
    await removeOtherCountMarkers(variantDir, shard.count);
  }
  for (const j of plan.jobs) for (const o of j.outputs) assertInside(variantDir, o.out);
  await mkdir(variantDir, { recursive: true });
  const manifestFile = join(variantDir, MANIFEST_NAME);
  // A shard journals into its own part; it may reuse what a merged or one-machine build made.
  const journalFile = shard ? partManifestFile(variantDir, shard) : manifestFile;
  // Where each output's line is (not the entries: memory stays flat in the manifest's size).
  const manifestFiles = shard ? [manifestFile, journalFile] : [manifestFile];
  const journalIndex = manifestFiles.length - 1;
  const previous = await indexManifests(manifestFiles);
  // Keys up front where they are compared (a previous manifest) or fingerprinted (a shard); in a
  // fresh folder each chunk is keyed just before it is sent, so the first chunk goes out without
  // waiting for every output's key (the same keys, the same chunks).
  const keyOf = jobKeyer(recipe, scan);
  const allKeyed = shard || previous.size > 0 ? plan.jobs.map(keyOf) : null;
  const fingerprint = shard ? planFingerprint(allKeyed!.flatMap((j) => j.outputs.map((o, i) => ({ out: o.out, key: j.keys[i] })))) : '';
  const keyed: Array<SourceJob | KeyedJob> = shard ? ownedJobs(allKeyed!, shard) : (allKeyed ?? plan.jobs);
  const kept = new Map<string, LineRef>();
  // An output is kept when its manifest line has the same key and its file the same size; with
  // no manifest line at all (a fresh folder) every output is made, nothing to look up or stat.
  const todo =
    previous.size === 0
      ? keyed.filter((j) => j.outputs.length > 0)
      : (
          await Promise.all(
            (keyed as KeyedJob[]).map(async (j) => {
              const need: KeyedJob = { ...j, outputs: [], keys: [] };
              for (let i = 0; i < j.outputs.length; i++) {
                const o = j.outputs[i];
                const prev = previous.get(o.out);
                if (prev && prev.key === j.keys[i] && (await sizeOf(join(variantDir, o.out))) === prev.bytes) kept.set(o.out, prev);
                else {
                  need.outputs.push(o);
                  need.keys.push(j.keys[i]);
                }
              }
              return need;
            }),
          )
        ).filter((j) => j.outputs.length > 0);
  const removed = opts.hadOutputs
    ? await removeStale(
        variantDir,
        new Set(keyed.flatMap((j) => j.outputs.map((o) => o.out))),
        shard ? (rel) => shardOwns(shard, rel) : undefined,
      )
    : 0;

  // 3. make the missing outputs
  const total = todo.reduce((n, j) => n + j.outputs.length, 0);
  const fresh = new Map<string, LineRef>();
  const failed: BuildResult['failed'] = [];
  if (total > 0) {
    const journal = await ManifestJournal.open(journalFile);
    let done = 0;
    opts.onProgress?.({ phase: 'build', done, total });
    // At most a few chunks ahead of the pool's: a chunk is keyed when it is about to be sent.
    const ahead = pLimit(concurrency * 4);
    try {
      setImmediate(() => void writeCache().catch(() => {})); // after the first chunks are posted (microtasks); its error surfaces where it is awaited
      await Promise.all(
        chunk(todo, 24).map((unkeyed) =>
          ahead(async () => {
            if (opts.signal?.aborted) return; // nothing more is sent
            const jobs = unkeyed.map((j) => ('keys' in j ? j : keyOf(j)));
            const rep = await pool.run({ jobs }, opts.signal).catch((e: unknown) => {
              // A worker thread died (out of memory, a crash): the machine failed, not the input.
              throw new AugmentError('RETRYABLE', `build of ${recipe.name}: a build worker was lost (${e instanceof Error ? e.message : String(e)}); run the same command again to resume`, { cause: e });
            });
            if (!rep) return; // aborted before it was sent
            if (!('lines' in rep)) throw new Error('build worker answered a build chunk with decode checks');
            const io = rep.failures.find((f) => IO_FAILURE.test(f.reason));
            if (io) throw new AugmentError('RETRYABLE', `${io.source}: ${io.reason} (the machine or file system failed, not the image; run the same command again to resume)`);
            const at = journal.append(rep.lines);
            rep.outs.forEach((out, i) => fresh.set(out, { file: journalIndex, at: at[i], length: Buffer.byteLength(rep.lines[i]) }));
            failed.push(...rep.failures);
            done += jobs.reduce((n, j) => n + j.outputs.length, 0);
            opts.onProgress?.({ phase: 'build', done, total });
            if (opts.strict && rep.failures.length) throw new AugmentError('BAD_IMAGE', `${rep.failures[0].reason}; --strict makes this fatal`);
          }),
        ),
      );
    } finally {
      ahead.clearQueue(); // after a failure: the chunks not yet keyed are never sent
      await journal.close();
    }
    if (opts.signal?.aborted) throw interrupted(opts.signal, `build of ${recipe.name}${shard ? ` (shard ${shard.index}/${shard.count})` : ''}`, `after ${done} of ${total} files`);
  }

  // 4. the record: sorted manifest and variant.json (no timestamps: the tree is reproducible)
  let all = fresh; // nothing kept (a fresh folder): the new lines are all of it
  if (kept.size) {
    all = new Map(kept);
    for (const [out, ref] of fresh) all.set(out, ref);
  }
  const sorted = [...all.keys()].sort(); // UTF-16 code unit order, as a < b compares
  writeManifestFrom(journalFile, manifestFiles, (function* () {
    for (const out of sorted) yield all.get(out)!;
  })());
  failed.sort((a, b) => (a.source < b.source ? -1 : 1));
  const variantInfo = {
    name: recipe.name,
    recipeFile: recipe.file,
    recipe: { ...recipe, file: undefined },
    source: sourceRoot,
    splitFile: split.file,
    splitFingerprint: split.record.fingerprint,
    target: plan.target,
    perClass: plan.perClass,
    before: plan.before,
    after: plan.after,
    unreadable: scan.unreadable,
    skipped: scan.skipped,
    ignored: scan.ignored,
    failed,
    outputFormatVersion: OUTPUT_FORMAT_VERSION,
  };
  const planned = keyed.reduce((n, j) => n + j.outputs.length, 0);
  if (shard) {
    const done: ShardDone = { format: 'augment-shard-done', version: 1, shard, planFingerprint: fingerprint, planned, made: all.size, failed, variant: variantInfo };
    await writeJsonAtomic(doneFile(variantDir, shard), done);
  } else {
    await writeJsonAtomic(join(variantDir, VARIANT_FILE), stampVariantInfo(variantInfo));
    await rm(join(variantDir, SHARDS_DIR), { recursive: true, force: true }); // parts of an earlier sharded build
  }

  return {
    name: recipe.name,
    variantDir,
    sourceRoot,
    splitFile: split.file,
    splitReused: split.reused,
    plan,
    written: fresh.size,
    unchanged: kept.size,
    removed,
    unreadable: scan.unreadable,
    skipped: scan.skipped,
    ignored: scan.ignored,
    failed,
    seconds: (performance.now() - t0) / 1000,
    concurrency,
    ...(shard ? { shard: { ...shard, planned } } : {}),
  };
}

/** A scheduler's SIGTERM aborts with a RETRYABLE reason (exit 75); Ctrl-C is INTERRUPTED (130). */
function interrupted(signal: AbortSignal | undefined, what: string, when: string): AugmentError {
  const code = (signal?.reason as { code?: string } | undefined)?.code === 'RETRYABLE' ? 'RETRYABLE' : 'INTERRUPTED';
  const why = code === 'RETRYABLE' ? 'terminated' : 'interrupted';
  return new AugmentError(code, `${what} ${why} ${when}; run the same command again to resume`);
}

/** The jobs restricted to the outputs `shard` owns (a source's copies may fall in several shards). */
function ownedJobs(jobs: KeyedJob[], shard: Shard): KeyedJob[] {
  const out: KeyedJob[] = [];
  for (const j of jobs) {
    const idx = j.outputs.flatMap((o, i) => (shardOwns(shard, o.out) ? [i] : []));
    if (idx.length) out.push({ ...j, outputs: idx.map((i) => j.outputs[i]), keys: idx.map((i) => j.keys[i]) });
  }
  return out;
}

type KeyedJob = SourceJob & { keys: string[] };

/** A worker's per-file failure that is an I/O error (Node's "ENOSPC: no space left on device, write"), not a bad image. */
const IO_FAILURE = /^(EIO|ENOSPC|EDQUOT|EROFS|ESTALE|ETIMEDOUT|EMFILE|ENFILE|ENOMEM|EAGAIN|EBUSY)\b/;

/**
 * Keys one job at a time: each output's manifest key is deriveSeed(common, augment or '',
 * source, size, mtimeMs, seed, out), the recipe's and the scan's parts encoded once (seedParts),
 * not once per output.
 */
function jobKeyer(recipe: Recipe, scan: ScanResult): (j: SourceJob) => KeyedJob {
  const byRel = new Map(scan.files.map((f) => [f.rel, f]));
  const common = JSON.stringify([OUTPUT_FORMAT_VERSION, recipe.background, recipe.output]);
  const augment = JSON.stringify([recipe.ops ?? null, recipe.fill]);
  const original = seedParts(common, '');
  const copy = seedParts(common, augment);
  return (j) => {
    if (j.outputs.some((o) => !o.seed)) fillSeeds(recipe, j); // planned without seeds (planBuild's seeds: false)
    const f = byRel.get(j.source);
    if (!f) throw new Error(`${j.source}: planned from the split but not in the scan`);
    const file = seedParts(j.source, f.size, f.mtimeMs);
    const keys = new Array<string>(j.outputs.length);
    for (let i = 0; i < keys.length; i++) {
      const o = j.outputs[i];
      keys[i] = seedOf((o.copy > 0 ? copy : original) + file + seedParts(o.seed, o.out));
    }
    return { ...j, keys };
  };
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return -1;
  }
}

/**
 * An output path (relative, from planBuild) that could leave the output folder: absolute, a
 * drive, or with a `..` segment (on Windows a backslash separates too). Outputs are safe by
 * construction (a split name, a class folder's name and the file's path under it, all names
 * read from the source by the scan, which resolveSplit checks a reused split file against);
 * this is the check that holds even so, lexical, without resolving every path.
 */
export function outputEscapes(rel: string): boolean {
  if (rel === '' || rel.includes('\0')) return true;
  // POSIX: without '..' anywhere only a leading '/' can escape (the regex's other branch needs a '..')
  if (process.platform !== 'win32') return rel.charCodeAt(0) === 47 || (rel.includes('..') && POSIX_ESCAPE.test(rel));
  return WIN_ESCAPE.test(rel);
}
const POSIX_ESCAPE = /^\/|(?:^|\/)\.\.(?:\/|$)/;
const WIN_ESCAPE = /^[\\/]|^[A-Za-z]:|(?:^|[\\/])\.\.(?:[\\/]|$)/;

function assertInside(root: string, rel: string): void {
  if (outputEscapes(rel)) throw new AugmentError('UNSAFE_PATH', `${rel}: output path escapes the output folder ${root}`);
}

/** Refuses to build into a non-empty folder that is not an augment variant; returns the names in it (none: absent). */
async function refuseForeignFolder(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  if (names.length === 0 || names.includes(MANIFEST_NAME) || names.includes(VARIANT_FILE) || names.includes(SHARDS_DIR)) return names;
  throw new AugmentError('UNSAFE_PATH', `${dir}: output folder exists and is not an augment variant (no ${MANIFEST_NAME}); refusing to write into it`);
}

/**
 * Deletes files under train/valid/test that the plan does not make (a changed recipe), and stray
 * temp files; a shard (`owns`) only those that hash to it, so it never touches another's outputs.
 */
export async function removeStale(variantDir: string, planned: Set<string>, owns?: (rel: string) => boolean): Promise<number> {
  // imported here: loading fast-glob costs ~80 ms, and a build into a fresh folder never gets here
  const { default: fg } = await import('fast-glob');
  const files = await fg(`{${SPLITS.join(',')}}/**`, { cwd: variantDir, dot: true, onlyFiles: true });
  let removed = 0;
  for (const f of files) {
    if (planned.has(f) || (owns && !owns(f))) continue;
    await unlink(join(variantDir, f)).catch(() => {});
    if (!basename(f).endsWith('.tmp')) removed++;
  }
  return removed;
}

function chunk<T extends { outputs: unknown[] }>(jobs: T[], outputsPerChunk: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let n = 0;
  for (const j of jobs) {
    cur.push(j);
    n += j.outputs.length;
    if (n >= outputsPerChunk) {
      out.push(cur);
      cur = [];
      n = 0;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}


