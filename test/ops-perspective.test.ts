/** perspective: our own homography warp; corners sampled as torchvision's RandomPerspective. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageCorners, perspective, perspectiveMatrix } from '../src/ops/perspective.ts';
import { apply, homography } from '../src/ops/warp.ts';
import { createRng } from '../src/rng.ts';
import { maxDiff, pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };

test('zero distortion samples the image corners and is the identity, for both interpolations', () => {
  const img = pattern(23, 17);
  for (const interpolation of ['bilinear', 'nearest'] as const) {
    const p = perspective.sample(createRng(1), { distortion: 0, interpolation }, img);
    assert.deepEqual(p.corners, imageCorners(23, 17));
    assert.equal(maxDiff(perspective.apply(img, p, ctx), img), 0);
  }
});

test('the homography maps each moved corner back to its image corner', () => {
  const corners: [number, number][] = [[5, 3], [58, 7], [60, 50], [2, 61]];
  const m = perspectiveMatrix({ corners, interpolation: 'bilinear' }, 64, 64);
  imageCorners(64, 64).forEach(([x, y], i) => {
    const [u, v] = apply(m, corners[i][0], corners[i][1]);
    assert.ok(Math.abs(u - x) < 1e-9 && Math.abs(v - y) < 1e-9, `corner ${i}: ${u}, ${v}`);
  });
});

test('known corner mapping: output pixels at the moved corners read the input corners; outside is fill', () => {
  const img = pattern(32, 32);
  const corners: [number, number][] = [[4, 2], [30, 5], [27, 29], [3, 31]];
  const out = perspective.apply(img, { corners, interpolation: 'nearest' }, { fill: [1, 2, 3] });
  const px = (im: typeof img, x: number, y: number) => [...im.data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
  assert.deepEqual(px(out, 4, 2), px(img, 0, 0));
  assert.deepEqual(px(out, 30, 5), px(img, 31, 0));
  assert.deepEqual(px(out, 27, 29), px(img, 31, 31));
  assert.deepEqual(px(out, 3, 31), px(img, 0, 31));
  assert.deepEqual(px(out, 0, 0), [1, 2, 3]);
  assert.deepEqual(px(out, 31, 31), [1, 2, 3]);
});

test('homography solves a general quad (no three points collinear)', () => {
  const from: [number, number][] = [[0, 0], [10, 1], [12, 9], [-1, 8]];
  const to: [number, number][] = [[3, 4], [9, 2], [11, 11], [1, 7]];
  const m = homography(from, to);
  from.forEach(([x, y], i) => {
    const [u, v] = apply(m, x, y);
    assert.ok(Math.abs(u - to[i][0]) < 1e-9 && Math.abs(v - to[i][1]) < 1e-9, 'Math.abs(u - to[i][0]) < 1e-9 && Math.abs(v - to[i][1]) < 1e-9');
  });
  assert.throws(() => homography([[0, 0], [1, 1], [2, 2], [3, 3]], to), /degenerate/);
});

test('corner offsets follow torchvision: whole pixels within distortion x half the side', () => {
  const rng = createRng(9);
  const w = 64, h = 48, dx = Math.floor(0.5 * 32), dy = Math.floor(0.5 * 24);
  for (let i = 0; i < 100; i++) {
    const [tl, tr, br, bl] = perspective.sample(rng, { distortion: 0.5, interpolation: 'bilinear' }, { width: w, height: h }).corners;
    for (const c of [tl, tr, br, bl]) assert.ok(c.every(Number.isInteger), 'whole pixels');
    assert.ok(tl[0] <= dx && tl[1] <= dy && bl[0] <= dx && tr[1] <= dy, 'tl[0] <= dx && tl[1] <= dy && bl[0] <= dx && tr[1] <= dy');
    assert.ok(tr[0] >= w - dx - 1 && br[0] >= w - dx - 1 && br[1] >= h - dy - 1 && bl[1] >= h - dy - 1, 'tr[0] >= w - dx - 1 && br[0] >= w - dx - 1 && br[1] >= h - dy - 1 && bl[1] >= h - dy - 1');
    assert.ok(tr[0] <= w - 1 && br[1] <= h - 1, 'tr[0] <= w - 1 && br[1] <= h - 1');
  }
});

test('a 1-pixel-wide image survives (no quad to solve)', () => {
  const img = pattern(1, 5);
  const p = perspective.sample(createRng(2), { distortion: 0.5, interpolation: 'bilinear' }, img);
  assert.equal(maxDiff(perspective.apply(img, p, ctx), img), 0);
});
