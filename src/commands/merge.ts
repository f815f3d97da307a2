import type { CommandModule } from 'yargs';
import { existingFolder } from './flags.ts';

interface Args {
  dir: string;
  json: boolean;
}

export const command: CommandModule<{}, Args> = {
  command: 'merge <dir>',
  describe: 'Join the shards of a sharded build (augment build --shard K/N) into manifest.jsonl and variant.json',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'the variant folder every shard built into (--out)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .example('augment merge /shared/variants/random_v3', 'after every augment build random_v3 --out /shared/variants/random_v3 --shard K/N finished') as any,
  handler: async (a) => {
    await existingFolder(undefined, a.dir); // H8: a file or a typo is one line
    const { mergeShards } = await import('../cluster/merge.ts');
    const r = await mergeShards(a.dir);
    if (a.json) console.log(JSON.stringify(r, null, 1));
    else if (r.alreadyMerged) console.log(`${r.variantDir}: already merged (${r.files} files in manifest.jsonl); nothing to do.`);
    else console.log(`Merged ${r.shards} shards into ${r.variantDir}: ${r.files} files in manifest.jsonl${r.removed ? `, removed ${r.removed} stale` : ''}; variant.json written.`);
  },
};
