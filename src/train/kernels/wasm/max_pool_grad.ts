/**
 * MaxPoolGrad on wasm: `max_pool_grad` (./native/kernels.c) sends each dy to the first maximum
 * of its window, four channels at a time in SIMD, as tfjs's cpu kernel does. The stock wasm
 * kernel is a scalar loop that, for every input position, searches the windows covering it:
 * 6% of a VGG-16 step here.
 */
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';
import { geometry, native, offset, output } from './native.ts';

type Six = [number, number, number, number, number, number];

interface Attrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function maxPoolGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { dy, input } = args.inputs as { dy: Info; input: Info };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as Attrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const [dx, pDx] = output(b, input.shape);
  const g = geometry(info);
  native(b).max_pool_grad(offset(b, input), offset(b, dy), pDx, ...(g.shape as Six), ...(g.window as Six));
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as tf.KernelFunc,
};
