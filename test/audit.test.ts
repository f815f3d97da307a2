/**
 * augment audit on real files: the hostile source tree (test/helpers/hostile.ts), a variant
 * augment built from it (clean: nothing straddles splits), and a split dataset made elsewhere
 * with leaks (a mirrored copy in test, the same picture under another class in valid).
 * Library and CLI (`node --import tsx src/cli.ts audit ...`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { auditDataset, AUDIT_FINDINGS_EXIT_CODE, type AuditReport } from '../src/dataset/audit.ts';
import { buildVariant } from '../src/variant/build.ts';
import { parseRecipe } from '../src/recipe/load.ts';
import { tempDir, removeDir } from './helpers/dataset.ts';
import { cellImage, makeHostileTree, snapshotTree, type HostileTree } from './helpers/hostile.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
let base: string;
let tree: HostileTree;

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'audit', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const sortedGroups = (r: AuditReport) => r.groups.map((g) => g.files.map((f) => f.path).sort()).sort();

before(async () => {
  base = await tempDir('augment-audit-');
  tree = await makeHostileTree(base, { withDuplicates: true });
});
after(async () => removeDir(base));

test('a source: label conflicts by link and by content, duplicate groups, each link oddity once', async () => {
  const snap = await snapshotTree(tree.root);
  const r = await auditDataset(tree.root);
  assert.equal(r.kind, 'source');
  assert.deepEqual(r.conflicts.map((c) => c.paths).sort(), [...tree.expected.linkConflicts, ...tree.expected.contentConflicts].sort());
  assert.deepEqual(sortedGroups(r), tree.expected.groups.map((g) => g.slice().sort()).sort());
  assert.deepEqual(r.groups.filter((g) => g.kind === 'exact').map((g) => g.files.map((f) => f.path)), [['circles/c2-copy.png', 'circles/c2.png']]);
  const odd = (kind: string) => r.oddities.filter((n) => n.kind === kind).map((n) => n.rel);
  assert.deepEqual(odd('link-loop'), tree.expected.linkLoops);
  assert.deepEqual(odd('dir-revisited'), tree.expected.revisited);
  assert.deepEqual(odd('file-twice'), tree.expected.twice);
  assert.deepEqual(odd('broken-link'), tree.expected.brokenLinks);
  assert.deepEqual(odd('root-image'), tree.expected.rootImages);
  assert.deepEqual(odd('empty-class'), tree.expected.emptyClasses);
  assert.equal(r.clean, false);
  assert.deepEqual(r.straddling, []);
  assert.deepEqual([...(await snapshotTree(tree.root))], [...snap], 'the audit wrote to the source');
  // exact only: the near groups go
  const exact = await auditDataset(tree.root, { duplicates: 'exact' });
  assert.deepEqual(sortedGroups(exact), [['circles/c2-copy.png', 'circles/c2.png']]);
});

test('a variant augment built from the hostile tree: augmented copies left out, nothing across splits, clean (exit 0)', async () => {
  const recipe = parseRecipe(
    { source: tree.root, seed: 2, split: { ratios: [0.5, 0.25, 0.25], seed: 3 }, oversample: { maxFactor: 3, target: 'largest' }, ops: { sequence: [{ op: 'hflip' }, { op: 'rotate', degrees: [80, 100] }] } },
    'audit-hostile.yaml',
  );
  const out = join(base, 'variants', 'hostile');
  const built = await buildVariant(recipe, { out, concurrency: 2 });
  assert.ok(built.plan.after.train.stars > built.plan.before.train.stars, 'the recipe made copies');
  const r = await auditDataset(out);
  assert.equal(r.kind, 'splits');
  assert.ok(r.augmentedCopiesLeftOut > 0);
  assert.deepEqual(r.straddling, []);
  assert.deepEqual(r.conflicts, []);
  assert.equal(r.clean, true);
  assert.deepEqual(sortedGroups(r).length, tree.expected.groups.length);
  const c = cli(out);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /clean: no label conflicts and no group across splits/);
});

test('a split dataset made elsewhere: a mirrored copy across train/test and one picture under two classes are found (exit 3)', async () => {
  const dir = join(base, 'foreign');
  const put = async (rel: string, seed: string, f = (s: Sharp) => s) => {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await f(sharp(await cellImage(seed).png().toBuffer())).png().toFile(join(dir, rel));
  };
  for (let i = 0; i < 6; i++) {
    await put(`train/cats/c${i}.png`, `fc${i}`);
    await put(`train/dogs/d${i}.png`, `fd${i}`);
  }
  await put('valid/cats/c10.png', 'fc10');
  await put('valid/dogs/d0.png', 'fc1'); // the picture of train/cats/c1.png, labelled dogs
  await put('test/cats/c2-mirror.png', 'fc2', (s) => s.flop()); // train/cats/c2.png mirrored
  await put('test/dogs/d11.png', 'fd11');
  const r = await auditDataset(dir);
  assert.equal(r.kind, 'splits');
  assert.equal(r.augmentedCopiesLeftOut, 0);
  assert.deepEqual(r.conflicts.map((c) => [c.paths, c.classes]), [[['train/cats/c1.png', 'valid/dogs/d0.png'], ['cats', 'dogs']]]);
  assert.deepEqual(r.straddling.map((g) => [g.kind, g.splits, g.files.map((f) => f.path)]), [['near', ['train', 'test'], ['test/cats/c2-mirror.png', 'train/cats/c2.png']]]);
  assert.equal(r.clean, false);
  const c = cli(dir);
  assert.equal(c.code, AUDIT_FINDINGS_EXIT_CODE, c.err);
  assert.match(c.out, /train\/cats\/c1\.png = valid\/dogs\/d0\.png \(cats, dogs\)/);
  assert.match(c.out, /train\+test: near: test\/cats\/c2-mirror\.png, train\/cats\/c2\.png/);
  assert.match(c.out, /NOT CLEAN: 1 label conflict\(s\), 1 group\(s\) across splits/);
  const j = cli(dir, '--json');
  assert.equal(j.code, AUDIT_FINDINGS_EXIT_CODE);
  const parsed = JSON.parse(j.out) as AuditReport;
  assert.deepEqual(parsed.straddling.length, 1);
  assert.equal(parsed.clean, false);
});

test('bad flags and paths are one line naming them (exit 2)', () => {
  for (const [args, message] of [
    [[tree.root, '--near-distance', 'abc'], /^augment: Expected a whole number in \[0, 64\] for --near-distance but received "abc"\n$/],
    [[tree.root, '--duplicates', 'fuzzy'], /^augment: Expected one of near, exact for --duplicates but received "fuzzy"\n$/],
    [[tree.root, '--max-group', '0'], /^augment: Expected a whole number >= 1 for --max-group but received "0"\n$/],
    [[join(base, 'nowhere')], /nowhere: no such folder\n$/],
  ] as const) {
    const c = cli(...args);
    assert.equal(c.code, 2, `${args.join(' ')}: ${c.err}`);
    assert.match(c.err, message);
    assert.equal(c.err.split('\n').length, 2, c.err);
  }
});
