/**
 * Per-model training defaults: what `evaluate` uses for a model when the flag is not given
 * (global defaults < these < flags). Each entry is a measurement, not a guess: the table and
 * the commands are in docs/BENCHMARKS.md, "Default learning rates".
 *
 * - vgg16 (13 conv layers, no batch norm, torchvision's init) at its default width 1, 32 px:
 *   with Adam 1e-3 (the global rate) it collapses to the constant predictor — the train loss
 *   settles at the entropy of the class prior, valid macro-F1 stays the constant
 *   predictor's — in every run measured (shapes fixture, 20-30 epochs, batch 64 and 16, 6 of
 *   6 runs, both engines; one run's loss jumped to 89 in epoch 2). With Adam 1e-4 the train
 *   loss falls below the prior's in every fixture run (8 of 8, epochs 9-18, both engines),
 *   and with 6 steps per epoch (batch 16) valid macro-F1 leaves chance at epoch 15
 *   (PyTorch) / 20 (augment). 3e-4 lies between; a 2-epoch warm-up did not help (PyTorch
 *   the same, augment slower). So vgg16's lr is 1e-4. Even then a run sits at chance for
 *   15-20 epochs, so vgg16 also keeps `patience: 0`: with the global patience (10 epochs
 *   without a better valid macro-F1) it would stop at epoch 11. Runs that stay at chance
 *   are reported as not learned (src/train/ranking.ts, `hasLearned`). At width 0.125 the
 *   measurement went the other way (only 1e-3 left chance within 20-60 epochs): pass
 *   `--lr 1e-3` there (these defaults are per model, not per width).
 * - resnet18 / resnet50 (batch norm) learn at the global defaults; nothing to change.
 *
 * A light module (no TensorFlow.js), read by the plan before anything is loaded.
 */
import type { EvaluateSettings } from './settings.ts';

export interface ModelDefaults {
  settings: Partial<EvaluateSettings>;
  /** One line for the plan / docs: why these values. */
  why: string;
}

export const MODEL_DEFAULTS: Readonly<Record<string, ModelDefaults>> = {
  vgg16: {
    settings: { lr: 1e-4, patience: 0 },
    why:
      'vgg16 has no batch norm: at width 1 Adam 1e-3 collapses to one class in every measured run (PyTorch too), 1e-4 starts to fit; ' +
      'it can stay at chance for many epochs, so early stopping is off (docs/BENCHMARKS.md, Default learning rates; at --width 0.125 use --lr 1e-3)',
  },
};

/** The model's own defaults (empty for a model that uses the global ones). */
export function defaultSettingsFor(model: string): Partial<EvaluateSettings> {
  return { ...(MODEL_DEFAULTS[model]?.settings ?? {}) };
}
