/**
 * `augment evaluate --model vgg16 [VARIANT...]`: train a fixed model on each variant with the
 * same settings and seeds, and rank the variants by test macro-F1. Thin: parses and checks
 * flags (before TensorFlow.js loads), picks the backend, calls `evaluate` / `mergeEvaluate`
 * (src/train/evaluate.ts), prints, and writes the HTML report.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { invalidParameter } from '../errors.ts';
import { BACKENDS, parseBackend } from '../train/backend/names.ts';
import { parseShardFlags } from '../cluster/shard.ts';
import { MODEL_DEFAULTS } from '../train/model-defaults.ts';
import { AugmentError } from '../errors.ts';
import { DEFAULT_EVALUATE_SETTINGS, MODEL_NAMES, parseDuration, parseFocalAlpha, type EvaluateSettings } from '../train/settings.ts';
import { parseLearningRate } from '../train/schedules.ts';
import { outputFolder } from './flags.ts';

interface Args {
  variants?: string[];
  model?: string;
  seeds?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  optimizer?: string;
  momentum?: string;
  schedule?: string;
  stepSize?: string;
  gamma?: string;
  piecewise?: string;
  loss?: string;
  focalGamma?: string;
  focalAlpha?: string;
  sampler?: string;
  patience?: string;
  warmupEpochs?: string;
  width?: string;
  imageSize?: string;
  backend?: string;
  threads?: string;
  run?: string;
  variantsRoot?: string;
  json?: boolean;
  resume?: boolean;
  quick?: boolean;
  budget?: string;
  dryRun?: boolean;
  cache?: string;
  shard?: string;
  shards?: string;
  merge?: boolean;
  report?: boolean;
}

/** The per-model rates (src/train/model-defaults.ts), for the help text. */
const PER_MODEL_LR = Object.entries(MODEL_DEFAULTS)
  .filter(([, d]) => d.settings.lr !== undefined)
  .map(([m, d]) => `${m}: ${d.settings.lr}`)
  .join(', ');

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function num(flag: string, raw: string | undefined, expected = 'a number'): number | undefined {
  if (raw === undefined) return undefined;
  const s = String(raw).trim();
  if (!NUMBER.test(s)) throw invalidParameter(flag, expected, String(raw));
  return Number(s);
}

/**
 * `--quick`: the README demo preset (explicit flags still win): resnet18 at width 0.125,
 * 32 px, 1 seed, 10 epochs, batch 32, Adam 1e-3. Measured (03:50 UTC, wasm 2 threads with
 * augment's kernels, 2-core box): baseline + random + random_v3 of the tabler sample (~21k
 * train images per epoch, ~3000 img/s) took 2 min 18 s, test macro-F1 0.45 / 0.42 / 0.42
 * (5 epochs: 0.40 / 0.39 / 0.34); again after the ResNets took torchvision's padding (04:48
 * UTC): 2 min 52 s, 0.46 / 0.44 / 0.43. Under heavy sharing the same run has taken 5-10x longer, so
 * the margin to the demo's ten minutes is deliberate. vgg16 was tried and left out: without
 * batch norm it stays at chance (valid macro-F1 0.015, one class predicted) for its first 5-10
 * epochs at width 0.125 and 0.25, lr 1e-3 and 1e-4, with PyTorch's default init and with
 * torchvision's (see ../train/models/vgg16.ts).
 */
export const QUICK_PRESET: Partial<EvaluateSettings> = {
  model: 'resnet18',
  width: 0.125,
  imageSize: 32,
  seeds: 1,
  epochs: 10,
  batchSize: 32,
  lr: 1e-3,
};

/** Flags to explicit settings (undefined = not given). */
export function settingsFromArgs(a: Args): Partial<EvaluateSettings> {
  const s: Partial<EvaluateSettings> = {
    model: a.model,
    seeds: num('--seeds', a.seeds, 'a whole number >= 1'),
    epochs: num('--epochs', a.epochs, 'a whole number >= 1'),
    batchSize: num('--batch-size', a.batchSize, 'a whole number >= 1'),
    lr: a.lr === undefined ? undefined : parseLearningRate(a.lr, '--lr'),
    optimizer: a.optimizer as EvaluateSettings['optimizer'] | undefined,
    momentum: num('--momentum', a.momentum, 'a number in [0, 1)'),
    schedule: a.schedule as EvaluateSettings['schedule'] | undefined,
    stepSize: num('--step-size', a.stepSize, 'a whole number >= 1'),
    gamma: num('--gamma', a.gamma, 'a positive number'),
    piecewise: a.piecewise,
    loss: a.loss as EvaluateSettings['loss'] | undefined,
    focalGamma: num('--focal-gamma', a.focalGamma, 'a number >= 0'),
    focalAlpha: parseFocalAlpha(a.focalAlpha),
    sampler: a.sampler as EvaluateSettings['sampler'] | undefined,
    patience: num('--patience', a.patience, 'a whole number >= 0'),
    warmupEpochs: num('--warmup-epochs', a.warmupEpochs, 'a whole number >= 0'),
    width: num('--width', a.width, 'a number in (0, 8]'),
    imageSize: num('--image-size', a.imageSize, 'a whole number >= 8'),
  };
  if (a.quick) {
    for (const [k, v] of Object.entries(QUICK_PRESET)) {
      const key = k as keyof EvaluateSettings;
      if (s[key] === undefined) (s as Record<string, unknown>)[key] = v;
    }
  }
  return s;
}

export const command: CommandModule<object, Args> = {
  command: 'evaluate [variants..]',
  describe: 'Train a fixed model on each variant (same settings and seeds) and rank the variants by test macro-F1',
  builder: (y: Argv<object>) =>
    y
      .positional('variants', { type: 'string', array: true, describe: 'Variant names under data/variants/ or paths (default: every built variant)' })
      .option('model', { type: 'string', describe: `Model: vgg16, resnet18, resnet50 (default ${DEFAULT_EVALUATE_SETTINGS.model})` })
      .option('seeds', { type: 'string', describe: `Number of seeds per variant (default ${DEFAULT_EVALUATE_SETTINGS.seeds})` })
      .option('epochs', { type: 'string', describe: `Maximum epochs (default ${DEFAULT_EVALUATE_SETTINGS.epochs})` })
      .option('batch-size', { type: 'string', describe: `Batch size (default ${DEFAULT_EVALUATE_SETTINGS.batchSize})` })
      .option('lr', { type: 'string', describe: `Learning rate (default ${DEFAULT_EVALUATE_SETTINGS.lr}${PER_MODEL_LR ? `; ${PER_MODEL_LR} when not given` : ''})` })
      .option('optimizer', { type: 'string', choices: ['adam', 'sgd'], describe: 'Optimizer (default adam)' })
      .option('momentum', { type: 'string', describe: 'SGD momentum (default 0.9)' })
      .option('schedule', { type: 'string', choices: ['constant', 'step', 'piecewise'], describe: 'Learning-rate schedule (default constant)' })
      .option('step-size', { type: 'string', describe: 'step: epochs between decays (default 30)' })
      .option('gamma', { type: 'string', describe: 'step: decay factor (default 0.1)' })
      .option('piecewise', { type: 'string', describe: 'piecewise: "lr:epochs,..." e.g. 3e-6:30,2e-6:50,1e-6:100' })
      .option('loss', { type: 'string', choices: ['ce', 'focal'], describe: 'Loss (default ce)' })
      .option('focal-gamma', { type: 'string', describe: 'focal: gamma (default 2)' })
      .option('focal-alpha', { type: 'string', describe: 'focal: alpha, one number or one per class (comma-separated)' })
      .option('sampler', { type: 'string', choices: ['uniform', 'weighted'], describe: 'uniform shuffle, or draw classes evenly (default uniform)' })
      .option('patience', { type: 'string', describe: `Early stopping: epochs without a better valid macro-F1 (0: off; default ${DEFAULT_EVALUATE_SETTINGS.patience})` })
      .option('warmup-epochs', { type: 'string', describe: 'Linear learning-rate warm-up over this many epochs, per step (default 0)' })
      .option('width', { type: 'string', describe: 'Model channel multiplier (default 1)' })
      .option('image-size', { type: 'string', describe: `Image side in pixels (default ${DEFAULT_EVALUATE_SETTINGS.imageSize})` })
      .option('backend', { type: 'string', describe: `Force a backend: ${BACKENDS.join(', ')}` })
      .option('threads', { type: 'string', describe: 'wasm: CPU threads (default: every core, at most 8; env AUGMENT_WASM_THREADS)' })
      .option('run', { type: 'string', describe: 'Run folder (default data/runs/<timestamp>)' })
      .option('variants-root', { type: 'string', describe: 'Where variant names are looked up (default data/variants)' })
      .option('resume', { type: 'boolean', describe: 'Continue an interrupted run (--run DIR, or the newest unfinished one)' })
      .option('quick', { type: 'boolean', describe: 'Demo preset: resnet18, width 0.125, 32 px, 1 seed, 10 epochs, batch 32' })
      .option('budget', { type: 'string', describe: 'Wall-time budget, e.g. 90s, 20m, 2h: race the variants (short runs first, scored on a valid subset sized to the budget, the clearly worse dropped, survivors get more epochs and seeds; the test pass only for the finalists that learned) instead of the full grid' })
      .option('dry-run', { type: 'boolean', describe: 'Print the plan and its estimate (measured with a few training steps here), train nothing' })
      .option('cache', { type: 'string', describe: 'Decoded-image cache shared by variants and runs (default data/cache/decoded)' })
      .option('shard', { type: 'string', describe: 'Train shard K of N (0-based, K/N) of the variant x seed units into the shared --run folder' })
      .option('shards', { type: 'string', describe: 'Like --shard, K from the scheduler (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX)' })
      .option('merge', { type: 'boolean', describe: 'Rank the units that shards trained into --run DIR (names the missing ones)' })
      .option('report', { type: 'boolean', default: true, describe: 'Write the HTML report into the run folder (--no-report to skip)' })
      .option('json', { type: 'boolean', describe: 'Print the result as JSON (with plan, data and leaderboard[].status)' })
      .example('$0 evaluate --model vgg16 --seeds 3', 'rank every built variant (vgg16 starts slowly: its default is no early stopping)')
      .example('$0 evaluate --quick baseline random random_v3', 'the README demo (a few minutes on 2 cores)')
      .example('$0 evaluate --quick --budget 5m', 'rank every built variant in about five minutes (racing)')
      .example('$0 evaluate --dry-run', 'print the plan and the measured estimate only')
      .example('$0 evaluate --run data/runs/x --shard 0/2', 'one of two shards; then: augment evaluate --merge --run data/runs/x')
      .epilog(
        'First a plan (stderr): units, epochs, images, and an estimate measured with a few training steps here. ' +
          'The table: every variant is ranked, "not learned" (valid macro-F1 never rose above a constant predictor\'s: ' +
          'try more --epochs, resnet18 or another --lr) or "raced out (rung k)" (--budget). ' +
          'Ranked variants show test macro-F1 mean ± sd over the seeds and a 95% bootstrap interval over the test images; ' +
          'two are tied unless both the seed spread (paired t-test by seed, p < 0.05) and the intervals say they differ.',
      ),
  handler: async (a: ArgumentsCamelCase<Args>) => {
    const settings = settingsFromArgs(a); // bad flags fail before the backend starts
    if (settings.model !== undefined && !MODEL_NAMES.includes(settings.model)) throw invalidParameter('--model', `one of ${MODEL_NAMES.join(', ')}`, settings.model);
    const budget = a.budget === undefined ? undefined : parseDuration(a.budget, '--budget');
    const shard = parseShardFlags({ shard: a.shard, shards: a.shards });
    if (budget !== undefined && shard) throw new AugmentError('BAD_ARGUMENT', '--budget and --shard/--shards do not combine: racing decides the next units from the last rung, so it runs in one process');
    if (a.merge && (shard || budget !== undefined || a.dryRun)) throw new AugmentError('BAD_ARGUMENT', '--merge ranks a sharded run: give it only --run DIR (and --json, --no-report)');
    if (a.merge && !a.run) throw new AugmentError('BAD_ARGUMENT', '--merge needs --run DIR (the folder the shards trained into)');
    if (shard && !a.run) throw new AugmentError('BAD_ARGUMENT', `--shard${a.shards ? 's' : ''} needs --run DIR: every shard trains into the same run folder`);
    if (a.backend !== undefined) parseBackend(a.backend);
    const threads = num('--threads', a.threads, 'a whole number of threads, 1 or more');
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw invalidParameter('--threads', 'a whole number of threads, 1 or more', String(a.threads));
    const err = (line: string) => process.stderr.write(`${line}\n`);
    // TensorFlow.js loads only now, after the flags were checked (a fast --help and fast errors)
    const [{ initBackend }, { evaluate, mergeEvaluate }, { createProgress }] = await Promise.all([
      import('../train/backend/select.ts'),
      import('../train/evaluate.ts'),
      import('../train/progress.ts'),
    ]);
    if (a.merge) {
      const result = await mergeEvaluate({ runDir: a.run!, log: err });
      await printResult(result, a, err);
      return;
    }
    // H8 (issue 10): settings ranges, variants and the run folder are refused before the backend starts
    // (preparePlan checks and writes nothing; evaluate() runs it again)
    const { preparePlan } = await import('../train/plan.ts');
    if (a.run !== undefined && !a.resume) await outputFolder('--run', a.run); // not a file, and writable
    if (a.cache !== undefined) await outputFolder('--cache', a.cache);
    await preparePlan({ variants: a.variants, variantsRoot: a.variantsRoot, runDir: a.run, resume: a.resume, settings, modelNames: MODEL_NAMES, join: Boolean(shard) });
    const backend = await initBackend({ force: a.backend, threads, log: err }); // prints the backend line first

    const ac = new AbortController();
    let stops = 0;
    const onSignal = () => {
      stops++;
      if (stops === 1) {
        err('\nstopping after the current batch (finished epochs are kept; Ctrl-C again to quit at once)');
        ac.abort();
      } else process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const result = await evaluate({
        variants: a.variants,
        variantsRoot: a.variantsRoot,
        runDir: a.run,
        resume: a.resume,
        settings,
        backend: backend.description,
        progress: createProgress(),
        log: err,
        signal: ac.signal,
        budget,
        dryRun: a.dryRun,
        cacheDir: a.cache,
        shard: shard ?? undefined,
        heartbeatSeconds: process.stderr.isTTY ? 0 : 30,
      });
      await printResult(result, a, err);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** stdout: the table (or JSON); then the HTML report of a ranked run. */
async function printResult(
  result: { table: string; runDir: string; leaderboard: unknown[]; dryRun?: boolean; shard?: unknown },
  a: Args,
  err: (line: string) => void,
): Promise<void> {
  let report: string | undefined;
  const ranked = !result.dryRun && !result.shard;
  if (ranked && a.report !== false) {
    // H6's writer (src/report/index.ts), loaded only when used
    const { writeReport } = await import('../report/index.ts');
    report = (await writeReport(result.runDir)).file;
    err(`report: ${report}`);
  }
  if (a.json) {
    const { table: _t, ...json } = result;
    process.stdout.write(`${JSON.stringify(report ? { ...json, report } : json, null, 1)}\n`);
  } else if (result.dryRun) {
    process.stdout.write(`dry run: nothing trained, no run folder written (the plan is above)\n`);
  } else {
    process.stdout.write(`\n${result.table}\n\nrun folder: ${result.runDir}\n${report ? `report: ${report}\n` : ''}`);
  }
}
