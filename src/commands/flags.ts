/**
 * Flag values and paths as a user types them, checked before any slow work starts (a scan, a
 * worker pool, a TensorFlow.js backend). Each parser takes the flag's name and the raw value,
 * returns the parsed value, and otherwise throws one AugmentError whose one-line message names
 * the flag (or file) and what is wrong with it, in the style of sharp's lib/is.js:
 * `Expected a whole number >= 1 for --concurrency but received "abc"`.
 *
 * Declare such options `type: 'string'` in yargs: a `type: 'number'` option turns "abc" into
 * NaN before the command sees it, and the message could only say "received NaN".
 *
 * Only node builtins and ../errors.ts are imported here, so a command can check its flags
 * before it loads anything heavy.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { dirname, extname, relative, resolve, sep, isAbsolute } from 'node:path';
import { AugmentError, invalidParameter } from '../errors.ts';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export interface Range {
  /** Smallest allowed value (inclusive unless `minExclusive`). */
  min?: number;
  /** Largest allowed value (inclusive unless `maxExclusive`). */
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

/** "a whole number >= 1", "a number in (0, 8]", ... */
function describeRange(kind: string, r: Range): string {
  const { min, max } = r;
  if (min !== undefined && max !== undefined) return `${kind} in ${r.minExclusive ? '(' : '['}${min}, ${max}${r.maxExclusive ? ')' : ']'}`;
  if (min !== undefined) return `${kind} ${r.minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${kind} ${r.maxExclusive ? '<' : '<='} ${max}`;
  return kind;
}

function inRange(v: number, r: Range): boolean {
  if (r.min !== undefined && (r.minExclusive ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? v >= r.max : v > r.max)) return false;
  return true;
}

/** The raw text of a flag value: a string as typed, a number yargs already parsed, else undefined. */
function text(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number') return String(raw);
  return undefined;
}

/**
 * A number within `range`. `raw` is the value as typed (a string), or a number (a library
 * caller's). Throws `Expected a number in (0, 8] for --width but received "x"`.
 */
export function numberFlag(flag: string, raw: unknown, range: Range = {}): number {
  const expected = describeRange('a number', range);
  const s = text(raw);
  if (s === undefined || !NUMBER.test(s)) throw invalidParameter(flag, expected, raw);
  const v = Number(s);
  if (!Number.isFinite(v) || !inRange(v, range)) throw invalidParameter(flag, expected, raw);
  return v;
}

/** A whole number within `range` (e.g. `{ min: 1 }`): "1.5", "abc", "" and "-3" are refused by name. */
export function wholeNumber(flag: string, raw: unknown, range: Range = {}): number {
  const expected = describeRange('a whole number', range);
  const s = text(raw);
  if (s === undefined || !/^[+-]?\d+$/.test(s)) throw invalidParameter(flag, expected, raw);
  const v = Number(s);
  if (!Number.isSafeInteger(v) || !inRange(v, range)) throw invalidParameter(flag, expected, raw);
  return v;
}

/** `wholeNumber`, or undefined when the flag was not given. */
export function optionalWholeNumber(flag: string, raw: unknown, range: Range = {}): number | undefined {
  return raw === undefined ? undefined : wholeNumber(flag, raw, range);
}

/** `numberFlag`, or undefined when the flag was not given. */
export function optionalNumber(flag: string, raw: unknown, range: Range = {}): number | undefined {
  return raw === undefined ? undefined : numberFlag(flag, raw, range);
}

/** One of `choices` (case-insensitive, trimmed); the message lists them. */
export function oneOf<T extends string>(flag: string, raw: unknown, choices: readonly T[]): T {
  const s = text(raw)?.toLowerCase();
  const hit = choices.find((c) => c.toLowerCase() === s);
  if (hit === undefined) throw invalidParameter(flag, `one of ${choices.join(', ')}`, raw);
  return hit;
}

/** `flag` only makes sense together with `needs`: `--log applies only with --plot`. */
export function requireWith(flag: string, given: boolean, needs: string, present: boolean): void {
  if (given && !present) throw new AugmentError('BAD_ARGUMENT', `${flag} applies only with ${needs}`);
}

// ---------------------------------------------------------------------------------------------
// paths

/** The label of a path in messages: `--out /x/y` for a flag, the path alone for a positional. */
function label(flag: string | undefined, path: string): string {
  return flag ? `${flag} ${path}` : path;
}

async function statOrNull(p: string) {
  try {
    return await stat(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return 'notdir' as const;
    throw e;
  }
}

/** The nearest folder above `abs` (or `abs` itself) that exists; throws when a file is in the way. */
async function nearestExisting(flag: string | undefined, given: string, abs: string): Promise<string> {
  for (let cur = abs; ; cur = dirname(cur)) {
    const st = await statOrNull(cur);
    if (st === 'notdir') continue; // a file further up: found on the way up
    if (st) {
      if (!st.isDirectory()) throw new AugmentError('UNSAFE_PATH', `${label(flag, given)}: ${cur} is a file, not a folder`);
      return cur;
    }
    if (dirname(cur) === cur) return cur;
  }
}

async function assertWritable(flag: string | undefined, given: string, dir: string): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'is not writable (permission denied)' : `cannot be written to (${code})`;
    throw new AugmentError('UNSAFE_PATH', `${label(flag, given)}: the folder ${dir} ${why}`);
  }
}

/** True when `inner` is `outer` or lies under it (paths compared after resolving links of their existing parts). */
export async function isWithin(inner: string, outer: string): Promise<boolean> {
  const [a, b] = await Promise.all([realish(inner), realish(outer)]);
  const r = relative(b, a);
  return r === '' || (!isAbsolute(r) && r !== '..' && !r.startsWith(`..${sep}`));
}

/** realpath of the longest existing prefix, with the rest appended. */
async function realish(p: string): Promise<string> {
  const abs = resolve(p);
  const rest: string[] = [];
  for (let cur = abs; ; cur = dirname(cur)) {
    try {
      return resolve(await realpath(cur), ...rest.reverse());
    } catch {
      if (dirname(cur) === cur) return abs;
      rest.push(cur.slice(dirname(cur).length).replace(/^[\\/]/, ''));
    }
  }
}

/** An existing folder (e.g. a source dataset): `--source /x: no such folder` / `: is a file, not a folder`. */
export async function existingFolder(flag: string | undefined, path: unknown, cwd = process.cwd()): Promise<string> {
  if (typeof path !== 'string' || path.trim() === '') throw invalidParameter(flag ?? 'the folder', 'a folder', path);
  const abs = resolve(cwd, path);
  const st = await statOrNull(abs);
  if (!st || st === 'notdir') throw new AugmentError('NOT_FOUND', `${label(flag, path)}: no such folder`);
  if (!st.isDirectory()) throw new AugmentError('BAD_DATASET', `${label(flag, path)}: is a file, not a folder`);
  return abs;
}

export interface OutputOptions {
  /** Allowed extensions, lower case with the dot (e.g. ['.png']); the message names them. */
  extensions?: readonly string[];
  /** Folders the output must stay out of, e.g. the source dataset: `{ path, what: 'the source' }`. */
  outside?: ReadonlyArray<{ path: string; what: string }>;
  /** The command makes missing folders above the file (mkdir -p): they need only be makeable. */
  makeParents?: boolean;
  cwd?: string;
}

/**
 * A file about to be written (`--out sheet.png`, `--plot chart.png`): not a folder, the right
 * extension, in an existing writable folder, and outside `outside`. Returns the absolute path.
 */
export async function outputFile(flag: string, path: unknown, o: OutputOptions = {}): Promise<string> {
  if (typeof path !== 'string' || path.trim() === '') throw invalidParameter(flag, 'a file name', path);
  const abs = resolve(o.cwd ?? process.cwd(), path);
  if (o.extensions && !o.extensions.includes(extname(abs).toLowerCase()))
    throw new AugmentError('BAD_ARGUMENT', `${flag} ${path}: expected a ${o.extensions.join(' or ')} file name (the file is written as ${o.extensions[0].slice(1).toUpperCase()})`);
  const st = await statOrNull(abs);
  if (st === 'notdir') await nearestExisting(flag, path, abs); // throws: a file is in the way
  else if (st && st.isDirectory()) throw new AugmentError('UNSAFE_PATH', `${flag} ${path}: is a folder; give a file name`);
  const parent = dirname(abs);
  const pst = await statOrNull(parent);
  if (!pst && !o.makeParents) throw new AugmentError('NOT_FOUND', `${flag} ${path}: the folder ${parent} does not exist`);
  const existing = pst && pst !== 'notdir' && pst.isDirectory() ? parent : await nearestExisting(flag, path, parent);
  await assertWritable(flag, path, existing);
  await assertOutside(flag, path, abs, o.outside);
  return abs;
}

/**
 * A folder about to be made or filled (`--out DIR`): not a file, and the nearest existing folder
 * above it writable (so it can be made); outside `outside`. Whether an existing folder's
 * contents may be replaced is the command's own rule. Returns the absolute path.
 */
export async function outputFolder(flag: string, path: unknown, o: OutputOptions = {}): Promise<string> {
  if (typeof path !== 'string' || path.trim() === '') throw invalidParameter(flag, 'a folder', path);
  const abs = resolve(o.cwd ?? process.cwd(), path);
  const existing = await nearestExisting(flag, path, abs);
  await assertWritable(flag, path, existing);
  await assertOutside(flag, path, abs, o.outside);
  return abs;
}

async function assertOutside(flag: string, given: string, abs: string, outside: OutputOptions['outside']): Promise<void> {
  for (const { path, what } of outside ?? []) {
    if (await isWithin(abs, path)) throw new AugmentError('UNSAFE_PATH', `${flag} ${given}: is inside ${what} ${resolve(path)}; ${what} is never written to, choose another ${flag}`);
  }
}
