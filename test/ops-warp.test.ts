/** The warp behind the geometric ops: the WebAssembly kernel against the JS loops, byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOps } from '../src/ops/compose.ts';
import { hasSimd, warpWasm } from '../src/ops/wasm.ts';
import { resampleJs } from '../src/ops/warp.ts';
import { createRng } from '../src/rng.ts';
import { getOp } from '../src/ops/registry.ts';
import type { AppliedOp } from '../src/ops/types.ts';
import { icon, maxDiff, pattern, shiftedMismatch } from './helpers/images.ts';
import { warpCases } from './helpers/warp-cases.ts';

test('the wasm warp gives the same bytes as the JS loops: affine and projective maps, both interpolations, partial spans', { skip: !hasSimd() && 'no WebAssembly' }, () => {
  const rng = createRng('warp-parity');
  for (let t = 0; t < 120; t++) {
    const w = rng.int(1, 40), h = rng.int(1, 40);
    const img = pattern(w, h, t);
    const kind = t % 4;
    const { m, spans } = warpCases(img, t, rng);
    const fill = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)] as const;
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      const js = resampleJs(img, m, spans, interpolation, fill);
      const wasm = warpWasm(img, m, spans, interpolation === 'bilinear', fill)!;
      assert.equal(maxDiff(js, wasm), 0, `case ${t} (${w}x${h}, kind ${kind}, ${interpolation})`);
    }
  }
});

test('a composed identity on a non-square canvas still loses what the intermediate step lost', () => {
  const img = pattern(40, 20);
  const out = applyOps(img, [
    { op: 'rotate', params: { angle: 90, interpolation: 'nearest' } },
    { op: 'rotate', params: { angle: -90, interpolation: 'nearest' } },
  ], { fill: [1, 2, 3] });
  assert.deepEqual([...out.data.subarray(0, 3)], [1, 2, 3], 'the left end was outside the turned canvas');
  assert.deepEqual([...out.data.subarray((10 * 40 + 20) * 3, (10 * 40 + 20) * 3 + 3)], [...img.data.subarray((10 * 40 + 20) * 3, (10 * 40 + 20) * 3 + 3)], 'the middle is kept');
});

test('a perspective inside a fused run (projective intermediate canvas) ~ one op at a time', async () => {
  const img = await icon(64);
  const applied: AppliedOp[] = [
    { op: 'rotate', params: { angle: 30, interpolation: 'bilinear' } },
    { op: 'perspective', params: { corners: [[10, 4], [60, 12], [55, 58], [3, 50]], interpolation: 'bilinear' } },
    { op: 'hflip', params: {} },
  ];
  const ctx = { fill: [0, 0, 0] as const };
  const fused = applyOps(img, applied, ctx);
  const seq = applied.reduce((im, a) => getOp(a.op).apply(im, a.params, ctx), img);
  const off = shiftedMismatch(fused, seq, 1, 128);
  assert.ok(off < 0.01, `${(off * 100).toFixed(2)}% unmatched`);
  assert.ok(maxDiff(fused, seq) > 0, 'fused, not sequential');
});
