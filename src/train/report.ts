/**
 * The run folder's reports, each written to a temp name and renamed:
 * - `metrics.json`: settings, leaderboard, and every (variant, seed) run with its valid and
 *   test metrics (per-class F1, confusion matrix) and where its selected weights are;
 * - `epochs.csv`: one row per (variant, seed, epoch);
 * - `curves.png`: train loss, valid loss and valid macro-F1 per epoch, one line per variant
 *   (the mean over the seeds that ran that epoch);
 * - `confusion-<variant>.png`: test confusion matrix of the selected weights, summed over seeds.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderVegaLitePng } from '../charts/vega.ts';
import type { EpochRecord } from './fit.ts';

export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

export interface HistoryRow extends EpochRecord {
  variant: string;
  seed: number;
}

const CSV_COLUMNS: Array<[string, (r: HistoryRow) => string | number]> = [
  ['variant', (r) => r.variant],
  ['seed', (r) => r.seed],
  ['epoch', (r) => r.epoch],
  ['lr', (r) => r.lr],
  ['train_loss', (r) => r.trainLoss],
  ['valid_loss', (r) => r.validLoss],
  ['valid_macro_f1', (r) => r.validMacroF1],
  ['valid_accuracy', (r) => r.validAccuracy],
  ['train_seconds', (r) => r.trainSeconds.toFixed(3)],
  ['images_per_second', (r) => r.imagesPerSecond.toFixed(1)],
];

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function epochsCsv(rows: HistoryRow[]): string {
  const lines = [CSV_COLUMNS.map((c) => c[0]).join(',')];
  for (const r of rows) lines.push(CSV_COLUMNS.map(([, f]) => csvCell(f(r))).join(','));
  return `${lines.join('\n')}\n`;
}

export async function writeEpochsCsv(file: string, rows: HistoryRow[]): Promise<void> {
  await writeFileAtomic(file, epochsCsv(rows));
}

/** Mean over seeds per (variant, epoch) of the three curves, in long form for vega-lite. */
export function curveRows(rows: HistoryRow[]): Array<{ variant: string; epoch: number; metric: string; value: number }> {
  const acc = new Map<string, { variant: string; epoch: number; sums: number[]; n: number }>();
  for (const r of rows) {
    const k = `${r.variant}\u0000${r.epoch}`;
    const a = acc.get(k) ?? { variant: r.variant, epoch: r.epoch, sums: [0, 0, 0], n: 0 };
    a.sums[0] += r.trainLoss;
    a.sums[1] += r.validLoss;
    a.sums[2] += r.validMacroF1;
    a.n++;
    acc.set(k, a);
  }
  const names = ['train loss', 'valid loss', 'valid macro-F1'];
  return [...acc.values()].flatMap((a) => names.map((metric, i) => ({ variant: a.variant, epoch: a.epoch, metric, value: a.sums[i] / a.n })));
}

export async function writeCurvesPng(file: string, rows: HistoryRow[], title: string): Promise<void> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: curveRows(rows) },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['train loss', 'valid loss', 'valid macro-F1'] } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'variant', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
  await renderVegaLitePng(spec, file);
}

export async function writeConfusionPng(file: string, confusion: number[][], classes: string[], title: string): Promise<void> {
  const values = confusion.flatMap((row, t) => row.map((count, p) => ({ true: classes[t], predicted: classes[p], count })));
  const k = classes.length;
  const cell = Math.max(16, Math.min(36, Math.floor(640 / k)));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    width: cell * k,
    height: cell * k,
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: classes, title: 'predicted class' },
      y: { field: 'true', type: 'ordinal', sort: classes, title: 'true class' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, title: 'count' } } },
      {
        mark: { type: 'text', fontSize: k > 12 ? 8 : 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: `datum.count > ${Math.max(1, ...confusion.flat()) / 2}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  };
  await renderVegaLitePng(spec, file);
}

/** A file-name-safe form of a variant name. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function confusionFile(runDir: string, variant: string): string {
  return join(runDir, `confusion-${safeName(variant)}.png`);
}

export type LeaderboardStatus = 'ranked' | 'not-learned' | 'raced-out';

export interface LeaderboardRow {
  /** null unless status is 'ranked'. */
  rank: number | null;
  variant: string;
  /** 'ranked'; 'not-learned' (no seed beat a constant predictor on valid); 'raced-out' (dropped by the budget's race). */
  status: LeaderboardStatus;
  /** Racing: the rung after which it was dropped (0-based). */
  racedOutAtRung?: number;
  /** null when its units had no test pass (a race tests only the finalists that learned). */
  meanTestMacroF1: number | null;
  sdTestMacroF1: number | null;
  /** 95% bootstrap interval of test macro-F1 over the test images (mean of the seeds' bounds). */
  testMacroF1CI?: [number, number];
  seeds: number;
  /** Epochs each seed was given (racing: the rung's). */
  epochs?: number;
  meanTestAccuracy: number | null;
  meanValidMacroF1: number;
  /** Valid images the valid figure is on, when fewer than the split (a race's stratified subset). */
  validImages?: number;
  tiedWith: string[];
  trainSize: number;
}

function statusCell(r: LeaderboardRow): string {
  if (r.status === 'raced-out') return `raced out (rung ${(r.racedOutAtRung ?? 0) + 1})`;
  if (r.status === 'not-learned') return 'not learned';
  return '';
}

/** The terminal leaderboard: aligned columns, ties marked with `=` on the rank, a note per status. */
export function leaderboardTable(rows: LeaderboardRow[], tieNote: string, notes: string[] = []): string {
  const ranks = rows.map((r) => r.rank);
  const racing = rows.some((r) => r.status === 'raced-out' || r.epochs !== rows[0]?.epochs);
  const head = ['rank', 'variant', 'test macro-F1', '95% CI (test)', 'test acc', 'valid macro-F1', ...(racing ? ['seeds x epochs'] : []), 'train', 'tied with / status'];
  const body = rows.map((r) => [
    r.rank === null ? '-' : `${r.rank}${ranks.filter((x) => x === r.rank).length > 1 ? '=' : ''}`,
    r.variant,
    r.meanTestMacroF1 === null ? '-' : r.seeds > 1 ? `${r.meanTestMacroF1.toFixed(4)} ± ${(r.sdTestMacroF1 ?? 0).toFixed(4)}` : r.meanTestMacroF1.toFixed(4),
    r.testMacroF1CI ? `${r.testMacroF1CI[0].toFixed(3)}-${r.testMacroF1CI[1].toFixed(3)}` : '-',
    r.meanTestAccuracy === null ? '-' : r.meanTestAccuracy.toFixed(4),
    r.meanValidMacroF1.toFixed(4),
    ...(racing ? [`${r.seeds} x ${r.epochs ?? '?'}`] : []),
    String(r.trainSize),
    r.status === 'ranked' ? (r.tiedWith.length ? r.tiedWith.join(', ') : '-') : statusCell(r),
  ]);
  const right = new Set([0, head.length - 2]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), '', tieNote, ...notes].join('\n');
}
