/**
 * Layers the models need that tfjs-layers lacks.
 *
 * `SeededDropout`: tfjs-layers' Dropout with a `seed` draws the SAME mask at every step (the seed
 * is passed unchanged to tf.dropout), and without one it draws from Math.random. This one seeds
 * each call from (seed, call count): a fresh mask per step, the same sequence in every run.
 */
import { tf } from '../tf.ts';

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
