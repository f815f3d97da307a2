/**
 * augment's WebGPU kernels against the cpu backend, on whatever adapter this machine has (in
 * CI: Mesa lavapipe). Each kernel is checked with every tile it can pick, on shapes that
 * cover strides, same/valid/explicit padding, 1x1 filters, sizes that are not multiples of
 * the tiles, and the split reduction. Skips with the reason when there is no adapter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/train/tf.ts';
import { forceBackpropFilterTile, planBackpropFilter, TILES, type TileConfig } from '../src/train/kernels/webgpu/conv2d_backprop_filter.ts';
import { FORWARD_TILES, forceForwardTile, planForward, type ForwardTile } from '../src/train/kernels/webgpu/conv2d_forward.ts';
import { filled, maxAbs, maxAbsDiff, skipReason } from './webgpu-helpers.ts';

test('split plan covers every row of the reduction', () => {
  for (const [k, n, m] of [
    [27, 16, 8192],
    [1152, 128, 128],
    [9, 1, 17],
    [144, 40, 1],
    [4608, 512, 50000],
  ]) {
    const { splits, rowsPerSplit } = planBackpropFilter(k, n, m);
    assert.ok(splits >= 1 && rowsPerSplit >= 1, `${k},${n},${m}`);
    assert.ok(splits * rowsPerSplit >= m, `rows ${splits}x${rowsPerSplit} < ${m}`);
    assert.ok((splits - 1) * rowsPerSplit < m, `an empty split for ${k},${n},${m}`);
  }
});

test('forward split plan covers every k of the reduction', () => {
  for (const [m, n, k] of [
    [32, 80, 576],
    [8192, 16, 27],
    [128, 128, 4608],
    [1, 1, 1],
  ]) {
    const { splits, kPerSplit } = planForward(m, n, k, FORWARD_TILES.small);
    assert.ok(splits >= 1 && kPerSplit >= 1 && kPerSplit % FORWARD_TILES.small.rows === 0, `${m},${n},${k}`);
    assert.ok(splits * kPerSplit >= k, `k ${splits}x${kPerSplit} < ${k}`);
    assert.ok((splits - 1) * kPerSplit < k, `an empty split for ${m},${n},${k}`);
  }
});

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const CASES: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: Pad }> = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' },
  { x: [2, 9, 7, 4], f: [3, 3, 4, 6], s: 2, pad: 'valid' },
  { x: [3, 16, 16, 8], f: [3, 3, 8, 40], s: [2, 1], pad: 'same' },
  { x: [1, 10, 10, 2], f: [1, 1, 2, 33], s: 1, pad: 'valid' },
  { x: [2, 8, 8, 3], f: [5, 3, 3, 4], s: 1, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  // Enough rows that the reduction is split across workgroups and summed in a second pass.
  { x: [4, 32, 32, 16], f: [3, 3, 16, 16], s: 1, pad: 'same' },
  { x: [2, 16, 16, 12], f: [3, 3, 12, 70], s: 2, pad: 'same' },
  { x: [2, 8, 8, 30], f: [3, 3, 30, 72], s: 1, pad: 'same' },
];

async function backpropFilter(c: (typeof CASES)[number]): Promise<Float32Array> {
  const x = tf.tensor4d(filled(c.x.reduce((a, b) => a * b), 11), c.x);
  const yShape = tf.conv2d(x, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad).shape;
  const dy = tf.tensor(filled(yShape.reduce((a, b) => a * b), 12), yShape);
  const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: c.s,
    pad: c.pad,
    dataFormat: 'NHWC',
    filterShape: c.f,
  }) as tf.Tensor;
  assert.deepEqual(dw.shape, c.f);
  const values = (await dw.data()) as Float32Array;
  tf.dispose([x, dy, dw]);
  return values;
}

test('Conv2DBackpropFilter on webgpu matches the cpu backend, every tile (max error <= 1e-4 x max |dW|)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const tiles: Array<[string, TileConfig | undefined]> = [['auto', undefined], ...Object.entries(TILES)];
  try {
    for (const c of CASES) {
      await tf.setBackend('cpu');
      const ref = await backpropFilter(c);
      const scale = maxAbs(ref);
      assert.ok(scale > 0.1, 'test data too small to compare');
      await tf.setBackend('webgpu');
      for (const [name, tile] of tiles) {
        forceBackpropFilterTile(tile);
        const err = maxAbsDiff(await backpropFilter(c), ref);
        assert.ok(err <= 1e-4 * scale, `${JSON.stringify(c)}, tile ${name}: max error ${err} vs max |dW| ${scale}`);
      }
    }
  } finally {
    forceBackpropFilterTile(undefined);
    await tf.setBackend('webgpu');
  }
});

type Activation = 'linear' | 'relu' | 'leakyrelu';
const FORWARD_CASES: Array<(typeof CASES)[number] & { bias: boolean; act: Activation }> = [
  ...CASES.map((c, i) => ({ ...c, bias: i % 2 === 1, act: (i % 3 === 0 ? 'linear' : 'relu') as Activation })),
  // k split over workgroups, partial sums added with bias and relu in a second pass.
  { x: [2, 4, 4, 64], f: [3, 3, 64, 80], s: 1, pad: 'same', bias: true, act: 'relu' },
  // Not handled by augment's kernel (leaky relu): must fall back to the stock one.
  { x: [2, 6, 6, 4], f: [3, 3, 4, 8], s: 1, pad: 'same', bias: true, act: 'leakyrelu' },
];

async function forward(c: (typeof FORWARD_CASES)[number], fused: boolean): Promise<Float32Array> {
  const x = tf.tensor4d(filled(c.x.reduce((a, b) => a * b), 13), c.x);
  const w = tf.tensor4d(filled(c.f.reduce((a, b) => a * b), 14), c.f);
  const bias = c.bias ? tf.tensor1d(filled(c.f[3], 15)) : undefined;
  const y = fused
    ? tf.fused.conv2d({ x, filter: w, strides: c.s, pad: c.pad, bias, activation: c.act, leakyreluAlpha: 0.1 })
    : tf.conv2d(x, w, c.s, c.pad);
  const values = (await y.data()) as Float32Array;
  tf.dispose([x, w, y, ...(bias ? [bias] : [])]);
  return values;
}

test('Conv2D and FusedConv2D (bias, relu) on webgpu match the cpu backend, every tile (max error <= 1e-4 x max |y|)', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const tiles: Array<[string, ForwardTile | undefined]> = [['auto', undefined], ...Object.entries(FORWARD_TILES)];
  try {
    for (const c of FORWARD_CASES) {
      for (const fused of [false, true]) {
        await tf.setBackend('cpu');
        const ref = await forward(c, fused);
        const scale = maxAbs(ref);
        assert.ok(scale > 0.1, 'test data too small to compare');
        await tf.setBackend('webgpu');
        for (const [name, tile] of tiles) {
          forceForwardTile(tile);
          const err = maxAbsDiff(await forward(c, fused), ref);
          assert.ok(err <= 1e-4 * scale, `${JSON.stringify(c)} fused=${fused}, tile ${name}: max error ${err} vs max |y| ${scale}`);
        }
      }
    }
  } finally {
    forceForwardTile(undefined);
    await tf.setBackend('webgpu');
  }
});
