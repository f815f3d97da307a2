/**
 * Stock vs augment WebGPU kernels, on the adapter this machine has (a software one is
 * accepted: this is a kernel comparison, not a throughput claim).
 *
 *   node --import tsx scripts/bench-webgpu-kernels.ts [--reps N] [--profile] [--quick]
 *
 * Conv2DBackpropFilter on layer shapes of vgg16/resnet18 at width 0.25 and 1, 32 px: for each
 * case, one warm-up call of each implementation, then N timed calls alternating stock / ours
 * (so both see the same machine load); median wall time of a call including the wait for the
 * result (`await data()`). One flat row per case, then the geometric mean of the speed-ups.
 *
 * --profile: also profiles one training step (forward + backward + Adam update) of vgg16,
 * resnet18 and resnet50 (width 0.25, 32 px) with tf.profile and prints the kernels that took
 * the most time, stock vs ours.
 */
import { tf } from '../src/train/tf.ts';
import { initWebgpu } from '../src/train/backend/webgpu.ts';
import { registerWebgpuKernels, restoreStockWebgpuKernels } from '../src/train/kernels/webgpu/index.ts';
import { createModel } from '../src/train/models/index.ts';
import { chooseTile, planBackpropFilter } from '../src/train/kernels/webgpu/conv2d_backprop_filter.ts';

type Pad = 'same' | 'valid';
interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: Pad;
}

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1]) || 5;
const quick = args.includes('--quick');
const profile = args.includes('--profile');

const B = quick ? 8 : 32;
const CASES: Case[] = [
  { name: 'vgg16 w0.25 conv1_1', x: [B, 32, 32, 3], filter: [3, 3, 3, 16], strides: 1, pad: 'same' },
  { name: 'vgg16 w0.25 conv1_2', x: [B, 32, 32, 16], filter: [3, 3, 16, 16], strides: 1, pad: 'same' },
  { name: 'vgg16 w0.25 conv2_2', x: [B, 16, 16, 32], filter: [3, 3, 32, 32], strides: 1, pad: 'same' },
  { name: 'vgg16 w0.25 conv3_2', x: [B, 8, 8, 64], filter: [3, 3, 64, 64], strides: 1, pad: 'same' },
  { name: 'vgg16 w0.25 conv4_2', x: [B, 4, 4, 128], filter: [3, 3, 128, 128], strides: 1, pad: 'same' },
  { name: 'resnet18 w0.25 down 3x3/2', x: [B, 16, 16, 16], filter: [3, 3, 16, 32], strides: 2, pad: 'same' },
  { name: 'resnet18 w0.25 proj 1x1/2', x: [B, 16, 16, 16], filter: [1, 1, 16, 32], strides: 2, pad: 'valid' },
  { name: 'resnet50 w0.25 1x1 expand', x: [B, 8, 8, 32], filter: [1, 1, 32, 128], strides: 1, pad: 'valid' },
  ...(quick
    ? []
    : ([{ name: 'vgg16 w1 conv2_2', x: [8, 16, 16, 128], filter: [3, 3, 128, 128], strides: 1, pad: 'same' }] as Case[])),
];

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function callOnce(c: Case, x: tf.Tensor, dy: tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: c.strides,
    pad: c.pad,
    dataFormat: 'NHWC',
    filterShape: c.filter,
  }) as tf.Tensor;
  await out.data();
  const ms = performance.now() - t0;
  out.dispose();
  return ms;
}

async function benchKernels(): Promise<void> {
  console.log(`Conv2DBackpropFilter, median of ${reps} calls (ms), stock tfjs-backend-webgpu 4.22 vs augment`);
  console.log(['case', 'x', 'filter', 'stride', 'tile', 'splits', 'stock_ms', 'ours_ms', 'speedup'].join('\t'));
  const ratios: number[] = [];
  for (const c of CASES) {
    const x = tf.tensor4d(filled(c.x.reduce((a, b) => a * b), 1), c.x);
    const yShape = tf.conv2d(x as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.strides, c.pad).shape;
    const dy = tf.tensor(filled(yShape.reduce((a, b) => a * b), 2), yShape);
    const times = { stock: [] as number[], ours: [] as number[] };
    for (let i = -1; i < reps; i++) {
      restoreStockWebgpuKernels();
      const s = await callOnce(c, x, dy);
      registerWebgpuKernels();
      const o = await callOnce(c, x, dy);
      if (i >= 0) {
        times.stock.push(s);
        times.ours.push(o);
      }
    }
    const s = median(times.stock);
    const o = median(times.ours);
    const k = c.filter[0] * c.filter[1] * c.filter[2];
    const n = c.filter[3];
    const tile = chooseTile(k, n);
    const { splits } = planBackpropFilter(k, n, dy.size / n);
    ratios.push(s / o);
    console.log(
      [c.name, c.x.join('x'), c.filter.join('x'), c.strides, `${tile.ty * tile.pk}x${tile.tx * tile.pn}`, splits, s.toFixed(2), o.toFixed(2), `${(s / o).toFixed(2)}x`].join('\t'),
    );
    tf.dispose([x, dy]);
  }
  const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  console.log(`geometric mean speed-up: ${geo.toFixed(2)}x over ${ratios.length} cases`);
}

async function profileStep(name: string, label: string): Promise<void> {
  const model = createModel(name, { numClasses: 10, imageSize: 32, width: 0.25, seed: 1 });
  const opt = tf.train.adam(1e-3);
  const xs = tf.tensor4d(filled(B * 32 * 32 * 3, 3), [B, 32, 32, 3]);
  const ys = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32'), 10);
  const step = () =>
    opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, true);
  const warm = step();
  await warm?.data();
  warm?.dispose();
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    const loss = step();
    await loss?.data();
    loss?.dispose();
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, number>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
    total += ms;
  }
  console.log(`\nprofile ${name} w0.25 32 px batch ${B} (${label}): one training step: wall ${wall.toFixed(0)} ms (profiled), kernel total ${total.toFixed(0)} ms`);
  console.log(['kernel', 'ms', 'share'].join('\t'));
  for (const [name, ms] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log([name, ms.toFixed(1), `${((100 * ms) / total).toFixed(0)}%`].join('\t'));
  }
  tf.dispose([xs, ys]);
  model.dispose();
  opt.dispose();
}

const gpu = await initWebgpu({ allowSoftware: true, log: (l) => console.error(l) });
if (!gpu) {
  console.error('bench-webgpu-kernels: no WebGPU adapter; see docs/BACKENDS.md');
  process.exit(1);
}
console.log(gpu.description);
console.log(`node ${process.version}, ${new Date().toISOString()}`);
await benchKernels();
if (profile) {
  for (const name of ['vgg16', 'resnet18', 'resnet50']) {
    restoreStockWebgpuKernels();
    await profileStep(name, 'stock kernels');
    registerWebgpuKernels();
    await profileStep(name, 'augment kernels');
  }
}
