/**
 * What a budget's race spends its time on, on real tiny training runs (wasm, a tiny dense
 * model): every epoch of a rung is scored on a seeded, stratified subset of the valid split
 * sized to the budget; the test pass runs only for the finalists the table reports (those
 * that learned), from their selected checkpoints, after the race; a raced-out or not-learned
 * variant gets none and the table shows its valid figure; a budget that fits nothing is
 * refused before anything is written. Checked in images and records against the rates the
 * race was given, never by timing.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AugmentError } from '../src/errors.ts';
import { evaluate, type EvaluateOptions } from '../src/train/evaluate.ts';
import { validImagesFor, VALID_MIN_PER_CLASS } from '../src/train/race.ts';
import { validSubset } from '../src/train/units.ts';
import { tempDir, useWasm, writeShuffledVariant, writeVariant } from './helpers/variants.ts';
import { tinyEvaluateOptions } from './helpers/tiny-model.ts';

let root: string;
let variantsRoot: string;

// Inference predicted as slow as training: a whole valid pass (90 images) would cost more
// than half an epoch's training (36 images), so the race scores a subset.
const RATES = { trainImagesPerSecond: 10, evalImagesPerSecond: 30, decodeSecondsPerImage: 0.001 };
const VALID = 30; // per class

const base = (o: Partial<EvaluateOptions>): EvaluateOptions => tinyEvaluateOptions({ variantsRoot, cacheDir: join(root, 'cache') }, o);


interface Rec {
  variant: string;
  seed: number;
  rung: number;
  validImages?: number;
  tested?: boolean;
  test: { yTrue: number[]; yPred: number[] };
  summary: { testMacroF1: number | null; testMacroF1CI?: [number, number]; learned?: boolean };
  learned: { learned: boolean };
}

async function records(runDir: string): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const v of await readdir(join(runDir, 'train'))) {
    for (const s of await readdir(join(runDir, 'train', v))) {
      for (const f of await readdir(join(runDir, 'train', v, s))) {
        if (/^rung-\d+\.json$/.test(f)) out.push(JSON.parse(await readFile(join(runDir, 'train', v, s, f), 'utf8')));
      }
    }
  }
  return out;
}

before(async () => {
  await useWasm();
  root = await tempDir('augment-race-budget-');
  variantsRoot = join(root, 'variants');
  await writeVariant(variantsRoot, 'good', { train: 12, valid: VALID, test: 5, size: 12, seed: 'good' });
  await writeVariant(variantsRoot, 'good2', { train: 12, valid: VALID, test: 5, size: 12, seed: 'good2' });
  await writeShuffledVariant(variantsRoot, 'shuffled', { train: 12, valid: VALID, test: 5, size: 12, seed: 'good' });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the valid subset: stratified, the same images every time, every class kept', () => {
  const labels = Int32Array.from([...new Array(60).fill(0), ...new Array(30).fill(1), ...new Array(9).fill(2), 3]);
  const a = validSubset(labels, 20);
  assert.deepEqual(Array.from(a), Array.from(validSubset(labels, 20)), 'seeded: the same subset');
  assert.equal(a.length, 20);
  const counts = [0, 1, 2, 3].map((c) => Array.from(a).filter((i) => labels[i] === c).length);
  assert.deepEqual(counts.slice(0, 2), [12, 6], 'each class keeps its share');
  assert.ok(counts[2] >= 1 && counts[3] === 1, `every class present: ${counts}`);
  assert.ok(Array.from(a).every((x, i) => i === 0 || x > a[i - 1]), 'sorted, no repeats');
  assert.equal(validSubset(labels, 500).length, labels.length, 'a size past the split: all of it');
  // sized to the budget: at most half an epoch's training at the measured rates, at least 5 per class
  assert.equal(validImagesFor(36, { validImages: 90, numClasses: 3 }, RATES), 54);
  assert.equal(validImagesFor(4, { validImages: 90, numClasses: 3 }, RATES), VALID_MIN_PER_CLASS * 3);
  assert.equal(validImagesFor(3600, { validImages: 90, numClasses: 3 }, RATES), 90);
});

test('racing: epochs scored on the valid subset; the test pass only for the finalists that learned; the raced-out show valid figures', async () => {
  const runDir = join(root, 'runs', 'race');
  const lines: string[] = [];
  const r = await evaluate(base({ runDir, budget: 200, rates: RATES, settings: { seeds: 3, epochs: 6 }, log: (l) => lines.push(l) }));
  assert.ok(r.race);
  assert.equal(r.race!.fullValidImages, 3 * VALID);
  assert.equal(r.race!.validImages, 54, 'the subset the rates pay for');
  assert.equal(r.plan.race!.validImages, 54, 'planned before anything was written');
  const recs = await records(runDir);
  assert.ok(recs.length > 0);
  for (const x of recs) assert.equal(x.validImages, 54, `${x.variant} seed ${x.seed} rung ${x.rung} scored on the subset`);
  assert.ok(lines.some((l) => /^race: rung 1\/\d+: 3 variant\(s\) .*valid on 54 of 90 images/.test(l)), lines.join('\n'));

  const out = r.leaderboard.filter((l) => l.status === 'raced-out');
  assert.ok(out.length >= 1, 'three variants, the next rung has room for two');
  for (const row of out) {
    assert.equal(row.meanTestMacroF1, null, `${row.variant}: no test pass`);
    assert.equal(row.testMacroF1CI, undefined);
    assert.ok(row.meanValidMacroF1 >= 0 && row.meanValidMacroF1 <= 1);
    assert.equal(row.validImages, 54);
    for (const x of recs.filter((y) => y.variant === row.variant)) {
      assert.equal(x.tested, false);
      assert.equal(x.summary.testMacroF1, null);
      assert.equal(x.test.yPred.length, 0);
    }
  }
  const ranked = r.leaderboard.filter((l) => l.status === 'ranked');
  assert.ok(ranked.length >= 1, r.table);
  const lastRung = r.race!.rungs[r.race!.rungs.length - 1].rung;
  for (const row of ranked) {
    assert.equal(typeof row.meanTestMacroF1, 'number');
    assert.ok(row.testMacroF1CI, `${row.variant}: a test interval`);
    const finals = recs.filter((x) => x.variant === row.variant && x.rung === lastRung);
    assert.equal(finals.length, row.seeds);
    for (const x of finals) {
      assert.equal(x.tested, true, `${row.variant} seed ${x.seed}: tested after the race`);
      assert.equal(x.test.yPred.length, 15, 'on the whole test split');
      assert.equal(typeof x.summary.testMacroF1, 'number');
      assert.ok(r.race!.tested.includes(`${row.variant}/seed-${x.seed}`));
    }
    // earlier rungs of a finalist were not tested either: only the record the table reports
    for (const x of recs.filter((y) => y.variant === row.variant && y.rung < lastRung)) assert.equal(x.tested, false);
  }
  assert.equal(r.race!.tested.length, ranked.reduce((a, row) => a + row.seeds, 0));
  assert.ok(lines.some((l) => /^race: test pass \(15 images\) for \d+ unit\(s\) of the \d+ finalist\(s\) that learned/.test(l)), lines.join('\n'));
  assert.match(r.table, /valid macro-F1 .*on a seeded, stratified subset of 54 of the 90 valid images/);
  const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.race.validImages, 54);
  assert.equal(metrics.leaderboard.find((l: { status: string }) => l.status === 'raced-out').meanTestMacroF1, null);
  assert.ok(metrics.leaderboard.every((l: { status: string }) => ['ranked', 'raced-out', 'not-learned'].includes(l.status)));
});

test('racing where nobody learns: no test pass at all; every variant not learned, with its valid figure and the remedy', async () => {
  const lines: string[] = [];
  const r = await evaluate(base({ runDir: join(root, 'runs', 'chance'), budget: 200, rates: RATES, settings: { seeds: 3, epochs: 6, lr: 1e-9 }, log: (l) => lines.push(l) }));
  assert.deepEqual(
    r.leaderboard.map((l) => l.status),
    ['not-learned', 'not-learned', 'not-learned'],
  );
  assert.deepEqual(r.race!.tested, []);
  assert.ok(r.leaderboard.every((l) => l.meanTestMacroF1 === null && Number.isFinite(l.meanValidMacroF1)));
  assert.ok(lines.some((l) => /^race: no test pass: none of the 3 finalist\(s\) learned/.test(l)), lines.join('\n'));
  assert.match(r.table, /no variant learned: the table ranks nothing; try more --epochs/);
  assert.match(r.table, /good +- +- +- +0\.\d{4}/, 'test columns empty, the valid figure shown');
});

test('a budget that fits nothing is refused before anything is written, naming --budget', async () => {
  const runDir = join(root, 'runs', 'too-short');
  // rates of vgg16 width 1 on a busy 2-core machine
  const slow = { trainImagesPerSecond: 4, evalImagesPerSecond: 17, decodeSecondsPerImage: 0.003 };
  await assert.rejects(
    evaluate(base({ runDir, budget: '10s', rates: slow })),
    (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && /^--budget 10 s is too short for 3 variant\(s\) here: the shortest race/.test(e.message) && !e.message.includes('\n'),
  );
  await assert.rejects(stat(runDir), /ENOENT/);
  // the same rates and a budget that pays for a short race: planned, with a subset and the test reserve
  const dry = await evaluate(base({ runDir, budget: '2m', rates: slow, dryRun: true, settings: { seeds: 3, epochs: 6 } }));
  assert.equal(dry.plan.mode, 'race');
  assert.ok(dry.plan.race!.validImages <= 90);
  assert.ok(dry.plan.race!.testSeconds > 0);
  await assert.rejects(stat(runDir), /ENOENT/);
});

test('units faster than the plan predicted: the race adds rungs for the time left (never past --epochs / --seeds)', async () => {
  // the plan thinks 10 train img/s; the tiny model trains far faster, so the planned rungs leave time
  const o = base({ budget: 40, rates: RATES, settings: { seeds: 2, epochs: 8 } });
  const dry = await evaluate({ ...o, runDir: join(root, 'runs', 'extra-dry'), dryRun: true });
  const planned = dry.plan.race!.rungs;
  assert.ok(planned[planned.length - 1].epochs < 8, `the plan cannot pay for all 8 epochs: ${JSON.stringify(planned)}`);
  const lines: string[] = [];
  const r = await evaluate({ ...o, runDir: join(root, 'runs', 'extra'), log: (l) => lines.push(l) });
  assert.ok(r.race!.rungs.length > planned.length, JSON.stringify(r.race!.rungs));
  assert.ok(r.race!.rungs.length <= planned.length + 2);
  assert.ok(lines.some((l) => /^race: the planned rungs took less than planned .* one more rung$/.test(l)), lines.join('\n'));
  const last = r.race!.rungs[r.race!.rungs.length - 1];
  assert.ok(last.epochs > planned[planned.length - 1].epochs && last.epochs <= 8 && last.seeds <= 2);
  for (const l of r.leaderboard) assert.ok(['ranked', 'raced-out', 'not-learned'].includes(l.status));
});
