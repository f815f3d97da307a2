/**
 * Per-model defaults (src/train/model-defaults.ts): the measured values, and that `evaluate`
 * (the CLI and the library) trains with them when their flags are not given, and with the
 * flags when they are. The dry runs measure a few real vgg16 steps at width 0.0625 on wasm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { evaluate } from '../src/train/evaluate.ts';
import { defaultSettingsFor, MODEL_DEFAULTS } from '../src/train/model-defaults.ts';
import { modelDefaultsLine, settingsForNewRun } from '../src/train/plan.ts';
import { DEFAULT_EVALUATE_SETTINGS, type EvaluateSettings } from '../src/train/settings.ts';
import { tempDir, useWasm, writeVariant } from './helpers/variants.ts';
import { tinyModel } from './helpers/tiny-model.ts';

const run = promisify(execFile);
let root: string;
let variantsRoot: string;

before(async () => {
  await useWasm();
  root = await tempDir('augment-model-defaults-');
  variantsRoot = join(root, 'variants');
  await writeVariant(variantsRoot, 'v', { train: 4, valid: 3, test: 3, size: 32 });
});
after(() => rm(root, { recursive: true, force: true }));

/** What a new vgg16 run must use for each setting vgg16 has its own default for. */
const VGG = defaultSettingsFor('vgg16');
const KEYS = Object.keys(VGG) as Array<keyof EvaluateSettings>;
const VGG_LR = VGG.lr ?? DEFAULT_EVALUATE_SETTINGS.lr;

test('vgg16 has the measured defaults (docs/BENCHMARKS.md, Default learning rates); batch-norm models the global ones', () => {
  assert.deepEqual(VGG, { lr: 1e-4, patience: 0 });
  assert.match(MODEL_DEFAULTS.vgg16.why, /BENCHMARKS/);
  assert.deepEqual(defaultSettingsFor('resnet18'), {});
  assert.deepEqual(defaultSettingsFor('resnet50'), {});
  // every per-model value differs from the global one (else it would be no default of its own)
  for (const k of KEYS) assert.notEqual((VGG as Partial<EvaluateSettings>)[k], DEFAULT_EVALUATE_SETTINGS[k], k);
});

test('settings of a new run: the model defaults over the global ones, flags over both', () => {
  const s = settingsForNewRun({ model: 'vgg16' });
  for (const k of KEYS) assert.equal(s[k], VGG[k], k);
  assert.equal(s.epochs, DEFAULT_EVALUATE_SETTINGS.epochs, 'the rest stay global');
  const flags = settingsForNewRun({ model: 'vgg16', lr: 2e-3, warmupEpochs: 0, patience: 4 });
  assert.deepEqual([flags.lr, flags.warmupEpochs, flags.patience], [2e-3, 0, 4]);
  assert.equal(settingsForNewRun({ model: 'resnet18' }).lr, DEFAULT_EVALUATE_SETTINGS.lr);
  assert.equal(settingsForNewRun({}).lr, VGG_LR, 'vgg16 is the default model');
  assert.match(modelDefaultsLine({ model: 'vgg16' }) ?? '', /^vgg16's defaults: --lr 0\.0001, /);
  assert.equal(modelDefaultsLine({ model: 'vgg16', lr: 1e-3, warmupEpochs: 0, patience: 10 }), null, 'every default overridden: no line');
});

test('library evaluate (dry run): a vgg16 run without lr takes the model defaults, one with lr keeps it', async () => {
  const opts = { variantsRoot, variants: ['v'], dryRun: true, cacheDir: join(root, 'cache'), createModel: tinyModel, modelNames: ['vgg16'] };
  const small = { model: 'vgg16', imageSize: 32, width: 0.0625, epochs: 1, seeds: 1, batchSize: 4 };
  const r = await evaluate({ ...opts, settings: small });
  for (const k of KEYS) assert.equal(r.settings[k], VGG[k], k);
  assert.equal(r.plan.lr, VGG_LR);
  assert.match(r.plan.modelDefaults ?? '', /^vgg16's defaults: /);
  const own = await evaluate({ ...opts, settings: { ...small, lr: 5e-4 } });
  assert.equal(own.settings.lr, 5e-4);
  assert.equal(own.settings.patience, VGG.patience, 'the flags not given still take the model defaults');
});

test('CLI evaluate --dry-run --json: vgg16 without --lr uses the model defaults; --lr / --warmup-epochs / --patience win', async () => {
  const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
  const args = ['--import', 'tsx', cli, 'evaluate', 'v', '--variants-root', variantsRoot, '--run', join(root, 'runs', 'dry'), '--cache', join(root, 'cache')];
  const small = ['--dry-run', '--json', '--backend', 'wasm', '--model', 'vgg16', '--width', '0.0625', '--epochs', '1', '--seeds', '1', '--batch-size', '4'];
  const env = { ...process.env, AUGMENT_WASM_THREADS: '1' };
  const d = await run(process.execPath, [...args, ...small], { env });
  const j = JSON.parse(d.stdout) as { settings: EvaluateSettings; plan: { lr: number } };
  for (const k of KEYS) assert.equal(j.settings[k], VGG[k], k);
  assert.equal(j.plan.lr, VGG_LR);
  assert.match(d.stderr, /vgg16's defaults: --lr 0\.0001/);
  const f = await run(process.execPath, [...args, ...small, '--lr', '0.002', '--warmup-epochs', '0', '--patience', '3'], { env });
  const jf = JSON.parse(f.stdout) as { settings: EvaluateSettings };
  assert.deepEqual([jf.settings.lr, jf.settings.warmupEpochs, jf.settings.patience], [0.002, 0, 3]);
  assert.doesNotMatch(f.stderr, /vgg16's defaults/);
});
