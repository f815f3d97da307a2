/**
 * A built variant's on-disk format: the one module that says what a variant folder holds.
 * `augment build` and `augment merge` write it; `stats`, `audit`, `evaluate`, `report` and
 * the decode cache read it. Everything else imports the names from here.
 *
 *   <variant>/
 *     variant.json                 VARIANT_FILE: what was built (recipe, source, split file,
 *                                  counts before/after, skipped and failed sources) and the
 *                                  format's name and version; no timestamps, so that the tree
 *                                  is reproducible byte for byte
 *     manifest.jsonl               MANIFEST_NAME (./manifest.ts): one line per output file,
 *                                  sorted by path: source, split, copy, seed, ops, sha256
 *     train/<class>/<file>.png     SPLITS: the three splits; only train is augmented or
 *     valid/<class>/<file>.png       undersampled, valid and test are the sources' own pictures
 *     test/<class>/<file>.png        (re-encoded as 8-bit RGB; a source that is a plain 8-bit
 *                                  RGB PNG is kept byte for byte)
 *     .shards/                     SHARDS_DIR (src/cluster/parts.ts): a sharded build's parts,
 *                                  removed by the merge
 *
 * Images, in a source or in a variant, are the files whose extension is one of
 * IMAGE_EXTENSIONS (any case); folders are walked by src/dataset/walk.ts (device and inode:
 * a link loop is walked once).
 *
 * Versions: VARIANT_FORMAT_VERSION is the layout (bump when a reader of an older variant
 * would misread it; a reader refuses a newer one with a clear error); OUTPUT_FORMAT_VERSION is
 * the bytes a given manifest key produces (codec or op implementation changes; a build then
 * remakes the files).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AugmentError } from '../errors.ts';

export const VARIANT_FORMAT = 'augment-variant';
export const VARIANT_FORMAT_VERSION = 1;
/** Bump when the bytes a given key produces change (codec or op implementation changes). */
export const OUTPUT_FORMAT_VERSION = 4; // 2: PNG filter chosen per picture, zlib level 2; 3: zlib level 1 + Z_RLE, the flat test on 16 rows (src/image/png.ts); 4: an unchanged picture (the original, a copy without ops) of a plain 8-bit RGB PNG is the source's bytes (src/variant/worker.ts), the warp and blur kernels of c261a90 and 5aca0e4

export const VARIANT_FILE = 'variant.json';
export const MANIFEST_NAME = 'manifest.jsonl';
export const SHARDS_DIR = '.shards';

export const SPLITS = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif'] as const;

/** True for a file name with one of IMAGE_EXTENSIONS (any case). */
export function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return false; // no extension, or a hidden file's name
  const ext = name.slice(dot + 1).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

/** The folder of one split of a variant. */
export function splitDir(variantDir: string, split: SplitName): string {
  return join(variantDir, split);
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** True when `dir` looks like a built variant: variant.json, or all three split folders. */
export async function isVariantDir(dir: string): Promise<boolean> {
  if (await stat(join(dir, VARIANT_FILE)).then((s) => s.isFile(), () => false)) return true;
  for (const s of SPLITS) if (!(await isDir(splitDir(dir, s)))) return false;
  return true;
}

/** What variant.json holds besides the format's name and version (written by the build). */
export type VariantInfo = Record<string, any>;

/** variant.json with its format stamp, as `augment build` and `augment merge` write it. */
export function stampVariantInfo(info: VariantInfo): VariantInfo {
  return { format: VARIANT_FORMAT, formatVersion: VARIANT_FORMAT_VERSION, ...info };
}

/**
 * Reads `<dir>/variant.json`: null when there is none or it is not JSON (a variant made by
 * hand or by another tool: readers then count the files). A variant written by a newer
 * augment (a higher formatVersion) is refused, naming the file, rather than misread.
 */
export async function readVariantInfo(dir: string): Promise<VariantInfo | null> {
  let info: unknown;
  try {
    info = JSON.parse(await readFile(join(dir, VARIANT_FILE), 'utf8'));
  } catch {
    return null;
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return null;
  const v = (info as VariantInfo).formatVersion;
  if (typeof v === 'number' && v > VARIANT_FORMAT_VERSION) {
    throw new AugmentError(
      'BAD_DATASET',
      `${join(dir, VARIANT_FILE)}: variant format version ${v} is newer than this augment reads (${VARIANT_FORMAT_VERSION}); upgrade augment or rebuild the variant`,
    );
  }
  return info as VariantInfo;
}

/** Writes JSON through a unique temp name and a rename: readers see the old file or the new one. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`; // unique across machines (containers are all pid 1)
  await writeFile(tmp, JSON.stringify(value, null, 1) + '\n');
  await rename(tmp, file);
}
