/**
 * Per-model training defaults: what `evaluate` uses for a model when the flag is not given
 * (global defaults < these < flags). Each entry is a measurement, not a guess: the table and
 * the commands are in docs/BENCHMARKS.md, "Default learning rates".
 *
 * - vgg16 (13 conv layers, no batch norm, torchvision's init) at its default width 1, 32 px,
 *   batch 64: with Adam 1e-3 (the global rate) it collapses to the constant predictor — the
 *   train loss settles at the entropy of the class prior and valid macro-F1 stays the
 *   constant predictor's — in every run measured (shapes fixture, 30 epochs, 2 seeds, both
 *   engines; one run's loss jumped to 89 in epoch 2). With Adam 1e-4 the train loss falls
 *   below the prior's (epochs 13-18 of 20, 4 of 4 runs, both engines): the network starts to
 *   fit where 1e-3 does not. 3e-4 lies between (1 of 2 runs). No rate left chance on valid
 *   within the measured budget (20-30 fixture epochs, 2 epochs of the sample at 1e-4), so
 *   vgg16 also keeps `patience: 0`: with the global patience (10 epochs without a better
 *   valid macro-F1) a run still at chance would stop at epoch 11. Runs that stay at chance
 *   are reported as not learned (src/train/ranking.ts, `hasLearned`). At width 0.125 the
 *   measurement went the other way (only 1e-3 left chance within 20-60 epochs): pass
 *   `--lr 1e-3` there. A warm-up was not measured at width 1 (no effect at width 0.125).
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
