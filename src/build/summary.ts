/** The one-paragraph summary printed at the end of a build. */
import { relative } from 'node:path';
import type { BuildResult } from './build.ts';
import type { Counts } from './plan.ts';

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
  if (r.failed.length) parts.push(`${r.failed.length} source file(s) failed during the build and have no outputs: ${r.failed[0].reason}${r.failed.length > 1 ? '; ...' : ''}.`);
  return parts.join(' ');
}
