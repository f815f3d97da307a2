/**
 * The compiled kernels of src/ops/native/ops.c against the JS loops they replace, on a rendered
 * icon and a photo-like gradient + noise picture, at odd sizes (RawImage is always 3-channel
 * RGB, the one channel count the ops take).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { createRaw, type RawImage } from '../src/image/raw.ts';
import { applyOps, sampleOps, validateOpsSpec } from '../src/ops/compose.ts';
import { getOp } from '../src/ops/registry.ts';
import { applyJs, colorJitter, type ColorJitterParams } from '../src/ops/colorJitter.ts';
import { blurJs, gaussianKernel, quantiseKernel } from '../src/ops/gaussianBlur.ts';
import { hflipJs } from '../src/ops/hflip.ts';
import { invertJs } from '../src/ops/invert.ts';
import { blurNative, hasNativeOps, hflipNative, invertNative, warpNative } from '../src/ops/native.ts';
import { rotateMatrix } from '../src/ops/rotate.ts';
import { warpCases } from './helpers/warp-cases.ts';
import { resampleJs, type Mat3 } from '../src/ops/warp.ts';
import { createRng } from '../src/rng.ts';
import { icon, maxDiff } from './helpers/images.ts';

const native = hasNativeOps();

/** Smooth gradients, a few soft blobs and per-pixel noise: busy in every channel, like a photo. */
function photoLike(w: number, h: number, seed: number): RawImage {
  const rng = createRng(`photo-${seed}`);
  const d = new Uint8Array(w * h * 3);
  const blobs = Array.from({ length: 4 }, () => [rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 12), rng.int(0, 2)]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      let r = 40 + (180 * x) / Math.max(1, w - 1), g = 30 + (200 * y) / Math.max(1, h - 1), b = 128 + 100 * Math.sin((x + y) / 7);
      for (const [bx, by, br, c] of blobs) {
        const k = Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * br * br)) * 120;
        if (c === 0) r += k;
        else if (c === 1) g -= k;
        else b += k;
      }
      const n = () => (rng.next() - 0.5) * 40;
      d[i] = Math.max(0, Math.min(255, r + n()));
      d[i + 1] = Math.max(0, Math.min(255, g + n()));
      d[i + 2] = Math.max(0, Math.min(255, b + n()));
    }
  }
  return createRaw(w, h, d);
}

/** The rendered icon squeezed to w x h (not square), as a real picture at an odd size. */
async function iconAt(w: number, h: number): Promise<RawImage> {
  const big = await icon(96);
  const { data, info } = await sharp(big.data, { raw: { width: 96, height: 96, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return createRaw(info.width, info.height, new Uint8Array(data));
}

async function images(): Promise<Array<[string, RawImage]>> {
  return [
    ['icon 63x47', await iconAt(63, 47)],
    ['icon 64x64', await icon(64)],
    ['photo 63x47', photoLike(63, 47, 1)],
    ['photo 224x224', photoLike(224, 224, 2)],
    ['photo 5x3', photoLike(5, 3, 3)],
    ['photo 1x1', photoLike(1, 1, 4)],
    ['photo 2x17', photoLike(2, 17, 5)],
  ];
}

test('ops.wasm was built from the committed ops.c (run scripts/build-ops-wasm.sh after editing it)', () => {
  const dir = new URL('../src/ops/native/', import.meta.url);
  const build = JSON.parse(readFileSync(new URL('ops.build.json', dir), 'utf8')) as { sha256: string };
  const sha = createHash('sha256').update(readFileSync(new URL('ops.c', dir))).digest('hex');
  assert.equal(build.sha256, sha);
});

test('the compiled kernels load on Node 20 (WebAssembly SIMD)', () => {
  assert.equal(native, true);
});

test('invert and hflip: the JS loops\' bytes', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  for (const [name, img] of await images()) {
    assert.deepEqual(invertNative(img)!.data, invertJs(img).data, `invert ${name}`);
    assert.deepEqual(hflipNative(img)!.data, hflipJs(img).data, `hflip ${name}`);
  }
});

test('colorJitter: the JS loops\' bytes for every step and order', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  const rng = createRng('jitter-native');
  const o = colorJitter.schema.parse({ brightness: 0.6, contrast: 0.6, saturation: 0.9, hue: 0.5 });
  for (const [name, img] of await images()) {
    for (let t = 0; t < 12; t++) {
      const p: ColorJitterParams = colorJitter.sample(rng, o, img);
      if (t < 4) p.order = [(['brightness', 'contrast', 'saturation', 'hue'] as const)[t]];
      const ours = colorJitter.apply(img, p, { fill: [0, 0, 0] });
      assert.equal(maxDiff(ours, applyJs(img, p)), 0, `${name} ${JSON.stringify(p)}`);
    }
    // extremes: clamping at both ends
    for (const p of [{ brightness: 3 }, { brightness: 0 }, { contrast: 4 }, { saturation: 5 }, { saturation: 0 }]) {
      const params = { order: Object.keys(p), brightness: 1, contrast: 1, saturation: 1, hue: 0, ...p } as ColorJitterParams;
      assert.equal(maxDiff(colorJitter.apply(img, params, { fill: [0, 0, 0] }), applyJs(img, params)), 0, `${name} ${JSON.stringify(p)}`);
    }
  }
});


test('warp, nearest: the JS loop\'s bytes (affine: but on pixel boundaries); bilinear (fixed point): within one level of the f64 JS loop', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  const rng = createRng('warp-native');
  let compared = 0, off = 0, nearOff = 0, nearCompared = 0;
  for (const [name, img] of await images()) {
    for (let t = 0; t < 16; t++) {
      const { m, spans } = warpCases(img, t, rng);
      const fill = [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)] as const;
      const near = warpNative(img, m, spans, false, fill)!, nearJs = resampleJs(img, m, spans, 'nearest', fill);
      if (m[6] !== 0 || m[7] !== 0) assert.equal(maxDiff(near, nearJs), 0, `${name} case ${t} nearest, projective: the f64 loop`);
      else {
        // affine rows run in 16.16 fixed point: a pixel may differ only where the exact
        // position lies within 0.005 px of a pixel boundary
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) {
            const i = (y * img.width + x) * 3;
            if (near.data[i] === nearJs.data[i] && near.data[i + 1] === nearJs.data[i + 1] && near.data[i + 2] === nearJs.data[i + 2]) continue;
            const u = m[0] * x + m[1] * y + m[2] + 0.5, v = m[3] * x + m[4] * y + m[5] + 0.5;
            const edge = Math.min(Math.abs(u - Math.round(u)), Math.abs(v - Math.round(v)));
            assert.ok(edge < 0.005, `${name} case ${t} nearest (${x}, ${y}): position ${u - 0.5}, ${v - 0.5} is ${edge} px from a boundary`);
            nearOff++;
          }
        }
        nearCompared += img.width * img.height;
      }
      const ours = warpNative(img, m, spans, true, fill)!, js = resampleJs(img, m, spans, 'bilinear', fill);
      assert.ok(maxDiff(ours, js) <= 1, `${name} case ${t} bilinear: off by ${maxDiff(ours, js)}`);
      for (let i = 0; i < js.data.length; i++) off += ours.data[i] !== js.data[i] ? 1 : 0;
      compared += js.data.length;
      assert.deepEqual(warpNative(img, m, spans, true, fill)!.data, ours.data, 'the same bytes on a second call');
    }
  }
  assert.ok(off / compared < 0.02, `${off} of ${compared} values differ by one level (rounding ties and weight steps)`);
  assert.ok(nearOff / nearCompared < 0.01, `${nearOff} of ${nearCompared} affine nearest pixels differ`);
});

test('the bilinear warp is exact on integer shifts and keeps a flat image flat', { skip: !native && 'no WebAssembly SIMD' }, () => {
  const img = photoLike(33, 21, 9);
  const full = new Int32Array(2 * 21);
  for (let y = 0; y < 21; y++) full[2 * y + 1] = 33;
  const shifted = warpNative(img, [1, 0, 2, 0, 1, -3, 0, 0, 1], full, true, [7, 8, 9])!;
  assert.equal(maxDiff(shifted, resampleJs(img, [1, 0, 2, 0, 1, -3, 0, 0, 1], full, 'bilinear', [7, 8, 9])), 0);
  const flat = createRaw(33, 21, new Uint8Array(33 * 21 * 3).fill(200));
  const turned = warpNative(flat, rotateMatrix(0.3, 33, 21), full, true, [200, 200, 200])!;
  assert.ok(turned.data.every((v) => v === 200), 'a flat image and fill stay flat under any map');
});

test('blur (16-bit fixed point): within one level of the float JS loops; flat stays flat; one tap is the identity', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  let compared = 0, off = 0;
  for (const [name, img] of await images()) {
    for (const [kw, kh, sigma] of [[5, 9, 0.1], [5, 9, 0.8], [5, 9, 2], [3, 3, 1], [1, 7, 1.5], [15, 5, 3], [31, 31, 9]]) {
      const ours = blurNative(img, quantiseKernel(gaussianKernel(kw, sigma)), quantiseKernel(gaussianKernel(kh, sigma)))!;
      const js = blurJs(img, kw, kh, sigma);
      assert.ok(maxDiff(ours, js) <= 1, `${name} kernel ${kw}x${kh} sigma ${sigma}: off by ${maxDiff(ours, js)}`);
      for (let i = 0; i < js.data.length; i++) off += ours.data[i] !== js.data[i] ? 1 : 0;
      compared += js.data.length;
    }
    const one = quantiseKernel(gaussianKernel(1, 1));
    assert.deepEqual([...one], [32767]);
    assert.deepEqual(blurNative(img, one, one)!.data, img.data, `${name}: a 1x1 kernel`);
  }
  assert.ok(off / compared < 0.05, `${off} of ${compared} values differ by one level`);
  const flat = createRaw(19, 11, new Uint8Array(19 * 11 * 3).fill(77));
  const k = quantiseKernel(gaussianKernel(9, 1.7));
  assert.equal(k.reduce((a, b) => a + b, 0), 32768);
  assert.deepEqual([...k], [...k].reverse(), 'symmetric');
  assert.ok(blurNative(flat, k, k)!.data.every((v) => v === 77), 'flat stays flat');
});

test('applyOps runs a row of compiled steps in one native run: the same bytes as the ops one by one', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  const spec = validateOpsSpec([
    { op: 'colorJitter', brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 },
    { op: 'gaussianBlur', kernel: [5, 9] },
    { op: 'perspective', p: 0.5 },
    { op: 'rotate', degrees: [0, 180] },
    { op: 'affine', degrees: [0, 180] },
    { op: 'invert', p: 0.5 },
    { op: 'hflip', p: 0.5 },
  ], 'test');
  const ctx = { fill: [9, 99, 199] as const };
  for (const [name, img] of await images()) {
    for (let t = 0; t < 6; t++) {
      const applied = sampleOps(spec, createRng(`chain-${name}-${t}`), img, 1);
      const fused = applyOps(img, applied, ctx);
      // one op at a time, with the geometric run fused as applyOps fuses it
      const first = applied.findIndex((a) => getOp(a.op).matrix);
      let end = first;
      while (end < applied.length && getOp(applied[end].op).matrix) end++;
      const before = applied.slice(0, first), geo = applied.slice(first, end), after = applied.slice(end);
      let step = before.reduce((im, a) => getOp(a.op).apply(im, a.params, ctx), img);
      step = applyOps(step, geo, ctx);
      step = after.reduce((im, a) => getOp(a.op).apply(im, a.params, ctx), step);
      assert.equal(maxDiff(fused, step), 0, `${name} draw ${t}: ${applied.map((a) => a.op).join(', ')}`);
      assert.notEqual(fused.data, img.data, 'a fresh buffer');
    }
  }
});

test('the same bytes in worker threads running at once as on the main thread (one module instance per thread)', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ops-native-'));
  try {
    const compose = new URL('../src/ops/compose.ts', import.meta.url).href;
    const rng = new URL('../src/rng.ts', import.meta.url).href;
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const entry = join(dir, 'chain.mjs');
    // A photo-like image from integer arithmetic alone, so each thread builds the same one.
    await writeFile(entry, `
      import { parentPort, workerData } from 'node:worker_threads';
      import { createHash } from 'node:crypto';
      const { register } = await import(${JSON.stringify(tsxApi)});
      register();
      const { applyOps, sampleOps, validateOpsSpec } = await import(${JSON.stringify(compose)});
      const { createRng } = await import(${JSON.stringify(rng)});
      const [w, h] = workerData.size;
      const data = new Uint8Array(w * h * 3).map((_, i) => (i * 7919 + ((i / 3) | 0) * 104729) % 251);
      const img = { width: w, height: h, channels: 3, data };
      const spec = validateOpsSpec(workerData.spec, 'worker');
      const hash = createHash('sha256');
      for (let t = 0; t < 24; t++) hash.update(applyOps(img, sampleOps(spec, createRng('w-' + t), img, 1), { fill: [3, 4, 5] }).data);
      parentPort.postMessage(hash.digest('hex'));
    `);
    const spec = [{ op: 'colorJitter', brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.2 }, { op: 'gaussianBlur', kernel: [5, 9] },
      { op: 'perspective', p: 0.5 }, { op: 'rotate', degrees: [0, 180] }, { op: 'affine', degrees: [0, 180] }, { op: 'invert', p: 0.5 }];
    const run = (size: [number, number]) => new Promise<string>((resolve, reject) => {
      const wk = new Worker(entry, { workerData: { spec, size } });
      wk.once('message', resolve);
      wk.once('error', reject);
    });
    const here = (size: [number, number]) => {
      const [w, h] = size;
      const img = createRaw(w, h, new Uint8Array(w * h * 3).map((_, i) => (i * 7919 + ((i / 3) | 0) * 104729) % 251));
      const s = validateOpsSpec(spec, 'main');
      const hash = createHash('sha256');
      for (let t = 0; t < 24; t++) hash.update(applyOps(img, sampleOps(s, createRng('w-' + t), img, 1), { fill: [3, 4, 5] }).data);
      return hash.digest('hex');
    };
    // Different sizes in flight at once: each thread's memory grows on its own.
    const sizes: Array<[number, number]> = [[63, 47], [224, 224], [63, 47], [17, 90]];
    const got = await Promise.all(sizes.map(run));
    assert.deepEqual(got, sizes.map(here));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('nearest: rows whose positions could leave 16.16 fixed point (wide images, far-off maps) keep the f64 loop\'s bytes', { skip: !native && 'no WebAssembly SIMD' }, () => {
  const cases: Array<[number, number, Mat3]> = [
    [9000, 3, [1.0001, 0.3, -0.2, 0, 1, 0.3, 0, 0, 1]],
    [300, 200, [3.7, 0.5, 9000, 0.2, 2.1, -7000, 0, 0, 1]],
    [300, 200, [-50, 0, 12000, 0, 1, 0, 0, 0, 1]],
  ];
  for (const [w, h, m] of cases) {
    const img = createRaw(w, h, new Uint8Array(w * h * 3).map((_, i) => (i * 31) & 255));
    const spans = new Int32Array(2 * h);
    for (let y = 0; y < h; y++) spans[2 * y + 1] = w;
    assert.equal(maxDiff(warpNative(img, m, spans, false, [1, 2, 3])!, resampleJs(img, m, spans, 'nearest', [1, 2, 3])), 0, `${w}x${h} ${m}`);
  }
});

test('bilinear: wide images (positions past the f32 magic-number range take the saturating path) stay within one level of the f64 loop', { skip: !native && 'no WebAssembly SIMD' }, () => {
  const cases: Array<[number, number, Mat3]> = [
    [2041, 4, rotateMatrix(0.7, 2041, 4)],
    [2600, 5, [0.9, 0.2, 30, 0.001, 1.1, -0.4, 0.00002, 0.0001, 1]],
    [2040, 6, [1.0003, 0.1, -3, 0.002, 0.97, 0.5, 0, 0, 1]],
    [40, 30, [1, 0, 5000, 0, 1, -9000, 0, 0, 1]],
  ];
  for (const [w, h, m] of cases) {
    const img = photoLike(w, h, w);
    const spans = new Int32Array(2 * h);
    for (let y = 0; y < h; y++) spans[2 * y + 1] = w;
    const ours = warpNative(img, m, spans, true, [1, 2, 3])!, js = resampleJs(img, m, spans, 'bilinear', [1, 2, 3]);
    assert.ok(maxDiff(ours, js) <= 1, `${w}x${h} ${m}: off by ${maxDiff(ours, js)}`);
  }
});

test('applyOps into a reused buffer: the same bytes as a fresh result, written into it; no ops or another size leave it alone', { skip: !native && 'no WebAssembly SIMD' }, async () => {
  const spec = validateOpsSpec([{ op: 'gaussianBlur', kernel: [5, 9] }, { op: 'perspective', p: 0.5 }, { op: 'rotate', degrees: [0, 180] }, { op: 'invert', p: 0.5 }], 'test');
  const ctx = { fill: [9, 99, 199] as const };
  for (const [name, img] of await images()) {
    const into = new Uint8Array(img.data.length);
    for (let t = 0; t < 6; t++) {
      const applied = sampleOps(spec, createRng(`into-${name}-${t}`), img, 1);
      const fresh = applyOps(img, applied, ctx);
      const reused = applyOps(img, applied, ctx, { into });
      assert.equal(reused.data, into, `${name} draw ${t}: written into the buffer`);
      assert.deepEqual(reused.data, fresh.data, `${name} draw ${t}: the same bytes`);
    }
    assert.equal(applyOps(img, [], ctx, { into }), img, 'no ops: the image itself');
    const one = applyOps(img, [{ op: 'invert', params: {} }], ctx, { into });
    assert.deepEqual(one.data, invertJs(img).data, `${name}: a single op into the buffer`);
    const small = new Uint8Array(img.data.length + 3);
    assert.notEqual(applyOps(img, [{ op: 'invert', params: {} }], ctx, { into: small }).data, small, 'another size: a fresh buffer');
  }
});

test('bilinear, projective: a tiny positive z (a denormal in f32) still reads where the f64 loop does', { skip: !native && 'no WebAssembly SIMD' }, () => {
  const img = photoLike(9, 7, 11);
  const spans = new Int32Array(2 * 7);
  for (let y = 0; y < 7; y++) spans[2 * y + 1] = 9;
  for (const m of [[0, 0, 0, 0, 0, 0, 0, 0, 1e-39], [0, 0, 2e-39, 0, 0, 3e-39, 0, 0, 1e-39]] as Mat3[]) {
    const ours = warpNative(img, m, spans, true, [1, 2, 3])!, js = resampleJs(img, m, spans, 'bilinear', [1, 2, 3]);
    assert.ok(maxDiff(ours, js) <= 1, `${m}: off by ${maxDiff(ours, js)}`);
  }
});
