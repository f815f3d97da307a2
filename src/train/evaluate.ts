/**
 * `augment evaluate`: rank dataset variants by the test macro-F1 of a fixed model trained on
 * each, with identical settings and seeds.
 *
 *   resolve settings -> read every variant, check they share classes and valid/test ->
 *   decode every split into the run folder's cache -> write config.json ->
 *   for each seed, for each variant: fit (checkpointed per epoch) -> reports -> leaderboard.
 *
 * Seeds are 1..n; seed s gives the same initial weights and the same data order rule to
 * every variant. Seeds run in the outer loop, so an interrupted run already holds one
 * result per variant before the second seed starts.
 *
 * Ties ("within noise"): variant B is tied with A when Welch's t-test of their test
 * macro-F1 over the seeds gives a two-sided p >= 0.05. rank = 1 + the number of variants
 * significantly better (higher mean and p < 0.05); tied variants can share a rank. With
 * fewer than 2 seeds there is no noise estimate: ranks follow the means and nothing is
 * marked tied (the table says so).
 *
 * Run folder (default data/runs/<UTC timestamp>/):
 *   config.json                 settings and variants; present = a started run (resume reads it)
 *   cache/<variant>-<hash>-<split>-<size>px.u8 (+ .json)   decoded uint8 images
 *   train/<variant>/seed-<s>/   state.json, epoch-NNNN/ (last checkpoint: model + optimizer),
 *                               best-NNNN/ (model.json + weights.bin: the selected weights)
 *   epochs.csv                  one row per (variant, seed, epoch), rewritten after each epoch
 *   metrics.json                written last: leaderboard and every run's valid/test metrics
 *   curves.png, confusion-<variant>.png
 *
 * Nothing is half-written: settings, variants and every image are checked (decoded) before
 * config.json is written; when that fails, a run folder created by this call is removed.
 * An existing run folder is only continued with `resume`, with the settings it started with.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { AugmentError, invalidParameter } from '../errors.ts';
import type { tf } from './tf.ts';
import {
  DEFAULT_VARIANTS_ROOT,
  SAMPLERS,
  SPLIT_NAMES,
  ensureSplitCache,
  evalSplitDifference,
  listBuiltVariants,
  readVariant,
  resolveVariant,
  type Split,
  type SplitCache,
  type Variant,
} from './data.ts';
import { DEFAULT_TRAIN_SETTINGS, fit, type FitResult, type TrainSettings } from './fit.ts';
import { createLoss } from './losses.ts';
import { createModel as registryCreateModel, listModels } from './models/index.ts';
import { meanOf, sdOf, welchTTest } from './metrics.ts';
import { OPTIMIZERS } from './optimizers.ts';
import { silentProgress, type ProgressFactory } from './progress.ts';
import {
  confusionFile,
  leaderboardTable,
  safeName,
  writeConfusionPng,
  writeCurvesPng,
  writeEpochsCsv,
  writeFileAtomic,
  type HistoryRow,
  type LeaderboardRow,
} from './report.ts';
import { createSchedule } from './schedules.ts';
import { DEFAULT_EVALUATE_SETTINGS, type EvaluateSettings } from './settings.ts';

export { DEFAULT_EVALUATE_SETTINGS, type EvaluateSettings } from './settings.ts';

export const TIE_ALPHA = 0.05;
export const TIE_RULE =
  `tied = Welch t-test of test macro-F1 over the seeds, two-sided p >= ${TIE_ALPHA}; ` +
  'rank = 1 + number of variants significantly better';

export interface ModelFactoryOptions {
  numClasses: number;
  imageSize: number;
  width: number;
  seed: number;
}
export type ModelFactory = (name: string, o: ModelFactoryOptions) => tf.LayersModel;

export interface EvaluateOptions {
  /** VARIANT arguments (names under variantsRoot, or paths); default: every built variant. */
  variants?: string[];
  variantsRoot?: string;
  /** Run folder; default `<runsRoot>/<timestamp>`. */
  runDir?: string;
  runsRoot?: string;
  /** Continue the run in `runDir` (default: the newest unfinished run under runsRoot). */
  resume?: boolean;
  /** Settings given explicitly; the rest take defaults (or, when resuming, the stored ones). */
  settings?: Partial<EvaluateSettings>;
  /** Model factory; default the model registry (src/train/models/). */
  createModel?: ModelFactory;
  /** Model names the factory knows (checked before anything is written). */
  modelNames?: string[];
  /** Backend description, recorded in metrics.json. */
  backend?: string;
  progress?: ProgressFactory;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Skip the PNG charts (faster tests). */
  charts?: boolean;
}

export interface RunSummary {
  variant: string;
  seed: number;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  resumedAfterEpoch: number;
  validMacroF1: number;
  testMacroF1: number;
  testAccuracy: number;
  testMacroPrecision: number;
  testMacroRecall: number;
  testLoss: number;
  testPerClassF1: number[];
  testConfusion: number[][];
  /** Selected weights, relative to the run folder. */
  weights?: string;
}

export interface EvaluateResult {
  runDir: string;
  settings: EvaluateSettings;
  classes: string[];
  variants: Array<{ name: string; dir: string; trainSize: number; validSize: number; testSize: number }>;
  leaderboard: LeaderboardRow[];
  tieRule: string;
  runs: RunSummary[];
  backend?: string;
  /** Terminal table of the leaderboard. */
  table: string;
}

interface StoredConfig {
  version: 1;
  createdAt: string;
  settings: EvaluateSettings;
  variants: Array<{ name: string; dir: string }>;
}

// ---------------------------------------------------------------------------------------
// Settings

const SETTING_NAMES: Record<keyof EvaluateSettings, string> = {
  model: '--model',
  width: '--width',
  imageSize: '--image-size',
  seeds: '--seeds',
  epochs: '--epochs',
  batchSize: '--batch-size',
  lr: '--lr',
  optimizer: '--optimizer',
  momentum: '--momentum',
  schedule: '--schedule',
  stepSize: '--step-size',
  gamma: '--gamma',
  piecewise: '--piecewise',
  loss: '--loss',
  focalGamma: '--focal-gamma',
  focalAlpha: '--focal-alpha',
  sampler: '--sampler',
  patience: '--patience',
};

function wholeNumber(name: keyof EvaluateSettings, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidParameter(SETTING_NAMES[name], `a whole number >= ${min}`, v);
}

/** Defaults + explicit settings, validated (AugmentError naming the flag). */
export function resolveSettings(explicit: Partial<EvaluateSettings>, base: EvaluateSettings = DEFAULT_EVALUATE_SETTINGS): EvaluateSettings {
  const defined = Object.fromEntries(Object.entries(explicit).filter(([, v]) => v !== undefined));
  const s: EvaluateSettings = { ...base, ...defined };
  wholeNumber('epochs', s.epochs, 1);
  wholeNumber('batchSize', s.batchSize, 1);
  wholeNumber('seeds', s.seeds, 1);
  wholeNumber('patience', s.patience, 0);
  wholeNumber('imageSize', s.imageSize, 8);
  if (typeof s.width !== 'number' || !(s.width > 0) || s.width > 8) throw invalidParameter('--width', 'a number in (0, 8]', s.width);
  if (!OPTIMIZERS.includes(s.optimizer)) throw invalidParameter('--optimizer', `one of ${OPTIMIZERS.join(', ')}`, s.optimizer);
  if (!SAMPLERS.includes(s.sampler)) throw invalidParameter('--sampler', `one of ${SAMPLERS.join(', ')}`, s.sampler);
  if (typeof s.lr !== 'number' || !Number.isFinite(s.lr) || s.lr <= 0) throw invalidParameter('--lr', 'a positive number such as 1e-3', s.lr);
  if (s.optimizer === 'sgd' && !(s.momentum >= 0 && s.momentum < 1)) throw invalidParameter('--momentum', 'a number in [0, 1)', s.momentum);
  createSchedule(s); // validates schedule, step size, gamma, piecewise string
  createLoss({ loss: s.loss, focalGamma: s.focalGamma, focalAlpha: s.focalAlpha });
  if (s.piecewise !== undefined && s.schedule !== 'piecewise') {
    throw new AugmentError('BAD_ARGUMENT', '--piecewise is only used with --schedule piecewise');
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Run folder

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function displayPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

function timestampName(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
}

/** The newest run folder under runsRoot with a config.json and no finished metrics.json. */
export async function latestUnfinishedRun(runsRoot: string): Promise<string | null> {
  const names = await readdir(runsRoot).catch(() => [] as string[]);
  const candidates: Array<{ dir: string; t: number }> = [];
  for (const n of names) {
    const dir = join(runsRoot, n);
    const cfg = await stat(join(dir, 'config.json')).catch(() => undefined);
    if (cfg && !(await exists(join(dir, 'metrics.json')))) candidates.push({ dir, t: cfg.mtimeMs });
  }
  candidates.sort((a, b) => b.t - a.t);
  return candidates[0]?.dir ?? null;
}

async function readConfig(runDir: string): Promise<StoredConfig | null> {
  try {
    return JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as StoredConfig;
  } catch {
    return null;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------
// Ranking

export interface RankInput {
  variant: string;
  scores: number[];
}

/** Leaderboard order and ranks with ties (see the file comment for the rule). */
export function rankVariants(inputs: RankInput[]): Array<{ variant: string; mean: number; sd: number; rank: number; tiedWith: string[] }> {
  const rows = inputs.map((v) => ({ variant: v.variant, scores: v.scores, mean: meanOf(v.scores), sd: sdOf(v.scores) }));
  rows.sort((a, b) => b.mean - a.mean || (a.variant < b.variant ? -1 : 1));
  const testable = rows.every((r) => r.scores.length >= 2);
  return rows.map((r) => {
    if (!testable) {
      return { variant: r.variant, mean: r.mean, sd: r.sd, rank: 1 + rows.filter((o) => o.mean > r.mean).length, tiedWith: [] };
    }
    const others = rows.filter((o) => o !== r);
    const p = new Map(others.map((o) => [o.variant, welchTTest(o.scores, r.scores).p]));
    const better = others.filter((o) => o.mean > r.mean && p.get(o.variant)! < TIE_ALPHA).length;
    return {
      variant: r.variant,
      mean: r.mean,
      sd: r.sd,
      rank: 1 + better,
      tiedWith: others.filter((o) => p.get(o.variant)! >= TIE_ALPHA).map((o) => o.variant),
    };
  });
}

// ---------------------------------------------------------------------------------------

export async function evaluate(o: EvaluateOptions = {}): Promise<EvaluateResult> {
  const log = o.log ?? (() => undefined);
  const variantsRoot = o.variantsRoot ?? DEFAULT_VARIANTS_ROOT;
  const runsRoot = o.runsRoot ?? 'data/runs';
  const explicit = o.settings ?? {};

  // 1. Run folder and settings.
  let runDir: string;
  let stored: StoredConfig | null = null;
  if (o.resume) {
    const dir = o.runDir ?? (await latestUnfinishedRun(runsRoot));
    if (!dir) throw new AugmentError('NOT_FOUND', `--resume: no unfinished run under ${runsRoot}; give --run DIR`);
    stored = await readConfig(dir);
    if (!stored) throw new AugmentError('NOT_FOUND', `--resume: ${join(dir, 'config.json')} not found; ${dir} holds no started run`);
    runDir = resolve(dir);
    for (const [k, v] of Object.entries(explicit) as Array<[keyof EvaluateSettings, unknown]>) {
      if (v !== undefined && !sameValue(stored.settings[k], v)) {
        throw new AugmentError(
          'BAD_ARGUMENT',
          `${SETTING_NAMES[k]} ${JSON.stringify(v)} differs from the run being resumed (${runDir} used ${JSON.stringify(stored.settings[k])}); drop the flag or start a new --run`,
        );
      }
    }
  } else {
    runDir = resolve(o.runDir ?? join(runsRoot, timestampName()));
    if (await exists(join(runDir, 'config.json'))) {
      throw new AugmentError('BAD_ARGUMENT', `${runDir} already holds a run; pass --resume to continue it, or choose another --run`);
    }
  }
  const settings = stored ? resolveSettings({}, stored.settings) : resolveSettings(explicit);
  let createModel = o.createModel;
  let modelNames = o.modelNames;
  if (!createModel) {
    createModel = registryCreateModel;
    modelNames = listModels();
  }
  if (modelNames && !modelNames.includes(settings.model)) {
    throw invalidParameter('--model', `one of ${modelNames.join(', ')}`, settings.model);
  }

  // 2. Variants: read, check, compare.
  let args: Array<{ name: string; dir: string }>;
  if (stored) {
    args = stored.variants;
    if (o.variants?.length) {
      const given = await Promise.all(o.variants.map((v) => resolveVariant(v, variantsRoot)));
      if (!sameValue(given.map((g) => g.dir).sort(), args.map((a) => a.dir).sort())) {
        throw new AugmentError('BAD_ARGUMENT', `the variants given differ from the run being resumed (${args.map((a) => a.name).join(', ')}); drop them or start a new --run`);
      }
    }
  } else if (o.variants && o.variants.length > 0) {
    args = await Promise.all(o.variants.map((v) => resolveVariant(v, variantsRoot)));
  } else {
    const names = await listBuiltVariants(variantsRoot);
    if (names.length === 0) throw new AugmentError('NOT_FOUND', `no built variants under ${variantsRoot} (folders with train/valid/test); build one with augment build, or name a variant folder`);
    args = names.map((n) => ({ name: n, dir: resolve(join(variantsRoot, n)) }));
  }
  const seen = new Map<string, string>();
  for (const a of args) {
    if (seen.has(a.name) && seen.get(a.name) !== a.dir) throw new AugmentError('BAD_ARGUMENT', `two variants are named ${a.name} (${seen.get(a.name)} and ${a.dir}); rename one`);
    if (seen.has(a.name)) throw new AugmentError('BAD_ARGUMENT', `variant ${a.name} is named twice`);
    seen.set(a.name, a.dir);
  }
  const variants: Variant[] = [];
  for (const a of args) variants.push(await readVariant(a.dir, a.name));
  for (const v of variants.slice(1)) {
    const why = evalSplitDifference(variants[0], v);
    if (why) throw new AugmentError('BAD_DATASET', why);
  }
  const classes = variants[0].classes;
  if (Array.isArray(settings.focalAlpha) && settings.focalAlpha.length !== classes.length) {
    throw new AugmentError('BAD_ARGUMENT', `--focal-alpha has ${settings.focalAlpha.length} weights but the variants have ${classes.length} classes (${classes.join(', ')})`);
  }

  // 3. Decode every split (finds undecodable images before anything is trained).
  const createdRunDir = !(await exists(runDir));
  const caches = new Map<string, Record<Split, SplitCache>>();
  try {
    for (const v of variants) {
      const c = {} as Record<Split, SplitCache>;
      for (const split of SPLIT_NAMES) {
        c[split] = await ensureSplitCache(v, split, settings.imageSize, join(runDir, 'cache'), {
          onProgress: (d, n) => (d === n ? log(`decoded ${v.name}/${split}: ${n} images at ${settings.imageSize} px`) : undefined),
        });
      }
      caches.set(v.name, c);
    }
    if (!stored) {
      const config: StoredConfig = { version: 1, createdAt: new Date().toISOString(), settings, variants: args };
      await writeFileAtomic(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    }
  } catch (e) {
    if (createdRunDir) await rm(runDir, { recursive: true, force: true });
    throw e;
  }
  log(`run folder: ${runDir}`);

  // 4. Train: seeds outer, variants inner.
  const results = new Map<string, FitResult>();
  const historyRows = (): HistoryRow[] => {
    const rows: HistoryRow[] = [];
    for (const v of variants) {
      for (let seed = 1; seed <= settings.seeds; seed++) {
        const r = results.get(`${v.name}\u0000${seed}`);
        if (r) rows.push(...r.history.map((h) => ({ ...h, variant: v.name, seed })));
      }
    }
    return rows;
  };
  const progress = o.progress ?? silentProgress;
  try {
    for (let seed = 1; seed <= settings.seeds; seed++) {
      for (const v of variants) {
        const c = caches.get(v.name)!;
        const label = `${v.name} seed ${seed}`;
        const partial: FitResult['history'] = [];
        const r = await fit({
          createModel: () => createModel!(settings.model, { numClasses: classes.length, imageSize: settings.imageSize, width: settings.width, seed }),
          data: c,
          settings,
          seed,
          checkpointDir: join(runDir, 'train', safeName(v.name), `seed-${seed}`),
          label,
          progress,
          log,
          signal: o.signal,
          onEpoch: async (rec) => {
            partial.push(rec);
            results.set(`${v.name}\u0000${seed}`, { history: partial } as FitResult);
            await writeEpochsCsv(join(runDir, 'epochs.csv'), historyRows());
          },
        });
        if (r.resumedAfterEpoch > 0 && r.resumedAfterEpoch >= r.history.length) log(`${label}: already finished, result reused`);
        results.set(`${v.name}\u0000${seed}`, r);
        log(`${label}: selected epoch ${r.bestEpoch}${r.stoppedEarly ? ' (stopped early)' : ''}, valid macro-F1 ${r.valid.metrics.macroF1.toFixed(4)}, test macro-F1 ${r.test.metrics.macroF1.toFixed(4)}`);
      }
    }
  } catch (e) {
    if (e instanceof AugmentError && e.code === 'INTERRUPTED') {
      throw new AugmentError('INTERRUPTED', `${e.message}; finished epochs are saved, continue with: augment evaluate --run ${displayPath(runDir)} --resume`);
    }
    throw e;
  }

  // 5. Reports.
  const runs: RunSummary[] = [];
  for (let seed = 1; seed <= settings.seeds; seed++) {
    for (const v of variants) {
      const r = results.get(`${v.name}\u0000${seed}`)!;
      runs.push({
        variant: v.name,
        seed,
        bestEpoch: r.bestEpoch,
        epochsRun: r.history.length,
        stoppedEarly: r.stoppedEarly,
        resumedAfterEpoch: r.resumedAfterEpoch,
        validMacroF1: r.valid.metrics.macroF1,
        testMacroF1: r.test.metrics.macroF1,
        testAccuracy: r.test.metrics.accuracy,
        testMacroPrecision: r.test.metrics.macroPrecision,
        testMacroRecall: r.test.metrics.macroRecall,
        testLoss: r.test.loss,
        testPerClassF1: r.test.metrics.perClassF1,
        testConfusion: r.test.metrics.confusion,
        weights: r.weightsDir ? relative(runDir, r.weightsDir) : undefined,
      });
    }
  }
  const ranked = rankVariants(variants.map((v) => ({ variant: v.name, scores: runs.filter((r) => r.variant === v.name).map((r) => r.testMacroF1) })));
  const leaderboard: LeaderboardRow[] = ranked.map((k) => {
    const mine = runs.filter((r) => r.variant === k.variant);
    return {
      rank: k.rank,
      variant: k.variant,
      meanTestMacroF1: k.mean,
      sdTestMacroF1: k.sd,
      seeds: mine.length,
      meanTestAccuracy: meanOf(mine.map((r) => r.testAccuracy)),
      meanValidMacroF1: meanOf(mine.map((r) => r.validMacroF1)),
      tiedWith: k.tiedWith,
      trainSize: variants.find((v) => v.name === k.variant)!.splits.train.length,
    };
  });
  const tieNote =
    settings.seeds >= 2
      ? `${settings.seeds} seeds; mean ± sd; ${TIE_RULE}`
      : '1 seed: no noise estimate, so no ties are marked; run --seeds 3 or more to tell real differences from noise';
  const result: EvaluateResult = {
    runDir,
    settings,
    classes,
    variants: variants.map((v) => ({ name: v.name, dir: v.dir, trainSize: v.splits.train.length, validSize: v.splits.valid.length, testSize: v.splits.test.length })),
    leaderboard,
    tieRule: tieNote,
    runs,
    backend: o.backend,
    table: leaderboardTable(leaderboard, tieNote),
  };
  await writeEpochsCsv(join(runDir, 'epochs.csv'), historyRows());
  if (o.charts !== false) {
    await writeCurvesPng(join(runDir, 'curves.png'), historyRows(), `${settings.model} (width ${settings.width}, ${settings.imageSize} px): mean over ${settings.seeds} seed(s)`);
    for (const v of variants) {
      const mine = runs.filter((r) => r.variant === v.name);
      const sum = classes.map((_, t) => classes.map((__, p) => mine.reduce((a, r) => a + r.testConfusion[t][p], 0)));
      await writeConfusionPng(confusionFile(runDir, v.name), sum, classes, `${v.name}: test confusion, selected weights, summed over ${mine.length} seed(s)`);
    }
  }
  const { table: _table, ...json } = result;
  await writeFileAtomic(join(runDir, 'metrics.json'), `${JSON.stringify({ version: 1, finishedAt: new Date().toISOString(), ...json }, null, 1)}\n`);
  return result;
}
