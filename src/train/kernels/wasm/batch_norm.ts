/**
 * Fused batch normalisation for training on the wasm backend, written as JavaScript loops over
 * the wasm heap (the tensors stay where they are). Stock tfjs runs a training BatchNorm as
 * moments + FusedBatchNorm and its gradient as ~25 small broadcasting kernels (Tile, Multiply,
 * Sub, Sum...); a ResNet step spent most of its time there. Here it is one pass forward (plus
 * one for the statistics) and two passes backward, optionally with the following ReLU fused in.
 *
 * Kernel `AugmentBatchNormTrain`
 *   inputs  x [..., C], gamma [C], beta [C], movingMean [C], movingVar [C]
 *   attrs   epsilon, momentum (PyTorch's: new = (1 - m) * old + m * batch), relu (bool)
 *   outputs y, mean [C], invStd [C], newMovingMean [C], newMovingVar [C] (unbiased batch variance,
 *           as PyTorch's running_var)
 * Kernel `AugmentBatchNormGrad`
 *   inputs  dy, x, y, gamma, mean, invStd; attrs relu
 *   outputs dx, dGamma, dBeta
 * The gradient of `AugmentBatchNormTrain` (registered here) calls `AugmentBatchNormGrad`.
 */
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';

export const BN_TRAIN = 'AugmentBatchNormTrain';
export const BN_GRAD = 'AugmentBatchNormGrad';

export interface BatchNormTrainAttrs {
  epsilon: number;
  momentum: number;
  relu: boolean;
}

function f32(b: WasmBackendLike, t: Info): Float32Array {
  return b.typedArrayFromHeap(t) as Float32Array;
}

export function batchNormTrainWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info[] {
  const b = args.backend as WasmBackendLike;
  const { x, gamma, beta, movingMean, movingVar } = args.inputs as Record<string, Info>;
  const { epsilon, momentum, relu } = args.attrs as unknown as BatchNormTrainAttrs;
  const c = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, v) => a * v, 1);
  const m = size / c;
  const y = b.makeOutput(x.shape, 'float32');
  const meanOut = b.makeOutput([c], 'float32');
  const invStdOut = b.makeOutput([c], 'float32');
  const mmOut = b.makeOutput([c], 'float32');
  const mvOut = b.makeOutput([c], 'float32');
  // Views after every allocation (an allocation can grow, and detach, the heap).
  const xs = f32(b, x);
  const ys = f32(b, y);
  const g = f32(b, gamma);
  const be = f32(b, beta);
  const mm = f32(b, movingMean);
  const mv = f32(b, movingVar);
  const mean = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < size; i += c) for (let k = 0; k < c; k++) mean[k] += xs[i + k];
  for (let k = 0; k < c; k++) mean[k] /= m;
  for (let i = 0; i < size; i += c) {
    for (let k = 0; k < c; k++) {
      const d = xs[i + k] - mean[k];
      sq[k] += d * d;
    }
  }
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  const meanO = f32(b, meanOut);
  const invO = f32(b, invStdOut);
  const mmO = f32(b, mmOut);
  const mvO = f32(b, mvOut);
  for (let k = 0; k < c; k++) {
    const v = sq[k] / m;
    const inv = 1 / Math.sqrt(v + epsilon);
    meanO[k] = mean[k];
    invO[k] = inv;
    scale[k] = g[k] * inv;
    shift[k] = be[k] - mean[k] * g[k] * inv;
    mmO[k] = (1 - momentum) * mm[k] + momentum * mean[k];
    mvO[k] = (1 - momentum) * mv[k] + momentum * (m > 1 ? sq[k] / (m - 1) : v);
  }
  if (relu) {
    for (let i = 0; i < size; i += c) {
      for (let k = 0; k < c; k++) {
        const v = xs[i + k] * scale[k] + shift[k];
        ys[i + k] = v > 0 ? v : 0;
      }
    }
  } else {
    for (let i = 0; i < size; i += c) for (let k = 0; k < c; k++) ys[i + k] = xs[i + k] * scale[k] + shift[k];
  }
  return [y, meanOut, invStdOut, mmOut, mvOut];
}

export function batchNormGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info[] {
  const b = args.backend as WasmBackendLike;
  const { dy, x, y, gamma, mean, invStd } = args.inputs as Record<string, Info>;
  const relu = Boolean((args.attrs as { relu?: boolean }).relu);
  const c = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, v) => a * v, 1);
  const m = size / c;
  const dx = b.makeOutput(x.shape, 'float32');
  const dGamma = b.makeOutput([c], 'float32');
  const dBeta = b.makeOutput([c], 'float32');
  const dys = f32(b, dy);
  const xs = f32(b, x);
  const ys = f32(b, y);
  const g = f32(b, gamma);
  const mu = f32(b, mean);
  const inv = f32(b, invStd);
  const dxs = f32(b, dx);
  const sumDy = new Float64Array(c);
  const sumDyXhat = new Float64Array(c);
  if (relu) {
    for (let i = 0; i < size; i += c) {
      for (let k = 0; k < c; k++) {
        if (ys[i + k] > 0) {
          const d = dys[i + k];
          sumDy[k] += d;
          sumDyXhat[k] += d * (xs[i + k] - mu[k]) * inv[k];
        }
      }
    }
  } else {
    for (let i = 0; i < size; i += c) {
      for (let k = 0; k < c; k++) {
        const d = dys[i + k];
        sumDy[k] += d;
        sumDyXhat[k] += d * (xs[i + k] - mu[k]) * inv[k];
      }
    }
  }
  const a = new Float32Array(c); // gamma * invStd
  const mb = new Float32Array(c); // mean of dy
  const mg = new Float32Array(c); // mean of dy * xhat
  const dg = f32(b, dGamma);
  const db = f32(b, dBeta);
  for (let k = 0; k < c; k++) {
    a[k] = g[k] * inv[k];
    mb[k] = sumDy[k] / m;
    mg[k] = sumDyXhat[k] / m;
    dg[k] = sumDyXhat[k];
    db[k] = sumDy[k];
  }
  for (let i = 0; i < size; i += c) {
    for (let k = 0; k < c; k++) {
      const d = relu && !(ys[i + k] > 0) ? 0 : dys[i + k];
      const xhat = (xs[i + k] - mu[k]) * inv[k];
      dxs[i + k] = a[k] * (d - mb[k] - xhat * mg[k]);
    }
  }
  return [dx, dGamma, dBeta];
}

export const batchNormTrainConfig: tf.KernelConfig = {
  kernelName: BN_TRAIN,
  backendName: 'wasm',
  kernelFunc: batchNormTrainWasm as unknown as tf.KernelFunc,
};

export const batchNormGradConfig: tf.KernelConfig = {
  kernelName: BN_GRAD,
  backendName: 'wasm',
  kernelFunc: batchNormGradWasm as unknown as tf.KernelFunc,
};

let gradientRegistered = false;

/** Gradient of AugmentBatchNormTrain (backend independent; needs AugmentBatchNormGrad). */
export function registerBatchNormGradient(): void {
  if (gradientRegistered || tf.getGradient(BN_TRAIN)) return;
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true, false, false],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, gamma, y, mean, invStd] = saved;
      const dys = Array.isArray(dy) ? dy : [dy];
      const [dx, dGamma, dBeta] = tf.engine().runKernel(
        BN_GRAD,
        { dy: dys[0], x, y, gamma, mean, invStd },
        { relu: (attrs as { relu?: boolean }).relu ?? false },
      ) as tf.Tensor[];
      return {
        x: () => dx,
        gamma: () => dGamma,
        beta: () => dBeta,
        movingMean: () => tf.zerosLike(mean),
        movingVar: () => tf.zerosLike(mean),
      };
    },
  });
  gradientRegistered = true;
}
