/**
 * `augment sample <set>`: renders a bundled sample dataset into folder-per-class PNGs.
 */
import type { CommandModule } from 'yargs';
import type { SampleResult } from '../sample/index.ts';
import { oneOf, optionalWholeNumber, outputFolder, wholeNumber } from './flags.ts';

const SETS = ['tabler', 'streamline'] as const;
type SetName = (typeof SETS)[number];

interface Args {
  set: string;
  size: string;
  out?: string;
  top?: string;
}

export const command: CommandModule<object, Args> = {
  command: 'sample <set>',
  describe:
    'Render a bundled sample dataset into data/<set>/<class>/: tabler (MIT, top 20 of 41 icon categories) or streamline (CC BY 4.0, 1,000 hand-drawn icons, 15 categories)',
  builder: (y) =>
    y
      .positional('set', { type: 'string', describe: `which sample set: ${SETS.join(' or ')}`, demandOption: true })
      .option('size', { type: 'string', default: '64', describe: 'edge length in px' })
      .option('out', { type: 'string', describe: 'output folder (default data/<set>)' })
      .option('top', { type: 'string', describe: 'how many categories, largest first (tabler: 20, streamline: all 15)' })
      .example('$0 sample tabler', 'render data/tabler at 64 px')
      .example('$0 sample tabler --size 224 --out data/tabler224', 'a larger copy')
      .example('$0 sample streamline', 'hand-drawn icons into data/streamline (with LICENSE.txt)') as any,
  handler: async (argv) => {
    const set: SetName = oneOf('the sample set', argv.set, SETS);
    const size = wholeNumber('--size', argv.size); // ranges: the renderers' own checks
    const top = optionalWholeNumber('--top', argv.top);
    const out = argv.out ?? `data/${set}`;
    await outputFolder('--out', out);
    // the renderers (resvg, the icon sets) load only now, after the flags were checked
    const [{ renderStreamlineSample, renderTablerSample }, { formatSampleSummary, progressPrinter }] = await Promise.all([
      import('../sample/index.ts'),
      import('../sample/report.ts'),
    ]);
    const progress = progressPrinter(process.stderr);
    let result: SampleResult;
    try {
      const render = set === 'streamline' ? renderStreamlineSample : renderTablerSample;
      result = await render({ out, size, top, onProgress: progress.update });
    } finally {
      progress.end();
    }
    process.stdout.write(formatSampleSummary(out, result) + '\n');
  },
};
