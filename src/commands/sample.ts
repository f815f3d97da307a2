/**
 * `augment sample <set>`: renders a bundled sample dataset into folder-per-class PNGs.
 */
import type { CommandModule } from 'yargs';
import { renderTablerSample } from '../sample/index.ts';
import type { SampleResult } from '../sample/index.ts';
import { formatSampleSummary, progressPrinter } from '../sample/report.ts';

const SETS = ['tabler'] as const;
type SetName = (typeof SETS)[number];

interface Args {
  set: SetName;
  size: number;
  out?: string;
  top: number;
}

export const command: CommandModule<object, Args> = {
  command: 'sample <set>',
  describe: 'Render a bundled sample dataset (tabler: top-20 icon categories, 64 px) into data/<set>/<class>/',
  builder: (y) =>
    y
      .positional('set', { choices: SETS, describe: 'which sample set', demandOption: true })
      .option('size', { type: 'number', default: 64, describe: 'edge length in px' })
      .option('out', { type: 'string', describe: 'output folder (default data/<set>)' })
      .option('top', { type: 'number', default: 20, describe: 'how many categories, largest first' })
      .example('$0 sample tabler', 'render data/tabler at 64 px')
      .example('$0 sample tabler --size 224 --out data/tabler224', 'a larger copy') as any,
  handler: async (argv) => {
    const out = argv.out ?? `data/${argv.set}`;
    const progress = progressPrinter(process.stderr);
    let result: SampleResult;
    try {
      result = await renderTablerSample({ out, size: argv.size, top: argv.top, onProgress: progress.update });
    } finally {
      progress.end();
    }
    process.stdout.write(formatSampleSummary(out, result) + '\n');
  },
};
