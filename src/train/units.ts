/**
 * A unit: one (variant, seed) trained for the epochs of one rung. It is what racing
 * schedules, what a shard runs, and what ranking reads back (`rung-<k>.json` in the unit's
 * folder, src/train/run-folder.ts). The full grid is rung 0 with every epoch.
 *
 * `runUnit` trains (or continues: a later rung picks up fit's checkpoint of the earlier one),
 * then judges the run (`hasLearned` on its valid macro-F1 history against a constant
 * predictor), puts a bootstrap interval on its test macro-F1, and writes the unit's record
 * with the test split's y_true / y_pred. A unit whose record exists is not trained again.
 *
 * Racing units differ in two ways (src/train/race.ts): `validImages` scores every epoch on a
 * seeded, stratified subset of the valid split (`validSubset`: the same images for every
 * variant and seed, so the race's comparisons stay paired), and `deferTest` leaves the test
 * pass out: `testUnit` runs it later from the unit's selected checkpoint, only for the
 * units whose test figures the table reports (the race's finalists that learned).
 */
import { join, relative } from 'node:path';
import { AugmentError } from '../errors.ts';
import { rngFor } from '../rng.ts';
import type { tf } from './tf.ts';
import type { Split, SplitCache } from './data.ts';
import { evaluateSplit, fit, type EpochRecord } from './fit.ts';
import { createLoss } from './losses.ts';
import type { ProgressFactory } from './progress.ts';
import { bootstrapMacroF1, hasLearned } from './ranking.ts';
import { readUnitRecord, unitDir, writeUnitRecord, type RunSummary, type UnitRecord } from './run-folder.ts';
import type { EvaluateSettings } from './settings.ts';
import { loadModelWeights } from './weights-io.ts';

export interface ModelFactoryOptions {
  numClasses: number;
  imageSize: number;
  width: number;
  seed: number;
}
export type ModelFactory = (name: string, o: ModelFactoryOptions) => tf.LayersModel;

export interface Unit {
  variant: string;
  seed: number;
  rung: number;
  /** Epochs the unit has trained when it is done (cumulative over rungs). */
  epochs: number;
  /** Train images per epoch when a budget caps it. */
  epochImages?: number;
  /** Score each epoch on this many valid images (`validSubset`); absent or >= the split: all of it. */
  validImages?: number;
  /** Leave the test pass out (`testUnit` runs it later from the selected checkpoint). */
  deferTest?: boolean;
}

/**
 * The valid images a race scores its rungs on: `size` of the split, stratified (each class
 * keeps its share, largest remainders first, at least one image of every class present),
 * drawn with a fixed seed, so every variant and seed is scored on the same images. Sorted
 * indices into the split.
 */
export function validSubset(labels: Int32Array, size: number): Int32Array {
  const n = labels.length;
  if (size >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => {
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(i);
  });
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const want = Math.max(classes.length, Math.floor(size));
  const exact = classes.map((c) => (byClass.get(c)!.length * want) / n);
  const take = exact.map((x, i) => Math.min(byClass.get(classes[i])!.length, Math.max(1, Math.floor(x))));
  let left = want - take.reduce((a, b) => a + b, 0);
  const order = classes.map((_, i) => i).sort((a, b) => exact[b] - Math.floor(exact[b]) - (exact[a] - Math.floor(exact[a])) || a - b);
  for (let round = 0; left > 0 && round < 2; round++) {
    for (const i of order) {
      if (left <= 0) break;
      if (take[i] < byClass.get(classes[i])!.length) {
        take[i]++;
        left--;
      }
    }
  }
  const picked: number[] = [];
  classes.forEach((c, i) => picked.push(...rngFor('valid-subset', c).shuffle(byClass.get(c)!).slice(0, take[i])));
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** A split cache holding only the examples at `indices` (same packs, nothing copied). */
export function subsetCache(c: SplitCache, indices: Int32Array): SplitCache {
  return {
    ...c,
    n: indices.length,
    labels: Int32Array.from(indices, (i) => c.labels[i]),
    packOf: Uint32Array.from(indices, (i) => c.packOf[i]),
    offsets: Float64Array.from(indices, (i) => c.offsets[i]),
  };
}

/** The identity a shard is chosen by (`shardOf`): the (variant, seed) pair. */
export function unitIdentity(u: Pick<Unit, 'variant' | 'seed'>): string {
  return `${u.variant}/seed-${u.seed}`;
}

export function unitLabel(u: Pick<Unit, 'variant' | 'seed'>): string {
  return `${u.variant} seed ${u.seed}`;
}

export interface UnitContext {
  runDir: string;
  settings: EvaluateSettings;
  classes: string[];
  caches: Map<string, Record<Split, SplitCache>>;
  createModel: ModelFactory;
  progress: ProgressFactory;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Recorded with each unit (a merge reports which backend trained what). */
  backend?: string;
  /** Keep the last checkpoint so that a later rung can continue the unit. */
  keepLastCheckpoint?: boolean;
  /** After each batch of a valid or test pass. */
  onEvalBatch?: (u: Unit, split: 'valid' | 'test', imagesDone: number, total: number) => void;
  /** After each finished epoch (epochs.csv, progress). */
  onEpoch?: (u: Unit, history: EpochRecord[]) => void | Promise<void>;
}

function classCounts(labels: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const y of labels) c[y]++;
  return c;
}

export async function runUnit(ctx: UnitContext, u: Unit): Promise<UnitRecord> {
  const done = await readUnitRecord(ctx.runDir, u.variant, u.seed, u.rung);
  if (done && done.epochs === u.epochs) {
    ctx.log(`${unitLabel(u)}: already finished, result reused`);
    return { ...done, summary: { ...done.summary, resumedAfterEpoch: done.summary.epochsRun } };
  }
  const { settings, classes } = ctx;
  const c = ctx.caches.get(u.variant)!;
  const label = unitLabel(u);
  const partial: EpochRecord[] = [];
  const started = performance.now();
  const valid = u.validImages !== undefined && u.validImages < c.valid.n ? subsetCache(c.valid, validSubset(c.valid.labels, u.validImages)) : c.valid;
  const test = u.deferTest ? subsetCache(c.test, new Int32Array(0)) : c.test;
  const r = await fit({
    createModel: () => ctx.createModel(settings.model, { numClasses: classes.length, imageSize: settings.imageSize, width: settings.width, seed: u.seed }),
    data: { train: c.train, valid, test },
    settings: { ...settings, epochs: u.epochs },
    seed: u.seed,
    checkpointDir: unitDir(ctx.runDir, u.variant, u.seed),
    label,
    progress: ctx.progress,
    log: ctx.log,
    signal: ctx.signal,
    keepLastCheckpoint: ctx.keepLastCheckpoint,
    epochImages: u.epochImages,
    onEvalBatch: (split, d, n) => ctx.onEvalBatch?.(u, split, d, n),
    onEpoch: async (rec) => {
      partial.push(rec);
      await ctx.onEpoch?.(u, partial);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const numClasses = classes.length;
  const verdict = hasLearned(
    r.history.map((h) => h.validMacroF1),
    { numClasses, validClassCounts: classCounts(valid.labels, numClasses) },
  );
  const tested = !u.deferTest;
  const yTrue = tested ? Array.from(c.test.labels) : [];
  const ci = tested && r.testPredictions.length === yTrue.length ? bootstrapMacroF1(yTrue, r.testPredictions, numClasses, { seed: u.seed }) : undefined;
  const record: UnitRecord = {
    version: 1,
    variant: u.variant,
    seed: u.seed,
    rung: u.rung,
    epochs: u.epochs,
    ...(u.epochImages ? { epochImages: u.epochImages } : {}),
    validImages: valid.n,
    tested,
    finishedAt: new Date().toISOString(),
    seconds,
    ...(ctx.backend ? { backend: ctx.backend } : {}),
    history: r.history,
    test: { yTrue, yPred: tested ? r.testPredictions : [] },
    validConfusion: r.valid.metrics.confusion,
    learned: { learned: verdict.learned, chance: verdict.chance, best: verdict.best, margin: verdict.margin },
    summary: {
      variant: u.variant,
      seed: u.seed,
      bestEpoch: r.bestEpoch,
      epochsRun: r.history.length,
      stoppedEarly: r.stoppedEarly,
      resumedAfterEpoch: r.resumedAfterEpoch,
      validMacroF1: r.valid.metrics.macroF1,
      ...(tested ? testFigures(r.test) : untestedFigures(numClasses)),
      weights: r.weightsDir ? relative(ctx.runDir, r.weightsDir) : undefined,
      learned: verdict.learned,
      rung: u.rung,
      ...(ci ? { testMacroF1CI: [ci.lo, ci.hi] as [number, number] } : {}),
    },
  };
  if (r.resumedAfterEpoch > 0 && r.resumedAfterEpoch >= r.history.length) ctx.log(`${label}: already finished, result reused`);
  ctx.log(
    `${label}: selected epoch ${r.bestEpoch}${r.stoppedEarly ? ' (stopped early)' : ''}, valid macro-F1 ${r.valid.metrics.macroF1.toFixed(4)}` +
      (valid.n < c.valid.n ? ` (on ${valid.n} of the ${c.valid.n} valid images)` : '') +
      (tested ? `, test macro-F1 ${r.test.metrics.macroF1.toFixed(4)}${ci ? ` [${ci.lo.toFixed(3)}, ${ci.hi.toFixed(3)}]` : ''}` : ', test pass deferred') +
      (verdict.learned ? '' : ` - not learned (best valid macro-F1 ${verdict.best.toFixed(4)}, a constant predictor gets ${verdict.chance.toFixed(4)})`),
  );
  await writeUnitRecord(ctx.runDir, record);
  return record;
}

type TestFigures = Pick<RunSummary, 'testMacroF1' | 'testAccuracy' | 'testMacroPrecision' | 'testMacroRecall' | 'testLoss' | 'testPerClassF1' | 'testConfusion'>;

function testFigures(t: { loss: number; metrics: { macroF1: number; accuracy: number; macroPrecision: number; macroRecall: number; perClassF1: number[]; confusion: number[][] } }): TestFigures {
  return {
    testMacroF1: t.metrics.macroF1,
    testAccuracy: t.metrics.accuracy,
    testMacroPrecision: t.metrics.macroPrecision,
    testMacroRecall: t.metrics.macroRecall,
    testLoss: t.loss,
    testPerClassF1: t.metrics.perClassF1,
    testConfusion: t.metrics.confusion,
  };
}

/** A unit whose test pass was left out: no test figures (null in JSON), an empty confusion. */
function untestedFigures(k: number): TestFigures {
  return {
    testMacroF1: null,
    testAccuracy: null,
    testMacroPrecision: null,
    testMacroRecall: null,
    testLoss: null,
    testPerClassF1: [],
    testConfusion: Array.from({ length: k }, () => new Array<number>(k).fill(0)),
  };
}

/**
 * The test pass of a unit trained with `deferTest`: its selected weights (the checkpoint its
 * record names) on the whole test split, in batches of `batchSize`; the record gains the test
 * figures, the bootstrap interval and y_true / y_pred, and is written again. A record tested
 * already is returned as it is. AugmentError NOT_FOUND when the checkpoint is gone.
 */
export async function testUnit(ctx: UnitContext, rec: UnitRecord, o: { batchSize?: number } = {}): Promise<UnitRecord> {
  if (rec.tested !== false) return rec;
  const { settings, classes } = ctx;
  const c = ctx.caches.get(rec.variant)!;
  if (!rec.summary.weights) throw new AugmentError('NOT_FOUND', `${unitLabel(rec)}: no selected weights recorded for its test pass`);
  const started = performance.now();
  const model = ctx.createModel(settings.model, { numClasses: classes.length, imageSize: settings.imageSize, width: settings.width, seed: rec.seed });
  let t: Awaited<ReturnType<typeof evaluateSplit>>;
  try {
    await loadModelWeights(model, join(ctx.runDir, rec.summary.weights)).catch((e: unknown) => {
      throw new AugmentError('NOT_FOUND', `${unitLabel(rec)}: its selected weights ${rec.summary.weights} cannot be read for the test pass (${(e as Error).message})`);
    });
    const lossFn = createLoss({ loss: settings.loss, focalGamma: settings.focalGamma, focalAlpha: settings.focalAlpha });
    const u: Unit = { variant: rec.variant, seed: rec.seed, rung: rec.rung, epochs: rec.epochs };
    t = await evaluateSplit(model, c.test, lossFn, o.batchSize ?? settings.batchSize, classes.length, ctx.signal, (d, n) => ctx.onEvalBatch?.(u, 'test', d, n));
  } finally {
    model.dispose();
  }
  const yTrue = Array.from(c.test.labels);
  const yPred = Array.from(t.predictions);
  const ci = bootstrapMacroF1(yTrue, yPred, classes.length, { seed: rec.seed });
  const out: UnitRecord = {
    ...rec,
    tested: true,
    seconds: rec.seconds + (performance.now() - started) / 1000,
    test: { yTrue, yPred },
    summary: { ...rec.summary, ...testFigures(t), testMacroF1CI: [ci.lo, ci.hi] },
  };
  ctx.log(`${unitLabel(rec)}: test macro-F1 ${t.metrics.macroF1.toFixed(4)} [${ci.lo.toFixed(3)}, ${ci.hi.toFixed(3)}] (selected epoch ${rec.summary.bestEpoch}, ${yTrue.length} test images)`);
  await writeUnitRecord(ctx.runDir, out);
  return out;
}
