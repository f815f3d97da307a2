/**
 * Kernels augment registers on the wasm backend for training. `registerWasmKernels` is
 * idempotent and only fills gaps or replaces stock kernels listed here.
 */
import { tf } from '../../tf.ts';
import { conv2dBackpropFilterConfig } from './conv2d_backprop_filter.ts';
import { conv2dBackpropInputConfig } from './conv2d_backprop_input.ts';
import { batchNormGradConfig, batchNormTrainConfig, registerBatchNormGradient } from './batch_norm.ts';

const CONFIGS: tf.KernelConfig[] = [conv2dBackpropFilterConfig, conv2dBackpropInputConfig, batchNormTrainConfig, batchNormGradConfig];

export const WASM_CUSTOM_KERNELS: readonly string[] = CONFIGS.map((c) => c.kernelName);

export function registerWasmKernels(): void {
  registerBatchNormGradient();
  for (const c of CONFIGS) {
    if (tf.getKernel(c.kernelName, 'wasm')) tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
  }
}
