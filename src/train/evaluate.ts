/**
 * `augment evaluate`: rank dataset variants by the test macro-F1 of a fixed model trained on
 * each, with identical settings and seeds. One shape, for the library and the CLI:
 *
 *   plan   (./plan.ts)       run folder, settings, variants checked; units (variant x seed);
 *                            the duration measured here (./estimate.ts) and printed first
 *   data   (./data.ts)       every split decoded once into the shared, content-keyed cache
 *   units  (./units.ts)      each unit trained (fit, checkpointed per epoch) and recorded in
 *                            the run folder; the full grid, a shard's share of it, or the
 *                            budget's race (./race.ts)
 *   rank   (./leaderboard.ts) from the unit records: status, intervals, ties; reports
 *
 * Seeds are 1..n; seed s gives the same initial weights and the same data order rule to
 * every variant. Seeds run in the outer loop, so an interrupted run already holds one
 * result per variant before the second seed starts.
 *
 * Run folder (default data/runs/<UTC timestamp>/): see ./run-folder.ts. Nothing is
 * half-written: settings, variants and every image are checked (decoded) before config.json
 * is written; when that fails, a run folder created by this call is removed. An existing run
 * folder is only continued with `resume` (or joined by a shard), with the settings it started with.
 *
 * Sharding: with `shard: { index, count }` this process trains the units whose
 * `shardOf(unitIdentity)` is its index, into the shared run folder, and writes no leaderboard;
 * `mergeEvaluate(runDir)` then ranks from every unit's record and names the missing ones.
 * Each unit's numbers depend only on its seed and data, so N shards give one process's table.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AugmentError } from '../errors.ts';
import { augmentVersion, thisCommand, thisMachine } from '../provenance.ts';
import { shardOf, type Shard } from '../cluster/shard.ts';
import { currentBackend, initBackend } from './backend/select.ts';
import { DEFAULT_DECODE_CACHE, ensureVariantCaches, type Split, type SplitCache, type Variant } from './data.ts';
import { decodeSeconds, formatSeconds, measureDecode, measureModel, RateTracker, unitSeconds, type Rates } from './estimate.ts';
import { buildLeaderboard, historyRows, leaderboardText, runSummaries, writeRunReports, type VariantOutcome } from './leaderboard.ts';
import { createModel as registryCreateModel } from './models/index.ts';
import { modelDefaultsLine, planLines, preparePlan, type Plan, type PlanInput, type PlanSummary } from './plan.ts';
import { Heartbeat, silentProgress, tapProgress, type ProgressFactory } from './progress.ts';
import { runRace, scheduleLine, scheduleRace, type RaceInput, type RaceResult, type RaceSchedule } from './race.ts';
import { writeEpochsCsv, type LeaderboardRow } from './report.ts';
import { displayPath, exists, readConfig, readUnitRecord, writeConfig, type RunSummary, type StoredConfig, type UnitRecord } from './run-folder.ts';
import { MODEL_NAMES, parseDuration, type EvaluateSettings } from './settings.ts';
import { runUnit, unitIdentity, unitLabel, type ModelFactory, type Unit, type UnitContext } from './units.ts';

export { DEFAULT_EVALUATE_SETTINGS, type EvaluateSettings } from './settings.ts';
export { latestUnfinishedRun, type RunSummary } from './run-folder.ts';
export { resolveSettings } from './plan.ts';
export type { ModelFactory, ModelFactoryOptions } from './units.ts';

/** The plan's inputs (variants, run folder, resume, settings) and how to run it. */
export interface EvaluateOptions extends Omit<PlanInput, 'join'> {
  /** Model factory; default the model registry (src/train/models/). */
  createModel?: ModelFactory;
  /** Model names the factory knows (checked before anything is written); default the bundled ones. */
  modelNames?: readonly string[];
  /** Backend description, recorded in metrics.json; omitted: the selected backend (started here if none was). */
  backend?: string;
  progress?: ProgressFactory;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Skip the PNG charts (faster tests). */
  charts?: boolean;
  /** Wall-time budget (seconds, or `90s` / `20m` / `2h`): race the variants instead of the full grid. */
  budget?: number | string;
  /** Print the plan (with its measured estimate) and stop: nothing trained, no run folder. */
  dryRun?: boolean;
  /** Shared decoded-image cache (default data/cache/decoded). */
  cacheDir?: string;
  /** Train only this shard's units into the shared run folder (no leaderboard: `mergeEvaluate`). */
  shard?: Shard;
  /** Use these rates instead of measuring (tests; a machine measured before). */
  rates?: Rates;
  /** A `progress:` log line at least this often during decoding and training (0 or absent: none). */
  heartbeatSeconds?: number;
}

export interface EvaluateResult {
  runDir: string;
  settings: EvaluateSettings;
  classes: string[];
  variants: Array<{ name: string; dir: string; trainSize: number; validSize: number; testSize: number }>;
  /** Empty for a shard's run and a dry run. */
  leaderboard: LeaderboardRow[];
  tieRule: string;
  runs: RunSummary[];
  backend?: string;
  plan: PlanSummary;
  data: { decoded: number; reused: number };
  race?: {
    budgetSeconds: number;
    epochImages?: number;
    /** Valid images the rungs were scored on (fewer than the split: a stratified subset) and the split's. */
    validImages: number;
    fullValidImages: number;
    ended: RaceResult['ended'];
    rungs: RaceResult['rungs'];
    /** Units that got the test pass (the finalists that learned), and its seconds. */
    tested: string[];
    testSeconds: number;
  };
  /** Lines about variants that are not ranked (not learned, raced out). */
  notes: string[];
  /** A shard's run: which units it trained. */
  shard?: { index: number; count: number; units: string[] };
  /** `mergeEvaluate`: units with no record yet. */
  missing?: string[];
  dryRun?: boolean;
  /** The record of the experiment: `augment ...` as typed (CLI) or the script's command line, the machine, augment's version. */
  command?: string;
  machine?: string;
  augmentVersion?: string;
  /** Terminal table of the leaderboard (or the plan, for a dry run). */
  table: string;
}

function variantInfo(variants: Variant[]): EvaluateResult['variants'] {
  return variants.map((v) => ({ name: v.name, dir: v.dir, trainSize: v.splits.train.length, validSize: v.splits.valid.length, testSize: v.splits.test.length }));
}

/** The full grid's units, seeds outer, variants inner; a shard keeps its share. */
export function gridUnits(variants: string[], s: Pick<EvaluateSettings, 'seeds' | 'epochs'>, shard?: Shard): Unit[] {
  const out: Unit[] = [];
  for (let seed = 1; seed <= s.seeds; seed++) {
    for (const v of variants) {
      const u: Unit = { variant: v, seed, rung: 0, epochs: s.epochs };
      if (!shard || shardOf(unitIdentity(u), shard.count) === shard.index) out.push(u);
    }
  }
  return out;
}

async function selectedBackend(o: EvaluateOptions, log: (l: string) => void): Promise<string> {
  if (o.backend) return o.backend;
  // the library trains where the CLI would: the same selection, when the caller chose none
  return (currentBackend() ?? (await initBackend({ log }))).description;
}

interface Measured {
  rates: Rates;
  summary: PlanSummary;
}

async function measurePlan(plan: Plan, o: EvaluateOptions, createModel: ModelFactory, backend: string, budgetSeconds: number | undefined, units: Unit[], log: (l: string) => void): Promise<Measured> {
  const s = plan.settings;
  if (!o.rates) log(`plan: measuring ${s.model} (width ${s.width}, ${s.imageSize} px, batch ${s.batchSize}) on this machine...`);
  const model = o.rates ?? await measureModel(() => createModel(s.model, { numClasses: plan.classes.length, imageSize: s.imageSize, width: s.width, seed: 1 }), s, plan.classes.length);
  const v0 = plan.variants[0];
  const decodePer = o.rates?.decodeSecondsPerImage ?? (await measureDecode([...v0.splits.valid, ...v0.splits.train].map((f) => f.path), s.imageSize));
  const rates: Rates = { ...model, decodeSecondsPerImage: decodePer };
  const size = (name: string) => plan.variants.find((v) => v.name === name)!.splits.train.length;
  const validImages = v0.splits.valid.length;
  const testImages = v0.splits.test.length;
  const gridAll = gridUnits(
    plan.variants.map((v) => v.name),
    s,
  );
  const trainOf = (us: Unit[]) => us.reduce((a, u) => a + unitSeconds({ trainImages: size(u.variant), validImages, testImages, epochs: u.epochs }, rates), 0);
  // at most: every train split, and valid/test once (the variants share them; the cache is
  // keyed by content, so what an earlier run decoded is not decoded again)
  const imagesToDecode = plan.variants.reduce((a, v) => a + v.splits.train.length, 0) + validImages + testImages;
  const dec = decodeSeconds(imagesToDecode, decodePer);
  const train = trainOf(budgetSeconds ? gridAll : units);
  const summary: PlanSummary = {
    mode: budgetSeconds ? 'race' : 'grid',
    variants: plan.variants.map((v) => v.name),
    seeds: s.seeds,
    epochs: s.epochs,
    units: gridAll.length,
    unitsHere: units.length,
    imagesPerEpoch: Object.fromEntries(plan.variants.map((v) => [v.name, v.splits.train.length])),
    validImages,
    testImages,
    model: s.model,
    width: s.width,
    imageSize: s.imageSize,
    batchSize: s.batchSize,
    lr: s.lr,
    backend,
    measured: rates,
    imagesToDecode,
    decodeSeconds: dec,
    trainSeconds: train,
    estimatedSeconds: dec + train,
    ...(budgetSeconds ? { budgetSeconds } : {}),
    ...(o.shard ? { shard: { index: o.shard.index, count: o.shard.count } } : {}),
  };
  const why = plan.stored ? null : modelDefaultsLine(o.settings ?? {});
  if (why) summary.modelDefaults = why;
  return { rates, summary };
}

/** Plan -> data -> units -> rank. */
export async function evaluate(o: EvaluateOptions = {}): Promise<EvaluateResult> {
  const startedAt = performance.now();
  const log = o.log ?? (() => undefined);
  const budgetSeconds = o.budget === undefined ? undefined : typeof o.budget === 'number' ? (o.budget > 0 ? o.budget : parseDuration(String(o.budget))) : parseDuration(o.budget);
  if (budgetSeconds !== undefined && o.shard) {
    throw new AugmentError('BAD_ARGUMENT', '--budget and --shard/--shards do not combine: racing decides the next units from the last rung, so it runs in one process');
  }
  const createModel = o.createModel ?? registryCreateModel;
  const modelNames = o.createModel ? o.modelNames : (o.modelNames ?? [...MODEL_NAMES]);

  // 1. Plan.
  const plan = await preparePlan({ ...o, modelNames, join: Boolean(o.shard) });
  const { runDir, settings, classes, variants } = plan;
  if (plan.stored && (plan.stored.mode ?? 'grid') === 'race' && o.shard) {
    throw new AugmentError('BAD_ARGUMENT', `${runDir} holds a raced (--budget) run; shards cannot join it`);
  }
  const stored = plan.stored;
  if (stored && budgetSeconds !== undefined && (stored.mode ?? 'grid') !== 'race') {
    throw new AugmentError('BAD_ARGUMENT', `--budget: ${runDir} holds a full-grid run; resume it without --budget, or start a new --run`);
  }
  const raceSeconds = budgetSeconds ?? (o.resume && stored?.mode === 'race' ? stored.budgetSeconds : undefined);
  const backend = await selectedBackend(o, log);
  const units = raceSeconds ? [] : gridUnits(
    variants.map((v) => v.name),
    settings,
    o.shard,
  );
  const measured = await measurePlan(plan, o, createModel, backend, raceSeconds, units, log);
  const planText = planLines(measured.summary);
  // the race's rungs are planned now, so that a budget too short fails before anything is written
  const raceInput: RaceInput | undefined = raceSeconds
    ? {
        variants: variants.map((v) => ({ name: v.name, trainSize: v.splits.train.length })),
        validImages: variants[0].splits.valid.length,
        testImages: variants[0].splits.test.length,
        numClasses: classes.length,
        maxSeeds: settings.seeds,
        maxEpochs: settings.epochs,
        budgetSeconds: raceSeconds,
        spentSeconds: 0,
      }
    : undefined;
  let raceSchedule: RaceSchedule | undefined;
  try {
    raceSchedule = raceInput ? scheduleRace(raceInput, new RateTracker(measured.rates)) : undefined;
  } catch (e) {
    for (const line of planText) log(line); // the plan that did not fit
    throw e;
  }
  if (raceSchedule) {
    planText.push(scheduleLine(raceSchedule).replace(/^race: /, 'plan: race '));
    measured.summary.race = {
      rungs: raceSchedule.plan.rungs.map((r) => ({ epochs: r.epochs, seeds: r.seeds, variants: r.variants, seconds: r.seconds })),
      ...(raceSchedule.epochImages ? { epochImages: raceSchedule.epochImages } : {}),
      validImages: raceSchedule.validImages,
      testSeconds: raceSchedule.testSeconds,
      ...(raceSchedule.finalistUnits !== undefined ? { finalistUnits: raceSchedule.finalistUnits } : {}),
    };
    measured.summary.estimatedSeconds = measured.summary.decodeSeconds + raceSchedule.plan.totalSeconds;
  }
  for (const line of planText) log(line);
  const base = {
    runDir,
    settings,
    classes,
    variants: variantInfo(variants),
    backend,
    plan: measured.summary,
    command: thisCommand(),
    machine: thisMachine(),
    augmentVersion: augmentVersion(),
  };
  if (o.dryRun) {
    return { ...base, leaderboard: [], tieRule: '', runs: [], data: { decoded: 0, reused: 0 }, notes: [], dryRun: true, table: planText.join('\n') };
  }

  // 2. Data: decode every split (finds undecodable images before anything is trained).
  const heartbeat = new Heartbeat(log, o.heartbeatSeconds ?? 0);
  const createdRunDir = !(await exists(runDir));
  let caches: Map<string, Record<Split, SplitCache>>;
  let data: { decoded: number; reused: number };
  try {
    const got = await ensureVariantCaches(variants, settings.imageSize, {
      cacheDir: o.cacheDir ?? DEFAULT_DECODE_CACHE,
      signal: o.signal,
      onProgress: (d, n) => heartbeat.beat(() => `decoding: ${d}/${n} images at ${settings.imageSize} px`),
      onWait: (holder) => log(`decode cache: waiting for ${holder}, which is filling the same cache`),
    });
    caches = got.caches;
    data = { decoded: got.decoded, reused: got.reused };
    log(`data: ${got.decoded} image(s) decoded, ${got.reused} reused from the cache (${o.cacheDir ?? DEFAULT_DECODE_CACHE})`);
    if (!stored || !(await exists(join(runDir, 'config.json')))) {
      const config: StoredConfig = {
        version: 1,
        createdAt: new Date().toISOString(),
        settings,
        variants: plan.args,
        mode: raceSeconds ? 'race' : 'grid',
        ...(raceSeconds ? { budgetSeconds: raceSeconds } : {}),
        ...(o.shard ? { shards: o.shard.count } : {}),
      };
      await writeConfig(runDir, config);
    }
  } catch (e) {
    if (createdRunDir) await rm(runDir, { recursive: true, force: true });
    throw e;
  }
  log(`run folder: ${runDir}`);
  // the budget pays for the units; the plan's measurement and decoding are start-up
  const unitsStartedAt = performance.now();
  if (raceSeconds) log(`race: start-up (plan, data) took ${formatSeconds((unitsStartedAt - startedAt) / 1000)}; the ${formatSeconds(raceSeconds)} budget starts now`);

  // 3. Units.
  const tracker = new RateTracker(measured.rates);
  const records: UnitRecord[] = [];
  const liveHistory = new Map<string, UnitRecord | { variant: string; seed: number; epochs: number; rung: number; history: UnitRecord['history'] }>();
  // a shard leaves epochs.csv to the merge: shards sharing the folder would overwrite each other's
  const writeCsv = async () => (o.shard ? undefined : writeEpochsCsv(join(runDir, 'epochs.csv'), historyRows([...liveHistory.values()] as UnitRecord[])));
  const validImages = variants[0].splits.valid.length;
  const testImages = variants[0].splits.test.length;
  const trainSize = (name: string) => variants.find((v) => v.name === name)!.splits.train.length;
  let current: { unit: Unit; predicted: number } | null = null;
  let pendingSeconds = 0; // grid: predicted seconds of the units not started yet
  const deadline = raceSeconds ? unitsStartedAt + raceSeconds * 1000 : undefined;
  const eta = (fraction: number) => {
    if (deadline) return `budget left ${formatSeconds(Math.max(0, (deadline - performance.now()) / 1000))}`;
    const rest = pendingSeconds + (current ? current.predicted * (1 - fraction) : 0);
    return `run ETA ${formatSeconds(tracker.predict(rest))}`;
  };
  const progress = tapProgress(o.progress ?? silentProgress, (label, done, total, images, seconds) =>
    heartbeat.beat(() => {
      const u = current?.unit;
      const fraction = u ? ((u.epochs > 0 ? epochsDoneOf(u) : 0) + done / total) / Math.max(1, u.epochs) : 0;
      return `${label}: batch ${done}/${total}, ${Math.round(images / Math.max(1e-9, seconds))} img/s, ${eta(Math.min(1, fraction))}`;
    }),
  );
  const epochsDone = new Map<string, number>();
  const epochsDoneOf = (u: Unit) => epochsDone.get(unitIdentity(u)) ?? 0;
  const ctx: UnitContext = {
    runDir,
    settings,
    classes,
    caches,
    createModel,
    progress,
    log: (l) => {
      heartbeat.reset();
      log(l);
    },
    signal: o.signal,
    backend,
    keepLastCheckpoint: Boolean(raceSeconds),
    onEvalBatch: (u, split, d, n) => heartbeat.beat(() => `${unitLabel(u)}: ${split} pass ${d}/${n} images, ${eta(0)}`),
    onEpoch: async (u, history) => {
      epochsDone.set(unitIdentity(u), history[history.length - 1].epoch);
      liveHistory.set(unitIdentity(u), { variant: u.variant, seed: u.seed, epochs: u.epochs, rung: u.rung, history: [...history] });
      await writeCsv();
    },
  };
  const interrupted = (e: unknown): never => {
    if (e instanceof AugmentError && e.code === 'INTERRUPTED') {
      throw new AugmentError('INTERRUPTED', `${e.message}; finished epochs are saved, continue with: augment evaluate --run ${displayPath(runDir)} --resume`);
    }
    throw e;
  };

  let outcomes: VariantOutcome[];
  let race: EvaluateResult['race'];
  try {
    if (raceSeconds) {
      const result = await runRace({
        ctx,
        tracker,
        startedAt: unitsStartedAt,
        input: raceInput!,
        schedule: raceSchedule,
        onUnitStart: (unit, predicted) => (current = { unit, predicted }),
      });
      records.push(...result.records);
      outcomes = variants.map((v) => {
        const out = result.racedOut.get(v.name);
        return out
          ? { variant: v.name, trainSize: v.splits.train.length, records: out.records, racedOutAtRung: out.rung, racedOutWhy: out.why }
          : { variant: v.name, trainSize: v.splits.train.length, records: result.finalists.get(v.name) ?? [] };
      });
      race = {
        budgetSeconds: raceSeconds,
        ...(result.epochImages ? { epochImages: result.epochImages } : {}),
        validImages: result.validImages,
        fullValidImages: validImages,
        ended: result.ended,
        rungs: result.rungs,
        tested: result.tested,
        testSeconds: result.testSeconds,
      };
    } else {
      const cost = (u: Unit) => unitSeconds({ trainImages: trainSize(u.variant), validImages, testImages, epochs: u.epochs }, measured.rates);
      pendingSeconds = units.reduce((a, u) => a + cost(u), 0);
      for (const u of units) {
        pendingSeconds -= cost(u);
        current = { unit: u, predicted: cost(u) };
        const rec = await runUnit(ctx, u);
        if (rec.summary.resumedAfterEpoch < rec.epochs) tracker.observe(cost(u), rec.seconds);
        records.push(rec);
        liveHistory.set(unitIdentity(u), rec);
      }
      outcomes = variants.map((v) => ({ variant: v.name, trainSize: v.splits.train.length, records: records.filter((r) => r.variant === v.name).sort((a, b) => a.seed - b.seed) }));
    }
  } catch (e) {
    interrupted(e);
    throw e;
  }
  current = null;

  if (o.shard) {
    const names = units.map(unitLabel);
    log(`shard ${o.shard.index}/${o.shard.count}: ${names.length} unit(s) done (${names.join(', ') || 'none'}); rank them all with: augment evaluate --merge --run ${displayPath(runDir)}`);
    return {
      ...base,
      leaderboard: [],
      tieRule: '',
      runs: runSummaries(outcomes),
      data,
      notes: [],
      shard: { index: o.shard.index, count: o.shard.count, units: units.map(unitIdentity) },
      table: `shard ${o.shard.index}/${o.shard.count}: trained ${names.join(', ') || 'nothing'}`,
    };
  }

  // 4. Rank.
  return rankAndReport({ runDir, settings, classes, variants, outcomes, records, charts: o.charts !== false, base, data, race, log });
}

interface RankInputs {
  runDir: string;
  settings: EvaluateSettings;
  classes: string[];
  variants: Variant[];
  outcomes: VariantOutcome[];
  records: UnitRecord[];
  charts: boolean;
  base: Omit<EvaluateResult, 'leaderboard' | 'tieRule' | 'runs' | 'data' | 'notes' | 'table'>;
  data: { decoded: number; reused: number };
  race?: EvaluateResult['race'];
  missing?: string[];
  log: (l: string) => void;
}

async function rankAndReport(r: RankInputs): Promise<EvaluateResult> {
  const board = buildLeaderboard(r.outcomes);
  if (r.race && r.race.validImages < r.race.fullValidImages) {
    board.notes.push(
      `valid macro-F1 (and the race's drops, intervals and the learned rule): on a seeded, stratified subset of ${r.race.validImages} of the ${r.race.fullValidImages} valid images; ` +
        `test macro-F1 on all ${r.variants[0].splits.test.length} test images, for the finalists that learned only`,
    );
  } else if (r.race) {
    board.notes.push(`test macro-F1: the finalists that learned only (raced-out and not-learned variants get no test pass)`);
  }
  for (const n of board.notes) r.log(n);
  const result: EvaluateResult = {
    ...r.base,
    leaderboard: board.rows,
    tieRule: board.tieNote,
    runs: runSummaries(r.outcomes),
    data: r.data,
    ...(r.race ? { race: r.race } : {}),
    ...(r.missing ? { missing: r.missing } : {}),
    notes: board.notes,
    table: leaderboardText(board),
  };
  const { table: _t, runDir: _r, settings: _s, classes: _c, leaderboard: _l, tieRule: _tr, runs: _ru, notes: _n, ...extra } = result;
  await writeRunReports({ runDir: r.runDir, settings: r.settings, classes: r.classes, outcomes: r.outcomes, records: r.records, leaderboard: board, charts: r.charts, extra });
  return result;
}

export interface MergeOptions {
  runDir: string;
  log?: (line: string) => void;
  charts?: boolean;
  /** Rank what is there even when units are missing (they are listed). */
  partial?: boolean;
}

/**
 * `augment evaluate --merge --run DIR`: the leaderboard, curves and confusion matrices of a
 * sharded run, from every unit's record in the shared folder. AugmentError NOT_FOUND naming
 * the missing units (and their shards) unless `partial`.
 */
export async function mergeEvaluate(o: MergeOptions): Promise<EvaluateResult> {
  const log = o.log ?? (() => undefined);
  const cfg = await readConfig(o.runDir);
  if (!cfg) throw new AugmentError('NOT_FOUND', `--merge: ${join(o.runDir, 'config.json')} not found; --run must name a run folder that shards trained into`);
  if ((cfg.mode ?? 'grid') === 'race') throw new AugmentError('BAD_ARGUMENT', `--merge: ${o.runDir} holds a raced (--budget) run, which ranks itself; nothing to merge`);
  const plan = await preparePlan({ runDir: o.runDir, resume: true, modelNames: undefined });
  const { runDir, settings, classes, variants } = plan;
  const all = gridUnits(
    variants.map((v) => v.name),
    settings,
  );
  const records: UnitRecord[] = [];
  const missing: string[] = [];
  for (const u of all) {
    const rec = await readUnitRecord(runDir, u.variant, u.seed, 0);
    if (rec && rec.epochs === u.epochs) records.push(rec);
    else missing.push(unitIdentity(u));
  }
  const shards = cfg.shards;
  if (missing.length > 0) {
    const where = shards ? ` (shard${new Set(missing.map((m) => shardOf(m, shards))).size > 1 ? 's' : ''} ${[...new Set(missing.map((m) => shardOf(m, shards)))].sort((a, b) => a - b).map((k) => `${k}/${shards}`).join(', ')})` : '';
    const msg = `${missing.length} of ${all.length} unit(s) not finished in ${runDir}: ${missing.join(', ')}${where}`;
    if (!o.partial) throw new AugmentError('NOT_FOUND', `--merge: ${msg}; run the missing shard(s) again (they resume), then merge`);
    log(`merge: ${msg}; ranking what is there`);
  }
  const outcomes: VariantOutcome[] = variants.map((v) => ({ variant: v.name, trainSize: v.splits.train.length, records: records.filter((r) => r.variant === v.name).sort((a, b) => a.seed - b.seed) }));
  const backends = [...new Set(records.map((r) => r.backend).filter((b): b is string => Boolean(b)))].join('; ') || undefined;
  log(`merge: ${records.length} unit(s) from ${runDir}`);
  return rankAndReport({
    runDir,
    settings,
    classes,
    variants,
    outcomes: outcomes.filter((x) => x.records.length > 0),
    records,
    charts: o.charts !== false,
    base: {
      runDir,
      settings,
      classes,
      variants: variantInfo(variants),
      backend: backends,
      plan: mergedPlanSummary(plan, all.length),
    },
    data: { decoded: 0, reused: 0 },
    ...(missing.length ? { missing } : {}),
    log,
  });
}

function mergedPlanSummary(plan: Plan, units: number): PlanSummary {
  const s = plan.settings;
  const v0 = plan.variants[0];
  return {
    mode: 'grid',
    variants: plan.variants.map((v) => v.name),
    seeds: s.seeds,
    epochs: s.epochs,
    units,
    unitsHere: 0,
    imagesPerEpoch: Object.fromEntries(plan.variants.map((v) => [v.name, v.splits.train.length])),
    validImages: v0.splits.valid.length,
    testImages: v0.splits.test.length,
    model: s.model,
    width: s.width,
    imageSize: s.imageSize,
    batchSize: s.batchSize,
    lr: s.lr,
    measured: { trainImagesPerSecond: 0, evalImagesPerSecond: 0, decodeSecondsPerImage: 0 },
    imagesToDecode: 0,
    decodeSeconds: 0,
    trainSeconds: 0,
    estimatedSeconds: 0,
  };
}
