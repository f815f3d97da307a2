/**
 * The "record of the experiment" part of the report: who ran what, where, with which augment.
 * metrics.json fields are preferred (they describe the machine that trained); what only the
 * report writer can know (its own host and version) is labelled as such.
 */
import { augmentVersion, shellLine, thisCommand, thisMachine } from '../provenance.ts';

export { augmentVersion, shellLine, thisCommand, thisMachine } from '../provenance.ts';

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
