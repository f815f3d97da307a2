/** crop: windows by size or fraction, random or centred, optionally scaled back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crop } from '../src/ops/crop.ts';
import { createRng } from '../src/rng.ts';
import { pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };
const img = pattern(40, 30);

test('a centre crop copies the middle window exactly', () => {
  const p = crop.sample(createRng(1), crop.schema.parse({ size: [20, 10], position: 'center' }), img);
  assert.deepEqual([p.x, p.y, p.width, p.height, p.outWidth, p.outHeight], [10, 10, 20, 10, 20, 10]);
  const out = crop.apply(img, p, ctx);
  for (let y = 0; y < 10; y++) {
    assert.deepEqual(out.data.subarray(y * 60, (y + 1) * 60), img.data.subarray(((y + 10) * 40 + 10) * 3, ((y + 10) * 40 + 30) * 3));
  }
});

test('random windows stay inside the image; fractions keep the aspect; too big is cut to the image', () => {
  const rng = createRng(2);
  const o = crop.schema.parse({ fraction: [0.5, 0.9] });
  for (let i = 0; i < 50; i++) {
    const p = crop.sample(rng, o, img);
    assert.ok(p.x >= 0 && p.y >= 0 && p.x + p.width <= 40 && p.y + p.height <= 30, 'p.x >= 0 && p.y >= 0 && p.x + p.width <= 40 && p.y + p.height <= 30');
    assert.ok(Math.abs(p.width / p.height - 4 / 3) < 0.1, 'Math.abs(p.width / p.height - 4 / 3) < 0.1');
  }
  const big = crop.sample(rng, crop.schema.parse({ size: 100 }), img);
  assert.deepEqual([big.x, big.y, big.width, big.height], [0, 0, 40, 30]);
});

test('resize: true scales the window back to the input size', () => {
  const p = crop.sample(createRng(3), crop.schema.parse({ fraction: 0.5, resize: true }), img);
  assert.deepEqual([p.width, p.height, p.outWidth, p.outHeight], [20, 15, 40, 30]);
  const out = crop.apply(img, p, ctx);
  assert.deepEqual([out.width, out.height], [40, 30]);
  assert.deepEqual(crop.outputSize!(p, 40, 30), { width: 40, height: 30 });
});
