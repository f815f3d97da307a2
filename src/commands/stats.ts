/**
 * `augment stats [DIR...] [--json] [--plot FILE.png] [--log]`: per-class counts of
 * datasets and built variants. Flags and paths are checked before anything is counted.
 */
import type { CommandModule } from 'yargs';
import { AugmentError } from '../errors.ts';
import { existingFolder, outputFile, requireWith } from './flags.ts';

interface Args {
  dirs: string[];
  json: boolean;
  plot?: string;
  log: boolean;
  dataDir?: string;
}

export const command: CommandModule<object, Args> = {
  command: 'stats [dirs..]',
  describe: 'Per-class image counts of datasets and built variants (default: everything under data/)',
  builder: (y) =>
    y
      .positional('dirs', { type: 'string', array: true, default: [], describe: 'dataset or variant folders' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"<name>": {"all"|"train"|"valid"|"test": {"<class>": n}}}' })
      .option('plot', { type: 'string', describe: 'write a grouped bar chart PNG (before vs after for variants)' })
      .option('log', { type: 'boolean', default: false, describe: 'log scale for --plot' })
      .option('data-dir', { type: 'string', describe: 'where to look when no folder is given (default data)' })
      .example('$0 stats', 'every dataset under data/ and every variant under data/variants/')
      .example('$0 stats data/variants/random_v3 --plot v3.png', 'one variant, with a chart')
      .example('$0 stats data/tabler --json', 'counts as JSON') as any,
  handler: async (argv) => {
    const dirs = argv.dirs ?? [];
    requireWith('--log', argv.log, '--plot', argv.plot !== undefined);
    if (argv.dataDir !== undefined && dirs.length > 0) throw new AugmentError('BAD_ARGUMENT', '--data-dir applies only when no folder is given');
    // an explicit --data-dir must exist; the default data/ may not yet (then the hint below)
    const dataDir = argv.dataDir === undefined ? 'data' : (await existingFolder('--data-dir', argv.dataDir), argv.dataDir);
    for (const d of dirs) await existingFolder(undefined, d);
    const plotOk = (outside: string[]) => outputFile('--plot', argv.plot, { extensions: ['.png'], outside: outside.map((d) => ({ path: d, what: 'the dataset' })) });
    if (argv.plot !== undefined) await plotOk(dirs);
    const { collectStats, formatStatsTable, renderStatsChart, statsJson } = await import('../stats/index.ts'); // vega loads only here
    const entries = await collectStats(dirs, dataDir);
    const plot = argv.plot === undefined ? undefined : await plotOk(entries.map((e) => e.dir)); // never into a dataset it counts
    if (entries.length === 0) {
      process.stdout.write(
        argv.json ? '{}\n' : `No datasets under ${dataDir}/: run \`augment sample tabler\` for sample data (then \`augment build <recipe>\` for variants).\n`,
      );
      return;
    }
    if (argv.json) process.stdout.write(JSON.stringify(statsJson(entries), null, 2) + '\n');
    else process.stdout.write(formatStatsTable(entries, { width: Math.min(100, process.stdout.columns ?? 100) }) + '\n');
    if (plot) {
      await renderStatsChart(entries, plot, { log: argv.log });
      process.stderr.write(`chart written to ${argv.plot}\n`);
    }
  },
};
