import type { CommandModule } from 'yargs';

interface Args {
  recipe: string;
  class?: string;
  n: number;
  copies: number;
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
      .option('n', { type: 'number', default: 8, describe: 'source images (rows)' })
      .option('copies', { type: 'number', default: 6, describe: 'copies per source (columns)' })
      .option('out', { type: 'string', default: 'preview.png', describe: 'PNG file to write' })
      .option('source', { type: 'string', describe: "source dataset folder (overrides the recipe's)" })
      .example('augment preview random_v3 --class Arrows -n 6 --out sheet.png', '') as any,
  handler: async (a) => {
    const { previewRecipe } = await import('../preview/preview.ts');
    const r = await previewRecipe(a.recipe, { out: a.out, class: a.class, n: a.n, copies: a.copies, source: a.source });
    console.log(`wrote ${r.file} (${r.rows} sources x ${r.columns} columns)`);
  },
};
