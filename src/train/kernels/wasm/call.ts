/**
 * Calling the wasm backend's own kernels from inside a custom kernel: intermediate results are
 * plain `TensorInfo`s that the caller frees with `free` (no engine bookkeeping, no tape).
 */
import { tf } from '../../tf.ts';

export type Info = tf.TensorInfo;

export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { id: number } | undefined };
}

export function kernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm backend has no ${name} kernel`);
  return k.kernelFunc;
}

export function run(backend: WasmBackendLike, name: string, inputs: Record<string, Info>, attrs: object = {}): Info {
  const out = kernel(name)({ inputs, backend: backend as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap });
  return Array.isArray(out) ? out[0] : out;
}

export function free(backend: WasmBackendLike, ...infos: Info[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export const reshape = (b: WasmBackendLike, x: Info, shape: number[]) => run(b, 'Reshape', { x }, { shape });
export const transpose = (b: WasmBackendLike, x: Info, perm: number[]) => run(b, 'Transpose', { x }, { perm });
