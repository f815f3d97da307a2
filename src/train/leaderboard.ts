/**
 * Step 4 of `evaluate`: rank, from the unit records (src/train/run-folder.ts), and write the
 * run's reports (epochs.csv, curves.png, confusion-<variant>.png, metrics.json).
 *
 * Status of a variant: 'raced-out' when the budget's race dropped it; else 'not-learned' when
 * none of its seeds' valid macro-F1 rose meaningfully above a constant predictor's
 * (`hasLearned`); else 'ranked'. Only ranked variants get a rank; ties and ranks follow
 * `rankVariants` (src/train/ranking.ts: paired by seed where seeds match, and the test
 * bootstrap intervals).
 */
import { join } from 'node:path';
import { meanOf } from './metrics.ts';
import { rankVariants, TIE_RULE, type RankInput } from './ranking.ts';
import { confusionFile, leaderboardTable, writeConfusionPng, writeCurvesPng, writeEpochsCsv, writeFileAtomic, type HistoryRow, type LeaderboardRow } from './report.ts';
import type { RunSummary, UnitRecord } from './run-folder.ts';
import type { EvaluateSettings } from './settings.ts';

export interface VariantOutcome {
  variant: string;
  trainSize: number;
  /** The records it is judged by (the full grid: every seed; racing: its last rung). */
  records: UnitRecord[];
  racedOutAtRung?: number;
  /** Why the race dropped it, e.g. `valid macro-F1 0.05, clearly behind baseline`. */
  racedOutWhy?: string;
}

export interface Leaderboard {
  rows: LeaderboardRow[];
  tieNote: string;
  /** One line per variant that is not ranked, with the likely remedy. */
  notes: string[];
}

export const NOT_LEARNED_REMEDY = 'try more --epochs with --patience 0 (vgg16 from scratch sat at chance for 15-20 epochs at lr 1e-4 when measured; at width 1 lr 1e-3 collapses to one class), a batch-norm model (--model resnet18), or another --lr (lower when the loss jumps about)';

export function buildLeaderboard(outcomes: VariantOutcome[]): Leaderboard {
  const inputs: RankInput[] = [];
  const statusOf = new Map<string, LeaderboardRow['status']>();
  const testedOf = new Map<string, boolean>();
  for (const o of outcomes) {
    const status: LeaderboardRow['status'] =
      o.racedOutAtRung !== undefined ? 'raced-out' : o.records.length > 0 && o.records.every((r) => !r.learned.learned) ? 'not-learned' : 'ranked';
    statusOf.set(o.variant, status);
    // a race leaves the test pass out for the units it does not report (raced out, not
    // learned): they are ordered by their valid macro-F1 and show no test figures
    const tested = o.records.length > 0 && o.records.every((r) => r.tested !== false && r.summary.testMacroF1 !== null);
    testedOf.set(o.variant, tested);
    const cis = o.records.map((r) => r.summary.testMacroF1CI);
    inputs.push({
      variant: o.variant,
      scores: o.records.map((r) => (tested ? r.summary.testMacroF1! : r.summary.validMacroF1)),
      seeds: o.records.map((r) => r.seed),
      testCI: tested && cis.every((c) => c) ? cis.map((c) => ({ lo: c![0], hi: c![1] })) : undefined,
      status: status === 'ranked' && !tested ? 'not-learned' : status,
    });
  }
  const ranked = rankVariants(inputs);
  const rows: LeaderboardRow[] = ranked.map((k) => {
    const o = outcomes.find((x) => x.variant === k.variant)!;
    const s = o.records.map((r) => r.summary);
    const tested = testedOf.get(k.variant)!;
    const validImages = o.records.map((r) => r.validImages).find((n) => n !== undefined);
    return {
      rank: k.rank,
      variant: k.variant,
      status: k.status,
      ...(o.racedOutAtRung !== undefined ? { racedOutAtRung: o.racedOutAtRung } : {}),
      meanTestMacroF1: tested ? k.mean : null,
      sdTestMacroF1: tested ? k.sd : null,
      ...(k.ci ? { testMacroF1CI: [k.ci.lo, k.ci.hi] as [number, number] } : {}),
      seeds: s.length,
      epochs: o.records[0]?.epochs,
      meanTestAccuracy: tested ? meanOf(s.map((r) => r.testAccuracy!)) : null,
      meanValidMacroF1: meanOf(s.map((r) => r.validMacroF1)),
      ...(validImages !== undefined ? { validImages } : {}),
      tiedWith: k.tiedWith,
      trainSize: o.trainSize,
    };
  });
  const notes: string[] = [];
  for (const r of rows) {
    const o = outcomes.find((x) => x.variant === r.variant)!;
    if (r.status === 'not-learned') {
      const v = o.records[0].learned;
      notes.push(
        `${r.variant}: not learned, not ranked: no seed's valid macro-F1 rose meaningfully above a constant predictor's ` +
          `(best ${Math.max(...o.records.map((x) => x.learned.best)).toFixed(4)}, chance ${v.chance.toFixed(4)}, needs > ${(v.chance + v.margin).toFixed(4)}); ${NOT_LEARNED_REMEDY}`,
      );
    } else if (r.status === 'raced-out') {
      notes.push(`${r.variant}: raced out after rung ${(r.racedOutAtRung ?? 0) + 1}${o.racedOutWhy ? ` (${o.racedOutWhy})` : ''}; its figures are from that rung${r.meanTestMacroF1 === null ? ' (valid only: no test pass for raced-out variants)' : ''}`);
    }
  }
  if (rows.length > 0 && rows.every((r) => r.status === 'not-learned')) {
    notes.push(`no variant learned: the table ranks nothing; ${NOT_LEARNED_REMEDY}`);
  }
  const seedCounts = [...new Set(rows.filter((r) => r.status === 'ranked').map((r) => r.seeds))];
  const tieNote =
    seedCounts.length === 0
      ? 'no variant ranked (see the lines below)'
      : seedCounts.length === 1 && seedCounts[0] === 1
      ? `1 seed: ties from the test bootstrap only (${TIE_RULE}); run --seeds 3 or more to see the seed-to-seed noise`
      : `${seedCounts.join('/') || 0} seed(s); mean ± sd over the seeds; ${TIE_RULE}`;
  return { rows, tieNote, notes };
}

export function leaderboardText(l: Leaderboard): string {
  return leaderboardTable(l.rows, l.tieNote, l.notes);
}

export function historyRows(records: UnitRecord[]): HistoryRow[] {
  // the newest record of each (variant, seed): its history holds the earlier rungs' epochs too
  const newest = new Map<string, UnitRecord>();
  for (const r of records) {
    const k = `${r.variant}\u0000${r.seed}`;
    const had = newest.get(k);
    if (!had || r.epochs > had.epochs || (r.epochs === had.epochs && r.rung > had.rung)) newest.set(k, r);
  }
  return [...newest.values()]
    .sort((a, b) => (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : a.seed - b.seed))
    .flatMap((r) => r.history.map((h) => ({ ...h, variant: r.variant, seed: r.seed })));
}

export interface ReportInput {
  runDir: string;
  settings: EvaluateSettings;
  classes: string[];
  outcomes: VariantOutcome[];
  /** Every record (for the curves and epochs.csv). */
  records: UnitRecord[];
  leaderboard: Leaderboard;
  charts: boolean;
  /** The rest of metrics.json (variants, backend, plan, data, race, ...). */
  extra: Record<string, unknown>;
}

export function runSummaries(outcomes: VariantOutcome[]): RunSummary[] {
  return outcomes.flatMap((o) => o.records.map((r) => r.summary)).sort((a, b) => a.seed - b.seed || (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0));
}

/** epochs.csv, the charts and metrics.json (written last: its presence = a finished run). */
export async function writeRunReports(r: ReportInput): Promise<Record<string, unknown>> {
  const rows = historyRows(r.records);
  await writeEpochsCsv(join(r.runDir, 'epochs.csv'), rows);
  const s = r.settings;
  if (r.charts) {
    await writeCurvesPng(join(r.runDir, 'curves.png'), rows, `${s.model} (width ${s.width}, ${s.imageSize} px): mean over the seeds`);
    for (const o of r.outcomes) {
      if (o.records.length === 0) continue;
      const sum = r.classes.map((_, t) => r.classes.map((__, p) => o.records.reduce((a, x) => a + x.summary.testConfusion[t][p], 0)));
      await writeConfusionPng(confusionFile(r.runDir, o.variant), sum, r.classes, `${o.variant}: test confusion, selected weights, summed over ${o.records.length} seed(s)`);
    }
  }
  const metrics = {
    version: 1,
    finishedAt: new Date().toISOString(),
    runDir: r.runDir,
    settings: r.settings,
    classes: r.classes,
    ...r.extra,
    leaderboard: r.leaderboard.rows,
    tieRule: r.leaderboard.tieNote,
    notes: r.leaderboard.notes,
    runs: runSummaries(r.outcomes),
  };
  await writeFileAtomic(join(r.runDir, 'metrics.json'), `${JSON.stringify(metrics, null, 1)}\n`);
  return metrics;
}
