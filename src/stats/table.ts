/**
 * Terminal view of dataset counts: per dataset, classes as rows and splits as columns
 * (a variant also shows the source's train count `before` and the growth train/before),
 * unicode bars for train (or all), totals and the imbalance ratio. Fits in `width` columns.
 */
import stringWidth from 'string-width';
import { isAbsolute, relative } from 'node:path';
import { imbalanceRatio, type ClassCounts, type DatasetCounts } from './count.ts';

export interface StatsEntry {
  /** Folder name (the `--json` key). */
  name: string;
  /** Folder as given or discovered. */
  dir: string;
  counts: DatasetCounts;
}

export interface TableOptions {
  /** Total width in columns (default 100). */
  width?: number;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `value / max * width` cells with eighth-cell resolution; never empty for value > 0. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0 || width <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatRatio(r: number): string {
  if (Number.isNaN(r)) return 'n/a';
  if (!Number.isFinite(r)) return '∞';
  return `${r.toFixed(1)}x`;
}

function extremes(c: ClassCounts): string {
  const e = Object.entries(c);
  if (e.length === 0) return '';
  const max = e.reduce((a, b) => (b[1] > a[1] ? b : a));
  const min = e.reduce((a, b) => (b[1] < a[1] ? b : a));
  return ` (${max[0]} ${fmt(max[1])} / ${min[0]} ${fmt(min[1])})`;
}

function sum(c: ClassCounts): number {
  let n = 0;
  for (const v of Object.values(c)) n += v;
  return n;
}

function shortPath(p: string): string {
  if (!isAbsolute(p)) return p;
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/** s in exactly w terminal columns (wide CJK characters count 2): padded, or cut with '…'. */
function clip(s: string, w: number): string {
  const sw = stringWidth(s);
  if (sw <= w) return s + ' '.repeat(w - sw);
  let out = '';
  let used = 0;
  for (const ch of s) {
    const cw = stringWidth(ch);
    if (used + cw > w - 1) break;
    out += ch;
    used += cw;
  }
  return out + '…' + ' '.repeat(Math.max(0, w - 1 - used));
}

/** Classes ordered by source count (before, else all/train), largest first, then by name. */
export function classOrder(c: DatasetCounts): string[] {
  const key = c.kind === 'plain' ? c.all : (c.before ?? c.train);
  const names = Object.keys(c.kind === 'plain' ? c.all : c.train);
  return names.sort((a, b) => (key[b] ?? 0) - (key[a] ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}

function formatOne(e: StatsEntry, width: number): string {
  const c = e.counts;
  const classes = classOrder(c);
  const nameW = Math.min(24, Math.max(5, ...classes.map((k) => stringWidth(k))));
  const lines: string[] = [];

  type Col = { head: string; cell: (k: string) => string; total: string; w: number };
  const cols: Col[] = [];
  const num = (head: string, counts: ClassCounts, w = 8): Col => ({
    head,
    cell: (k) => fmt(counts[k] ?? 0),
    total: fmt(sum(counts)),
    w,
  });
  let barCounts: ClassCounts;
  let header: string;
  if (c.kind === 'plain') {
    barCounts = c.all;
    cols.push(num('all', c.all));
    header = `${e.name} · plain · ${classes.length} classes · ${fmt(sum(c.all))} images · ${e.dir}`;
  } else {
    barCounts = c.train;
    const before = c.before;
    if (before) {
      cols.push(num('before', before));
      cols.push(num('train', c.train));
      const growth = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : a > 0 ? 'new' : '-');
      cols.push({ head: 'growth', cell: (k) => growth(c.train[k] ?? 0, before[k] ?? 0), total: growth(sum(c.train), sum(before)), w: 8 });
    } else {
      cols.push(num('train', c.train));
    }
    cols.push(num('valid', c.valid));
    cols.push(num('test', c.test));
    header = `${e.name} · variant · ${classes.length} classes · ${fmt(sum(c.train) + sum(c.valid) + sum(c.test))} images · ${e.dir}`;
  }

  const fixed = 2 + nameW + cols.reduce((s, col) => s + col.w, 0) + 2;
  const barW = Math.min(60, Math.max(8, width - fixed - 1));
  const maxBar = Math.max(0, ...Object.values(barCounts));

  lines.push(clip(header, width).trimEnd());
  lines.push(`  ${'class'.padEnd(nameW)}${cols.map((col) => col.head.padStart(col.w)).join('')}`);
  for (const k of classes) {
    lines.push(`  ${clip(k, nameW)}${cols.map((col) => col.cell(k).padStart(col.w)).join('')}  ${bar(barCounts[k] ?? 0, maxBar, barW)}`.trimEnd());
  }
  lines.push(`  ${'total'.padEnd(nameW)}${cols.map((col) => col.total.padStart(col.w)).join('')}`);
  if (c.kind === 'plain') {
    lines.push(clip(`  imbalance ${formatRatio(imbalanceRatio(c.all))}${extremes(c.all)}`, width).trimEnd());
  } else {
    let imb = `  imbalance: train ${formatRatio(imbalanceRatio(c.train))}${extremes(c.train)}`;
    if (c.before) imb += `; before ${formatRatio(imbalanceRatio(c.before))}`;
    lines.push(clip(imb, width).trimEnd());
    if (c.source) lines.push(clip(`  source: ${shortPath(c.source)}`, width).trimEnd());
    if (c.note) lines.push(clip(`  note: ${c.note}`, width).trimEnd());
  }
  return lines.join('\n');
}

/** The whole terminal report, datasets separated by a blank line. */
export function formatStatsTable(entries: readonly StatsEntry[], opts: TableOptions = {}): string {
  const width = opts.width ?? 100;
  return entries.map((e) => formatOne(e, width)).join('\n\n');
}
