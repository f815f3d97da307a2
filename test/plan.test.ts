/** Count rules of every shipped recipe, checked against the seed's formulas written out here. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadRecipe, parseRecipe, listRecipes, SHIPPED_RECIPES_DIR } from '../src/recipe/load.ts';
import { fillSeeds, planBuild, tierFor } from '../src/variant/plan.ts';
import { outputEscapes } from '../src/variant/build.ts';
import { writeManifestFrom, type LineRef } from '../src/variant/manifest.ts';
import { rngFor } from '../src/rng.ts';
import { tempDir, removeDir } from './helpers/dataset.ts';
import type { SplitFiles } from '../src/dataset/split.ts';

// a 10.9x-imbalanced train split like the tabler sample's, plus small valid/test
const trainCounts: Record<string, number> = { big: 490, second: 400, mid: 120, small: 60, tiny: 45, rare: 7 };
const split: SplitFiles = { train: {}, valid: {}, test: {} };
for (const [c, n] of Object.entries(trainCounts)) {
  split.train[c] = Array.from({ length: n }, (_, i) => `${c}/t${i}.png`);
  split.valid[c] = Array.from({ length: Math.ceil(n / 3) }, (_, i) => `${c}/v${i}.png`);
  split.test[c] = Array.from({ length: Math.ceil(n / 3) }, (_, i) => `${c}/s${i}.png`);
}
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

async function shipped(name: string) {
  return loadRecipe(join(SHIPPED_RECIPES_DIR, `${name}.yaml`));
}

function randomExpect(counts: Record<string, number>, maxFactor: number) {
  const max = Math.max(...Object.values(counts));
  return Object.fromEntries(Object.entries(counts).map(([c, n]) => [c, n * Math.min(maxFactor, Math.floor(max / n))]));
}

test('every shipped recipe loads and they all share one split', async () => {
  const names = (await listRecipes()).map((r) => r.name);
  for (const n of ['baseline', 'augmented', 'random', 'random_v2', 'random_v3', 'random_v4']) assert.ok(names.includes(n), n);
  const splits = await Promise.all(names.map(async (n) => JSON.stringify((await loadRecipe(n)).split)));
  assert.equal(new Set(splits).size, 1);
});

test('baseline: originals only', async () => {
  const p = planBuild(await shipped('baseline'), split);
  assert.deepEqual(p.after, p.before);
  assert.ok(p.jobs.every((j) => j.outputs.length === 1 && j.outputs[0].copy === 0));
});

for (const [name, factor] of [['random', 7], ['random_v2', 12]] as const) {
  test(`${name}: each image once plus min(${factor}, floor(max/n)) - 1 copies`, async () => {
    const p = planBuild(await shipped(name), split);
    assert.deepEqual(p.after.train, randomExpect(trainCounts, factor));
    assert.deepEqual(p.after.valid, p.before.valid);
    assert.deepEqual(p.after.test, p.before.test);
    assert.ok(Object.entries(p.after.train).every(([c, n]) => n <= factor * trainCounts[c]));
  });
}

for (const [name, keep] of [['random_v3', 0.8], ['random_v4', 0.6]] as const) {
  test(`${name}: the two largest classes cut to ${keep * 100}%, then up to 7x of the new largest`, async () => {
    const p = planBuild(await shipped(name), split);
    const cut = { ...trainCounts, big: Math.round(490 * keep), second: Math.round(400 * keep) };
    assert.deepEqual(p.after.train, randomExpect(cut, 7));
    assert.equal(p.target, Math.max(...Object.values(cut)));
    assert.deepEqual(p.after.test, p.before.test);
    // the kept files are a seeded choice, not the head of the listing
    const kept = p.jobs.filter((j) => j.split === 'train' && j.class === 'big').map((j) => j.source);
    assert.notDeepEqual(kept, split.train.big.slice(0, kept.length));
  });
}

test('augmented: tiers 1/4/8/13 by round(max/n), capped back to the largest class', async () => {
  const p = planBuild(await shipped('augmented'), split);
  const max = 490;
  for (const [c, n] of Object.entries(trainCounts)) {
    const per = tierFor([1, 4, 8, 13], max / n);
    assert.equal(p.after.train[c], Math.min(n * per, Math.max(max, n)), c);
  }
  assert.equal(p.after.train.big, 490);
  assert.equal(p.after.train.second, 400); // within 1.5x of the largest: originals only
  assert.equal(p.after.train.mid, 480); // round(490 / 120) = 4 -> 4 per image
  assert.equal(p.after.train.small, 480); // round(490 / 60) = 8 -> tier 8
  assert.equal(p.after.train.tiny, 490); // round(490 / 45) = 11 -> tier 13 = 585, cut back to 490
  assert.equal(p.after.train.rare, 91); // 7 * 13
});

test('copy seeds and names are stable and distinct', async () => {
  const p = planBuild(await shipped('random'), split);
  const outs = p.jobs.flatMap((j) => j.outputs.map((o) => o.out));
  assert.equal(new Set(outs).size, outs.length);
  const seeds = p.jobs.flatMap((j) => j.outputs.map((o) => o.seed));
  assert.equal(new Set(seeds).size, seeds.length);
  assert.deepEqual(planBuild(await shipped('random'), split).jobs, p.jobs);
});

test('recipe errors name the file and the field', async () => {
  const base = parse(await readFile(join(SHIPPED_RECIPES_DIR, 'random.yaml'), 'utf8'));
  const bad = (patch: object) => () => parseRecipe({ ...base, ...patch }, 'recipes/x.yaml');
  assert.throws(bad({ oversample: { maxFactor: 0 } }), /^AugmentError: recipes\/x.yaml: oversample.maxFactor: .*at least 1/);
  assert.throws(bad({ oversample: { maxFactor: -3 } }), /recipes\/x.yaml: oversample.maxFactor/);
  assert.throws(bad({ undersample: { largest: 2, keep: 1.5 } }), /recipes\/x.yaml: undersample.keep/);
  assert.throws(bad({ colour: 'red' }), /recipes\/x.yaml: .*unknown field "colour"/);
  assert.throws(bad({ ops: { sequence: [{ op: 'twirl' }] } }), /recipes\/x.yaml: .*twirl.*rotate/);
  assert.throws(bad({ fill: 'purple' }), /recipes\/x.yaml: fill/);
  const absent = parseRecipe({ ...base, undersample: { classes: ['L2_25'], keep: 0.8 } }, 'recipes/y.yaml');
  assert.throws(() => planBuild(absent, split), /recipes\/y.yaml: undersample.classes: no class named "L2_25"/);
});

test('output paths that could leave the variant folder are refused, lexically; every planned output passes', async () => {
  for (const bad of ['', '/etc/x.png', '../x.png', 'train/../../x.png', 'train/a/..', 'train/..', 'train/a\0b.png'])
    assert.equal(outputEscapes(bad), true, JSON.stringify(bad));
  for (const good of ['train/a/b.png', 'train/..a/b..png', 'train/a/.../x.png', 'valid/a/.hidden.png', 'test/a/sub/dir/x.aug3.png'])
    assert.equal(outputEscapes(good), false, good);
  // a name with a backslash is one name on POSIX, separators on Windows
  assert.equal(outputEscapes('train/a/..\\..\\x.png'), process.platform === 'win32');
  const p = planBuild(await shipped('random_v3'), split);
  assert.ok(p.jobs.every((j) => j.outputs.every((o) => !outputEscapes(o.out))));
});

test('writeManifestFrom copies the referenced lines in the order given, across files and windows, and refuses a short file', async () => {
  const dir = await tempDir();
  try {
    const rng = rngFor('manifest-from');
    const files = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
    const lines: Array<{ ref: LineRef; text: string }> = [];
    for (let f = 0; f < files.length; f++) {
      let at = 0;
      const parts: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const text = JSON.stringify({ out: `f${f}/${i}`, pad: 'x'.repeat(rng.int(0, 900)) }); // ~1.4 MB a file: more than one window
        lines.push({ ref: { file: f, at, length: Buffer.byteLength(text) }, text });
        parts.push(text);
        at += Buffer.byteLength(text) + 1;
      }
      await writeFile(files[f], parts.join('\n') + '\n');
    }
    // nearly in file order with local swaps, then jumps back and forth, then all shuffled
    const near = lines.map((l, i) => ({ l, k: i + rng.int(0, 40) })).sort((x, y) => x.k - y.k).map((x) => x.l);
    for (const order of [near, rng.shuffle(lines)]) {
      const target = join(dir, 'manifest.jsonl');
      writeManifestFrom(target, files, order.map((l) => l.ref));
      assert.equal(await readFile(target, 'utf8'), order.map((l) => l.text).join('\n') + '\n');
    }
    const last = lines[2999].ref;
    assert.throws(() => writeManifestFrom(join(dir, 'm2.jsonl'), files, [{ ...last, length: last.length + 5 }]), /shorter than journalled/);
    assert.throws(() => writeManifestFrom(join(dir, 'm2.jsonl'), files, [{ ...last, at: last.at + 10_000_000 }]), /shorter than journalled/);
  } finally {
    await removeDir(dir);
  }
});

test('planBuild without seeds, then fillSeeds per job, equals the plan with seeds', async () => {
  const recipe = await shipped('random_v3');
  const lazy = planBuild(recipe, split, { seeds: false });
  assert.ok(lazy.jobs.every((j) => j.outputs.every((o) => o.seed === '')));
  for (const j of lazy.jobs) fillSeeds(recipe, j);
  assert.deepEqual(lazy, planBuild(recipe, split));
});
