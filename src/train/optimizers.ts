/**
 * Optimizers: Adam (default; tfjs defaults beta1 0.9, beta2 0.999, epsilon from the backend;
 * `createFusedAdam`: tfjs's AdamOptimizer state and update, one kernel per weight on wasm)
 * or SGD with momentum (torch.optim.SGD(momentum=m) semantics: v = m v + g; w -= lr v).
 * The learning rate is changed per epoch by the schedule through `setLearningRate`.
 */
import { tf } from './tf.ts';
import { invalidParameter } from '../errors.ts';
import { createFusedAdam } from './kernels/wasm/adam.ts';

export type OptimizerName = 'adam' | 'sgd';
export const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'sgd'];

export interface OptimizerOptions {
  optimizer: OptimizerName;
  lr: number;
  /** sgd only (default 0.9). */
  momentum?: number;
}

export function createOptimizer(o: OptimizerOptions): tf.Optimizer {
  if (o.optimizer === 'adam') return createFusedAdam(o.lr);
  if (o.optimizer === 'sgd') {
    const m = o.momentum ?? 0.9;
    if (!Number.isFinite(m) || m < 0 || m >= 1) throw invalidParameter('--momentum', 'a number in [0, 1)', m);
    return tf.train.momentum(o.lr, m);
  }
  throw invalidParameter('--optimizer', `one of ${OPTIMIZERS.join(', ')}`, o.optimizer);
}

/** Sets the rate used by the next steps (Adam reads `learningRate` each step; SGD caches -lr). */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

export function getLearningRate(opt: tf.Optimizer): number {
  return (opt as unknown as { learningRate: number }).learningRate;
}
