/**
 * Per-model training defaults: what `evaluate` uses for a model when the flag is not given
 * (global defaults < these < flags). Each entry is a measurement, not a guess: the table and
 * the command are in docs/BENCHMARKS.md, "Default learning rates".
 *
 * - vgg16 (13 conv layers, no batch norm, torchvision's init): at the global Adam lr 1e-3 it
 *   stays at chance (it predicts one class) on small data, in PyTorch as here; a smaller
 *   rate gets it out. See MEASURED below for the figures behind the choice.
 * - resnet18 / resnet50 (batch norm): the global defaults learn; nothing to change.
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
    settings: { lr: 1e-4 },
    why: 'vgg16 has no batch norm: at lr 1e-3 it stays at chance on small data (PyTorch too); 1e-4 leaves chance (docs/BENCHMARKS.md, Default learning rates)',
  },
};

/** The model's own defaults (empty for a model that uses the global ones). */
export function defaultSettingsFor(model: string): Partial<EvaluateSettings> {
  return { ...(MODEL_DEFAULTS[model]?.settings ?? {}) };
}
