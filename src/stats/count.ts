/**
 * Per-class image counts of a dataset folder.
 *
 * - plain: `<root>/<class>/**\/<image>` -> `{ kind: 'plain', all }`;
 * - variant (a built dataset): `<root>/{train,valid,test}/<class>/**\/<image>` ->
 *   `{ kind: 'variant', train, valid, test, before? }`, where `before` is the source's
 *   train split as recorded in the split file named by `<root>/variant.json`.
 *
 * Images are recognised by extension (case-insensitive); hidden files and folders are
 * ignored. A class folder with no images counts 0; a class missing from one split of a
 * variant counts 0 there, so every split lists the same classes.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { walkSource } from '../dataset/walk.ts';
import { AugmentError } from '../errors.ts';
import { SPLITS, VARIANT_FILE, isImageName, isVariantDir, splitDir, type SplitName } from '../variant/format.ts';


export type ClassCounts = Record<string, number>;

export interface PlainCounts {
  kind: 'plain';
  all: ClassCounts;
}

export interface VariantCounts {
  kind: 'variant';
  train: ClassCounts;
  valid: ClassCounts;
  test: ClassCounts;
  /** The source's train split (from the split file), when variant.json names a readable one. */
  before?: ClassCounts;
  /** Absolute source root from variant.json, when present. */
  source?: string;
  /** Absolute split file from variant.json, when present. */
  splitFile?: string;
  /** Why `before` is missing although variant.json exists. */
  note?: string;
}

export type DatasetCounts = PlainCounts | VariantCounts;

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Counts images per class folder directly under `root` (classes sorted by name). */
export async function countClasses(root: string): Promise<ClassCounts> {
  const entries = await readdir(root, { withFileTypes: true });
  const classes: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(root, e.name))))) classes.push(e.name);
  }
  classes.sort();
  const counts: ClassCounts = {};
  for (const c of classes) counts[c] = 0;
  if (classes.length === 0) return counts;
  // the scan's own walk: a link loop (class/loop -> ..) is not counted again and again
  for (const f of (await walkSource(root, root, { isImageName })).files) if (f.class in counts) counts[f.class]++;
  return counts;
}


function total(c: ClassCounts): number {
  let n = 0;
  for (const v of Object.values(c)) n += v;
  return n;
}

/** Counts per class of the train split recorded in a split file. */
export async function countSplitFileTrain(splitFile: string): Promise<ClassCounts> {
  const rec = JSON.parse(await readFile(splitFile, 'utf8')) as { files?: { train?: Record<string, unknown> } };
  const train = rec?.files?.train;
  if (!train || typeof train !== 'object') throw new Error('no files.train');
  const out: ClassCounts = {};
  for (const c of Object.keys(train).sort()) {
    const list = train[c];
    if (!Array.isArray(list)) throw new Error(`files.train.${c} is not a list`);
    out[c] = list.length;
  }
  return out;
}

/**
 * Per-class counts of `dir` (plain or variant, detected). Throws an AugmentError naming
 * `dir` when it does not exist, is not a folder, or holds no class folders with images.
 */
export async function countDataset(dir: string): Promise<DatasetCounts> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new AugmentError('NOT_FOUND', `${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new AugmentError('BAD_DATASET', `${dir}: not a folder (expected <dir>/<class>/<images>)`);

  if (await isVariantDir(dir)) {
    const split: Record<SplitName, ClassCounts> = { train: {}, valid: {}, test: {} };
    for (const s of SPLITS) if (await isDir(splitDir(dir, s))) split[s] = await countClasses(splitDir(dir, s));
    const result: VariantCounts = { kind: 'variant', ...split };
    try {
      const meta = JSON.parse(await readFile(join(dir, VARIANT_FILE), 'utf8')) as { source?: unknown; splitFile?: unknown };
      if (typeof meta.source === 'string') result.source = meta.source;
      if (typeof meta.splitFile === 'string') {
        result.splitFile = resolve(dir, meta.splitFile);
        try {
          result.before = await countSplitFileTrain(result.splitFile);
        } catch (e) {
          result.note = `split file ${meta.splitFile} unreadable (${(e as Error).message}): no "before" counts`;
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') result.note = `variant.json unreadable (${(e as Error).message})`;
    }
    // every split (and before) lists the same classes
    const classes = new Set<string>();
    for (const c of [result.train, result.valid, result.test, result.before ?? {}]) for (const k of Object.keys(c)) classes.add(k);
    const sorted = [...classes].sort();
    for (const s of SPLITS) result[s] = fill(result[s], sorted);
    if (result.before) result.before = fill(result.before, sorted);
    if (total(result.train) + total(result.valid) + total(result.test) === 0) {
      throw new AugmentError('BAD_DATASET', `${dir}: a variant folder with no images in train/, valid/ or test/`);
    }
    return result;
  }

  const all = await countClasses(dir);
  if (total(all) === 0) {
    throw new AugmentError('BAD_DATASET', `${dir}: no class folders with images (expected ${dir}/<class>/<image>.png)`);
  }
  return { kind: 'plain', all };
}

function fill(c: ClassCounts, classes: string[]): ClassCounts {
  const out: ClassCounts = {};
  for (const k of classes) out[k] = c[k] ?? 0;
  return out;
}

/** The `--json` shape: `{ all }` for plain, `{ train, valid, test }` for a variant. */
export function countsToJson(c: DatasetCounts): Record<string, ClassCounts> {
  return c.kind === 'plain' ? { all: c.all } : { train: c.train, valid: c.valid, test: c.test };
}

/** max/min over classes (Infinity when a class has 0 and another has more; NaN when empty). */
export function imbalanceRatio(c: ClassCounts): number {
  const v = Object.values(c);
  if (v.length === 0) return NaN;
  const max = Math.max(...v);
  const min = Math.min(...v);
  if (max === 0) return NaN;
  return min === 0 ? Infinity : max / min;
}
