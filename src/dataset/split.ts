/**
 * Seeded, stratified, grouped train/valid/test split.
 *
 * Within each class, files are gathered into groups (the first capture of `group`, a regex
 * over the file's base name without extension; no pattern = one file per group), the groups
 * are shuffled with a seed derived from (split seed, class), and each group goes to the split
 * that is furthest below its target count. With single-file groups the counts are exact:
 * valid = round(n * rv), test = round(n * rt), train = the rest. A group never straddles splits.
 *
 * The split is a pure function of (file list, ratios, seed, group pattern); it is also written
 * to a split file that every variant built from that source and seed points to.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { AugmentError } from '../errors.ts';
import { deriveSeed, rngFor } from '../rng.ts';
import type { SourceFile } from './scan.ts';

export const SPLITS = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface SplitOptions {
  ratios: [number, number, number];
  seed: number;
  /** Regex source; the first capture group (or the whole match) of a base name is its group key. */
  group?: string;
}

export type SplitFiles = Record<SplitName, Record<string, string[]>>;

export interface SplitRecord {
  source: string;
  seed: number;
  ratios: [number, number, number];
  group: string | null;
  /** Fingerprint of the file list and options; a changed source gives a new split file. */
  fingerprint: string;
  files: SplitFiles;
}

export function groupKeyOf(rel: string, pattern: RegExp | null): string {
  const stem = basename(rel, extname(rel));
  if (!pattern) return rel;
  const m = pattern.exec(stem);
  if (!m) return rel;
  const key = m[1] ?? m[0];
  // keep sub-folders apart: only names in one folder share a group
  const dir = rel.slice(0, rel.length - basename(rel).length);
  return dir + key;
}

export function compileGroupPattern(group: string | undefined, where = 'split.group'): RegExp | null {
  if (!group) return null;
  try {
    return new RegExp(group, 'u');
  } catch (e: any) {
    throw new AugmentError('BAD_RECIPE', `${where}: not a valid regular expression (${e.message})`);
  }
}

export function splitFiles(files: readonly SourceFile[], opts: SplitOptions): SplitFiles {
  const pattern = compileGroupPattern(opts.group);
  const byClass = new Map<string, string[]>();
  for (const f of files) {
    const list = byClass.get(f.class) ?? [];
    list.push(f.rel);
    byClass.set(f.class, list);
  }
  const out: SplitFiles = { train: {}, valid: {}, test: {} };
  const total = opts.ratios[0] + opts.ratios[1] + opts.ratios[2];
  const ratios = opts.ratios.map((r) => r / total);
  for (const cls of [...byClass.keys()].sort()) {
    const rels = byClass.get(cls)!.slice().sort();
    const groups = new Map<string, string[]>();
    for (const rel of rels) {
      const k = groupKeyOf(rel, pattern);
      const g = groups.get(k) ?? [];
      g.push(rel);
      groups.set(k, g);
    }
    const n = rels.length;
    const valid = Math.round(n * ratios[1]);
    const test = Math.round(n * ratios[2]);
    const targets = [n - valid - test, valid, test];
    const counts = [0, 0, 0];
    const assigned: string[][] = [[], [], []];
    const order = rngFor('split', opts.seed, cls).shuffle([...groups.keys()].sort());
    for (const k of order) {
      const g = groups.get(k)!;
      // furthest below target (relative to the group size); ties: train, valid, test
      let best = 0;
      let bestGap = -Infinity;
      for (let s = 0; s < 3; s++) {
        const gap = targets[s] - counts[s] - (g.length - 1) / 2;
        if (gap > bestGap + 1e-9) {
          best = s;
          bestGap = gap;
        }
      }
      counts[best] += g.length;
      assigned[best].push(...g);
    }
    SPLITS.forEach((s, i) => (out[s][cls] = assigned[i].sort()));
  }
  return out;
}

export function splitFingerprint(files: readonly SourceFile[], opts: SplitOptions): string {
  return deriveSeed('split', JSON.stringify(opts.ratios), opts.seed, opts.group ?? '', ...files.map((f) => `${f.rel}:${f.size}`)).slice(0, 12);
}

/**
 * Returns the split of `files`, reusing the split file for (source, options) when it exists
 * and writing it otherwise. The file lives in `<splitsDir>/<sourceName>.seed<seed>.<fingerprint>.json`.
 */
export async function resolveSplit(
  sourceRoot: string,
  files: readonly SourceFile[],
  opts: SplitOptions,
  splitsDir: string,
): Promise<{ record: SplitRecord; file: string; reused: boolean }> {
  const fingerprint = splitFingerprint(files, opts);
  const file = join(splitsDir, `${basename(sourceRoot)}.seed${opts.seed}.${fingerprint}.json`);
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as SplitRecord;
    if (record.fingerprint === fingerprint) return { record, file, reused: true };
  } catch {
    /* absent or unreadable: write it anew */
  }
  const record: SplitRecord = {
    source: sourceRoot,
    seed: opts.seed,
    ratios: opts.ratios,
    group: opts.group ?? null,
    fingerprint,
    files: splitFiles(files, opts),
  };
  await mkdir(splitsDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(record, null, 1) + '\n');
  await rename(tmp, file);
  return { record, file, reused: false };
}
