/** resize: size rules, and each interpolation against a simple reference. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRaw } from '../src/image/raw.ts';
import { resize, targetSize } from '../src/ops/resize.ts';
import { createRng } from '../src/rng.ts';
import { maxDiff, pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };

test('size n sets the shorter side and keeps the aspect; [w, h] is exact', () => {
  assert.deepEqual(targetSize(32, 64, 48), { width: 43, height: 32 });
  assert.deepEqual(targetSize(32, 48, 64), { width: 32, height: 43 });
  assert.deepEqual(targetSize([10, 20], 64, 48), { width: 10, height: 20 });
  const p = resize.sample(createRng(1), resize.schema.parse({ size: 16 }), { width: 64, height: 32 });
  assert.deepEqual(p, { width: 32, height: 16, interpolation: 'bilinear' });
});

test('area halving averages each 2x2 block', () => {
  const img = pattern(16, 10);
  const out = resize.apply(img, { width: 8, height: 5, interpolation: 'area' }, ctx);
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 8; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (xx: number, yy: number) => img.data[(yy * 16 + xx) * 3 + c];
        const mean = (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1)) / 4;
        assert.ok(Math.abs(out.data[(y * 8 + x) * 3 + c] - mean) <= 0.5 + 1e-9, 'Math.abs(out.data[(y * 8 + x) * 3 + c] - mean) <= 0.5 + 1e-9');
      }
    }
  }
});

test('nearest doubling repeats each pixel; same size is an exact copy', () => {
  const img = pattern(5, 4);
  const out = resize.apply(img, { width: 10, height: 8, interpolation: 'nearest' }, ctx);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 10; x++) {
    assert.deepEqual([...out.data.subarray((y * 10 + x) * 3, (y * 10 + x) * 3 + 3)], [...img.data.subarray(((y >> 1) * 5 + (x >> 1)) * 3, ((y >> 1) * 5 + (x >> 1)) * 3 + 3)]);
  }
  assert.equal(maxDiff(resize.apply(img, { width: 5, height: 4, interpolation: 'bilinear' }, ctx), img), 0);
});

test('bilinear keeps a flat image flat and, when enlarging, reads at half-pixel centres', () => {
  const flat = createRaw(7, 5, new Uint8Array(7 * 5 * 3).fill(200));
  assert.ok(resize.apply(flat, { width: 3, height: 11, interpolation: 'bilinear' }, ctx).data.every((v) => v === 200), 'resize.apply(flat, { width: 3, height: 11, interpolation: \'bilinear\' }, ctx).data.every((v) => v === 200)');
  const img = pattern(20, 16);
  const ours = resize.apply(img, { width: 50, height: 24, interpolation: 'bilinear' }, ctx);
  // Reference: sample at ((x + 0.5) * scale - 0.5), clamped to the edge pixels, float64.
  const at = (x: number, y: number, c: number) => img.data[(Math.min(15, Math.max(0, y)) * 20 + Math.min(19, Math.max(0, x))) * 3 + c];
  for (let y = 0; y < 24; y++) {
    for (let x = 0; x < 50; x++) {
      const u = Math.max(0, (x + 0.5) * (20 / 50) - 0.5), v = Math.max(0, (y + 0.5) * (16 / 24) - 0.5);
      const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
      for (let c = 0; c < 3; c++) {
        const want = (at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx) * (1 - fy) + (at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx) * fy;
        assert.ok(Math.abs(ours.data[(y * 50 + x) * 3 + c] - want) <= 0.5 + 1e-4, `(${x}, ${y}, ${c}): ${ours.data[(y * 50 + x) * 3 + c]} vs ${want}`);
      }
    }
  }
});
