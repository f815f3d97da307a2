/**
 * `augment demo` (`npm run demo`): the whole job on the bundled sample data, in one command.
 * Renders the tabler icons (if absent), builds every shipped recipe, prints the class
 * histograms before and after (and writes them as a PNG), then ranks a few variants with a
 * quick evaluate (narrow resnet18, 10 epochs: a few minutes on 2 cores; the --quick preset of evaluate),
 * and ends with the run's HTML report (src/report/), printing its path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { invalidParameter } from '../errors.ts';
import { QUICK_PRESET } from './evaluate.ts';

interface Args {
  evaluate: boolean;
  variants: string[];
  data: string;
  epochs?: string;
}

export const command: CommandModule<{}, Args> = {
  command: 'demo',
  describe: 'Sample data -> build every shipped recipe -> stats -> quick evaluate leaderboard -> HTML report',
  builder: (y) =>
    y
      .option('evaluate', { type: 'boolean', default: true, describe: 'end with a quick evaluate (--no-evaluate to skip)' })
      .option('variants', { type: 'string', array: true, default: ['baseline', 'random', 'random_v3'], describe: 'variants the quick evaluate ranks' })
      .option('data', { type: 'string', default: 'data', describe: 'data folder' })
      .option('epochs', { type: 'string', describe: `epochs of the quick evaluate (default ${QUICK_PRESET.epochs}; fewer for a faster, rougher ranking)` }) as any,
  handler: async (a) => {
    const [{ buildVariant }, { summarizeBuild }, { listRecipes }, { renderTablerSample }, { collectStats, formatStatsTable, renderStatsChart }, { createProgress }] =
      await Promise.all([
        import('../variant/build.ts'),
        import('../variant/summary.ts'),
        import('../recipe/load.ts'),
        import('../sample/index.ts'),
        import('../stats/index.ts'),
        import('../terminal/progress.ts'),
      ]);
    if (a.epochs !== undefined && !(/^\d+$/.test(String(a.epochs).trim()) && Number(a.epochs) >= 1)) throw invalidParameter('--epochs', 'a whole number >= 1', a.epochs);
    const say = (s: string) => process.stdout.write(s + '\n');
    const source = join(a.data, 'tabler');
    say(`== 1. sample data: ${source}`);
    if (!existsSync(source)) {
      const bar = createProgress('render tabler icons');
      const r = await renderTablerSample({ out: source, onProgress: (d, t) => bar.update(d, t) });
      bar.stop();
      say(`rendered ${r.written} icons into ${Object.keys(r.classes).length} classes`);
    } else say('already there (delete it to render again)');

    say('\n== 2. build every shipped recipe');
    for (const { name, file } of await listRecipes()) {
      const bar = createProgress(`build ${name}`);
      const r = await buildVariant(file, { source, out: join(a.data, 'variants', name), onProgress: (p) => p.phase === 'build' && bar.update(p.done, p.total) });
      bar.stop();
      say(summarizeBuild(r));
    }

    say('\n== 3. class histograms');
    const entries = await collectStats([], a.data);
    say(formatStatsTable(entries, { width: Math.min(100, process.stdout.columns ?? 100) }));
    const chart = join(a.data, 'stats.png');
    await renderStatsChart(entries, chart, {});
    say(`chart: ${chart}`);

    if (!a.evaluate) return;
    say(`\n== 4. quick evaluate: ${a.variants.join(', ')} (${QUICK_PRESET.model} x${QUICK_PRESET.width}, ${a.epochs ?? QUICK_PRESET.epochs} epochs, ${QUICK_PRESET.imageSize} px)`);
    const { command: evaluate } = await import('./evaluate.ts');
    const run = join(a.data, 'runs', new Date().toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-'));
    await (evaluate.handler as any)({ variants: a.variants, quick: true, variantsRoot: join(a.data, 'variants'), run, report: false, epochs: a.epochs, _: [], $0: 'augment' });

    say('\n== 5. report');
    const { writeReport } = await import('../report/index.ts');
    const { file } = await writeReport(run);
    say(`report: ${file}`);
  },
};
