/**
 * The slice of tfjs-backend-wasm's backend that augment's kernels use: outputs are made with
 * `makeOutput`, located by their `memoryOffset`, and intermediate results are plain
 * `TensorInfo`s that the kernel frees with `free` (no engine bookkeeping, no tape).
 */
import { tf } from '../../tf.ts';

export type Info = tf.TensorInfo;

export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): Info;
  typedArrayFromHeap(t: Info): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
}

export function free(backend: WasmBackendLike, ...infos: Info[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}
