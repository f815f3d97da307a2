/**
 * The "record of the experiment" part of the report: who ran what, where, with which augment.
 * metrics.json fields are preferred (they describe the machine that trained); what only the
 * report writer can know (its own host and version) is labelled as such.
 */
import { readFileSync } from 'node:fs';
import { cpus, hostname, platform, release, arch, totalmem } from 'node:os';
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

/** A value of metrics.json (string, list, object) as one line of text. */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.every((x) => typeof x !== 'object' || x === null) ? v.map(String).join(' ') : JSON.stringify(v);
  return Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined && x !== null)
    .map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
    .join(', ');
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

export interface RecordLine {
  name: string;
  value: string;
  /** Shown in monospace. */
  code?: boolean;
}

/** The record lines of a run, from metrics.json's top level (absent fields said so). */
export function recordLines(raw: Record<string, any>, runDir: string): RecordLine[] {
  const lines: RecordLine[] = [];
  const recorded = (...keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined && v !== null && v !== '');
  lines.push({ name: 'run folder', value: runDir, code: true });
  if (raw.finishedAt) lines.push({ name: 'finished', value: String(raw.finishedAt) });
  const cmd = shellLine(recorded('command', 'commandLine', 'argv'));
  lines.push({ name: 'command line', value: cmd ?? 'not recorded in metrics.json', code: !!cmd });
  lines.push({ name: 'report written by', value: thisCommand(), code: true });
  lines.push({ name: 'backend', value: describeValue(raw.backend) || 'not recorded' });
  const machine = recorded('machine', 'host');
  lines.push({ name: 'machine', value: machine ? describeValue(machine) : `not recorded in metrics.json; the report was written on ${thisMachine()}` });
  const version = recorded('augmentVersion') ?? raw.augment?.version;
  lines.push({ name: 'augment version', value: version ? `${describeValue(version)} (report written by ${augmentVersion()})` : `run: not recorded; report written by augment ${augmentVersion()}` });
  if (raw.version !== undefined) lines.push({ name: 'metrics.json format', value: `version ${describeValue(raw.version)}` });
  if (raw.tieRule) lines.push({ name: 'tie rule', value: String(raw.tieRule) });
  if (raw.plan) lines.push({ name: 'plan', value: describeValue(raw.plan) });
  if (raw.data) lines.push({ name: 'decoded data', value: describeValue(raw.data) });
  if (raw.race) lines.push({ name: 'race', value: describeValue(raw.race) });
  return lines;
}
