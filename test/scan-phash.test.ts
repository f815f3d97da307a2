/**
 * The scan's perceptual hash (src/dataset/phash.ts) is computed in one pass with no per-image
 * buffers; this checks it bit for bit against the plain two-pass form it replaced (grey image,
 * rows resampled, then columns, 8 sorts for 8 medians), over images of many sizes and contents.
 * A changed bit would change dedupe groups and so splits: the hashes are cached and compared.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { greyThumbnail, lowDct, perceptualHash, perceptualHashJs } from '../src/dataset/phash.ts';
import { hasNativeOps } from '../src/ops/native.ts';
import { createRaw, type RawImage } from '../src/image/raw.ts';
import { createRng } from '../src/rng.ts';

const N = 32;
const K = 8;

function weightsRef(n: number) {
  const cells: Array<Array<[number, number]>> = [];
  for (let k = 0; k < N; k++) {
    const a = (k * n) / N;
    const b = ((k + 1) * n) / N;
    const cell: Array<[number, number]> = [];
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const cover = Math.min(b, i + 1) - Math.max(a, i);
      if (cover > 1e-12) cell.push([i, cover / (b - a)]);
    }
    cells.push(cell);
  }
  return cells;
}

function thumbRef(img: RawImage): Float64Array {
  const { width: w, height: h, data } = img;
  const grey = new Float64Array(w * h);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) grey[i] = data[j] * 0.299 + data[j + 1] * 0.587 + data[j + 2] * 0.114;
  const xw = weightsRef(w);
  const yw = weightsRef(h);
  const rows = new Float64Array(h * N);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < N; x++) {
      let s = 0;
      for (const [i, wt] of xw[x]) s += grey[y * w + i] * wt;
      rows[y * N + x] = s;
    }
  const out = new Float64Array(N * N);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      let s = 0;
      for (const [i, wt] of yw[y]) s += rows[i * N + x] * wt;
      out[y * N + x] = s;
    }
  return out;
}

function hashRef(img: RawImage): string {
  const d = lowDct(thumbRef(img));
  let out = '';
  for (const transpose of [false, true])
    for (const [su, sv] of [[1, 1], [1, -1], [-1, 1], [-1, -1]]) {
      const t = new Float64Array(K * K);
      for (let u = 0; u < K; u++)
        for (let v = 0; v < K; v++) t[u * K + v] = (su === -1 && u & 1 ? -1 : 1) * (sv === -1 && v & 1 ? -1 : 1) * (transpose ? d[v * K + u] : d[u * K + v]);
      const median = [...t.slice(1)].sort((a, b) => a - b)[31];
      let hex = '';
      for (let nib = 0; nib < 16; nib++) {
        let v = 0;
        for (let b = 0; b < 4; b++) v = (v << 1) | (t[nib * 4 + b] >= median ? 1 : 0);
        hex += v.toString(16);
      }
      out += hex;
    }
  return out;
}

/** Smooth shapes (like icons and photos) or noise, or flat with a few specks (many equal coefficients). */
function image(w: number, h: number, kind: number, seed: string): RawImage {
  const rng = createRng(seed);
  const data = new Uint8Array(w * h * 3);
  const cx = rng.next() * w, cy = rng.next() * h, r = (0.2 + rng.next() * 0.5) * Math.min(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const j = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        if (kind === 0) data[j + c] = Math.hypot(x - cx, y - cy) < r ? 40 + 60 * c : 250 - 20 * c;
        else if (kind === 1) data[j + c] = Math.floor(rng.next() * 256);
        else data[j + c] = rng.next() < 0.01 ? 0 : 255;
      }
    }
  return createRaw(w, h, data);
}

test('perceptualHash and greyThumbnail give the same bits as the two-pass form, at every size', () => {
  const sizes: Array<[number, number]> = [[1, 1], [2, 3], [31, 33], [32, 32], [64, 64], [224, 224], [100, 37], [37, 100], [333, 250], [1000, 3], [65, 97]];
  let n = 0;
  for (const [w, h] of sizes)
    for (let kind = 0; kind < 3; kind++)
      for (let s = 0; s < 3; s++) {
        const img = image(w, h, kind, `phash-${w}x${h}-${kind}-${s}`);
        assert.deepEqual([...greyThumbnail(img)], [...thumbRef(img)], `thumbnail ${w}x${h} kind ${kind}`);
        assert.equal(perceptualHash(img), hashRef(img), `hash ${w}x${h} kind ${kind}`);
        assert.equal(perceptualHashJs(img), hashRef(img), `JS hash ${w}x${h} kind ${kind}`);
        n++;
      }
  assert.equal(n, sizes.length * 9);
});

test('the compiled kernel (ops.c phash) is what perceptualHash runs, with the JS bits, on odd sizes and near-flat pictures', () => {
  if (!process.env.AUGMENT_NO_NATIVE_OPS) assert.ok(hasNativeOps(), 'ops.wasm loads here');
  const rng = createRng('phash-native');
  for (let k = 0; k < 60; k++) {
    const w = 1 + rng.int(0, 300), h = 1 + rng.int(0, 300);
    const img = image(w, h, k % 3, `native-${k}`);
    assert.equal(perceptualHash(img), perceptualHashJs(img), `${w}x${h} kind ${k % 3}`);
  }
  // sizes that are multiples of 32 (the kernel's uniform path), and the same size twice in a row (its tables kept)
  for (const [w, h] of [[32, 64], [64, 64], [64, 64], [96, 32], [224, 224], [256, 7], [7, 256]])
    for (let kind = 0; kind < 3; kind++) {
      const img = image(w, h, kind, `native-${w}x${h}-${kind}`);
      assert.equal(perceptualHash(img), perceptualHashJs(img), `${w}x${h} kind ${kind}`);
    }
});

test('an all-white image (every AC coefficient 0) hashes as before', () => {
  const img = createRaw(50, 40, new Uint8Array(50 * 40 * 3).fill(255));
  assert.equal(perceptualHash(img), hashRef(img));
});
