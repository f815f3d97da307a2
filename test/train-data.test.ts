import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { AugmentError } from '../src/errors.ts';
import {
  BatchReader,
  countCached,
  decodeToSize,
  ensureSplitCache,
  ensureVariantCaches,
  measureDecodeSeconds,
  epochOrder,
  evalSplitDifference,
  listBuiltVariants,
  readVariant,
  resolveVariant,
  batches,
  type SplitCache,
} from '../src/train/data.ts';
import { resizeMany, resizeOne, stackedResizeStatus, stackPlan } from '../src/train/decode-image.ts';
import { contentKeys } from '../src/train/decode-keys.ts';
import { createRaw } from '../src/image/raw.ts';
import { rngFor } from '../src/rng.ts';
import { closeDecodePool, decodeFiles, decodeWorkerFailure, startDecodePool } from '../src/train/decode-pool.ts';
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

test('reads a variant made elsewhere with a link loop and a doubled file: each image once, under its own class', async () => {
  const dir = join(await tempDir(), 'looped');
  await writeVariant(dir, 'v', { train: 2, valid: 2, test: 2, size: 12 });
  const v0 = await readVariant(join(dir, 'v'));
  await symlink('..', join(dir, 'v', 'train', 'red', 'loop')); // train/red/loop -> train/
  await symlink(join(dir, 'v', 'train', 'blue', 'blue_000.png'), join(dir, 'v', 'train', 'blue', 'again.png'));
  const v = await readVariant(join(dir, 'v'));
  assert.deepEqual(
    v.splits.train.map((f) => [f.rel, v.classes[f.label]]),
    v0.splits.train.map((f) => [f.rel, v0.classes[f.label]]),
    'the loop adds no green or blue images to red, the second path to a file is not a second image',
  );
  await rm(dir, { recursive: true, force: true });
});

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

/** Every file under `dir` (relative, sorted), for "nothing else was written" checks. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? (e as any).path, e.name)))
    .sort();
}

const packsIn = async (cacheDir: string, size: number) => (await readdir(join(cacheDir, `${size}px-v1`))).filter((n) => n.endsWith('.pack'));

/** Asserts that every example of `c` holds the bytes a direct decode of its file gives. */
async function assertSameAsDirect(c: SplitCache, files: readonly { path: string }[]): Promise<void> {
  const reader = new BatchReader(c);
  try {
    for (let i = 0; i < c.n; i++) {
      assert.deepEqual(Buffer.from(reader.readRaw(i)), Buffer.from(await decodeToSize(files[i].path, c.imageSize)), `example ${i} (${files[i].path})`);
    }
  } finally {
    reader.close();
  }
}

test('decode cache: bytes equal a direct decode, reused when unchanged, bounded reads', async () => {
  const v = await readVariant(join(root, 'b'));
  const cacheDir = join(root, 'cache');
  const c = await ensureSplitCache(v, 'train', 12, cacheDir);
  assert.equal(c.n, 12);
  assert.deepEqual([c.decoded, c.reused], [12, 0]);
  assert.deepEqual(Array.from(c.labels), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  const reader = new BatchReader(c);
  try {
    // the images are 12 px already: the cache holds the PNG's own pixels
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
  const before = await tree(cacheDir);
  const again = await ensureSplitCache(v, 'train', 12, cacheDir);
  assert.deepEqual([again.decoded, again.reused], [0, 12], 'a second fill over the same files decodes nothing');
  assert.deepEqual(again.packs, c.packs);
  assert.deepEqual(Array.from(again.offsets), Array.from(c.offsets));
  assert.deepEqual(await tree(cacheDir), before, 'and writes nothing');
  // a different size is another set of records, resized with fit: fill (lanczos3)
  const small = await ensureSplitCache(v, 'train', 6, cacheDir);
  assert.deepEqual([small.decoded, small.reused], [12, 0]);
  assert.ok(small.packs.every((p) => !c.packs.includes(p)));
  const raw = await sharp(v.splits.train[3].path).removeAlpha().raw().toBuffer();
  const resized = await sharp(raw, { raw: { width: 12, height: 12, channels: 3 } }).resize(6, 6, { fit: 'fill' }).raw().toBuffer();
  const r2 = new BatchReader(small);
  assert.deepEqual(Buffer.from(r2.readRaw(3)), resized);
  r2.close();
});

test('decode cache: worker threads and the main thread give the same bytes as a direct decode', async () => {
  await writeVariant(root, 'wide', { train: 30, valid: 1, test: 1, size: 20 });
  const v = await readVariant(join(root, 'wide'));
  const paths = v.splits.train.map((f) => f.path);
  // started threads take every chunk; cold ones get help from this thread while they start
  assert.equal(await startDecodePool(2), true, `decode workers start (${decodeWorkerFailure()})`);
  const got = new Map<number, Buffer>();
  const split = await decodeFiles(paths, 9, { where: 'workers', threads: 2, onDecoded: (i, _sha, px) => got.set(i, Buffer.from(px)), onFailed: (_i, e) => assert.fail(e) });
  assert.deepEqual(split, { workers: 90, here: 0 });
  for (const [i, p] of paths.entries()) assert.deepEqual(got.get(i), Buffer.from(await decodeToSize(p, 9)), `worker-decoded ${p}`);
  await closeDecodePool();
  const viaWorkers = await ensureSplitCache(v, 'train', 9, join(root, 'cache-workers'), { decodeIn: 'workers', concurrency: 2 });
  const viaMain = await ensureSplitCache(v, 'train', 9, join(root, 'cache-main'), { decodeIn: 'main' });
  assert.equal(viaWorkers.decoded, 90);
  assert.equal(viaMain.decoded, 90);
  await assertSameAsDirect(viaWorkers, v.splits.train);
  await assertSameAsDirect(viaMain, v.splits.train);
  await closeDecodePool();
});

test('batched resize: byte-identical to one sharp call per image, on noise images of several geometries', async () => {
  const rng = rngFor('resize-many');
  const noise = (w: number, h: number) => createRaw(w, h, Uint8Array.from({ length: w * h * 3 }, () => rng.int(0, 255)));
  // [width, height, size]: factors 2, 2.29, 1.33, 3.76, 3.13 vertical (and 4.7 horizontal), odd edges; 224 -> 32 is not stacked
  for (const [w, h, size] of [[64, 64, 32], [64, 64, 28], [64, 64, 48], [64, 64, 17], [300, 100, 32], [65, 65, 32], [224, 224, 32], [20, 20, 20]]) {
    const images = Array.from({ length: 9 }, () => noise(w, h));
    const many = await resizeMany(images, size);
    for (const [k, img] of images.entries()) {
      assert.deepEqual(Buffer.from(many[k]), Buffer.from(await resizeOne(img, size)), `${w}x${h} -> ${size}, image ${k}`);
    }
    assert.equal(stackPlan(w, h, size) !== null, h / size < 4 && size < w && size < h);
  }
  const status = stackedResizeStatus();
  for (const g of ['64x64>32', '64x64>28', '64x64>48', '64x64>17', '300x100>32', '65x65>32']) assert.equal(status[g], true, `stacked resize used for ${g} (its self-check passed)`);
  assert.equal(status['224x224>32'], undefined, 'not stacked: one call per image');
});

test('decode cache: two variants sharing valid/test decode them once; a changed file is decoded again', async () => {
  const a = await readVariant(join(root, 'a'));
  const b = await readVariant(join(root, 'b'));
  const cacheDir = join(root, 'cache-shared');
  const va = await ensureSplitCache(a, 'valid', 12, cacheDir);
  const vb = await ensureSplitCache(b, 'valid', 12, cacheDir);
  assert.deepEqual([va.decoded, va.reused, vb.decoded, vb.reused], [6, 0, 0, 6], "b's valid split is a's files: reused");
  // one pass over both variants: each distinct image once (a: 10 train, b: 12 train, 6 valid, 6 test)
  const fresh = join(root, 'cache-both');
  const both = await ensureVariantCaches([a, b], 12, { cacheDir: fresh });
  assert.deepEqual([both.decoded, both.reused], [34, 12]);
  assert.equal(both.caches.get('b')!.test.reused, 6);
  await assertSameAsDirect(both.caches.get('b')!.test, b.splits.test);
  const again = await ensureVariantCaches([a, b], 12, { cacheDir: fresh });
  assert.deepEqual([again.decoded, again.reused], [0, 46]);
  assert.deepEqual(await countCached([a, b], 12, { cacheDir: fresh }), { cached: 46, toDecode: 0 });
  assert.deepEqual(await countCached([a, b], 12, { cacheDir: join(root, 'cache-none') }), { cached: 0, toDecode: 34 }, 'a plan counts each distinct image once');
  assert.ok((await measureDecodeSeconds(a.splits.train.map((f) => f.path), 12)) > 0);

  // same name, new content: decoded again, the other images reused
  await writeVariant(root, 'edited', { train: 2, valid: 1, test: 1, size: 12 });
  const first = await ensureSplitCache(await readVariant(join(root, 'edited')), 'train', 12, fresh);
  assert.equal(first.decoded, 6);
  const target = join(root, 'edited', 'train', 'red', 'red_001.png');
  await copyFile(join(root, 'edited', 'train', 'green', 'green_000.png'), target);
  const edited = await readVariant(join(root, 'edited'));
  const second = await ensureSplitCache(edited, 'train', 12, fresh);
  // the new red_001 has green_000's bytes, which the cache already holds: found by content
  assert.deepEqual([second.decoded, second.reused], [0, 6]);
  await writeFile(target, await sharp({ create: { width: 12, height: 12, channels: 3, background: '#123456' } }).png().toBuffer());
  const third = await ensureSplitCache(await readVariant(join(root, 'edited')), 'train', 12, fresh);
  assert.deepEqual([third.decoded, third.reused], [1, 5]);
  const r = new BatchReader(third);
  assert.deepEqual(Array.from(r.readRaw(5).subarray(0, 3)), [0x12, 0x34, 0x56]);
  r.close();
});

test('content keys: from the build manifest while a file is unchanged, else hashed once and remembered', async () => {
  await writeVariant(root, 'built', { train: 2, valid: 1, test: 1, size: 8 });
  const dir = join(root, 'built');
  let v = await readVariant(dir);
  const lines = v.splits.train.map((f) => JSON.stringify({ out: `train/${f.rel}`, bytes: f.size, sha256: '' }));
  // the manifest is written after the files (as augment build does); its sha256 values are real
  const shas = await Promise.all(v.splits.train.map(async (f) => createHash('sha256').update(await readFile(f.path)).digest('hex')));
  await new Promise((r) => setTimeout(r, 5));
  await writeFile(join(dir, 'manifest.jsonl'), lines.map((l, i) => l.replace('"sha256":""', `"sha256":"${shas[i]}"`)).join('\n') + '\n');
  const cacheDir = join(root, 'cache-keys');
  let k = await contentKeys(v, ['train', 'valid'], cacheDir);
  assert.deepEqual(k.keys.train, shas);
  assert.deepEqual(k.sources, { manifest: 6, memo: 0, hashed: 3 }, 'valid is not in this manifest: hashed');
  k = await contentKeys(v, ['valid'], cacheDir);
  assert.deepEqual(k.sources, { manifest: 0, memo: 3, hashed: 0 }, 'remembered in the hash memo');
  // a train file rewritten after the manifest: its manifest entry is no longer trusted
  await copyFile(v.splits.train[1].path, v.splits.train[0].path);
  v = await readVariant(dir);
  k = await contentKeys(v, ['train'], cacheDir);
  assert.deepEqual(k.sources, { manifest: 5, memo: 0, hashed: 1 });
  assert.equal(k.keys.train[0], shas[1]);
});

test('an image that fails to decode is named; what was decoded stays usable, nothing half-written', async () => {
  await writeVariant(root, 'bad-image', { train: 2, valid: 1, test: 1, size: 8 });
  const broken = join(root, 'bad-image', 'train', 'green', 'green_001.png');
  const good = await readFile(broken);
  await writeFile(broken, Buffer.from('this is not a png'));
  const v = await readVariant(join(root, 'bad-image'));
  const cacheDir = join(root, 'cache-bad');
  await assert.rejects(ensureSplitCache(v, 'train', 8, cacheDir), augmentError('BAD_IMAGE', /green_001\.png: /));
  const left = await tree(cacheDir);
  assert.ok(!left.some((f) => f.endsWith('.tmp') || f.endsWith('.lock')), `no temp file, no lock: ${left}`);
  assert.equal((await packsIn(cacheDir, 8)).length, 1, 'the five good images were kept');
  await writeFile(broken, good);
  const fixed = await ensureSplitCache(await readVariant(join(root, 'bad-image')), 'train', 8, cacheDir);
  assert.deepEqual([fixed.decoded, fixed.reused], [1, 5]);
  await assertSameAsDirect(fixed, v.splits.train);
  // a cache folder that cannot be made is one line naming it
  await writeFile(join(root, 'not-a-folder'), 'x');
  await assert.rejects(ensureSplitCache(v, 'train', 8, join(root, 'not-a-folder', 'cache')), augmentError('BAD_ARGUMENT', /decode cache folder .*not-a-folder\/cache: cannot create .*ENOTDIR/));
});

test('an interrupted fill keeps what it decoded; the next one decodes only the rest', async () => {
  const v = await readVariant(join(root, 'wide')); // 90 images, written by an earlier test
  const cacheDir = join(root, 'cache-interrupted');
  const stop = new AbortController();
  await assert.rejects(
    ensureSplitCache(v, 'train', 10, cacheDir, { decodeIn: 'main', concurrency: 1, signal: stop.signal, onProgress: () => stop.abort() }),
    augmentError('INTERRUPTED', /decoding interrupted after \d+ of 90 images/),
  );
  assert.ok(!(await tree(cacheDir)).some((f) => f.endsWith('.tmp') || f.endsWith('.lock')));
  const rest = await ensureSplitCache(v, 'train', 10, cacheDir);
  assert.ok(rest.decoded > 0 && rest.decoded < 90 && rest.decoded + rest.reused === 90, `decoded ${rest.decoded}, reused ${rest.reused}`);
  await assertSameAsDirect(rest, v.splits.train);
});

const child = join(import.meta.dirname, 'helpers', 'decode-cache-child.ts');
function runChild(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
function outputOf(p: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)))));
}

test('a fill killed half-way leaves the cache usable: its temp pack and lock are cleared by the next fill', async () => {
  await writeVariant(root, 'killed', { train: 8, valid: 1, test: 1, size: 10 });
  const dir = join(root, 'killed');
  const cacheDir = join(root, 'cache-killed');
  const p = runChild([dir, cacheDir, '10', '--hang']);
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (d) => String(d).includes('started') && resolve());
    p.on('close', (code) => reject(new Error(`child ended (${code}) before it started decoding`)));
  });
  p.kill('SIGKILL');
  await new Promise((r) => p.on('close', r));
  const stale = await tree(cacheDir);
  assert.ok(stale.some((f) => f.endsWith('.pack.tmp')) && stale.includes(join('10px-v1', '.fill.lock')), `the killed fill left its temp pack and lock: ${stale}`);
  assert.deepEqual(await packsIn(cacheDir, 10), [], 'and no visible pack');
  const v = await readVariant(dir);
  const c = await ensureSplitCache(v, 'train', 10, cacheDir);
  assert.deepEqual([c.decoded, c.reused], [24, 0]);
  await assertSameAsDirect(c, v.splits.train);
  const after = await tree(cacheDir);
  assert.ok(!after.some((f) => f.endsWith('.tmp') || f.endsWith('.lock')), `cleared: ${after}`);
});

test('two processes filling one cache at once: each image decoded once, a consistent cache', async () => {
  await writeVariant(root, 'racing', { train: 20, valid: 1, test: 1, size: 16 });
  const dir = join(root, 'racing');
  const cacheDir = join(root, 'cache-racing');
  const [o1, o2] = await Promise.all([outputOf(runChild([dir, cacheDir, '8'])), outputOf(runChild([dir, cacheDir, '8']))]);
  const r1 = JSON.parse(o1.trim());
  const r2 = JSON.parse(o2.trim());
  assert.equal(r1.decoded + r1.reused, 60);
  assert.equal(r2.decoded + r2.reused, 60);
  assert.equal(r1.decoded + r2.decoded, 60, `one decodes, the other waits and reuses (${o1.trim()} ${o2.trim()})`);
  assert.equal((await packsIn(cacheDir, 8)).length, 1);
  const v = await readVariant(dir);
  const c = await ensureSplitCache(v, 'train', 8, cacheDir);
  assert.deepEqual([c.decoded, c.reused], [0, 60]);
  await assertSameAsDirect(c, v.splits.train);
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
