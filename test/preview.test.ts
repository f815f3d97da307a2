/**
 * `previewRecipe` (augment preview) on real files: the sheet's shape follows -n and --copies,
 * only train images of the class asked for are shown, the source is never written to, a preview
 * alone makes no folders, and bad values are refused before the scan. The bad invocations
 * through the CLI are in test/cli-errors.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { AugmentError } from '../src/errors.ts';
import { previewRecipe } from '../src/preview/preview.ts';
import { parseRecipe } from '../src/recipe/load.ts';
import { makeDataset, removeDir, tempDir, treeHashes } from './helpers/dataset.ts';

let root: string;
let src: string;
let cwd: string;

const recipe = () =>
  parseRecipe(
    {
      source: src,
      seed: 1,
      split: { ratios: [0.6, 0.2, 0.2], seed: 7 },
      oversample: { maxFactor: 4, target: 'largest' },
      ops: { sequence: [{ op: 'rotate', degrees: [0, 90] }, { op: 'hflip', p: 0.5 }] },
    },
    join(root, 'r.yaml'),
  );

before(async () => {
  root = await tempDir();
  src = join(root, 'src');
  await makeDataset(src, { big: 20, small: 5 }, 24);
  cwd = join(root, 'cwd');
  await mkdir(cwd);
});
after(async () => removeDir(root));

test('the sheet: -n rows of a class that gets copies, 1 + --copies columns, PNG of the stated size', async () => {
  const before = await treeHashes(src);
  const r = await previewRecipe(recipe(), { out: 'sheet.png', n: 2, copies: 3, tile: 64, cwd });
  assert.equal(r.file, join(cwd, 'sheet.png'));
  assert.equal(r.rows, 2);
  assert.equal(r.columns, 4, 'the original and 3 copies');
  const m = await sharp(r.file).metadata();
  assert.equal(m.format, 'png');
  assert.equal(m.width, 4 * 64 + 5 * 6);
  assert.equal(m.height, 28 + 2 * (64 + 34 + 6) + 6);
  assert.deepEqual(await readdir(cwd), ['sheet.png'], 'no data/ (scan cache) and no temp file left in the working folder');
  assert.deepEqual([...(await treeHashes(src))], [...before], 'the source is untouched');
});

test('--class shows that class only; -n larger than the class shows every train image of it', async () => {
  const r = await previewRecipe(recipe(), { out: 'small.png', class: 'small', n: 50, copies: 2, tile: 32, cwd });
  assert.equal(r.rows, 3, 'small has 5 images: 3 in train (0.6)');
  assert.equal(r.columns, 3);
});

test('bad values are refused before the scan, naming the flag', async () => {
  const isBad = (re: RegExp) => (e: unknown) => e instanceof AugmentError && re.test(e.message) && !e.message.includes('\n');
  await assert.rejects(previewRecipe(recipe(), { out: 'x.png', n: 0, cwd }), isBad(/for -n but received 0/));
  await assert.rejects(previewRecipe(recipe(), { out: 'x.png', copies: 1.5, cwd }), isBad(/for --copies but received 1.5/));
  await assert.rejects(previewRecipe(recipe(), { out: 'x.jpg', cwd }), isBad(/--out x\.jpg: expected a \.png file name/));
  await assert.rejects(previewRecipe(recipe(), { out: join(src, 'big', 'x.png'), cwd }), isBad(/is inside the source/));
  await assert.rejects(previewRecipe(recipe(), { out: 'x.png', source: join(root, 'nope'), cwd }), isBad(/--source .*nope: no such folder/));
  await assert.rejects(previewRecipe(recipe(), { out: 'x.png', class: 'medium', cwd }), isBad(/--class medium: no such class in .*\(classes: big, small\)/));
  assert.ok(!(await readdir(cwd)).includes('x.png'));
});
