/**
 * Where a result came from: augment's version, this machine and this process's command line.
 * Recorded in metrics.json by evaluate and shown by the HTML report.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The version in augment's own package.json (found by walking up from this file). */
export function augmentVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'augment' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      /* keep walking up */
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** This machine, in one line. */
export function thisMachine(): string {
  const c = cpus();
  return `${hostname()}: ${platform()} ${release()} ${arch()}, ${c.length} CPU${c.length === 1 ? '' : 's'}${c[0]?.model ? ` (${c[0].model.trim()})` : ''}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`;
}

/** A command line as a shell would show it (arguments with spaces or quotes quoted). */
export function shellLine(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length) return v.map((a) => (/^[\w@%+=:,./-]+$/.test(String(a)) ? String(a) : `'${String(a).replace(/'/g, `'\\''`)}'`)).join(' ');
  return undefined;
}

/** The command line of this process (`augment ...` when it is augment's CLI; at the end of `augment evaluate` that is the run's command). */
export function thisCommand(argv: readonly string[] = process.argv): string {
  const script = argv[1] ?? '';
  const cli = /(^|[\\/])(cli\.[jt]s|augment(\.js)?)$/.test(script);
  return shellLine(cli ? ['augment', ...argv.slice(2)] : argv.slice(1)) ?? '';
}
