/**
 * One owner for the variant's on-disk format (src/variant/format.ts): a build stamps
 * variant.json with the format's name and version, readers refuse a newer version by name,
 * and no other module defines the split names or the image extensions again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildVariant } from '../src/variant/build.ts';
import { VARIANT_FILE, VARIANT_FORMAT, VARIANT_FORMAT_VERSION, isImageName, isVariantDir, readVariantInfo } from '../src/variant/format.ts';
import { readVariant } from '../src/train/data.ts';
import { countDataset } from '../src/stats/count.ts';
import { AugmentError } from '../src/errors.ts';
import { makeDataset, removeDir, tempDir } from './helpers/dataset.ts';

let root: string;
let variantDir: string;

before(async () => {
  root = await tempDir('augment-format-');
  const src = join(root, 'src');
  await makeDataset(src, { apple: 6, banana: 5 });
  const recipe = join(root, 'plain.yaml');
  await writeFile(recipe, JSON.stringify({ source: src, seed: 1, split: { ratios: [0.6, 0.2, 0.2], seed: 7 } }));
  variantDir = (await buildVariant(recipe, { out: join(root, 'v', 'plain'), concurrency: 1 })).variantDir;
});
after(async () => removeDir(root));

test('a build stamps variant.json with the format name and version, first', async () => {
  const info = JSON.parse(await readFile(join(variantDir, VARIANT_FILE), 'utf8'));
  assert.equal(info.format, VARIANT_FORMAT);
  assert.equal(info.formatVersion, VARIANT_FORMAT_VERSION);
  assert.deepEqual(Object.keys(info).slice(0, 2), ['format', 'formatVersion']);
  assert.equal(await isVariantDir(variantDir), true);
  assert.equal(await isVariantDir(join(root, 'src')), false);
});

test('a variant of a newer format is refused by name, by evaluate and by the library reader', async () => {
  const file = join(variantDir, VARIANT_FILE);
  const original = await readFile(file, 'utf8');
  try {
    await writeFile(file, JSON.stringify({ ...JSON.parse(original), formatVersion: VARIANT_FORMAT_VERSION + 1 }));
    const named = (e: unknown) =>
      e instanceof AugmentError && e.code === 'BAD_DATASET' && e.message.includes(file) && /newer than this augment reads/.test(e.message);
    await assert.rejects(readVariantInfo(variantDir), named);
    await assert.rejects(readVariant(variantDir), named);
  } finally {
    await writeFile(file, original);
  }
  // and an older variant (no stamp: made before the format had a version) still reads
  const { format: _f, formatVersion: _v, ...unstamped } = JSON.parse(original);
  try {
    await writeFile(file, JSON.stringify(unstamped));
    const v = await readVariant(variantDir);
    assert.deepEqual(v.classes, ['apple', 'banana']);
    const counts = await countDataset(variantDir);
    assert.equal(counts.kind, 'variant');
  } finally {
    await writeFile(file, original);
  }
});

test('image names: every listed extension in any case, nothing else', () => {
  for (const n of ['a.png', 'b.JPG', 'c.jpeg', 'd.WebP', 'e.gif', 'f.tif', 'g.TIFF', 'h.avif']) assert.equal(isImageName(n), true, n);
  for (const n of ['a.txt', 'png', 'b.png.bak', 'c.svg', '.DS_Store']) assert.equal(isImageName(n), false, n);
});

test('the split names and the image extensions are defined only in src/variant/format.ts', async () => {
  const srcDir = new URL('../src/', import.meta.url).pathname;
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(d, e.name));
    }
  };
  await walk(srcDir);
  const splitList = /\[\s*'train'\s*,\s*'valid'\s*,\s*'test'\s*\]/;
  const extList = /'png'\s*,\s*'jpg'/; // the input list (output formats, src/image/encode.ts, are another list)
  const offenders: string[] = [];
  for (const f of files) {
    const rel = relative(srcDir, f);
    if (rel === join('variant', 'format.ts')) continue;
    const text = await readFile(f, 'utf8');
    if (splitList.test(text)) offenders.push(`${rel}: split names`);
    if (extList.test(text)) offenders.push(`${rel}: image extensions`);
  }
  assert.ok(files.length > 50, `walked ${files.length} source files`);
  assert.deepEqual(offenders, []);
});
