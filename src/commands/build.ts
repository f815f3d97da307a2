import type { CommandModule } from 'yargs';
import { AugmentError } from '../errors.ts';
import { optionalWholeNumber, outputFolder } from './flags.ts';

interface Args {
  recipe: string[];
  source?: string;
  out?: string;
  concurrency?: string;
  strict: boolean;
  json: boolean;
  shard?: string;
  shards?: string;
  prepare: boolean;
}

export const command: CommandModule<{}, Args> = {
  command: 'build <recipe..>',
  describe: 'Materialise recipe variants on disk (data/variants/<recipe>/{train,valid,test}/<class>/)',
  builder: (y) =>
    y
      .positional('recipe', { type: 'string', array: true, demandOption: true, describe: 'recipe name (./recipes, then shipped) or path to a .yaml' })
      .option('source', { type: 'string', describe: "source dataset folder (overrides the recipe's source)" })
      .option('out', { type: 'string', describe: 'output variant folder (one recipe only)' })
      .option('concurrency', { alias: 'j', type: 'string', describe: 'worker threads (default: all cores)' })
      .option('strict', { type: 'boolean', default: false, describe: 'unreadable source images are fatal instead of excluded' })
      .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' })
      .option('shard', { type: 'string', describe: 'make only shard K of N (0-based, e.g. 0/3); then augment merge VARIANT_DIR' })
      .option('prepare', { type: 'boolean', default: false, describe: 'scan the source and write the split only (run once before a large --shards array)' })
      .option('shards', { type: 'string', describe: 'N shards, K from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) or AWS_BATCH_JOB_ARRAY_INDEX' })
      .example('augment build random_v3', 'build the shipped random_v3 recipe from data/tabler')
      .example('augment build recipes/mine.yaml --source ~/photos --out /tmp/mine -j 8', '')
      .example('augment build random_v3 --out /shared/v3 --shard 1/3', 'shard 1 of 3 (then: augment merge /shared/v3)') as any,
  handler: async (a) => {
    // The flags first: a mistake is reported before the build's modules load (~0.5 s).
    if (a.out && a.recipe.length > 1) throw new AugmentError('BAD_ARGUMENT', '--out takes one recipe at a time');
    const concurrency = optionalWholeNumber('-j/--concurrency', a.concurrency, { min: 1 }); // H8: flags.ts parsers
    if (a.out !== undefined) await outputFolder('--out', a.out);
    const [{ buildVariant }, { summarizeBuild }, { createProgress }, { parseShardFlags }] = await Promise.all([
      import('../variant/build.ts'),
      import('../variant/summary.ts'),
      import('../terminal/progress.ts'),
      import('../cluster/shard.ts'),
    ]);
    const shard = parseShardFlags({ shard: a.shard, shards: a.shards });
    if (shard && a.recipe.length > 1) throw new AugmentError('BAD_ARGUMENT', '--shard/--shards take one recipe at a time');
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    // SIGTERM (a scheduler's preemption or time limit) stops like Ctrl-C, but exits "retry me" (75).
    const onSigterm = () => ac.abort(new AugmentError('RETRYABLE', 'terminated by SIGTERM'));
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigterm);
    const results = [];
    try {
      for (const r of a.recipe) {
        const bar = createProgress(`build ${r}`);
        try {
          const res = await buildVariant(r, {
            source: a.source,
            out: a.out,
            concurrency,
            strict: a.strict,
            signal: ac.signal,
            shard,
            prepare: a.prepare,
            onProgress: (p) => p.phase === 'build' && bar.update(p.done, p.total),
          });
          bar.stop();
          results.push(res);
          if (!a.json && res.prepared)
            console.log(`Prepared ${res.name}: scanned ${res.sourceRoot} (${res.plan.classes.length} classes), split ${res.splitReused ? 'reused' : 'written'}: ${res.splitFile}; ${res.plan.jobs.reduce((n, j) => n + j.outputs.length, 0)} outputs to build.\n`);
          else if (!a.json) console.log(summarizeBuild(res) + '\n');
          if (!a.json && res.shard)
            console.log(`Shard ${res.shard.index}/${res.shard.count}: ${res.shard.planned} of the variant's outputs; when all ${res.shard.count} shards are done: augment merge ${res.variantDir}\n`);
        } finally {
          bar.stop();
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
    if (a.json)
      console.log(
        JSON.stringify(
          results.map((r) => ({ name: r.name, variantDir: r.variantDir, ...(r.shard ? { shard: r.shard } : {}), splitFile: r.splitFile, written: r.written, unchanged: r.unchanged, removed: r.removed, before: r.plan.before, after: r.plan.after, unreadable: r.unreadable, failed: r.failed, seconds: r.seconds })),
          null,
          1,
        ),
      );
  },
};
