/**
 * Conv2DBackpropFilter for the webgpu backend as a tiled matmul:
 *
 *   dW[k, n] = sum_m im2col(x)[m, k] * dy[m, n]
 *   k = (wR, wC, d1) over filterHeight x filterWidth x inChannels,
 *   n = d2 over outChannels, m = (b, yR, yC) over batch x outHeight x outWidth.
 *
 * The stock shader runs one thread per filter weight, each looping over all of
 * batch x outHeight x outWidth: a few thousand threads doing long serial loops, and no reuse of
 * the values it loads. Here a workgroup computes a 32 x 32 tile of dW, staging 16-row slices of
 * im2col(x) and dy in workgroup memory, each thread keeping a 4 x 4 block of sums in registers;
 * when the filter has few tiles (first layers, small widths), the m reduction is split over a
 * third dispatch dimension and a second pass adds the partial sums.
 *
 * NHWC (channelsLast) only; NCHW goes to the stock kernel. Dilation is always 1 for this op.
 */
import { tf } from '../../tf.ts';

/**
 * A tile configuration: tx x ty threads per workgroup, each computing a 4 x 4 block of dW
 * (4 columns strided by tx, 4 rows strided by ty, so workgroup-memory reads are contiguous
 * across threads); the workgroup covers 4*ty rows (k) x 4*tx columns (n) of dW and stages
 * `rows` rows of m per step.
 */
export interface TileConfig {
  tx: number;
  ty: number;
  rows: number;
}
const PER_THREAD = 4;
/** 32 x 32 tiles; 16 columns wide when the layer has at most 16 output channels. */
export function chooseTile(n: number): TileConfig {
  const rows = Number(process.env.AUGMENT_BPF_ROWS) || 32;
  return n <= 16 ? { tx: 4, ty: 8, rows } : { tx: 8, ty: 8, rows };
}
/** Split the m reduction until there are about this many workgroups... */
const TARGET_WORKGROUPS = Number(process.env.AUGMENT_BPF_TARGET) || 256;
/** ...but keep at least this many m rows per split. */
const MIN_ROWS_PER_SPLIT = Number(process.env.AUGMENT_BPF_MINROWS) || 512;

/** The subset of tfjs-backend-webgpu's WebGPUBackend that the kernel uses. */
export interface WebgpuBackendLike {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Planned split of the work for one call; exported for tests and the benchmark. */
export function planBackpropFilter(
  k: number,
  n: number,
  m: number,
  tile: TileConfig = chooseTile(n),
): { splits: number; rowsPerSplit: number } {
  const TILE_M = tile.rows;
  const tiles = Math.ceil(k / (PER_THREAD * tile.ty)) * Math.ceil(n / (PER_THREAD * tile.tx));
  const wanted = Math.max(1, Math.ceil(TARGET_WORKGROUPS / tiles));
  const most = Math.max(1, Math.floor(m / MIN_ROWS_PER_SPLIT));
  let splits = Math.min(wanted, most);
  let rowsPerSplit = Math.ceil(Math.ceil(m / splits) / TILE_M) * TILE_M;
  splits = Math.ceil(m / rowsPerSplit);
  if (splits < 1) {
    splits = 1;
    rowsPerSplit = TILE_M;
  }
  return { splits, rowsPerSplit };
}

class BackpropFilterTiledProgram {
  variableNames = ['x', 'dy'];
  uniforms =
    'pads : vec2<i32>, strides : vec2<i32>, inDims : vec2<i32>, outDims : vec2<i32>, fw : i32, cin : i32, cout : i32, kDim : i32, mDim : i32, rowsPerSplit : i32,';
  workgroupSize: [number, number, number];
  outputShape: number[];
  dispatchLayout = { x: [3], y: [2], z: [0, 1] };
  dispatch: [number, number, number];
  shaderKey: string;
  size = false;
  private tile: TileConfig;

  /** outputShape is [splits * fh, fw, cin, cout]: flat layout = split-major stack of dW. */
  constructor(filterShape: [number, number, number, number], k: number, n: number, splits: number, tile: TileConfig) {
    this.tile = tile;
    this.workgroupSize = [tile.tx, tile.ty, 1];
    this.shaderKey = `augmentConv2DBackpropFilterTiled_${tile.tx}_${tile.ty}_${tile.rows}`;
    this.outputShape = [splits * filterShape[0], filterShape[1], filterShape[2], filterShape[3]];
    this.dispatch = [Math.ceil(n / (PER_THREAD * tile.tx)), Math.ceil(k / (PER_THREAD * tile.ty)), splits];
  }

  getUserCode(): string {
    const { tx: TX, ty: TY, rows: TILE_M } = this.tile;
    const TILE_K = PER_THREAD * TY;
    const TILE_N = PER_THREAD * TX;
    const threads = TX * TY;
    const loadsX = (TILE_M * TILE_K) / threads;
    const loadsDy = (TILE_M * TILE_N) / threads;
    return `
      var<workgroup> xs : array<array<f32, ${TILE_K}>, ${TILE_M}>;
      var<workgroup> ds : array<array<f32, ${TILE_N}>, ${TILE_M}>;

      fn main() {
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let t = ty * ${TX} + tx;
        let n0 = i32(workgroupId.x) * ${TILE_N};
        let k0 = i32(workgroupId.y) * ${TILE_K};
        let split = i32(workgroupId.z);
        let mStart = split * uniforms.rowsPerSplit;
        let mEnd = min(uniforms.mDim, mStart + uniforms.rowsPerSplit);
        let outHW = uniforms.outDims.x * uniforms.outDims.y;

        // This thread always stages the same column of each tile: decompose k once.
        let kCol = t % ${TILE_K};
        let kLoad = k0 + kCol;
        let kValid = kLoad < uniforms.kDim;
        let fwCin = uniforms.fw * uniforms.cin;
        let wR = kLoad / fwCin;
        let wC = (kLoad - wR * fwCin) / uniforms.cin;
        let d1 = kLoad - wR * fwCin - wC * uniforms.cin;
        let rowOffX = t / ${TILE_K};
        let nCol = t % ${TILE_N};
        let nLoad = n0 + nCol;
        let nValid = nLoad < uniforms.cout;
        let rowOffDy = t / ${TILE_N};

        var acc : array<vec4<f32>, ${PER_THREAD}>;
        for (var a = 0; a < ${PER_THREAD}; a++) {
          acc[a] = vec4<f32>(0.0);
        }

        // Loop bounds must be uniform for the barriers: every split runs the same step count.
        let steps = uniforms.rowsPerSplit / ${TILE_M};
        for (var step = 0; step < steps; step++) {
          let m0 = mStart + step * ${TILE_M};
          for (var i = 0; i < ${loadsX}; i++) {
            let r = rowOffX + i * ${threads / TILE_K};
            let m = m0 + r;
            var v = 0.0;
            if (kValid && m < mEnd) {
              let b = m / outHW;
              let rest = m - b * outHW;
              let yR = rest / uniforms.outDims.y;
              let yC = rest - yR * uniforms.outDims.y;
              let xR = yR * uniforms.strides.x - uniforms.pads.x + wR;
              let xC = yC * uniforms.strides.y - uniforms.pads.y + wC;
              if (xR >= 0 && xR < uniforms.inDims.x && xC >= 0 && xC < uniforms.inDims.y) {
                v = x[((b * uniforms.inDims.x + xR) * uniforms.inDims.y + xC) * uniforms.cin + d1];
              }
            }
            xs[r][kCol] = v;
          }
          for (var i = 0; i < ${loadsDy}; i++) {
            let r = rowOffDy + i * ${threads / TILE_N};
            let m = m0 + r;
            var v = 0.0;
            if (nValid && m < mEnd) {
              v = dy[m * uniforms.cout + nLoad];
            }
            ds[r][nCol] = v;
          }
          workgroupBarrier();
          for (var r = 0; r < ${TILE_M}; r++) {
            let dv = vec4<f32>(ds[r][tx], ds[r][tx + ${TX}], ds[r][tx + ${2 * TX}], ds[r][tx + ${3 * TX}]);
            for (var a = 0; a < ${PER_THREAD}; a++) {
              acc[a] = fma(vec4<f32>(xs[r][ty + a * ${TY}]), dv, acc[a]);
            }
          }
          workgroupBarrier();
        }

        let base = split * uniforms.kDim * uniforms.cout;
        for (var a = 0; a < ${PER_THREAD}; a++) {
          let k = k0 + ty + a * ${TY};
          if (k < uniforms.kDim) {
            for (var b = 0; b < ${PER_THREAD}; b++) {
              let n = n0 + tx + b * ${TX};
              if (n < uniforms.cout) {
                setOutputAtIndex(base + k * uniforms.cout + n, acc[a][b]);
              }
            }
          }
        }
      }
    `;
  }
}

/** Sums `splits` stacked copies of dW: out[i] = sum_s partial[s * size + i]. */
class SumSplitsProgram {
  variableNames = ['partial'];
  uniforms = 'splits : i32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey = 'augmentSumSplits';
  size = true;

  constructor(filterShape: number[]) {
    this.outputShape = filterShape;
    this.dispatchLayout = { x: filterShape.map((_, i) => i) };
    const size = filterShape.reduce((p, d) => p * d, 1);
    this.dispatch = [Math.ceil(size / 64), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var sum = 0.0;
          for (var s = 0; s < uniforms.splits; s++) {
            sum += partial[s * uniforms.size + index];
          }
          setOutputAtIndex(index, sum);
        }
      }
    `;
  }
}

type Attrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

/**
 * Makes the kernel function; `stock` handles the cases this one does not (NCHW, non-float32).
 */
export function makeConv2DBackpropFilter(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { x: tf.TensorInfo; dy: tf.TensorInfo };
      backend: WebgpuBackendLike;
      attrs: Attrs;
    };
    const { x, dy } = inputs;
    if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') {
      return stock(args);
    }
    const convInfo = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
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
    const tile = chooseTile(n);
    const { splits, rowsPerSplit } = planBackpropFilter(k, n, m, tile);
    const filterShape: [number, number, number, number] = [
      convInfo.filterHeight,
      convInfo.filterWidth,
      convInfo.inChannels,
      convInfo.outChannels,
    ];
    const program = new BackpropFilterTiledProgram(filterShape, k, n, splits, tile);
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
      { type: 'int32', data: [rowsPerSplit] },
    ];
    const partial = backend.runWebGPUProgram(program, [x, dy], 'float32', uniforms);
    if (splits === 1) return partial;
    const sum = backend.runWebGPUProgram(new SumSplitsProgram(filterShape), [partial], 'float32', [
      { type: 'int32', data: [splits] },
    ]);
    backend.disposeData(partial.dataId);
    return sum;
  };
}
