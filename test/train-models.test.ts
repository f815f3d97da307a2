/**
 * The model registry, parametrised over `listModels()` so a new model is tested for free:
 * output shapes, determinism of the seeded initialisers, and trainable parameter counts equal to
 * PyTorch's for the same (model, width, classes, size).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../src/train/tf.ts';
import { AugmentError } from '../src/errors.ts';
import { initBackend } from '../src/train/backend/select.ts';
import { createModel, listModels, registerModel, scaleChannels } from '../src/train/models/index.ts';

before(async () => {
  await initBackend({ force: 'wasm' });
});

/**
 * `params=` printed by the anchor, run once on this machine with Debian's python3-torch:
 *   /usr/bin/python3 ../shared/bench/anchors/torch_train_throughput.py MODEL SIZE --width W --classes C --batch 2 --steps 1
 * (sum of p.numel() over model.parameters(): BatchNorm running statistics are buffers, not
 * parameters, so they are compared with our trainable weights only).
 */
const TORCH_PARAMS: Array<{ model: string; width: number; size: number; classes: number; params: number }> = [
  { model: 'vgg16', width: 1, size: 32, classes: 20, params: 33679188 },
  { model: 'vgg16', width: 0.25, size: 32, classes: 20, params: 2122980 },
  { model: 'vgg16', width: 0.5, size: 32, classes: 20, params: 8443828 },
  { model: 'vgg16', width: 0.25, size: 64, classes: 7, params: 2502871 },
  { model: 'resnet18', width: 1, size: 32, classes: 20, params: 11186772 },
  { model: 'resnet18', width: 0.25, size: 32, classes: 20, params: 704676 },
  { model: 'resnet18', width: 0.5, size: 32, classes: 20, params: 2804020 },
  { model: 'resnet50', width: 1, size: 32, classes: 20, params: 23549012 },
  { model: 'resnet50', width: 0.25, size: 32, classes: 20, params: 1491236 },
  { model: 'resnet50', width: 0.5, size: 32, classes: 20, params: 5913140 },
];

function countTrainable(m: tf.LayersModel): number {
  return m.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);
}

test('the registry holds the three bundled models', () => {
  for (const name of ['vgg16', 'resnet18', 'resnet50']) assert.ok(listModels().includes(name), name);
});

for (const row of TORCH_PARAMS) {
  test(`${row.model} width ${row.width} at ${row.size} px, ${row.classes} classes: ${row.params} parameters, as PyTorch`, () => {
    const m = createModel(row.model, { numClasses: row.classes, imageSize: row.size, width: row.width, seed: 0 });
    try {
      assert.equal(countTrainable(m), row.params);
    } finally {
      m.dispose();
    }
  });
}

for (const name of listModels()) {
  test(`${name}: logits [batch, classes] for 32 and 48 px inputs, in training and inference`, async () => {
    for (const size of [32, 48]) {
      const m = createModel(name, { numClasses: 6, imageSize: size, width: 0.125, seed: 1 });
      const x = tf.zeros([3, size, size, 3]);
      const yTrain = m.apply(x, { training: true }) as tf.Tensor;
      const yInfer = m.predict(x) as tf.Tensor;
      assert.deepEqual(yTrain.shape, [3, 6]);
      assert.deepEqual(yInfer.shape, [3, 6]);
      assert.ok((await yInfer.data()).every(Number.isFinite));
      tf.dispose([x, yTrain, yInfer]);
      m.dispose();
    }
  });

  test(`${name}: the same seed gives the same initial weights, another seed others`, async () => {
    const opts = { numClasses: 4, imageSize: 32, width: 0.125, seed: 3 };
    const flat = async (m: tf.LayersModel) => {
      const ws = m.getWeights();
      const parts = await Promise.all(ws.map((w) => w.data()));
      m.dispose();
      return parts.flatMap((p) => Array.from(p));
    };
    const a = await flat(createModel(name, opts));
    const b = await flat(createModel(name, opts));
    const c = await flat(createModel(name, { ...opts, seed: 4 }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
}

test('FusedBatchNorm in inference uses the running statistics: = tf.batchNorm with them', async () => {
  const { FusedBatchNorm } = await import('../src/train/models/layers.ts');
  const input = tf.input({ shape: [3, 3, 4] });
  const layer = new FusedBatchNorm({ relu: false });
  const m = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const [g, b, mm, mv] = [tf.tensor1d([1, 2, 0.5, -1]), tf.tensor1d([0, 1, -1, 0.5]), tf.tensor1d([0.1, -0.2, 0.3, 0]), tf.tensor1d([1, 4, 0.25, 2])];
  layer.setWeights([g, b, mm, mv]);
  const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 5);
  const got = await (m.predict(x) as tf.Tensor).data();
  const want = await tf.batchNorm(x, mm, mv, b, g, 1e-5).data();
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 1e-5 + 1e-5 * Math.abs(w), `element ${i}: ${got[i]} vs ${w}`));
  m.dispose();
});

for (const name of listModels()) {
  test(`${name}: topology + weights survive a save / load round trip (custom layers registered)`, async () => {
    const m = createModel(name, { numClasses: 3, imageSize: 32, width: 0.125, seed: 1 });
    let saved: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    assert.ok(saved);
    const back = await tf.loadLayersModel(tf.io.fromMemory(saved));
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
    const a = await (m.predict(x) as tf.Tensor).data();
    const b = await (back.predict(x) as tf.Tensor).data();
    assert.deepEqual(Array.from(b), Array.from(a));
    tf.dispose(x);
    m.dispose();
    back.dispose();
  });
}

test('an unknown model name is one line listing the valid ones', () => {
  assert.throws(
    () => createModel('vgg19', { numClasses: 3, imageSize: 32, width: 1, seed: 0 }),
    (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && /vgg19/.test(e.message) && e.message.includes(listModels().join(', ')) && !e.message.includes('\n'),
  );
});

test('bad options are BAD_ARGUMENT naming the option', () => {
  const ok = { numClasses: 3, imageSize: 32, width: 1, seed: 0 };
  const cases: Array<[Partial<typeof ok>, RegExp]> = [
    [{ width: 0 }, /--width/],
    [{ width: Number.NaN }, /--width/],
    [{ imageSize: 31.5 }, /--image-size/],
    [{ numClasses: 1 }, /numClasses/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(
      () => createModel('resnet18', { ...ok, ...patch }),
      (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && re.test(e.message),
    );
  }
  // vgg16 halves the side five times: 16 px leaves nothing to flatten.
  assert.throws(
    () => createModel('vgg16', { ...ok, imageSize: 16 }),
    (e: unknown) => e instanceof AugmentError && /--image-size/.test(e.message),
  );
});

test('channel scaling rounds like Python (half to even), never below 1', () => {
  assert.equal(scaleChannels(64, 0.25), 16);
  assert.equal(scaleChannels(4096, 0.25), 1024);
  assert.equal(scaleChannels(3, 0.5), 2); // 1.5 -> 2
  assert.equal(scaleChannels(5, 0.5), 2); // 2.5 -> 2
  assert.equal(scaleChannels(64, 0.001), 1);
});

test('registering a model makes it creatable; a duplicate name is refused', () => {
  const name = 'tiny_test_mlp';
  registerModel(name, (o) => {
    const input = tf.input({ shape: [o.imageSize, o.imageSize, 3] });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: o.numClasses }).apply(flat) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  });
  assert.ok(listModels().includes(name));
  const m = createModel(name, { numClasses: 2, imageSize: 8, width: 1, seed: 0 });
  assert.equal(countTrainable(m), 8 * 8 * 3 * 2 + 2);
  m.dispose();
  assert.throws(() => registerModel(name, () => m), /already registered/);
});
