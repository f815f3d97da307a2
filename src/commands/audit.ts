/**
 * `augment audit SOURCE_OR_VARIANT [--json] [--duplicates near|exact] [--near-distance N]
 * [--max-group N|auto]`: duplicate groups, label conflicts, link oddities and (for a folder with
 * train/valid/test) every group that straddles splits. Exit status: 0 clean, 3 label conflicts
 * or groups across splits found, 2 a bad flag or path (one line).
 */
import type { CommandModule } from 'yargs';
import { existingFolder, oneOf, optionalWholeNumber, wholeNumber } from './flags.ts';

interface Args {
  path: string;
  json: boolean;
  duplicates?: string;
  nearDistance?: string;
  maxGroup?: string;
  concurrency?: string;
}

export const command: CommandModule<object, Args> = {
  command: 'audit <path>',
  describe: 'Duplicates, label conflicts, link oddities and leaks between splits of a source or a built variant (exit 3 when it finds conflicts or leaks)',
  builder: (y) =>
    y
      .positional('path', { type: 'string', demandOption: true, describe: 'a source folder (<root>/<class>/...) or a variant / split dataset (<dir>/{train,valid,test}/<class>/...)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the whole report as JSON' })
      .option('duplicates', { type: 'string', describe: 'near (default) or exact; default: the variant recipe\'s split.duplicates' })
      .option('near-distance', { type: 'string', describe: 'pHash bits (of 64) that near duplicates may differ in; default: the recipe\'s, else 4' })
      .option('max-group', { type: 'string', describe: 'largest near-duplicate group (a number, or auto); default: the recipe\'s, else auto' })
      .option('concurrency', { alias: 'j', type: 'string', describe: 'decode threads (default: all cores)' })
      .example('$0 audit data/tabler', 'duplicates and conflicts in a source')
      .example('$0 audit data/variants/random_v3 --json', 'does anything straddle train/valid/test?') as any,
  handler: async (a) => {
    const path = await existingFolder(undefined, a.path);
    const duplicates = a.duplicates === undefined ? undefined : oneOf('--duplicates', a.duplicates, ['near', 'exact'] as const);
    const nearDistance = optionalWholeNumber('--near-distance', a.nearDistance, { min: 0, max: 64 });
    const maxGroup = a.maxGroup === undefined || String(a.maxGroup).trim() === 'auto' ? (a.maxGroup === undefined ? undefined : ('auto' as const)) : wholeNumber('--max-group', a.maxGroup, { min: 1 });
    const concurrency = optionalWholeNumber('--concurrency', a.concurrency, { min: 1 });
    const { auditDataset, formatAudit, AUDIT_FINDINGS_EXIT_CODE } = await import('../dataset/audit.ts');
    const report = await auditDataset(path, { duplicates, nearDistance, maxGroup, concurrency });
    report.path = a.path;
    process.stdout.write((a.json ? JSON.stringify(report, null, 1) : formatAudit(report)) + '\n');
    if (!report.clean) process.exitCode = AUDIT_FINDINGS_EXIT_CODE;
  },
};
