/**
 * Reading a finished evaluate run folder for the report: `metrics.json` (written by
 * src/train/evaluate.ts) and `epochs.csv` (src/train/report.ts). Every field the report uses
 * beyond `classes`, `variants`, `leaderboard` and `runs` is optional, so a metrics.json from an
 * older augment still renders (a leaderboard row without `status` is 'ranked').
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AugmentError } from '../errors.ts';

export type VariantStatus = 'ranked' | 'not-learned' | 'raced-out';
export const STATUSES: readonly VariantStatus[] = ['ranked', 'raced-out', 'not-learned'];

export interface LeaderRow {
  rank: number | null;
  variant: string;
  meanTestMacroF1: number;
  sdTestMacroF1: number;
  seeds: number;
  meanTestAccuracy?: number;
  meanValidMacroF1?: number;
  tiedWith: string[];
  trainSize?: number;
  status: VariantStatus;
  racedOutAtRung?: number;
  testMacroF1CI?: [number, number];
}

export interface RunRow {
  variant: string;
  seed: number;
  bestEpoch?: number;
  epochsRun?: number;
  stoppedEarly?: boolean;
  validMacroF1?: number;
  testMacroF1?: number;
  testAccuracy?: number;
  testPerClassF1?: number[];
  testConfusion?: number[][];
  learned?: boolean;
  rung?: number;
}

export interface RunVariant {
  name: string;
  dir: string;
  trainSize?: number;
  validSize?: number;
  testSize?: number;
}

/** metrics.json as the report reads it (unknown fields are kept in `raw`). */
export interface RunMetrics {
  version?: number;
  finishedAt?: string;
  runDir: string;
  settings: Record<string, unknown>;
  classes: string[];
  variants: RunVariant[];
  leaderboard: LeaderRow[];
  tieRule?: string;
  runs: RunRow[];
  backend?: string;
  raw: Record<string, unknown>;
}

/** One row of epochs.csv. */
export interface EpochRow {
  variant: string;
  seed: number;
  epoch: number;
  lr?: number;
  trainLoss?: number;
  validLoss?: number;
  validMacroF1?: number;
  validAccuracy?: number;
}

export const METRICS_FILE = 'metrics.json';
export const EPOCHS_FILE = 'epochs.csv';
export const DEFAULT_RUNS_ROOT = 'data/runs';

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The newest run folder under `runsRoot` holding a metrics.json (by its finishedAt, else mtime). */
export async function latestFinishedRun(runsRoot = DEFAULT_RUNS_ROOT): Promise<string> {
  const names = await readdir(runsRoot).catch(() => [] as string[]);
  const found: Array<{ dir: string; t: number }> = [];
  for (const n of names) {
    const file = join(runsRoot, n, METRICS_FILE);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) continue;
    let t = s.mtimeMs;
    try {
      const at = Date.parse(JSON.parse(await readFile(file, 'utf8')).finishedAt);
      if (Number.isFinite(at)) t = at;
    } catch {
      /* unreadable: its mtime orders it; readRun reports it if chosen */
    }
    found.push({ dir: join(runsRoot, n), t });
  }
  found.sort((a, b) => b.t - a.t || (a.dir < b.dir ? 1 : -1));
  if (!found.length) throw new AugmentError('NOT_FOUND', `no finished run under ${runsRoot} (a folder with ${METRICS_FILE}); run augment evaluate first, or give RUN_DIR`);
  return resolve(found[0].dir);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

function leaderRow(x: any): LeaderRow {
  const ci = Array.isArray(x.testMacroF1CI) && x.testMacroF1CI.length === 2 && x.testMacroF1CI.every((n: unknown) => num(n) !== undefined) ? (x.testMacroF1CI as [number, number]) : undefined;
  const status: VariantStatus = STATUSES.includes(x.status) ? x.status : 'ranked';
  return {
    rank: num(x.rank) ?? null,
    variant: String(x.variant),
    meanTestMacroF1: num(x.meanTestMacroF1) ?? NaN,
    sdTestMacroF1: num(x.sdTestMacroF1) ?? 0,
    seeds: num(x.seeds) ?? 0,
    meanTestAccuracy: num(x.meanTestAccuracy),
    meanValidMacroF1: num(x.meanValidMacroF1),
    tiedWith: arr<string>(x.tiedWith).map(String),
    trainSize: num(x.trainSize),
    status,
    racedOutAtRung: num(x.racedOutAtRung),
    testMacroF1CI: ci,
  };
}

/** Reads `<runDir>/metrics.json`; AugmentError naming the file when it is missing or not a run's. */
export async function readRunMetrics(runDir: string): Promise<RunMetrics> {
  const file = join(runDir, METRICS_FILE);
  if (!(await isFile(file))) {
    const started = await isFile(join(runDir, 'config.json'));
    throw new AugmentError(
      'NOT_FOUND',
      started
        ? `${file} not found: the run in ${runDir} has not finished (continue it with augment evaluate --run ${runDir} --resume)`
        : `${file} not found: ${runDir} is not an evaluate run folder`,
    );
  }
  let raw: any;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new AugmentError('BAD_ARGUMENT', `${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.leaderboard) || !Array.isArray(raw.classes)) {
    throw new AugmentError('BAD_ARGUMENT', `${file}: not an augment evaluate metrics.json (no leaderboard or classes)`);
  }
  return {
    version: num(raw.version),
    finishedAt: typeof raw.finishedAt === 'string' ? raw.finishedAt : undefined,
    runDir: resolve(runDir),
    settings: raw.settings && typeof raw.settings === 'object' ? raw.settings : {},
    classes: raw.classes.map(String),
    variants: arr<any>(raw.variants).map((v) => ({ name: String(v.name), dir: String(v.dir), trainSize: num(v.trainSize), validSize: num(v.validSize), testSize: num(v.testSize) })),
    leaderboard: raw.leaderboard.map(leaderRow),
    tieRule: typeof raw.tieRule === 'string' ? raw.tieRule : undefined,
    runs: arr<any>(raw.runs).map((r) => ({ ...r, variant: String(r.variant), seed: Number(r.seed) })),
    backend: typeof raw.backend === 'string' ? raw.backend : undefined,
    raw,
  };
}

/** Splits one CSV line (RFC 4180 quoting, as src/train/report.ts writes it). */
export function csvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** `<runDir>/epochs.csv` as rows; [] when absent. Columns are found by name. */
export async function readEpochs(runDir: string): Promise<EpochRow[]> {
  let text: string;
  try {
    text = await readFile(join(runDir, EPOCHS_FILE), 'utf8');
  } catch {
    return [];
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  if (!lines.length) return [];
  const head = csvLine(lines[0]);
  const col = (name: string) => head.indexOf(name);
  const at = {
    variant: col('variant'),
    seed: col('seed'),
    epoch: col('epoch'),
    lr: col('lr'),
    trainLoss: col('train_loss'),
    validLoss: col('valid_loss'),
    validMacroF1: col('valid_macro_f1'),
    validAccuracy: col('valid_accuracy'),
  };
  if (at.variant < 0 || at.epoch < 0) return [];
  const n = (cells: string[], i: number) => (i >= 0 && cells[i] !== undefined && cells[i] !== '' && Number.isFinite(Number(cells[i])) ? Number(cells[i]) : undefined);
  return lines.slice(1).map((l) => {
    const c = csvLine(l);
    return {
      variant: c[at.variant],
      seed: n(c, at.seed) ?? 1,
      epoch: n(c, at.epoch) ?? 0,
      lr: n(c, at.lr),
      trainLoss: n(c, at.trainLoss),
      validLoss: n(c, at.validLoss),
      validMacroF1: n(c, at.validMacroF1),
      validAccuracy: n(c, at.validAccuracy),
    };
  });
}
