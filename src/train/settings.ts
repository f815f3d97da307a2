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
