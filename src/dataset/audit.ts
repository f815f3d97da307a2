/**
 * `augment audit`: what in a dataset could leak between splits or carry two labels.
 *
 * - A source (`<root>/<class>/...`): the scan's oddities (link loops, folders reached again,
 *   files reached twice, broken links, images at the root, empty classes), label conflicts (one
 *   file or one picture under two classes), and the exact and near duplicate groups that a
 *   build's split keeps together (default ratios, no name pattern).
 * - A built variant or any split dataset (`<dir>/{train,valid,test}/<class>/...`): the same per
 *   split, plus every duplicate group that straddles splits (a leak), and pictures under two
 *   classes across splits. The recipes augment train, so an augment variant's train copies are
 *   not compared: its manifest names the originals (copy 0), and only those stand for train.
 *   A dataset made elsewhere has no manifest; all its train files are compared.
 *
 * Groups are formed as the split forms them (./dedupe.ts: the same pixels, pHash within
 * `nearDistance` bits over flips and rotations, near-linked groups over `maxGroup` linked again
 * at smaller distances), with the settings of the variant's recipe when it has one, so a
 * variant built by augment shows no straddling group. Clean = no label conflict and no group
 * across splits; the CLI exits 3 otherwise.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AugmentError } from '../errors.ts';
import { readManifest } from '../variant/manifest.ts';
import { MANIFEST_NAME, readVariantInfo } from '../variant/format.ts';
import { scanSource, type ScanNote, type SourceFile } from './scan.ts';
import { compileGroupPattern, groupKeyOf, splitWithGroups } from './split.ts';
import { SPLITS, type SplitName } from '../variant/format.ts';
import { DEFAULT_NEAR_DISTANCE, autoGroupCap, duplicateComponents, type DuplicateMode } from './dedupe.ts';

export interface AuditOptions {
  /** `near` (default) or `exact`; default: the variant's recipe setting. */
  duplicates?: Exclude<DuplicateMode, 'off'>;
  nearDistance?: number;
  maxGroup?: number | 'auto';
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AuditFile {
  /** Path relative to the audited folder (`<split>/<class>/...` for a split dataset). */
  path: string;
  class: string;
  split?: SplitName;
}

export interface AuditGroup {
  kind: 'exact' | 'near';
  files: AuditFile[];
  classes: string[];
  splits: SplitName[];
}

export interface AuditReport {
  path: string;
  kind: 'source' | 'splits';
  /** Train files left out because they are augmented copies (an augment variant's manifest says so). */
  augmentedCopiesLeftOut: number;
  files: number;
  settings: { duplicates: Exclude<DuplicateMode, 'off'>; nearDistance: number; maxGroup: number | 'auto' };
  /** Duplicate groups (two or more files) that the split keeps together. */
  groups: AuditGroup[];
  /** One file or one picture under two classes. */
  conflicts: Array<{ paths: string[]; classes: string[]; reason: string }>;
  /** Groups with files in more than one split: leaks. */
  straddling: AuditGroup[];
  /** The scan's other findings: link loops, revisits, files reached twice, broken links, root images, empty classes. */
  oddities: ScanNote[];
  /** Entries that are not images. */
  ignored: ScanNote[];
  clean: boolean;
}

/** Exit status of `augment audit` when it finds label conflicts or groups across splits. */
export const AUDIT_FINDINGS_EXIT_CODE = 3;

export async function auditDataset(pathArg: string, opts: AuditOptions = {}): Promise<AuditReport> {
  const path = resolve(pathArg);
  const st = await stat(path).catch(() => null);
  if (!st) throw new AugmentError('NOT_FOUND', `${pathArg}: no such folder`);
  if (!st.isDirectory()) throw new AugmentError('BAD_DATASET', `${pathArg}: is a file, not a folder`);
  const names = new Set(await readdir(path));
  const splits = SPLITS.filter((s) => names.has(s));
  const isSplit = splits.includes('train') && splits.length >= 2;
  const info = isSplit ? await readVariantInfo(path) : null;
  const recipeSplit = info?.recipe?.split ?? {};
  const settings = {
    duplicates: opts.duplicates ?? (recipeSplit.duplicates === 'exact' ? 'exact' : 'near'),
    nearDistance: opts.nearDistance ?? recipeSplit.nearDistance ?? DEFAULT_NEAR_DISTANCE,
    maxGroup: opts.maxGroup ?? recipeSplit.maxGroup ?? 'auto',
  } as AuditReport['settings'];
  return isSplit ? auditSplits(pathArg, path, splits, settings, opts) : auditSource(pathArg, path, settings, opts);
}

async function auditSource(shown: string, root: string, settings: AuditReport['settings'], opts: AuditOptions): Promise<AuditReport> {
  const scan = await scanSource(root, { concurrency: opts.concurrency, onProgress: opts.onProgress });
  const byRel = new Map(scan.files.map((f) => [f.rel, f]));
  const { groups } = splitWithGroups(scan.files, { ratios: [0.6, 0.2, 0.2], seed: 0, ...settings });
  return finish(shown, 'source', 0, scan.files.length, settings, groups.map((g) => describe(g.map((rel) => byRel.get(rel)!), (f) => ({ path: f.rel, class: f.class }))), [], scan.skipped, scan.ignored);
}

type Item = SourceFile & { split: SplitName; path: string };

async function auditSplits(shown: string, dir: string, splits: SplitName[], settings: AuditReport['settings'], opts: AuditOptions): Promise<AuditReport> {
  const manifest = await readManifest(join(dir, MANIFEST_NAME));
  const info = await readVariantInfo(dir);
  // an augment variant: its originals (copy 0) under their source paths, as its split saw them
  const sourceOf = new Map([...manifest.values()].filter((e) => e.copy === 0).map((e) => [e.out, e.source]));
  const items: Item[] = [];
  const skipped: ScanNote[] = [];
  const ignored: ScanNote[] = [];
  let copies = 0;
  for (const split of splits) {
    const scan = await scanSource(join(dir, split), { concurrency: opts.concurrency, onProgress: opts.onProgress });
    for (const f of scan.files) {
      const path = `${split}/${f.rel}`;
      if (manifest.size && !sourceOf.has(path)) copies++;
      else items.push({ ...f, rel: sourceOf.get(path) ?? path, split, path });
    }
    const prefix = (n: ScanNote): ScanNote => ({ ...n, rel: `${split}/${n.rel}`, ...(n.also ? { also: n.also.map((a) => `${split}/${a}`) } : {}) });
    skipped.push(...scan.skipped.map(prefix));
    ignored.push(...scan.ignored.map(prefix));
  }
  items.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  // the same picture under two classes in two splits (within one split the scan found it)
  const crossSplit: AuditReport['conflicts'] = [];
  const byPixels = new Map<string, Item[]>();
  for (const it of items) if (it.pixels) byPixels.set(it.pixels, [...(byPixels.get(it.pixels) ?? []), it]);
  const conflicted = new Set<string>();
  for (const list of byPixels.values()) {
    const classes = [...new Set(list.map((i) => i.class))].sort();
    if (classes.length < 2) continue;
    const paths = list.map((i) => i.path).sort();
    for (const p of paths) conflicted.add(p);
    crossSplit.push({ paths, classes, reason: `the same picture (decoded pixels) in ${classes.length} classes (${classes.join(', ')})` });
  }
  const kept = items.filter((i) => !conflicted.has(i.path));
  // the recipe's name groups, and group caps from the split's own targets (its counts before
  // undersampling, when variant.json has them), as the split formed its groups
  const pattern = compileGroupPattern(info?.recipe?.split?.group);
  const fixed: Array<[number, number]> = [];
  const firstOf = new Map<string, number>();
  kept.forEach((it, i) => {
    if (!pattern) return;
    const k = `${it.split}:${groupKeyOf(it.rel, pattern)}`;
    const first = firstOf.get(k);
    if (first === undefined) firstOf.set(k, i);
    else fixed.push([first, i]);
  });
  const ratios: number[] = info?.recipe?.split?.ratios ?? [0.6, 0.2, 0.2];
  const total = ratios[0] + ratios[1] + ratios[2];
  const held = new Map<string, number[]>();
  for (const it of kept) {
    const c = held.get(it.class) ?? [0, 0, 0];
    c[SPLITS.indexOf(it.split)]++;
    held.set(it.class, c);
  }
  const targetsOf = (cls: string): number[] => {
    const before = info?.before;
    const n = before ? SPLITS.reduce((k, s) => k + (before[s]?.[cls] ?? 0), 0) : 0;
    return n > 0 ? [Math.round((n * ratios[1]) / total), Math.round((n * ratios[2]) / total)] : held.get(cls)!.slice(1);
  };
  const autoCap = autoGroupCap((i) => kept[i].class, targetsOf);
  const dedupe = { ...settings, maxGroup: settings.maxGroup === 'auto' ? autoCap : settings.maxGroup };
  const { components } = duplicateComponents(kept, [], dedupe);
  const withNames = duplicateComponents(kept, fixed, dedupe);
  // report content groups (name groups only where content joined them)
  const contentJoined = new Set(components.filter((c) => c.length > 1).flat());
  const groups = withNames.components
    .filter((c) => c.length > 1 && c.some((i) => contentJoined.has(i)))
    .map((c) => describe(c.map((i) => kept[i]), (f) => ({ path: f.path, class: f.class, split: f.split })));
  return finish(shown, 'splits', copies, items.length, settings, groups, crossSplit, skipped, ignored);
}

function describe<T extends SourceFile>(members: T[], as: (f: T) => AuditFile): AuditGroup {
  const files = members.map(as).sort((a, b) => (a.path < b.path ? -1 : 1));
  return {
    kind: members.every((m) => m.pixels && m.pixels === members[0].pixels) ? 'exact' : 'near',
    files,
    classes: [...new Set(files.map((f) => f.class))].sort(),
    splits: SPLITS.filter((s) => files.some((f) => f.split === s)),
  };
}

function finish(
  shown: string,
  kind: AuditReport['kind'],
  copies: number,
  files: number,
  settings: AuditReport['settings'],
  groups: AuditGroup[],
  extraConflicts: AuditReport['conflicts'],
  skipped: ScanNote[],
  ignored: ScanNote[],
): AuditReport {
  const conflicts = [
    ...skipped.filter((n) => n.kind === 'label-conflict').map((n) => ({ paths: [n.rel, ...(n.also ?? [])], classes: classesIn(n.reason), reason: n.reason.replace(/ as .*$/, '') })),
    ...extraConflicts,
  ];
  const straddling = groups.filter((g) => g.splits.length > 1);
  return {
    path: shown,
    kind,
    augmentedCopiesLeftOut: copies,
    files,
    settings,
    groups,
    conflicts,
    straddling,
    oddities: skipped.filter((n) => n.kind !== 'label-conflict'),
    ignored,
    clean: conflicts.length === 0 && straddling.length === 0,
  };
}

function classesIn(reason: string): string[] {
  const m = /classes \(([^)]*)\)/.exec(reason);
  return m ? m[1].split(', ') : [];
}

/** The report as text: counts first, then each finding (lists cut at `most` entries). */
export function formatAudit(r: AuditReport, most = 10): string {
  const out: string[] = [];
  const what = r.kind === 'splits' ? `split dataset (${r.files} files compared${r.augmentedCopiesLeftOut ? `; ${r.augmentedCopiesLeftOut} augmented train copies left out, originals kept` : ''})` : `source (${r.files} files)`;
  out.push(`${r.path}: ${what}; duplicates: ${r.settings.duplicates}${r.settings.duplicates === 'near' ? ` within ${r.settings.nearDistance} bits, maxGroup ${r.settings.maxGroup}` : ''}`);
  const list = <T>(title: string, items: T[], line: (x: T) => string) => {
    out.push(`${title}: ${items.length}`);
    for (const x of items.slice(0, most)) out.push(`  ${line(x)}`);
    if (items.length > most) out.push(`  ... and ${items.length - most} more (--json lists all)`);
  };
  const groupLine = (g: AuditGroup) => `${g.kind}: ${g.files.slice(0, 6).map((f) => f.path).join(', ')}${g.files.length > 6 ? ` and ${g.files.length - 6} more` : ''}`;
  list('label conflicts (one picture under two classes)', r.conflicts, (c) => `${c.paths.join(' = ')} (${c.classes.join(', ')})`);
  if (r.kind === 'splits') list('groups across splits (leaks)', r.straddling, (g) => `${g.splits.join('+')}: ${groupLine(g)}`);
  const exact = r.groups.filter((g) => g.kind === 'exact');
  const near = r.groups.filter((g) => g.kind === 'near');
  out.push(`duplicate groups: ${exact.length} exact (${exact.reduce((n, g) => n + g.files.length, 0)} files), ${near.length} near (${near.reduce((n, g) => n + g.files.length, 0)} files; ${near.filter((g) => g.classes.length > 1).length} over two or more classes)`);
  for (const g of r.groups.slice(0, most)) out.push(`  ${groupLine(g)}`);
  if (r.groups.length > most) out.push(`  ... and ${r.groups.length - most} more (--json lists all)`);
  list('source oddities', r.oddities, (n) => `${n.kind} ${n.rel}: ${n.reason}`);
  if (r.ignored.length) out.push(`ignored (not images): ${r.ignored.length}`);
  out.push(
    r.clean
      ? 'clean: no label conflicts' + (r.kind === 'splits' ? ' and no group across splits' : '')
      : `NOT CLEAN: ${r.conflicts.length} label conflict(s)${r.kind === 'splits' ? `, ${r.straddling.length} group(s) across splits` : ''}`,
  );
  return out.join('\n');
}
