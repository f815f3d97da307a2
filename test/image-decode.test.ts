/** decodeImage / probeImage: every input kind normalised to 8-bit RGB, every bad input one clear BAD_IMAGE. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, decodeImageBuffer, decodeSourceReadSync, decodeWithSharp, probeImage } from '../src/image/decode.ts';
import { encodeImage } from '../src/image/encode.ts';
import { crc32, decodePngFast, plainRgbPng } from '../src/image/png.ts';
import { inflateReuse, setZlibReuse, zlibReuseActive } from '../src/image/zlib-reuse.ts';
import type { RawImage, Rgb } from '../src/image/raw.ts';
import { icon, maxDiff, pattern, pngOf, removeDir, tempDir, toSharp, writeFixture } from './helpers/images.ts';

let dir: string;
before(async () => {
  dir = await tempDir();
});
after(async () => {
  await removeDir(dir);
});

const isBadImage = (file: string, words: RegExp) => (e: any) => {
  assert.equal(e.code, 'BAD_IMAGE', e.message);
  assert.ok(e.message.startsWith(`${file}: `), `message names the file: ${e.message}`);
  assert.match(e.message, words);
  assert.doesNotMatch(e.message, /\n/);
  return true;
};

/** Decode `buf` on both paths; they must agree byte for byte. */
async function bothPaths(buf: Buffer, background?: Rgb): Promise<RawImage> {
  const fast = decodePngFast(buf, background ?? [255, 255, 255]);
  assert.ok(fast, 'the JS fast path takes this PNG');
  const slow = await decodeWithSharp(buf, 'x.png', { background });
  assert.equal(maxDiff(fast, slow), 0, 'JS fast path and sharp agree exactly');
  return fast;
}

test('RGB PNG written by sharp (all filter types) decodes to the same pixels', async () => {
  const img = pattern(67, 41);
  const png = await toSharp(img).png({ adaptiveFiltering: true, compressionLevel: 9 }).toBuffer();
  assert.equal(maxDiff(await bothPaths(png), img), 0);
  assert.equal(maxDiff(await decodeImageBuffer(png, 'p.png'), img), 0);
});

test('grey PNG becomes RGB with the grey in every channel', async () => {
  const samples = Array.from({ length: 16 * 16 }, (_, i) => i % 256);
  const img = await bothPaths(pngOf({ width: 16, height: 16, colourType: 0, samples, filter: 1 }));
  for (let i = 0; i < 256; i++) assert.deepEqual([...img.data.subarray(i * 3, i * 3 + 3)], [i, i, i]);
});

test('grey+alpha, RGBA and palette+tRNS PNGs are flattened onto the background like sharp does', async () => {
  const ga = Array.from({ length: 32 * 8 * 2 }, (_, i) => (i % 2 ? (i * 7) & 255 : (i * 13) & 255));
  const rgba = Array.from({ length: 32 * 8 * 4 }, (_, i) => (i * 29 + (i >> 5)) & 255);
  const pal = Array.from({ length: 32 * 8 }, (_, i) => i % 4);
  for (const bg of [[255, 255, 255], [0, 0, 0], [10, 200, 77]] as Rgb[]) {
    await bothPaths(pngOf({ width: 32, height: 8, colourType: 4, samples: ga }), bg);
    await bothPaths(pngOf({ width: 32, height: 8, colourType: 6, samples: rgba, filter: 1 }), bg);
    const img = await bothPaths(
      pngOf({ width: 32, height: 8, colourType: 3, samples: pal, palette: [0, 0, 0, 255, 0, 0, 0, 255, 0, 9, 9, 9], trns: [0, 128, 255] }),
      bg,
    );
    assert.deepEqual([...img.data.subarray(0, 3)], [...bg], 'palette entry 0 is fully transparent');
  }
});

test('a black-on-transparent icon decodes black on white by default', async () => {
  const transparent = pngOf({ width: 2, height: 1, colourType: 6, samples: [0, 0, 0, 0, 0, 0, 0, 255] });
  const img = await decodeImageBuffer(transparent, 'icon.png');
  assert.deepEqual([...img.data], [255, 255, 255, 0, 0, 0]);
});

test('16-bit PNG goes through sharp and becomes 8-bit', async () => {
  const samples = Array.from({ length: 8 * 4 * 3 }, (_, i) => (i % 256) * 257);
  const buf = pngOf({ width: 8, height: 4, colourType: 2, depth: 16, samples });
  assert.equal(decodePngFast(buf, [255, 255, 255]), undefined, 'not for the fast path');
  const file = await writeFixture(dir, 'deep.png', buf);
  const img = await decodeImage(file);
  assert.equal(img.channels, 3);
  assert.deepEqual([...img.data], samples.map((v) => v / 257));
});

test('PNGs with a colour profile or EXIF chunk are left to sharp', async () => {
  const img = pattern(8, 8);
  const samples = [...img.data];
  const withExif = pngOf({ width: 8, height: 8, colourType: 2, samples, extraChunks: [['gAMA', Uint8Array.from([0, 0, 0xb1, 0x8f])]] });
  assert.equal(decodePngFast(withExif, [255, 255, 255]), undefined);
  const decoded = await decodeImageBuffer(withExif, 'g.png');
  assert.equal(decoded.width, 8);
});

test('CMYK JPEG becomes sRGB with 3 channels', async () => {
  const img = pattern(40, 30);
  const cmyk = await toSharp(img).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const file = await writeFixture(dir, 'cmyk.jpg', cmyk);
  const out = await decodeImage(file);
  assert.equal(out.width, 40);
  assert.equal(out.height, 30);
  assert.equal(out.data.length, 40 * 30 * 3);
  // Lossy and through a CMYK profile: close on average, not exact.
  let sum = 0;
  for (let i = 0; i < out.data.length; i++) sum += Math.abs(out.data[i] - img.data[i]);
  assert.ok(sum / out.data.length < 25, `mean error ${sum / out.data.length}`);
});

test('EXIF orientation 6 is honoured: a 64x48 JPEG decodes and probes as 48x64', async () => {
  const img = pattern(64, 48);
  const jpg = await toSharp(img).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const file = await writeFixture(dir, 'exif6.jpg', jpg);
  const out = await decodeImage(file);
  assert.deepEqual([out.width, out.height], [48, 64]);
  assert.deepEqual(await probeImage(file), { width: 48, height: 64, format: 'jpeg' });
  // Orientation 6 = turn 90° clockwise to display: the same JPEG without the tag, turned by sharp.
  const plain = await toSharp(img).jpeg({ quality: 95 }).toBuffer();
  const ref = await sharp(plain).rotate(90).raw().toBuffer();
  let sum = 0;
  for (let i = 0; i < ref.length; i++) sum += Math.abs(ref[i] - out.data[i]);
  assert.ok(sum / ref.length < 1, `mean error ${sum / ref.length}`);
});

test('a PNG with EXIF orientation 6 is left to sharp and turned, in decode and probe', async () => {
  const png = await toSharp(pattern(30, 10)).png().withMetadata({ orientation: 6 }).toBuffer();
  assert.equal(decodePngFast(png, [255, 255, 255]), undefined);
  const file = await writeFixture(dir, 'exif6.png', png);
  const img = await decodeImage(file);
  assert.deepEqual([img.width, img.height], [10, 30]);
  assert.deepEqual(await probeImage(file), { width: 10, height: 30, format: 'png' });
});

test('probeImage reads dimensions and format from the header', async () => {
  const file = await writeFixture(dir, 'p.png', encodeImage(pattern(20, 10)));
  assert.deepEqual(await probeImage(file), { width: 20, height: 10, format: 'png' });
  const webp = await writeFixture(dir, 'p.webp', await toSharp(pattern(12, 6)).webp().toBuffer());
  assert.deepEqual(await probeImage(webp), { width: 12, height: 6, format: 'webp' });
});

test('a zero-byte file is BAD_IMAGE "empty file"', async () => {
  const file = await writeFixture(dir, 'empty.png', new Uint8Array(0));
  await assert.rejects(decodeImage(file), isBadImage(file, /empty file \(0 bytes\)/));
  await assert.rejects(probeImage(file), isBadImage(file, /empty file/));
});

test('truncated PNG and JPEG files are BAD_IMAGE "truncated or corrupt"', async () => {
  const png = await toSharp(pattern(64, 64)).png().toBuffer();
  const jpg = await toSharp(pattern(64, 64)).jpeg().toBuffer();
  for (const [name, buf] of [['cut.png', png], ['cut.jpg', jpg]] as const) {
    const file = await writeFixture(dir, name, buf.subarray(0, buf.length >> 1));
    await assert.rejects(decodeImage(file), isBadImage(file, /truncated or corrupt/));
  }
});

test('a text file named .png is BAD_IMAGE "not an image"', async () => {
  const file = await writeFixture(dir, 'notes.png', Buffer.from('these are my notes, not a picture\n'));
  await assert.rejects(decodeImage(file), isBadImage(file, /not an image/));
  await assert.rejects(probeImage(file), isBadImage(file, /not an image/));
});

test('an image over the pixel limit is refused with its size and the limit', async () => {
  const png = await writeFixture(dir, 'big.png', encodeImage(pattern(100, 50)));
  const jpg = await writeFixture(dir, 'big.jpg', await toSharp(pattern(100, 50)).jpeg().toBuffer());
  for (const file of [png, jpg]) {
    await assert.rejects(decodeImage(file, { limitInputPixels: 4999 }), isBadImage(file, /100 x 50 = 5,000 pixels, over the limit of 4,999/));
    await assert.rejects(probeImage(file, { limitInputPixels: 4999 }), isBadImage(file, /over the limit/));
    assert.equal((await decodeImage(file, { limitInputPixels: 5000 })).width, 100);
  }
});

test('a missing file and a directory are BAD_IMAGE', async () => {
  const missing = join(dir, 'nope.png');
  await assert.rejects(decodeImage(missing), isBadImage(missing, /file not found/));
  await assert.rejects(probeImage(missing), isBadImage(missing, /file not found/));
  await assert.rejects(decodeImage(dir), isBadImage(dir, /not a file|directory/));
});

test('unicode file names decode, and errors quote them intact', async () => {
  const img = await icon(24);
  const good = join(dir, 'ñandú 图像 🦆.png');
  await writeFile(good, encodeImage(img));
  assert.equal(maxDiff(await decodeImage(good), img), 0);
  const bad = await writeFixture(dir, 'ölçü 🦆.png', Buffer.from('nope'));
  await assert.rejects(decodeImage(bad), isBadImage(bad, /not an image/));
});

test('a bad background is BAD_ARGUMENT', async () => {
  const file = await writeFixture(dir, 'bg.png', encodeImage(pattern(4, 4)));
  await assert.rejects(decodeImage(file, { background: [256, 0, 0] }), (e: any) => e.code === 'BAD_ARGUMENT' && /background/.test(e.message));
});

test('sharp is loaded only when needed: a build worker that decodes plain PNGs and writes PNGs never imports it', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = join(dir, 'lazy-sharp.mts');
  const src = (p: string) => JSON.stringify(new URL(`../src/${p}`, import.meta.url).href);
  await writeFile(
    script,
    `const { decodeImageBuffer } = await import(${src('image/decode.ts')});
const { encodeImage } = await import(${src('image/encode.ts')});
const { sharpRequested } = await import(${src('image/sharp.ts')});
await import(${src('variant/worker.ts')});
// sharp's native addon and libvips among the shared objects this process has loaded
const loaded = () => (process.report.getReport() as any).sharedObjects.some((p: string) => /sharp|libvips/.test(p));
const img = { width: 2, height: 2, channels: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) };
const back = await decodeImageBuffer(encodeImage(img, 'png'), 'x.png');
const before = [sharpRequested(), loaded(), Array.from(back.data).join(',')];
const jpeg = await encodeImage(img, 'jpeg');
console.log(JSON.stringify([...before, sharpRequested(), loaded(), jpeg[0] === 0xff]));
`,
  );
  const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), [false, false, '1,2,3,4,5,6,7,8,9,10,11,12', true, true, true]);
});

test('decodeSourceReadSync hands back the bytes of a plain 8-bit RGB PNG only (what a build may keep as the original)', async () => {
  const img = pattern(9, 7);
  const rgb = pngOf({ width: 9, height: 7, colourType: 2, samples: img.data, filter: 1 });
  const phys = new Uint8Array([0, 0, 11, 19, 0, 0, 11, 19, 1]);
  const bySharp = await sharp(img.data, { raw: { width: 9, height: 7, channels: 3 } }).png().toBuffer();
  const kept = { rgb, withPhys: pngOf({ width: 9, height: 7, colourType: 2, samples: img.data, extraChunks: [['pHYs', phys]] }), bySharp };
  const rgba = new Uint8Array(9 * 7 * 4).map((_, i) => (i % 4 === 3 ? 255 : img.data[Math.floor(i / 4) * 3 + (i % 4)]));
  const badCrc = Buffer.from(rgb);
  badCrc[badCrc.length - 12 - 5] ^= 0xff; // last byte of the IDAT's CRC
  const notKept = {
    text: pngOf({ width: 9, height: 7, colourType: 2, samples: img.data, extraChunks: [['tEXt', Buffer.from('Comment\0x')]] }),
    trailing: Buffer.concat([rgb, Buffer.from('junk')]),
    grey: pngOf({ width: 9, height: 7, colourType: 0, samples: Array.from({ length: 63 }, (_, i) => i * 4) }),
    rgba: pngOf({ width: 9, height: 7, colourType: 6, samples: rgba }),
    deep: pngOf({ width: 9, height: 7, colourType: 2, depth: 16, samples: Array.from(img.data, (v) => v * 257) }),
  };
  for (const [name, buf] of Object.entries({ ...kept, ...notKept })) {
    const f = join(dir, `keep-${name}.png`);
    await writeFile(f, buf);
    const r = await decodeSourceReadSync(f);
    assert.equal(maxDiff(r.image, await decodeImageBuffer(buf, f)), 0, `${name}: the same pixels as decodeImageBuffer`);
    const keep = name in kept;
    assert.equal(r.png !== undefined, keep, `${name}: ${keep ? 'kept' : 'encoded again'}`);
    if (keep) {
      assert.ok(r.png!.equals(buf), `${name}: the file's own bytes`);
      assert.equal(maxDiff(r.image, img), 0);
    }
  }
  // the chunk test alone does not read CRCs: decoding does, and a bad one is an error, never kept
  assert.equal(plainRgbPng(badCrc), true);
  await writeFile(join(dir, 'keep-badCrc.png'), badCrc);
  await assert.rejects(decodeSourceReadSync(join(dir, 'keep-badCrc.png')), (e: any) => e.code === 'BAD_IMAGE');
});

/** The zlib stream of `png` (its IDAT chunks' data). */
function zOf(png: Buffer): Buffer {
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) {
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + png.readUInt32BE(at)));
  }
  return Buffer.concat(idat);
}

/** `png` with its IDAT data cut into chunks at `cuts` (offsets into the zlib stream), or replaced by `zdata`. */
function rechunk(png: Buffer, cuts: number[], zdata?: Uint8Array): Buffer {
  const before: Buffer[] = [];
  for (let at = 8; at < png.length; at += 12 + png.readUInt32BE(at)) {
    const type = png.toString('latin1', at + 4, at + 8);
    if (type !== 'IDAT' && type !== 'IEND') before.push(png.subarray(at, at + 12 + png.readUInt32BE(at)));
  }
  const z = zdata ?? zOf(png);
  const chunk = (type: string, body: Uint8Array) => {
    const b = Buffer.alloc(12 + body.length);
    b.writeUInt32BE(body.length, 0);
    b.write(type, 4, 'latin1');
    b.set(body, 8);
    b.writeUInt32BE(crc32(b.subarray(4, 8 + body.length)), 8 + body.length);
    return b;
  };
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < z.length), z.length];
  const parts = bounds.slice(1).map((end, i) => chunk('IDAT', z.subarray(bounds[i], end)));
  return Buffer.concat([png.subarray(0, 8), ...before, ...parts, chunk('IEND', new Uint8Array(0))]);
}

/** inflateReuse and zlib.inflateSync on the same stream: the same bytes, or the same error code. */
function sameInflate(z: Uint8Array, max: number | undefined, what: string): void {
  const outcome = (f: () => Buffer) => {
    try {
      return { bytes: f() };
    } catch (e: any) {
      return { code: String(e.code) };
    }
  };
  const want = outcome(() => inflateSync(z, max === undefined ? {} : ({ maxOutputLength: max } as any)));
  const got = outcome(() => inflateReuse(z, max));
  if (want.bytes) assert.ok(got.bytes?.equals(want.bytes), `${what}: ${got.code ?? got.bytes?.length} vs ${want.bytes.length} B`);
  else assert.equal(got.code, want.code, `${what}: the same error`);
}

test('zlib-reuse: inflateReuse gives zlib.inflateSync\'s bytes or error, and a failed stream leaves the next one decoding', async () => {
  assert.equal(zlibReuseActive(), true, `Node ${process.version}: the reused zlib streams of src/image/zlib-reuse.ts are not in use (the public inflateSync is)`);
  let s = 99;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  const inputs = [new Uint8Array(0), Uint8Array.of(1), new Uint8Array(20000), Uint8Array.from({ length: 12352 }, rnd), Uint8Array.from({ length: 70000 }, (_, i) => (i >> 6) & 0xff), new Uint8Array(1000 * 3001).fill(9)];
  const streams: Array<[string, Uint8Array]> = [];
  for (const [k, input] of inputs.entries()) {
    for (const level of [0, 1, 6, 9]) streams.push([`input ${k} level ${level}`, deflateSync(input, { level })]);
    for (const windowBits of [8, 9, 12, 15]) streams.push([`input ${k} windowBits ${windowBits}`, deflateSync(input, { windowBits, level: 6 })]);
  }
  streams.push(['sharp/libpng PNG', zOf(await toSharp(pattern(37, 5)).png({ compressionLevel: 9 }).toBuffer())]);
  const corrupt = (z: Uint8Array, at: number) => {
    const c = Buffer.from(z);
    c[Math.min(at, c.length - 1)] ^= 0x5a;
    return c;
  };
  for (const [name, z] of streams) {
    sameInflate(z, undefined, name);
    const n = inflateSync(z).length;
    if (n >= 1) sameInflate(z, n, `${name}, max = its size`);
    if (n >= 2) sameInflate(z, n - 1, `${name}, max one short: too large`);
    sameInflate(z.subarray(0, z.length >> 1), undefined, `${name}, truncated`);
    sameInflate(z.subarray(0, z.length - 1), undefined, `${name}, last byte cut`);
    sameInflate(Buffer.concat([z, Buffer.from('trailing junk')]), undefined, `${name}, trailing bytes`);
    for (const at of [0, 1, 2, 5, z.length >> 1, z.length - 2]) sameInflate(corrupt(z, at), undefined, `${name}, byte ${at} corrupt`);
    sameInflate(z, undefined, `${name}, again after the failures`);
  }
  for (const z of [Buffer.alloc(0), Buffer.of(0x78), Buffer.of(0x78, 0x9c)]) sameInflate(z, undefined, `a ${z.length}-byte stream`);
  // the answer is the caller's own buffer: the next call does not write over it
  const a = inflateReuse(streams[12][1]), keep = Buffer.from(a);
  inflateReuse(streams[20][1]);
  assert.ok(a.equals(keep));
  assert.equal(zlibReuseActive(), true, 'no call fell back to the public inflateSync for good (an unexpected error)');
});

test('zlib-reuse: decodePngFast gives the same pixels with the reused streams and with the public calls, and undefined for the same bad files', async () => {
  const bg: Rgb = [255, 255, 255];
  const files: Array<[string, Buffer]> = [];
  for (const img of [pattern(64, 64), pattern(1, 1), pattern(1000, 1000), await icon(64), await icon(224), pattern(67, 13)]) {
    const png = encodeImage(img, 'png') as Buffer;
    const z = zOf(png);
    const name = `${img.width}x${img.height}`;
    files.push([name, png], [`${name} in 3 IDATs`, rechunk(png, [1, z.length >> 1])], [`${name} in 1-byte IDATs`, rechunk(png, img.width > 100 ? [] : Array.from({ length: z.length }, (_, i) => i))]);
    files.push([`${name} truncated stream`, rechunk(png, [], z.subarray(0, z.length - 3))]);
    const bad = Buffer.from(z);
    bad[bad.length >> 1] ^= 0xff;
    files.push([`${name} corrupt stream`, rechunk(png, [7], bad)]);
    // one more row than the header says: inflates to more than expected
    const raw = inflateSync(z);
    files.push([`${name} a row too many`, rechunk(png, [], deflateSync(Buffer.concat([raw, raw.subarray(0, img.width * 3 + 1)])))]);
    files.push([`${name} a byte short`, rechunk(png, [], deflateSync(raw.subarray(0, raw.length - 1)))]);
  }
  files.push(['grey, sharp', await sharp(pattern(40, 40).data, { raw: { width: 40, height: 40, channels: 3 } }).greyscale().png().toBuffer()]);
  try {
    for (const [name, buf] of files) {
      assert.equal(setZlibReuse(true), true);
      const fast = decodePngFast(buf, bg);
      assert.equal(setZlibReuse(false), false, 'the test hook turns the fast path off');
      const plain = decodePngFast(buf, bg);
      assert.equal(fast === undefined, plain === undefined, `${name}: ${fast ? 'decoded' : 'undefined'} vs ${plain ? 'decoded' : 'undefined'}`);
      if (fast && plain) assert.equal(maxDiff(fast, plain), 0, name);
      const broken = /truncated|corrupt|too many|short/.test(name);
      assert.equal(fast === undefined, broken, `${name}: ${broken ? 'left to sharp' : 'decoded'}`);
    }
  } finally {
    setZlibReuse(true);
  }
});
