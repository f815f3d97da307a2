/**
 * Conv2D and FusedConv2D (bias, relu) for the webgpu backend as a tiled matmul:
 *
 *   y[m, n] = act(sum_k im2col(x)[m, k] * W[k, n] + bias[n])
 *   m = (b, yR, yC) over batch x outHeight x outWidth, k = (wR, wC, d1), n = d2.
 *
 * The same scheme as `conv2d_backprop_filter.ts`, with the roles of m and k swapped: a
 * workgroup computes a tile of y (m rows x n columns), staging 16-row slices of im2col(x)^T
 * and W in workgroup memory as vec4s; each thread keeps a block of sums in registers. When
 * the output has few tiles and k is long (deep layers at small batch), the k reduction is
 * split over a third dispatch dimension and a second pass adds the partial sums (and applies
 * bias and activation).
 *
 * Handled: NHWC, float32, dilation 1, activation linear or relu, bias of shape [outChannels]
 * or none, and at most 16 or at least 64 output channels (see `chooseForwardTile`). Everything
 * else (NCHW, dilations, prelu/leakyrelu/elu/sigmoid...) goes to the stock kernel.
 */
import { tf } from '../../tf.ts';
import type { WebgpuBackendLike } from './conv2d_backprop_filter.ts';

/**
 * tx x ty threads; each computes pm consecutive rows m x pn consecutive columns n of y (both
 * multiples of 4); `rows` values of k are staged per step.
 */
export interface ForwardTile {
  tx: number;
  ty: number;
  pm: number;
  pn: number;
  rows: number;
}

export const FORWARD_TILES = {
  small: { tx: 8, ty: 8, pm: 4, pn: 4, rows: 16 },
  narrow: { tx: 4, ty: 8, pm: 8, pn: 4, rows: 16 },
  wide: { tx: 8, ty: 8, pm: 8, pn: 8, rows: 16 },
} as const satisfies Record<string, ForwardTile>;

let forcedTile: ForwardTile | undefined;
/** Tests and benchmarks: use this tile for every call (undefined: back to `chooseForwardTile`). */
export function forceForwardTile(tile: ForwardTile | undefined): void {
  forcedTile = tile;
}

/**
 * 64 x 16 for narrow layers, 64 x 64 (8 x 8 sums per thread) for 64 channels and more; the k
 * split makes up for few tiles. Between 17 and 63 output channels, undefined: the stock kernel
 * was as fast or faster there. Chosen on lavapipe (scripts/bench-webgpu-kernels.ts); untuned on
 * hardware GPUs.
 */
export function chooseForwardTile(m: number, n: number): ForwardTile | undefined {
  if (forcedTile) return forcedTile;
  if (n <= 16) return FORWARD_TILES.narrow;
  if (n >= 64) return FORWARD_TILES.wide;
  return undefined;
}

const TARGET_WORKGROUPS = 256;
/** WebGPU's default maxComputeWorkgroupsPerDimension; tfjs cannot reshape a 3-D dispatch. */
const MAX_WORKGROUPS_PER_DIMENSION = 65535;
const MIN_K_PER_SPLIT = 256;

export function planForward(m: number, n: number, k: number, tile: ForwardTile): { splits: number; kPerSplit: number } {
  const tiles = Math.ceil(m / (tile.ty * tile.pm)) * Math.ceil(n / (tile.tx * tile.pn));
  const wanted = Math.max(1, Math.ceil(TARGET_WORKGROUPS / tiles));
  const most = Math.max(1, Math.floor(k / MIN_K_PER_SPLIT));
  let splits = Math.min(wanted, most);
  const kPerSplit = Math.max(tile.rows, Math.ceil(Math.ceil(k / splits) / tile.rows) * tile.rows);
  splits = Math.max(1, Math.ceil(k / kPerSplit));
  return { splits, kPerSplit };
}

type Activation = 'linear' | 'relu';

function epilogue(hasBias: boolean, activation: Activation, value: string, n: string): string {
  let v = value;
  if (hasBias) v = `(${v} + bias[${n}])`;
  if (activation === 'relu') v = `max(${v}, 0.0)`;
  return v;
}

class ConvForwardTiledProgram {
  variableNames: string[];
  uniforms =
    'pads : vec2<i32>, strides : vec2<i32>, inDims : vec2<i32>, outDims : vec2<i32>, fw : i32, cin : i32, cout : i32, kDim : i32, mDim : i32, kPerSplit : i32,';
  workgroupSize: [number, number, number];
  outputShape: number[];
  dispatchLayout = { x: [3], y: [2], z: [0, 1] };
  dispatch: [number, number, number];
  shaderKey: string;
  size = false;

  constructor(
    outShape: number[],
    m: number,
    n: number,
    private readonly splits: number,
    private readonly tile: ForwardTile,
    private readonly hasBias: boolean,
    private readonly activation: Activation,
  ) {
    this.variableNames = hasBias && splits === 1 ? ['x', 'W', 'bias'] : ['x', 'W'];
    this.workgroupSize = [tile.tx, tile.ty, 1];
    const fused = splits === 1 ? `${hasBias}_${activation}` : 'partial';
    this.shaderKey = `augmentConv2DTiled_${tile.tx}_${tile.ty}_${tile.pm}_${tile.pn}_${tile.rows}_${fused}`;
    this.outputShape = [splits * outShape[0], outShape[1], outShape[2], outShape[3]];
    this.dispatch = [Math.ceil(n / (tile.pn * tile.tx)), Math.ceil(m / (tile.pm * tile.ty)), splits];
  }

  getUserCode(): string {
    const { tx: TX, ty: TY, pm: PM, pn: PN, rows: TK } = this.tile;
    const TILE_M = PM * TY;
    const TILE_N = PN * TX;
    const threads = TX * TY;
    const groupsK = TK / 4; // staging of im2col(x): 4 consecutive k of one m per load
    const groupsN = TILE_N / 4; // staging of W: 4 consecutive n of one k per load
    if (threads % groupsK || threads % groupsN || TILE_M % (threads / groupsK) || TK % (threads / groupsN)) {
      throw new Error(`bad Conv2D tile ${JSON.stringify(this.tile)}`);
    }
    const strideA = threads / groupsK;
    const strideW = threads / groupsN;
    const vm = PM / 4;
    const vn = PN / 4;
    const lines: string[] = [];
    for (let j = 0; j < vm; j++) lines.push(`let aa${j} = as_[r][ty * ${vm} + ${j}];`);
    for (let j = 0; j < vn; j++) lines.push(`let ww${j} = ws[r][tx * ${vn} + ${j}];`);
    for (let i = 0; i < PM; i++) {
      for (let j = 0; j < vn; j++) {
        lines.push(`acc[${i * vn + j}] = fma(vec4<f32>(aa${i >> 2}[${i & 3}]), ww${j}, acc[${i * vn + j}]);`);
      }
    }
    const direct = this.splits === 1;
    const store = direct
      ? `setOutputAtIndex(m * uniforms.cout + n + c, ${epilogue(this.hasBias, this.activation, 'sums[c]', 'n + c')});`
      : `setOutputAtIndex(outBase + m * uniforms.cout + n + c, sums[c]);`;
    return `
      var<workgroup> as_ : array<array<vec4<f32>, ${TILE_M / 4}>, ${TK}>;
      var<workgroup> ws : array<array<vec4<f32>, ${groupsN}>, ${TK}>;

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let t = ty * ${TX} + tx;
        let n0 = i32(workgroupId.x) * ${TILE_N};
        let m0 = i32(workgroupId.y) * ${TILE_M};
        let split = i32(workgroupId.z);
        let kStart = split * uniforms.kPerSplit;
        let kEnd = min(uniforms.kDim, kStart + uniforms.kPerSplit);
        let outHW = uniforms.outDims.x * uniforms.outDims.y;
        let fwCin = uniforms.fw * uniforms.cin;

        // This thread always stages the same rows m of im2col(x): decompose them once.
        let gk = t % ${groupsK};
        var mValid : array<bool, ${TILE_M / strideA}>;
        var xBase : array<vec2<i32>, ${TILE_M / strideA}>;
        var xBatch : array<i32, ${TILE_M / strideA}>;
        for (var i = 0; i < ${TILE_M / strideA}; i++) {
          let m = m0 + t / ${groupsK} + i * ${strideA};
          mValid[i] = m < uniforms.mDim;
          let b = m / outHW;
          let rest = m - b * outHW;
          let yR = rest / uniforms.outDims.y;
          let yC = rest - yR * uniforms.outDims.y;
          xBatch[i] = b;
          xBase[i] = vec2<i32>(yR, yC) * uniforms.strides - uniforms.pads;
        }
        let gn = t % ${groupsN};
        let nLoad = n0 + gn * 4;

        var acc : array<vec4<f32>, ${PM * vn}>;
        for (var a = 0; a < ${PM * vn}; a++) {
          acc[a] = vec4<f32>(0.0);
        }

        // Uniform trip count for the barriers: every split runs the same number of steps.
        let steps = uniforms.kPerSplit / ${TK};
        for (var step = 0; step < steps; step++) {
          let k0 = kStart + step * ${TK};
          // 4 consecutive k of this thread's group: filter row, column and input channel.
          let kq = vec4<i32>(k0 + gk * 4) + vec4<i32>(0, 1, 2, 3);
          let kOk = kq < vec4<i32>(kEnd);
          let wR = kq / vec4<i32>(fwCin);
          let wC = (kq - wR * fwCin) / vec4<i32>(uniforms.cin);
          let d1 = kq - wR * fwCin - wC * uniforms.cin;
          for (var i = 0; i < ${TILE_M / strideA}; i++) {
            let mm = t / ${groupsK} + i * ${strideA};
            var v = vec4<f32>(0.0);
            if (mValid[i]) {
              let xR = vec4<i32>(xBase[i].x) + wR;
              let xC = vec4<i32>(xBase[i].y) + wC;
              let ok = kOk & (xR >= vec4<i32>(0)) & (xR < vec4<i32>(uniforms.inDims.x)) &
                  (xC >= vec4<i32>(0)) & (xC < vec4<i32>(uniforms.inDims.y));
              let idx = ((vec4<i32>(xBatch[i] * uniforms.inDims.x) + xR) * uniforms.inDims.y + xC) * uniforms.cin + d1;
              for (var c = 0; c < 4; c++) {
                if (ok[c]) {
                  v[c] = x[idx[c]];
                }
              }
            }
            for (var c = 0; c < 4; c++) {
              as_[gk * 4 + c][mm / 4][mm % 4] = v[c];
            }
          }
          for (var i = 0; i < ${TK / strideW}; i++) {
            let r = t / ${groupsN} + i * ${strideW};
            let k = k0 + r;
            var v = vec4<f32>(0.0);
            if (k < kEnd) {
              let base = k * uniforms.cout + nLoad;
              for (var c = 0; c < 4; c++) {
                if (nLoad + c < uniforms.cout) {
                  v[c] = W[base + c];
                }
              }
            }
            ws[r][gn] = v;
          }
          workgroupBarrier();
          for (var r = 0; r < ${TK}; r++) {
            ${lines.join('\n            ')}
          }
          workgroupBarrier();
        }

        let outBase = split * uniforms.mDim * uniforms.cout;
        for (var i = 0; i < ${PM}; i++) {
          let m = m0 + ty * ${PM} + i;
          if (m < uniforms.mDim) {
            for (var j = 0; j < ${vn}; j++) {
              let sums = acc[i * ${vn} + j];
              let n = n0 + tx * ${PN} + j * 4;
              for (var c = 0; c < 4; c++) {
                if (n + c < uniforms.cout) {
                  ${store}
                }
              }
            }
          }
        }
      }
    `;
  }
}

/** out[i] = act(sum_s partial[s * size + i] + bias[i % cout]). */
class SumSplitsEpilogueProgram {
  variableNames: string[];
  uniforms = 'splits : i32, cout : i32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;
  size = true;

  constructor(
    outShape: number[],
    private readonly hasBias: boolean,
    private readonly activation: Activation,
  ) {
    this.variableNames = hasBias ? ['partial', 'bias'] : ['partial'];
    this.outputShape = outShape;
    this.dispatchLayout = { x: outShape.map((_, i) => i) };
    const size = outShape.reduce((p, d) => p * d, 1);
    this.dispatch = [Math.ceil(size / 64), 1, 1];
    this.shaderKey = `augmentConv2DSumSplits_${hasBias}_${activation}`;
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var sum = 0.0;
          for (var s = 0; s < uniforms.splits; s++) {
            sum += partial[s * uniforms.size + index];
          }
          setOutputAtIndex(index, ${epilogue(this.hasBias, this.activation, 'sum', 'index % uniforms.cout')});
        }
      }
    `;
  }
}

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
};

type ConvInputs = { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };

function dilationIsOne(d: [number, number] | number | undefined): boolean {
  if (d === undefined) return true;
  return Array.isArray(d) ? d[0] === 1 && d[1] === 1 : d === 1;
}

/** Makes the kernel function for Conv2D or FusedConv2D; `stock` handles what this one does not. */
export function makeConv2D(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as { inputs: ConvInputs; backend: WebgpuBackendLike; attrs: ConvAttrs };
    const { x, filter, bias, preluActivationWeights } = inputs;
    const activation = (attrs.activation ?? 'linear') as string;
    const outChannels = filter.shape[3];
    if (
      attrs.dataFormat === 'NCHW' ||
      !dilationIsOne(attrs.dilations) ||
      x.dtype !== 'float32' ||
      filter.dtype !== 'float32' ||
      (activation !== 'linear' && activation !== 'relu') ||
      preluActivationWeights != null ||
      (bias != null && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== outChannels))
    ) {
      return stock(args);
    }
    const convInfo = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const k = convInfo.filterHeight * convInfo.filterWidth * convInfo.inChannels;
    const n = convInfo.outChannels;
    const m = convInfo.batchSize * convInfo.outHeight * convInfo.outWidth;
    const tile = chooseForwardTile(m, n);
    if (!tile) return stock(args);
    const { splits, kPerSplit } = planForward(m, n, k, tile);
    const hasBias = bias != null;
    const act = activation as Activation;
    const program = new ConvForwardTiledProgram(convInfo.outShape, m, n, splits, tile, hasBias, act);
    if (program.dispatch.some((d) => d > MAX_WORKGROUPS_PER_DIMENSION)) return stock(args);
    const uniforms = [
      { type: 'int32', data: [convInfo.padInfo.top, convInfo.padInfo.left] },
      { type: 'int32', data: [convInfo.strideHeight, convInfo.strideWidth] },
      { type: 'int32', data: [convInfo.inHeight, convInfo.inWidth] },
      { type: 'int32', data: [convInfo.outHeight, convInfo.outWidth] },
      { type: 'int32', data: [convInfo.filterWidth] },
      { type: 'int32', data: [convInfo.inChannels] },
      { type: 'int32', data: [n] },
      { type: 'int32', data: [k] },
      { type: 'int32', data: [m] },
      { type: 'int32', data: [kPerSplit] },
    ];
    if (splits === 1) {
      return backend.runWebGPUProgram(program, hasBias ? [x, filter, bias!] : [x, filter], 'float32', uniforms);
    }
    const partial = backend.runWebGPUProgram(program, [x, filter], 'float32', uniforms);
    const out = backend.runWebGPUProgram(
      new SumSplitsEpilogueProgram(convInfo.outShape, hasBias, act),
      hasBias ? [partial, bias!] : [partial],
      'float32',
      [{ type: 'int32', data: [splits] }, { type: 'int32', data: [n] }],
    );
    backend.disposeData(partial.dataId);
    return out;
  };
}
