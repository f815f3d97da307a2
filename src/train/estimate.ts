/**
 * How long an evaluate will take, measured on this machine before anything is trained:
 *
 * - training: a few timed steps of the real model (same factory, width, image size, batch
 *   size, optimizer and loss as the run) on random inputs, after two warm-up steps (which
 *   compile kernels and allocate); images/s = batch / median step time;
 * - inference (the valid pass after each epoch, the final valid + test pass): a few timed
 *   forward batches the same way;
 * - decoding: a few real images of the run decoded and resized, per image, divided by the
 *   decoder's parallelism, times the images that the cache does not hold yet.
 *
 * `unitSeconds` turns those rates into the time of one unit; `RateTracker` re-measures them
 * from the epochs that actually run (racing schedules its next units with it).
 */
import { availableParallelism } from 'node:os';
import { tf } from './tf.ts';
import { decodeToSize } from './data.ts';
import { createLoss } from './losses.ts';
import { createOptimizer } from './optimizers.ts';
import type { EvaluateSettings } from './settings.ts';

export interface Rates {
  /** Training images per second (forward + backward + update). */
  trainImagesPerSecond: number;
  /** Inference images per second. */
  evalImagesPerSecond: number;
  /** Seconds to decode one image, per decoder slot (divide by parallelism for wall time). */
  decodeSecondsPerImage: number;
}

/** `42 s`, `7 min`, `2.5 h`, `3.1 days`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times `steps` training steps and forward batches of the real model (after a warm-up). */
export async function measureModel(
  createModel: () => tf.LayersModel,
  s: Pick<EvaluateSettings, 'batchSize' | 'imageSize' | 'optimizer' | 'lr' | 'momentum' | 'loss' | 'focalGamma' | 'focalAlpha'>,
  numClasses: number,
  steps = 3,
): Promise<Pick<Rates, 'trainImagesPerSecond' | 'evalImagesPerSecond'>> {
  const model = createModel();
  const optimizer = createOptimizer({ optimizer: s.optimizer, lr: s.lr, momentum: s.momentum });
  const lossFn = createLoss({ loss: s.loss, focalGamma: s.focalGamma, focalAlpha: s.focalAlpha });
  const n = s.batchSize;
  const x = tf.randomUniform([n, s.imageSize, s.imageSize, 3], -1, 1, 'float32', 1);
  const y = tf.tensor1d(Array.from({ length: n }, (_, i) => i % numClasses), 'int32');
  try {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = async () => {
      const t0 = performance.now();
      const l = tf.tidy(() => optimizer.minimize(() => tf.mean(lossFn(y, model.apply(x, { training: true }) as tf.Tensor2D)) as tf.Scalar, true, vars) as tf.Scalar);
      await l.data();
      l.dispose();
      return (performance.now() - t0) / 1000;
    };
    const forward = async () => {
      const t0 = performance.now();
      const p = tf.tidy(() => tf.argMax(model.apply(x, { training: false }) as tf.Tensor2D, 1));
      await p.data();
      p.dispose();
      return (performance.now() - t0) / 1000;
    };
    // warm-up: kernels compile and memory grows during the first steps; a slow model (a step
    // of many seconds) gets one warm-up step and one timed step, so the plan stays short
    const warm = await step();
    if (warm <= 10) await step();
    const timed = warm > 10 ? 1 : steps;
    const train: number[] = [];
    for (let i = 0; i < timed; i++) train.push(await step());
    await forward();
    const infer: number[] = [];
    for (let i = 0; i < timed; i++) infer.push(await forward());
    return { trainImagesPerSecond: n / Math.max(1e-6, median(train)), evalImagesPerSecond: n / Math.max(1e-6, median(infer)) };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** Seconds per image of decoding a few of `paths` to `imageSize` (one at a time). */
export async function measureDecode(paths: string[], imageSize: number, samples = 6): Promise<number> {
  const pick = paths.filter((_, i) => i % Math.max(1, Math.floor(paths.length / samples)) === 0).slice(0, samples);
  if (pick.length === 0) return 0;
  const t0 = performance.now();
  for (const p of pick) await decodeToSize(p, imageSize);
  return (performance.now() - t0) / 1000 / pick.length;
}

export function decodeSeconds(images: number, secondsPerImage: number): number {
  return (images * secondsPerImage) / Math.max(1, availableParallelism());
}

/** Work of one unit, in images. */
export interface UnitWork {
  /** Train images per epoch. */
  trainImages: number;
  validImages: number;
  testImages: number;
  epochs: number;
}

/** Seconds of one epoch (train pass + valid pass). */
export function epochSeconds(w: Omit<UnitWork, 'epochs' | 'testImages'>, r: Pick<Rates, 'trainImagesPerSecond' | 'evalImagesPerSecond'>): number {
  return w.trainImages / r.trainImagesPerSecond + w.validImages / r.evalImagesPerSecond;
}

/** Seconds of a unit's end: the selected weights on the test split (their valid figures are kept from their epoch). */
export function finishSeconds(w: Pick<UnitWork, 'validImages' | 'testImages'>, r: Pick<Rates, 'evalImagesPerSecond'>): number {
  return w.testImages / r.evalImagesPerSecond;
}

/** Seconds of a whole unit (an upper bound: early stopping can end it sooner). */
export function unitSeconds(w: UnitWork, r: Pick<Rates, 'trainImagesPerSecond' | 'evalImagesPerSecond'>): number {
  return w.epochs * epochSeconds(w, r) + finishSeconds(w, r);
}

/**
 * The plan's estimate, re-measured as units run: each finished unit adds its predicted and
 * its actual wall time; later predictions are scaled by actual / predicted over the units so
 * far (1 before any). Racing schedules the next units with `predict`.
 */
export class RateTracker {
  private predicted = 0;
  private actual = 0;
  constructor(readonly rates: Rates) {}
  /** actual / predicted over the finished units (1 before any). */
  get factor(): number {
    return this.predicted > 0 && this.actual > 0 ? this.actual / this.predicted : 1;
  }
  /** The measured-then-corrected seconds of some work, e.g. `unitSeconds(w, rates)`. */
  predict(seconds: number): number {
    return seconds * this.factor;
  }
  observe(predictedSeconds: number, actualSeconds: number): void {
    if (!(predictedSeconds > 0) || !(actualSeconds >= 0)) return;
    this.predicted += predictedSeconds;
    this.actual += actualSeconds;
  }
}
