/**
 * Time to answer: how long `augment evaluate` takes to rank a few variants, and what it says,
 * three ways in one run on the same built variant folders and the same grid:
 *
 *   1. `augment evaluate --budget B` (racing: short first rung, the clearly behind dropped),
 *   2. `augment evaluate` (the full grid: every variant x seed x epoch),
 *   3. ../shared/bench/anchors/torch_rank_grid.py (plain PyTorch, the full grid, the same
 *      architecture, batch, lr and threads; decodes the PNGs with PIL every epoch, as a plain
 *      script does).
 *
 * Each is timed as a whole process (start-up included). Before them, one
 * `augment evaluate --dry-run` fills the decoded-image cache (its time is reported apart:
 * later runs reuse the cache, as a user's second run does). The budget defaults to 40% of
 * the full grid's dry-run estimate; the order of the runs is budget, full, torch (each run
 * once: minutes each on a shared machine; say so next to the figures).
 *
 * usage: node --import tsx scripts/bench-evaluate.ts [--variants baseline,random,random_v3]
 *   [--variants-root data/variants] [--model resnet18] [--width 0.125] [--size 32] [--epochs 4]
 *   [--seeds 2] [--batch 64] [--lr 1e-3] [--threads 2] [--budget 120s | --budget-fraction 0.4]
 *   [--skip budget,full,torch] [--out results.json]
 * Prints a Markdown table (wall time, the ranking each produced) for docs/BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    variants: { type: 'string', default: 'baseline,random,random_v3' },
    'variants-root': { type: 'string', default: 'data/variants' },
    model: { type: 'string', default: 'resnet18' },
    width: { type: 'string', default: '0.125' },
    size: { type: 'string', default: '32' },
    epochs: { type: 'string', default: '4' },
    seeds: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '1e-3' },
    threads: { type: 'string', default: '2' },
    budget: { type: 'string' },
    'budget-fraction': { type: 'string', default: '0.4' },
    skip: { type: 'string', default: '' },
    cache: { type: 'string' },
    out: { type: 'string' },
  },
});
const variants = a.variants!.split(',').filter(Boolean);
const skip = new Set(a.skip!.split(',').filter(Boolean));
const root = resolve(a['variants-root']!);
const anchor = resolve('../shared/bench/anchors/torch_rank_grid.py');

interface Row {
  variant: string;
  rank: number | null;
  status: string;
  /** Test macro-F1; null for a race's raced-out and not-learned variants (no test pass: see valid). */
  mean: number | null;
  valid?: number;
  sd?: number | null;
  ci?: [number, number];
  tiedWith?: string[];
  racedOutAtRung?: number;
}
interface Result {
  name: string;
  command: string;
  seconds: number;
  rows: Row[];
  note?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; stdout: string; stderr: string; code: number | null }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    p.on('error', fail);
    p.on('close', (code) => done({ seconds: (performance.now() - t0) / 1000, stdout, stderr, code }));
  });
}

const common = [
  '--variants-root', root, '--model', a.model!, '--width', a.width!, '--image-size', a.size!, '--epochs', a.epochs!,
  '--seeds', a.seeds!, '--batch-size', a.batch!, '--lr', a.lr!, '--threads', a.threads!, '--no-report', '--json',
  ...(a.cache ? ['--cache', a.cache] : []),
];

function lastJson(text: string): any {
  const start = text.indexOf('{');
  if (start < 0) throw new Error(`no JSON in output:\n${text.slice(-2000)}`);
  return JSON.parse(text.slice(start));
}

async function augment(name: string, runDir: string, extra: string[]): Promise<Result> {
  const args = ['--import', 'tsx', 'src/cli.ts', 'evaluate', ...variants, ...common, '--run', runDir, ...extra];
  const r = await run(process.execPath, args);
  if (r.code !== 0) throw new Error(`${name}: exit ${r.code}\n${r.stderr.slice(-3000)}`);
  const j = lastJson(r.stdout);
  const rows: Row[] = (j.leaderboard as any[]).map((x) => ({
    variant: x.variant,
    rank: x.rank ?? null,
    status: x.status ?? 'ranked',
    mean: x.meanTestMacroF1 ?? null,
    valid: x.meanValidMacroF1,
    sd: x.sdTestMacroF1,
    ci: x.testMacroF1CI,
    tiedWith: x.tiedWith,
    racedOutAtRung: x.racedOutAtRung,
  }));
  const race = j.race ? `rungs: ${(j.race.rungs as any[]).map((g) => `${g.variants?.length ?? g.variants ?? '?'}v x ${g.seeds ?? '?'}s x ${g.epochs ?? '?'}e`).join(' -> ')}` : undefined;
  return { name, command: `augment evaluate ${variants.join(' ')} ${[...common.filter((c) => c !== root), ...extra].join(' ')}`.replace('--variants-root  ', ''), seconds: r.seconds, rows, note: race };
}

async function torch(): Promise<Result> {
  const dirs = variants.map((v) => join(root, v));
  const env = { LR: a.lr!, BATCH: a.batch!, THREADS: a.threads! };
  const r = await run('/usr/bin/python3', [anchor, a.model!, a.width!, a.size!, a.epochs!, a.seeds!, ...dirs], env);
  if (r.code !== 0) throw new Error(`torch: exit ${r.code}\n${r.stderr.slice(-3000)}`);
  const lines = r.stdout.trim().split('\n');
  const j = JSON.parse(lines[lines.length - 1]) as Record<string, { test_macro_f1_mean: number; sd: number; runs: number[] }>;
  const rows = Object.entries(j)
    .map(([variant, v]) => ({ variant, rank: 0, status: 'ranked', mean: v.test_macro_f1_mean, sd: v.sd }))
    .sort((x, y) => y.mean! - x.mean!);
  rows.forEach((row, i) => (row.rank = i + 1));
  return {
    name: 'PyTorch full grid (torch_rank_grid.py)',
    command: `LR=${env.LR} BATCH=${env.BATCH} THREADS=${env.THREADS} /usr/bin/python3 ../shared/bench/anchors/torch_rank_grid.py ${a.model} ${a.width} ${a.size} ${a.epochs} ${a.seeds} ${variants.map((v) => join(a['variants-root']!, v)).join(' ')}`,
    seconds: r.seconds,
    rows,
    note: 'ranks by mean only (no ties: the script has no noise estimate)',
  };
}

function ranking(r: Result): string {
  return r.rows
    .map((x) => {
      const tag = x.status === 'ranked' ? `${x.rank}${x.tiedWith?.length ? '=' : ''}` : x.status === 'raced-out' ? `out@${(x.racedOutAtRung ?? 0) + 1}` : 'not learned';
      return `${tag} ${x.variant} ${x.mean === null ? `valid ${x.valid?.toFixed(3) ?? '?'}` : x.mean.toFixed(3)}`;
    })
    .join('; ');
}

const tmp = await mkdtemp(join(tmpdir(), 'augment-bench-evaluate-'));
const results: Result[] = [];
try {
  process.stderr.write('# dry run (fills the decode cache, measures the plan)\n');
  const dry = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'evaluate', ...variants, ...common, '--run', join(tmp, 'dry'), '--dry-run']);
  if (dry.code !== 0) throw new Error(`dry run: exit ${dry.code}\n${dry.stderr.slice(-3000)}`);
  const plan = lastJson(dry.stdout).plan ?? {};
  const estimate = Number(plan.estimatedSeconds);
  const budget = a.budget ?? `${Math.max(30, Math.round(estimate * Number(a['budget-fraction'])))}s`;
  process.stderr.write(`# dry run: ${dry.seconds.toFixed(1)} s, full grid estimated ${Math.round(estimate)} s; budget ${budget}\n`);
  if (!skip.has('budget')) results.push(await augment(`augment evaluate --budget ${budget}`, join(tmp, 'budget'), ['--budget', budget]));
  if (!skip.has('full')) results.push(await augment('augment evaluate (full grid)', join(tmp, 'full'), []));
  if (!skip.has('torch')) results.push(await torch());

  const units = variants.length * Number(a.seeds);
  console.log(`\n${variants.length} variants (${variants.join(', ')}), ${a.model} width ${a.width}, ${a.size} px, ${a.epochs} epochs, ${a.seeds} seeds (${units} units), batch ${a.batch}, Adam lr ${a.lr}, ${a.threads} threads; dry run (decode + plan) ${dry.seconds.toFixed(0)} s, full grid estimated ${Math.round(estimate)} s\n`);
  console.log('| run | wall time | ranking (rank variant test macro-F1; = tied) |');
  console.log('|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${Math.round(r.seconds)} s | ${ranking(r)}${r.note ? ` (${r.note})` : ''} |`);
  if (a.out) await writeFile(a.out, `${JSON.stringify({ settings: a, dry: { seconds: dry.seconds, plan }, results }, null, 1)}\n`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
