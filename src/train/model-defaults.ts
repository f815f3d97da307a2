/**
 * Per-model training defaults: what `evaluate` uses for a model when the flag is not given
 * (global defaults < these < flags). Each entry is a measurement, not a guess: the table and
 * the commands are in docs/BENCHMARKS.md, "Default learning rates".
 *
 * - vgg16 (13 conv layers, no batch norm, torchvision's init) starts slowly on small data: it
 *   predicts one class (valid macro-F1 = the constant predictor's) for its first 10-25 epochs,
 *   in PyTorch as here. Measured at width 0.125, 32 px, on the 4-class shapes fixture (Adam
 *   1e-4, 3e-4 with a 2-epoch warm-up, 1e-3 with and without warm-up, 3e-3 with warm-up, SGD
 *   momentum 0.9 at 1e-2 with warm-up; both engines) and on the sample (Adam 1e-4, 3e-4 with
 *   warm-up, 5 epochs): only Adam 1e-3 — the global default — left chance within 20-60 epochs
 *   (PyTorch: epochs 11 and 23, 2 of 2 runs; augment: epochs 18, 19 and 26, 3 of 7 runs), no
 *   smaller rate did (0 of 10 runs), and warm-up changed nothing measurable. So the rate stays 1e-3, and what vgg16 gets
 *   is `patience: 0`: with the global patience (10 epochs without a better valid macro-F1)
 *   a run still at chance stops at epoch 11, before it could leave chance. Runs that stay at
 *   chance anyway are reported as not learned (src/train/ranking.ts, `hasLearned`).
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
    settings: { patience: 0 },
    why:
      'vgg16 has no batch norm and stays at chance for its first 10-25 epochs on small data (PyTorch too); early stopping is off so it can leave chance ' +
      '(a smaller lr or a warm-up did not help: docs/BENCHMARKS.md, Default learning rates)',
  },
};

/** The model's own defaults (empty for a model that uses the global ones). */
export function defaultSettingsFor(model: string): Partial<EvaluateSettings> {
  return { ...(MODEL_DEFAULTS[model]?.settings ?? {}) };
}
