/**
 * Conv2DBackpropInput for the wasm backend, replacing the stock kernel (a scalar C++ loop
 * "following the cpu backend", the largest cost of a ResNet step on wasm) with work done by the
 * backend's XNNPACK Conv2D / BatchMatMul:
 *
 * - general case: dy zero-upsampled by the stride (reshape to [N, Ho, 1, Wo, 1, Co], pad the
 *   unit axes to s, reshape back), then a stride-1 convolution with the filter rotated by 180
 *   degrees and its channel axes swapped ([kh, kw, Co, Ci]), padded (kh-1-top) before and
 *   whatever makes the output H x W after;
 * - 1x1 filter without padding: dx = dy[M, Co] . W[Ci, Co]^T, zero-upsampled when strided.
 * NHWC, dilation 1 (all tfjs-core's conv2d gradient produces).
 */
import { tf } from '../../tf.ts';
import { free, reshape, run, type Info, type WasmBackendLike } from './call.ts';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** [N, Ho, Wo, C] -> [N, Ho*sh, Wo*sw, C] with t at (y*sh, x*sw) and zeros elsewhere. */
function zeroUpsample(b: WasmBackendLike, t: Info, sh: number, sw: number): Info {
  if (sh === 1 && sw === 1) {
    return reshape(b, t, t.shape);
  }
  const [n, ho, wo, c] = t.shape;
  const r6 = reshape(b, t, [n, ho, 1, wo, 1, c]);
  const padded = run(b, 'PadV2', { x: r6 }, {
    paddings: [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ],
    constantValue: 0,
  });
  const out = reshape(b, padded, [n, ho * sh, wo * sw, c]);
  free(b, r6, padded);
  return out;
}

/** Crops or zero-pads the bottom/right of [N, h, w, C] to [N, H, W, C]. */
function fitTo(b: WasmBackendLike, t: Info, hh: number, ww: number): Info {
  const [n, h, w, c] = t.shape;
  if (h === hh && w === ww) return t;
  let cur = t;
  if (h > hh || w > ww) {
    const cut = run(b, 'Slice', { x: cur }, { begin: [0, 0, 0, 0], size: [n, Math.min(h, hh), Math.min(w, ww), c] });
    free(b, cur);
    cur = cut;
  }
  if (cur.shape[1] < hh || cur.shape[2] < ww) {
    const grown = run(b, 'PadV2', { x: cur }, {
      paddings: [
        [0, 0],
        [0, hh - cur.shape[1]],
        [0, ww - cur.shape[2]],
        [0, 0],
      ],
      constantValue: 0,
    });
    free(b, cur);
    cur = grown;
  }
  return cur;
}

/**
 * [kh, kw, Ci, Co] -> [kh, kw, Co, Ci] rotated by 180 degrees, in one JavaScript pass over the
 * heap (the stock Reverse + Transpose kernels took several times longer on ResNet filters).
 */
export function rotateFilter(b: WasmBackendLike, filter: Info): Info {
  const [kh, kw, ci, co] = filter.shape;
  const out = b.makeOutput([kh, kw, co, ci], 'float32');
  const src = b.typedArrayFromHeap(filter) as Float32Array;
  const dst = b.typedArrayFromHeap(out) as Float32Array;
  const taps = kh * kw;
  const tapSize = ci * co;
  for (let t = 0; t < taps; t++) {
    const s0 = (taps - 1 - t) * tapSize; // (kh-1-i, kw-1-j) is tap (taps-1-t)
    const d0 = t * tapSize;
    for (let i = 0; i < ci; i++) {
      const si = s0 + i * co;
      for (let o = 0; o < co; o++) dst[d0 + o * ci + i] = src[si + o];
    }
  }
  return out;
}

export function conv2dBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = args.inputs as { dy: Info; filter: Info };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Attrs;
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropInput supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const { top, left } = info.padInfo;
  const [n, h, w] = inputShape;
  const [, ho, wo] = dy.shape;

  if (kh === 1 && kw === 1 && top === 0 && left === 0) {
    const a = reshape(backend, dy, [1, n * ho * wo, co]);
    const f = reshape(backend, filter, [1, ci, co]);
    const prod = run(backend, 'BatchMatMul', { a, b: f }, { transposeA: false, transposeB: true });
    const small = reshape(backend, prod, [n, ho, wo, ci]);
    free(backend, a, f, prod);
    const up = zeroUpsample(backend, small, sh, sw);
    free(backend, small);
    return fitTo(backend, up, h, w);
  }

  // Filter [kh, kw, Ci, Co] -> rotated 180 degrees, [kh, kw, Co, Ci].
  const fT = rotateFilter(backend, filter);
  let up = zeroUpsample(backend, dy, sh, sw); // [N, Ho*sh, Wo*sw, Co]
  const padTop = kh - 1 - top;
  const padLeft = kw - 1 - left;
  let padBottom = h + kh - 1 - padTop - up.shape[1];
  let padRight = w + kw - 1 - padLeft - up.shape[2];
  if (padBottom < 0 || padRight < 0) {
    const cut = run(backend, 'Slice', { x: up }, {
      begin: [0, 0, 0, 0],
      size: [n, up.shape[1] + Math.min(0, padBottom), up.shape[2] + Math.min(0, padRight), co],
    });
    free(backend, up);
    up = cut;
    padBottom = Math.max(0, padBottom);
    padRight = Math.max(0, padRight);
  }
  if (padTop < 0 || padLeft < 0) throw new Error('wasm Conv2DBackpropInput: padding larger than the filter');
  const out = run(backend, 'Conv2D', { x: up, filter: fT }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dilations: [1, 1],
    dimRoundingMode: undefined,
  });
  free(backend, up, fT);
  return out;
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInputWasm as unknown as tf.KernelFunc,
};
