/** The one-paragraph summary printed at the end of a build. */
import { relative } from 'node:path';
import type { BuildResult } from './build.ts';
import type { Counts } from './plan.ts';
import type { ScanNote } from '../dataset/scan.ts';

const n = (x: number) => x.toLocaleString('en');

export function imbalance(counts: Record<string, number>): number {
  const v = Object.values(counts).filter((x) => x > 0);
  return v.length ? Math.max(...v) / Math.min(...v) : 0;
}

const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

export function summarizeBuild(r: BuildResult, cwd = process.cwd()): string {
  const rel = (p: string) => relative(cwd, p) || '.';
  const b: Counts = r.plan.before;
  const a: Counts = r.plan.after;
  const parts = [
    `Built ${r.name} from ${rel(r.sourceRoot)} (${r.plan.classes.length} classes) into ${rel(r.variantDir)}:`,
    `train ${n(sum(b.train))} -> ${n(sum(a.train))} files (imbalance ${imbalance(b.train).toFixed(1)}x -> ${imbalance(a.train).toFixed(1)}x),`,
    `valid ${n(sum(a.valid))}, test ${n(sum(a.test))} (untouched originals).`,
    `Wrote ${n(r.written)} files, kept ${n(r.unchanged)} unchanged, removed ${n(r.removed)} stale, in ${r.seconds.toFixed(1)} s` +
      (r.written ? ` (${(r.written / r.seconds).toFixed(0)} files/s, ${r.concurrency} workers).` : '.'),
    `Split ${r.splitReused ? 'reused' : 'written'}: ${rel(r.splitFile)}.`,
  ];
  if (r.unreadable.length) {
    const list = r.unreadable.slice(0, 3).map((u) => `${u.rel} (${u.reason})`).join('; ');
    parts.push(`${r.unreadable.length} unreadable source file${r.unreadable.length > 1 ? 's were' : ' was'} excluded from the split: ${list}${r.unreadable.length > 3 ? '; ...' : ''} (listed in variant.json; --strict makes them fatal).`);
  }
  const skipped = describeNotes(r.skipped ?? []);
  if (skipped) parts.push(`Left out of the source (listed in variant.json as "skipped"): ${skipped}.`);
  if (r.ignored?.length) parts.push(`Ignored (not images): ${names(r.ignored.map((x) => x.rel))}.`);
  if (r.failed.length) parts.push(`${r.failed.length} source file(s) failed during the build and have no outputs: ${r.failed[0].reason}${r.failed.length > 1 ? '; ...' : ''}.`);
  return parts.join(' ');
}

const NOTE_TITLES: Record<ScanNote['kind'], string> = {
  'link-loop': 'link loops (not walked again)',
  'dir-revisited': 'folders reached again through a link (walked once)',
  'file-twice': 'files reached twice (counted once)',
  'label-conflict': 'label conflicts (one picture under two classes; in neither)',
  'broken-link': 'broken links',
  'unreadable-dir': 'unreadable folders',
  'root-image': 'images at the source root (not in a class folder)',
  'empty-class': 'empty class folders',
  'not-image': 'not images',
};

function names(rels: string[], most = 5): string {
  return rels.slice(0, most).join(', ') + (rels.length > most ? ` and ${rels.length - most} more` : '');
}

/** Scan notes grouped by kind, each entry named once: "link loops (not walked again): a, b; empty class folders: c". */
export function describeNotes(notes: readonly ScanNote[]): string {
  const byKind = new Map<ScanNote['kind'], string[]>();
  for (const x of notes) byKind.set(x.kind, [...(byKind.get(x.kind) ?? []), x.kind === 'label-conflict' && x.also ? [x.rel, ...x.also].join(' = ') : x.rel]);
  return [...byKind].map(([k, rels]) => `${NOTE_TITLES[k]}: ${names(rels)}`).join('; ');
}
