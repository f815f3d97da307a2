/**
 * One table of (op, options) drives the tests every op must pass: options validate, the same
 * seed samples the same params, the same params give the same bytes (also after a JSON round
 * trip, as from the manifest), the input is never modified, the output size is announced,
 * and a bad option fails at recipe load with the path of the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRaw } from '../src/image/raw.ts';
import { applyOps, sampleOps, validateOpsSpec } from '../src/ops/compose.ts';
import { getOp, listOps } from '../src/ops/registry.ts';
import { createRng } from '../src/rng.ts';
import { pattern } from './helpers/images.ts';

interface Row {
  op: string;
  options: Record<string, unknown>;
  /** A bad option, the field path it must be reported at, and words of the message. */
  bad: [options: Record<string, unknown>, path: string, message: RegExp];
}

export const TABLE: Row[] = [
  { op: 'rotate', options: { degrees: [0, 180] }, bad: [{ degrees: [90, 10] }, 'ops.degrees', /min <= max/] },
  { op: 'rotate', options: { angle: 30, interpolation: 'bilinear' }, bad: [{ angle: 30, interpolation: 'cubic' }, 'ops.interpolation', /"nearest" or "bilinear"/] },
  { op: 'affine', options: {}, bad: [{ translate: [0.5, 2] }, 'ops.translate[1]', /fraction <= 1/] },
  { op: 'affine', options: { degrees: 15, translate: [0.1, 0.2], scale: [0.8, 1.2], shear: [-5, 5, -3, 3] }, bad: [{ shear: [1, 2, 3] }, 'ops.shear', /2 or 4 numbers/] },
  { op: 'colorJitter', options: {}, bad: [{ brightness: -0.2 }, 'ops.brightness', />= 0/] },
  { op: 'colorJitter', options: { brightness: 0.3, contrast: 0.3, saturation: [0.5, 1.5], hue: 0.2 }, bad: [{ hue: 0.7 }, 'ops.hue', /-0.5 <= value <= 0.5/] },
  { op: 'gaussianBlur', options: {}, bad: [{ kernel: [4, 9] }, 'ops.kernel', /odd positive integers/] },
  { op: 'gaussianBlur', options: { kernel: 3, sigma: 1.5 }, bad: [{ sigma: [0, 1] }, 'ops.sigma', /sigma > 0/] },
  { op: 'perspective', options: {}, bad: [{ distortion: 1.5 }, 'ops.distortion', /distortion <= 1/] },
  { op: 'perspective', options: { distortion: 0.3, interpolation: 'nearest' }, bad: [{ distorsion: 0.3 }, 'ops.distorsion', /unknown option "distorsion" for perspective \(options: distortion, interpolation, p\)/] },
  { op: 'invert', options: {}, bad: [{ amount: 1 }, 'ops.amount', /unknown option "amount" for invert \(it takes no options but p\)/] },
  { op: 'hflip', options: {}, bad: [{ p: 2 }, 'ops.p', /probability between 0 and 1/] },
  { op: 'vflip', options: {}, bad: [{ axis: 'y' }, 'ops.axis', /unknown option/] },
  { op: 'resize', options: { size: [40, 20] }, bad: [{ size: [40, 0] }, 'ops.size', /positive integers/] },
  { op: 'resize', options: { size: 16, interpolation: 'area' }, bad: [{}, 'ops.size', /expected a size in pixels/] },
  { op: 'crop', options: { fraction: [0.5, 0.9], resize: true }, bad: [{ fraction: 0.5, size: 10 }, 'ops', /either size .* or fraction/] },
  { op: 'crop', options: { size: [20, 10], position: 'center' }, bad: [{ size: 10, position: 'middle' }, 'ops.position', /"random" or "center"/] },
];

const img = pattern(37, 29);
const ctx = { fill: [9, 99, 199] as const };

test('every registered op is in the table', () => {
  assert.deepEqual([...new Set(TABLE.map((r) => r.op))].sort(), listOps());
});

for (const row of TABLE) {
  const label = `${row.op} ${JSON.stringify(row.options)}`;

  test(`${label}: same seed, same params; same params, same bytes; input untouched`, () => {
    const spec = validateOpsSpec({ op: row.op, ...row.options }, 'table');
    const a = sampleOps(spec, createRng('t1'), img, 1);
    const b = sampleOps(spec, createRng('t1'), img, 1);
    assert.deepEqual(a, b);
    assert.equal(a.length, 1);
    assert.equal(a[0].op, row.op);
    const before = img.data.slice();
    const out1 = applyOps(img, a, ctx);
    const out2 = applyOps(createRaw(img.width, img.height, img.data.slice()), JSON.parse(JSON.stringify(a)), ctx);
    assert.deepEqual(img.data, before, 'input not modified');
    assert.deepEqual(out1, out2, 'params alone (after JSON) reproduce the bytes');
    assert.equal(out1.data.length, out1.width * out1.height * 3);
    const def = getOp(row.op);
    const size = def.outputSize?.(a[0].params, img.width, img.height) ?? { width: img.width, height: img.height };
    assert.deepEqual({ width: out1.width, height: out1.height }, size);
    assert.equal(typeof def.label(a[0].params), 'string');
  });

  test(`${label}: bad option ${JSON.stringify(row.bad[0])} fails at ${row.bad[1]}`, () => {
    assert.throws(
      () => validateOpsSpec({ op: row.op, ...row.bad[0] }, 'recipes/r.yaml'),
      (e: any) => {
        assert.equal(e.code, 'BAD_RECIPE');
        assert.ok(e.message.startsWith(`recipes/r.yaml: ${row.bad[1]}: `), e.message);
        assert.match(e.message, row.bad[2]);
        return true;
      },
    );
  });
}

test('random ops draw different params for different seeds', () => {
  for (const row of TABLE) {
    const spec = validateOpsSpec({ op: row.op, ...row.options }, 'table');
    const seen = new Set(Array.from({ length: 8 }, (_, i) => JSON.stringify(sampleOps(spec, createRng(`s${i}`), img, 1))));
    const random = ['degrees', 'fraction', 'brightness'].some((k) => k in row.options) || (row.op === 'perspective') || (row.op === 'affine');
    if (random) assert.ok(seen.size > 1, `${row.op} varies with the seed`);
  }
});
