/**
 * Layers the models need that tfjs-layers lacks.
 *
 * `SeededDropout`: tfjs-layers' Dropout with a `seed` draws the SAME mask at every step (the seed
 * is passed unchanged to tf.dropout), and without one it draws from Math.random. This one seeds
 * each call from (seed, call count): a fresh mask per step, the same sequence in every run.
 */
import { tf } from '../tf.ts';
import { BN_TRAIN } from '../kernels/wasm/batch_norm.ts';

export interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
}

export class SeededDropout extends tf.layers.Layer {
  static className = 'AugmentSeededDropout';
  private readonly rate: number;
  private readonly seed: number;
  private calls = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (!kwargs.training || this.rate <= 0) return x.clone();
    const seed = (this.seed * 1_000_003 + this.calls++) % 2_147_483_647;
    return tf.dropout(x, this.rate, undefined, seed);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

tf.serialization.registerClass(SeededDropout);

/**
 * Batch normalisation over the last axis, PyTorch semantics (biased variance to normalise,
 * unbiased variance into the running estimate, `momentum` = weight of the new batch, 0.1 by
 * default), optionally followed by a ReLU. Weights are named as tfjs-layers' BatchNormalization
 * (gamma, beta, moving_mean, moving_variance).
 *
 * In training, where the backend has the fused `AugmentBatchNormTrain` kernel (wasm), the whole
 * layer is that one kernel and its gradient one more; elsewhere (webgpu, tfjs-node, cpu) it is
 * tf.moments + tf.batchNorm.
 */
export interface FusedBatchNormArgs {
  name?: string;
  epsilon?: number;
  momentum?: number;
  relu?: boolean;
}

export class FusedBatchNorm extends tf.layers.Layer {
  static className = 'AugmentFusedBatchNorm';
  readonly epsilon: number;
  readonly momentum: number;
  readonly relu: boolean;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;
  private movingMean!: tf.LayerVariable;
  private movingVariance!: tf.LayerVariable;

  constructor(args: FusedBatchNormArgs = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? 1e-5;
    this.momentum = args.momentum ?? 0.1;
    this.relu = args.relu ?? false;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`${this.name}: the channel axis must be known`);
    this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const gamma = this.gamma.read();
    const beta = this.beta.read();
    const mm = this.movingMean.read();
    const mv = this.movingVariance.read();
    if (!kwargs.training) {
      // x * scale + shift with per-channel vectors: two broadcasting kernels (wasm's FusedBatchNorm
      // kernel is a scalar loop several times slower per element).
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(mv, this.epsilon)));
      const shift = tf.sub(beta, tf.mul(mm, scale));
      const y = tf.add(tf.mul(x, scale), shift);
      return this.relu ? tf.relu(y) : y;
    }
    if (tf.getKernel(BN_TRAIN, tf.getBackend())) {
      const [y, , , newMean, newVar] = tf.engine().runKernel(
        BN_TRAIN,
        { x, gamma, beta, movingMean: mm, movingVar: mv },
        { epsilon: this.epsilon, momentum: this.momentum, relu: this.relu },
      ) as tf.Tensor[];
      this.movingMean.write(newMean);
      this.movingVariance.write(newVar);
      return y;
    }
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const m = x.size / x.shape[x.shape.length - 1];
    tf.tidy(() => {
      const unbiased = m > 1 ? tf.mul(variance, m / (m - 1)) : variance;
      this.movingMean.write(tf.add(tf.mul(mm, 1 - this.momentum), tf.mul(mean, this.momentum)));
      this.movingVariance.write(tf.add(tf.mul(mv, 1 - this.momentum), tf.mul(unbiased, this.momentum)));
    });
    const y = tf.batchNorm(x, mean, variance, beta, gamma, this.epsilon);
    return this.relu ? tf.relu(y) : y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, momentum: this.momentum, relu: this.relu };
  }
}

tf.serialization.registerClass(FusedBatchNorm);

/**
 * A 2-D convolution without bias or activation (the ResNets' convs), weight named `kernel` as
 * tfjs-layers' Conv2D. tfjs-layers runs such a conv through `tf.fused.conv2d`, whose custom
 * gradient computes the input gradient eagerly even where nothing needs it: for the stem conv
 * that is the gradient with respect to the image, a 7x7 transposed convolution that took ~20% of
 * a ResNet-18 training step on wasm. `tf.conv2d`'s gradient is lazy, so the tape skips it.
 */
export interface PlainConv2DArgs {
  filters: number;
  kernelSize: number;
  strides: number;
  /** 'same', 'valid', or zero rows/columns on every side (PyTorch's `padding=`). */
  padding: 'same' | 'valid' | number;
  kernelInitializer: ReturnType<typeof tf.initializers.zeros>;
  name?: string;
}

export class PlainConv2D extends tf.layers.Layer {
  static className = 'AugmentPlainConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'same' | 'valid' | number;
  private readonly kernelInitializer: ReturnType<typeof tf.initializers.zeros>;
  private kernel!: tf.LayerVariable;

  constructor(args: PlainConv2DArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides;
    this.padding = args.padding;
    this.kernelInitializer = args.kernelInitializer;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`${this.name}: the channel axis must be known`);
    const k = this.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, c, this.filters], 'float32', this.kernelInitializer, undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const [n, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [n, windowOutput(h, this.kernelSize, this.strides, this.padding), windowOutput(w, this.kernelSize, this.strides, this.padding), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.conv2d(x, this.kernel.read() as tf.Tensor4D, this.strides, this.padding);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding };
  }
}

tf.serialization.registerClass(PlainConv2D);

/** Output length of a sliding window (PyTorch's floor rule for a numeric padding). */
function windowOutput(size: number | null, k: number, stride: number, padding: 'same' | 'valid' | number): number | null {
  if (size == null) return null;
  if (padding === 'same') return Math.ceil(size / stride);
  const p = padding === 'valid' ? 0 : padding;
  return Math.floor((size + 2 * p - k) / stride) + 1;
}

/**
 * Max pooling with PyTorch's numeric padding (torchvision's ResNet stem: 3x3, stride 2,
 * padding 1; tfjs-layers' MaxPooling2D knows only 'same' and 'valid').
 */
export interface PaddedMaxPoolArgs {
  poolSize: number;
  strides: number;
  padding: number;
  name?: string;
}

export class PaddedMaxPool extends tf.layers.Layer {
  static className = 'AugmentPaddedMaxPool';
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: number;

  constructor(args: PaddedMaxPoolArgs) {
    super({ name: args.name });
    this.poolSize = args.poolSize;
    this.strides = args.strides;
    this.padding = args.padding;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const [n, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [n, windowOutput(h, this.poolSize, this.strides, this.padding), windowOutput(w, this.poolSize, this.strides, this.padding), c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.maxPool(x, this.poolSize, this.strides, this.padding);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

tf.serialization.registerClass(PaddedMaxPool);
