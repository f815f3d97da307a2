/**
 * Conv2DBackpropFilter for the webgpu backend as a tiled matmul:
 *
 *   dW[k, n] = sum_m im2col(x)[m, k] * dy[m, n]
 *   k = (wR, wC, d1) over filterHeight x filterWidth x inChannels,
 *   n = d2 over outChannels, m = (b, yR, yC) over batch x outHeight x outWidth.
 *
 * The stock shader runs one thread per filter weight, each looping over all of
 * batch x outHeight x outWidth: a few thousand threads doing long serial loops, and no reuse of
 * the values it loads. Here a workgroup computes a tile of dW (32 x 32, or 64 x 16 for layers
 * with at most 16 output channels), staging 16-row slices of im2col(x) and dy in workgroup
 * memory as vec4s, each thread keeping a block of sums in registers (see `chooseTile`);
 * when the filter has few tiles (first layers, small widths), the m reduction is split over a
 * third dispatch dimension and a second pass adds the partial sums.
 *
 * NHWC (channelsLast) only; NCHW goes to the stock kernel. Dilation is always 1 for this op.
 */
import { tf } from '../../tf.ts';

/**
 * A tile configuration: tx x ty threads per workgroup; each thread computes a pk x pn block of
 * dW (pk consecutive rows k, pn consecutive columns n, held as vec4s), so a workgroup covers
 * ty*pk rows x tx*pn columns of dW; `rows` rows of m are staged in workgroup memory per step.
 * pk and pn are multiples of 4.
 */
export interface TileConfig {
  tx: number;
  ty: number;
  pk: number;
  pn: number;
  rows: number;
}

/** The tiles `chooseTile` picks from. */
export const TILES = {
  small: { tx: 4, ty: 8, pn: 4, pk: 4, rows: 32 },
  narrow: { tx: 4, ty: 8, pn: 4, pk: 8, rows: 16 },
  medium: { tx: 8, ty: 8, pn: 4, pk: 4, rows: 16 },
  wide: { tx: 8, ty: 8, pn: 8, pk: 8, rows: 16 },
} as const satisfies Record<string, TileConfig>;

let forcedTile: TileConfig | undefined;
/** Tests and benchmarks: use this tile for every call (undefined: back to `chooseTile`). */
export function forceBackpropFilterTile(tile: TileConfig | undefined): void {
  forcedTile = tile;
}

/**
 * The tile for a dW of k rows x n columns: 32 x 16 or 64 x 16 for narrow layers, 64 x 64
 * (8 x 8 sums per thread) for wide ones, 32 x 32 in between. The split of the m reduction makes up for the
 * few tiles of small filters. Chosen on lavapipe (scripts/bench-webgpu-kernels.ts); untuned on
 * hardware GPUs.
 */
export function chooseTile(k: number, n: number): TileConfig {
  if (forcedTile) return forcedTile;
  if (n <= 16) return k <= 32 ? TILES.small : TILES.narrow;
  if (n >= 64 && k >= 256) return TILES.wide;
  return TILES.medium;
}
/** Split the m reduction until there are about this many workgroups... */
const TARGET_WORKGROUPS = 256;
/** ...but keep at least this many m rows per split. */
const MIN_ROWS_PER_SPLIT = 512;

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
  tile: TileConfig = chooseTile(k, n),
): { splits: number; rowsPerSplit: number } {
  const tiles = Math.ceil(k / (tile.pk * tile.ty)) * Math.ceil(n / (tile.pn * tile.tx));
  const wanted = Math.max(1, Math.ceil(TARGET_WORKGROUPS / tiles));
  const most = Math.max(1, Math.floor(m / MIN_ROWS_PER_SPLIT));
  let splits = Math.min(wanted, most);
  let rowsPerSplit = Math.ceil(Math.ceil(m / splits) / tile.rows) * tile.rows;
  splits = Math.max(1, Math.ceil(m / rowsPerSplit));
  if (m === 0) rowsPerSplit = tile.rows;
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
    this.shaderKey = `augmentConv2DBackpropFilterTiled_${tile.tx}_${tile.ty}_${tile.pn}_${tile.pk}_${tile.rows}`;
    this.outputShape = [splits * filterShape[0], filterShape[1], filterShape[2], filterShape[3]];
    this.dispatch = [Math.ceil(n / (tile.pn * tile.tx)), Math.ceil(k / (tile.pk * tile.ty)), splits];
  }

  getUserCode(): string {
    const { tx: TX, ty: TY, pn: PN, pk: PK, rows: TILE_M } = this.tile;
    const TILE_K = PK * TY;
    const TILE_N = PN * TX;
    const threads = TX * TY;
    // Staging: each thread loads groups of 4 consecutive k (or n) values as one vec4.
    const groupsK = TILE_K / 4;
    const groupsN = TILE_N / 4;
    if (threads % groupsK || threads % groupsN || TILE_M % (threads / groupsK) || TILE_M % (threads / groupsN)) {
      throw new Error(`bad Conv2DBackpropFilter tile ${JSON.stringify(this.tile)}`);
    }
    const strideX = threads / groupsK;
    const strideDy = threads / groupsN;
    const vk = PK / 4;
    const vn = PN / 4;
    const accLines: string[] = [];
    for (let j = 0; j < vk; j++) accLines.push(`let xa${j} = xs[r][ty * ${vk} + ${j}];`);
    for (let j = 0; j < vn; j++) accLines.push(`let da${j} = ds[r][tx * ${vn} + ${j}];`);
    for (let i = 0; i < PK; i++) {
      for (let j = 0; j < vn; j++) {
        accLines.push(`acc[${i * vn + j}] = fma(vec4<f32>(xa${i >> 2}[${i & 3}]), da${j}, acc[${i * vn + j}]);`);
      }
    }
    return `
      var<workgroup> xs : array<array<vec4<f32>, ${groupsK}>, ${TILE_M}>;
      var<workgroup> ds : array<array<vec4<f32>, ${groupsN}>, ${TILE_M}>;

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

        // This thread always stages the same 4 columns k of im2col(x): decompose them once.
        let gk = t % ${groupsK};
        let kLoad = vec4<i32>(k0 + gk * 4) + vec4<i32>(0, 1, 2, 3);
        let kValid = kLoad < vec4<i32>(uniforms.kDim);
        let fwCin = uniforms.fw * uniforms.cin;
        let wR = kLoad / vec4<i32>(fwCin);
        let wC = (kLoad - wR * fwCin) / vec4<i32>(uniforms.cin);
        let d1 = kLoad - wR * fwCin - wC * uniforms.cin;
        let rowOffX = t / ${groupsK};
        // ...and the same 4 columns n of dy.
        let gn = t % ${groupsN};
        let nLoad = n0 + gn * 4;
        let rowOffDy = t / ${groupsN};

        var acc : array<vec4<f32>, ${PK * vn}>;
        for (var a = 0; a < ${PK * vn}; a++) {
          acc[a] = vec4<f32>(0.0);
        }

        // Loop bounds must be uniform for the barriers: every split runs the same step count.
        let steps = uniforms.rowsPerSplit / ${TILE_M};
        for (var step = 0; step < steps; step++) {
          let m0 = mStart + step * ${TILE_M};
          for (var i = 0; i < ${TILE_M / strideX}; i++) {
            let r = rowOffX + i * ${strideX};
            let m = m0 + r;
            var v = vec4<f32>(0.0);
            if (m < mEnd) {
              let b = m / outHW;
              let rest = m - b * outHW;
              let yR = rest / uniforms.outDims.y;
              let yC = rest - yR * uniforms.outDims.y;
              let xR = vec4<i32>(yR * uniforms.strides.x - uniforms.pads.x) + wR;
              let xC = vec4<i32>(yC * uniforms.strides.y - uniforms.pads.y) + wC;
              let ok = kValid & (xR >= vec4<i32>(0)) & (xR < vec4<i32>(uniforms.inDims.x)) &
                  (xC >= vec4<i32>(0)) & (xC < vec4<i32>(uniforms.inDims.y));
              let idx = ((vec4<i32>(b * uniforms.inDims.x) + xR) * uniforms.inDims.y + xC) * uniforms.cin + d1;
              for (var c = 0; c < 4; c++) {
                if (ok[c]) {
                  v[c] = x[idx[c]];
                }
              }
            }
            xs[r][gk] = v;
          }
          for (var i = 0; i < ${TILE_M / strideDy}; i++) {
            let r = rowOffDy + i * ${strideDy};
            let m = m0 + r;
            var v = vec4<f32>(0.0);
            if (m < mEnd) {
              let base = m * uniforms.cout + nLoad;
              for (var c = 0; c < 4; c++) {
                if (nLoad + c < uniforms.cout) {
                  v[c] = dy[base + c];
                }
              }
            }
            ds[r][gn] = v;
          }
          workgroupBarrier();
          for (var r = 0; r < ${TILE_M}; r++) {
            ${accLines.join('\n            ')}
          }
          workgroupBarrier();
        }

        let outBase = split * uniforms.kDim * uniforms.cout;
        for (var i = 0; i < ${PK}; i++) {
          let k = k0 + ty * ${PK} + i;
          if (k < uniforms.kDim) {
            for (var j = 0; j < ${vn}; j++) {
              let sums = acc[i * ${vn} + j];
              let n = n0 + tx * ${PN} + j * 4;
              for (var c = 0; c < 4; c++) {
                if (n + c < uniforms.cout) {
                  setOutputAtIndex(outBase + k * uniforms.cout + n + c, sums[c]);
                }
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
    const tile = chooseTile(k, n);
    const { splits, rowsPerSplit } = planBackpropFilter(k, n, m, tile);
    const filterShape: [number, number, number, number] = [
      convInfo.filterHeight,
      convInfo.filterWidth,
      convInfo.inChannels,
      convInfo.outChannels,
    ];
    const program = new BackpropFilterTiledProgram(filterShape, k, n, splits, tile);
    if (program.dispatch.some((d) => d > 65535)) return stock(args); // tfjs cannot reshape a 3-D dispatch
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
