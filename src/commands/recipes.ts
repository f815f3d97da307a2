import { relative } from 'node:path';
import type { CommandModule } from 'yargs';
import { AugmentError } from '../errors.ts';

export const command: CommandModule<{}, { check: boolean }> = {
  command: 'recipes',
  describe: 'List the recipes found in ./recipes and shipped with augment (validating each)',
  builder: (y) => y.option('check', { type: 'boolean', default: false, describe: 'exit non-zero if any recipe is invalid' }) as any,
  handler: async (a) => {
    const { listRecipes, loadRecipe } = await import('../recipe/load.ts'); // zod, yaml and the ops load only for this command
    const bad: string[] = [];
    const all = await listRecipes();
    for (const { name, file } of all) {
      try {
        const r = await loadRecipe(file);
        console.log(`${name.padEnd(14)} ${r.description ?? ''}  (${relative(process.cwd(), file) || file})`);
      } catch (e: any) {
        bad.push(relative(process.cwd(), file) || file);
        console.log(`${name.padEnd(14)} INVALID: ${e.message}`);
      }
    }
    if (bad.length && a.check) throw new AugmentError('BAD_RECIPE', `--check: ${bad.length} of ${all.length} recipes invalid (${bad.join(', ')})`);
  },
};
