/**
 * `evaluate` beyond the plain grid, on real tiny training runs (wasm, a tiny dense model):
 * the plan and --dry-run, racing under a budget, the not-learned status, the shared decode
 * cache (a second run decodes nothing) and progress lines for logs. Budgets are checked in
 * unit counts against the rungs the race planned from the given rates, never by timing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { AugmentError } from '../src/errors.ts';
import { currentBackend } from '../src/train/backend/select.ts';
import { evaluate, type EvaluateOptions } from '../src/train/evaluate.ts';
import { listModels } from '../src/train/models/index.ts';
import { planRace } from '../src/train/ranking.ts';
import { MODEL_NAMES, parseDuration } from '../src/train/settings.ts';
import { tempDir, useWasm, writeShuffledVariant, writeVariant } from './helpers/variants.ts';
import { tinyEvaluateOptions } from './helpers/tiny-model.ts';

const run = promisify(execFile);
let root: string;
let variantsRoot: string;

// Slow predicted rates: every real unit finishes far sooner than predicted, so the race runs
// exactly the rungs planRace gives for these rates (unit counts, not timing, are checked).
const SLOW = { trainImagesPerSecond: 10, evalImagesPerSecond: 100, decodeSecondsPerImage: 0.001 };

const base = (o: Partial<EvaluateOptions>): EvaluateOptions => tinyEvaluateOptions({ variantsRoot, cacheDir: join(root, 'cache') }, o);


before(async () => {
  await useWasm();
  root = await tempDir('augment-race-');
  variantsRoot = join(root, 'variants');
  await writeVariant(variantsRoot, 'good', { train: 12, valid: 5, test: 5, size: 12, seed: 'good' });
  await writeVariant(variantsRoot, 'good2', { train: 12, valid: 5, test: 5, size: 12, seed: 'good2' });
  await writeShuffledVariant(variantsRoot, 'shuffled', { train: 12, valid: 5, test: 5, size: 12, seed: 'good' });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the model names known without tfjs match the registry', () => {
  assert.deepEqual([...MODEL_NAMES].sort(), listModels());
});

test('--budget values: seconds, minutes, hours; anything else names the flag', () => {
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('20m'), 1200);
  assert.equal(parseDuration('1.5h'), 5400);
  assert.equal(parseDuration('45'), 45);
  for (const bad of ['5x', '', '-3m', '0s', 'm']) {
    assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof AugmentError && /--budget/.test(e.message) && !e.message.includes('\n'), bad);
  }
});

test('dry run: the plan with a measured estimate, nothing trained, no run folder', async () => {
  const runDir = join(root, 'runs', 'dry');
  const lines: string[] = [];
  const r = await evaluate(base({ runDir, variants: ['good', 'shuffled'], dryRun: true, log: (l) => lines.push(l) }));
  assert.equal(r.dryRun, true);
  assert.equal(r.plan.units, 4);
  assert.equal(r.plan.mode, 'grid');
  assert.deepEqual(r.plan.variants, ['good', 'shuffled']);
  assert.equal(typeof r.plan.estimatedSeconds, 'number');
  assert.ok(r.plan.estimatedSeconds > 0 && Number.isFinite(r.plan.estimatedSeconds));
  assert.ok(r.plan.measured.trainImagesPerSecond > 0, 'measured from timed steps');
  assert.equal(r.plan.imagesPerEpoch.good, 36);
  assert.equal(r.leaderboard.length, 0);
  assert.ok(lines.some((l) => /^plan: 2 variant\(s\) x 2 seed\(s\) = 4 unit\(s\), up to 3 epoch\(s\) each, 36 train images per epoch/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^plan: estimated \d+ s/.test(l)), lines.join('\n'));
  assert.equal(r.backend, currentBackend()!.description, 'the library records the backend it selected');
  await assert.rejects(stat(runDir), /ENOENT/);
});

test('racing: the shuffled-label variant is raced out; the rungs are the planned ones; the table says who went when', async () => {
  const runDir = join(root, 'runs', 'race');
  const budget = 200;
  const lines: string[] = [];
  const r = await evaluate(base({ runDir, budget, rates: SLOW, settings: { seeds: 3, epochs: 6 }, log: (l) => lines.push(l) }));
  // what the race was allowed to plan for these rates
  const spe = 36 / SLOW.trainImagesPerSecond + 15 / SLOW.evalImagesPerSecond;
  const planned = planRace({ secondsPerEpoch: spe, secondsPerUnit: 15 / SLOW.evalImagesPerSecond, variants: 3, maxSeeds: 3, maxEpochs: 6, budgetSeconds: budget, eta: 3 });
  assert.equal(planned.fullGrid, false, 'the full grid does not fit: a real race');
  assert.ok(r.race, 'race in the result');
  assert.deepEqual(
    r.race!.rungs.map((x) => [x.epochs, x.seeds, x.variants.length]),
    planned.rungs.map((x) => [x.epochs, x.seeds, x.variants]),
  );
  // the work done never exceeds the planned budget (in epochs of units, at the given rates)
  const epochsTrained = r.race!.rungs.reduce((a, x, i) => a + x.variants.length * x.seeds * x.epochs - (i === 0 ? 0 : x.variants.length * Math.min(x.seeds, r.race!.rungs[i - 1].seeds) * r.race!.rungs[i - 1].epochs), 0);
  assert.ok(epochsTrained * spe <= budget, `${epochsTrained} unit-epochs x ${spe} s > ${budget} s`);
  const shuffled = r.leaderboard.find((l) => l.variant === 'shuffled')!;
  assert.equal(shuffled.status, 'raced-out');
  assert.equal(shuffled.rank, null);
  assert.equal(shuffled.racedOutAtRung, 0);
  for (const l of r.leaderboard) assert.ok(['ranked', 'raced-out', 'not-learned'].includes(l.status));
  assert.equal(r.leaderboard[0].status, 'ranked');
  assert.equal(r.leaderboard[0].rank, 1);
  assert.match(r.table, /shuffled .*raced out \(rung 1\)/);
  assert.ok(lines.some((l) => /^race: shuffled raced out after rung 1/.test(l)), lines.join('\n'));
  // survivors continued from their checkpoints: the final rung's history holds every epoch
  const finalEpochs = r.race!.rungs[r.race!.rungs.length - 1].epochs;
  for (const run of r.runs.filter((x) => x.variant !== 'shuffled')) assert.equal(run.epochsRun, finalEpochs);
  const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.race.budgetSeconds, budget);
  assert.equal(metrics.leaderboard.find((l: { variant: string }) => l.variant === 'shuffled').status, 'raced-out');
  assert.equal(typeof metrics.plan.estimatedSeconds, 'number');
});

test('a unit continued to more epochs gives the numbers of one run that long', async () => {
  // rung 0 then rung 1 of 'good' seed 1 (3 then 6 epochs) vs a grid unit of 6 epochs
  const raced = JSON.parse(await readFile(join(root, 'runs', 'race', 'train', 'good', 'seed-1', 'rung-1.json'), 'utf8'));
  const grid = await evaluate(base({ runDir: join(root, 'runs', 'six'), variants: ['good'], rates: SLOW, settings: { seeds: 1, epochs: raced.epochs } }));
  const one = JSON.parse(await readFile(join(root, 'runs', 'six', 'train', 'good', 'seed-1', 'rung-0.json'), 'utf8'));
  assert.equal(raced.history.length, one.history.length);
  raced.history.forEach((h: { trainLoss: number }, i: number) => assert.ok(Math.abs(h.trainLoss - one.history[i].trainLoss) < 1e-5, `epoch ${i + 1}: ${h.trainLoss} vs ${one.history[i].trainLoss}`));
  assert.equal(grid.runs[0].testMacroF1, raced.summary.testMacroF1);
});

test('not learned: a variant whose seeds stay at chance is not ranked, and the table says why', async () => {
  const lines: string[] = [];
  const r = await evaluate(base({ runDir: join(root, 'runs', 'noise'), variants: ['good', 'shuffled'], rates: SLOW, log: (l) => lines.push(l) }));
  const shuffled = r.leaderboard.find((l) => l.variant === 'shuffled')!;
  const good = r.leaderboard.find((l) => l.variant === 'good')!;
  assert.equal(good.status, 'ranked');
  assert.equal(good.rank, 1);
  assert.equal(shuffled.status, 'not-learned');
  assert.equal(shuffled.rank, null);
  assert.ok(r.runs.filter((x) => x.variant === 'shuffled').every((x) => x.learned === false));
  assert.ok(good.testMacroF1CI && good.testMacroF1CI[0] <= good.meanTestMacroF1! + 1e-9 && good.testMacroF1CI[1] >= good.testMacroF1CI[0]);
  assert.match(r.table, /shuffled .*not learned/);
  assert.match(r.table, /shuffled: not learned, not ranked: .*more --epochs/);
  assert.ok(lines.some((l) => /^shuffled: not learned, not ranked/.test(l)));
  // every run keeps its test predictions
  const rec = JSON.parse(await readFile(join(root, 'runs', 'noise', 'train', 'good', 'seed-1', 'rung-0.json'), 'utf8'));
  assert.equal(rec.test.yTrue.length, 15);
  assert.equal(rec.test.yPred.length, 15);

  // nobody learned: nothing ranked, and the table says so
  const none = await evaluate(base({ runDir: join(root, 'runs', 'none'), variants: ['good'], rates: SLOW, settings: { lr: 1e-9, seeds: 1, epochs: 1 } }));
  assert.equal(none.leaderboard[0].status, 'not-learned');
  assert.match(none.table, /no variant learned/);
});

test('data once: a second evaluate of the same variants decodes nothing; progress lines for logs', async () => {
  const cacheDir = join(root, 'cache-once');
  const lines: string[] = [];
  const first = await evaluate(base({ runDir: join(root, 'runs', 'once-1'), cacheDir, variants: ['good', 'good2'], rates: SLOW, heartbeatSeconds: 1e-6, settings: { seeds: 1, epochs: 1 }, log: (l) => lines.push(l) }));
  // valid and test are the same files in both variants: decoded once
  assert.equal(first.data.decoded, 36 + 36 + 15 + 15);
  assert.equal(first.data.decoded + first.data.reused, 2 * (36 + 15 + 15));
  const second = await evaluate(base({ runDir: join(root, 'runs', 'once-2'), cacheDir, variants: ['good', 'good2'], rates: SLOW, settings: { seeds: 1, epochs: 1 } }));
  assert.deepEqual(second.data, { decoded: 0, reused: 2 * (36 + 15 + 15) });
  assert.ok(lines.some((l) => /^progress: decoding: \d+\/\d+ images at 12 px$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^progress: good seed 1 epoch 1\/1: batch \d+\/5, \d+ img\/s, run ETA \d+ s$/.test(l)), lines.join('\n'));
});

test('CLI: --dry-run --json has the plan; --model and --budget are checked before the backend starts', async () => {
  const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
  const runDir = join(root, 'runs', 'cli-dry');
  const args = ['--import', 'tsx', cli, 'evaluate', 'good', 'good2', '--variants-root', variantsRoot, '--run', runDir, '--cache', join(root, 'cache'), '--backend', 'wasm'];
  const dry = await run(process.execPath, [...args, '--dry-run', '--json', '--model', 'resnet18', '--width', '0.0625', '--image-size', '32', '--epochs', '2', '--seeds', '3', '--batch-size', '8']);
  const j = JSON.parse(dry.stdout);
  assert.equal(j.plan.units, 6);
  assert.equal(typeof j.plan.estimatedSeconds, 'number');
  assert.equal(j.plan.model, 'resnet18');
  assert.match(dry.stderr, /^plan: estimated/m);
  await assert.rejects(stat(runDir), /ENOENT/);
  const cases: Array<[string[], RegExp]> = [
    [['--model', 'vgg17'], /^augment: Expected one of resnet18, resnet50, vgg16 for --model but received "vgg17"\n$/],
    [['--budget', '5x'], /^augment: Expected a duration such as 90s, 20m or 2h for --budget but received "5x"\n$/],
    [['--budget', '5m', '--shard', '0/2'], /^augment: --budget and --shard\/--shards do not combine/],
  ];
  for (const [extra, re] of cases) {
    const p = await run(process.execPath, [...args, ...extra]).then(
      () => null,
      (e) => e as { code: number; stderr: string },
    );
    assert.ok(p, `${extra.join(' ')} must fail`);
    assert.notEqual(p.code, 0);
    assert.match(p.stderr, re, 'no backend line: the flag was checked first');
  }
});

test('the library picks the CLI backend when the caller started none (never tfjs cpu)', async () => {
  const script = `
    import { evaluate } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'train', 'evaluate.ts'))};
    import { tf } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'train', 'tf.ts'))};
    const r = await evaluate({ variantsRoot: ${JSON.stringify(variantsRoot)}, variants: ['good'], dryRun: true, cacheDir: ${JSON.stringify(join(root, 'cache'))},
      settings: { model: 'resnet18', width: 0.0625, imageSize: 32, batchSize: 4, epochs: 1, seeds: 1 } });
    process.stdout.write(JSON.stringify({ tf: tf.getBackend(), backend: r.backend }));`;
  const p = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, AUGMENT_WASM_THREADS: '1' } });
  const got = JSON.parse(p.stdout) as { tf: string; backend: string };
  assert.notEqual(got.tf, 'cpu');
  assert.ok(['wasm', 'webgpu', 'tensorflow'].includes(got.tf), got.tf);
  assert.match(got.backend, /^(wasm|webgpu|node|node-gpu|tensorflow)/);
});

test('a budget that cannot pay for one short unit fails before anything is written; a dry run shows the rungs', async () => {
  const runDir = join(root, 'runs', 'too-short');
  await assert.rejects(
    evaluate(base({ runDir, budget: '2s', rates: SLOW })),
    (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && /^--budget 2 s is too short for 3 variant\(s\) here/.test(e.message) && !e.message.includes('\n'),
  );
  await assert.rejects(stat(runDir), /ENOENT/);
  const dry = await evaluate(base({ runDir, budget: 200, rates: SLOW, dryRun: true, settings: { seeds: 3, epochs: 6 } }));
  assert.equal(dry.plan.mode, 'race');
  assert.deepEqual(
    dry.plan.race!.rungs.map((r) => [r.epochs, r.seeds, r.variants]),
    [
      [2, 2, 3],
      [6, 3, 2],
    ],
  );
  assert.ok(dry.plan.estimatedSeconds <= 200 + dry.plan.decodeSeconds);
  await assert.rejects(stat(runDir), /ENOENT/);
});

test('racing while nobody learns drops nobody: chance-level differences are noise', async () => {
  const lines: string[] = [];
  const r = await evaluate(base({ runDir: join(root, 'runs', 'race-chance'), budget: 200, rates: SLOW, settings: { seeds: 3, epochs: 6, lr: 1e-9 }, log: (l) => lines.push(l) }));
  assert.ok(lines.some((l) => /^race: after rung 1 no variant has learned yet .*none dropped$/.test(l)), lines.join('\n'));
  assert.deepEqual(
    r.leaderboard.map((l) => l.status),
    ['not-learned', 'not-learned', 'not-learned'],
  );
  assert.ok(r.race!.rungs.every((x) => x.dropped.length === 0));
  assert.equal(r.race!.rungs[1].variants.length, 3, 'all three go on');
});
