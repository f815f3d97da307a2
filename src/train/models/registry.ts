/**
 * Model registry (timm style): `registerModel(name, build)`, `createModel(name, options)`,
 * `listModels()`. Adding a model is one file that calls `registerModel` and one line in
 * `./index.ts` importing it. Every builder gets the same options and must be deterministic
 * for a given `seed` (seeded initialisers, fixed layer names).
 */
import { tf } from '../tf.ts';
import { AugmentError, invalidParameter } from '../../errors.ts';
import { deriveSeed } from '../../rng.ts';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export interface ModelOptions {
  /** Number of output classes (logits, no softmax). */
  numClasses: number;
  /** Input side in pixels: inputs are [batch, imageSize, imageSize, 3]. */
  imageSize: number;
  /** Channel multiplier: every width c becomes max(1, round(c * width)). */
  width: number;
  /** Seed of the initialisers: the same seed gives the same initial weights. */
  seed: number;
}

export type ModelBuilder = (o: ModelOptions) => tf.LayersModel;

const REGISTRY = new Map<string, ModelBuilder>();

export function registerModel(name: string, build: ModelBuilder): void {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`model name must be lower-case [a-z0-9_]: ${name}`);
  if (REGISTRY.has(name)) throw new Error(`model ${name} is already registered`);
  REGISTRY.set(name, build);
}

export function listModels(): string[] {
  return [...REGISTRY.keys()].sort();
}

export function validateModelOptions(o: ModelOptions): void {
  if (!Number.isInteger(o.numClasses) || o.numClasses < 2) throw invalidParameter('numClasses', 'an integer >= 2', o.numClasses);
  if (!Number.isInteger(o.imageSize) || o.imageSize < 8 || o.imageSize > 1024)
    throw invalidParameter('--image-size', 'an integer between 8 and 1024', o.imageSize);
  if (!Number.isFinite(o.width) || o.width <= 0 || o.width > 8) throw invalidParameter('--width', 'a number in (0, 8]', o.width);
  if (!Number.isInteger(o.seed)) throw invalidParameter('seed', 'an integer', o.seed);
}

/** Builds a registered model; an unknown name is one line listing the valid ones. */
export function createModel(name: string, o: ModelOptions): tf.LayersModel {
  const build = REGISTRY.get(name);
  if (!build) {
    throw new AugmentError('BAD_ARGUMENT', `Unknown model ${JSON.stringify(name)}: expected one of ${listModels().join(', ')}`);
  }
  validateModelOptions(o);
  return build(o);
}

/** torchvision-style channel scaling used by every model: max(1, round(c * width)). */
export function scaleChannels(c: number, width: number): number {
  // Python's round() is round-half-to-even; match it so widths equal PyTorch's.
  const v = c * width;
  const f = Math.floor(v);
  const diff = v - f;
  const r = diff > 0.5 ? f + 1 : diff < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return Math.max(1, r);
}

/**
 * Seeded initialisers for one model build: each call to `next(kind)` gives the initialiser of the
 * next weight, seeded from (model seed, weight index), so the same seed gives the same weights
 * whatever else was built before in the process.
 */
export class SeededInit {
  private i = 0;
  constructor(private readonly model: string, private readonly seed: number) {}

  private nextSeed(): number {
    return parseInt(deriveSeed(this.model, this.seed, this.i++).slice(0, 8), 16);
  }

  /** PyTorch's default for Conv2d/Linear weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  torchDefault(): Initializer {
    return tf.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: this.nextSeed() });
  }

  /** PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  torchBias(fanIn: number): Initializer {
    const b = 1 / Math.sqrt(fanIn);
    return tf.initializers.randomUniform({ minval: -b, maxval: b, seed: this.nextSeed() });
  }

  /** torchvision's VGG linear layers: normal_(0, std). */
  normal(std: number): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev: std, seed: this.nextSeed() });
  }

  /** torchvision ResNet and VGG convs: kaiming_normal_(mode='fan_out', nonlinearity='relu'). */
  kaimingFanOut(): Initializer {
    return tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: this.nextSeed() });
  }
}
