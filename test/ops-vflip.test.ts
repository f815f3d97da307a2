/** vflip: equals sharp's flip, alone and through its fused map. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vflip } from '../src/ops/vflip.ts';
import { warp } from '../src/ops/warp.ts';
import { maxDiff, pattern, sharpRaw, toSharp } from './helpers/images.ts';

test('vflip equals sharp flip exactly; its matrix gives the same through warp', async () => {
  const img = pattern(31, 12);
  const ours = vflip.apply(img, {}, { fill: [0, 0, 0] });
  assert.equal(maxDiff(ours, await sharpRaw(toSharp(img).flip())), 0);
  assert.equal(maxDiff(warp(img, [vflip.matrix!({}, 31, 12)], 'nearest', [0, 0, 0]), ours), 0);
});
