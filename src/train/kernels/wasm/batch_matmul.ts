/**
 * BatchMatMul on wasm for a single matrix product (batch 1, what dense layers and their
 * gradients ask for), on augment's convolution kernels (./native/kernels.c), which split over
 * the kernel threads and pack nothing:
 * - A . B      = a 1x1 convolution: A's rows are positions, B [K, N] the filter (`conv_fwd`);
 * - A^T . B    = a 1x1 weight gradient: rows of A and B are positions (`conv_dw`);
 * - A . B^T    = `conv_fwd` after B is transposed (`rotate_filter` of a 1x1 filter);
 * - A^T . B^T  = (B . A)^T, the product transposed (the Transpose kernel).
 * The stock kernel packs its right operand into XNNPACK's layout on every call whose operand
 * it has not seen (every training step: the weights change) and sends any transposed or batched
 * product to a scalar triple loop ("slow_batch_matmul", 21-40% of a VGG-16 step). Batched
 * products (batch > 1) still go to the stock kernel.
 */
import { tf } from '../../tf.ts';
import { free, run, type Info, type WasmBackendLike } from './call.ts';
import { native, offset, output, split, zeros } from './native.ts';

let stock: tf.KernelConfig | null = null;

/** The stock BatchMatMul, captured by `registerWasmKernels` before this one replaces it. */
export function setStockBatchMatMul(k: tf.KernelConfig): void {
  stock = k;
}

const batchOf = (t: Info) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);

/** out[M, N] = a[M, K] . w[K, N] as a 1x1 convolution over M positions. */
function product(b: WasmBackendLike, pA: number, pW: number, pOut: number, m: number, k: number, n: number): void {
  split(b, 'conv_fwd', [pA, pW, pOut, zeros(b, k), m, 1, 1, k, 1, 1, n, 1, 1, 1, 1, 0, 0, 1, 1]);
}

export function batchMatMulWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  if (!stock) throw new Error('wasm BatchMatMul: the stock kernel was not captured');
  const b = args.backend as WasmBackendLike;
  const { a, b: bm } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (batchOf(a) !== 1 || batchOf(bm) !== 1 || a.dtype !== 'float32' || bm.dtype !== 'float32') {
    return stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const ra = a.shape.length;
  const rb = bm.shape.length;
  const [a0, a1] = [a.shape[ra - 2], a.shape[ra - 1]];
  const [b0, b1] = [bm.shape[rb - 2], bm.shape[rb - 1]];
  const m = transposeA ? a1 : a0;
  const k = transposeA ? a0 : a1;
  const n = transposeB ? b0 : b1;
  const outShape = [...(ra >= rb ? a.shape : bm.shape).slice(0, -2), m, n];
  if (transposeA && transposeB) {
    // (B . A)^T
    const ba = batchMatMulWasm({ inputs: { a: bm, b: a }, backend: b, attrs: { transposeA: false, transposeB: false } });
    const perm = ba.shape.map((_, i) => i);
    [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
    const t = run(b, 'Transpose', { x: ba }, { perm });
    free(b, ba);
    return { ...t, shape: outShape };
  }
  const [out, pOut] = output(b, outShape);
  if (m === 0 || n === 0) return out;
  if (transposeA) {
    // a [K, M], bm [K, N]: out[M, N] = sum over the K rows of a[r, :]^T bm[r, :]
    split(b, 'conv_dw', [offset(b, a), offset(b, bm), pOut, k, 1, 1, m, 1, 1, n, 1, 1, 1, 1, 0, 0]);
    return out;
  }
  if (!transposeB) {
    product(b, offset(b, a), offset(b, bm), pOut, m, k, n);
    return out;
  }
  // bm [N, K] -> [K, N]
  const [bt, pBt] = output(b, [k, n]);
  native(b).rotate_filter(offset(b, bm), pBt, 1, 1, n, k);
  product(b, offset(b, a), pBt, pOut, m, k, n);
  free(b, bt);
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulWasm as unknown as tf.KernelFunc,
};
