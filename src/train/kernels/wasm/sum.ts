/**
 * Sum on wasm over every axis but the last (a bias gradient: dy summed over batch and space),
 * as `sum_rows` (./native/kernels.c, SIMD over the channels). The stock kernel first moves the
 * reduced axes innermost with its scalar Transpose, then sums. Other reductions and dtypes go
 * to the stock kernel.
 */
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';
import { native, offset, output } from './native.ts';
import { runStock } from './stock.ts';

export function sumWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { x } = args.inputs as { x: Info };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const leading = r >= 2 && axes.length === r - 1 && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return runStock('Sum', args);
  const c = x.shape[r - 1];
  const m = x.shape.reduce((p, q) => p * q, 1) / Math.max(c, 1);
  const [out, pOut] = output(b, keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c]);
  if (c > 0) native(b).sum_rows(offset(b, x), m, c, pOut);
  return out;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: 'Sum',
  backendName: 'wasm',
  kernelFunc: sumWasm as unknown as tf.KernelFunc,
};
