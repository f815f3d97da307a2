/**
 * `evaluate` end to end on wasm with a tiny model: two generated variants sharing valid/test,
 * the run folder's files, the sorted leaderboard, resume of a finished run, and the bad
 * inputs (one line each, non-zero exit, nothing half-written).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { AugmentError } from '../src/errors.ts';
import { QUICK_PRESET, settingsFromArgs } from '../src/commands/evaluate.ts';
import { evaluate, latestUnfinishedRun, type EvaluateOptions } from '../src/train/evaluate.ts';
import { tempDir, useWasm, writeVariant } from './helpers/variants.ts';
import { tinyEvaluateOptions } from './helpers/tiny-model.ts';

const run = promisify(execFile);
let root: string;
let variantsRoot: string;

const base = (o: Partial<EvaluateOptions>): EvaluateOptions => tinyEvaluateOptions({ variantsRoot, cacheDir: join(root, 'cache') }, o);

before(async () => {
  await useWasm();
  root = await tempDir();
  variantsRoot = join(root, 'variants');
  await writeVariant(variantsRoot, 'many', { train: 12, valid: 5, test: 5, size: 12 });
  await writeVariant(variantsRoot, 'few', { train: 1, valid: 5, test: 5, size: 12 });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('ranks two variants and writes the run folder', async () => {
  const runDir = join(root, 'runs', 'two');
  const r = await evaluate(base({ runDir, charts: true }));
  assert.deepEqual(
    r.leaderboard.map((l) => l.variant).sort(),
    ['few', 'many'],
  );
  assert.ok(r.leaderboard[0].meanTestMacroF1! >= r.leaderboard[1].meanTestMacroF1!, 'sorted by mean test macro-F1');
  // 12 train images per class beat 1 per class by a wide margin on this data
  assert.equal(r.leaderboard[0].variant, 'many');
  assert.ok(r.leaderboard[0].meanTestMacroF1! > r.leaderboard[1].meanTestMacroF1! + 0.1);
  assert.equal(r.runs.length, 4);
  for (const l of r.leaderboard) assert.equal(l.seeds, 2);
  const files = await readdir(runDir);
  for (const f of ['config.json', 'metrics.json', 'epochs.csv', 'curves.png', 'confusion-many.png', 'confusion-few.png']) assert.ok(files.includes(f), `${f} in ${files}`);
  const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.leaderboard[0].variant, r.leaderboard[0].variant);
  assert.deepEqual(metrics.classes, ['blue', 'green', 'red']);
  // the record of the experiment: augment's version (from package.json), the machine, the command
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(metrics.augmentVersion, pkg.version);
  assert.match(metrics.machine, / CPUs?/);
  assert.equal(typeof metrics.command, 'string');
  const csv = (await readFile(join(runDir, 'epochs.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv[0], 'variant,seed,epoch,lr,train_loss,valid_loss,valid_macro_f1,valid_accuracy,train_seconds,images_per_second');
  assert.equal(csv.length, 1 + 2 * 2 * 3);
  for (const run of r.runs) {
    const w = await readdir(join(runDir, run.weights!));
    assert.deepEqual(w.sort(), ['model.json', 'weights.bin']);
    assert.equal(run.testConfusion.flat().reduce((a, b) => a + b, 0), 15);
  }
  const png = await sharp(join(runDir, 'curves.png')).metadata();
  assert.equal(png.format, 'png');
  assert.match(r.table, /rank +variant +test macro-F1/);

  // re-running the same folder: refused without --resume, reused with it
  await assert.rejects(evaluate(base({ runDir })), /already holds a run; pass --resume/);
  const again = await evaluate(base({ runDir, resume: true, settings: {} }));
  assert.deepEqual(again.leaderboard, r.leaderboard);
  assert.ok(again.runs.every((x) => x.resumedAfterEpoch === 3));
  await assert.rejects(evaluate(base({ runDir, resume: true, settings: { epochs: 5 } })), /--epochs 5 differs from the run being resumed/);
});

test('an interrupted evaluate resumes where it stopped', async () => {
  const runDir = join(root, 'runs', 'interrupted');
  const ac = new AbortController();
  const opts = base({ runDir, settings: { seeds: 1, epochs: 2 } });
  await assert.rejects(
    evaluate({ ...opts, signal: ac.signal, log: (line) => (/^few seed 1: selected/.test(line) ? ac.abort() : undefined) }),
    (e: unknown) => e instanceof AugmentError && e.code === 'INTERRUPTED' && e.message.includes(`--run ${runDir} --resume`),
  );
  const files = await readdir(runDir);
  assert.ok(files.includes('config.json') && !files.includes('metrics.json'));
  assert.equal(await latestUnfinishedRun(join(root, 'runs')), runDir, '--resume without --run finds it');
  const lines: string[] = [];
  const r = await evaluate({ ...opts, resume: true, settings: {}, log: (l) => lines.push(l) });
  assert.ok(lines.includes('few seed 1: already finished, result reused'), lines.join('\n'));
  assert.deepEqual(
    r.runs.map((x) => [x.variant, x.resumedAfterEpoch]),
    [
      ['few', 2],
      ['many', 0],
    ],
  );
  assert.equal((await readFile(join(runDir, 'epochs.csv'), 'utf8')).trim().split('\n').length, 1 + 2 * 2);
});

async function assertNoRun(runDir: string): Promise<void> {
  await assert.rejects(stat(runDir), /ENOENT/, `${runDir} must not exist`);
}

const oneLine = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof AugmentError && e.code === code && re.test(e.message) && !e.message.includes('\n');

test('bad input: one clear line each, nothing written', async () => {
  const runDir = join(root, 'runs', 'bad');
  await assert.rejects(evaluate(base({ runDir, variants: ['missing'] })), oneLine('NOT_FOUND', /variant "missing"/));
  await assertNoRun(runDir);

  await writeVariant(join(root, 'bad'), 'one-class', { train: 2, valid: 1, test: 1, size: 12, classes: ['red'] });
  await assert.rejects(evaluate(base({ runDir, variants: [join(root, 'bad', 'one-class')] })), oneLine('BAD_DATASET', /only one class/));

  await writeVariant(join(root, 'bad'), 'diff-classes', { train: 2, valid: 1, test: 1, size: 12 });
  await rm(join(root, 'bad', 'diff-classes', 'test', 'red'), { recursive: true });
  await assert.rejects(evaluate(base({ runDir, variants: [join(root, 'bad', 'diff-classes')] })), oneLine('BAD_DATASET', /train and test have different classes/));

  await writeVariant(join(root, 'bad'), 'other-test', { train: 2, valid: 5, test: 4, size: 12 });
  await assert.rejects(evaluate(base({ runDir, variants: ['many', join(root, 'bad', 'other-test')] })), oneLine('BAD_DATASET', /different test splits/));

  await writeVariant(join(root, 'bad'), 'empty', { train: 0, valid: 1, test: 1, size: 12 });
  await assert.rejects(evaluate(base({ runDir, variants: [join(root, 'bad', 'empty')] })), oneLine('BAD_DATASET', /train has no images/));

  await writeVariant(join(root, 'bad'), 'broken', { train: 2, valid: 5, test: 5, size: 12 });
  await writeFile(join(root, 'bad', 'broken', 'train', 'blue', 'blue_001.png'), Buffer.alloc(40, 7));
  await assert.rejects(evaluate(base({ runDir, variants: ['many', join(root, 'bad', 'broken')] })), oneLine('BAD_IMAGE', /blue_001\.png: /));
  await assertNoRun(runDir);

  await assert.rejects(evaluate(base({ runDir, settings: { model: 'vgg99' } })), oneLine('BAD_ARGUMENT', /Expected one of tiny for --model but received "vgg99"/));
  await assert.rejects(evaluate(base({ runDir, settings: { schedule: 'piecewise', piecewise: '1e-3:x' } })), oneLine('BAD_ARGUMENT', /--piecewise/));
  await assert.rejects(evaluate(base({ runDir, settings: { loss: 'focal', focalAlpha: [1, 2] } })), oneLine('BAD_ARGUMENT', /--focal-alpha has 2 weights but the variants have 3 classes/));
  await assertNoRun(runDir);
  await assert.rejects(evaluate(base({ runDir, variantsRoot: join(root, 'nothing-here'), variants: [] })), oneLine('NOT_FOUND', /no built variants/));
  await assertNoRun(runDir);
});

test('flags to settings: strict numbers, the quick preset', () => {
  assert.throws(() => settingsFromArgs({ epochs: 'ten' }), oneLine('BAD_ARGUMENT', /Expected a whole number >= 1 for --epochs but received "ten"/));
  assert.throws(() => settingsFromArgs({ width: '0.5x' }), oneLine('BAD_ARGUMENT', /--width/));
  assert.throws(() => settingsFromArgs({ focalAlpha: '1,x' }), oneLine('BAD_ARGUMENT', /--focal-alpha/));
  assert.deepEqual(settingsFromArgs({ lr: '3e-4', epochs: '5' }).lr, 3e-4);
  const q = settingsFromArgs({ quick: true, epochs: '2' });
  assert.equal(q.epochs, 2, 'explicit flags win over the preset');
  assert.equal(q.width, QUICK_PRESET.width);
});

test('CLI: bad flags exit non-zero with one line on stderr', async () => {
  const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
  const cases: Array<[string[], RegExp]> = [
    [['--lr', 'fast'], /^augment: Expected a positive number such as 1e-3 for --lr but received "fast"\n$/],
    [['--backend', 'cuda9'], /^augment: Unknown backend "cuda9" for --backend: expected one of node-gpu, webgpu, node, wasm\n$/],
    [['--threads', '1.5'], /^augment: Expected a whole number of threads, 1 or more for --threads but received "1.5"\n$/],
  ];
  for (const [args, re] of cases) {
    const runDir = join(root, 'runs', 'cli');
    const p = await run(process.execPath, ['--import', 'tsx', cli, 'evaluate', '--run', runDir, '--variants-root', variantsRoot, ...args]).then(
      () => null,
      (e) => e as { code: number; stderr: string },
    );
    assert.ok(p, `${args.join(' ')} must fail`);
    assert.notEqual(p.code, 0);
    assert.match(p.stderr.replace(/^backend: .*\n/, ''), re);
    await assertNoRun(runDir);
  }
});
