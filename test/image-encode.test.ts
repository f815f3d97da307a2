/** encodeImage: PNG is sync, deterministic and lossless; jpeg/webp go through sharp. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImageBuffer } from '../src/image/decode.ts';
import { encodeImage } from '../src/image/encode.ts';
import { crc32, crc32Js, encodePng, flatPicture } from '../src/image/png.ts';
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
