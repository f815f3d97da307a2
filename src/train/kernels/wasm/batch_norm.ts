/**
 * Fused batch normalisation for training on the wasm backend. Stock tfjs runs a training
 * BatchNorm as moments + FusedBatchNorm and its gradient as ~25 small broadcasting kernels
 * (Tile, Multiply, Sub, Sum... the broadcasting ones on a slow generic path); a ResNet step spent
 * ~40% of its time there. Here each direction is two SIMD passes over the tensor (augment's
 * own wasm kernels, ./native/kernels.c), and only per-channel vectors are computed in JavaScript:
 * - forward: `bn_stats` (channel means, then sums of squared deviations: two reads, stable in
 *   float32), then `bn_apply`: y = (x - mean) * scale[c] + beta[c], ReLU fused;
 * - backward: `bn_grad_sums` (sum of d and of d * (x - mean), d = dy masked by y > 0 when the
 *   ReLU is fused), then `bn_grad_apply`: dx = d * A[c] + (x - mean) * B[c] + C[c].
 * (An earlier version chained the backend's kernels, GEMM channel sums, Sub, Square, Multiply,
 * Add, Relu: ~10 passes each way, about twice as slow on ResNet-50.)
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
import { free, type Info, type WasmBackendLike } from './call.ts';
import { native, offset, output } from './native.ts';

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
  const k = native(b);
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, v) => a * v, 1) / c;
  const [meanOut, pMean] = output(b, [c]);
  const [ssdT, pSsd] = output(b, [c]);
  k.bn_stats(offset(b, x), m, c, pMean, pSsd);
  const [scaleT, pScale] = output(b, [c]);
  const [invStdOut] = output(b, [c]);
  const [mmOut] = output(b, [c]);
  const [mvOut] = output(b, [c]);
  // Views after the last allocation (one may grow the memory and detach older views).
  const ssd = f32(b, ssdT);
  const meanO = f32(b, meanOut);
  const g = f32(b, gamma);
  const scale = f32(b, scaleT);
  const mm = f32(b, movingMean);
  const mv = f32(b, movingVar);
  const invO = f32(b, invStdOut);
  const mmO = f32(b, mmOut);
  const mvO = f32(b, mvOut);
  for (let i = 0; i < c; i++) {
    const v = ssd[i] / m;
    const inv = 1 / Math.sqrt(v + epsilon);
    invO[i] = inv;
    scale[i] = g[i] * inv;
    mmO[i] = (1 - momentum) * mm[i] + momentum * meanO[i];
    mvO[i] = (1 - momentum) * mv[i] + momentum * (m > 1 ? ssd[i] / (m - 1) : v);
  }
  const [y, pY] = output(b, x.shape);
  k.bn_apply(offset(b, x), pY, m, c, pMean, pScale, offset(b, beta), relu ? 1 : 0);
  free(b, ssdT, scaleT);
  return [y, meanOut, invStdOut, mmOut, mvOut];
}

export function batchNormGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info[] {
  const b = args.backend as WasmBackendLike;
  const { dy, x, y, gamma, mean, invStd } = args.inputs as Record<string, Info>;
  const relu = (args.attrs as { relu?: boolean }).relu ? 1 : 0;
  const k = native(b);
  const c = x.shape[x.shape.length - 1];
  const m = x.shape.reduce((a, v) => a * v, 1) / c;
  const [dGamma] = output(b, [c]);
  const [dBeta] = output(b, [c]);
  const [sDyT, pSDy] = output(b, [c]);
  const [sDyXcT, pSDyXc] = output(b, [c]);
  const [aVec, pA] = output(b, [c]);
  const [bVec, pB] = output(b, [c]);
  const [cVec, pC] = output(b, [c]);
  const [dx, pDx] = output(b, x.shape);
  const pDy = offset(b, dy);
  const pX = offset(b, x);
  const pY = offset(b, y);
  const pMean = offset(b, mean);
  k.bn_grad_sums(pDy, pX, pY, m, c, pMean, relu, pSDy, pSDyXc);
  const sumDy = f32(b, sDyT);
  const sumDyX = f32(b, sDyXcT);
  const g = f32(b, gamma);
  const inv = f32(b, invStd);
  const dg = f32(b, dGamma);
  const db = f32(b, dBeta);
  const A = f32(b, aVec);
  const B = f32(b, bVec);
  const C = f32(b, cVec);
  for (let i = 0; i < c; i++) {
    const sDyXhat = inv[i] * sumDyX[i]; // sum(d * xhat), xhat = (x - mean) * inv
    dg[i] = sDyXhat;
    db[i] = sumDy[i];
    const a = g[i] * inv[i];
    // dx = a * (d - mean(d) - xhat * mean(d * xhat)) = a * d + (x - mean) * B + C
    A[i] = a;
    B[i] = (-a * inv[i] * sDyXhat) / m;
    C[i] = (-a * sumDy[i]) / m;
  }
  k.bn_grad_apply(pDy, pX, pY, pDx, m, c, pMean, relu, pA, pB, pC);
  free(b, sDyT, sDyXcT, aVec, bVec, cVec);
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
