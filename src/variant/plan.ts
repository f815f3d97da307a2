/**
 * Compiles a recipe, the scanned source and its split into plain JSON jobs, before any worker
 * sees them: which train files survive undersampling, how many copies each gets, and the name
 * and seed of every output file. Only the train split is undersampled or oversampled; valid
 * and test are the split's files, once each.
 */
import { extname } from 'node:path';
import { AugmentError } from '../errors.ts';
import { rngFor, seedOf, seedParts } from '../rng.ts';
import type { Recipe } from '../recipe/load.ts';
import type { SplitFiles } from '../dataset/split.ts';
import { SPLITS, type SplitName } from './format.ts';

export interface OutputSpec {
  /** Path relative to the variant folder, POSIX separators. */
  out: string;
  /** 0 = the original (re-encoded, untouched pixels); 1.. = augmented copies. */
  copy: number;
  /** Seed of this output's RNG: derived from (recipe seed, class, source path, copy). */
  seed: string;
}

export interface SourceJob {
  split: SplitName;
  class: string;
  /** Source path relative to the source root. */
  source: string;
  outputs: OutputSpec[];
}

export type Counts = Record<SplitName, Record<string, number>>;

export interface ClassPlan {
  /** Train files in the split. */
  train: number;
  /** Train files kept after undersampling. */
  kept: number;
  /** Images per kept train file (1 = original only), before any cap. */
  perImage: number;
  /** Train outputs in the variant. */
  outputs: number;
}

export interface Plan {
  classes: string[];
  target: number | null;
  perClass: Record<string, ClassPlan>;
  before: Counts;
  after: Counts;
  jobs: SourceJob[];
}

export interface PlanOptions {
  /**
   * false: every output's `seed` is left '' for the caller to fill in with `fillSeeds` (a build
   * derives them chunk by chunk, just before a chunk is sent, not all before the first).
   */
  seeds?: boolean;
}

export function planBuild(recipe: Recipe, split: SplitFiles, opts: PlanOptions = {}): Plan {
  const seeds = opts.seeds ?? true;
  const classes = Object.keys(split.train).sort();
  const ext = recipe.output.format === 'jpeg' ? 'jpg' : recipe.output.format;
  const before = countOf(split);

  // 1. undersample (train only, seeded choice)
  const train: Record<string, string[]> = {};
  const under = undersampledClasses(recipe, before.train);
  for (const c of classes) {
    const files = split.train[c];
    if (!under.has(c)) {
      train[c] = files;
      continue;
    }
    const keep = Math.max(1, Math.round(files.length * recipe.undersample!.keep));
    train[c] = rngFor(recipe.seed, 'undersample', c).shuffle(files).slice(0, keep).sort();
  }

  // 2. oversample: copies per image
  const o = recipe.oversample;
  const sizes = classes.map((c) => train[c].length);
  const target = o ? (o.target === 'largest' ? Math.max(...sizes) : o.target) : null;
  const perClass: Record<string, ClassPlan> = {};
  const jobs: SourceJob[] = [];
  const bases: string[] = []; // each job's output name without suffix: `<split>/<source without extension>`
  for (const c of classes) {
    const n = train[c].length;
    let perImage = 1;
    if (o && target !== null && n > 0) {
      if ('maxFactor' in o) perImage = Math.max(1, Math.min(o.maxFactor, Math.floor(target / n)));
      else perImage = tierFor(o.tiers, target / n);
    }
    // which (file, copy) pairs survive a cap back to the target
    let allowed: Set<string> | null = null;
    if (o && 'tiers' in o && o.cap && target !== null && n * perImage > Math.max(target, n)) {
      const pairs: string[] = [];
      for (const f of train[c]) for (let i = 1; i < perImage; i++) pairs.push(`${i}\u0000${f}`);
      allowed = new Set(rngFor(recipe.seed, 'cap', c).shuffle(pairs.sort()).slice(0, Math.max(0, target - n)));
    }
    let outputs = 0;
    for (const f of train[c]) {
      const copies = [0];
      for (let i = 1; i < perImage; i++) if (!allowed || allowed.has(`${i}\u0000${f}`)) copies.push(i);
      outputs += copies.length;
      jobs.push(job(recipe, 'train', c, f, copies, ext, seeds, bases));
    }
    perClass[c] = { train: split.train[c].length, kept: n, perImage, outputs };
  }
  for (const s of ['valid', 'test'] as const) for (const c of classes) for (const f of split[s][c] ?? []) jobs.push(job(recipe, s, c, f, [0], ext, seeds, bases));

  disambiguate(jobs, bases, ext);
  const after: Counts = { train: {}, valid: {}, test: {} };
  for (const j of jobs) after[j.split][j.class] = (after[j.split][j.class] ?? 0) + j.outputs.length;
  for (const s of SPLITS) for (const c of classes) after[s][c] ??= 0;
  return { classes, target, perClass, before, after, jobs };
}

function undersampledClasses(recipe: Recipe, trainCounts: Record<string, number>): Set<string> {
  const u = recipe.undersample;
  if (!u) return new Set();
  if ('classes' in u) {
    const missing = u.classes.filter((c) => !(c in trainCounts));
    if (missing.length)
      throw new AugmentError(
        'BAD_RECIPE',
        `${recipe.file}: undersample.classes: no class named ${missing.map((m) => `"${m}"`).join(', ')} in the source (classes: ${Object.keys(trainCounts).join(', ')})`,
      );
    return new Set(u.classes);
  }
  const byCount = Object.keys(trainCounts).sort((a, b) => trainCounts[b] - trainCounts[a] || (a < b ? -1 : 1));
  return new Set(byCount.slice(0, u.largest));
}

/**
 * Images per original for the tier mode: the smallest tier that reaches round(target / n), or
 * the largest tier. A class within 1.5x of the target keeps only its originals (tier 1); the
 * others overshoot and are cut back to the target by the cap, as in the seed's table.
 */
export function tierFor(tiers: readonly number[], ratio: number): number {
  const want = Math.max(1, Math.round(ratio));
  const sorted = [...tiers].sort((a, b) => a - b);
  return sorted.find((t) => t >= want) ?? sorted[sorted.length - 1];
}

function job(recipe: Recipe, split: SplitName, cls: string, source: string, copies: number[], ext: string, seeds: boolean, bases: string[]): SourceJob {
  // the path inside the class folder, its folders and its name without extension (what
  // posix.dirname and posix.basename(sub, extname(sub)) give: names are never '.' or '..')
  const sub = source.slice(cls.length + 1);
  const cut = sub.lastIndexOf('/') + 1;
  const name = sub.slice(cut);
  const dot = extname(name).length;
  const base = `${split}/${cls}/${sub.slice(0, cut)}${dot ? name.slice(0, name.length - dot) : name}`;
  bases.push(base);
  const outputs: OutputSpec[] = new Array(copies.length);
  for (let i = 0; i < copies.length; i++) {
    const copy = copies[i];
    outputs[i] = { out: copy ? `${base}.aug${copy}.${ext}` : `${base}.${ext}`, copy, seed: '' };
  }
  const j: SourceJob = { split, class: cls, source, outputs };
  if (seeds) fillSeeds(recipe, j);
  return j;
}

/** Sets each output's seed, deriveSeed(recipe seed, class, source, copy), the shared parts encoded once. */
export function fillSeeds(recipe: Recipe, j: SourceJob): void {
  const seedBase = seedParts(recipe.seed, j.class, j.source);
  for (const o of j.outputs) o.seed = seedOf(seedBase + seedParts(o.copy));
}

/** Sources that share a stem in one folder (a.png, a.jpg) keep their extension in the output name; `keys`: each job's `<split>/<source without extension>`. */
function disambiguate(jobs: SourceJob[], keys: readonly string[], ext: string): void {
  const stemOwners = new Map<string, number>();
  for (const k of keys) stemOwners.set(k, (stemOwners.get(k) ?? 0) + 1);
  const seen = new Set<string>();
  for (let n = 0; n < jobs.length; n++) {
    const j = jobs[n];
    if (stemOwners.get(keys[n])! > 1) {
      const srcExt = extname(j.source).slice(1).toLowerCase();
      for (const o of j.outputs) o.out = o.out.replace(new RegExp(`(\\.aug\\d+)?\\.${ext}$`), (m) => `.${srcExt}${m}`);
    }
    for (const o of j.outputs) {
      const key = o.out.toLowerCase();
      if (seen.has(key)) throw new AugmentError('BAD_DATASET', `${j.source}: its output name ${o.out} clashes with another file's (rename one of them)`);
      seen.add(key);
    }
  }
}

function countOf(split: SplitFiles): Counts {
  const c: Counts = { train: {}, valid: {}, test: {} };
  for (const s of SPLITS) for (const [cls, files] of Object.entries(split[s])) c[s][cls] = files.length;
  return c;
}
