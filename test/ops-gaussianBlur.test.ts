/** gaussianBlur: separable, reflect-padded; checked against a direct 2-D convolution. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRaw, type RawImage } from '../src/image/raw.ts';
import { blurJs, gaussianBlur, gaussianKernel, reflect } from '../src/ops/gaussianBlur.ts';
import { hasSimd } from '../src/ops/wasm.ts';
import { createRng } from '../src/rng.ts';
import { icon, maxDiff, pattern } from './helpers/images.ts';

const ctx = { fill: [0, 0, 0] as const };

/** Reference: the full 2-D kernel (outer product), reflect padding, float64, rounded once. */
function convolve2d(img: RawImage, kw: number, kh: number, sigma: number): RawImage {
  const kx = gaussianKernel(kw, sigma), ky = gaussianKernel(kh, sigma);
  const { width: w, height: h } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < kh; j++) {
          for (let i = 0; i < kw; i++) {
            const sx = reflect(x + i - (kw >> 1), w), sy = reflect(y + j - (kh >> 1), h);
            s += img.data[(sy * w + sx) * 3 + c] * kx[i] * ky[j];
          }
        }
        out[(y * w + x) * 3 + c] = Math.round(s);
      }
    }
  }
  return createRaw(w, h, out);
}

test('equals a direct 2-D convolution within one level (5 wide x 9 high, several sigmas)', async () => {
  for (const img of [pattern(29, 23), await icon(32)]) {
    for (const sigma of [0.1, 0.7, 1.3, 2.0]) {
      const ours = gaussianBlur.apply(img, { kernel: [5, 9], sigma }, ctx);
      assert.ok(maxDiff(ours, convolve2d(img, 5, 9, sigma)) <= 1, `sigma ${sigma}`);
    }
  }
});

test('torchvision\'s kernel: size 3, sigma 1', () => {
  const k = gaussianKernel(3, 1);
  assert.deepEqual([...k].map((v) => v.toFixed(8)), ['0.27406862', '0.45186276', '0.27406862']);
});

test('reflect padding mirrors without repeating the edge, also for kernels wider than the image', () => {
  assert.deepEqual([-3, -2, -1, 0, 1, 2, 3, 4, 5].map((i) => reflect(i, 4)), [3, 2, 1, 0, 1, 2, 3, 2, 1]);
  assert.deepEqual([-1, 0, 1].map((i) => reflect(i, 1)), [0, 0, 0]);
  const tiny = pattern(3, 2);
  assert.ok(maxDiff(gaussianBlur.apply(tiny, { kernel: [5, 9], sigma: 1.5 }, ctx), convolve2d(tiny, 5, 9, 1.5)) <= 1, 'maxDiff(gaussianBlur.apply(tiny, { kernel: [5, 9], sigma: 1.5 }, ctx), convolve2d(tiny, 5, 9, 1.5)) <= 1');
});

test('a flat image stays flat; a tiny sigma changes nothing', () => {
  const flat = createRaw(16, 16, new Uint8Array(16 * 16 * 3).fill(77));
  assert.ok(gaussianBlur.apply(flat, { kernel: [5, 9], sigma: 2 }, ctx).data.every((v) => v === 77), 'gaussianBlur.apply(flat, { kernel: [5, 9], sigma: 2 }, ctx).data.every((v) => v === 77)');
  const img = pattern(16, 16);
  assert.equal(maxDiff(gaussianBlur.apply(img, { kernel: [5, 9], sigma: 0.1 }, ctx), img), 0);
});

test('defaults are the seed\'s: kernel 5 wide x 9 high, sigma drawn from [0.1, 2.0]', () => {
  const o = gaussianBlur.schema.parse({});
  assert.deepEqual(o, { kernel: [5, 9], sigma: [0.1, 2.0] });
  const rng = createRng(8);
  for (let i = 0; i < 30; i++) {
    const p = gaussianBlur.sample(rng, o, { width: 8, height: 8 });
    assert.ok(p.sigma >= 0.1 && p.sigma < 2.0, 'p.sigma >= 0.1 && p.sigma < 2.0');
  }
});

test('the WebAssembly SIMD passes agree with the JS loops (odd sizes, wide kernels)', { skip: !hasSimd() && 'no WebAssembly SIMD' }, async () => {
  for (const img of [pattern(29, 23), pattern(70, 3), pattern(2, 40), await icon(64)]) {
    for (const [kw, kh, sigma] of [[5, 9, 1.3], [3, 3, 0.5], [1, 21, 4], [33, 1, 9]]) {
      const simd = gaussianBlur.apply(img, { kernel: [kw, kh], sigma }, ctx);
      assert.ok(maxDiff(simd, blurJs(img, kw, kh, sigma)) <= 1, `${img.width}x${img.height} kernel ${kw}x${kh}`);
    }
  }
});
