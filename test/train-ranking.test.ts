/**
 * The statistics of src/train/ranking.ts on constructed data whose answer is known, and
 * against reference values from numpy/scikit-learn 1.2.1/scipy 1.10 (Debian):
 *
 *   rs = np.random.RandomState(3); t = rs.randint(0, 5, 200)
 *   p = np.where(rs.rand(200) < 0.6, t, rs.randint(0, 5, 200))
 *   f1_score(t, p, average='macro')                      -> 0.6489140888588703
 *   20,000 resamples idx = rs.randint(0, 200, 200) of f1_score(t[idx], p[idx], average='macro',
 *   zero_division=0), np.quantile(vals, [0.025, 0.975])  -> [0.57802, 0.71242]
 *   ttest_rel([0.71,0.74,0.69,0.7], [0.62,0.66,0.6,0.69]) -> t 3.495408001217036, p 0.03961194678328846
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { macroF1, pairedTTest } from '../src/train/metrics.ts';
import { defaultSettingsFor } from '../src/train/model-defaults.ts';
import {
  bootstrapMacroF1,
  bootstrapMacroF1FromConfusion,
  chanceMacroF1,
  compareVariants,
  hasLearned,
  planRace,
  raceDecision,
  randomGuessMacroF1,
  rankVariants,
  TIE_RULE,
} from '../src/train/ranking.ts';

const T = '2,0,1,3,0,0,0,3,2,3,1,1,2,0,4,4,0,2,1,2,2,2,4,1,3,2,0,1,2,0,3,0,3,1,3,0,4,1,4,4,0,0,1,2,4,0,0,1,1,1,2,3,4,4,3,3,0,0,0,0,2,2,3,0,0,1,4,1,4,2,2,4,4,2,0,4,0,3,2,0,4,3,1,1,0,0,0,0,1,1,4,0,3,4,2,0,0,4,4,4,4,3,3,0,0,2,2,1,3,2,4,1,2,2,3,4,1,4,3,1,1,3,0,4,4,4,0,3,3,0,4,0,0,4,3,4,1,2,2,4,4,1,2,1,1,0,4,4,4,2,0,4,2,0,4,4,1,4,0,4,0,0,1,4,3,2,4,3,1,4,1,3,4,1,0,0,4,4,2,0,4,4,4,2,3,3,4,1,0,1,2,3,1,0,1,3,4,0,0,1'
  .split(',')
  .map(Number);
const P = '1,0,1,3,2,0,0,3,0,1,2,4,2,0,4,4,0,2,1,0,2,0,4,3,0,4,0,1,2,0,3,0,3,1,3,3,1,4,4,4,0,0,1,0,4,0,0,1,1,2,3,3,3,4,3,3,0,0,3,0,2,4,3,0,0,4,1,1,4,2,2,4,4,3,0,4,0,2,2,1,4,3,4,1,4,1,3,1,4,4,4,0,3,1,2,0,0,4,4,4,3,3,0,4,0,2,2,2,3,2,2,1,3,3,3,2,2,0,3,1,1,3,0,0,1,4,0,4,1,2,1,0,0,1,1,4,1,3,2,4,1,1,2,1,1,0,2,4,1,4,3,4,2,3,4,1,3,4,3,4,0,0,1,4,3,2,1,3,4,1,1,3,4,1,3,2,3,4,3,0,4,4,4,2,3,3,4,1,0,1,2,3,1,0,1,3,4,4,0,1'
  .split(',')
  .map(Number);

// The demo's sample (data/variants/*/valid): class counts of its 1,123 valid images.
const SAMPLE_VALID = [88, 83, 25, 29, 15, 92, 86, 63, 50, 25, 21, 64, 65, 18, 39, 47, 48, 192, 49, 24];

test('bootstrap: point estimate is sklearn macro-F1, interval matches a numpy/sklearn percentile bootstrap', () => {
  const b = bootstrapMacroF1(T, P, 5, { resamples: 4000, seed: 1 });
  assert.ok(Math.abs(b.estimate - 0.6489140888588703) < 1e-12, `estimate ${b.estimate}`);
  assert.ok(b.lo < b.estimate && b.estimate < b.hi, `[${b.lo}, ${b.hi}] must contain ${b.estimate}`);
  // Monte Carlo error of a 2.5% quantile with 4,000 resamples is ~0.003.
  assert.ok(Math.abs(b.lo - 0.57802) < 0.012, `lo ${b.lo} vs 0.578`);
  assert.ok(Math.abs(b.hi - 0.71242) < 0.012, `hi ${b.hi} vs 0.712`);
  assert.ok(Math.abs(b.mean - 0.6459) < 0.006, `mean ${b.mean}`);
});

test('bootstrap: seeded, the same from labels and from the confusion matrix, narrower with more images', () => {
  const a = bootstrapMacroF1(T, P, 5, { seed: 7 });
  assert.deepEqual(bootstrapMacroF1(T, P, 5, { seed: 7 }), a, 'same seed, same interval');
  assert.notDeepEqual(bootstrapMacroF1(T, P, 5, { seed: 8 }), a, 'another seed, another draw');
  const m = Array.from({ length: 5 }, () => new Array<number>(5).fill(0));
  T.forEach((t, i) => m[t][P[i]]++);
  assert.deepEqual(bootstrapMacroF1FromConfusion(m, { seed: 7 }), a);
  const T4 = [...T, ...T, ...T, ...T];
  const P4 = [...P, ...P, ...P, ...P];
  const big = bootstrapMacroF1(T4, P4, 5, { seed: 7 });
  assert.ok(Math.abs(big.estimate - a.estimate) < 1e-12, 'same rates, same estimate');
  const w1 = a.hi - a.lo;
  const w4 = big.hi - big.lo;
  // Width scales as 1/sqrt(n): 4x the images, about half the width.
  assert.ok(w4 < 0.65 * w1 && w4 > 0.35 * w1, `widths ${w1} (n=200) and ${w4} (n=800)`);
  const narrow = bootstrapMacroF1(T, P, 5, { seed: 7, level: 0.5 });
  assert.ok(narrow.hi - narrow.lo < w1, 'a 50% interval is narrower than the 95% one');
});

test('bootstrap: a perfect predictor has a zero-width interval at 1; bad input is a RangeError', () => {
  const b = bootstrapMacroF1(T, T, 5, { resamples: 200 });
  assert.deepEqual([b.lo, b.hi, b.estimate], [1, 1, 1]);
  assert.throws(() => bootstrapMacroF1([0, 1], [0], 2), RangeError);
  assert.throws(() => bootstrapMacroF1([0, 2], [0, 1], 2), /y_true\[1\] = 2/);
  assert.throws(() => bootstrapMacroF1(T, P, 5, { resamples: 0 }), /resamples/);
});

test('chance: the constant predictor macro-F1 equals metrics.ts on a constant prediction', () => {
  for (const counts of [SAMPLE_VALID, [60, 30, 20, 35], [5, 5], [100, 1, 1]]) {
    const yTrue = counts.flatMap((c, cls) => new Array<number>(c).fill(cls));
    const best = Math.max(...counts.map((_, cls) => macroF1(yTrue, new Array<number>(yTrue.length).fill(cls), counts.length)));
    assert.ok(Math.abs(chanceMacroF1(counts) - best) < 1e-12, `${counts}: ${chanceMacroF1(counts)} vs ${best}`);
  }
  // The demo's sample: vgg16 stuck at chance scored ~0.015 (the largest class for everything).
  assert.ok(Math.abs(chanceMacroF1(SAMPLE_VALID) - 0.0146) < 0.0005, String(chanceMacroF1(SAMPLE_VALID)));
});

test('random guesser: mean macro-F1 near 1/K, above the constant predictor', () => {
  const r = randomGuessMacroF1(SAMPLE_VALID);
  assert.ok(Math.abs(r.mean - 1 / 20) < 0.01, `mean ${r.mean}`);
  assert.ok(r.high > r.mean && r.mean > chanceMacroF1(SAMPLE_VALID));
});

test('hasLearned: the sample (vgg16 at chance vs resnet18 x0.125 at 0.45) and small valid sets', () => {
  const o = { numClasses: 20, validClassCounts: SAMPLE_VALID };
  const stuck = hasLearned([0.0146, 0.0146, 0.0146, 0.0146, 0.0146], o);
  assert.equal(stuck.learned, false);
  assert.ok(Math.abs(stuck.chance + stuck.margin - stuck.threshold) < 1e-12);
  assert.ok(stuck.threshold > 0.05 && stuck.threshold < 0.1, `threshold ${stuck.threshold}`);
  assert.equal(hasLearned([0.015, 0.03, 0.055], o).learned, false, 'a random guesser level is not learning');
  const learned = hasLearned([0.015, 0.12, 0.31, 0.45], o);
  assert.equal(learned.learned, true);
  assert.equal(learned.best, 0.45);
  assert.equal(hasLearned([], o).learned, false);
  // 4 classes, 30 valid images: a small set needs a larger rise.
  const tiny = { numClasses: 4, validClassCounts: [12, 6, 6, 6] };
  const small = hasLearned([0.35], tiny);
  assert.equal(small.learned, false, `0.35 on 30 images, threshold ${small.threshold}`);
  assert.ok(small.margin > 0.15, `margin ${small.margin}`);
  assert.equal(hasLearned([0.2, 0.9], tiny).learned, true);
  assert.throws(() => hasLearned([0.5], { numClasses: 3, validClassCounts: [1, 2] }), RangeError);
});

test('paired t-test matches scipy ttest_rel', () => {
  const r = pairedTTest([0.71, 0.74, 0.69, 0.7], [0.62, 0.66, 0.6, 0.69]);
  assert.ok(Math.abs(r.t - 3.495408001217036) < 1e-9 && Math.abs(r.p - 0.03961194678328846) < 1e-9, JSON.stringify(r));
  assert.equal(pairedTTest([0.5, 0.6], [0.4, 0.5]).p, 0, 'a constant non-zero difference');
  assert.equal(pairedTTest([0.5, 0.6], [0.5, 0.6]).p, 1);
  assert.ok(Number.isNaN(pairedTTest([0.5], [0.4]).p));
});

test('rankVariants: without intervals, the Welch table as before', () => {
  const r = rankVariants([
    { variant: 'a', scores: [0.71, 0.74, 0.69], seeds: [1, 2, 3] },
    { variant: 'b', scores: [0.62, 0.66, 0.6], seeds: [4, 5, 6] },
    { variant: 'c', scores: [0.7, 0.6, 0.75], seeds: [7, 8, 9] },
  ]);
  assert.deepEqual(
    r.map((x) => [x.variant, x.rank, x.tiedWith]),
    [
      ['a', 1, ['c']],
      ['c', 1, ['a', 'b']],
      ['b', 2, ['c']],
    ],
  );
  const one = rankVariants([
    { variant: 'x', scores: [0.5] },
    { variant: 'y', scores: [0.6] },
  ]);
  assert.deepEqual(
    one.map((x) => [x.variant, x.rank, x.tiedWith.length, x.ci]),
    [
      ['y', 1, 0, null],
      ['x', 2, 0, null],
    ],
  );
});

test('rankVariants: pairing by seed tells apart what Welch cannot', () => {
  // b is below a by 0.02 on every seed; the seeds themselves vary by 0.1.
  const a = { variant: 'a', scores: [0.5, 0.6, 0.7], seeds: [1, 2, 3] };
  const b = { variant: 'b', scores: [0.48, 0.58, 0.68], seeds: [1, 2, 3] };
  assert.equal(compareVariants(a, b).test, 'paired');
  assert.deepEqual(
    rankVariants([a, b]).map((x) => [x.variant, x.rank]),
    [
      ['a', 1],
      ['b', 2],
    ],
  );
  const shuffled = { ...b, seeds: [4, 5, 6] };
  const c = compareVariants(a, shuffled);
  assert.equal(c.test, 'welch');
  assert.equal(c.tied, true);
});

test('rankVariants: both noises must say different; with one seed the bootstrap decides', () => {
  const ci = (lo: number, hi: number, n: number) => Array.from({ length: n }, () => ({ lo, hi }));
  // Seeds clearly apart (p < 0.05), but the test set cannot tell: intervals overlap -> tied.
  const a = { variant: 'a', scores: [0.7, 0.71, 0.72], testCI: ci(0.66, 0.76, 3) };
  const b = { variant: 'b', scores: [0.65, 0.66, 0.67], testCI: ci(0.61, 0.71, 3) };
  const cmp = compareVariants(a, b);
  assert.ok(cmp.p < 0.05 && cmp.overlap === true && cmp.tied, JSON.stringify(cmp));
  // Far apart in both: different.
  const c = { variant: 'c', scores: [0.5, 0.52, 0.51], testCI: ci(0.46, 0.56, 3) };
  const rows = rankVariants([c, b, a]);
  assert.deepEqual(
    rows.map((x) => [x.variant, x.rank, x.tiedWith]),
    [
      ['a', 1, ['b']],
      ['b', 1, ['a']],
      ['c', 3, []],
    ],
  );
  assert.ok(Math.abs(rows[0].ci!.lo - 0.66) < 1e-12 && Math.abs(rows[0].ci!.hi - 0.76) < 1e-12, JSON.stringify(rows[0].ci));
  // One seed each: the intervals alone.
  const one = rankVariants([
    { variant: 'x', scores: [0.6], testCI: ci(0.55, 0.65, 1) },
    { variant: 'y', scores: [0.5], testCI: ci(0.45, 0.56, 1) },
    { variant: 'z', scores: [0.3], testCI: ci(0.25, 0.35, 1) },
  ]);
  assert.deepEqual(
    one.map((x) => [x.variant, x.rank, x.tiedWith]),
    [
      ['x', 1, ['y']],
      ['y', 1, ['x']],
      ['z', 3, []],
    ],
  );
  assert.match(TIE_RULE, /paired t-test/);
  assert.match(TIE_RULE, /bootstrap/);
});

test('rankVariants: only ranked rows get a rank; not-learned and raced-out rows come after', () => {
  const rows = rankVariants([
    { variant: 'noise', scores: [0.9, 0.9], status: 'not-learned' },
    { variant: 'slow', scores: [0.2, 0.25], status: 'raced-out' },
    { variant: 'good', scores: [0.6, 0.62] },
    { variant: 'ok', scores: [0.4, 0.43] },
  ]);
  assert.deepEqual(
    rows.map((x) => [x.variant, x.status, x.rank, x.tiedWith]),
    [
      ['good', 'ranked', 1, []],
      ['ok', 'ranked', 2, []],
      ['slow', 'raced-out', null, []],
      ['noise', 'not-learned', null, []],
    ],
  );
});

test('raceDecision: a clearly worse variant is dropped, a tied one kept, the best never', () => {
  const ci = (lo: number, hi: number) => [
    { lo, hi },
    { lo, hi },
  ];
  const rung = [
    { variant: 'best', scores: [0.6, 0.62], seeds: [1, 2], validCI: ci(0.55, 0.67) },
    { variant: 'tied', scores: [0.58, 0.55], seeds: [1, 2], validCI: ci(0.5, 0.62) },
    { variant: 'worse', scores: [0.3, 0.31], seeds: [1, 2], validCI: ci(0.25, 0.36) },
    { variant: 'noise', scores: [0.05, 0.04], seeds: [1, 2], validCI: ci(0.02, 0.07) },
  ];
  const d = raceDecision(rung);
  assert.deepEqual(d.keep, ['best', 'tied']);
  assert.deepEqual(
    d.drop.map((x) => [x.variant, x.reason]),
    [
      ['worse', 'behind'],
      ['noise', 'behind'],
    ],
  );
  assert.equal(d.best, 'best');
  // The top ceil(n / eta) stay even when behind: with eta 1.5, 3 of 4.
  assert.deepEqual(raceDecision(rung, { eta: 1.5 }).keep, ['best', 'tied', 'worse']);
  // The budget cap drops tied ones too, lowest mean first, and says so.
  const capped = raceDecision(rung, { maxKeep: 1 });
  assert.deepEqual(capped.keep, ['best']);
  assert.deepEqual(capped.drop.find((x) => x.variant === 'tied')?.reason, 'budget');
  // All tied (one seed, no intervals: nothing to tell them apart): all kept.
  const blind = raceDecision(rung.map((r) => ({ variant: r.variant, scores: r.scores.slice(0, 1) })));
  assert.equal(blind.keep.length, 4);
  // Never all: a single variant stays.
  assert.deepEqual(raceDecision([rung[3]], { maxKeep: 0 }).keep, ['noise']);
});

test('planRace: the full grid when it fits, else halving rungs within the budget', () => {
  const base = { secondsPerEpoch: 2, variants: 6, maxSeeds: 3, maxEpochs: 30 };
  const full = planRace({ ...base, budgetSeconds: 6 * 3 * 30 * 2 });
  assert.equal(full.fullGrid, true);
  assert.deepEqual(full.rungs, [{ epochs: 30, seeds: 3, variants: 6, seconds: 1080 }]);

  const p = planRace({ ...base, budgetSeconds: 300 });
  assert.equal(p.fits, true);
  assert.equal(p.fullGrid, false);
  assert.ok(p.totalSeconds <= 300, String(p.totalSeconds));
  assert.deepEqual(
    p.rungs.map((r) => r.variants),
    [6, 2],
  );
  for (let i = 1; i < p.rungs.length; i++) {
    assert.ok(p.rungs[i].epochs >= p.rungs[i - 1].epochs && p.rungs[i].seeds >= p.rungs[i - 1].seeds, JSON.stringify(p.rungs));
  }
  assert.equal(
    p.totalSeconds,
    p.rungs.reduce((a, r) => a + r.seconds, 0),
  );
  // A larger budget buys at least as many final epochs.
  const more = planRace({ ...base, budgetSeconds: 600 });
  assert.ok(more.rungs.at(-1)!.epochs >= p.rungs.at(-1)!.epochs);
  assert.ok(more.totalSeconds <= 600);

  const none = planRace({ ...base, budgetSeconds: 1 });
  assert.equal(none.fits, false);
  assert.deepEqual(
    none.rungs.map((r) => [r.epochs, r.seeds, r.variants]),
    [[1, 1, 6]],
    'the smallest plan: one epoch of one seed of every variant (a rung adding nothing is left out)',
  );
  assert.throws(() => planRace({ ...base, variants: 0, budgetSeconds: 10 }), /variants/);
});

test('planRace: a first rung of at least 2 epochs when the last has 2 or more', () => {
  const p = planRace({ secondsPerEpoch: 1, variants: 3, maxSeeds: 2, maxEpochs: 4, budgetSeconds: 12 });
  assert.equal(p.fullGrid, false);
  assert.ok(p.fits, JSON.stringify(p));
  assert.ok(p.rungs[0].epochs >= Math.min(2, p.rungs.at(-1)!.epochs), JSON.stringify(p.rungs));
  assert.ok(p.totalSeconds <= 12);
});

test('per-model defaults: vgg16 runs every epoch (no early stopping at chance), batch-norm models take the global ones', () => {
  // vgg16's default lr is A2's measured choice (test/model-defaults.test.ts); here only what the race and the not-learned rule rely on
  const v = defaultSettingsFor('vgg16');
  assert.equal(v.patience, 0);
  assert.ok(v.lr === undefined || (Number.isFinite(v.lr) && v.lr > 0), `lr ${v.lr}`);
  assert.deepEqual(defaultSettingsFor('resnet18'), {});
  assert.deepEqual(defaultSettingsFor('no-such-model'), {});
  const a = defaultSettingsFor('vgg16');
  a.patience = 5;
  assert.equal(defaultSettingsFor('vgg16').patience, 0, 'a copy: changing it does not change the defaults');
});

test('planRace: the finalists\' test passes are reserved after the last rung only (all of its units, or a cap)', () => {
  const o = { secondsPerEpoch: 10, variants: 6, maxSeeds: 3, maxEpochs: 9, budgetSeconds: 600 };
  const none = planRace(o);
  const all = planRace({ ...o, secondsPerFinalist: 20 });
  const one = planRace({ ...o, secondsPerFinalist: 20, finalistUnits: 1 });
  for (const p of [none, all, one]) assert.ok(p.fits && !p.fullGrid && p.totalSeconds <= 600 && p.rungs.length >= 2);
  const last = (p: typeof all) => p.rungs[p.rungs.length - 1];
  /** The last rung's training seconds, from its epochs and seeds (continued seeds pay only their new epochs). */
  const lastTraining = (p: typeof all) => {
    const l = last(p);
    const prev = p.rungs[p.rungs.length - 2];
    const cont = Math.min(prev.seeds, l.seeds);
    return l.variants * (cont * (l.epochs - prev.epochs) * 10 + (l.seeds - cont) * l.epochs * 10);
  };
  assert.equal(last(none).seconds, lastTraining(none), 'no reserve without secondsPerFinalist');
  assert.equal(last(all).seconds - lastTraining(all), last(all).variants * last(all).seeds * 20, 'one test pass per final unit');
  assert.equal(last(one).seconds - lastTraining(one), 20, 'capped to one unit');
  for (const p of [none, all, one]) assert.equal(p.totalSeconds, p.rungs.reduce((a, r) => a + r.seconds, 0));
  // a reserve leaves less training; a reserve for one unit more than one for all
  assert.ok(last(all).epochs * last(all).seeds <= last(none).epochs * last(none).seeds);
  assert.ok(last(one).epochs * last(one).seeds >= last(all).epochs * last(all).seeds);
  // the full grid, when it fits, pays one test pass per unit
  const grid = planRace({ ...o, budgetSeconds: 1e6, secondsPerFinalist: 20 });
  assert.equal(grid.fullGrid, true);
  assert.equal(grid.totalSeconds, 6 * 3 * (9 * 10 + 20));
});
