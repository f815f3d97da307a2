import type { CommandModule } from 'yargs';

interface Args {
  recipe: string[];
  source?: string;
  out?: string;
  concurrency?: number;
  strict: boolean;
  json: boolean;
}

export const command: CommandModule<{}, Args> = {
  command: 'build <recipe..>',
  describe: 'Materialise recipe variants on disk (data/variants/<recipe>/{train,valid,test}/<class>/)',
  builder: (y) =>
    y
      .positional('recipe', { type: 'string', array: true, demandOption: true, describe: 'recipe name (./recipes, then shipped) or path to a .yaml' })
      .option('source', { type: 'string', describe: "source dataset folder (overrides the recipe's source)" })
      .option('out', { type: 'string', describe: 'output variant folder (one recipe only)' })
      .option('concurrency', { alias: 'j', type: 'number', describe: 'worker threads (default: all cores)' })
      .option('strict', { type: 'boolean', default: false, describe: 'unreadable source images are fatal instead of excluded' })
      .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' })
      .example('augment build random_v3', 'build the shipped random_v3 recipe from data/tabler')
      .example('augment build recipes/mine.yaml --source ~/photos --out /tmp/mine -j 8', '') as any,
  handler: async (a) => {
    const [{ buildVariant }, { summarizeBuild }, { createProgress }] = await Promise.all([
      import('../build/build.ts'),
      import('../build/summary.ts'),
      import('../terminal/progress.ts'),
    ]);
    if (a.out && a.recipe.length > 1) throw new Error('--out takes one recipe at a time');
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    const results = [];
    try {
      for (const r of a.recipe) {
        const bar = createProgress(`build ${r}`);
        try {
          const res = await buildVariant(r, {
            source: a.source,
            out: a.out,
            concurrency: a.concurrency,
            strict: a.strict,
            signal: ac.signal,
            onProgress: (p) => p.phase === 'build' && bar.update(p.done, p.total),
          });
          bar.stop();
          results.push(res);
          if (!a.json) console.log(summarizeBuild(res) + '\n');
        } finally {
          bar.stop();
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (a.json)
      console.log(
        JSON.stringify(
          results.map((r) => ({ name: r.name, variantDir: r.variantDir, splitFile: r.splitFile, written: r.written, unchanged: r.unchanged, removed: r.removed, before: r.plan.before, after: r.plan.after, unreadable: r.unreadable, failed: r.failed, seconds: r.seconds })),
          null,
          1,
        ),
      );
  },
};
