/**
 * A source tree that tries to fool the scan (test/helpers/hostile.ts): link loops, links out of
 * the root, a link between classes, files reached twice, the same picture under other names and
 * classes, near-duplicate re-encodes, an empty class, an image at the root.
 * Real files, real links, real sharp; the build runs on it and the source stays unchanged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, realpath } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { scanSource, type ScanResult } from '../src/dataset/scan.ts';
import { splitWithGroups } from '../src/dataset/split.ts';
import { buildVariant } from '../src/variant/build.ts';
import { summarizeBuild } from '../src/variant/summary.ts';
import { parseRecipe } from '../src/recipe/load.ts';
import { countClasses } from '../src/stats/count.ts';
import type { ManifestEntry } from '../src/variant/manifest.ts';
import { tempDir, removeDir } from './helpers/dataset.ts';
import { makeHostileTree, snapshotTree, type HostileTree } from './helpers/hostile.ts';

let base: string;
let tree: HostileTree;
let scan: ScanResult;

before(async () => {
  base = await tempDir('augment-hostile-');
  tree = await makeHostileTree(base, { withDuplicates: true });
  scan = await scanSource(tree.root);
});
after(async () => removeDir(base));

const relsOf = (kind: string) => scan.skipped.filter((n) => n.kind === kind).map((n) => n.rel);

test('a link loop is not walked again: no file is reached through it', () => {
  assert.deepEqual(relsOf('link-loop'), tree.expected.linkLoops);
  assert.ok(!scan.files.some((f) => f.rel.startsWith('triangles/loop/') || f.rel.startsWith('triangles/self/')), 'a file reached through a loop');
  assert.deepEqual(
    scan.files.filter((f) => f.class === 'triangles').map((f) => f.rel),
    [...tree.trueClass].filter(([, c]) => c === 'triangles').map(([p]) => relative(tree.root, p)).sort(),
  );
});

test('links are followed, out of the root too; a folder reached twice is walked once', () => {
  assert.deepEqual(scan.classes, ['circles', 'squares', 'stars', 'triangles']);
  assert.equal(scan.files.filter((f) => f.class === 'stars').length, 4);
  assert.deepEqual(scan.files.filter((f) => f.rel.startsWith('circles/extra/')).map((f) => f.rel), ['circles/extra/e0.png', 'circles/extra/e1.png']);
  assert.deepEqual(relsOf('dir-revisited'), tree.expected.revisited);
  assert.deepEqual(scan.files.filter((f) => f.rel.includes('s10')).map((f) => f.rel), ['squares/sub/s10.png']);
});

test('a file reached twice is one file; a file under two classes is a named conflict in neither', () => {
  assert.deepEqual(relsOf('file-twice'), tree.expected.twice);
  assert.ok(!scan.files.some((f) => f.rel === 'circles/twin.png'));
  assert.ok(scan.files.some((f) => f.rel === 'circles/c0.png'));
  const conflicts = scan.skipped.filter((n) => n.kind === 'label-conflict' && /same file/.test(n.reason));
  assert.deepEqual(conflicts.map((n) => [n.rel, ...(n.also ?? [])]), tree.expected.linkConflicts);
  assert.match(conflicts[0].reason, /circles, squares/);
  for (const rel of tree.expected.linkConflicts[0]) assert.ok(!scan.files.some((f) => f.rel === rel), `${rel} kept`);
});

test('the same picture under two names in two classes is a label conflict in neither', () => {
  const conflicts = scan.skipped.filter((n) => n.kind === 'label-conflict' && /same picture/.test(n.reason));
  assert.deepEqual(conflicts.map((n) => [n.rel, ...(n.also ?? [])]), tree.expected.contentConflicts);
  for (const rel of tree.expected.contentConflicts.flat()) assert.ok(!scan.files.some((f) => f.rel === rel), `${rel} kept`);
  // the same picture twice in one class is no conflict: both stay
  assert.ok(scan.files.some((f) => f.rel === 'circles/c2-copy.png') && scan.files.some((f) => f.rel === 'circles/c2.png'));
});

test('exact and near duplicates (JPEG, mirrored, rotated, resized) are the groups the split keeps together, and nothing else is', () => {
  const recipe = parseRecipe({ source: tree.root, split: { ratios: [0.6, 0.2, 0.2], seed: 1 } }, 'hostile.yaml');
  const { groups, files } = splitWithGroups(scan.files, recipe.split);
  assert.deepEqual(groups.map((g) => g.slice().sort()).sort(), tree.expected.groups.map((g) => g.slice().sort()).sort());
  const off = splitWithGroups(scan.files, { ...recipe.split, duplicates: 'off' });
  assert.deepEqual(off.groups, []);
  const exact = splitWithGroups(scan.files, { ...recipe.split, duplicates: 'exact' });
  assert.deepEqual(exact.groups, [['circles/c2-copy.png', 'circles/c2.png']]);
  for (const s of ['train', 'valid', 'test'] as const) for (const cls of Object.keys(files[s])) assert.ok(files[s][cls].every((r) => r.startsWith(`${cls}/`)));
});

test('broken links, images at the root, empty class folders and non-images are each named once; hidden entries are not', () => {
  assert.deepEqual(relsOf('broken-link'), tree.expected.brokenLinks);
  assert.deepEqual(relsOf('root-image'), tree.expected.rootImages);
  assert.deepEqual(relsOf('empty-class'), tree.expected.emptyClasses);
  assert.deepEqual(scan.emptyClasses, ['empty']);
  assert.deepEqual(scan.ignored.map((n) => n.rel), ['circles/notes.txt']);
  const named = [...scan.skipped, ...scan.ignored].map((n) => n.rel);
  assert.equal(new Set(named).size, named.length, `named twice: ${named}`);
  assert.ok(!named.some((r) => r.includes('.hidden') || r.includes('.DS_Store')));
  assert.ok(!scan.files.some((f) => f.rel.includes('.hidden')));
});

test('the build labels every image by its real class, puts each file in one split, lists the oddities, and writes nothing to the source', async () => {
  const beforeSnap = await snapshotTree(base);
  const recipe = parseRecipe({ source: tree.root, split: { ratios: [0.6, 0.2, 0.2], seed: 1 } }, 'hostile.yaml');
  const out = join(base, 'variants', 'hostile');
  const r = await buildVariant(recipe, { out, concurrency: 2 });
  const lines = (await readFile(join(out, 'manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ManifestEntry);
  const splitOf = new Map<string, string>();
  for (const e of lines) {
    const real = await realpath(join(tree.root, e.source));
    assert.equal(e.class, tree.trueClass.get(real), `${e.out} from ${e.source} (${real})`);
    assert.ok(e.out.startsWith(`${e.split}/${e.class}/`));
    assert.ok(!splitOf.has(real) || splitOf.get(real) === e.split, `${real} in ${splitOf.get(real)} and ${e.split}`);
    splitOf.set(real, e.split);
    splitOf.set(e.source, e.split);
  }
  for (const g of tree.expected.groups) assert.equal(new Set(g.map((rel) => splitOf.get(rel))).size, 1, `group ${g} straddles splits: ${g.map((rel) => splitOf.get(rel))}`);
  assert.equal(lines.length, tree.trueClass.size);
  const info = JSON.parse(await readFile(join(out, 'variant.json'), 'utf8'));
  assert.deepEqual(info.skipped.map((n: { rel: string }) => n.rel), scan.skipped.map((n) => n.rel));
  assert.deepEqual(info.ignored.map((n: { rel: string }) => n.rel), ['circles/notes.txt']);
  const summary = summarizeBuild(r, base);
  for (const rel of ['triangles/loop', 'squares/again', 'circles/twin.png', 'circles/c1.png', 'squares/deep/c3.png', 'stray.png', 'empty', 'triangles/gone.png'])
    assert.ok(summary.includes(rel), `summary does not name ${rel}: ${summary}`);
  // the variants folder is outside the source; everything else under base is untouched
  const afterSnap = await snapshotTree(base);
  for (const k of [...afterSnap.keys()]) if (k.startsWith('variants')) afterSnap.delete(k);
  for (const k of [...beforeSnap.keys()]) if (k.startsWith('variants')) beforeSnap.delete(k);
  assert.deepEqual([...afterSnap], [...beforeSnap]);
});

test('augment stats counts the hostile tree by the same walk: the loop adds nothing', async () => {
  const counts = await countClasses(tree.root);
  assert.equal(counts.triangles, scan.files.filter((f) => f.class === 'triangles').length);
  assert.equal(counts.stars, 4);
  assert.equal(counts.squares, scan.files.filter((f) => f.class === 'squares').length + 1); // + deep/c3.png, a content conflict the scan leaves out
});
