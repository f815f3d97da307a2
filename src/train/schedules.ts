/**
 * Learning-rate schedules, as functions of the 0-based epoch (the rate is set once at the
 * start of each epoch, like torch's StepLR stepped per epoch).
 *
 * - `constant`: lr.
 * - `step`: lr * gamma^floor(epoch / stepSize) (torch.optim.lr_scheduler.StepLR).
 * - `piecewise`: a string `lr:epochs,lr:epochs,...`, each segment held for that many epochs
 *   in turn; after the last segment its rate is kept. The seed's schedule "3e-6 for 30
 *   epochs, 2e-6 for 50, then 1e-6 for 100" is `3e-6:30,2e-6:50,1e-6:100`. The piecewise
 *   string replaces `--lr`.
 *
 * Warm-up (`warmupEpochs` W > 0, any schedule): the rate is multiplied by min(1, t / W),
 * where t is the training progress in epochs at the end of the step, so it rises linearly
 * from almost 0 to the scheduled rate over the first W epochs (Goyal et al. 2017's gradual
 * warm-up; torch's LambdaLR stepped per batch). `schedule(epoch, fraction)` is the rate of a
 * step that ends `fraction` (0..1] of the way through `epoch`: a trainer that sets the rate
 * per step passes (done + 1) / steps; one that sets it once per epoch leaves fraction = 1
 * (epoch e then trains at min(1, (e + 1) / W) of the rate). Without warm-up the fraction is
 * ignored.
 */
import { AugmentError, invalidParameter } from '../errors.ts';

export type ScheduleName = 'constant' | 'step' | 'piecewise';
export const SCHEDULES: readonly ScheduleName[] = ['constant', 'step', 'piecewise'];

export interface ScheduleOptions {
  schedule: ScheduleName;
  lr: number;
  /** step: epochs between decays (default 30). */
  stepSize?: number;
  /** step: factor per decay (default 0.1). */
  gamma?: number;
  /** piecewise: `lr:epochs,...`. */
  piecewise?: string;
  /** Linear warm-up over this many epochs (default 0: none); may be fractional. */
  warmupEpochs?: number;
}

/** Rate of a step ending `fraction` (default 1) of the way through 0-based `epoch`. */
export type Schedule = (epoch: number, fraction?: number) => number;

export interface PiecewiseSegment {
  lr: number;
  epochs: number;
}

const NUMBER = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a learning rate such as `1e-3` or `0.001`: a finite number > 0 written in plain
 * decimal or exponent notation. Anything else is an AugmentError naming `name`.
 */
export function parseLearningRate(text: string | number, name = '--lr'): number {
  const s = String(text).trim();
  const v = NUMBER.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(v) || v <= 0) throw invalidParameter(name, 'a positive number such as 1e-3', String(text));
  return v;
}

/** Parses `3e-6:30,2e-6:50,1e-6:100` into segments; a bad string is one AugmentError line. */
export function parsePiecewise(text: string, name = '--piecewise'): PiecewiseSegment[] {
  const bad = (why: string) =>
    new AugmentError('BAD_ARGUMENT', `Expected "lr:epochs,lr:epochs,..." (e.g. 3e-6:30,2e-6:50) for ${name} but received ${JSON.stringify(text)}: ${why}`);
  if (typeof text !== 'string' || text.trim() === '') throw bad('it is empty');
  return text.split(',').map((part, i) => {
    const m = /^\s*([^:\s]+)\s*:\s*([^:\s]+)\s*$/.exec(part);
    if (!m) throw bad(`segment ${i + 1} ${JSON.stringify(part)} is not lr:epochs`);
    const lr = NUMBER.test(m[1]) ? Number(m[1]) : NaN;
    if (!Number.isFinite(lr) || lr <= 0) throw bad(`segment ${i + 1} has learning rate ${JSON.stringify(m[1])}, not a positive number`);
    const epochs = /^\d+$/.test(m[2]) ? Number(m[2]) : NaN;
    if (!Number.isInteger(epochs) || epochs < 1) throw bad(`segment ${i + 1} has ${JSON.stringify(m[2])} epochs, not a whole number >= 1`);
    return { lr, epochs };
  });
}

export function stepSchedule(lr: number, stepSize: number, gamma: number): Schedule {
  if (!Number.isInteger(stepSize) || stepSize < 1) throw invalidParameter('--step-size', 'a whole number >= 1', stepSize);
  if (!Number.isFinite(gamma) || gamma <= 0) throw invalidParameter('--gamma', 'a positive number', gamma);
  return (epoch) => lr * gamma ** Math.floor(epoch / stepSize);
}

export function piecewiseSchedule(segments: readonly PiecewiseSegment[]): Schedule {
  return (epoch) => {
    let end = 0;
    for (const s of segments) {
      end += s.epochs;
      if (epoch < end) return s.lr;
    }
    return segments[segments.length - 1].lr;
  };
}

/** Multiplies a schedule by the linear warm-up min(1, (epoch + fraction) / warmupEpochs). */
export function withWarmup(base: (epoch: number) => number, warmupEpochs: number): Schedule {
  if (typeof warmupEpochs !== 'number' || !Number.isFinite(warmupEpochs) || warmupEpochs < 0) {
    throw invalidParameter('--warmup-epochs', 'a number >= 0 (epochs)', warmupEpochs);
  }
  if (warmupEpochs === 0) return (epoch) => base(epoch);
  return (epoch, fraction = 1) => {
    const f = Math.min(1, Math.max(0, fraction));
    return base(epoch) * Math.min(1, (epoch + f) / warmupEpochs);
  };
}

/** Builds the schedule, validating its options (AugmentError on a bad one). */
export function createSchedule(o: ScheduleOptions): Schedule {
  return withWarmup(baseSchedule(o), o.warmupEpochs ?? 0);
}

function baseSchedule(o: ScheduleOptions): (epoch: number) => number {
  switch (o.schedule) {
    case 'constant':
      return () => o.lr;
    case 'step':
      return stepSchedule(o.lr, o.stepSize ?? 30, o.gamma ?? 0.1);
    case 'piecewise':
      if (o.piecewise === undefined) throw new AugmentError('BAD_ARGUMENT', '--schedule piecewise needs --piecewise "lr:epochs,..." (e.g. 3e-6:30,2e-6:50,1e-6:100)');
      return piecewiseSchedule(parsePiecewise(o.piecewise));
    default:
      throw invalidParameter('--schedule', `one of ${SCHEDULES.join(', ')}`, o.schedule);
  }
}
