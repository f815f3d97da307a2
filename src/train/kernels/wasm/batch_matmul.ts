/**
 * BatchMatMul on wasm with transposed operands. The stock kernel sends anything but
 * (batch 1, no transpose) to a scalar triple loop ("slow_batch_matmul"); training asks for
 * transposes all the time (a dense layer's gradients are x^T.dy and dy.W^T), and on VGG16 that
 * loop took ~40% of a step. Here the transposed operand is transposed explicitly (the stock
 * Transpose kernel) and the product goes to the stock kernel's XNNPACK path.
 */
import { tf } from '../../tf.ts';
import { free, transpose, type Info, type WasmBackendLike } from './call.ts';

let stock: tf.KernelConfig | null = null;

/** The stock BatchMatMul, captured by `registerWasmKernels` before this one replaces it. */
export function setStockBatchMatMul(k: tf.KernelConfig): void {
  stock = k;
}

function swapLast(t: Info): number[] {
  const perm = t.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return perm;
}

export function batchMatMulWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  if (!stock) throw new Error('wasm BatchMatMul: the stock kernel was not captured');
  const backend = args.backend as WasmBackendLike;
  const { a, b } = args.inputs as { a: Info; b: Info };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const batchOf = (t: Info) => t.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const call = (inputs: { a: Info; b: Info }, ta: boolean, tb: boolean) =>
    stock!.kernelFunc({ inputs, backend: backend as unknown as tf.KernelBackend, attrs: { transposeA: ta, transposeB: tb } }) as Info;
  if ((!transposeA && !transposeB) || batchOf(a) !== 1 || batchOf(b) !== 1) return call({ a, b }, transposeA, transposeB);
  // Two ways to the XNNPACK path, each paying scalar transposes: op(A) . op(B) with the
  // transposed operands made explicit, or (op(B)^T . op(A)^T)^T, which transposes the other
  // operands and the result. A dense layer's input gradient dy . W^T takes the second (it moves
  // batch x units values instead of the whole weight matrix).
  const size = (t: Info) => t.shape.reduce((x, y) => x * y, 1);
  const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const direct = (transposeA ? size(a) : 0) + (transposeB ? size(b) : 0);
  const swapped = (transposeA ? 0 : size(a)) + (transposeB ? 0 : size(b)) + m * n;
  if (direct <= swapped) {
    const aT = transposeA ? transpose(backend, a, swapLast(a)) : a;
    const bT = transposeB ? transpose(backend, b, swapLast(b)) : b;
    const out = call({ a: aT, b: bT }, false, false);
    if (aT !== a) free(backend, aT);
    if (bT !== b) free(backend, bT);
    return out;
  }
  const left = transposeB ? b : transpose(backend, b, swapLast(b));
  const right = transposeA ? a : transpose(backend, a, swapLast(a));
  const outT = call({ a: left, b: right }, false, false);
  if (left !== b) free(backend, left);
  if (right !== a) free(backend, right);
  const out = transpose(backend, outT, swapLast(outT));
  free(backend, outT);
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulWasm as unknown as tf.KernelFunc,
};
