/** affine: torchvision's RandomAffine (clockwise angles), translate / scale / shear about the centre. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { affine, affineMatrix } from '../src/ops/affine.ts';
import { rotate } from '../src/ops/rotate.ts';
import { createRng } from '../src/rng.ts';
import { maxDiff, pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };
const base = { angle: 0, translate: [0, 0] as [number, number], scale: 1, shear: [0, 0] as [number, number], interpolation: 'nearest' as const };

test('rotation only: affine by a = rotate by -a (torchvision\'s two conventions)', () => {
  const img = pattern(30, 26);
  for (const a of [17, 90, 133]) {
    assert.equal(maxDiff(affine.apply(img, { ...base, angle: a }, ctx), rotate.apply(img, { angle: -a, interpolation: 'nearest' }, ctx)), 0);
  }
});

test('translate shifts by whole pixels and fills the gap', () => {
  const img = pattern(20, 10);
  const out = affine.apply(img, { ...base, translate: [5, -2] }, ctx);
  for (let y = 0; y < 10; y++) {
    for (let x = 0; x < 20; x++) {
      const sx = x - 5, sy = y + 2;
      const want = sx >= 0 && sy < 10 ? [...img.data.subarray((sy * 20 + sx) * 3, (sy * 20 + sx) * 3 + 3)] : [0, 0, 0];
      assert.deepEqual([...out.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)], want, `(${x}, ${y})`);
    }
  }
});

test('scale is about the centre: the centre pixel stays, scale 2 reads half the distance', () => {
  const m = affineMatrix({ ...base, scale: 2 }, 21, 21);
  const at = (x: number, y: number) => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
  assert.deepEqual(at(10, 10), [10, 10]);
  assert.deepEqual(at(20, 10), [15, 10]);
});

test('an x-shear keeps rows: input y = output y', () => {
  const m = affineMatrix({ ...base, shear: [20, 0] }, 31, 17);
  assert.ok(Math.abs(m[3]) < 1e-12 && Math.abs(m[4] - 1) < 1e-12 && Math.abs(m[5]) < 1e-12, 'Math.abs(m[3]) < 1e-12 && Math.abs(m[4] - 1) < 1e-12 && Math.abs(m[5]) < 1e-12');
  assert.ok(Math.abs(m[1] - Math.tan((20 * Math.PI) / 180)) < 1e-12, 'Math.abs(m[1] - Math.tan((20 * Math.PI) / 180)) < 1e-12');
});

test('defaults: degrees [0, 180], no translate / scale / shear (the seed\'s RandomAffine((0, 180)))', () => {
  const o = affine.schema.parse({});
  const rng = createRng(4);
  for (let i = 0; i < 40; i++) {
    const p = affine.sample(rng, o, { width: 64, height: 64 });
    assert.ok(p.angle >= 0 && p.angle < 180, 'p.angle >= 0 && p.angle < 180');
    assert.deepEqual([p.translate, p.scale, p.shear], [[0, 0], 1, [0, 0]]);
  }
});

test('translate draws whole pixels within the fraction of the size', () => {
  const o = affine.schema.parse({ translate: [0.1, 0.25] });
  const rng = createRng(5);
  for (let i = 0; i < 40; i++) {
    const { translate: [tx, ty] } = affine.sample(rng, o, { width: 50, height: 40 });
    assert.ok(Number.isInteger(tx) && Math.abs(tx) <= 5 && Number.isInteger(ty) && Math.abs(ty) <= 10, 'Number.isInteger(tx) && Math.abs(tx) <= 5 && Number.isInteger(ty) && Math.abs(ty) <= 10');
  }
});
