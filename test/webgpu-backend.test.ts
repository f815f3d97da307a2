/**
 * The webgpu backend for real, on whatever adapter this machine has (in CI: Mesa lavapipe,
 * installed by .ci/install-vulkan.sh). Every test skips with the reason when there is no
 * adapter, so `npm test` passes on a machine without Vulkan.
 *
 * Reads are async only (`await t.data()`): dataSync/arraySync throw on webgpu in Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../src/train/tf.ts';
import { gpuDevicePresent, initWebgpu } from '../src/train/backend/webgpu.ts';
import { activeWebgpuKernelOverrides } from '../src/train/kernels/webgpu/index.ts';
import { createModel } from '../src/train/models/index.ts';
import { filled, found, gpu, maxAbs, maxAbsDiff, skipReason } from './webgpu-helpers.ts';

test('initWebgpu: adapter description, and a software adapter only when allowed', async (t) => {
  if (skipReason || found.adapter === null) return t.skip(skipReason);
  assert.ok(gpu, 'initWebgpu returned null although an adapter exists');
  assert.equal(tf.getBackend(), 'webgpu');
  assert.match(gpu.description, /^webgpu \(Dawn\) (GPU|SOFTWARE adapter): vendor /);
  const again = await initWebgpu({ allowSoftware: found.info.software ? false : true });
  if (found.info.software) {
    assert.equal(again, null, 'a software adapter must be refused unless allowSoftware');
    await tf.setBackend('webgpu');
  } else {
    assert.equal(again?.description, gpu.description);
  }
  assert.deepEqual(activeWebgpuKernelOverrides(), ['Conv2DBackpropFilter', 'Conv2D', 'FusedConv2D']);
});

/** conv + batch-norm + relu + max-pool + dense, as in the trainer's models. */
function tinyNet(size: number, classes: number): tf.Sequential {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [size, size, 3],
      filters: 6,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(
    tf.layers.conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  );
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU());
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  return m;
}

test('gradients of a conv+bn+relu+pool+dense net on webgpu match cpu (per tensor, <= 1e-4 x max |grad|)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const size = 8;
  const batch = 4;
  const classes = 3;
  const xv = filled(batch * size * size * 3, 21);
  const labels = [0, 1, 2, 1];
  let weights: Array<{ shape: number[]; values: Float32Array }> = [];
  const grads: Array<Map<string, Float32Array>> = [];
  const losses: number[] = [];
  for (const backend of ['cpu', 'webgpu']) {
    await tf.setBackend(backend);
    const model = tinyNet(size, classes);
    if (backend === 'cpu') {
      weights = await Promise.all(
        model.getWeights().map(async (w) => ({ shape: w.shape, values: (await w.data()) as Float32Array })),
      );
    } else {
      model.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
    }
    const x = tf.tensor4d(xv, [batch, size, size, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads: g } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      vars,
    );
    losses.push((await value.data())[0]);
    const byName = new Map<string, Float32Array>();
    for (const v of vars) byName.set(v.name.replace(/_\d+$/, ''), (await g[v.name].data()) as Float32Array);
    grads.push(byName);
    model.dispose();
  }
  assert.ok(Math.abs(losses[0] - losses[1]) <= 1e-5 * Math.max(1, losses[0]), `loss cpu ${losses[0]} webgpu ${losses[1]}`);
  const [ref, got] = grads;
  assert.equal(got.size, ref.size);
  assert.ok(ref.size >= 7, `expected every trainable weight, got ${[...ref.keys()]}`);
  const refList = [...ref.values()];
  const gotList = [...got.values()];
  for (let i = 0; i < refList.length; i++) {
    const scale = maxAbs(refList[i]);
    const err = maxAbsDiff(gotList[i], refList[i]);
    assert.ok(err <= 1e-4 * Math.max(scale, 1e-3), `weight ${i} (${[...ref.keys()][i]}): max error ${err} vs max |grad| ${scale}`);
  }
  await tf.setBackend('webgpu');
});

test('a tiny model trains on webgpu: loss decreases over a few epochs of fit, as on cpu', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const size = 8;
  const n = 16;
  // Two classes: brighter left half vs brighter right half, plus noise.
  const xv = filled(n * size * size * 3, 31).map((v) => v * 0.2);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    labels.push(cls);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const bright = cls === 0 ? c < size / 2 : c >= size / 2;
        for (let ch = 0; ch < 3; ch++) xv[((i * size + r) * size + c) * 3 + ch] += bright ? 1 : 0;
      }
    }
  }
  const histories: number[][] = [];
  for (const backend of ['cpu', 'webgpu']) {
    await tf.setBackend(backend);
    const model = tinyNet(size, 2);
    model.compile({
      optimizer: tf.train.adam(0.005),
      loss: (yTrue: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits),
    });
    const x = tf.tensor4d(xv, [n, size, size, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 2);
    const history = await model.fit(x, y, { epochs: 4, batchSize: 8, shuffle: false, verbose: 0 });
    histories.push(history.history.loss as number[]);
    tf.dispose([x, y]);
    model.dispose();
  }
  const [ref, loss] = histories;
  const show = (l: number[]) => l.map((v) => v.toFixed(4)).join(' ');
  assert.equal(loss.length, 4);
  assert.ok(loss.every(Number.isFinite), `non-finite loss ${loss}`);
  assert.ok(loss[loss.length - 1] < 0.5 * loss[0], `loss did not decrease: ${show(loss)}`);
  for (let i = 0; i < loss.length; i++) {
    assert.ok(Math.abs(loss[i] - ref[i]) <= 1e-3 + 1e-2 * ref[i], `epoch ${i}: webgpu ${show(loss)} vs cpu ${show(ref)}`);
  }
  await tf.setBackend('webgpu');
});

test('registry resnet18 (width 0.125, 32 px) takes the same Adam steps on webgpu as on cpu', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // 32 px, batch 8: at 16 px the last stages are 1x1 and batch-norm over 4 values amplifies
  // rounding differences.
  const size = 32;
  const batch = 8;
  const xv = filled(batch * size * size * 3, 41);
  const labels = [1, 0, 1, 0, 0, 1, 0, 1];
  const runs: number[][] = [];
  for (const backend of ['cpu', 'webgpu']) {
    await tf.setBackend(backend);
    const model = createModel('resnet18', { numClasses: 2, imageSize: size, width: 0.125, seed: 7 });
    // A small rate: with large Adam steps a few rounding differences flip the signs of
    // near-zero gradients and the runs part after a few steps (stock kernels alike).
    const opt = tf.train.adam(0.001);
    const x = tf.tensor4d(xv, [batch, size, size, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 2);
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      const loss = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      )!;
      losses.push((await loss.data())[0]);
      loss.dispose();
    }
    runs.push(losses);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  }
  const [ref, got] = runs;
  const show = (l: number[]) => l.map((v) => v.toFixed(4)).join(' ');
  assert.ok(got[got.length - 1] < got[0], `loss did not decrease on webgpu: ${show(got)}`);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - ref[i]) <= 1e-3 + 1e-2 * ref[i], `step ${i}: webgpu ${show(got)} vs cpu ${show(ref)}`);
  }
  await tf.setBackend('webgpu');
});

test('nothing in the trainer calls a sync read (they throw on webgpu in Node)', () => {
  const root = new URL('..', import.meta.url).pathname;
  const files = (readdirSync(join(root, 'src/train'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/train/${f}`);
  assert.ok(files.length > 20, `found ${files.length} trainer files`);
  for (const f of files) {
    const code = readFileSync(join(root, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\.(dataSync|arraySync|bufferSync)\s*\(/, f);
  }
});

test('gpuDevicePresent: a GPU device node (NVIDIA or DRI render node) or nothing to drive', { skip: process.platform !== 'linux' }, () => {
  const dev = mkdtempSync(join(tmpdir(), 'augment-dev-'));
  try {
    assert.equal(gpuDevicePresent(dev), false);
    mkdirSync(join(dev, 'dri'));
    writeFileSync(join(dev, 'dri', 'card0'), '');
    assert.equal(gpuDevicePresent(dev), false, 'a card node alone is no render node');
    writeFileSync(join(dev, 'dri', 'renderD128'), '');
    assert.equal(gpuDevicePresent(dev), true);
    rmSync(join(dev, 'dri'), { recursive: true });
    writeFileSync(join(dev, 'nvidiactl'), '');
    assert.equal(gpuDevicePresent(dev), false);
    writeFileSync(join(dev, 'nvidia0'), '');
    assert.equal(gpuDevicePresent(dev), true);
  } finally {
    rmSync(dev, { recursive: true, force: true });
  }
});
