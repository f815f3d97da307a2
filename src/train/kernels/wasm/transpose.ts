/**
 * Transpose on wasm for 4-byte types. The stock kernel is a scalar loop over a generic
 * N-d index (~13 ns per element here), and training transposes whole activations
 * (Conv2DBackpropFilter, BatchMatMul with transposed operands). Here the permutation is reduced
 * to at most 4 output axes (size-1 axes dropped, axes that stay adjacent merged) and handed to
 * `transpose4` (./native/kernels.c): contiguous runs are copied, everything else goes through
 * 4x4 SIMD transposes in 32x32 tiles. Other dtypes and ranks go to the stock kernel.
 */
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';
import { native, offset } from './native.ts';
import { runStock } from './stock.ts';

/** Output dims and the input stride of each, size-1 axes dropped and adjacent runs merged. */
export function reducePermutation(shape: readonly number[], perm: readonly number[]): { dims: number[]; strides: number[] } {
  const inStrides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const dims: number[] = [];
  const strides: number[] = [];
  for (const p of perm) {
    const d = shape[p];
    if (d === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides[last] === inStrides[p] * d) {
      dims[last] *= d;
      strides[last] = inStrides[p];
    } else {
      dims.push(d);
      strides.push(inStrides[p]);
    }
  }
  return { dims, strides };
}

export function transposeWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: Info };
  const { perm } = args.attrs as unknown as { perm: number[] };
  const { dims, strides } = reducePermutation(x.shape, perm);
  const fourBytes = x.dtype === 'float32' || x.dtype === 'int32';
  if (!fourBytes || dims.length > 4 || dims.length < 2) return runStock('Transpose', args);
  while (dims.length < 4) {
    dims.unshift(1);
    strides.unshift(0);
  }
  const out = b.makeOutput(
    perm.map((p) => x.shape[p]),
    x.dtype,
  );
  // Element strides to the kernel, which takes float pointers (int32 moves the same bytes).
  native(b).transpose4(offset(b, x), offset(b, out), dims[0], dims[1], dims[2], dims[3], strides[0], strides[1], strides[2], strides[3]);
  return out;
}

export const transposeConfig: tf.KernelConfig = {
  kernelName: 'Transpose',
  backendName: 'wasm',
  kernelFunc: transposeWasm as unknown as tf.KernelFunc,
};
