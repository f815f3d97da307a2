/**
 * Seeded, stratified, grouped train/valid/test split.
 *
 * Files are joined into groups that never straddle splits: the recipe's name pattern
 * (`group`: the first capture of a regex over the base name without extension, within one
 * folder), exact duplicates (the same decoded pixels) and near duplicates (pHash within
 * `nearDistance` bits, flips and 90-degree rotations matching), as `duplicates` says
 * (./dedupe.ts). Within each class the groups are shuffled with a seed derived from (split seed,
 * class), and each group goes to the split that is furthest below its target count. A group
 * that spans classes (near duplicates under two labels; the same pixels under two labels never
 * reach here, the scan leaves them out as label conflicts) is placed first, in an order seeded
 * by the split seed, where the classes it touches are furthest below target together. With
 * single-file groups the counts are exact: valid = round(n * rv), test = round(n * rt), train =
 * the rest.
 *
 * The split is a pure function of (file list with its content hashes, options); it is also
 * written to a split file that every variant built from that source and seed points to.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, extname, join, sep } from 'node:path';
import { AugmentError } from '../errors.ts';
import { deriveSeed, rngFor } from '../rng.ts';
import type { SourceFile } from './scan.ts';
import { DEFAULT_NEAR_DISTANCE, autoGroupCap, duplicateComponents, type DedupeOptions, type DuplicateMode } from './dedupe.ts';

import { SPLITS, type SplitName } from '../variant/format.ts';

export interface SplitOptions extends Omit<DedupeOptions, 'maxGroup'> {
  /**
   * Largest near-linked group (./dedupe.ts). `auto` (default): half the smaller of a class's
   * valid and test counts, for the smallest class the group touches (at least 2), so that one
   * group cannot take more than half of a split's share of any class.
   */
  maxGroup?: number | 'auto';
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
  duplicates: DuplicateMode;
  nearDistance: number;
  maxGroup: number | 'auto';
  /** Groups of two or more files that share a split (name pattern, exact and near duplicates), by path. */
  groups: string[][];
  /** Fingerprint of the file list and options; a changed source gives a new split file. */
  fingerprint: string;
  files: SplitFiles;
}

export function groupKeyOf(rel: string, pattern: RegExp | null): string {
  if (!pattern) return rel;
  // the base name and its stem, as basename(rel) and basename(rel, extname(rel)) give them (a
  // POSIX path not ending in '/': the name is what follows the last '/')
  const plain = sep === '/' && !rel.endsWith('/');
  const name = plain ? rel.slice(rel.lastIndexOf('/') + 1) : basename(rel);
  const ext = plain ? extname(name) : '';
  const stem = plain ? name.slice(0, name.length - ext.length) : basename(rel, extname(rel));
  const m = pattern.exec(stem);
  if (!m) return rel;
  const key = m[1] ?? m[0];
  // keep sub-folders apart: only names in one folder share a group
  const dir = rel.slice(0, rel.length - name.length);
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
  return splitWithGroups(files, opts).files;
}

/** The split and the groups it kept together (two or more files each, paths sorted). */
export function splitWithGroups(files: readonly SourceFile[], opts: SplitOptions): { files: SplitFiles; groups: string[][] } {
  const pattern = compileGroupPattern(opts.group);
  const sorted = files.slice().sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const keys = sorted.map((f) => groupKeyOf(f.rel, pattern));
  const fixed: Array<[number, number]> = [];
  const firstOf = new Map<string, number>();
  keys.forEach((k, i) => {
    const first = firstOf.get(k);
    if (first === undefined) firstOf.set(k, i);
    else fixed.push([first, i]);
  });
  const total = opts.ratios[0] + opts.ratios[1] + opts.ratios[2];
  const ratios = opts.ratios.map((r) => r / total);
  const classes = [...new Set(sorted.map((f) => f.class))].sort();
  const state = new Map<string, { targets: number[]; counts: number[]; assigned: string[][] }>(); // per class
  const perClass = new Map<string, number>();
  for (const f of sorted) perClass.set(f.class, (perClass.get(f.class) ?? 0) + 1);
  for (const cls of classes) {
    const n = perClass.get(cls)!;
    const valid = Math.round(n * ratios[1]);
    const test = Math.round(n * ratios[2]);
    state.set(cls, { targets: [n - valid - test, valid, test], counts: [0, 0, 0], assigned: [[], [], []] });
  }
  const autoCap = autoGroupCap((i) => sorted[i].class, (cls) => state.get(cls)!.targets.slice(1));
  const maxGroup = opts.maxGroup ?? 'auto';
  const { components } = duplicateComponents(sorted, fixed, { ...opts, maxGroup: maxGroup === 'auto' ? autoCap : maxGroup });
  type ClassState = { targets: number[]; counts: number[]; assigned: string[][] };
  interface Group {
    key: string;
    rels: string[];
    /** The classes it touches, in the order its files (sorted) meet them; their states; its files under each. */
    names: string[];
    states: ClassState[];
    byClass: string[][];
  }
  const groups: Group[] = components.map((c) => {
    if (c.length === 1) {
      const f = sorted[c[0]];
      const rels = [f.rel];
      return { key: keys[c[0]], rels, names: [f.class], states: [state.get(f.class)!], byClass: [rels] };
    }
    const names: string[] = [];
    const byClass: string[][] = [];
    let key = keys[c[0]];
    for (const i of c) {
      const k = names.indexOf(sorted[i].class);
      if (k >= 0) byClass[k].push(sorted[i].rel);
      else {
        names.push(sorted[i].class);
        byClass.push([sorted[i].rel]);
      }
      if (keys[i] < key) key = keys[i];
    }
    return { key, rels: c.map((i) => sorted[i].rel), names, states: names.map((n) => state.get(n)!), byClass };
  });
  // furthest below target over the classes the group touches (relative to its size); ties: train, valid, test
  const place = (g: Group) => {
    let best = 0;
    let bestGap = -Infinity;
    for (let s = 0; s < 3; s++) {
      let gap = 0;
      for (let k = 0; k < g.states.length; k++) {
        const st = g.states[k];
        gap += st.targets[s] - st.counts[s] - (g.byClass[k].length - 1) / 2;
      }
      if (gap > bestGap + 1e-9) {
        best = s;
        bestGap = gap;
      }
    }
    for (let k = 0; k < g.states.length; k++) {
      const st = g.states[k];
      st.counts[best] += g.byClass[k].length;
      for (const rel of g.byClass[k]) st.assigned[best].push(rel);
    }
  };
  // groups by key, shuffled: the order a shuffle of their sorted keys gives (keys are unique: files
  // with one name key are joined, and a group's key is the least of its files')
  const inOrder = (list: Group[], ...seed: Array<string | number>) => {
    const byKey = list.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const g of rngFor('split', opts.seed, ...seed).shuffle(byKey)) place(g);
  };
  const spanning: Group[] = [];
  const within = new Map<string, Group[]>(classes.map((c) => [c, []]));
  for (const g of groups) {
    if (g.names.length > 1) spanning.push(g);
    else within.get(g.names[0])!.push(g);
  }
  inOrder(spanning, '\u0000classes');
  for (const cls of classes) inOrder(within.get(cls)!, cls);

  const out: SplitFiles = { train: {}, valid: {}, test: {} };
  for (const cls of classes) SPLITS.forEach((s, i) => (out[s][cls] = state.get(cls)!.assigned[i].sort()));
  return { files: out, groups: groups.filter((g) => g.rels.length > 1).map((g) => g.rels) };
}

/** Bump when the same inputs give another split (2: content groups, symmetric near distance). */
const SPLIT_VERSION = 2;

export function splitFingerprint(files: readonly SourceFile[], opts: SplitOptions): string {
  const dedupe = `${opts.duplicates ?? 'near'}:${opts.nearDistance ?? DEFAULT_NEAR_DISTANCE}:${opts.maxGroup ?? 'auto'}`;
  const list = files.map((f) => `${f.rel}:${f.size}:${f.pixels ?? ''}`).sort();
  return deriveSeed('split', SPLIT_VERSION, JSON.stringify(opts.ratios), opts.seed, opts.group ?? '', dedupe, ...list).slice(0, 12);
}

/**
 * True when `split` holds every file of `files` exactly once, under its own class: a split file
 * read back is only trusted this far (a build names its outputs after these classes and paths,
 * so they must be the scan's).
 */
function partitions(split: SplitFiles, files: readonly SourceFile[]): boolean {
  const classOf = new Map<string, string>();
  for (const f of files) classOf.set(f.rel, f.class);
  const placed = new Set<string>();
  for (const s of SPLITS) {
    const byClass = split?.[s];
    if (!byClass || typeof byClass !== 'object') return false;
    for (const cls of Object.keys(byClass)) {
      const list = byClass[cls];
      if (!Array.isArray(list)) return false;
      for (const rel of list) {
        if (classOf.get(rel) !== cls || placed.has(rel)) return false;
        placed.add(rel);
      }
    }
  }
  return placed.size === classOf.size;
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
    if (record.fingerprint === fingerprint && partitions(record.files, files)) return { record, file, reused: true };
  } catch {
    /* absent or unreadable: write it anew */
  }
  const split = splitWithGroups(files, opts);
  const record: SplitRecord = {
    source: sourceRoot,
    seed: opts.seed,
    ratios: opts.ratios,
    group: opts.group ?? null,
    duplicates: opts.duplicates ?? 'near',
    nearDistance: opts.nearDistance ?? DEFAULT_NEAR_DISTANCE,
    maxGroup: opts.maxGroup ?? 'auto',
    groups: split.groups,
    fingerprint,
    files: split.files,
  };
  await mkdir(splitsDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`; // build shards write it at once (in containers all pid 1)
  await writeFile(tmp, JSON.stringify(record, null, 1) + '\n');
  await rename(tmp, file);
  return { record, file, reused: false };
}
