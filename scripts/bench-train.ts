/**
 * Training throughput (images/s) of the bundled models on the selected backend, and in the same
 * run PyTorch's CPU figure from the anchor `torch_train_throughput.py` with the same arguments,
 * model by model (interleaved, so that load from other processes hits both alike).
 *
 *   node --import tsx scripts/bench-train.ts [--models vgg16,resnet18,resnet50] [--width 0.25]
 *     [--size 32] [--batch 32] [--steps 5] [--warmup 2] [--threads N] [--backend wasm]
 *     [--torch-threads 2] [--anchors DIR | env AUGMENT_ANCHORS] [--no-torch] [--stock | --vs-stock]
 *     [--repeat 1] [--stock-adam] [--profile] [--write]
 *
 * A step is Adam (lr 1e-4) + softmax cross-entropy on one random batch, as in the anchor; the
 * figure is batch / median step time after the warm-up steps. Adam is `createFusedAdam` (what the
 * trainer uses: one kernel per weight on wasm); `--stock-adam` uses tf.train.adam instead. `--stock` swaps augment's wasm
 * kernels for tfjs's own (keeping the missing Conv2DBackpropFilter) and is the "before" figure;
 * `--vs-stock` measures both in the same process, model by model. `--repeat N` repeats each
 * model's measurements N times, interleaved, and reports medians (the machine is shared).
 * `--profile` prints where a step's kernel time goes. `--write` puts the table in
 * docs/BENCHMARKS.md under `## Training throughput`.
 */
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tf } from '../src/train/tf.ts';
import { initBackend } from '../src/train/backend/select.ts';
import { activeWasmKernels, registerWasmKernels, useStockWasmKernels } from '../src/train/kernels/wasm/index.ts';
import { createModel } from '../src/train/models/index.ts';
import { createFusedAdam } from '../src/train/kernels/wasm/adam.ts';
import { createRng } from '../src/rng.ts';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? 'true' : v;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const models = (arg('models', 'vgg16,resnet18,resnet50') as string).split(',');
const width = Number(arg('width', '0.25'));
const size = Number(arg('size', '32'));
const batch = Number(arg('batch', '32'));
const steps = Number(arg('steps', '5'));
const warmup = Number(arg('warmup', '2'));
const torchThreads = Number(arg('torch-threads', '2'));
const threads = arg('threads') ? Number(arg('threads')) : undefined;
const anchors = resolve(arg('anchors') ?? process.env.AUGMENT_ANCHORS ?? join(repo, '..', 'shared', 'bench', 'anchors'));
const classes = 20;
const repeat = Math.max(1, Number(arg('repeat', '1')));
const vsStock = flag('vs-stock');

const info = await initBackend({ force: arg('backend'), threads, log: (l) => console.log(l) });
let kernels = info.tfBackend === 'wasm' ? activeWasmKernels() : [];
if (vsStock && info.tfBackend !== 'wasm') throw new Error('--vs-stock applies to the wasm backend only');
if (flag('stock')) {
  if (info.tfBackend !== 'wasm') throw new Error('--stock applies to the wasm backend only');
  kernels = useStockWasmKernels();
  console.log(`stock tfjs kernels, plus: ${kernels.join(', ')}`);
}

let stockOptimizer = flag('stock') || flag('stock-adam');

async function ours(name: string): Promise<{ ips: number; stepMs: number }> {
  const model = createModel(name, { numClasses: classes, imageSize: size, width, seed: 0 });
  const rng = createRng(`bench ${name}`);
  const xs = new Float32Array(batch * size * size * 3).map(() => rng.uniform(-1, 1));
  const x = tf.tensor4d(xs, [batch, size, size, 3]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, () => rng.int(0, classes - 1)), 'int32'), classes);
  const opt = stockOptimizer ? tf.train.adam(1e-4) : createFusedAdam(1e-4);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const step = async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      opt.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0]);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  if (flag('profile')) {
    const prof = await tf.profile(async () => {
      await step();
    });
    const agg = new Map<string, { n: number; ms: number }>();
    let total = 0;
    for (const k of prof.kernels) {
      if (k.name.endsWith('__op')) continue; // op wrappers: their kernels are listed too
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = agg.get(k.name) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += ms;
      agg.set(k.name, e);
      total += ms;
    }
    console.log(`profile ${name}: ${prof.kernels.length} kernel calls, ${total.toFixed(1)} ms of kernels in one step`);
    for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
      console.log(`  ${k.padEnd(26)} ${String(v.n).padStart(5)} calls ${v.ms.toFixed(1).padStart(8)} ms ${((100 * v.ms) / total).toFixed(0).padStart(3)}%`);
    }
  }
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  return { ips: (batch * 1000) / med, stepMs: med };
}

async function torch(name: string): Promise<number | null> {
  const script = join(anchors, 'torch_train_throughput.py');
  if (flag('no-torch')) return null;
  if (!existsSync(script)) {
    console.log(`(no anchor at ${script}; pass --anchors DIR or set AUGMENT_ANCHORS)`);
    return null;
  }
  const args = [script, name, String(size), '--width', String(width), '--batch', String(batch), '--threads', String(torchThreads), '--steps', String(steps)];
  try {
    const { stdout } = await run('/usr/bin/python3', args, { maxBuffer: 1 << 20 });
    const m = /images_per_s=([\d.]+)/.exec(stdout);
    return m ? Number(m[1]) : null;
  } catch (e) {
    console.log(`(anchor failed: ${(e as Error).message.split('\n')[0]})`);
    return null;
  }
}

interface Row {
  model: string;
  ours: number;
  stock: number | null;
  torch: number | null;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (v: number | null, d = 1) => (v === null || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const rows: Row[] = [];
const load0 = os.loadavg()[0];
for (const name of models) {
  const o: number[] = [];
  const st: number[] = [];
  const t: number[] = [];
  for (let r = 0; r < repeat; r++) {
    if (vsStock) {
      useStockWasmKernels();
      stockOptimizer = true;
      st.push((await ours(name)).ips);
      registerWasmKernels();
      stockOptimizer = flag('stock-adam');
    }
    o.push((await ours(name)).ips);
    const tv = await torch(name);
    if (tv !== null) t.push(tv);
  }
  const row: Row = { model: name, ours: median(o), stock: vsStock ? median(st) : null, torch: t.length ? median(t) : null };
  rows.push(row);
  console.log(
    `model=${name} width=${width} size=${size} batch=${batch} backend=${info.choice} threads=${info.threads} ours_images_per_s=${fmt(row.ours)}` +
      (vsStock ? ` stock_images_per_s=${fmt(row.stock)} speedup=${fmt(row.stock ? row.ours / row.stock : null, 2)}` : '') +
      ` torch_images_per_s=${fmt(row.torch)} ratio=${fmt(row.torch ? row.ours / row.torch : null, 2)}`,
  );
}
const load1 = os.loadavg()[0];

if (flag('write')) {
  const cmd = `node --import tsx scripts/bench-train.ts ${process.argv.slice(2).filter((a) => a !== '--write').join(' ')}`.trim();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `### ${info.choice} ${info.threads} thread${info.threads === 1 ? '' : 's'}${flag('stock') ? ', stock tfjs kernels (+ Conv2DBackpropFilter)' : ''}${vsStock ? ', before/after' : ''}, vs PyTorch ${torchThreads} thread${torchThreads === 1 ? '' : 's'}`,
    '',
    `\`${cmd}\` — ${new Date().toISOString().slice(0, 16)}Z, ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ` +
      `load average ${load0.toFixed(1)} → ${load1.toFixed(1)} (shared machine: compare ratios, not absolutes). ` +
      `PyTorch: \`/usr/bin/python3 torch_train_throughput.py MODEL ${size} --width ${width} --batch ${batch} --threads ${torchThreads}\` in the same run. ` +
      `Backend: ${info.description}${flag('stock') ? ' (stock kernels swapped back in)' : ''}.` +
      (repeat > 1 ? ` Medians of ${repeat} interleaved repeats.` : ''),
    '',
    vsStock
      ? '| model | width | px | batch | stock tfjs-wasm img/s | augment img/s | speed-up | PyTorch CPU img/s | augment / PyTorch |'
      : '| model | width | px | batch | augment img/s | PyTorch CPU img/s | augment / PyTorch |',
    vsStock ? '|---|---|---|---|---|---|---|---|---|' : '|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      vsStock
        ? `| ${r.model} | ${width} | ${size} | ${batch} | ${fmt(r.stock)} | ${fmt(r.ours)} | ${fmt(r.stock ? r.ours / r.stock : null, 2)}x | ${fmt(r.torch)} | ${fmt(r.torch ? r.ours / r.torch : null, 2)} |`
        : `| ${r.model} | ${width} | ${size} | ${batch} | ${fmt(r.ours)} | ${fmt(r.torch)} | ${fmt(r.torch ? r.ours / r.torch : null, 2)} |`,
    ),
    '',
  ];
  appendRun(lines.join('\n'));
}

/** Adds one run's table under `## Training throughput` (kept between an augment-bench marker pair). */
function appendRun(block: string): void {
  const file = join(repo, 'docs', 'BENCHMARKS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const begin = '<!-- bench-train runs: begin -->';
  const end = '<!-- bench-train runs: end -->';
  let out: string;
  if (text.includes(begin) && text.includes(end)) {
    out = text.replace(end, `${block}\n${end}`);
  } else {
    const section = `## Training throughput\n\n${begin}\n${block}\n${end}\n`;
    out = text.includes('## Training throughput\n') ? text.replace('## Training throughput\n', `${section}\n`) : `${text.trimEnd()}\n\n${section}`;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, out);
  renameSync(tmp, file);
  console.log(`wrote ${file}`);
}
