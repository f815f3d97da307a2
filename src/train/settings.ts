/**
 * Training and evaluation settings with their defaults, and the parsing of flag values: a
 * light module (no TensorFlow.js), so that the CLI can describe and check its flags fast.
 */
import { invalidParameter } from '../errors.ts';
import type { SamplerName } from './data.ts';
import type { LossName } from './losses.ts';
import type { OptimizerName } from './optimizers.ts';
import type { ScheduleName } from './schedules.ts';

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  /** Initial learning rate (ignored by the piecewise schedule, which carries its own). */
  lr: number;
  optimizer: OptimizerName;
  momentum: number;
  schedule: ScheduleName;
  stepSize: number;
  gamma: number;
  piecewise?: string;
  loss: LossName;
  focalGamma: number;
  focalAlpha?: number | number[];
  sampler: SamplerName;
  /** Stop after this many epochs without a better valid macro-F1 (0: never stop early). */
  patience: number;
  /** Linear warm-up of the rate over this many epochs, per step (0 or absent: none; src/train/schedules.ts). */
  warmupEpochs?: number;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  epochs: 30,
  batchSize: 64,
  lr: 1e-3,
  optimizer: 'adam',
  momentum: 0.9,
  schedule: 'constant',
  stepSize: 30,
  gamma: 0.1,
  loss: 'ce',
  focalGamma: 2,
  sampler: 'uniform',
  patience: 10,
};

export interface EvaluateSettings extends TrainSettings {
  model: string;
  /** Channel multiplier of the model. */
  width: number;
  imageSize: number;
  /** Number of seeds (1..n). */
  seeds: number;
}

export const DEFAULT_EVALUATE_SETTINGS: EvaluateSettings = {
  ...DEFAULT_TRAIN_SETTINGS,
  model: 'vgg16',
  width: 1,
  imageSize: 32,
  seeds: 3,
};

/** Parses `--focal-alpha`: `0.25` or `1,2,0.5` (one per class). */
export function parseFocalAlpha(text: string | number | undefined): number | number[] | undefined {
  if (text === undefined || text === '') return undefined;
  if (typeof text === 'number') return text;
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map((s) => (/^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN));
  if (nums.some((x) => !Number.isFinite(x) || x <= 0)) {
    throw invalidParameter('--focal-alpha', 'a positive number or a comma-separated list of them (one per class)', text);
  }
  return nums.length === 1 ? nums[0] : nums;
}

/**
 * The bundled models' names, without loading TensorFlow.js (the registry needs it), so that
 * `--model` is checked before the backend starts. test/evaluate-plan.test.ts checks that it
 * matches the registry.
 */
export const MODEL_NAMES: readonly string[] = ['resnet18', 'resnet50', 'vgg16'];

/** The flag of each setting, for messages. */
export const SETTING_FLAGS: Record<keyof EvaluateSettings, string> = {
  model: '--model',
  width: '--width',
  imageSize: '--image-size',
  seeds: '--seeds',
  epochs: '--epochs',
  batchSize: '--batch-size',
  lr: '--lr',
  optimizer: '--optimizer',
  momentum: '--momentum',
  schedule: '--schedule',
  stepSize: '--step-size',
  gamma: '--gamma',
  piecewise: '--piecewise',
  loss: '--loss',
  focalGamma: '--focal-gamma',
  focalAlpha: '--focal-alpha',
  sampler: '--sampler',
  patience: '--patience',
  warmupEpochs: '--warmup-epochs',
};

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Parses a duration such as `90s`, `20m`, `2h` or `1.5h` (a bare number is seconds) into
 * seconds. A one-line AugmentError naming `flag` otherwise.
 */
export function parseDuration(text: string | number, flag = '--budget'): number {
  const s = String(text).trim().toLowerCase();
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(s|m|h)?$/.exec(s);
  const seconds = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? 's'] : NaN;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw invalidParameter(flag, 'a duration such as 90s, 20m or 2h', String(text));
  }
  return seconds;
}
