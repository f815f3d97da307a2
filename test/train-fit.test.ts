/**
 * `fit` end to end on the wasm backend: a tiny dense model learns three generated classes
 * (coloured squares / stripes, 16 px) well above chance; early stopping; resume after an
 * interruption gives the same history as an uninterrupted run; no tensors leak.
 */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AugmentError } from '../src/errors.ts';
import { ensureSplitCache, readVariant } from '../src/train/data.ts';
import { DEFAULT_TRAIN_SETTINGS, fit, type FitData, type TrainSettings } from '../src/train/fit.ts';
import { createModel } from '../src/train/models/index.ts';
import { tf } from '../src/train/tf.ts';
import { dirHandler, loadModelWeights, saveModel } from '../src/train/weights-io.ts';
import { tempDir, useWasm, writeVariant } from './helpers/variants.ts';

let root: string;
let data: FitData;

function tinyModel(seed: number): () => tf.LayersModel {
  return () =>
    tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [16, 16, 3] }),
        tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
        tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      ],
    });
}

const settings = (o: Partial<TrainSettings>): TrainSettings => ({ ...DEFAULT_TRAIN_SETTINGS, batchSize: 16, patience: 0, ...o });

before(async () => {
  await useWasm();
  root = await tempDir();
  await writeVariant(root, 'v', { train: 20, valid: 8, test: 8, size: 16 });
  const v = await readVariant(join(root, 'v'));
  const cache = join(root, 'cache');
  data = {
    train: await ensureSplitCache(v, 'train', 16, cache),
    valid: await ensureSplitCache(v, 'valid', 16, cache),
    test: await ensureSplitCache(v, 'test', 16, cache),
  };
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('a tiny model learns the generated dataset well above chance, without leaking tensors', async () => {
  const before = tf.memory().numTensors;
  const r = await fit({ createModel: tinyModel(1), data, settings: settings({ epochs: 8, lr: 3e-3 }), seed: 1 });
  assert.equal(tf.memory().numTensors, before, 'every tensor is disposed');
  assert.equal(r.history.length, 8);
  assert.ok(r.history[7].trainLoss < r.history[0].trainLoss, 'train loss falls');
  assert.ok(r.test.metrics.macroF1 > 0.7, `test macro-F1 ${r.test.metrics.macroF1} (chance ~0.33)`);
  assert.equal(r.test.metrics.n, 24);
  const best = Math.max(...r.history.map((h) => h.validMacroF1));
  assert.equal(r.history[r.bestEpoch - 1].validMacroF1, best);
  assert.ok(Math.abs(r.valid.metrics.macroF1 - best) < 1e-9, 'valid is re-evaluated with the selected weights');
});

test('the loop only reads tensors asynchronously (no dataSync/arraySync: webgpu in Node has none)', async () => {
  // Count backend.readSync calls that do not come from an async backend.read (the wasm
  // backend implements read() with readSync; webgpu's readSync throws in Node).
  const backend = tf.backend() as unknown as { readSync: (...a: unknown[]) => unknown; read: (...a: unknown[]) => unknown };
  const { readSync, read } = backend;
  let inRead = 0;
  let syncReads = 0;
  backend.read = function (this: unknown, ...a: unknown[]) {
    inRead++;
    try {
      return read.apply(this, a);
    } finally {
      inRead--;
    }
  };
  backend.readSync = function (this: unknown, ...a: unknown[]) {
    if (inRead === 0) syncReads++;
    return readSync.apply(this, a);
  };
  try {
    const dir = join(root, 'no-sync');
    const ac = new AbortController();
    const s = settings({ epochs: 2, lr: 3e-3, optimizer: 'adam', loss: 'focal', sampler: 'weighted' });
    await assert.rejects(
      fit({ createModel: tinyModel(5), data, settings: s, seed: 5, checkpointDir: dir, signal: ac.signal, onEpoch: () => ac.abort() }),
      (e: unknown) => e instanceof AugmentError && e.code === 'INTERRUPTED',
    );
    const r = await fit({ createModel: tinyModel(5), data, settings: s, seed: 5, checkpointDir: dir });
    assert.equal(r.resumedAfterEpoch, 1, 'checkpoint save and load are covered too');
  } finally {
    backend.readSync = readSync;
    backend.read = read;
  }
  assert.equal(syncReads, 0);
  // and the check itself works: a dataSync is counted
  const t = tf.scalar(1);
  backend.readSync = function (this: unknown, ...a: unknown[]) {
    syncReads++;
    return readSync.apply(this, a);
  };
  t.dataSync();
  backend.readSync = readSync;
  t.dispose();
  assert.equal(syncReads, 1);
});

test('early stopping: no improvement for `patience` epochs stops the run', async () => {
  // a learning rate too small to change any prediction: valid macro-F1 never improves after epoch 1
  const r = await fit({ createModel: tinyModel(2), data, settings: settings({ epochs: 10, lr: 1e-9, patience: 2 }), seed: 2 });
  assert.equal(r.history.length, 3);
  assert.equal(r.bestEpoch, 1);
  assert.equal(r.stoppedEarly, true);
});

test('resume after an interruption continues from the last finished epoch and matches an uninterrupted run', async () => {
  const s = settings({ epochs: 4, lr: 3e-3, optimizer: 'adam', schedule: 'step', stepSize: 2, gamma: 0.5 });
  const full = await fit({ createModel: tinyModel(3), data, settings: s, seed: 3, checkpointDir: join(root, 'full') });

  const dir = join(root, 'interrupted');
  const ac = new AbortController();
  await assert.rejects(
    fit({ createModel: tinyModel(3), data, settings: s, seed: 3, checkpointDir: dir, signal: ac.signal, onEpoch: (r) => (r.epoch === 2 ? ac.abort() : undefined) }),
    (e: unknown) => e instanceof AugmentError && e.code === 'INTERRUPTED',
  );
  assert.deepEqual((await readdir(dir)).filter((n) => /^epoch-/.test(n)), ['epoch-0002']);
  const resumed = await fit({ createModel: tinyModel(3), data, settings: s, seed: 3, checkpointDir: dir });
  assert.equal(resumed.resumedAfterEpoch, 2);
  assert.equal(resumed.history.length, 4);
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(resumed.history[i].trainLoss - full.history[i].trainLoss) < 1e-6, `epoch ${i + 1}: ${resumed.history[i].trainLoss} vs ${full.history[i].trainLoss}`);
    assert.equal(resumed.history[i].lr, full.history[i].lr);
  }
  assert.equal(resumed.test.metrics.macroF1, full.test.metrics.macroF1);
  // finished: only the selected weights stay; a third call returns the stored result
  const names = await readdir(dir);
  assert.deepEqual(names.filter((n) => /^(epoch|best)-/.test(n)), [`best-${String(resumed.bestEpoch).padStart(4, '0')}`]);
  const again = await fit({ createModel: tinyModel(3), data, settings: s, seed: 3, checkpointDir: dir });
  assert.equal(again.test.metrics.macroF1, resumed.test.metrics.macroF1);
  assert.equal(again.resumedAfterEpoch, 4);
});

test('selected weights: model.json + weights.bin that tfjs loads back (registry vgg16 with its custom dropout layer)', async () => {
  const dir = join(root, 'saved-vgg16');
  const model = createModel('vgg16', { numClasses: 3, imageSize: 32, width: 0.0625, seed: 7 });
  const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1);
  try {
    await saveModel(model, dir, { classes: ['a', 'b', 'c'] });
    assert.deepEqual((await readdir(dir)).sort(), ['model.json', 'weights.bin']);
    const loaded = await tf.loadLayersModel(dirHandler(dir));
    const predict = async (m: tf.LayersModel) => {
      const y = m.predict(x) as tf.Tensor;
      const v = Array.from(await y.data());
      y.dispose();
      return v;
    };
    const want = await predict(model);
    const got = await predict(loaded);
    assert.deepEqual(got, want);
    loaded.dispose();
    // and by position into a fresh model of the same shape
    const fresh = createModel('vgg16', { numClasses: 3, imageSize: 32, width: 0.0625, seed: 8 });
    await loadModelWeights(fresh, dir);
    assert.deepEqual(await predict(fresh), want);
    fresh.dispose();
    const other = createModel('vgg16', { numClasses: 4, imageSize: 32, width: 0.0625, seed: 8 });
    await assert.rejects(loadModelWeights(other, dir), /has shape .* the model expects/);
    other.dispose();
  } finally {
    model.dispose();
    x.dispose();
  }
});

test('sgd with momentum and focal loss train too', async () => {
  const r = await fit({
    createModel: tinyModel(4),
    data,
    settings: settings({ epochs: 6, lr: 0.05, optimizer: 'sgd', momentum: 0.9, loss: 'focal', focalGamma: 2, sampler: 'weighted' }),
    seed: 4,
  });
  assert.ok(r.test.metrics.macroF1 > 0.6, `test macro-F1 ${r.test.metrics.macroF1}`);
});
