/** rotate: torchvision's RandomRotation on the same canvas; quarter turns exact (vs sharp). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRaw } from '../src/image/raw.ts';
import { rotate, rotateMatrix } from '../src/ops/rotate.ts';
import { createRng } from '../src/rng.ts';
import { maxDiff, pattern, sharpRaw, toSharp } from './helpers/images.ts';

const black = { fill: [0, 0, 0] as const };
const px = (img: { width: number; data: Uint8Array }, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

test('quarter turns equal sharp\'s rotate exactly (counter-clockwise, so rotate 90 = sharp 270)', async () => {
  const img = pattern(33, 33);
  for (const interpolation of ['nearest', 'bilinear'] as const) {
    for (const [angle, sharpAngle] of [[90, 270], [180, 180], [270, 90], [-90, 90], [360, 0]]) {
      const ours = rotate.apply(img, { angle, interpolation }, black);
      const ref = sharpAngle === 0 ? img : await sharpRaw(toSharp(img).rotate(sharpAngle));
      assert.equal(maxDiff(ours, ref), 0, `angle ${angle} ${interpolation}`);
    }
  }
});

test('angle 0 is the identity', () => {
  const img = pattern(20, 11);
  assert.deepEqual(rotate.apply(img, { angle: 0, interpolation: 'nearest' }, black).data, img.data);
});

test('positive angles turn counter-clockwise: a mark at the top goes left', () => {
  const img = createRaw(9, 9, new Uint8Array(9 * 9 * 3));
  img.data.set([255, 255, 255], (0 * 9 + 4) * 3); // top middle
  const out = rotate.apply(img, { angle: 90, interpolation: 'nearest' }, black);
  assert.deepEqual(px(out, 0, 4), [255, 255, 255]);
});

test('same canvas: corners exposed by 45° get the fill colour, the centre stays', () => {
  const img = pattern(31, 31);
  const out = rotate.apply(img, { angle: 45, interpolation: 'nearest' }, { fill: [1, 2, 3] });
  assert.deepEqual([out.width, out.height], [31, 31]);
  for (const [x, y] of [[0, 0], [30, 0], [0, 30], [30, 30]]) assert.deepEqual(px(out, x, y), [1, 2, 3]);
  assert.deepEqual(px(out, 15, 15), px(img, 15, 15));
});

test('a non-square image keeps its size; a quarter turn fills the overhang', () => {
  const img = pattern(40, 20);
  const out = rotate.apply(img, { angle: 90, interpolation: 'nearest' }, { fill: [7, 7, 7] });
  assert.deepEqual([out.width, out.height], [40, 20]);
  assert.deepEqual(px(out, 0, 10), [7, 7, 7]);
  assert.notDeepEqual(px(out, 20, 10), [7, 7, 7]);
});

test('the inverse map sends the centre to itself and is a rotation', () => {
  const m = rotateMatrix(30, 21, 21);
  assert.ok(Math.abs(m[0] * 10 + m[1] * 10 + m[2] - 10) < 1e-12, 'Math.abs(m[0] * 10 + m[1] * 10 + m[2] - 10) < 1e-12');
  assert.ok(Math.abs(m[0] * m[4] - m[1] * m[3] - 1) < 1e-12, 'Math.abs(m[0] * m[4] - m[1] * m[3] - 1) < 1e-12');
});

test('degrees range is sampled inside the range; angle is fixed', () => {
  const rng = createRng(1);
  for (let i = 0; i < 50; i++) {
    const p = rotate.sample(rng, { degrees: [10, 20], interpolation: 'nearest' }, { width: 9, height: 9 });
    assert.ok(p.angle >= 10 && p.angle < 20, 'p.angle >= 10 && p.angle < 20');
  }
  assert.equal(rotate.sample(rng, { angle: 33, interpolation: 'nearest' }, { width: 9, height: 9 }).angle, 33);
});
