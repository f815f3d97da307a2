/** The tiny model evaluate's tests train (flatten, dense 8 relu, dense): seconds per run on wasm, seeded. */
import type { ModelFactory } from '../../src/train/evaluate.ts';
import { tf } from '../../src/train/tf.ts';

export const tinyModel: ModelFactory = (_name, o) =>
  tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [o.imageSize, o.imageSize, 3] }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed }) }),
      tf.layers.dense({ units: o.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 100 }) }),
    ],
  });
