/**
 * WebGPU device check (run through `scripts/device-check-webgpu`, which reports the driver and
 * Vulkan ICDs first): requests an adapter, prints its info and limits, then times training
 * steps of vgg16 / resnet18 / resnet50 (Adam, softmax cross-entropy, random data) at width
 * 0.25 and 1, 32 px and 224 px, batch 64: warm-up steps, then the median step time and
 * images/s, one flat row per case. A case that fails (out of memory, validation error, device
 * lost) prints its error in its row and the run goes on.
 *
 *   node --import tsx scripts/device-check-webgpu.ts [--quick] [--models a,b] [--widths 0.25,1]
 *       [--sizes 32,224] [--batch 64] [--warmup 2] [--steps 5] [--kernels augment|stock|both]
 *
 * --kernels both (default): each case is timed with augment's WebGPU kernels and with tfjs's
 * stock ones (same model and data), one row each, so a GPU run also says whether augment's
 * kernels help there.
 *
 * --quick (or AUGMENT_DEVICE_CHECK_QUICK=1), for a software adapter: width 0.25, 32 px,
 * batch 8, 1 warm-up and 1 timed step. A software adapter is accepted either way: this is a
 * check, and the rows say which adapter they ran on.
 */
import { tf } from '../src/train/tf.ts';
import { initWebgpu, requestWebgpuAdapter } from '../src/train/backend/webgpu.ts';
import { activeWebgpuKernelOverrides, registerWebgpuKernels, restoreStockWebgpuKernels } from '../src/train/kernels/webgpu/index.ts';
import { createModel, listModels } from '../src/train/models/index.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick') || process.env.AUGMENT_DEVICE_CHECK_QUICK === '1';
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
function list(name: string, dflt: string): string[] {
  return (opt(name) ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
}
const models = list('models', 'vgg16,resnet18,resnet50');
const widths = list('widths', quick ? '0.25' : '0.25,1').map(Number);
const sizes = list('sizes', quick ? '32' : '32,224').map(Number);
const batch = Number(opt('batch') ?? (quick ? 8 : 64));
const warmup = Number(opt('warmup') ?? (quick ? 1 : 2));
const steps = Number(opt('steps') ?? (quick ? 1 : 5));
const kernelsArg = opt('kernels') ?? 'both';
if (!['augment', 'stock', 'both'].includes(kernelsArg)) {
  console.error(`--kernels: expected augment, stock or both, got ${kernelsArg}`);
  process.exit(2);
}
/** augment's WebGPU kernels, tfjs's stock ones, or both (two rows per case, same model). */
const kernelModes = (kernelsArg === 'both' ? ['augment', 'stock'] : [kernelsArg]) as Array<'augment' | 'stock'>;
const NUM_CLASSES = 10;

function errLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return (s.split('\n')[0] ?? s).slice(0, 200);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

type Device = GPUDevice & { lost: Promise<GPUDeviceLostInfo> };

/** Runs `fn` inside out-of-memory and validation error scopes; returns the first error seen. */
async function scoped<T>(device: Device, fn: () => Promise<T>): Promise<{ value?: T; error?: string }> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  let value: T | undefined;
  let thrown: string | undefined;
  try {
    value = await fn();
  } catch (e) {
    thrown = errLine(e);
  }
  const internal = await device.popErrorScope();
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) return { error: `out of memory: ${errLine(oom.message)}` };
  if (validation) return { error: `validation error: ${errLine(validation.message)}` };
  if (internal) return { error: `internal error: ${errLine(internal.message)}` };
  if (thrown) return { error: thrown };
  return { value };
}

/** One row per kernel mode: the same model and data, warm-up then timed steps for each. */
async function timeCase(device: Device, model: string, width: number, size: number): Promise<string[][]> {
  const row = [model, String(width), String(size), String(batch)];
  let net: tf.LayersModel | undefined;
  let adam: tf.Optimizer | undefined;
  let xs: tf.Tensor | undefined;
  let ys: tf.Tensor | undefined;
  const rows: string[][] = [];
  let params = NaN;
  const result = await scoped(device, async () => {
    net = createModel(model, { numClasses: NUM_CLASSES, imageSize: size, width, seed: 1 });
    params = net.countParams();
    adam = tf.train.adam(1e-4);
    xs = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1);
    ys = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % NUM_CLASSES), 'int32'), NUM_CLASSES);
    const [x, y, m, o] = [xs, ys, net, adam];
    for (const mode of kernelModes) {
      if (mode === 'stock') restoreStockWebgpuKernels();
      else registerWebgpuKernels();
      const times: number[] = [];
      let last = NaN;
      for (let i = 0; i < warmup + steps; i++) {
        const t0 = performance.now();
        const loss = o.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
        last = (await loss.data())[0];
        loss.dispose();
        if (i >= warmup) times.push(performance.now() - t0);
      }
      const ms = median(times);
      const status = Number.isFinite(last) ? `ok loss ${last.toFixed(3)}` : `error: non-finite loss ${last}`;
      rows.push([...row, mode, ms.toFixed(1), ((batch * 1000) / ms).toFixed(1), `${(params / 1e6).toFixed(2)}M`, status]);
    }
  });
  registerWebgpuKernels();
  tf.dispose([xs, ys].filter((t): t is tf.Tensor => t !== undefined));
  net?.dispose();
  adam?.dispose();
  if (result.error) {
    // Rows already timed stand; the failing mode (and any after it) get the error.
    for (const mode of kernelModes.slice(rows.length)) rows.push([...row, mode, '-', '-', Number.isFinite(params) ? `${(params / 1e6).toFixed(2)}M` : '-', `error: ${result.error}`]);
  }
  return rows;
}

console.log(`# device-check-webgpu ${new Date().toISOString()} node ${process.version} tfjs ${tf.version.tfjs}`);
const found = await requestWebgpuAdapter();
if (found.adapter === null) {
  console.log(`# adapter: none: ${found.reason}`);
  process.exit(1);
}
const info = found.info;
const limits = found.adapter.limits;
console.log(`# adapter: vendor=${info.vendor} architecture=${info.architecture} device=${info.device} description=${info.description}`);
console.log(`# adapter: ${info.software ? 'SOFTWARE (CPU-emulated): timings say nothing about a GPU' : 'hardware GPU'}`);
console.log(
  `# limits: maxBufferSize=${limits.maxBufferSize} maxStorageBufferBindingSize=${limits.maxStorageBufferBindingSize} ` +
    `maxComputeWorkgroupStorageSize=${limits.maxComputeWorkgroupStorageSize} maxComputeInvocationsPerWorkgroup=${limits.maxComputeInvocationsPerWorkgroup}`,
);
console.log(`# features: ${[...found.adapter.features].sort().join(' ')}`);
const gpu = await initWebgpu({ allowSoftware: true, log: (l) => console.log(`# ${l}`) });
if (!gpu) {
  console.log('# initWebgpu failed: see the line above');
  process.exit(1);
}
console.log(`# backend: ${gpu.description}`);
console.log(`# augment kernels over stock: ${activeWebgpuKernelOverrides().join(', ') || 'none'}`);
const known = listModels();
console.log(`# models registered: ${known.join(', ') || 'none'}; warm-up ${warmup}, timed ${steps} step(s), Adam, batch ${batch}${quick ? ' (--quick)' : ''}`);

const device = (tf.backend() as unknown as { device: Device }).device;
let lost: string | undefined;
device.lost.then((l) => {
  lost = `device lost (${l.reason}): ${errLine(l.message)}`;
});

console.log(['model', 'width', 'size', 'batch', 'kernels', 'step_ms', 'img_per_s', 'params', 'status'].join('\t'));
for (const size of sizes) {
  for (const width of widths) {
    for (const model of models) {
      if (lost) {
        console.log([model, width, size, batch, kernelsArg, '-', '-', '-', `skipped: ${lost}`].join('\t'));
        continue;
      }
      if (!known.includes(model)) {
        console.log([model, width, size, batch, kernelsArg, '-', '-', '-', 'skipped: not in the model registry'].join('\t'));
        continue;
      }
      for (const row of await timeCase(device, model, width, size)) console.log(row.join('\t'));
    }
  }
}
const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPUAllocated?: number };
console.log(`# done; tensors alive ${mem.numTensors}${lost ? `; ${lost}` : ''}`);
