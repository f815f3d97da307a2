/** colorJitter: torchvision's ColorJitter on 8-bit pixels; zero ranges are the identity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRaw } from '../src/image/raw.ts';
import { colorJitter } from '../src/ops/colorJitter.ts';
import { createRng } from '../src/rng.ts';
import { maxDiff, pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };
const none = { order: [] as any[], brightness: 1, contrast: 1, saturation: 1, hue: 0 };
const img = pattern(24, 16);

test('the default (all ranges 0) is a no-op, like ColorJitter()', () => {
  const o = colorJitter.schema.parse({});
  const p = colorJitter.sample(createRng(1), o, img);
  assert.deepEqual(p.order, []);
  assert.equal(colorJitter.label(p), '');
  assert.equal(maxDiff(colorJitter.apply(img, p, ctx), img), 0);
});

test('ranges follow torchvision: b -> [1-b, 1+b] (floored at 0), hue h -> [-h, h]', () => {
  const o = colorJitter.schema.parse({ brightness: 1.5, contrast: [0.2, 0.4], hue: 0.1 });
  assert.deepEqual(o.brightness, [0, 2.5]);
  assert.deepEqual(o.contrast, [0.2, 0.4]);
  assert.deepEqual(o.hue, [-0.1, 0.1]);
  const rng = createRng(3);
  for (let i = 0; i < 30; i++) {
    const p = colorJitter.sample(rng, o, img);
    assert.deepEqual([...p.order].sort(), ['brightness', 'contrast', 'hue']);
    assert.ok(p.contrast >= 0.2 && p.contrast < 0.4 && Math.abs(p.hue) <= 0.1 && p.saturation === 1, 'p.contrast >= 0.2 && p.contrast < 0.4 && Math.abs(p.hue) <= 0.1 && p.saturation === 1');
  }
  const orders = new Set(Array.from({ length: 30 }, (_, i) => colorJitter.sample(createRng(i), o, img).order.join()));
  assert.ok(orders.size > 1, 'the order is drawn');
});

test('brightness multiplies and clamps', () => {
  const out = colorJitter.apply(img, { ...none, order: ['brightness'], brightness: 1.5 }, ctx);
  for (let i = 0; i < img.data.length; i++) assert.equal(out.data[i], Math.min(255, Math.round(img.data[i] * 1.5)));
});

test('contrast 0 gives the mean grey everywhere; saturation 0 gives each pixel\'s grey', () => {
  const flat = colorJitter.apply(img, { ...none, order: ['contrast'], contrast: 0 }, ctx);
  assert.ok(flat.data.every((v) => v === flat.data[0]), 'flat.data.every((v) => v === flat.data[0])');
  const grey = colorJitter.apply(img, { ...none, order: ['saturation'], saturation: 0 }, ctx);
  for (let i = 0; i < grey.data.length; i += 3) {
    const g = 0.2989 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
    assert.ok(Math.abs(grey.data[i] - g) <= 0.5 + 1e-9 && grey.data[i] === grey.data[i + 1] && grey.data[i] === grey.data[i + 2], 'Math.abs(grey.data[i] - g) <= 0.5 + 1e-9 && grey.data[i] === grey.data[i + 1] && grey.data[i] === grey.data[i + 2]');
  }
});

test('hue: a third of a turn takes red to green; a full turn changes nothing; grey has no hue', () => {
  const rgb = createRaw(3, 1, Uint8Array.from([255, 0, 0, 0, 0, 255, 128, 128, 128]));
  const out = colorJitter.apply(rgb, { ...none, order: ['hue'], hue: 1 / 3 }, ctx);
  assert.deepEqual([...out.data], [0, 255, 0, 255, 0, 0, 128, 128, 128]);
  const zero = colorJitter.apply(img, { ...none, order: ['hue'], hue: 0 }, ctx);
  assert.ok(maxDiff(zero, img) <= 1, 'HSV round trip within one level');
  const half = colorJitter.apply(colorJitter.apply(img, { ...none, order: ['hue'], hue: 0.5 }, ctx), { ...none, order: ['hue'], hue: 0.5 }, ctx);
  assert.ok(maxDiff(half, img) <= 2, 'maxDiff(half, img) <= 2');
});

test('adjustments run in the recorded order', () => {
  const a = colorJitter.apply(img, { ...none, order: ['brightness', 'contrast'], brightness: 1.8, contrast: 0.3 }, ctx);
  const b = colorJitter.apply(img, { ...none, order: ['contrast', 'brightness'], brightness: 1.8, contrast: 0.3 }, ctx);
  assert.ok(maxDiff(a, b) > 0, 'maxDiff(a, b) > 0');
});
