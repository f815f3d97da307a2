/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none, so the gradient
 * of every conv layer's weights throws there).
 *
 * dW[i, j, ci, co] = sum over (n, y, x) of xPad[n, y*sh + i, x*sw + j, ci] * dy[n, y, x, co],
 * which is itself a convolution, run by the backend's XNNPACK Conv2D:
 * - input  x transposed to [Ci, H, W, N] (batch = input channels, channels = batch),
 * - filter dy transposed to [Ho, Wo, N, Co],
 * - stride 1, dilation = the forward stride, the forward padding made explicit,
 * giving [Ci, kh', kw', Co] (kh' >= kh; sliced to kh x kw), transposed to [kh, kw, Ci, Co].
 * A 1x1 filter without padding is one matrix product instead: x[M, Ci]^T . dy[M, Co]
 * (after a strided slice of x when the stride is > 1).
 * Only NHWC and dilation 1 (the only case tfjs-core's conv2d gradient produces).
 */
import { tf } from '../../tf.ts';
import { free, reshape, run, transpose, type Info, type WasmBackendLike } from './call.ts';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function conv2dBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = args.inputs as { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Attrs;
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const { top, bottom, left, right } = info.padInfo;
  const [n, h, w] = x.shape;
  const [, ho, wo] = dy.shape;

  if (kh === 1 && kw === 1 && top === 0 && left === 0) {
    // 1x1: dW = x[M, Ci]^T . dy[M, Co] over the sampled positions.
    let xs: Info = x;
    if (sh > 1 || sw > 1) {
      xs = run(backend, 'StridedSlice', { x }, {
        begin: [0, 0, 0, 0],
        end: [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, ci],
        strides: [1, sh, sw, 1],
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      });
    }
    const m = n * ho * wo;
    const a = reshape(backend, xs, [1, m, ci]);
    const b = reshape(backend, dy, [1, m, co]);
    const prod = run(backend, 'BatchMatMul', { a, b }, { transposeA: true, transposeB: false });
    const out = reshape(backend, prod, [1, 1, ci, co]);
    free(backend, a, b, prod);
    if (xs !== x) free(backend, xs);
    return out;
  }

  const xT = transpose(backend, x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
  const conv = run(backend, 'Conv2D', { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dilations: [sh, sw],
    dimRoundingMode: undefined,
  }); // [Ci, kh', kw', Co]
  free(backend, xT, dyT);
  let cut = conv;
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    cut = run(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    free(backend, conv);
  }
  const out = transpose(backend, cut, [1, 2, 0, 3]); // [kh, kw, Ci, Co]
  free(backend, cut);
  void h;
  void w;
  return out;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm as unknown as tf.KernelFunc,
};
