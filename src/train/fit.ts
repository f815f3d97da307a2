/**
 * Train one model on one variant with one seed, top to bottom:
 *
 *   for each epoch: set the scheduled rate -> train over a seeded order -> valid loss and
 *   valid macro-F1 over the whole valid split -> keep the weights if macro-F1 improved ->
 *   checkpoint (weights + optimizer state + history) -> stop after `patience` epochs
 *   without improvement.
 *   then: restore the best (selected) weights and evaluate test once with them.
 *
 * Only async tensor reads (`await t.data()`) are used, so the same loop runs on backends
 * where `dataSync` is unavailable (webgpu in Node).
 *
 * Resume: with `checkpointDir`, each finished epoch leaves `epoch-NNNN/` (model weights and
 * optimizer state) and, when it improved, `best-NNNN/`, and then `state.json` pointing to
 * them; a later call with the same folder continues after the last finished epoch, with
 * the same optimizer state and learning rate, or returns the stored result when the seed
 * already finished. With `keepLastCheckpoint`, a finished run keeps its last epoch's
 * checkpoint too, so that a later call with more `epochs` continues it (a racing rung that
 * earns more epochs) and gives the numbers an uninterrupted run of that length would.
 *
 * `epochImages` caps the images of one epoch: the first `epochImages` of that epoch's seeded
 * order (a different subset every epoch), for budgets where a whole epoch does not fit.
 */
import { readdir, readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from './tf.ts';
import { DEFAULT_TRAIN_SETTINGS, type TrainSettings } from './settings.ts';
import { AugmentError } from '../errors.ts';
import { BatchReader, batches, epochOrder, type SamplerName, type SplitCache } from './data.ts';
import { createLoss, type LossName, type PerExampleLoss } from './losses.ts';
import { classificationMetrics, type ClassificationMetrics } from './metrics.ts';
import { createOptimizer, setLearningRate, type OptimizerName } from './optimizers.ts';
import { silentProgress, type ProgressFactory } from './progress.ts';
import { createSchedule, type ScheduleName } from './schedules.ts';
import { loadModelWeights, loadOptimizer, saveModel, saveOptimizer } from './weights-io.ts';

export { DEFAULT_TRAIN_SETTINGS, type TrainSettings } from './settings.ts';

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  lr: number;
  trainLoss: number;
  validLoss: number;
  validMacroF1: number;
  validAccuracy: number;
  /** Wall time of the training pass (not the validation). */
  trainSeconds: number;
  imagesPerSecond: number;
}

export interface SplitEvaluation {
  loss: number;
  metrics: ClassificationMetrics;
}

export interface FitResult {
  history: EpochRecord[];
  /** 1-based epoch whose weights were selected (best valid macro-F1; first one on ties). */
  bestEpoch: number;
  stoppedEarly: boolean;
  valid: SplitEvaluation;
  test: SplitEvaluation;
  /** Test predictions of the selected weights, in the test split's order (labels: the cache's). */
  testPredictions: number[];
  /** Folder of the selected weights (model.json + weights.bin), when checkpointing. */
  weightsDir?: string;
  /** Epochs that were already done when this call started (resume), 0 for a fresh start. */
  resumedAfterEpoch: number;
}

export interface FitData {
  train: SplitCache;
  valid: SplitCache;
  test: SplitCache;
}

export interface FitOptions {
  /** Builds the (untrained, seeded) model; it must output logits. */
  createModel: () => tf.LayersModel;
  data: FitData;
  settings: TrainSettings;
  seed: number;
  /** Folder for per-epoch checkpoints and the resume state; omitted: no checkpoints. */
  checkpointDir?: string;
  /** Label for progress lines, e.g. `v3 seed 1`. */
  label?: string;
  progress?: ProgressFactory;
  onEpoch?: (r: EpochRecord) => void | Promise<void>;
  /** Aborting stops after the current batch with AugmentError INTERRUPTED (the last finished epoch stays checkpointed). */
  signal?: AbortSignal;
  /** Receives a line when the run resumes from a checkpoint. */
  log?: (line: string) => void;
  /** Read the loss back every this many batches (default 16): fewer device syncs. */
  lossReadEvery?: number;
  /** Keep the last epoch's checkpoint when the run finishes, so that more epochs can follow. */
  keepLastCheckpoint?: boolean;
  /** After each batch of a valid or test pass (progress lines for long passes). */
  onEvalBatch?: (split: 'valid' | 'test', imagesDone: number, total: number) => void;
  /** At most this many train images per epoch (default: the whole split). */
  epochImages?: number;
}

interface StoredState {
  version: 1;
  seed: number;
  epochsDone: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValidMacroF1: number;
  /** The valid evaluation of the best epoch (the selected weights): the end need not repeat it. */
  bestValid?: SplitEvaluation;
  lastDir: string | null;
  bestDir: string | null;
  result?: Omit<FitResult, 'resumedAfterEpoch' | 'weightsDir' | 'testPredictions'> & { testPredictions?: number[] };
}

const pad = (n: number) => String(n).padStart(4, '0');

async function readState(dir: string): Promise<StoredState | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StoredState;
  } catch {
    return null;
  }
}

async function writeState(dir: string, s: StoredState): Promise<void> {
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(s, null, 1));
  await rename(tmp, join(dir, 'state.json'));
}

/** Removes checkpoint folders that the state no longer points to (and stale temp folders). */
async function pruneCheckpoints(dir: string, keep: Array<string | null>): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (/^(epoch|best)-\d+/.test(n) && !keep.includes(n)) await rm(join(dir, n), { recursive: true, force: true });
  }
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

function checkAbort(signal: AbortSignal | undefined, label: string): void {
  if (signal?.aborted) throw new AugmentError('INTERRUPTED', `interrupted during ${label}`);
}

/** Loss and metrics over a whole split, with the model in inference mode. */
export async function evaluateSplit(
  model: tf.LayersModel,
  cache: SplitCache,
  lossFn: PerExampleLoss,
  batchSize: number,
  numClasses: number,
  signal?: AbortSignal,
  onBatch?: (imagesDone: number, total: number) => void,
): Promise<SplitEvaluation & { predictions: Int32Array }> {
  const reader = new BatchReader(cache);
  const s = cache.imageSize;
  const predictions = new Int32Array(cache.n);
  let lossSum = 0;
  try {
    const order = Int32Array.from({ length: cache.n }, (_, i) => i);
    for (const idx of batches(order, batchSize)) {
      checkAbort(signal, 'evaluation');
      const b = reader.read(idx);
      const [lossT, predT] = tf.tidy(() => {
        const x = tf.tensor4d(b.x, [b.n, s, s, 3]);
        const y = tf.tensor1d(b.y, 'int32');
        const logits = model.apply(x, { training: false }) as tf.Tensor2D;
        return [tf.sum(lossFn(y, logits)), tf.argMax(logits, 1)];
      });
      const [l, p] = await Promise.all([lossT.data(), predT.data()]);
      tf.dispose([lossT, predT]);
      lossSum += l[0];
      predictions.set(p as Int32Array, idx[0]);
      onBatch?.(idx[0] + b.n, cache.n);
      await yieldToEventLoop();
    }
  } finally {
    reader.close();
  }
  return {
    loss: lossSum / cache.n,
    metrics: classificationMetrics(cache.labels, predictions, numClasses),
    predictions,
  };
}

/** Keeps the values of a model's weights (clones; the model's variables move on). */
function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => tf.clone(w));
}

export async function fit(o: FitOptions): Promise<FitResult> {
  const st = o.settings;
  const numClasses = o.data.train.classes.length;
  const label = o.label ?? `seed ${o.seed}`;
  const progress = o.progress ?? silentProgress;
  const lossFn = createLoss({ loss: st.loss, focalGamma: st.focalGamma, focalAlpha: st.focalAlpha });
  const schedule = createSchedule(st);
  const ckpt = o.checkpointDir;
  if (!Number.isInteger(st.epochs) || st.epochs < 1) throw new AugmentError('BAD_ARGUMENT', `Expected a whole number >= 1 for --epochs but received ${st.epochs}`);
  if (!Number.isInteger(st.batchSize) || st.batchSize < 1) throw new AugmentError('BAD_ARGUMENT', `Expected a whole number >= 1 for --batch-size but received ${st.batchSize}`);

  let state: StoredState = {
    version: 1,
    seed: o.seed,
    epochsDone: 0,
    history: [],
    bestEpoch: 0,
    bestValidMacroF1: -1,
    lastDir: null,
    bestDir: null,
  };
  if (ckpt) {
    await mkdir(ckpt, { recursive: true });
    const stored = await readState(ckpt);
    if (stored && stored.seed === o.seed) state = stored;
    const canContinue = state.result && !state.result.stoppedEarly && state.epochsDone < st.epochs && state.lastDir !== null;
    if (state.result && state.bestDir && !canContinue) {
      return { ...state.result, testPredictions: state.result.testPredictions ?? [], weightsDir: join(ckpt, state.bestDir), resumedAfterEpoch: state.epochsDone };
    }
    if (canContinue) delete state.result;
  }
  const resumedAfterEpoch = state.epochsDone;

  const model = o.createModel();
  const optimizer = createOptimizer({ optimizer: st.optimizer, lr: schedule(0), momentum: st.momentum });
  let best: tf.Tensor[] | null = null;
  const trainReader = new BatchReader(o.data.train);
  try {
    if (ckpt && state.lastDir) {
      await loadModelWeights(model, join(ckpt, state.lastDir, 'model'));
      await loadOptimizer(optimizer, join(ckpt, state.lastDir, 'optimizer'));
      o.log?.(`${label}: resuming after epoch ${state.epochsDone} (weights and optimizer state restored)`);
    }
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const s = o.data.train.imageSize;
    const readEvery = Math.max(1, o.lossReadEvery ?? 16);
    let sinceBest = state.epochsDone - state.bestEpoch;

    for (let e = state.epochsDone; e < st.epochs; e++) {
      if (st.patience > 0 && state.bestEpoch > 0 && sinceBest >= st.patience) break;
      const lr = schedule(e);
      setLearningRate(optimizer, lr);
      const fullOrder = epochOrder(o.data.train.labels, st.sampler, o.seed, e);
      const order = o.epochImages && o.epochImages < fullOrder.length ? fullOrder.subarray(0, Math.max(1, o.epochImages)) : fullOrder;
      const totalBatches = Math.ceil(order.length / st.batchSize);
      const bar = progress(`${label} epoch ${e + 1}/${st.epochs}`, totalBatches);
      const started = performance.now();
      let lossSum = 0;
      let seen = 0;
      let pending: Array<{ t: tf.Scalar; n: number }> = [];
      const flush = async () => {
        const vals = await Promise.all(pending.map((p) => p.t.data()));
        vals.forEach((v, i) => (lossSum += v[0] * pending[i].n));
        tf.dispose(pending.map((p) => p.t));
        pending = [];
      };
      let done = 0;
      try {
        for (const idx of batches(order, st.batchSize)) {
          checkAbort(o.signal, `${label} epoch ${e + 1}`);
          if (st.warmupEpochs && e < st.warmupEpochs) setLearningRate(optimizer, schedule(e, (done + 1) / totalBatches)); // warm-up: per step
          const b = trainReader.read(idx);
          const lossT = tf.tidy(() => {
            const x = tf.tensor4d(b.x, [b.n, s, s, 3]);
            const y = tf.tensor1d(b.y, 'int32');
            return optimizer.minimize(
              () => tf.mean(lossFn(y, model.apply(x, { training: true }) as tf.Tensor2D)) as tf.Scalar,
              true,
              vars,
            ) as tf.Scalar;
          });
          pending.push({ t: lossT, n: b.n });
          seen += b.n;
          done++;
          if (pending.length >= readEvery) await flush();
          bar.update(done, seen);
          await yieldToEventLoop();
        }
        await flush();
      } catch (err) {
        tf.dispose(pending.map((p) => p.t));
        bar.stop(`${label} epoch ${e + 1}/${st.epochs}: stopped`);
        throw err;
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const valid = await evaluateSplit(model, o.data.valid, lossFn, st.batchSize, numClasses, o.signal, (d, n) => o.onEvalBatch?.('valid', d, n));
      const rec: EpochRecord = {
        epoch: e + 1,
        lr,
        trainLoss: lossSum / seen,
        validLoss: valid.loss,
        validMacroF1: valid.metrics.macroF1,
        validAccuracy: valid.metrics.accuracy,
        trainSeconds,
        imagesPerSecond: seen / trainSeconds,
      };
      if (!Number.isFinite(rec.trainLoss)) {
        bar.stop(`${label} epoch ${e + 1}/${st.epochs}: train loss is ${rec.trainLoss}`);
        throw new AugmentError('BAD_ARGUMENT', `${label}: training diverged at epoch ${e + 1} (train loss ${rec.trainLoss}); lower --lr`);
      }
      const improved = rec.validMacroF1 > state.bestValidMacroF1;
      bar.stop(
        `${label} epoch ${e + 1}/${st.epochs}: train loss ${rec.trainLoss.toFixed(4)}, valid loss ${rec.validLoss.toFixed(4)}, ` +
          `valid macro-F1 ${rec.validMacroF1.toFixed(4)}${improved ? ' *' : ''} (lr ${lr.toExponential(2)}, ${Math.round(rec.imagesPerSecond)} img/s, ${trainSeconds.toFixed(1)} s)`,
      );
      state.history.push(rec);
      state.epochsDone = e + 1;
      if (improved) {
        state.bestEpoch = e + 1;
        state.bestValidMacroF1 = rec.validMacroF1;
        state.bestValid = { loss: valid.loss, metrics: valid.metrics };
        sinceBest = 0;
        if (!ckpt) {
          if (best) tf.dispose(best);
          best = snapshot(model);
        }
      } else {
        sinceBest++;
      }
      if (ckpt) {
        const lastDir = `epoch-${pad(e + 1)}`;
        const tmp = join(ckpt, `${lastDir}.tmp-${process.pid}`);
        await rm(tmp, { recursive: true, force: true });
        await saveModel(model, join(tmp, 'model'));
        await saveOptimizer(optimizer, join(tmp, 'optimizer'));
        await rm(join(ckpt, lastDir), { recursive: true, force: true });
        await rename(tmp, join(ckpt, lastDir));
        if (improved) {
          state.bestDir = `best-${pad(e + 1)}`;
          await saveModel(model, join(ckpt, state.bestDir), { epoch: e + 1, validMacroF1: rec.validMacroF1, classes: o.data.train.classes });
        }
        state.lastDir = lastDir;
        await writeState(ckpt, state);
        await pruneCheckpoints(ckpt, [state.lastDir, state.bestDir]);
      }
      await o.onEpoch?.(rec);
    }

    const stoppedEarly = state.epochsDone < st.epochs;
    // Selected weights: best valid macro-F1.
    if (ckpt) await loadModelWeights(model, join(ckpt, state.bestDir!));
    else model.setWeights(best!);
    // the selected weights' valid figures were computed when that epoch ended (older states: again)
    const validBest = state.bestValid ?? (await evaluateSplit(model, o.data.valid, lossFn, st.batchSize, numClasses, o.signal, (d, n) => o.onEvalBatch?.('valid', d, n)));
    const test = await evaluateSplit(model, o.data.test, lossFn, st.batchSize, numClasses, o.signal, (d, n) => o.onEvalBatch?.('test', d, n));
    const result = {
      history: state.history,
      bestEpoch: state.bestEpoch,
      stoppedEarly,
      valid: { loss: validBest.loss, metrics: validBest.metrics },
      test: { loss: test.loss, metrics: test.metrics },
      testPredictions: Array.from(test.predictions),
    };
    if (ckpt) {
      state.result = result;
      await writeState(ckpt, state);
      await pruneCheckpoints(ckpt, o.keepLastCheckpoint ? [state.bestDir, state.lastDir] : [state.bestDir]);
    }
    return { ...result, weightsDir: ckpt ? join(ckpt, state.bestDir!) : undefined, resumedAfterEpoch };
  } finally {
    trainReader.close();
    if (best) tf.dispose(best);
    optimizer.dispose();
    model.dispose();
  }
}
