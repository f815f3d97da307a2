/**
 * `evaluate` through the real model registry: no `createModel` override, so the network is the
 * one `augment evaluate --model resnet18` (or vgg16) trains, built by src/train/models/. Tiny on
 * purpose (width 0.125, 32 px, 1 epoch, 1 seed, two 3-class variants of generated pictures):
 * what is checked is the wiring from the registry to the leaderboard and the saved weights, not
 * accuracy. The measured rates are given (`rates`) so the plan does not time the machine.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { evaluate } from '../src/train/evaluate.ts';
import { MODEL_NAMES } from '../src/train/settings.ts';
import { CLASSES, tempDir, useWasm, writeVariant } from './helpers/variants.ts';

let root: string;
let variantsRoot: string;
const TRAIN = { many: 6, few: 2 };

before(async () => {
  await useWasm();
  root = await tempDir('augment-eval-registry-');
  variantsRoot = join(root, 'variants');
  for (const [name, train] of Object.entries(TRAIN)) await writeVariant(variantsRoot, name, { train, valid: 3, test: 3, size: 32 });
});
after(async () => rm(root, { recursive: true, force: true }));

/** Layers of a saved tfjs layers model (model.json's topology), by class name. */
async function layerClasses(weightsDir: string): Promise<string[]> {
  const json = JSON.parse(await readFile(join(weightsDir, 'model.json'), 'utf8'));
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (typeof o.class_name === 'string' && o.config && typeof o.config === 'object' && 'name' in (o.config as object)) out.push(o.class_name);
      for (const v of Object.values(o)) visit(v);
    }
  };
  visit(json.modelTopology);
  return out;
}

for (const [model, convs] of [
  ['resnet18', 20], // 1 stem + 16 in the basic blocks + 3 projection shortcuts
  ['vgg16', 13],
] as const) {
  test(`${model} from the registry: evaluate ranks both variants and saves the ${model} it trained`, async () => {
    assert.ok(MODEL_NAMES.includes(model));
    const runDir = join(root, 'runs', model);
    const r = await evaluate({
      variantsRoot,
      runDir,
      cacheDir: join(root, 'cache'),
      charts: false,
      rates: { trainImagesPerSecond: 500, evalImagesPerSecond: 2000, decodeSecondsPerImage: 0.001 },
      settings: { model, width: 0.125, imageSize: 32, epochs: 1, seeds: 1, batchSize: 6, patience: 0 },
    });
    assert.equal(r.settings.model, model);
    assert.deepEqual(r.classes, [...CLASSES].sort());

    // the leaderboard: one row per variant, ranked rows first in rank order
    assert.deepEqual(r.leaderboard.map((l) => l.variant).sort(), Object.keys(TRAIN).sort());
    let lastRank = 0;
    let seenUnranked = false;
    for (const row of r.leaderboard) {
      assert.ok(['ranked', 'not-learned'].includes(row.status), `${row.variant}: ${row.status}`);
      if (row.status === 'ranked') {
        assert.ok(!seenUnranked, 'ranked rows come first');
        assert.ok(Number.isInteger(row.rank) && row.rank! >= 1 && row.rank! >= lastRank, `rank ${row.rank} after ${lastRank}`);
        lastRank = row.rank!;
      } else {
        seenUnranked = true;
        assert.equal(row.rank, null);
      }
      assert.equal(row.seeds, 1);
      assert.equal(row.trainSize, TRAIN[row.variant as keyof typeof TRAIN] * CLASSES.length);
      for (const v of [row.meanTestMacroF1, row.meanTestAccuracy, row.meanValidMacroF1]) assert.ok(v !== null && v >= 0 && v <= 1, `${row.variant}: ${v}`);
      if (row.testMacroF1CI) assert.ok(row.testMacroF1CI[0] <= row.testMacroF1CI[1], `${row.testMacroF1CI}`);
      assert.ok(Array.isArray(row.tiedWith) && row.tiedWith.every((t) => t in TRAIN && t !== row.variant));
    }

    // one run per variant and seed, each with the weights of the registry's network
    assert.equal(r.runs.length, 2);
    for (const run of r.runs) {
      assert.equal(run.testConfusion.flat().reduce((a, b) => a + b, 0), 3 * CLASSES.length, 'every test image predicted once');
      const layers = await layerClasses(join(runDir, run.weights!));
      // (tfjs's Conv2D, or augment's AugmentPlainConv2D with torchvision's padding)
      assert.equal(layers.filter((c) => /Conv2D$/.test(c)).length, convs, `${model} has ${convs} convolutions: ${layers.join(' ')}`);
      assert.equal(layers.some((c) => /BatchNorm/.test(c)), model === 'resnet18', 'batch norm in resnet18 only');
    }
    const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
    assert.equal(metrics.settings.model, model);
    assert.deepEqual(metrics.leaderboard.map((l: { variant: string }) => l.variant), r.leaderboard.map((l) => l.variant));
  });
}
