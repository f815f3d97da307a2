/**
 * Conv2D (training: the filter changes at every step), FusedConv2D and Conv2DBackpropInput on wasm, as one
 * direct SIMD convolution (`conv_fwd` in ./native/kernels.c): register tiles of 4 output
 * positions x 8 output channels, read straight from the NHWC input and the HWIO filter.
 *
 * - Conv2D: the stock kernel (XNNPACK) builds an operator and packs the filter on every call
 *   whose filter tensor it has not seen, which in training is every call; on the small layers
 *   of these models (8x8 and smaller at 32 px) that packing and setup cost more than the
 *   arithmetic. FusedConv2D (inference, bias and relu) is that plus one in-place pass.
 * - Conv2DBackpropInput: the transposed convolution, dx = conv(dy dilated by the stride,
 *   filter rotated 180 degrees with its channel axes swapped), the dilation virtual (taps that
 *   land between dy's samples are skipped, not multiplied by zeros).
 * NHWC, dilation 1 (what tfjs-core's conv2d and its gradient produce).
 */
import { tf } from '../../tf.ts';
import { free, type Info, type WasmBackendLike } from './call.ts';
import { geometry, native, offset, output, split, zeros } from './native.ts';
import { runStock } from './stock.ts';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/**
 * FusedConv2D (inference: VGG's conv + bias + relu) as Conv2D and one in-place bias/relu pass,
 * so that evaluation runs on the kernel threads too.
 */
export function fusedConv2dWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, Info | undefined>;
  const { activation: act, dataFormat } = args.attrs as unknown as { activation: string; dataFormat: string };
  if ((act !== 'linear' && act !== 'relu') || preluActivationWeights || dataFormat === 'NCHW' || (bias && bias.shape.length !== 1)) {
    return runStock('FusedConv2D', args); // other activations, prelu, NCHW
  }
  const y = conv2dWasm({ inputs: { x: x!, filter: filter! }, backend: b, attrs: args.attrs });
  const c = y.shape[3];
  native(b).bias_act(offset(b, y), bias ? offset(b, bias) : 0, y.shape[0] * y.shape[1] * y.shape[2], c, act === 'relu' ? 1 : 0);
  return y;
}

export function conv2dWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { x, filter } = args.inputs as { x: Info; filter: Info };
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as {
    strides: number | [number, number];
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dilations: number | [number, number];
    dimRoundingMode: Rounding;
  };
  const dilated = Array.isArray(dilations) ? dilations[0] !== 1 || dilations[1] !== 1 : dilations !== 1;
  if (dataFormat === 'NCHW' || dilated) {
    return runStock('Conv2D', args); // NCHW, dilations
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [y, pY] = output(b, info.outShape);
  const g = geometry(info);
  const co = info.outChannels;
  split(b, 'conv_fwd', [offset(b, x), offset(b, filter), pY, zeros(b, info.filterWidth * info.inChannels), ...g.shape, co, co, ...g.window, 1, 1]);
  return y;
}

export function conv2dBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const b = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as {
    strides: number | [number, number];
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode: Rounding;
    inputShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropInput supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const k = native(b);
  const [rotated, pRot] = output(b, [kh, kw, co, ci]);
  k.rotate_filter(offset(b, filter), pRot, kh, kw, ci, co);
  const [dx, pDx] = output(b, inputShape);
  // dx[iy, ix] = sum over taps of dyDilated[iy + i' - (kh - 1 - top), ...] * rotated[i', j']
  split(b, 'conv_fwd', [
    offset(b, dy),
    pRot,
    pDx,
    zeros(b, kw * co),
    info.batchSize,
    info.outHeight,
    info.outWidth,
    co,
    info.inHeight,
    info.inWidth,
    ci,
    ci,
    kh,
    kw,
    1,
    1,
    kh - 1 - info.padInfo.top,
    kw - 1 - info.padInfo.left,
    sh,
    sw,
  ]);
  free(b, rotated);
  return dx;
}

export const conv2dConfig: tf.KernelConfig = {
  kernelName: 'Conv2D',
  backendName: 'wasm',
  kernelFunc: conv2dWasm as unknown as tf.KernelFunc,
};

export const fusedConv2dConfig: tf.KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: fusedConv2dWasm as unknown as tf.KernelFunc,
};

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInputWasm as unknown as tf.KernelFunc,
};
