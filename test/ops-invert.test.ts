/** invert: 255 - v, exact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRaw } from '../src/image/raw.ts';
import { invert } from '../src/ops/invert.ts';
import { pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };

test('every channel value becomes 255 - v, and twice is the identity', () => {
  for (const img of [pattern(13, 7), pattern(1, 1), pattern(64, 64)]) {
    const out = invert.apply(img, {}, ctx);
    for (let i = 0; i < img.data.length; i++) assert.equal(out.data[i], 255 - img.data[i]);
    assert.deepEqual(invert.apply(out, {}, ctx).data, img.data);
  }
});

test('works on a view that does not start on a 4-byte boundary', () => {
  const buf = new Uint8Array(1 + 5 * 3);
  buf.set([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 255]);
  const img = createRaw(5, 1, buf.subarray(1));
  assert.deepEqual([...invert.apply(img, {}, ctx).data], [...img.data].map((v) => 255 - v));
});
