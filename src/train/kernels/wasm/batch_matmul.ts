/**
 * BatchMatMul on wasm for a single matrix product (batch 1, what dense layers and their
 * gradients ask for), on augment's convolution kernel (`conv_fwd`, ./native/kernels.c: a 1x1
 * convolution is a matrix product with the left operand's rows as positions), which splits over
 * the kernel threads and packs nothing. The forms are chosen so that the kernel walks long
 * contiguous rows and the right operand ("filter") is small or has a padded row stride (rows of
 * a power-of-two length all map to the same cache sets, which made a 1024-wide product 3-5x
 * slower):
 * - A . B:      conv_fwd(A, B);
 * - A . B^T:    conv_fwd(B, A^T)^T when B is the larger operand (a dense layer's input gradient
 *               dy . W^T: transposes dy and the result, never W), else conv_fwd(A, B^T);
 * - A^T . B:    conv_fwd(A^T, B with a padded stride) (a dense layer's weight gradient x^T . dy:
 *               both operands have the batch as rows);
 * - A^T . B^T = (B . A)^T.
 * The stock kernel packs its right operand into XNNPACK's layout on every call whose operand it
 * has not seen (every training step: the weights change) and sends any transposed or batched
 * product to a scalar triple loop ("slow_batch_matmul", 21-40% of a VGG-16 step). Batched
 * products (batch > 1) still go to the stock kernel.
 */
import { tf } from '../../tf.ts';
import { free, type Info, type WasmBackendLike } from './call.ts';
import { native, offset, output, split, zeros } from './native.ts';
import { runStock } from './stock.ts';

const batchOf = (t: Info) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);

/** out[M, N] = a[M, K] . w[K, N] (rows of w `ws` floats apart) as a 1x1 convolution over M positions. */
function product(b: WasmBackendLike, pA: number, pW: number, pOut: number, m: number, k: number, n: number, ws = n): void {
  split(b, 'conv_fwd', [pA, pW, pOut, zeros(b, k), m, 1, 1, k, 1, 1, n, ws, 1, 1, 1, 1, 0, 0, 1, 1]);
}

const size = (t: Info) => t.shape.reduce((x, y) => x * y, 1);

/** Row stride for a right operand of n columns: off powers of two from 64 columns up. */
const paddedStride = (n: number) => (n >= 64 && (n & (n - 1)) === 0 ? n + 8 : n);

function transpose2(b: WasmBackendLike, t: Info, rows: number, cols: number): Info {
  const [out, pOut] = output(b, [cols, rows]);
  native(b).rotate_filter(offset(b, t), pOut, 1, 1, rows, cols); // a 1x1 filter's rotation is a transpose
  return out;
}

export function batchMatMulWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { a, b: bm } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (batchOf(a) !== 1 || batchOf(bm) !== 1 || a.dtype !== 'float32' || bm.dtype !== 'float32') {
    return runStock('BatchMatMul', args);
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
    const t = transpose2(b, ba, n, m);
    free(b, ba);
    return { ...t, shape: outShape };
  }
  if (m === 0 || n === 0) return output(b, outShape)[0];
  if (k === 0) {
    const [out, pOut] = output(b, outShape);
    product(b, pOut, pOut, pOut, m, 0, n); // no terms: zeros
    return out;
  }
  if (transposeA) {
    // a [K, M], bm [K, N]: out = a^T . bm, a^T's rows as positions, bm copied with a padded stride
    const aT = transpose2(b, a, k, m);
    const ws = paddedStride(n);
    let right = bm;
    if (ws !== n) {
      const [padded, pPad] = output(b, [k, ws]);
      native(b).copy_rows(offset(b, bm), pPad, k, n, ws);
      right = padded;
    }
    const [out, pOut] = output(b, outShape);
    product(b, offset(b, aT), offset(b, right), pOut, m, k, n, ws);
    free(b, aT);
    if (right !== bm) free(b, right);
    return out;
  }
  if (!transposeB) {
    // (a padded copy of bm measured no faster here: the copy costs what the stride saves)
    const [out, pOut] = output(b, outShape);
    product(b, offset(b, a), offset(b, bm), pOut, m, k, n);
    return out;
  }
  // a [M, K], bm [N, K]
  if (size(bm) > size(a) + m * n) {
    // (bm . a^T)^T: bm's rows as positions, a^T [K, M] the filter
    const aT = transpose2(b, a, m, k);
    const [outT, pOutT] = output(b, [n, m]);
    product(b, offset(b, bm), offset(b, aT), pOutT, n, k, m);
    free(b, aT);
    const out = transpose2(b, outT, n, m);
    free(b, outT);
    return { ...out, shape: outShape };
  }
  const bT = transpose2(b, bm, n, k);
  const [out, pOut] = output(b, outShape);
  product(b, offset(b, a), offset(b, bT), pOut, m, k, n);
  free(b, bT);
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulWasm as unknown as tf.KernelFunc,
};
