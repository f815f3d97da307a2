import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf } from '../src/train/tf.ts';
import { AugmentError } from '../src/errors.ts';
import { createLoss, crossEntropyPerExample, focalPerExample, meanLoss, parseFocalAlpha } from '../src/train/losses.ts';
import { useWasm } from './helpers/variants.ts';

before(async () => {
  await useWasm();
});

const logitsValues = [
  [2.0, -1.0, 0.5],
  [0.1, 0.2, 0.3],
  [-3.0, 4.0, 1.0],
  [0.0, 0.0, 0.0],
];
const labelValues = [0, 2, 0, 1];

async function values(f: (l: tf.Tensor1D, z: tf.Tensor2D) => tf.Tensor): Promise<number[]> {
  const labels = tf.tensor1d(labelValues, 'int32');
  const logits = tf.tensor2d(logitsValues);
  const out = f(labels, logits);
  const v = Array.from(await out.data());
  tf.dispose([labels, logits, out]);
  return v;
}

/** -log softmax(z)[y] computed in float64 by hand. */
function refCe(z: number[], y: number): number {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return lse - z[y];
}

test('cross-entropy equals -log softmax at the label', async () => {
  const got = await values(crossEntropyPerExample);
  got.forEach((v, i) => assert.ok(Math.abs(v - refCe(logitsValues[i], labelValues[i])) < 1e-5, `${v}`));
  const mean = await values((l, z) => meanLoss(crossEntropyPerExample, l, z));
  const ref = labelValues.reduce((a, y, i) => a + refCe(logitsValues[i], y), 0) / labelValues.length;
  assert.ok(Math.abs(mean[0] - ref) < 1e-5);
});

test('focal loss at gamma 0 (no alpha) is cross-entropy', async () => {
  const ce = await values(crossEntropyPerExample);
  const focal0 = await values(createLoss({ loss: 'focal', focalGamma: 0 }));
  focal0.forEach((v, i) => assert.ok(Math.abs(v - ce[i]) < 1e-6, `${v} vs ${ce[i]}`));
});

test('focal loss with gamma 2 and alpha matches the formula', async () => {
  const alpha = [0.25, 0.5, 2];
  const got = await values(focalPerExample(2, alpha));
  got.forEach((v, i) => {
    const ce = refCe(logitsValues[i], labelValues[i]);
    const pt = Math.exp(-ce);
    const ref = alpha[labelValues[i]] * (1 - pt) ** 2 * ce;
    assert.ok(Math.abs(v - ref) < 1e-5, `${v} vs ${ref}`);
  });
  const scalar = await values(focalPerExample(1, 0.5));
  scalar.forEach((v, i) => {
    const ce = refCe(logitsValues[i], labelValues[i]);
    assert.ok(Math.abs(v - 0.5 * (1 - Math.exp(-ce)) * ce) < 1e-5);
  });
  // (1 - p)^gamma <= 1: focusing never raises the loss of an example
  const g0 = await values(focalPerExample(0));
  const g2 = await values(focalPerExample(2));
  g2.forEach((v, i) => assert.ok(v <= g0[i] + 1e-7));
});

test('bad loss options are AugmentErrors', () => {
  assert.throws(() => createLoss({ loss: 'focal', focalGamma: -1 }), /--focal-gamma/);
  assert.throws(() => createLoss({ loss: 'hinge' as never }), /--loss/);
  assert.throws(() => parseFocalAlpha('0.25,abc'), (e: unknown) => e instanceof AugmentError && /--focal-alpha/.test(e.message));
  assert.deepEqual(parseFocalAlpha('1,2,0.5'), [1, 2, 0.5]);
  assert.equal(parseFocalAlpha('0.25'), 0.25);
  assert.equal(parseFocalAlpha(undefined), undefined);
});
