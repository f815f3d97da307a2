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
import { describeFailure, EXIT } from './errors.ts';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

async function loadCommands(): Promise<any[]> {
  const files = readdirSync(commandsDir).filter((f) => /\.[jt]s$/.test(f) && !f.endsWith('.d.ts')).sort(); // .ts in src/, .js in dist/
  const mods = await Promise.all(files.map((f) => import(pathToFileURL(join(commandsDir, f)).href)));
  return mods.map((m) => m.command).filter(Boolean);
}

let terminated = false;

/** One line on stderr and the exit status a scheduler can act on (see EXIT in src/errors.ts). */
export function reportError(e: unknown): number {
  const { exitCode, message } = describeFailure(e);
  process.stderr.write(`augment: ${message}\n`);
  // A command that stopped cleanly because of SIGTERM reports "interrupted"; for a scheduler
  // that is a preemption or a time limit: retryable.
  return terminated && exitCode === EXIT.INTERRUPTED ? EXIT.RETRYABLE : exitCode;
}

// A scheduler's SIGTERM (preemption, time limit): a command that handles it (build, evaluate)
// stops cleanly and exits 75 (above); for any other, exit 75 ("retry me") at once.
process.on('SIGTERM', () => {
  terminated = true;
  if (process.listenerCount('SIGTERM') > 1) return;
  process.stderr.write('augment: terminated by SIGTERM; run the same command again to resume\n');
  process.exit(EXIT.RETRYABLE);
});

export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('augment')
    .strict()
    .demandCommand(1, 'Give a command: augment <command> --help')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(msg.replace(/\s*\n\s*/g, ' ')), { usage: true }); // yargs' "Invalid values:\n  Argument: ..." as one line
    });
  for (const c of await loadCommands()) cli = cli.command(c);
  try {
    await cli.parseAsync();
  } catch (e: any) {
    if (e?.usage) {
      process.stderr.write(`augment: ${e.message}\n`);
      process.exitCode = EXIT.FATAL; // a bad flag is the user's mistake, like a bad recipe
      return;
    }
    process.exitCode = reportError(e);
  }
}

await main(hideBin(process.argv));
