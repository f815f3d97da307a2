/**
 * tfjs's own wasm kernels that augment's replace, captured by `registerWasmKernels` before the
 * replacement: a replacement hands them the cases it does not cover (other dtypes, layouts,
 * batched products...), and benchmarks put them back to measure the "before".
 */
import { tf } from '../../tf.ts';
import type { Info } from './call.ts';

const captured = new Map<string, tf.KernelConfig>();

export function captureStock(k: tf.KernelConfig): void {
  if (!captured.has(k.kernelName)) captured.set(k.kernelName, k);
}

export function stockKernel(name: string): tf.KernelConfig | undefined {
  return captured.get(name);
}

/** Runs the stock kernel `name` on a replacement's arguments. */
export function runStock(name: string, args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const k = captured.get(name);
  if (!k) throw new Error(`wasm ${name}: the stock kernel was not captured`);
  return k.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
}
