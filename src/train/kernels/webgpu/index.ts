/**
 * Faster WebGPU kernels registered over tfjs-backend-webgpu's stock ones.
 * `registerWebgpuKernels()` runs after the 'webgpu' backend is registered (initWebgpu calls it);
 * `restoreStockWebgpuKernels()` puts the stock ones back (benchmarks and tests compare both).
 */
import { tf } from '../../tf.ts';
import { makeConv2DBackpropFilter } from './conv2d_backprop_filter.ts';
import { makeConv2D } from './conv2d_forward.ts';

const OURS: Array<{ kernelName: string; make: (stock: tf.KernelFunc) => tf.KernelFunc }> = [
  { kernelName: 'Conv2DBackpropFilter', make: makeConv2DBackpropFilter },
  { kernelName: 'Conv2D', make: makeConv2D },
  { kernelName: 'FusedConv2D', make: makeConv2D },
];

/** Stock kernel configs, captured the first time ours replace them. */
const stock = new Map<string, tf.KernelConfig>();

/** Names of the kernels this module replaces on the webgpu backend. */
export const WEBGPU_KERNEL_OVERRIDES = OURS.map((o) => o.kernelName);

/** Registers ours over the stock kernels (all of them, or only those named). */
export function registerWebgpuKernels(only?: readonly string[]): void {
  for (const { kernelName, make } of OURS) {
    if (only && !only.includes(kernelName)) continue;
    const current = tf.getKernel(kernelName, 'webgpu');
    if (!current) throw new Error(`webgpu backend has no ${kernelName} kernel to replace`);
    if (!stock.has(kernelName)) stock.set(kernelName, current);
    const base = stock.get(kernelName)!;
    if (current !== base) continue; // ours are already registered
    tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel({ ...base, kernelFunc: make(base.kernelFunc) });
  }
}

/** Kernels whose registered webgpu implementation is currently ours (not the stock one). */
export function activeWebgpuKernelOverrides(): string[] {
  return OURS.map((o) => o.kernelName).filter((name) => {
    const base = stock.get(name);
    const current = tf.getKernel(name, 'webgpu');
    return base !== undefined && current !== undefined && current !== base;
  });
}

export function restoreStockWebgpuKernels(): void {
  for (const [kernelName, config] of stock) {
    if (tf.getKernel(kernelName, 'webgpu') === config) continue;
    tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel(config);
  }
}
