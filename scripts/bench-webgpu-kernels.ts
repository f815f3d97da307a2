/**
 * Stock vs augment WebGPU kernels, on the adapter this machine has (a software one is
 * accepted: this compares kernels on the same adapter, it is not a throughput claim).
 *
 *   node --import tsx scripts/bench-webgpu-kernels.ts [--reps N] [--quick] [--steps] [--profile]
 *       [--no-kernels] [--only Conv2DBackpropFilter,Conv2D,FusedConv2D]
 *
 * Kernels: Conv2DBackpropFilter and Conv2D on layer shapes of vgg16 / resnet18 / resnet50 at
 * width 0.25 (and one at width 1), 32 px, batch 32 (8 with --quick). Per case: one warm-up call
 * of each implementation, then N timed calls alternating stock / augment so that both see the
 * same machine load; median wall time of a call until its result is ready (read back as a
 * scalar sum, so that copying a large output to the CPU does not hide the kernel). One flat row per case, then the geometric mean of the speed-ups.
 *
 * --steps: whole training steps (forward + backward + Adam) of vgg16 / resnet18 / resnet50 at
 * width 0.25, 32 px, alternating stock / augment kernels on the same model; median step time.
 * --profile: one profiled training step of each model (tf.profile), the kernels that took the
 * most time, stock vs augment.
 */
import { tf } from '../src/train/tf.ts';
import { initWebgpu } from '../src/train/backend/webgpu.ts';
import { registerWebgpuKernels, restoreStockWebgpuKernels } from '../src/train/kernels/webgpu/index.ts';
import { chooseTile, planBackpropFilter } from '../src/train/kernels/webgpu/conv2d_backprop_filter.ts';
import { chooseForwardTile, planForward } from '../src/train/kernels/webgpu/conv2d_forward.ts';
import { createModel } from '../src/train/models/index.ts';

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
const B = quick ? 8 : 32;
/** --only A,B: register only these of augment's kernels (default: all). */
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;

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

function geomean(r: number[]): number {
  return Math.exp(r.reduce((a, v) => a + Math.log(v), 0) / r.length);
}

/** Wall time of `run` until its result is ready; reads back only a scalar (its sum). */
async function timed(run: () => tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const out = run();
  const sum = out.rank === 0 ? out : tf.sum(out);
  await sum.data();
  const ms = performance.now() - t0;
  tf.dispose([out, sum]);
  return ms;
}

/** Alternates stock / augment `reps` times after one warm-up of each; medians in ms. */
async function abTest(run: () => Promise<number>): Promise<{ stock: number; ours: number }> {
  const stock: number[] = [];
  const ours: number[] = [];
  for (let i = -1; i < reps; i++) {
    restoreStockWebgpuKernels();
    const s = await run();
    registerWebgpuKernels(only);
    const o = await run();
    if (i >= 0) {
      stock.push(s);
      ours.push(o);
    }
  }
  return { stock: median(stock), ours: median(ours) };
}

async function benchKernel(kernel: 'Conv2DBackpropFilter' | 'Conv2D'): Promise<void> {
  console.log(`\n${kernel}: median of ${reps} calls (ms), stock tfjs-backend-webgpu 4.22 vs augment`);
  console.log(['case', 'x', 'filter', 'stride', 'tile', 'splits', 'stock_ms', 'augment_ms', 'speedup'].join('\t'));
  const ratios: number[] = [];
  for (const c of CASES) {
    const x = tf.tensor4d(filled(c.x.reduce((a, b) => a * b), 1), c.x);
    const w = tf.tensor4d(filled(c.filter.reduce((a, b) => a * b), 3), c.filter);
    const yShape = tf.conv2d(x, tf.zeros(c.filter) as tf.Tensor4D, c.strides, c.pad).shape;
    const dy = tf.tensor(filled(yShape.reduce((a, b) => a * b), 2), yShape);
    const k = c.filter[0] * c.filter[1] * c.filter[2];
    const n = c.filter[3];
    const m = dy.size / n;
    let tileName: string;
    let splits: number;
    let run: () => tf.Tensor;
    if (kernel === 'Conv2DBackpropFilter') {
      const tile = chooseTile(k, n);
      tileName = `${tile.ty * tile.pk}x${tile.tx * tile.pn}`;
      splits = planBackpropFilter(k, n, m, tile).splits;
      run = () =>
        tf.engine().runKernel(kernel, { x, dy }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter }) as tf.Tensor;
    } else {
      const tile = chooseForwardTile(m, n);
      tileName = tile ? `${tile.ty * tile.pm}x${tile.tx * tile.pn}` : 'stock';
      splits = tile ? planForward(m, n, k, tile).splits : 1;
      run = () =>
        tf.engine().runKernel(kernel, { x, filter: w }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1 }) as tf.Tensor;
    }
    const { stock, ours } = await abTest(() => timed(run));
    ratios.push(stock / ours);
    console.log(
      [c.name, c.x.join('x'), c.filter.join('x'), c.strides, tileName, splits, stock.toFixed(2), ours.toFixed(2), `${(stock / ours).toFixed(2)}x`].join('\t'),
    );
    tf.dispose([x, w, dy]);
  }
  console.log(`geometric mean speed-up: ${geomean(ratios).toFixed(2)}x over ${ratios.length} cases`);
}

function trainingStep(name: string): { step: () => Promise<number>; dispose: () => void } {
  const model = createModel(name, { numClasses: 10, imageSize: 32, width: 0.25, seed: 1 });
  const opt = tf.train.adam(1e-4);
  const xs = tf.tensor4d(filled(B * 32 * 32 * 3, 3), [B, 32, 32, 3]);
  const ys = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32'), 10);
  const step = () =>
    timed(() => opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, true)!);
  return {
    step,
    dispose: () => {
      tf.dispose([xs, ys]);
      model.dispose();
      opt.dispose();
    },
  };
}

async function benchSteps(): Promise<void> {
  console.log(`\ntraining step (forward + backward + Adam), width 0.25, 32 px, batch ${B}: median of ${reps} steps (ms)`);
  console.log(['model', 'stock_ms', 'augment_ms', 'speedup', 'stock_img_per_s', 'augment_img_per_s'].join('\t'));
  for (const name of ['vgg16', 'resnet18', 'resnet50']) {
    const t = trainingStep(name);
    const { stock, ours } = await abTest(t.step);
    t.dispose();
    console.log([name, stock.toFixed(0), ours.toFixed(0), `${(stock / ours).toFixed(2)}x`, ((B * 1000) / stock).toFixed(1), ((B * 1000) / ours).toFixed(1)].join('\t'));
  }
}

async function profileStep(name: string, label: string): Promise<void> {
  const t = trainingStep(name);
  await t.step();
  const info = await tf.profile(async () => {
    await t.step();
  });
  t.dispose();
  const byName = new Map<string, number>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
    total += ms;
  }
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 5);
  console.log(
    [name, label, total.toFixed(0), ...top.map(([k, ms]) => `${k} ${ms.toFixed(0)} (${((100 * ms) / total).toFixed(0)}%)`)].join('\t'),
  );
}

const gpu = await initWebgpu({ allowSoftware: true, log: (l) => console.error(l) });
if (!gpu) {
  console.error('bench-webgpu-kernels: no WebGPU adapter; see docs/BACKENDS.md');
  process.exit(1);
}
console.log(gpu.description);
console.log(`node ${process.version}, ${new Date().toISOString()}, batch ${B}, ${reps} reps`);
if (!args.includes('--no-kernels')) {
  await benchKernel('Conv2DBackpropFilter');
  await benchKernel('Conv2D');
}
if (args.includes('--steps')) await benchSteps();
if (args.includes('--profile')) {
  console.log(`\nprofile of one training step, width 0.25, 32 px, batch ${B}: kernel ms, top kernels`);
  for (const name of ['vgg16', 'resnet18', 'resnet50']) {
    restoreStockWebgpuKernels();
    await profileStep(name, 'stock');
    registerWebgpuKernels(only);
    await profileStep(name, 'augment');
  }
}
