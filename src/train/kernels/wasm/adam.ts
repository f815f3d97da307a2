/**
 * Adam with one kernel per weight. tfjs's AdamOptimizer runs ~12 small kernels per weight and
 * step (mul, add, square, div, sqrt, assign...): 62 weights of a ResNet-18 make ~750 of the
 * ~1300 kernel calls of a training step on wasm, each paying the engine's per-kernel cost.
 *
 * Kernel `AugmentAdam` (wasm; one SIMD pass, `adam` in ./native/kernels.c)
 *   inputs  value, m, v, grad (same shape)
 *   attrs   lr, beta1, beta2, epsilon, c1 = 1 - beta1^t, c2 = 1 - beta2^t
 *   outputs newValue, newM, newV, exactly tfjs's update:
 *           m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;
 *           value' = value - lr * (m' / c1) / (sqrt(v' / c2) + epsilon)
 *
 * `FusedAdamOptimizer` is a tf.AdamOptimizer (same state, getWeights/setWeights, className
 * 'Adam', `learningRate` read at every step) whose applyGradients uses that kernel where the
 * current backend has it and falls back to tfjs's own otherwise.
 */
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';
import { native, offset, output } from './native.ts';

export const ADAM = 'AugmentAdam';

interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  c1: number;
  c2: number;
}

export function adamWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info[] {
  const b = args.backend as WasmBackendLike;
  const { value, m, v, grad } = args.inputs as Record<string, Info>;
  const { lr, beta1, beta2, epsilon, c1, c2 } = args.attrs as unknown as AdamAttrs;
  const [outW, pw] = output(b, value.shape);
  const [outM, pm] = output(b, value.shape);
  const [outV, pv] = output(b, value.shape);
  const n = value.shape.reduce((x, y) => x * y, 1);
  native(b).adam(offset(b, value), offset(b, m), offset(b, v), offset(b, grad), pw, pm, pv, n, lr, beta1, beta2, epsilon, 1 / c1, 1 / c2);
  return [outW, outM, outV];
}

export const adamConfig: tf.KernelConfig = {
  kernelName: ADAM,
  backendName: 'wasm',
  kernelFunc: adamWasm as unknown as tf.KernelFunc,
};

interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  iterations: number;
  incrementIterations(): void;
}

type Grads = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = { name: string; tensor: tf.Tensor };

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null) {
    super(learningRate, beta1, beta2, epsilon ?? undefined);
  }

  override applyGradients(variableGradients: Grads): void {
    if (!tf.getKernel(ADAM, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const s = this as unknown as AdamState;
    const list = Array.isArray(variableGradients);
    const names = list ? (variableGradients as NamedTensor[]).map((v) => v.name) : Object.keys(variableGradients);
    // accBeta = beta^t at step t (t = iterations + 1), as tfjs keeps it.
    const t = s.iterations + 1;
    const c1 = 1 - s.beta1 ** t;
    const c2 = 1 - s.beta2 ** t;
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (!s.accumulatedFirstMoment[i]) {
          s.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        }
        if (!s.accumulatedSecondMoment[i]) {
          s.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        }
        const grad = list ? (variableGradients as NamedTensor[])[i].tensor : (variableGradients as Record<string, tf.Tensor>)[name];
        if (grad == null) return;
        const m = s.accumulatedFirstMoment[i]!.variable;
        const v = s.accumulatedSecondMoment[i]!.variable;
        const [nw, nm, nv] = tf.engine().runKernel(
          ADAM,
          { value, m, v, grad },
          { lr: s.learningRate, beta1: s.beta1, beta2: s.beta2, epsilon: s.epsilon, c1, c2 },
        ) as tf.Tensor[];
        m.assign(nm);
        v.assign(nv);
        value.assign(nw);
      });
      s.accBeta1.assign(tf.scalar(s.beta1 ** (t + 1)));
      s.accBeta2.assign(tf.scalar(s.beta2 ** (t + 1)));
    });
    s.incrementIterations();
  }
}

/** Adam (tfjs defaults: beta1 0.9, beta2 0.999, the backend's epsilon) with the fused kernel on wasm. */
export function createFusedAdam(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
