/**
 * Recipe `ops:` compositions: validation with field paths, sampling rules (p, oneOf, someOf,
 * fixed), and fused geometric application against one-op-at-a-time application.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { applyOps, describeOps, fixedCount, opsSpecSchema, sampleOps, validateOpsSpec, type OpsSpec } from '../src/ops/compose.ts';
import { getOp, listOps } from '../src/ops/registry.ts';
import type { AppliedOp } from '../src/ops/types.ts';
import { createRng } from '../src/rng.ts';
import { icon, maxDiff, pattern, shiftedMismatch } from './helpers/images.ts';

const size = { width: 64, height: 64 };
const ctx = { fill: [0, 0, 0] as const };
const names = (a: AppliedOp[]) => a.map((o) => o.op);
const draws = (spec: OpsSpec, n: number, copy = 1) => Array.from({ length: n }, (_, i) => sampleOps(spec, createRng(`d${i}`), size, copy));
const badRecipe = (where: RegExp) => (e: any) => {
  assert.equal(e.code, 'BAD_RECIPE');
  assert.match(e.message, where);
  return true;
};

/** The seed's six-transform chain (NOTES.md). */
const SEED = {
  sequence: [
    { op: 'colorJitter' },
    { op: 'gaussianBlur', kernel: [5, 9] },
    { op: 'perspective', p: 0.5 },
    { op: 'rotate', degrees: [0, 180] },
    { op: 'affine', degrees: [0, 180] },
    { op: 'invert', p: 0.5 },
  ],
};

test('the seed chain validates; options get their defaults', () => {
  const spec = validateOpsSpec(SEED, 'r.yaml') as any;
  assert.equal(spec.sequence.length, 6);
  assert.deepEqual(spec.sequence[1], { op: 'gaussianBlur', p: 1, options: { kernel: [5, 9], sigma: [0.1, 2.0] } });
  assert.equal(spec.sequence[2].p, 0.5);
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec, 'plain JSON');
});

test('a bad field is reported at its path, all issues at once', () => {
  assert.throws(
    () => validateOpsSpec({ sequence: [{ op: 'rotate', degrees: 10 }, { op: 'invert' }, { op: 'gaussianBlur', sigma: 'big' }, { op: 'rotat' }] }, 'recipes/x.yaml'),
    badRecipe(/^recipes\/x\.yaml: ops\.sequence\[2\]\.sigma: expected a number or a \[min, max\] pair; ops\.sequence\[3\]\.op: unknown op "rotat" \(did you mean "rotate"\?\); valid ops: affine, colorJitter/),
  );
});

test('unknown op names list the valid ones', () => {
  assert.throws(() => validateOpsSpec({ op: 'sharpen' }, 'r'), badRecipe(new RegExp(`unknown op "sharpen"; valid ops: ${listOps().join(', ')}$`)));
  assert.throws(() => getOp('sharpen'), badRecipe(/valid ops: affine/));
});

test('composition shapes are checked', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ oneOf: [] }, /ops\.oneOf: expected a non-empty list of ops/],
    [{ oneOf: ['invert', 'hflip'], weights: [1] }, /ops\.weights: expected 2 weights >= 0/],
    [{ oneOf: ['invert', 'hflip'], weights: [0, 0] }, /ops\.weights: expected at least one weight > 0/],
    [{ someOf: ['invert', 'hflip'], n: 3 }, /ops\.n: expected 0 <= min <= max <= 2/],
    [{ someOf: ['invert', 'hflip'] }, /ops\.n: expected n: a whole number or \[min, max\]/],
    [{ sequence: ['invert'], p: 1.5 }, /ops\.p: expected a probability between 0 and 1, received 1\.5/],
    [{ sequence: ['invert'], extra: 1 }, /ops\.extra: unknown key "extra" in a sequence node/],
    [{ sequence: [{ fixed: ['invert'] }] }, /ops\.sequence\[0\]\.fixed: fixed is only allowed as the whole ops value/],
    [{ op: 'invert', sequence: [] }, /ops: expected exactly one of op, sequence, oneOf, someOf, fixed; found op and sequence/],
    [{ sequence: [{ oneOf: [{ someOf: [{ op: 'blur' }], n: 1 }] }] }, /ops\.sequence\[0\]\.oneOf\[0\]\.someOf\[0\]\.op: unknown op "blur"/],
    [42, /ops: expected an op/],
  ];
  for (const [value, re] of cases) assert.throws(() => validateOpsSpec(value, 'r'), badRecipe(re), JSON.stringify(value));
});

test('embedded in a recipe schema, zod issues carry the full path', () => {
  const recipe = z.object({ ops: opsSpecSchema() });
  const r = recipe.safeParse({ ops: { sequence: [{ op: 'invert' }, { op: 'invert' }, { op: 'gaussianBlur', sigma: -1 }] } });
  assert.ok(!r.success, '!r.success');
  assert.deepEqual(r.error.issues[0].path, ['ops', 'sequence', 2, 'sigma']);
  assert.match(r.error.issues[0].message, /expected 0 <= value, received -1/);
});

test('shorthands: a bare list is a sequence, a bare name is an op', () => {
  const spec = validateOpsSpec(['invert', { op: 'hflip' }], 'r');
  assert.deepEqual(names(sampleOps(spec, createRng(1), size, 1)), ['invert', 'hflip']);
});

test('p = 0 never applies, p = 1 always, p = 0.5 about half the time', () => {
  assert.ok(draws(validateOpsSpec({ op: 'invert', p: 0 }, 'r'), 200).every((a) => a.length === 0), 'draws(validateOpsSpec({ op: \'invert\', p: 0 }, \'r\'), 200).every((a) => a.length === 0)');
  assert.ok(draws(validateOpsSpec({ op: 'invert', p: 1 }, 'r'), 200).every((a) => a.length === 1), 'draws(validateOpsSpec({ op: \'invert\', p: 1 }, \'r\'), 200).every((a) => a.length === 1)');
  const half = draws(validateOpsSpec({ op: 'invert', p: 0.5 }, 'r'), 400).filter((a) => a.length === 1).length;
  assert.ok(half > 150 && half < 250, `${half} of 400`);
  assert.ok(draws(validateOpsSpec({ sequence: ['invert', 'hflip'], p: 0 }, 'r'), 50).every((a) => a.length === 0), 'p on a composition');
});

test('oneOf applies exactly one child, by weight', () => {
  const spec = validateOpsSpec({ oneOf: ['invert', 'hflip', 'vflip'] }, 'r');
  const all = draws(spec, 300);
  assert.ok(all.every((a) => a.length === 1), 'all.every((a) => a.length === 1)');
  assert.equal(new Set(all.map((a) => a[0].op)).size, 3);
  const weighted = draws(validateOpsSpec({ oneOf: ['invert', 'hflip', 'vflip'], weights: [0, 3, 1] }, 'r'), 400).map((a) => a[0].op);
  assert.ok(!weighted.includes('invert'), 'weight 0 is never chosen');
  const h = weighted.filter((o) => o === 'hflip').length;
  assert.ok(h > 250 && h < 350, `${h} of 400 for weight 3/4`);
});

test('someOf picks n distinct children and keeps their listed order; [min, max] ranges', () => {
  const order = ['invert', 'hflip', 'vflip', 'gaussianBlur'];
  for (const a of draws(validateOpsSpec({ someOf: order, n: 2 }, 'r'), 200)) {
    assert.equal(a.length, 2);
    assert.notEqual(a[0].op, a[1].op);
    assert.ok(order.indexOf(a[0].op) < order.indexOf(a[1].op), 'order.indexOf(a[0].op) < order.indexOf(a[1].op)');
  }
  const counts = new Set(draws(validateOpsSpec({ someOf: order, n: [1, 3] }, 'r'), 200).map((a) => a.length));
  assert.deepEqual([...counts].sort(), [1, 2, 3]);
});

test('fixed: copy i applies entry i-1, copy 0 is the original, past the end is a clear error', () => {
  const spec = validateOpsSpec({ fixed: [{ op: 'affine', degrees: [0, 180] }, { op: 'rotate', angle: 90 }, { op: 'rotate', angle: 30 }] }, 'r');
  assert.equal(fixedCount(spec), 3);
  assert.equal(fixedCount(validateOpsSpec(SEED, 'r')), undefined);
  assert.deepEqual(sampleOps(spec, createRng(1), size, 0), []);
  assert.equal(sampleOps(spec, createRng(1), size, 1)[0].op, 'affine');
  assert.deepEqual(sampleOps(spec, createRng(1), size, 2), [{ op: 'rotate', params: { angle: 90, interpolation: 'nearest' } }]);
  assert.equal(sampleOps(spec, createRng(1), size, 3)[0].params.angle, 30);
  assert.throws(() => sampleOps(spec, createRng(1), size, 4), (e: any) => e.code === 'BAD_ARGUMENT' && /copy 4 has no entry in the fixed ops list \(3 entries: copies 1-3\)/.test(e.message));
  assert.throws(() => sampleOps(spec, createRng(1), size, -1), (e: any) => e.code === 'BAD_ARGUMENT');
});

test('sampling is deterministic, JSON, and tracks size changes (perspective after resize)', () => {
  const spec = validateOpsSpec([{ op: 'resize', size: [20, 10] }, { op: 'perspective', distortion: 1 }], 'r');
  const a = sampleOps(spec, createRng('x'), size, 1);
  assert.deepEqual(a, sampleOps(spec, createRng('x'), size, 1));
  assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
  const corners = a[1].params.corners as number[][];
  assert.ok(corners.every(([x, y]) => x <= 19 && y <= 9), JSON.stringify(corners));
  const out = applyOps(pattern(64, 64), a, ctx);
  assert.deepEqual([out.width, out.height], [20, 10]);
});

test('applying nothing returns the input; describeOps labels what was applied', () => {
  const img = pattern(8, 8);
  assert.equal(applyOps(img, [], ctx), img);
  assert.equal(describeOps([]), '');
  const applied: AppliedOp[] = [
    { op: 'colorJitter', params: { order: [], brightness: 1, contrast: 1, saturation: 1, hue: 0 } },
    { op: 'gaussianBlur', params: { kernel: [5, 9], sigma: 1.26 } },
    { op: 'perspective', params: { corners: [[0, 0], [7, 0], [7, 7], [0, 7]], interpolation: 'bilinear' } },
    { op: 'rotate', params: { angle: 127.4, interpolation: 'nearest' } },
    { op: 'invert', params: {} },
  ];
  assert.equal(describeOps(applied), 'blur \u03c31.3 \u00b7 persp \u00b7 rot 127\u00b0 \u00b7 invert');
});

/** Apply one op at a time, each through its own apply (no fusion). */
const sequential = (img: ReturnType<typeof pattern>, applied: AppliedOp[]) => applied.reduce((im, a) => getOp(a.op).apply(im, a.params, ctx), img);

test('fused quarter turns and flips equal sequential application exactly', () => {
  const img = pattern(32, 32);
  const applied: AppliedOp[] = [
    { op: 'rotate', params: { angle: 90, interpolation: 'nearest' } },
    { op: 'hflip', params: {} },
    { op: 'affine', params: { angle: 180, translate: [0, 0], scale: 1, shear: [0, 0], interpolation: 'nearest' } },
    { op: 'vflip', params: {} },
    { op: 'rotate', params: { angle: -90, interpolation: 'bilinear' } },
  ];
  assert.equal(maxDiff(applyOps(img, applied, ctx), sequential(img, applied)), 0);
});

test('fusion honours intermediate canvases: +45 then -45 keeps the corners filled', () => {
  const img = pattern(41, 41);
  const applied: AppliedOp[] = [
    { op: 'rotate', params: { angle: 45, interpolation: 'nearest' } },
    { op: 'rotate', params: { angle: -45, interpolation: 'nearest' } },
  ];
  const fused = applyOps(img, applied, ctx);
  const seq = sequential(img, applied);
  assert.deepEqual([...fused.data.subarray(0, 3)], [0, 0, 0], 'corner lost at the first step stays fill');
  // The composed map is the identity: wherever the fused result is not fill it is the input,
  // and it is fill exactly where one-at-a-time application lost the pixel (bar the rim).
  let filled = 0, disagree = 0;
  for (let i = 0; i < fused.data.length; i += 3) {
    const isFill = fused.data[i] === 0 && fused.data[i + 1] === 0 && fused.data[i + 2] === 0;
    if (isFill) filled++;
    else assert.deepEqual([...fused.data.subarray(i, i + 3)], [...img.data.subarray(i, i + 3)], `pixel ${i / 3}`);
    if (isFill !== (seq.data[i] === 0 && seq.data[i + 1] === 0 && seq.data[i + 2] === 0)) disagree++;
  }
  assert.ok(filled > 41 * 41 * 0.1, `${filled} fill pixels`);
  assert.ok(disagree < 41 * 4, `${disagree} pixels disagree about fill`);
});

test('fused seed chain ~ one op at a time (resampling error only), over many draws', async () => {
  const spec = validateOpsSpec(SEED, 'r');
  const img = await icon(64);
  let fusedSome = false;
  for (let i = 0; i < 40; i++) {
    const applied = sampleOps(spec, createRng(`chain-${i}`), img, 1);
    const fused = applyOps(img, applied, ctx);
    const seq = sequential(img, applied);
    // One-at-a-time resamples two or three times (nearest for the rotations), fused once, so
    // edges move by up to a pixel and anti-aliased edge pixels differ. Tolerance: every value
    // is matched within 128 levels by some pixel at most one pixel away, bar 1% (canvas rims).
    const off = shiftedMismatch(fused, seq, 1, 128);
    assert.ok(off < 0.01, `draw ${i}: ${(off * 100).toFixed(2)}% unmatched (${describeOps(applied)})`);
    fusedSome ||= maxDiff(fused, seq) > 0;
  }
  assert.ok(fusedSome, 'fusion actually happened (results differ slightly)');
});
