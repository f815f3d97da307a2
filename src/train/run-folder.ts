/**
 * The run folder's layout, read and written only here (fit.ts keeps its own checkpoint
 * folders inside a unit's folder; report.ts writes the charts and the CSV):
 *
 *   config.json                      settings, variants, mode; present = a started run
 *   train/<variant>/seed-<s>/        fit's checkpoints (state.json, epoch-NNNN/, best-NNNN/)
 *   train/<variant>/seed-<s>/rung-<k>.json   one finished unit: its summary, epoch history,
 *                                    the test split's y_true / y_pred and the learned verdict
 *   epochs.csv, metrics.json, curves.png, confusion-<variant>.png   (report.ts, leaderboard.ts)
 *
 * A unit is (variant, seed, epochs of a rung); the full grid is rung 0 with every epoch. The
 * unit files are what ranking and `evaluate --merge` read back, so shards that share the
 * folder only ever add files, each written to a temp name and renamed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { EpochRecord } from './fit.ts';
import { safeName, writeFileAtomic } from './report.ts';
import type { EvaluateSettings } from './settings.ts';

export interface StoredConfig {
  version: 1;
  createdAt: string;
  settings: EvaluateSettings;
  variants: Array<{ name: string; dir: string }>;
  /** 'grid' (every variant x seed for all epochs) or 'race' (--budget). Absent in older runs: grid. */
  mode?: 'grid' | 'race';
  budgetSeconds?: number;
  /** Sharded runs: how many shards share the folder. */
  shards?: number;
}

export interface RunSummary {
  variant: string;
  seed: number;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  resumedAfterEpoch: number;
  validMacroF1: number;
  /** The test figures are null for a unit whose test pass was left out (a race's raced-out and not-learned units). */
  testMacroF1: number | null;
  testAccuracy: number | null;
  testMacroPrecision: number | null;
  testMacroRecall: number | null;
  testLoss: number | null;
  testPerClassF1: number[];
  testConfusion: number[][];
  /** Selected weights, relative to the run folder. */
  weights?: string;
  /** Valid macro-F1 rose meaningfully above a constant predictor's (hasLearned). */
  learned?: boolean;
  /** The racing rung this result is from (0 for the full grid). */
  rung?: number;
  /** Bootstrap interval of test macro-F1 over the test images. */
  testMacroF1CI?: [number, number];
}

export interface UnitRecord {
  version: 1;
  variant: string;
  seed: number;
  rung: number;
  /** Epochs this unit was given (it may have stopped earlier). */
  epochs: number;
  /** Train images per epoch when capped by a budget. */
  epochImages?: number;
  /** Valid images each epoch was scored on (a race: a stratified subset, `validSubset`). Absent in older records: the whole split. */
  validImages?: number;
  /** False while the test pass is left out (`testUnit` adds it); absent in older records: tested. */
  tested?: boolean;
  finishedAt: string;
  summary: RunSummary;
  history: EpochRecord[];
  /** The test split's labels and the selected weights' predictions, in the split's order (empty while untested). */
  test: { yTrue: number[]; yPred: number[] };
  /** Valid confusion matrix of the selected weights (racing bootstraps valid macro-F1 from it). */
  validConfusion: number[][];
  learned: { learned: boolean; chance: number; best: number; margin: number };
  /** The backend that trained it. */
  backend?: string;
  /** Wall seconds this unit's call took (training, validation, test). */
  seconds: number;
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** A path relative to the working directory when it lies inside it, else absolute. */
export function displayPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

export function timestampName(d = new Date()): string {
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

export async function readConfig(runDir: string): Promise<StoredConfig | null> {
  try {
    return JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as StoredConfig;
  } catch {
    return null;
  }
}

export async function writeConfig(runDir: string, c: StoredConfig): Promise<void> {
  await writeFileAtomic(join(runDir, 'config.json'), `${JSON.stringify(c, null, 2)}\n`);
}

/** fit's checkpoint folder of one (variant, seed). */
export function unitDir(runDir: string, variant: string, seed: number): string {
  return join(runDir, 'train', safeName(variant), `seed-${seed}`);
}

export function unitRecordFile(runDir: string, variant: string, seed: number, rung: number): string {
  return join(unitDir(runDir, variant, seed), `rung-${rung}.json`);
}

export async function writeUnitRecord(runDir: string, r: UnitRecord): Promise<void> {
  await writeFileAtomic(unitRecordFile(runDir, r.variant, r.seed, r.rung), `${JSON.stringify(r)}\n`);
}

export async function readUnitRecord(runDir: string, variant: string, seed: number, rung: number): Promise<UnitRecord | null> {
  try {
    return JSON.parse(await readFile(unitRecordFile(runDir, variant, seed, rung), 'utf8')) as UnitRecord;
  } catch {
    return null;
  }
}
