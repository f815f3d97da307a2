/** hflip: equals sharp's flop, alone and through its fused map. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hflip } from '../src/ops/hflip.ts';
import { warp } from '../src/ops/warp.ts';
import { maxDiff, pattern, sharpRaw, toSharp } from './helpers/images.ts';

test('hflip equals sharp flop exactly; its matrix gives the same through warp', async () => {
  const img = pattern(31, 12);
  const ours = hflip.apply(img, {}, { fill: [0, 0, 0] });
  assert.equal(maxDiff(ours, await sharpRaw(toSharp(img).flop())), 0);
  assert.equal(maxDiff(warp(img, [hflip.matrix!({}, 31, 12)], 'bilinear', [0, 0, 0]), ours), 0);
});
