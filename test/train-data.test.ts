import assert from 'node:assert/strict';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { AugmentError } from '../src/errors.ts';
import {
  BatchReader,
  ensureSplitCache,
  epochOrder,
  evalSplitDifference,
  listBuiltVariants,
  readVariant,
  resolveVariant,
  batches,
} from '../src/train/data.ts';
import { tempDir, writeVariant } from './helpers/variants.ts';

let root: string;
before(async () => {
  root = await tempDir();
  await writeVariant(root, 'a', { train: [5, 3, 2], valid: 2, test: 2, size: 12 });
  await writeVariant(root, 'b', { train: 4, valid: 2, test: 2, size: 12 });
  await writeVariant(root, 'other-test', { train: 2, valid: 2, test: 3, size: 12 });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const augmentError = (code: string, re: RegExp) => (e: unknown) => e instanceof AugmentError && e.code === code && re.test(e.message) && !e.message.includes('\n');

test('reads a variant: classes sorted, labels by class, all splits', async () => {
  const v = await readVariant(join(root, 'a'));
  assert.equal(v.name, 'a');
  assert.deepEqual(v.classes, ['blue', 'green', 'red']);
  assert.equal(v.splits.train.length, 10);
  assert.deepEqual(
    v.splits.train.map((f) => f.label),
    [0, 0, 1, 1, 1, 2, 2, 2, 2, 2],
  );
  assert.equal(v.splits.test[0].rel, 'blue/blue_000.png');
  assert.deepEqual(await listBuiltVariants(root), ['a', 'b', 'other-test']);
  const linked = await tempDir();
  await symlink(join(root, 'a'), join(linked, 'via-link'));
  await mkdir(join(linked, 'not-a-variant'));
  assert.deepEqual(await listBuiltVariants(linked), ['via-link'], 'symlinked variants count, folders without splits do not');
  await rm(linked, { recursive: true });
  assert.equal((await resolveVariant('b', root)).name, 'b');
  assert.equal((await resolveVariant(join(root, 'b'), '/nonexistent')).name, 'b');
  await assert.rejects(resolveVariant('nope', root), augmentError('NOT_FOUND', /variant "nope"/));
});

test('same valid/test splits are comparable, different ones are refused', async () => {
  const a = await readVariant(join(root, 'a'));
  const b = await readVariant(join(root, 'b'));
  const c = await readVariant(join(root, 'other-test'));
  assert.equal(evalSplitDifference(a, b), null);
  assert.match(evalSplitDifference(a, c) ?? '', /different test splits \(3 files differ, e\.g\. blue\/blue_002\.png only in other-test\)/);
});

test('bad variants: empty split, one class, classes differing between train and test', async () => {
  const empty = join(root, 'bad-empty');
  await writeVariant(root, 'bad-empty', { train: 2, valid: 1, test: 1, size: 8 });
  await rm(join(empty, 'test'), { recursive: true });
  await mkdir(join(empty, 'test'));
  await assert.rejects(readVariant(empty), augmentError('BAD_DATASET', /bad-empty: test has no images/));
  await rm(join(empty, 'test'), { recursive: true });
  await assert.rejects(readVariant(empty), augmentError('NOT_FOUND', /bad-empty: no test folder/));

  await writeVariant(root, 'bad-one', { train: 2, valid: 1, test: 1, size: 8, classes: ['red'] });
  await assert.rejects(readVariant(join(root, 'bad-one')), augmentError('BAD_DATASET', /only one class \(red\)/));

  await writeVariant(root, 'bad-classes', { train: 2, valid: 1, test: 1, size: 8 });
  await rm(join(root, 'bad-classes', 'test', 'green'), { recursive: true });
  await assert.rejects(readVariant(join(root, 'bad-classes')), augmentError('BAD_DATASET', /train and test have different classes \(class green in train but not in test\)/));
});

test('decode cache: bytes equal a direct decode, reused when unchanged, bounded reads', async () => {
  const v = await readVariant(join(root, 'b'));
  const cacheDir = join(root, 'cache');
  const c = await ensureSplitCache(v, 'train', 12, cacheDir);
  assert.equal(c.n, 12);
  assert.deepEqual(Array.from(c.labels), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  const reader = new BatchReader(c);
  try {
    const direct = await sharp(v.splits.train[5].path).removeAlpha().raw().toBuffer();
    assert.deepEqual(Buffer.from(reader.readRaw(5)), direct);
    const b = reader.read([5, 0]);
    assert.equal(b.n, 2);
    assert.deepEqual(Array.from(b.y), [1, 0]);
    assert.equal(b.x.length, 2 * 12 * 12 * 3);
    assert.ok(Math.abs(b.x[0] - (direct[0] / 127.5 - 1)) < 1e-7);
    assert.ok(b.x.every((t) => t >= -1 && t <= 1));
  } finally {
    reader.close();
  }
  const before = (await readdir(cacheDir)).sort();
  const again = await ensureSplitCache(v, 'train', 12, cacheDir);
  assert.equal(again.file, c.file);
  assert.deepEqual((await readdir(cacheDir)).sort(), before);
  // a different size is another cache, resized with fit: fill
  const small = await ensureSplitCache(v, 'train', 6, cacheDir);
  assert.notEqual(small.file, c.file);
  const r2 = new BatchReader(small);
  assert.equal(r2.readRaw(0).length, 6 * 6 * 3);
  r2.close();
});

test('an image that fails to decode is named, and no cache is left behind', async () => {
  await writeVariant(root, 'bad-image', { train: 2, valid: 1, test: 1, size: 8 });
  const broken = join(root, 'bad-image', 'train', 'green', 'green_001.png');
  await writeFile(broken, Buffer.from('this is not a png'));
  const v = await readVariant(join(root, 'bad-image'));
  const cacheDir = join(root, 'cache-bad');
  await assert.rejects(ensureSplitCache(v, 'train', 8, cacheDir), augmentError('BAD_IMAGE', /green_001\.png: /));
  assert.deepEqual(await readdir(cacheDir), []);
});

test('uniform order: a seeded permutation per epoch', () => {
  const labels = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 2, 2]);
  const o1 = epochOrder(labels, 'uniform', 1, 0);
  assert.deepEqual(Array.from(o1).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(epochOrder(labels, 'uniform', 1, 0), o1);
  assert.notDeepEqual(epochOrder(labels, 'uniform', 1, 1), o1);
  assert.notDeepEqual(epochOrder(labels, 'uniform', 2, 0), o1);
  assert.deepEqual(
    [...batches(o1, 4)].map((b) => b.length),
    [4, 4, 2],
  );
});

test('weighted sampler draws classes evenly, with replacement, as many draws as examples', () => {
  // 900 of class 0, 90 of class 1, 10 of class 2
  const labels = Int32Array.from([...Array(900).fill(0), ...Array(90).fill(1), ...Array(10).fill(2)]);
  const counts = [0, 0, 0];
  for (let epoch = 0; epoch < 6; epoch++) {
    const o = epochOrder(labels, 'weighted', 7, epoch);
    assert.equal(o.length, 1000);
    for (const i of o) counts[labels[i]]++;
  }
  // 6000 draws, expected 2000 per class; binomial sd ~ 37
  for (const c of counts) assert.ok(c > 1800 && c < 2200, `class counts ${counts}`);
  const o = epochOrder(labels, 'weighted', 7, 0);
  assert.ok(new Set(o).size < o.length, 'draws with replacement repeat examples');
  assert.deepEqual(epochOrder(labels, 'weighted', 7, 0), o);
});
