/** augment build on real files: determinism, resume after a kill, split integrity, bad input. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildVariant } from '../src/variant/build.ts';
import { parseRecipe } from '../src/recipe/load.ts';
import { scanCacheFile } from '../src/dataset/scan.ts';
import { makeDataset, tempDir, removeDir, treeHashes, iconPng } from './helpers/dataset.ts';

let root: string;
let src: string;
const counts = { apple: 14, banana: 6, cherry: 3 };

const recipeDoc = (extra: object = {}) => ({
  source: src,
  seed: 3,
  split: { ratios: [0.6, 0.2, 0.2], seed: 42 },
  oversample: { maxFactor: 4, target: 'largest' },
  ops: {
    sequence: [
      { op: 'colorJitter', brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 },
      { op: 'gaussianBlur', kernel: [5, 9], sigma: [0.1, 2.0] },
      { op: 'perspective', distortion: 0.5, p: 0.5 },
      { op: 'rotate', degrees: [0, 180] },
      { op: 'affine', degrees: [0, 180] },
      { op: 'invert', p: 0.5 },
    ],
  },
  fill: 'black',
  ...extra,
});

async function writeRecipe(name: string, extra: object = {}): Promise<string> {
  const f = join(root, `${name}.yaml`);
  await writeFile(f, JSON.stringify(recipeDoc(extra))); // JSON is YAML
  return f;
}

before(async () => {
  root = await tempDir();
  src = join(root, 'src');
  await makeDataset(src, counts);
});
after(async () => removeDir(root));

test('same bytes at concurrency 1 and 4; counts follow the recipe', async () => {
  const recipe = await writeRecipe('r1');
  const a = await buildVariant(recipe, { out: join(root, 'v', 'c1'), concurrency: 1 });
  const b = await buildVariant(recipe, { out: join(root, 'v', 'c4'), concurrency: 4 });
  assert.equal(a.written, b.written);
  const ha = await treeHashes(a.variantDir);
  const hb = await treeHashes(b.variantDir);
  assert.deepEqual([...ha], [...hb]);
  // train: apple 8 originals (14 * 0.6 rounded), banana 4 -> min(4, floor(8/4)) = 2x, cherry
  assert.deepEqual(a.plan.after.train, { apple: 8, banana: 8, cherry: 4 });
  assert.ok(ha.has('manifest.jsonl') && ha.has('variant.json'));
  const manifest = (await readFile(join(a.variantDir, 'manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(manifest.length, a.written);
  const copy = manifest.find((e) => e.copy > 0);
  assert.ok(copy.ops.length >= 4, 'sampled ops recorded');
  assert.ok(copy.ops.every((o: any) => typeof o.op === 'string' && typeof o.params === 'object'));
  assert.ok(manifest.filter((e) => e.split !== 'train').every((e) => e.copy === 0 && e.ops.length === 0), 'valid/test never augmented');
});

test('a second run writes nothing; a changed fill rebuilds only the copies', async () => {
  const recipe = await writeRecipe('r2');
  const out = join(root, 'v', 'r2');
  const first = await buildVariant(recipe, { out, concurrency: 2 });
  const again = await buildVariant(recipe, { out, concurrency: 2 });
  assert.equal(again.written, 0);
  assert.equal(again.unchanged, first.written);
  const recipe2 = await writeRecipe('r2', { fill: 'white' });
  const changed = await buildVariant(recipe2, { out, concurrency: 2 });
  const copies = first.plan.jobs.reduce((n, j) => n + j.outputs.filter((o) => o.copy > 0).length, 0);
  assert.equal(changed.written, copies);
  // fewer copies: stale files are removed
  const recipe3 = await writeRecipe('r2', { fill: 'white', oversample: { maxFactor: 2, target: 'largest' } });
  const smaller = await buildVariant(recipe3, { out, concurrency: 2 });
  assert.ok(smaller.removed > 0);
  const files = [...(await treeHashes(out, '{train,valid,test}/**'))].length;
  assert.equal(files, smaller.written + smaller.unchanged);
});

test('a killed build resumes to the same bytes as an uninterrupted one', async (t) => {
  const big = join(root, 'big');
  await makeDataset(big, { a: 80, b: 20, c: 10 }, 48);
  const recipe = await writeRecipe('r3', { source: big, oversample: { maxFactor: 6, target: 'largest' } });
  const clean = await buildVariant(recipe, { out: join(root, 'v', 'clean'), concurrency: 2 });
  const out = join(root, 'v', 'killed');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'build', recipe, '--out', out, '-j', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  // Kill it once the journal shows finished files. No deadline: on a busy machine the child may
  // be slow to start, or may finish before the kill lands; both still end in a resume check.
  const manifest = join(out, 'manifest.jsonl');
  const journalled = () => readFile(manifest, 'utf8').then((text) => text.split('\n').filter((l) => l.trim()).length, () => 0);
  let running = true;
  void exited.then(() => (running = false));
  while (running && (await journalled()) < 1) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  const { code, signal } = await exited;
  const killed = signal === 'SIGKILL';
  assert.ok(killed || code === 0, `the child build failed by itself (exit ${code}): ${stderr}`);
  t.diagnostic(killed ? 'killed mid-way' : 'the child finished before the kill: resume is checked on the finished tree');
  const partial = await treeHashes(out, '{train,valid,test}/**/*.png');
  assert.ok(partial.size <= clean.written, `${partial.size} of ${clean.written}`);
  for (const f of partial.keys()) await sharp(join(out, f)).raw().toBuffer(); // every visible file is whole
  const kept = await journalled();
  const resumed = await buildVariant(recipe, { out, concurrency: 2 });
  assert.equal(resumed.written + resumed.unchanged, clean.written, 'the resume makes every planned file');
  if (killed) assert.ok(resumed.unchanged > 0, `finished files were kept (${resumed.unchanged} kept; the journal had ${kept} lines)`);
  else assert.equal(resumed.written, 0, 'a finished build is not redone');
  const hc = await treeHashes(clean.variantDir);
  const hr = await treeHashes(out);
  assert.deepEqual([...hr], [...hc]);
});

test('an aborted build (Ctrl-C) stops dispatching, and a rerun completes it', async () => {
  const abortSrc = join(root, 'abort');
  await makeDataset(abortSrc, { a: 40, b: 10, c: 5 });
  const recipe = await writeRecipe('rabort', { source: abortSrc, oversample: { maxFactor: 4, target: 'largest' } });
  const out = join(root, 'v', 'aborted');
  const ac = new AbortController();
  await assert.rejects(
    buildVariant(recipe, { out, concurrency: 1, signal: ac.signal, onProgress: (p) => p.phase === 'build' && p.done > 0 && ac.abort() }),
    /interrupted after \d+ of \d+ files; run the same command again to resume/,
  );
  const partial = (await treeHashes(out, '{train,valid,test}/**')).size;
  const resumed = await buildVariant(recipe, { out, concurrency: 2 });
  assert.ok(partial > 0 && partial < resumed.written + resumed.unchanged, `stopped early (${partial} files)`);
  assert.equal(resumed.unchanged, partial);
});

test('variants from one source and split seed share byte-identical valid and test files', async () => {
  const a = await buildVariant(await writeRecipe('ra'), { out: join(root, 'v', 'ra') });
  const b = await buildVariant(await writeRecipe('rb', { oversample: undefined, ops: undefined, undersample: { largest: 1, keep: 0.5 } }), { out: join(root, 'v', 'rb') });
  assert.equal(a.splitFile, b.splitFile);
  for (const s of ['valid', 'test']) assert.deepEqual([...(await treeHashes(a.variantDir, `${s}/**`))], [...(await treeHashes(b.variantDir, `${s}/**`))]);
  assert.equal(b.plan.after.train.apple, 4); // 8 * 0.5
  const trainA = new Set((await treeHashes(a.variantDir, 'train/**')).keys());
  for (const f of (await treeHashes(a.variantDir, '{valid,test}/**')).keys()) assert.ok(!trainA.has(f.replace(/^(valid|test)/, 'train')));
});

test('the decode-check cache is on disk when a build returns, when it is only prepared, and when it fails', async () => {
  const cached = async (variants: string, source: string) => Object.keys(JSON.parse(await readFile(scanCacheFile(variants, source), 'utf8'))).sort();
  const recipe = await writeRecipe('rcache');
  await buildVariant(recipe, { out: join(root, 'vc1', 'x'), concurrency: 2 }); // written while the workers build, awaited
  assert.equal((await cached(join(root, 'vc1'), src)).length, 14 + 6 + 3);
  await buildVariant(recipe, { out: join(root, 'vc2', 'x'), prepare: true });
  assert.equal((await cached(join(root, 'vc2'), src)).length, 14 + 6 + 3);
  const bad = join(root, 'cache-bad');
  await makeDataset(bad, { a: 3, b: 3 });
  await writeFile(join(bad, 'a', 'text.png'), 'this is not a png\n');
  const strict = await writeRecipe('rcache-bad', { source: bad });
  await assert.rejects(buildVariant(strict, { out: join(root, 'vc3', 'x'), strict: true }), /not an image.*--strict/);
  assert.ok((await cached(join(root, 'vc3'), bad)).includes('a/text.png'), 'the failed build scanned and cached the source');
});

test('bad source files are listed and excluded; --strict makes them fatal; the source is untouched', async () => {
  const bad = join(root, 'bad');
  await makeDataset(bad, { ok: 6, other: 5 });
  await mkdir(join(bad, 'empty'));
  await writeFile(join(bad, 'ok', 'zero.png'), '');
  await writeFile(join(bad, 'ok', 'text.png'), 'this is not a png\n');
  const good = await iconPng(99);
  await writeFile(join(bad, 'other', 'truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
  await writeFile(join(bad, 'other', '.hidden.png'), good);
  await writeFile(join(bad, 'other', 'notes.txt'), 'ignored');
  const before = await treeHashes(bad);
  const recipe = await writeRecipe('rbad', { source: bad });
  const r = await buildVariant(recipe, { out: join(root, 'v', 'bad') });
  const reasons = Object.fromEntries(r.unreadable.map((u) => [u.rel, u.reason]));
  assert.match(reasons['ok/zero.png'], /empty/);
  assert.match(reasons['ok/text.png'], /not an image/);
  assert.match(reasons['other/truncated.png'], /truncated|corrupt/);
  assert.equal(Object.keys(reasons).length, 3);
  assert.deepEqual(r.plan.classes, ['ok', 'other']); // the empty class takes no part
  await assert.rejects(buildVariant(recipe, { out: join(root, 'v', 'bad2'), strict: true }), /bad\/ok\/text.png: not an image.*--strict/);
  assert.deepEqual([...(await treeHashes(bad))], [...before]);
});

test('odd but valid inputs: grey, alpha, 16-bit, CMYK, EXIF-rotated, unicode names', async () => {
  const odd = join(root, 'odd');
  await mkdir(join(odd, 'grey'), { recursive: true });
  await mkdir(join(odd, 'colour'), { recursive: true });
  const base = sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 200, g: 30, b: 60 } } });
  await base.clone().greyscale().png().toFile(join(odd, 'grey', 'g1.png'));
  // another colour: the same picture in two classes would be a label conflict, left out
  await sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 90, g: 160, b: 30 } } }).png({ bitdepth: 16 } as any).toFile(join(odd, 'grey', 'deep16.png'));
  await sharp({ create: { width: 20, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(join(odd, 'grey', 'alpha.png'));
  await base.clone().jpeg().withMetadata({ orientation: 6 }).toFile(join(odd, 'colour', 'exif6.jpg'));
  await base.clone().toColourspace('cmyk').jpeg().toFile(join(odd, 'colour', 'cmyk.jpg'));
  await base.clone().png().toFile(join(odd, 'colour', 'ünïcødé 名前.png'));
  const recipe = await writeRecipe('rodd', { source: odd, split: { ratios: [1, 0, 0], seed: 1 }, oversample: undefined, ops: undefined });
  const r = await buildVariant(recipe, { out: join(root, 'v', 'odd') });
  assert.deepEqual(r.unreadable, []);
  const exif = await sharp(join(r.variantDir, 'train', 'colour', 'exif6.png')).metadata();
  assert.deepEqual([exif.width, exif.height], [10, 20], 'EXIF orientation 6 honoured');
  for (const f of ['train/grey/g1.png', 'train/grey/deep16.png', 'train/grey/alpha.png', 'train/colour/cmyk.png', 'train/colour/ünïcødé 名前.png']) {
    const m = await sharp(join(r.variantDir, f)).metadata();
    assert.equal(m.channels, 3, `${f} is RGB`);
    assert.equal(m.depth, 'uchar', `${f} is 8-bit`);
  }
  const alpha = await sharp(join(r.variantDir, 'train/grey/alpha.png')).raw().toBuffer();
  assert.equal(alpha[0], 255, 'transparent flattened onto white');
});

test('a huge image is refused by the pixel limit, naming the file', async () => {
  const huge = join(root, 'huge');
  await makeDataset(huge, { a: 3, b: 3 });
  await sharp({ create: { width: 400, height: 300, channels: 3, background: 'white' } }).png().toFile(join(huge, 'a', 'huge.png'));
  const recipe = await writeRecipe('rhuge', { source: huge });
  await assert.rejects(buildVariant(recipe, { out: join(root, 'v', 'huge'), pixelLimit: 100_000, strict: true }), /huge\/a\/huge.png: image is 400 x 300 = 120,000 pixels, over the limit/);
});

test('unsafe outputs are refused', async () => {
  const recipe = await writeRecipe('runsafe');
  await assert.rejects(buildVariant(recipe, { out: join(src, 'variants', 'x') }), /inside the source/);
  const foreign = join(root, 'foreign');
  await mkdir(foreign);
  await writeFile(join(foreign, 'precious.txt'), 'keep me');
  await assert.rejects(buildVariant(recipe, { out: foreign }), /not an augment variant/);
  assert.equal(await readFile(join(foreign, 'precious.txt'), 'utf8'), 'keep me');
  assert.throws(() => parseRecipe({ ...recipeDoc(), oversample: { maxFactor: 0 } }, 'x.yaml'), /x.yaml: oversample.maxFactor/);
  await stat(src);
});
