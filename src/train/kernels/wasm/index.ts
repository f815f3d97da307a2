/**
 * Kernels augment registers on the wasm backend for training (most of them run augment's own
 * SIMD code, ./native/kernels.c; the convolutions split over the kernel threads):
 * - `Conv2DBackpropFilter` (missing from tfjs-backend-wasm 4.22: conv weights had no gradient),
 * - `Conv2D`, `FusedConv2D` (bias, relu), `Conv2DBackpropInput`: one direct convolution kernel,
 * - `BatchMatMul` (single products, on the convolution kernel: see ./batch_matmul.ts),
 * - `AugmentBatchNormTrain` / `AugmentBatchNormGrad` (fused training batch norm, used by the
 *   models' `FusedBatchNorm` layer),
 * - `AugmentAdam` (one kernel per weight for `FusedAdamOptimizer`, see ./adam.ts),
 * - `Transpose` (4-byte types: SIMD tiles instead of a scalar N-d loop),
 * - `MaxPoolGrad` (SIMD over channels instead of a scalar window search),
 * - `Sum` over all axes but the last (bias gradients; others go to the stock kernel),
 * - `Identity` without a copy (the engine clones every tensor saved for the backward pass).
 * The SIMD loops are augment's own wasm module (./native/kernels.c, loaded by ./native.ts).
 * `registerWasmKernels` is idempotent. `useStockWasmKernels` puts tfjs's own kernels back
 * (keeping only the missing Conv2DBackpropFilter) so that benchmarks can show before/after.
 */
import { tf } from '../../tf.ts';
import { captureStock, stockKernel } from './stock.ts';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter.ts';
import { conv2dBackpropInputConfig, conv2dConfig, fusedConv2dConfig } from './conv2d.ts';
import { adamConfig } from './adam.ts';
import { batchMatMulConfig } from './batch_matmul.ts';
import { maxPoolGradConfig } from './max_pool_grad.ts';
import { sumConfig } from './sum.ts';
import { identityConfig } from './identity.ts';
import { transposeConfig } from './transpose.ts';
import { batchNormGradConfig, batchNormTrainConfig, registerBatchNormGradient } from './batch_norm.ts';

const CONFIGS: tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  conv2dConfig,
  fusedConv2dConfig,
  batchMatMulConfig,
  batchNormTrainConfig,
  batchNormGradConfig,
  adamConfig,
  transposeConfig,
  maxPoolGradConfig,
  sumConfig,
  identityConfig,
];

/** Kernels without which training on wasm cannot run at all. */
const REQUIRED = new Set(['Conv2DBackpropFilter']);

export const WASM_CUSTOM_KERNELS: readonly string[] = CONFIGS.map((c) => c.kernelName);


export function registerWasmKernels(): void {
  registerBatchNormGradient();
  for (const c of CONFIGS) {
    const existing = tf.getKernel(c.kernelName, 'wasm');
    if (existing === c) continue;
    if (existing) {
      if (!CONFIGS.includes(existing)) captureStock(existing);
      tf.unregisterKernel(c.kernelName, 'wasm');
    }
    tf.registerKernel(c);
  }
}

/** Benchmarks only: tfjs's stock wasm kernels again (plus the required ones); undo with registerWasmKernels. */
export function useStockWasmKernels(): string[] {
  const active: string[] = [];
  for (const c of CONFIGS) {
    if (REQUIRED.has(c.kernelName)) {
      active.push(c.kernelName);
      continue;
    }
    if (tf.getKernel(c.kernelName, 'wasm') === c) tf.unregisterKernel(c.kernelName, 'wasm');
    const s = stockKernel(c.kernelName);
    if (s && !tf.getKernel(c.kernelName, 'wasm')) tf.registerKernel(s);
  }
  return active;
}

/** The custom kernels registered on wasm right now. */
export function activeWasmKernels(): string[] {
  return CONFIGS.filter((c) => tf.getKernel(c.kernelName, 'wasm') === c).map((c) => c.kernelName);
}
