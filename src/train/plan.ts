/**
 * Step 1 of `evaluate`: the plan, before anything is decoded or trained.
 *
 *   run folder (new, --resume, or a shard's shared one) -> settings (defaults, the model's
 *   own defaults, the flags; or the stored ones) -> model name checked -> variants read and
 *   compared (same classes, same valid/test) -> units (variant x seed) -> the estimate.
 *
 * Every check that can fail on a user's input happens here, before config.json is written.
 */
import { join, resolve } from 'node:path';
import { AugmentError, invalidParameter } from '../errors.ts';
import { formatSeconds } from './estimate.ts';
import { DEFAULT_VARIANTS_ROOT, SAMPLERS, evalSplitDifference, listBuiltVariants, readVariant, resolveVariant, type Variant } from './data.ts';
import { createLoss } from './losses.ts';
import { defaultSettingsFor, MODEL_DEFAULTS } from './model-defaults.ts';
import { OPTIMIZERS } from './optimizers.ts';
import { exists, latestUnfinishedRun, readConfig, timestampName, type StoredConfig } from './run-folder.ts';
import { createSchedule } from './schedules.ts';
import { DEFAULT_EVALUATE_SETTINGS, MODEL_NAMES, SETTING_FLAGS, type EvaluateSettings } from './settings.ts';

export interface PlanInput {
  /** VARIANT arguments (names under variantsRoot, or paths); default: every built variant. */
  variants?: string[];
  variantsRoot?: string;
  /** Run folder; default `<runsRoot>/<timestamp>`. */
  runDir?: string;
  runsRoot?: string;
  /** Continue the run in `runDir` (default: the newest unfinished run under runsRoot). */
  resume?: boolean;
  /** Settings given explicitly; the rest take defaults (the model's own, then global), or, when resuming, the stored ones. */
  settings?: Partial<EvaluateSettings>;
  /** Names the model factory knows; omitted: not checked (a custom factory without a list). */
  modelNames?: readonly string[];
  /** A shard joins a shared run folder: an existing config.json must match instead of being refused. */
  join?: boolean;
}

export interface Plan {
  runDir: string;
  /** config.json of the run being resumed or joined, when there is one. */
  stored: StoredConfig | null;
  settings: EvaluateSettings;
  /** The variant arguments as stored in config.json. */
  args: Array<{ name: string; dir: string }>;
  variants: Variant[];
  classes: string[];
}

function wholeNumber(name: keyof EvaluateSettings, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidParameter(SETTING_FLAGS[name], `a whole number >= ${min}`, v);
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
  if (s.warmupEpochs !== undefined) wholeNumber('warmupEpochs', s.warmupEpochs, 0);
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
  if (explicit.momentum !== undefined && s.optimizer !== 'sgd') {
    throw new AugmentError('BAD_ARGUMENT', `--momentum is only used with --optimizer sgd (the optimizer is ${s.optimizer})`);
  }
  return s;
}

/**
 * The settings a new run uses: the global defaults, then the model's own defaults
 * (`defaultSettingsFor`, e.g. a smaller learning rate for vgg16), then the flags given.
 */
export function settingsForNewRun(explicit: Partial<EvaluateSettings>): EvaluateSettings {
  const model = explicit.model ?? DEFAULT_EVALUATE_SETTINGS.model;
  const perModel = Object.fromEntries(Object.entries(defaultSettingsFor(model)).filter(([, v]) => v !== undefined));
  return resolveSettings(explicit, { ...DEFAULT_EVALUATE_SETTINGS, ...perModel, model });
}

/**
 * The model's own defaults that a new run takes because their flags were not given, as a
 * plan line (e.g. `vgg16's defaults: lr 0.0001 (why)`); null when none apply.
 */
export function modelDefaultsLine(explicit: Partial<EvaluateSettings>): string | null {
  const model = explicit.model ?? DEFAULT_EVALUATE_SETTINGS.model;
  const d = MODEL_DEFAULTS[model];
  if (!d) return null;
  const used = Object.entries(d.settings).filter(([k, v]) => v !== undefined && explicit[k as keyof EvaluateSettings] === undefined);
  if (used.length === 0) return null;
  return `${model}'s defaults: ${used.map(([k, v]) => `${SETTING_FLAGS[k as keyof EvaluateSettings]} ${v}`).join(', ')} (${d.why})`;
}

/** `--model` against the names the factory knows (the bundled list without loading tfjs). */
export function checkModelName(model: string, names: readonly string[] = MODEL_NAMES): void {
  if (!names.includes(model)) throw invalidParameter('--model', `one of ${names.join(', ')}`, model);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Run folder, settings, variants: everything checked, nothing written. */
export async function preparePlan(o: PlanInput): Promise<Plan> {
  const variantsRoot = o.variantsRoot ?? DEFAULT_VARIANTS_ROOT;
  const runsRoot = o.runsRoot ?? 'data/runs';
  const explicit = o.settings ?? {};

  let runDir: string;
  let stored: StoredConfig | null = null;
  if (o.resume) {
    const dir = o.runDir ?? (await latestUnfinishedRun(runsRoot));
    if (!dir) throw new AugmentError('NOT_FOUND', `--resume: no unfinished run under ${runsRoot}; give --run DIR`);
    stored = await readConfig(dir);
    if (!stored) throw new AugmentError('NOT_FOUND', `--resume: ${join(dir, 'config.json')} not found; ${dir} holds no started run`);
    runDir = resolve(dir);
  } else {
    runDir = resolve(o.runDir ?? join(runsRoot, timestampName()));
    if (await exists(join(runDir, 'config.json'))) {
      if (!o.join) throw new AugmentError('BAD_ARGUMENT', `${runDir} already holds a run; pass --resume to continue it, or choose another --run`);
      stored = await readConfig(runDir);
    }
  }
  if (stored) {
    for (const [k, v] of Object.entries(explicit) as Array<[keyof EvaluateSettings, unknown]>) {
      if (v !== undefined && !sameValue(stored.settings[k], v)) {
        throw new AugmentError(
          'BAD_ARGUMENT',
          `${SETTING_FLAGS[k]} ${JSON.stringify(v)} differs from the run ${o.resume ? 'being resumed' : 'in the shared folder'} (${runDir} used ${JSON.stringify(stored.settings[k])}); drop the flag or start a new --run`,
        );
      }
    }
  }
  const settings = stored ? resolveSettings({}, stored.settings) : settingsForNewRun(explicit);
  if (o.modelNames) checkModelName(settings.model, o.modelNames);

  let args: Array<{ name: string; dir: string }>;
  if (stored) {
    args = stored.variants;
    if (o.variants?.length) {
      const given = await Promise.all(o.variants.map((v) => resolveVariant(v, variantsRoot)));
      if (!sameValue(given.map((g) => g.dir).sort(), args.map((a) => a.dir).sort())) {
        throw new AugmentError('BAD_ARGUMENT', `the variants given differ from the run ${o.resume ? 'being resumed' : 'in the shared folder'} (${args.map((a) => a.name).join(', ')}); drop them or start a new --run`);
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
  return { runDir, stored, settings, args, variants, classes };
}

/** What `evaluate` prints first and puts in `--json` as `plan`. */
export interface PlanSummary {
  mode: 'grid' | 'race';
  variants: string[];
  seeds: number;
  epochs: number;
  /** variant x seed runs of the full grid (racing runs at most these, with fewer epochs for most). */
  units: number;
  /** Units this process trains (a shard: its share; racing: the first rung). */
  unitsHere: number;
  /** Train images per epoch, per variant. */
  imagesPerEpoch: Record<string, number>;
  validImages: number;
  testImages: number;
  model: string;
  width: number;
  imageSize: number;
  batchSize: number;
  lr: number;
  backend?: string;
  /** Measured on this machine: the model's training and inference rates, the decoder's. */
  measured: { trainImagesPerSecond: number; evalImagesPerSecond: number; decodeSecondsPerImage: number };
  /** Images to decode (not in the cache yet). */
  imagesToDecode: number;
  decodeSeconds: number;
  trainSeconds: number;
  /** decode + training of this process's units, or of the race's planned rungs (an upper bound: early stopping can end units sooner). */
  estimatedSeconds: number;
  budgetSeconds?: number;
  shard?: { index: number; count: number };
  /** --budget: the race's planned rungs (cumulative epochs, seeds, variants, predicted seconds). */
  race?: {
    rungs: Array<{ epochs: number; seeds: number; variants: number; seconds: number }>;
    epochImages?: number;
    /** Valid images each rung's epoch is scored on (fewer than validImages: a stratified subset). */
    validImages: number;
    /** Predicted seconds of one finalist's test pass (the race tests only finalists that learned). */
    testSeconds: number;
    /** Test passes reserved for at most this many final units (absent: all of them). */
    finalistUnits?: number;
  };
  /** The model's own defaults in use (flags not given), with why. */
  modelDefaults?: string;
}

/** The plan as log lines. */
export function planLines(p: PlanSummary): string[] {
  const per = Object.values(p.imagesPerEpoch);
  const imgs = Math.min(...per) === Math.max(...per) ? `${per[0]}` : `${Math.min(...per)}-${Math.max(...per)}`;
  const lines = [
    `plan: ${p.variants.length} variant(s) x ${p.seeds} seed(s) = ${p.units} unit(s), up to ${p.epochs} epoch(s) each, ${imgs} train images per epoch` +
      ` (valid ${p.validImages}, test ${p.testImages})`,
    `plan: variants ${p.variants.join(', ')}`,
    `plan: model ${p.model} width ${p.width}, ${p.imageSize} px, batch ${p.batchSize}, lr ${p.lr}${p.backend ? `, backend ${p.backend}` : ''}`,
    `plan: measured here: ${Math.round(p.measured.trainImagesPerSecond)} train img/s, ${Math.round(p.measured.evalImagesPerSecond)} eval img/s, ` +
      `decode ${(p.measured.decodeSecondsPerImage * 1000).toFixed(1)} ms/image`,
  ];
  if (p.modelDefaults) lines.push(`plan: ${p.modelDefaults}`);
  if (p.shard) lines.push(`plan: shard ${p.shard.index}/${p.shard.count}: ${p.unitsHere} of the ${p.units} units`);
  if (p.mode === 'race') {
    lines.push(
      `plan: budget ${formatSeconds(p.budgetSeconds!)}: racing (short first rung for every variant, the clearly worse dropped, the rest get more epochs and seeds); ` +
        `the full grid would take ~${formatSeconds(p.trainSeconds)} of training`,
    );
  } else {
    lines.push(
      `plan: estimated ${formatSeconds(p.estimatedSeconds)} (decoding up to ${p.imagesToDecode} images ~${formatSeconds(p.decodeSeconds)}, none if cached; training ~${formatSeconds(p.trainSeconds)}; early stopping can end sooner)` +
        (p.estimatedSeconds > 3600 ? '; --budget 20m races the variants within a time limit instead' : ''),
    );
  }
  return lines;
}
