/** The tiny model evaluate's tests train (flatten, dense 8 relu, dense): seconds per run on wasm, seeded. */
import type { EvaluateOptions, EvaluateSettings, ModelFactory } from '../../src/train/evaluate.ts';
import { tf } from '../../src/train/tf.ts';

export const tinyModel: ModelFactory = (_name, o) =>
  tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [o.imageSize, o.imageSize, 3] }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed }) }),
      tf.layers.dense({ units: o.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 100 }) }),
    ],
  });

/** evaluate() options for the tiny model on wasm: `fixed` (folders, rates) under the test's own `o`; settings default small. */
export function tinyEvaluateOptions(fixed: Partial<EvaluateOptions>, o: Partial<EvaluateOptions>, settings: Partial<EvaluateSettings> = {}): EvaluateOptions {
  return {
    createModel: tinyModel,
    modelNames: ['tiny'],
    charts: false,
    ...fixed,
    ...o,
    settings: { model: 'tiny', imageSize: 12, epochs: 3, batchSize: 8, lr: 3e-3, patience: 0, seeds: 2, ...settings, ...o.settings },
  };
}
