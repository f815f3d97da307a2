/**
 * `augment preview <recipe>`: a contact sheet of originals next to the copies a build makes.
 * Thin: flags are checked here (before the recipe's source is scanned), then previewRecipe.
 */
import type { CommandModule } from 'yargs';
import { wholeNumber } from './flags.ts';

interface Args {
  recipe: string;
  class?: string;
  n: string;
  copies: string;
  out: string;
  source?: string;
}

export const command: CommandModule<{}, Args> = {
  command: 'preview <recipe>',
  describe: 'Contact sheet of originals next to the copies a build of the recipe makes, labelled with their ops',
  builder: (y) =>
    y
      .positional('recipe', { type: 'string', demandOption: true })
      .option('class', { type: 'string', describe: 'only this class' })
      .option('n', { type: 'string', default: '8', describe: 'source images (rows)' })
      .option('copies', { type: 'string', default: '6', describe: 'copies per source (columns)' })
      .option('out', { type: 'string', default: 'preview.png', describe: 'PNG file to write' })
      .option('source', { type: 'string', describe: "source dataset folder (overrides the recipe's)" })
      .example('augment preview random_v3 --class Arrows -n 6 --out sheet.png', '') as any,
  handler: async (a) => {
    const n = wholeNumber('-n', a.n, { min: 1 });
    const copies = wholeNumber('--copies', a.copies, { min: 1 });
    const { previewRecipe } = await import('../preview/preview.ts');
    const r = await previewRecipe(a.recipe, { out: a.out, class: a.class, n, copies, source: a.source });
    console.log(`wrote ${r.file} (${r.rows} sources x ${r.columns} columns)`);
  },
};
