/** The warp behind the geometric ops: the WebAssembly kernel against the JS loops, byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOps } from '../src/ops/compose.ts';
import { affineMatrix } from '../src/ops/affine.ts';
import { perspectiveMatrix } from '../src/ops/perspective.ts';
import { rotateMatrix } from '../src/ops/rotate.ts';
import { hasSimd, warpWasm } from '../src/ops/wasm.ts';
import { mul, resampleJs, type Mat3 } from '../src/ops/warp.ts';
import { createRng } from '../src/rng.ts';
import { getOp } from '../src/ops/registry.ts';
import type { AppliedOp } from '../src/ops/types.ts';
import { icon, maxDiff, pattern, shiftedMismatch } from './helpers/images.ts';

test('the wasm warp gives the same bytes as the JS loops: affine and projective maps, both interpolations, partial spans', { skip: !hasSimd() && 'no WebAssembly' }, () => {
  const rng = createRng('warp-parity');
  for (let t = 0; t < 120; t++) {
    const w = rng.int(1, 40), h = rng.int(1, 40);
    const img = pattern(w, h, t);
    const kind = t % 4;
    let m: Mat3;
    if (kind === 0) m = rotateMatrix(rng.uniform(-360, 360), w, h);
    else if (kind === 1) m = affineMatrix({ angle: rng.uniform(0, 180), translate: [rng.int(-5, 5), rng.int(-5, 5)], scale: rng.uniform(0.5, 2), shear: [rng.uniform(-30, 30), rng.uniform(-30, 30)], interpolation: 'nearest' }, w, h);
    else if (kind === 2) {
      const c = (x: number, y: number): [number, number] => [x + rng.int(-8, 8), y + rng.int(-8, 8)];
      m = mul(perspectiveMatrix({ corners: [c(0, 0), c(w + 5, 0), c(w + 5, h + 5), c(0, h + 5)], interpolation: 'bilinear' }, Math.max(2, w), Math.max(2, h)), rotateMatrix(rng.uniform(0, 90), w, h));
    } else m = [1, 0.1, -2, 0.05, 1, 1, -0.06 * rng.next(), 0.04 * rng.next(), 1]; // a horizon inside the canvas
    const spans = new Int32Array(2 * h);
    for (let y = 0; y < h; y++) {
      const a = rng.int(0, w), b = rng.int(0, w);
      spans[2 * y] = t % 3 === 0 ? 0 : Math.min(a, b);
      spans[2 * y + 1] = t % 3 === 0 ? w : Math.max(a, b);
    }
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
