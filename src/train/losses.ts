/**
 * Losses over logits (the model's last layer has no softmax). Each returns the mean over the
 * batch as a scalar; `perExample` variants return one value per example, for summing an
 * exact loss over a whole evaluation set.
 *
 * - `ce`: cross-entropy, -log softmax(logits)[y].
 * - `focal` (Lin et al. 2017, multi-class form): -alpha_y * (1 - p_y)^gamma * log p_y, with
 *   p_y = softmax(logits)[y]. `alpha` is optional: a number scales every class alike (the
 *   common multi-class implementation, alpha * (1 - pt)^gamma * ce), a list gives one weight
 *   per class. With gamma = 0 and no alpha it is exactly cross-entropy.
 */
import { tf } from './tf.ts';
import { AugmentError, invalidParameter } from '../errors.ts';

export type LossName = 'ce' | 'focal';
export const LOSSES: readonly LossName[] = ['ce', 'focal'];

export interface LossOptions {
  loss: LossName;
  /** focal: focusing parameter gamma >= 0 (default 2). */
  focalGamma?: number;
  /** focal: a number, or one weight per class. */
  focalAlpha?: number | number[];
}

/** (labels int32 [n], logits float32 [n, k]) -> float32 [n]. */
export type PerExampleLoss = (labels: tf.Tensor1D, logits: tf.Tensor2D) => tf.Tensor1D;

function logSoftmaxAt(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Tensor1D {
  const k = logits.shape[1];
  const oneHot = tf.oneHot(labels, k).toFloat();
  return tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), 1) as tf.Tensor1D;
}

export function crossEntropyPerExample(labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(logSoftmaxAt(labels, logits)));
}

export function focalPerExample(gamma: number, alpha?: number | readonly number[]): PerExampleLoss {
  return (labels, logits) =>
    tf.tidy(() => {
      const logPt = logSoftmaxAt(labels, logits);
      let loss: tf.Tensor1D = tf.neg(logPt);
      if (gamma !== 0) {
        const pt = tf.exp(logPt);
        loss = tf.mul(tf.pow(tf.sub(1, pt), gamma), loss);
      }
      if (typeof alpha === 'number') loss = tf.mul(loss, alpha);
      else if (alpha) {
        if (alpha.length !== logits.shape[1]) {
          throw new AugmentError('BAD_ARGUMENT', `--focal-alpha has ${alpha.length} weights but the dataset has ${logits.shape[1]} classes`);
        }
        loss = tf.mul(loss, tf.gather(tf.tensor1d(alpha as number[]), labels));
      }
      return loss;
    });
}

/** Validates options and returns the per-example loss. */
export function createLoss(o: LossOptions): PerExampleLoss {
  if (o.loss === 'ce') return crossEntropyPerExample;
  if (o.loss === 'focal') {
    const gamma = o.focalGamma ?? 2;
    if (!Number.isFinite(gamma) || gamma < 0) throw invalidParameter('--focal-gamma', 'a number >= 0', gamma);
    const a = o.focalAlpha;
    if (a !== undefined) {
      const list = typeof a === 'number' ? [a] : a;
      if (list.length === 0 || list.some((x) => !Number.isFinite(x) || x <= 0)) {
        throw invalidParameter('--focal-alpha', 'a positive number or a comma-separated list of them (one per class)', a);
      }
    }
    return focalPerExample(gamma, a);
  }
  throw invalidParameter('--loss', `one of ${LOSSES.join(', ')}`, o.loss);
}

export { parseFocalAlpha } from './settings.ts';

/** Mean of the per-example loss: the training objective. */
export function meanLoss(perExample: PerExampleLoss, labels: tf.Tensor1D, logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(perExample(labels, logits)) as tf.Scalar);
}
