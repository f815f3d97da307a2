/**
 * The `augment` command line: a thin layer over the library. Each file in src/commands/
 * exports a yargs CommandModule as `command`; this file registers them all, and turns an
 * AugmentError into one line on stderr and an exit code (never a stack trace for a
 * user's mistake).
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeFailure, EXIT } from './errors.ts';
import { discardPrestarted, WorkerPool } from './variant/pool.ts';

/**
 * `augment build ...`: its worker threads are started first, before yargs and the build's
 * modules load (~0.8 s of this thread), so that the workers load theirs meanwhile on the other
 * cores; the build takes them (../variant/build.ts, `WorkerPool.take`), resized if its
 * concurrency turns out other than the one read here. `-j` read cheaply (the real parse and
 * its errors are the command's), at most one thread per core; nothing for `--help` or `--version`.
 */
export function prestartCount(args: string[]): number | undefined {
  if (args[0] !== 'build') return undefined;
  let n: number | undefined;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a === '--help' || a === '-h' || a === '--version') return undefined;
    const m = /^(?:-j|--concurrency)(?:=?(.+))?$/.exec(a);
    if (!m) continue;
    const v = Number(m[1] ?? args[++i]);
    n = Number.isInteger(v) && v >= 1 ? v : undefined;
  }
  // No more than the cores: more threads than that would not start sooner, and a mistaken
  // `-j 300` must not start 300 threads before the command has read its flags (the build's
  // pool starts any it asks for beyond these, configured, when it takes them).
  return Math.min(n ?? Infinity, availableParallelism());
}

const prestart = prestartCount(process.argv.slice(2));
if (prestart !== undefined) WorkerPool.prestart(new URL('./variant/worker-entry.mjs', import.meta.url), prestart);

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

/**
 * The command modules: only the one `name` names (its file) when there is one, else all (for
 * the command list, suggestions and errors). A command's run then loads no other command's
 * modules (~25 ms).
 */
async function loadCommands(name?: string): Promise<any[]> {
  const files = readdirSync(commandsDir).filter((f) => /\.[jt]s$/.test(f) && !f.endsWith('.d.ts')).sort(); // .ts in src/, .js in dist/
  const load = async (fs: string[]) => (await Promise.all(fs.map((f) => import(pathToFileURL(join(commandsDir, f)).href)))).map((m) => m.command).filter(Boolean);
  const own = name === undefined ? [] : await load(files.filter((f) => f.slice(0, f.lastIndexOf('.')) === name));
  return own.length > 0 ? own : load(files);
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
  try {
    await run(argv);
  } finally {
    await discardPrestarted(); // a build took it; else (a usage error) it ends here
  }
}

async function run(argv: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  let cli = yargs(argv)
    .scriptName('augment')
    .strict()
    .demandCommand(1, 'Give a command: augment <command> --help')
    .recommendCommands()
    // A build (no --help) never shows its help, but yargs renders it before the handler runs
    // (to cache it): unwrapped, ~15 ms less before the build starts.
    .wrap(prestart !== undefined ? null : Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(msg.replace(/\s*\n\s*/g, ' ')), { usage: true }); // yargs' "Invalid values:\n  Argument: ..." as one line
    });
  for (const c of await loadCommands(argv[0])) cli = cli.command(c);
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

await main((await import('yargs/helpers')).hideBin(process.argv));
