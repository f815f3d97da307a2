/**
 * Fused batch normalisation for training on the wasm backend. Stock tfjs runs a training
 * BatchNorm as moments + FusedBatchNorm and its gradient as ~25 small broadcasting kernels
 * (Tile, Multiply, Sub, Sum... the broadcasting ones on a slow generic path); a ResNet step spent
 * ~40% of its time there. Here every full-size pass is one of the backend's SIMD kernels, with
 * no broadcasting and no transposes, and only per-channel vectors are computed in JavaScript:
 * - channel sums as one GEMM each, ones[1, M] . t[M, C] (XNNPACK);
 * - forward: sum -> mean, xc = x - mean, Square, sum -> variance (two passes: stable), then
 *   y = xc * scale[c] + beta[c] (broadcasting Multiply + Add), Relu if fused;
 * - backward: Step + Multiply if ReLU is fused, xc, Multiply, 2 sums, and
 *   dx = d * A[c] + xc * B[c] + C[c] (Multiply, Multiply, Add, Add).
 * (The stock FusedBatchNorm, Sum over the batch axes and Transpose kernels are scalar loops at
 * 10-15 ns per element here; Multiply/Add/Square/Relu and the GEMM run at 0.5-4.)
 * (A first version in plain JavaScript loops over the heap was 10-50x slower per element than
 * these kernels on this machine.)
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
import { free, reshape, run, type Info, type WasmBackendLike } from './call.ts';

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

/** A row of M ones, [1, 1, M], kept per M (the left operand of the channel sums). */
const onesCache = new Map<number, Info>();
let onesBackend: WasmBackendLike | null = null;

function onesRow(b: WasmBackendLike, m: number): Info {
  if (onesBackend !== b) {
    onesCache.clear();
    onesBackend = b;
  }
  let t = onesCache.get(m);
  if (!t) {
    if (onesCache.size >= 64) {
      for (const old of onesCache.values()) b.disposeData(old.dataId);
      onesCache.clear();
    }
    t = b.makeOutput([1, 1, m], 'float32');
    f32(b, t).fill(1);
    onesCache.set(m, t);
  }
  return t;
}

/** Per-channel sums of t ([..., C]) as a [1, 1, C] product ones[1, M] . t[M, C] (XNNPACK). */
function channelSums(b: WasmBackendLike, t: Info, m: number, c: number): Info {
  const t3 = reshape(b, t, [1, m, c]);
  const out = run(b, 'BatchMatMul', { a: onesRow(b, m), b: t3 }, { transposeA: false, transposeB: false });
  free(b, t3);
  return out;
}

/**
 * x * scale[c] + offset[c] per channel: two broadcasting XNNPACK kernels (the stock
 * FusedBatchNorm kernel is a scalar loop, ~10x slower per element).
 */
function affine(b: WasmBackendLike, x: Info, scale: Info, offset: Info | null): Info {
  const prod = run(b, 'Multiply', { a: x, b: scale });
  if (!offset) return prod;
  const out = run(b, 'Add', { a: prod, b: offset });
  free(b, prod);
  return out;
}

function vector(b: WasmBackendLike, values: ArrayLike<number>): Info {
  const t = b.makeOutput([values.length], 'float32');
  f32(b, t).set(values);
  return t;
}

export function batchNormTrainWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info[] {
  const b = args.backend as WasmBackendLike;
  const { x, gamma, beta, movingMean, movingVar } = args.inputs as Record<string, Info>;
  const { epsilon, momentum, relu } = args.attrs as unknown as BatchNormTrainAttrs;
  const c = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((a, v) => a * v, 1);
  const m = size / c;
  // Two passes (mean, then squared deviations): E[x^2] - mean^2 in float32 loses the variance
  // when it is small against mean^2.
  const meanOut = b.makeOutput([c], 'float32');
  const s1 = channelSums(b, x, m, c);
  {
    const sum = f32(b, s1);
    const meanO = f32(b, meanOut);
    for (let k = 0; k < c; k++) meanO[k] = sum[k] / m;
  }
  free(b, s1);
  const xc = run(b, 'Sub', { a: x, b: meanOut });
  const sq = run(b, 'Square', { x: xc });
  const s2 = channelSums(b, sq, m, c);
  free(b, sq);
  const scaleVec = b.makeOutput([c], 'float32');
  const invStdOut = b.makeOutput([c], 'float32');
  const mmOut = b.makeOutput([c], 'float32');
  const mvOut = b.makeOutput([c], 'float32');
  const ssd = f32(b, s2);
  const meanO = f32(b, meanOut);
  const g = f32(b, gamma);
  const scale = f32(b, scaleVec);
  const mm = f32(b, movingMean);
  const mv = f32(b, movingVar);
  const invO = f32(b, invStdOut);
  const mmO = f32(b, mmOut);
  const mvO = f32(b, mvOut);
  for (let k = 0; k < c; k++) {
    const ss = ssd[k]; // sum of squared deviations
    const v = ss / m;
    const inv = 1 / Math.sqrt(v + epsilon);
    invO[k] = inv;
    scale[k] = g[k] * inv;
    mmO[k] = (1 - momentum) * mm[k] + momentum * meanO[k];
    mvO[k] = (1 - momentum) * mv[k] + momentum * (m > 1 ? ss / (m - 1) : v);
  }
  free(b, s2);
  const bn = affine(b, xc, scaleVec, beta);
  free(b, xc, scaleVec);
  let y = bn;
  if (relu) {
    y = run(b, 'Relu', { x: bn });
    free(b, bn);
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
  let d = dy;
  if (relu) {
    const mask = run(b, 'Step', { x: y }, { alpha: 0 });
    d = run(b, 'Multiply', { a: dy, b: mask });
    free(b, mask);
  }
  const xc = run(b, 'Sub', { a: x, b: mean });
  const dxProd = run(b, 'Multiply', { a: d, b: xc });
  const sDy = channelSums(b, d, m, c);
  const sDyX = channelSums(b, dxProd, m, c);
  free(b, dxProd);
  const dGamma = b.makeOutput([c], 'float32');
  const dBeta = b.makeOutput([c], 'float32');
  const aVec = b.makeOutput([c], 'float32');
  const bVec = b.makeOutput([c], 'float32');
  const cVec = b.makeOutput([c], 'float32');
  const sumDy = f32(b, sDy);
  const sumDyX = f32(b, sDyX);
  const g = f32(b, gamma);
  const inv = f32(b, invStd);
  const dg = f32(b, dGamma);
  const db = f32(b, dBeta);
  const A = f32(b, aVec);
  const B = f32(b, bVec);
  const C = f32(b, cVec);
  for (let k = 0; k < c; k++) {
    const sDyXhat = inv[k] * sumDyX[k]; // sum(dy * xhat), xhat = (x - mean) * inv
    dg[k] = sDyXhat;
    db[k] = sumDy[k];
    const a = g[k] * inv[k];
    const mb = sumDy[k] / m;
    const mg = sDyXhat / m;
    // dx = a * (d - mb - (x - mean) * inv * mg) = a * d + (x - mean) * B + C
    A[k] = a;
    B[k] = -a * inv[k] * mg;
    C[k] = -a * mb;
  }
  free(b, sDy, sDyX);
  const t1 = affine(b, d, aVec, null);
  const t2 = affine(b, xc, bVec, cVec);
  const dx = run(b, 'Add', { a: t1, b: t2 });
  free(b, t1, t2, aVec, bVec, cVec, xc);
  if (d !== dy) free(b, d);
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
