/**
 * The `augment` command line: a thin layer over the library. Each file in src/commands/
 * exports a yargs CommandModule as `command`; this file registers them all, and turns an
 * AugmentError into one line on stderr and an exit code (never a stack trace for a
 * user's mistake).
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isAugmentError } from './errors.ts';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

async function loadCommands(): Promise<any[]> {
  const files = readdirSync(commandsDir).filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')).sort();
  const mods = await Promise.all(files.map((f) => import(pathToFileURL(join(commandsDir, f)).href)));
  return mods.map((m) => m.command).filter(Boolean);
}

export function reportError(e: unknown): number {
  if (isAugmentError(e)) {
    process.stderr.write(`augment: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`augment: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('augment')
    .strict()
    .demandCommand(1, 'Give a command: augment <command> --help')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(msg), { usage: true });
    });
  for (const c of await loadCommands()) cli = cli.command(c);
  try {
    await cli.parseAsync();
  } catch (e: any) {
    if (e?.usage) {
      process.stderr.write(`augment: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.exitCode = reportError(e);
  }
}

await main(hideBin(process.argv));
