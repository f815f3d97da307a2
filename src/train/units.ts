/**
 * A unit: one (variant, seed) trained for the epochs of one rung. It is what racing
 * schedules, what a shard runs, and what ranking reads back (`rung-<k>.json` in the unit's
 * folder, src/train/run-folder.ts). The full grid is rung 0 with every epoch.
 *
 * `runUnit` trains (or continues: a later rung picks up fit's checkpoint of the earlier one),
 * then judges the run (`hasLearned` on its valid macro-F1 history against a constant
 * predictor), puts a bootstrap interval on its test macro-F1, and writes the unit's record
 * with the test split's y_true / y_pred. A unit whose record exists is not trained again.
 */
import { relative } from 'node:path';
import type { tf } from './tf.ts';
import type { Split, SplitCache } from './data.ts';
import { fit, type EpochRecord } from './fit.ts';
import type { ProgressFactory } from './progress.ts';
import { bootstrapMacroF1, hasLearned } from './ranking.ts';
import { readUnitRecord, unitDir, writeUnitRecord, type UnitRecord } from './run-folder.ts';
import type { EvaluateSettings } from './settings.ts';

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
  const r = await fit({
    createModel: () => ctx.createModel(settings.model, { numClasses: classes.length, imageSize: settings.imageSize, width: settings.width, seed: u.seed }),
    data: c,
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
    { numClasses, validClassCounts: classCounts(c.valid.labels, numClasses) },
  );
  const yTrue = Array.from(c.test.labels);
  const ci = r.testPredictions.length === yTrue.length ? bootstrapMacroF1(yTrue, r.testPredictions, numClasses, { seed: u.seed }) : undefined;
  const record: UnitRecord = {
    version: 1,
    variant: u.variant,
    seed: u.seed,
    rung: u.rung,
    epochs: u.epochs,
    ...(u.epochImages ? { epochImages: u.epochImages } : {}),
    finishedAt: new Date().toISOString(),
    seconds,
    ...(ctx.backend ? { backend: ctx.backend } : {}),
    history: r.history,
    test: { yTrue, yPred: r.testPredictions },
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
      testMacroF1: r.test.metrics.macroF1,
      testAccuracy: r.test.metrics.accuracy,
      testMacroPrecision: r.test.metrics.macroPrecision,
      testMacroRecall: r.test.metrics.macroRecall,
      testLoss: r.test.loss,
      testPerClassF1: r.test.metrics.perClassF1,
      testConfusion: r.test.metrics.confusion,
      weights: r.weightsDir ? relative(ctx.runDir, r.weightsDir) : undefined,
      learned: verdict.learned,
      rung: u.rung,
      ...(ci ? { testMacroF1CI: [ci.lo, ci.hi] as [number, number] } : {}),
    },
  };
  if (r.resumedAfterEpoch > 0 && r.resumedAfterEpoch >= r.history.length) ctx.log(`${label}: already finished, result reused`);
  ctx.log(
    `${label}: selected epoch ${r.bestEpoch}${r.stoppedEarly ? ' (stopped early)' : ''}, valid macro-F1 ${r.valid.metrics.macroF1.toFixed(4)}, ` +
      `test macro-F1 ${r.test.metrics.macroF1.toFixed(4)}${ci ? ` [${ci.lo.toFixed(3)}, ${ci.hi.toFixed(3)}]` : ''}` +
      (verdict.learned ? '' : ` - not learned (best valid macro-F1 ${verdict.best.toFixed(4)}, a constant predictor gets ${verdict.chance.toFixed(4)})`),
  );
  await writeUnitRecord(ctx.runDir, record);
  return record;
}
