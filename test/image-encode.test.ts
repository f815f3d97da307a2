/** encodeImage: PNG is sync, deterministic and lossless; jpeg/webp go through sharp. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImageBuffer } from '../src/image/decode.ts';
import { encodeImage } from '../src/image/encode.ts';
import { crc32, crc32Js, encodePng, flatPicture, type PngEncoding } from '../src/image/png.ts';
import { deflateReuse, setZlibReuse, zlibReuseActive } from '../src/image/zlib-reuse.ts';
import { createRaw } from '../src/image/raw.ts';
import { icon, maxDiff, pattern, sharpRaw } from './helpers/images.ts';

test('PNG round-trips exactly through sharp and through our decoder, at every level', async () => {
  for (const img of [pattern(64, 64), pattern(67, 13), pattern(1, 1), pattern(1, 9), await icon(64)]) {
    for (const level of [0, 1, 3, 6, 9]) {
      const png = encodeImage(img, 'png', { compressionLevel: level });
      assert.ok(Buffer.isBuffer(png), 'PNG is returned synchronously');
      assert.equal(maxDiff(await sharpRaw(sharp(png)), img), 0, `sharp reads back ${img.width}x${img.height} level ${level}`);
      assert.equal(maxDiff(await decodeImageBuffer(png, 'x.png'), img), 0);
    }
  }
});

test('every PNG filter and zlib strategy round-trips; "auto" leaves a flat icon unfiltered and Up-filters a gradient', async () => {
  const flat = await icon(64);
  const busy = pattern(64, 64);
  assert.equal(flatPicture(flat), true);
  assert.equal(flatPicture(busy), false);
  const filterBytes = (png: Buffer) => {
    const inflated = inflateSync(png.subarray(8 + 25 + 8, png.length - 12 - 4));
    return new Set(Array.from({ length: 64 }, (_, y) => inflated[y * (64 * 3 + 1)]));
  };
  assert.deepEqual(filterBytes(encodePng(flat, { filter: 'auto' })), new Set([0]));
  assert.deepEqual(filterBytes(encodePng(busy, { filter: 'auto' })), new Set([0, 2]));
  for (const img of [flat, busy, pattern(5, 3), pattern(1, 1)])
    for (const filter of ['auto', 'up', 'sub', 'none'] as const)
      for (const strategy of ['default', 'rle', 'filtered'] as const) {
        const png = encodePng(img, { filter, strategy, level: 2 });
        assert.equal(maxDiff(await sharpRaw(sharp(png)), img), 0, `${img.width}x${img.height} ${filter} ${strategy}`);
        assert.equal(maxDiff(await decodeImageBuffer(png, 'x.png'), img), 0);
      }
});

test('PNG output is deterministic and the header says 8-bit RGB', async () => {
  const img = pattern(50, 30);
  const a = encodeImage(img), b = encodeImage(createRaw(50, 30, img.data.slice()));
  assert.ok(a.equals(b), 'a.equals(b)');
  const meta = await sharp(a).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.depth], ['png', 50, 30, 3, 'uchar']);
});

test('jpeg and webp return a Promise of a decodable image of the same size', async () => {
  const img = await icon(64);
  for (const format of ['jpeg', 'webp'] as const) {
    const out = encodeImage(img, format, { quality: 95 });
    assert.ok(out instanceof Promise, 'out instanceof Promise');
    const buf = await out;
    const meta = await sharp(buf).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], [format, 64, 64]);
    const back = await sharpRaw(sharp(buf));
    let sum = 0;
    for (let i = 0; i < back.data.length; i++) sum += Math.abs(back.data[i] - img.data[i]);
    assert.ok(sum / back.data.length < 4, `${format} mean error ${sum / back.data.length}`);
  }
});

test('bad format, level or quality is BAD_ARGUMENT in sharp\'s words', () => {
  const img = pattern(4, 4);
  const bad = (re: RegExp) => (e: any) => e.code === 'BAD_ARGUMENT' && re.test(e.message);
  assert.throws(() => encodeImage(img, 'gif' as any), bad(/Expected one of png, jpeg, webp for format but received "gif"/));
  assert.throws(() => encodeImage(img, 'png', { compressionLevel: 10 }), bad(/Expected an integer between 0 and 9 for compressionLevel but received 10/));
  assert.throws(() => encodeImage(img, 'jpeg', { quality: 0 }), bad(/quality/));
});

test('the JS CRC-32 fallback agrees with the one in use', () => {
  assert.equal(crc32Js(Buffer.from('IEND')), 0xae426082);
  const data = pattern(20, 20).data;
  assert.equal(crc32Js(data), crc32(data));
});

/** Bytes for the zlib tests: seeded noise, runs, gradients, all one byte. */
function zlibInputs(): Uint8Array[] {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  const noise = (n: number) => Uint8Array.from({ length: n }, rnd);
  const runs = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; ) {
      const v = rnd(), len = 1 + (rnd() % 200);
      b.fill(v, i, Math.min(n, i + len));
      i += len;
    }
    return b;
  };
  return [
    new Uint8Array(0), Uint8Array.of(7), new Uint8Array(3 * 64 * 64 + 64), noise(100), noise(12352), runs(12352),
    Uint8Array.from({ length: 50000 }, (_, i) => (i * 3) & 0xff), noise(16384), runs(16384 * 3 + 1),
    noise(16384 * 2 - 17), runs(150752), new Uint8Array(1000 * 3001).fill(200), runs(1000 * 3001),
  ];
}

test('zlib-reuse: the reused deflate streams are really in use on this Node (else see src/image/zlib-reuse.ts)', () => {
  assert.equal(
    zlibReuseActive(), true,
    `Node ${process.version}: the zlib internals zlib-reuse.ts drives (Deflate._handle.writeSync/reset, _writeState) are not there or ` +
      'no longer give the public bytes; PNG encode/decode fall back to zlib.deflateSync/inflateSync (correct, but ~2x slower per 64 px file)',
  );
});

test('zlib-reuse: deflateReuse gives zlib.deflateSync\'s bytes for every level and strategy, call after call', () => {
  const c = constants;
  const strategies = [c.Z_DEFAULT_STRATEGY, c.Z_RLE, c.Z_FILTERED, c.Z_HUFFMAN_ONLY, c.Z_FIXED];
  for (const [k, input] of zlibInputs().entries()) {
    const big = input.length > 1e6;
    for (const level of big ? [0, 1, 6] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1]) {
      for (const strategy of big ? [c.Z_DEFAULT_STRATEGY, c.Z_RLE] : strategies) {
        const want = deflateSync(input, { level, strategy });
        const got = deflateReuse(input, level, strategy);
        assert.ok(got.equals(want), `input ${k} (${input.length} B), level ${level}, strategy ${strategy}: ${got.length} B vs ${want.length} B`);
      }
    }
  }
  // a view at an offset into a bigger buffer, and the same stream many times in a row
  const whole = zlibInputs()[4];
  const part = whole.subarray(1001, 9001);
  const want = deflateSync(part, { level: 1, strategy: c.Z_RLE });
  for (let i = 0; i < 50; i++) assert.ok(deflateReuse(part, 1, c.Z_RLE).equals(want));
  assert.equal(zlibReuseActive(), true, 'no call fell back to the public deflateSync for good (an unexpected error)');
});

test('zlib-reuse: encodePng writes the same bytes with the reused streams and with the public calls (the fallback), for every option', async () => {
  const images = [pattern(64, 64), pattern(67, 13), pattern(1, 1), pattern(1, 9), await icon(64), await icon(224), pattern(1000, 1000), createRaw(300, 200, new Uint8Array(300 * 200 * 3))];
  const encodings: Array<number | PngEncoding | undefined> = [undefined, 0, 1, 2, 3, 6, 9];
  for (const filter of ['auto', 'up', 'sub', 'none'] as const)
    for (const strategy of ['default', 'rle', 'filtered'] as const)
      for (const level of [0, 1, 2, 6, 9]) encodings.push({ filter, strategy, level });
  try {
    for (const img of images) {
      const big = img.width >= 1000;
      const encs = big ? encodings.filter((e) => e === undefined || (typeof e === 'object' && e.level! <= 1)) : encodings;
      assert.equal(setZlibReuse(true), true);
      const reused = encs.map((e) => encodePng(img, e));
      assert.equal(setZlibReuse(false), false, 'the test hook turns the fast path off');
      assert.equal(zlibReuseActive(), false);
      const plain = encs.map((e) => encodePng(img, e));
      for (const [i, e] of encs.entries()) assert.ok(reused[i].equals(plain[i]), `${img.width}x${img.height} ${JSON.stringify(e)}`);
    }
  } finally {
    setZlibReuse(true);
  }
});

test('zlib-reuse: AUGMENT_ZLIB_REUSE=0 turns the reused streams off (the public calls, same bytes)', () => {
  const script = `import('./src/image/zlib-reuse.ts').then((m) => { const z = require('node:zlib'); const b = Buffer.alloc(5000, 3);` +
    ` console.log(JSON.stringify([m.zlibReuseActive(), m.deflateReuse(b, 1, 3).equals(z.deflateSync(b, { level: 1, strategy: 3 }))])); })`;
  const run = (v: string) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, AUGMENT_ZLIB_REUSE: v }, encoding: 'utf8' }));
  assert.deepEqual(run('0'), [false, true]);
  assert.deepEqual(run('1'), [true, true]);
});
