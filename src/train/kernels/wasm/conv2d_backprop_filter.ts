/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none, so the gradient
 * of every conv layer's weights throws there).
 *
 * dW[i, j, ci, co] = sum over (n, y, x) of xPad[n, y*sh + i, x*sw + j, ci] * dy[n, y, x, co]:
 * `conv_dw` in ./native/kernels.c reads x and dy where they are (NHWC) and accumulates 4 x 8
 * register tiles of dW over all output positions. An earlier version ran it as an XNNPACK
 * convolution over transposed tensors (x as [Ci, H, W, N], dy as [Ho, Wo, N, Co], dilation =
 * stride): two full transposes, and XNNPACK re-packing an activation-sized "filter" on every
 * call, which made this kernel the largest of a ResNet step.
 * Only NHWC and dilation 1 (the only case tfjs-core's conv2d gradient produces).
 */
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';
import { geometry, offset, output, split } from './native.ts';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function conv2dBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Attrs;
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [dw, pDw] = output(b, filterShape);
  const g = geometry(info);
  split(b, 'conv_dw', [offset(b, x), offset(b, dy), pDw, ...g.shape, info.outChannels, ...g.window]);
  return dw;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm as unknown as tf.KernelFunc,
};
