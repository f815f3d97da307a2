/**
 * The statistics behind `augment evaluate`'s table: pure functions (no TensorFlow.js), so the
 * rules can be read and tested on their own.
 *
 * 1. Test-set noise: `bootstrapMacroF1` (percentile bootstrap over the test images).
 *    The test split is finite (1,119 images in the sample), so one model's test macro-F1 is
 *    itself an estimate. A resample draws n (true, predicted) pairs with replacement; that is
 *    the same as drawing n cells of the confusion matrix in proportion to their counts, so the
 *    bootstrap needs only the confusion matrix (`bootstrapMacroF1FromConfusion`) and costs
 *    O(n) per resample (1,000 resamples of 1,119 images: a few milliseconds).
 *    Macro-F1 of a resample is sklearn's `f1_score(average='macro')` of that resample (labels
 *    present in its y_true or y_pred; zero division 0), as src/train/metrics.ts defines it.
 *
 * 2. "Learned": `hasLearned` (see its comment for the exact rule). A run is learned when its
 *    best valid macro-F1 over the epochs rises clearly above what a predictor that ignores the
 *    image gets on this valid set: the constant predictor (one class for everything, the
 *    state of a network stuck at chance) and a guesser drawing labels from the class
 *    frequencies.
 *
 * 3. Ties: `rankVariants` with `TIE_RULE`. Two variants are told apart only when BOTH kinds
 *    of noise say so:
 *    - seed-to-seed spread: a paired t-test over the seeds when both variants ran the same
 *      seeds (seed s gives the same initial weights to every variant, so pairing removes the
 *      initialisation's share of the noise), else Welch's t-test; different when p < 0.05.
 *      Needs at least 2 seeds on each side; otherwise this test abstains.
 *    - test-set sampling: the variants' bootstrap intervals of test macro-F1 (95%) do not
 *      overlap. A variant's interval over several seeds is the mean of its seeds' interval
 *      bounds: every seed is scored on the same test images, so averaging seeds does not
 *      shrink the test-set part of the noise. Abstains when an interval is missing.
 *    With 1 seed only the bootstrap decides; without intervals only the t-test decides (the
 *    table before intervals existed); with neither, ranks follow the means and nothing is
 *    marked tied. Non-overlap of two 95% intervals is a strict test (for equal widths it is
 *    about p < 0.006): "different" in this table means clearly different.
 *    rank = 1 + the number of ranked variants that are different and better (higher mean),
 *    so tied variants can share a rank; only rows with status 'ranked' get a rank.
 *
 * 4. Racing: `raceDecision` (which variants are clearly behind at a rung, by the same
 *    statistics on valid macro-F1) and `planRace` (the rungs that fit a time budget). The
 *    schedule is documented at `planRace`.
 */
import { meanOf, metricsFromConfusion, pairedTTest, sdOf, welchTTest } from './metrics.ts';

export const TIE_ALPHA = 0.05;
export const CI_LEVEL = 0.95;
export const TIE_RULE =
  `tied = not clearly different by both the seed spread (paired t-test by seed where the seeds match, else Welch; p >= ${TIE_ALPHA} is tied) ` +
  `and the test set (${Math.round(CI_LEVEL * 100)}% bootstrap intervals of test macro-F1 overlap is tied); ` +
  'rank = 1 + number of variants clearly better';

// ---------------------------------------------------------------------------------------
// Seeded uniform numbers (mulberry32): small, fast, the same on every platform.

function uniformSource(seed: number): () => number {
  let a = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear-interpolation quantile of sorted values (numpy's default `quantile`). */
function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

// ---------------------------------------------------------------------------------------
// 1. Bootstrap

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling (default 0): the same seed gives the same interval. */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export interface BootstrapInterval {
  /** Lower and upper percentile bounds. */
  lo: number;
  hi: number;
  /** Mean over the resamples. */
  mean: number;
  /** Macro-F1 of the whole set (the point estimate the interval is around). */
  estimate: number;
}

/** Macro-F1 over the labels present in y_true or y_pred, from flat cell counts (t * k + p). */
function macroF1OfCells(cells: ArrayLike<number>, k: number, support: Float64Array, predicted: Float64Array): number {
  support.fill(0);
  predicted.fill(0);
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      const c = cells[t * k + p];
      support[t] += c;
      predicted[p] += c;
    }
  }
  let sum = 0;
  let labels = 0;
  for (let c = 0; c < k; c++) {
    const den = support[c] + predicted[c];
    if (den === 0) continue;
    labels++;
    sum += (2 * cells[c * k + c]) / den;
  }
  return labels === 0 ? 0 : sum / labels;
}

/**
 * Percentile bootstrap of macro-F1 from a confusion matrix (confusion[true][pred]): each
 * resample draws n = total count cells with replacement, in proportion to their counts.
 */
export function bootstrapMacroF1FromConfusion(confusion: readonly (readonly number[])[], o: BootstrapOptions = {}): BootstrapInterval {
  const k = confusion.length;
  const resamples = o.resamples ?? 1000;
  const level = o.level ?? CI_LEVEL;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap: resamples must be a whole number >= 1, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level must be in (0, 1), got ${level}`);
  // One entry per example, holding its cell index: resampling examples = resampling cells.
  let n = 0;
  for (const row of confusion) {
    if (row.length !== k) throw new RangeError(`bootstrap: the confusion matrix must be ${k} x ${k}`);
    for (const c of row) {
      if (!Number.isInteger(c) || c < 0) throw new RangeError(`bootstrap: confusion counts must be whole numbers >= 0, got ${c}`);
      n += c;
    }
  }
  const support = new Float64Array(k);
  const predicted = new Float64Array(k);
  const flat = new Float64Array(k * k);
  confusion.forEach((row, t) => row.forEach((c, p) => (flat[t * k + p] = c)));
  const estimate = macroF1OfCells(flat, k, support, predicted);
  if (n === 0) return { lo: 0, hi: 0, mean: 0, estimate: 0 };
  const cellOf = new Int32Array(n);
  let i = 0;
  for (let c = 0; c < k * k; c++) for (let j = 0; j < flat[c]; j++) cellOf[i++] = c;
  const rand = uniformSource(o.seed ?? 0);
  const counts = new Float64Array(k * k);
  const values = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let j = 0; j < n; j++) counts[cellOf[Math.floor(rand() * n)]]++;
    values[r] = macroF1OfCells(counts, k, support, predicted);
  }
  const mean = values.reduce((a, b) => a + b, 0) / resamples;
  values.sort();
  const tail = (1 - level) / 2;
  return { lo: quantileSorted(values, tail), hi: quantileSorted(values, 1 - tail), mean, estimate };
}

/**
 * Percentile bootstrap of macro-F1 over the examples (sklearn's `f1_score(average='macro')`
 * of each resample), seeded: `{ lo, hi }` is the `level` interval, `mean` the mean over the
 * resamples, `estimate` the macro-F1 of the whole set.
 */
export function bootstrapMacroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number, o: BootstrapOptions = {}): BootstrapInterval {
  if (yTrue.length !== yPred.length) throw new RangeError(`y_true has ${yTrue.length} labels but y_pred has ${yPred.length}`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    const p = yPred[i];
    if (!Number.isInteger(t) || t < 0 || t >= numClasses) throw new RangeError(`y_true[${i}] = ${t} is not a class index in 0..${numClasses - 1}`);
    if (!Number.isInteger(p) || p < 0 || p >= numClasses) throw new RangeError(`y_pred[${i}] = ${p} is not a class index in 0..${numClasses - 1}`);
    m[t][p]++;
  }
  return bootstrapMacroF1FromConfusion(m, o);
}

// ---------------------------------------------------------------------------------------
// 2. Learned or not

/**
 * Macro-F1 of the best constant predictor on a split with these class counts. Predicting
 * class c for all N examples gives class c F1 = 2 n_c / (N + n_c) (TP = n_c, FP = N - n_c,
 * FN = 0) and every other present class F1 = 0, so macro-F1 = 2 p_c / (1 + p_c) / K with
 * p_c = n_c / N and K the number of classes present; the best c is the largest class.
 */
export function chanceMacroF1(classCounts: readonly number[]): number {
  const n = classCounts.reduce((a, b) => a + b, 0);
  const present = classCounts.filter((c) => c > 0).length;
  if (n === 0 || present === 0) return 0;
  const p = Math.max(...classCounts) / n;
  return (2 * p) / (1 + p) / present;
}

/**
 * What a guesser that ignores the image reaches on this split: predictions drawn at random
 * from the class frequencies (in expectation the best label-independent guesser: class c F1
 * is about 2 p_c q_c / (p_c + q_c), maximised over q on the simplex at q = p, giving macro-F1
 * 1/K), simulated `draws` times with a fixed seed. Returns the mean and the 99.9th
 * percentile (normal approximation: mean + 3.09 sd) of its macro-F1.
 */
export function randomGuessMacroF1(classCounts: readonly number[], draws = 400): { mean: number; high: number } {
  const k = classCounts.length;
  const n = classCounts.reduce((a, b) => a + b, 0);
  if (n === 0) return { mean: 0, high: 0 };
  const truth = new Int32Array(n);
  let i = 0;
  classCounts.forEach((c, cls) => {
    for (let j = 0; j < c; j++) truth[i++] = cls;
  });
  const rand = uniformSource(0x51ab1e);
  const cells = new Float64Array(k * k);
  const support = new Float64Array(k);
  const predicted = new Float64Array(k);
  const values: number[] = [];
  for (let d = 0; d < draws; d++) {
    cells.fill(0);
    // A guess drawn from the class frequencies = the label of a random example.
    for (let j = 0; j < n; j++) cells[truth[j] * k + truth[Math.floor(rand() * n)]]++;
    values.push(macroF1OfCells(cells, k, support, predicted));
  }
  const mean = meanOf(values);
  return { mean, high: mean + 3.09 * sdOf(values) };
}

export interface LearnedVerdict {
  learned: boolean;
  /** Macro-F1 of the best constant predictor on the valid split (`chanceMacroF1`). */
  chance: number;
  /** Best valid macro-F1 of the history (0 for an empty one). */
  best: number;
  /** How far above `chance` the best must rise: learned = best > chance + margin. */
  margin: number;
  /** chance + margin. */
  threshold: number;
}

/** Smallest margin above the constant predictor, whatever the valid set's size. */
export const LEARNED_MIN_MARGIN = 0.02;

/**
 * Did a run learn? `learned` = its best valid macro-F1 over the epochs is above
 * `threshold` = max(chance + 0.02, the 99.9th percentile of a random guesser's macro-F1 on this
 * valid set (`randomGuessMacroF1`)), where chance is the constant predictor's macro-F1
 * (`chanceMacroF1`). The 0.02 floor keeps a large valid set from calling a hair above chance
 * "learned"; the guesser's percentile grows with the noise of a small valid set (few images
 * per class) and accounts for taking the best of many epochs. On the sample's valid split (20
 * classes, largest 16%) chance is 0.015 and the threshold about 0.07; on a 4-class fixture
 * with 30 valid images it is about 0.45.
 */
export function hasLearned(validMacroF1History: readonly number[], o: { numClasses: number; validClassCounts: readonly number[] }): LearnedVerdict {
  if (o.validClassCounts.length !== o.numClasses) {
    throw new RangeError(`hasLearned: ${o.validClassCounts.length} class counts for ${o.numClasses} classes`);
  }
  const chance = chanceMacroF1(o.validClassCounts);
  const threshold = Math.max(chance + LEARNED_MIN_MARGIN, randomGuessMacroF1(o.validClassCounts).high);
  const finite = validMacroF1History.filter((x) => Number.isFinite(x));
  const best = finite.length === 0 ? 0 : Math.max(...finite);
  return { learned: best > threshold, chance, best, margin: threshold - chance, threshold };
}

// ---------------------------------------------------------------------------------------
// 3. Ranking with ties

export type VariantStatus = 'ranked' | 'not-learned' | 'raced-out';

export interface Interval {
  lo: number;
  hi: number;
}

export interface RankInput {
  variant: string;
  /** One score per seed (test macro-F1 for the table, valid macro-F1 when racing). */
  scores: number[];
  /** The seed of each score (default 1..n); pairing uses them. */
  seeds?: number[];
  /** Bootstrap interval of each seed's score (same order as scores). */
  testCI?: Interval[];
  /** Default 'ranked'. */
  status?: VariantStatus;
}

export interface RankedRow {
  variant: string;
  status: VariantStatus;
  /** null unless status is 'ranked'. */
  rank: number | null;
  /** Ranked variants it cannot be told apart from. */
  tiedWith: string[];
  mean: number;
  sd: number;
  /** Mean of the seeds' interval bounds; null without intervals. */
  ci: Interval | null;
  seeds: number[];
}

export interface Comparison {
  /** True when the two cannot be told apart. */
  tied: boolean;
  /** The seed test used, and its p (NaN when it abstained). */
  test: 'paired' | 'welch' | 'none';
  p: number;
  /** Whether the intervals overlap (null when an interval is missing). */
  overlap: boolean | null;
}

function pooledInterval(cis: Interval[] | undefined, n: number): Interval | null {
  if (!cis || cis.length === 0 || cis.length !== n) return null;
  return { lo: meanOf(cis.map((c) => c.lo)), hi: meanOf(cis.map((c) => c.hi)) };
}

interface Prepared {
  variant: string;
  scores: number[];
  seeds: number[];
  ci: Interval | null;
}

function prepare(v: RankInput): Prepared {
  const seeds = v.seeds ?? v.scores.map((_, i) => i + 1);
  if (seeds.length !== v.scores.length) throw new RangeError(`${v.variant}: ${v.scores.length} scores but ${seeds.length} seeds`);
  if (v.testCI && v.testCI.length !== v.scores.length) throw new RangeError(`${v.variant}: ${v.scores.length} scores but ${v.testCI.length} intervals`);
  return { variant: v.variant, scores: v.scores, seeds, ci: pooledInterval(v.testCI, v.scores.length) };
}

/**
 * The tie rule between two variants (see the file comment): tied when the seed test ran and
 * gave p >= alpha, or when both intervals are there and overlap. A test that cannot run
 * abstains; when both abstain (1 seed, no intervals) the two are not tied.
 */
export function compareVariants(a: Pick<RankInput, 'scores' | 'seeds' | 'testCI'>, b: Pick<RankInput, 'scores' | 'seeds' | 'testCI'>, alpha = TIE_ALPHA): Comparison {
  const pa = prepare({ variant: 'a', ...a });
  const pb = prepare({ variant: 'b', ...b });
  let test: Comparison['test'] = 'none';
  let p = NaN;
  const sameSeeds = pa.seeds.length === pb.seeds.length && [...pa.seeds].sort((x, y) => x - y).join() === [...pb.seeds].sort((x, y) => x - y).join();
  if (sameSeeds && pa.seeds.length >= 2) {
    const byB = new Map(pb.seeds.map((s, i) => [s, pb.scores[i]]));
    test = 'paired';
    p = pairedTTest(pa.scores, pa.seeds.map((s) => byB.get(s)!)).p;
  } else if (pa.scores.length >= 2 && pb.scores.length >= 2) {
    test = 'welch';
    p = welchTTest(pa.scores, pb.scores).p;
  }
  const overlap = pa.ci && pb.ci ? pa.ci.lo <= pb.ci.hi && pb.ci.lo <= pa.ci.hi : null;
  const tied = (test !== 'none' && !(p < alpha)) || overlap === true;
  return { tied, test, p, overlap };
}

const ORDER: Record<VariantStatus, number> = { ranked: 0, 'raced-out': 1, 'not-learned': 2 };

/**
 * Leaderboard rows: ranked variants first by mean (higher first), then raced-out, then
 * not-learned ones (no rank). Ties and ranks by the rule in the file comment, among the
 * ranked variants only.
 */
export function rankVariants(inputs: RankInput[]): RankedRow[] {
  const rows = inputs.map((v) => {
    const p = prepare(v);
    return { input: v, prep: p, status: v.status ?? ('ranked' as VariantStatus), mean: meanOf(v.scores), sd: sdOf(v.scores) };
  });
  rows.sort((a, b) => ORDER[a.status] - ORDER[b.status] || b.mean - a.mean || (a.prep.variant < b.prep.variant ? -1 : 1));
  const ranked = rows.filter((r) => r.status === 'ranked');
  const tie = new Map<string, boolean>();
  const key = (x: string, y: string) => (x < y ? `${x}\u0000${y}` : `${y}\u0000${x}`);
  for (let i = 0; i < ranked.length; i++) {
    for (let j = i + 1; j < ranked.length; j++) {
      tie.set(key(ranked[i].prep.variant, ranked[j].prep.variant), compareVariants(ranked[i].input, ranked[j].input).tied);
    }
  }
  return rows.map((r) => {
    const base = { variant: r.prep.variant, status: r.status, mean: r.mean, sd: r.sd, ci: r.prep.ci, seeds: r.prep.seeds };
    if (r.status !== 'ranked') return { ...base, rank: null, tiedWith: [] };
    const others = ranked.filter((o) => o !== r);
    const tiedWith = others.filter((o) => tie.get(key(o.prep.variant, r.prep.variant))).map((o) => o.prep.variant);
    const better = others.filter((o) => o.mean > r.mean && !tie.get(key(o.prep.variant, r.prep.variant))).length;
    return { ...base, rank: 1 + better, tiedWith };
  });
}

// ---------------------------------------------------------------------------------------
// 4. Racing

export interface RungResult {
  variant: string;
  /** Valid macro-F1 of each seed at this rung (best so far of each seed's epochs). */
  scores: number[];
  seeds?: number[];
  /** Bootstrap interval of each seed's valid macro-F1 (`bootstrapMacroF1FromConfusion`). */
  validCI?: Interval[];
}

export interface RaceOptions {
  /** Successive-halving factor: keep at least the top ceil(n / eta) (default 3). */
  eta?: number;
  /** Hard cap on survivors (the budget's): beyond it, the lowest means go even when tied. */
  maxKeep?: number;
  alpha?: number;
}

export interface RaceDecision {
  /** Survivors, best mean first. */
  keep: string[];
  /** Dropped variants, with why: 'behind' = clearly worse than the best; 'budget' = over maxKeep. */
  drop: Array<{ variant: string; reason: 'behind' | 'budget'; mean: number }>;
  best: string;
}

/**
 * Which variants go on to the next rung. The best (highest mean valid macro-F1) always stays;
 * the top ceil(n / eta) by mean stay; every variant that the tie rule cannot tell apart from
 * the best stays, and so does every variant when there is no noise estimate at all (1 seed,
 * no intervals). Only the rest — clearly worse than the best by the seed spread and the
 * bootstrap, the same rule as the table — are dropped ('behind'). So a variant is never
 * dropped on noise, and never all of them. `maxKeep` then cuts the survivors to what the
 * budget pays for, lowest mean first ('budget').
 */
export function raceDecision(rung: RungResult[], o: RaceOptions = {}): RaceDecision {
  if (rung.length === 0) throw new RangeError('raceDecision: no variants');
  const eta = o.eta ?? 3;
  if (!(eta > 1)) throw new RangeError(`raceDecision: eta must be > 1, got ${eta}`);
  const rows = rung
    .map((r) => ({ r, mean: meanOf(r.scores) }))
    .sort((a, b) => b.mean - a.mean || (a.r.variant < b.r.variant ? -1 : 1));
  const best = rows[0];
  const top = Math.ceil(rows.length / eta);
  const keep: typeof rows = [];
  const drop: RaceDecision['drop'] = [];
  rows.forEach((row, i) => {
    const cmp =
      i === 0
        ? null
        : compareVariants({ scores: best.r.scores, seeds: best.r.seeds, testCI: best.r.validCI }, { scores: row.r.scores, seeds: row.r.seeds, testCI: row.r.validCI }, o.alpha);
    // Without any noise estimate (1 seed, no interval) there is no evidence: keep.
    const behind = cmp !== null && !cmp.tied && (cmp.test !== 'none' || cmp.overlap !== null);
    if (i < top || !behind) keep.push(row);
    else drop.push({ variant: row.r.variant, reason: 'behind', mean: row.mean });
  });
  const cap = Math.max(1, Math.floor(o.maxKeep ?? Infinity));
  for (const row of keep.splice(cap)) drop.push({ variant: row.r.variant, reason: 'budget', mean: row.mean });
  return { keep: keep.map((k) => k.r.variant), drop, best: best.r.variant };
}

export interface RacePlanOptions {
  /** Seconds of one epoch of one unit (one variant, one seed), training and validation. */
  secondsPerEpoch: number;
  /** Seconds per unit besides its epochs (model build, test pass); default 0. */
  secondsPerUnit?: number;
  /**
   * Seconds of one finalist unit's end (a race's test pass, run only for the last rung's
   * units), reserved after the last rung; default 0.
   */
  secondsPerFinalist?: number;
  /** Reserve the finalist seconds for at most this many units (default: all of the last rung's). */
  finalistUnits?: number;
  variants: number;
  /** Seeds wanted for the final rung (the full grid's --seeds). */
  maxSeeds: number;
  /** Epochs wanted for the final rung (the full grid's --epochs). */
  maxEpochs: number;
  budgetSeconds: number;
  /** Successive-halving factor (default 3). */
  eta?: number;
}

export interface Rung {
  /** Epochs every surviving unit has trained after this rung (cumulative). */
  epochs: number;
  /** Seeds per surviving variant at this rung (1..seeds). */
  seeds: number;
  /** Variants planned to run this rung (the first: all). */
  variants: number;
  /** Planned seconds of this rung. */
  seconds: number;
}

export interface RacePlan {
  rungs: Rung[];
  totalSeconds: number;
  /** False when even the smallest plan (1 epoch, 1 seed) is over the budget. */
  fits: boolean;
  /** True when the full grid fits (a single rung, no racing). */
  fullGrid: boolean;
}

/**
 * Rungs for a budget (successive halving, Hyperband's inner loop):
 * - when the full grid (variants x maxSeeds x maxEpochs) fits, one rung: the full grid;
 * - else rung i runs n_i variants: n_0 = all, n_{i+1} = max(2, ceil(n_i / eta)), until the
 *   count stops falling; epochs grow by eta per rung up to the last rung's E
 *   (e_i = max(min(E, 2), ceil(E / eta^(R-1-i))): a 1-epoch first rung mostly ranks the
 *   initialisation, measured on the shapes fixture, where it raced out a learnable variant
 *   ahead of one with shuffled labels), seeds grow from s_0 (1 or 2) to the last rung's S
 *   (middle rungs halfway). Units continue from their checkpoints: a surviving seed pays only
 *   its new epochs, a new seed pays all of e_i.
 * - E, S and s_0 are the largest that fit the budget, in this order of preference: a last
 *   rung with 2 seeds (a spread to test) when any plan with 2 fits; then the most epochs (a
 *   network that has not left chance ranks nothing); then more seeds.
 * - `secondsPerFinalist` (a race's deferred test pass) is reserved once per unit of the last
 *   rung (or `finalistUnits` of them), inside the last rung's seconds.
 * Survivor counts are caps: pass `rungs[i + 1].variants` as `maxKeep` to `raceDecision`.
 */
export function planRace(o: RacePlanOptions): RacePlan {
  const eta = o.eta ?? 3;
  const perUnit = o.secondsPerUnit ?? 0;
  const finalist = o.secondsPerFinalist ?? 0;
  const spe = o.secondsPerEpoch;
  for (const [name, v, min] of [
    ['variants', o.variants, 1],
    ['maxSeeds', o.maxSeeds, 1],
    ['maxEpochs', o.maxEpochs, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`planRace: ${name} must be a whole number >= ${min}, got ${v}`);
  }
  if (!(spe >= 0) || !(perUnit >= 0) || !(finalist >= 0) || !(o.budgetSeconds > 0) || !(eta > 1)) throw new RangeError('planRace: seconds and the budget must be >= 0 (budget > 0), eta > 1');
  const full = o.variants * o.maxSeeds * (o.maxEpochs * spe + perUnit + finalist);
  if (full <= o.budgetSeconds) {
    return { rungs: [{ epochs: o.maxEpochs, seeds: o.maxSeeds, variants: o.variants, seconds: full }], totalSeconds: full, fits: true, fullGrid: true };
  }
  const counts = [o.variants];
  while (counts.length < 10) {
    const next = Math.max(Math.min(2, o.variants), Math.ceil(counts[counts.length - 1] / eta));
    if (next >= counts[counts.length - 1]) break;
    counts.push(next);
  }
  const r = counts.length;
  const build = (e: number, s: number, s0: number): RacePlan => {
    const rungs: Rung[] = [];
    let prevE = 0;
    let prevS = 0;
    let total = 0;
    counts.forEach((n, i) => {
      const epochs = r === 1 ? e : Math.max(Math.min(e, 2), Math.ceil(e / eta ** (r - 1 - i)));
      const seeds = i === r - 1 ? s : i === 0 ? s0 : Math.max(s0, Math.ceil((s0 + s) / 2));
      const cont = Math.min(prevS, seeds);
      const newSeeds = seeds - cont;
      const seconds = n * (cont * (epochs - prevE) * spe + newSeeds * (epochs * spe + perUnit));
      rungs.push({ epochs: Math.max(epochs, prevE), seeds: Math.max(seeds, prevS), variants: n, seconds });
      total += seconds;
      prevE = Math.max(epochs, prevE);
      prevS = Math.max(seeds, prevS);
    });
    // A rung that adds neither epochs nor seeds only drops variants: leave it out.
    const useful = rungs.filter((g, i) => i === 0 || g.epochs > rungs[i - 1].epochs || g.seeds > rungs[i - 1].seeds);
    const last = useful[useful.length - 1];
    const reserve = Math.min(o.finalistUnits ?? Infinity, last.variants * last.seeds) * finalist;
    last.seconds += reserve;
    total += reserve;
    return { rungs: useful, totalSeconds: total, fits: total <= o.budgetSeconds, fullGrid: false };
  };
  // Two final seeds where possible (a spread to test), then the most epochs, then seeds.
  const minSeeds = [Math.min(2, o.maxSeeds), 1];
  for (const least of minSeeds) {
    for (let e = o.maxEpochs; e >= 1; e--) {
      for (let s = o.maxSeeds; s >= least; s--) {
        for (const s0 of [Math.min(2, s), 1]) {
          const plan = build(e, s, s0);
          if (plan.fits) return plan;
        }
      }
    }
  }
  return { ...build(1, 1, 1), fits: false };
}
