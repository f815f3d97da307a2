/**
 * `augment stats --plot FILE.png`: a grouped bar chart of images per class, one colour per
 * series. A plain dataset is one series (`<name> all`); a variant is "before" (the source's
 * train split, from its split file: one grey series per split file, shared by every variant
 * built from it) and "after" (`<name> train`, coloured). Classes are ordered by source
 * count, largest first. Rendered by vega-lite (src/charts/vega.ts).
 */
import { basename } from 'node:path';
import { renderVegaLitePng, type VegaLiteSpec } from '../charts/vega.ts';
import type { ClassCounts } from './count.ts';
import type { StatsEntry } from './table.ts';

export interface ChartOptions {
  /** Logarithmic count axis (zero counts are left out). */
  log?: boolean;
  /** Chart title (default "Images per class"). */
  title?: string;
}

interface Row {
  class: string;
  series: string;
  count: number;
}

const GREYS = ['#8c8c8c', '#b4b4b4', '#6e6e6e', '#cfcfcf'];
const PLAIN = ['#3b3b3b', '#5a5a5a', '#777777'];
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#aec7e8', '#ffbb78', '#98df8a'];

/** Series, their colours and the class order for `entries` (exported for tests). */
export function chartData(entries: readonly StatsEntry[]): { rows: Row[]; series: string[]; colours: string[]; classes: string[] } {
  const plain: Array<[string, ClassCounts]> = [];
  const before = new Map<string, [string, ClassCounts]>();
  const after: Array<[string, ClassCounts]> = [];
  for (const e of entries) {
    const c = e.counts;
    if (c.kind === 'plain') {
      plain.push([`${e.name} all`, c.all]);
      continue;
    }
    if (c.before) {
      const key = c.splitFile ?? e.name;
      if (!before.has(key)) {
        const src = c.source ? basename(c.source) : e.name;
        before.set(key, [`${src} train split (before)`, c.before]);
      }
    }
    after.push([`${e.name} train (after)`, c.train]);
  }
  // identical labels from different split files: number them
  const befores = [...before.values()];
  const seenLabel = new Map<string, number>();
  for (const b of befores) {
    const n = (seenLabel.get(b[0]) ?? 0) + 1;
    seenLabel.set(b[0], n);
    if (n > 1) b[0] = `${b[0]} #${n}`;
  }
  const all = [...plain, ...befores, ...after];

  const sourceCount = new Map<string, number>();
  for (const [, counts] of [...plain, ...befores]) {
    for (const [k, n] of Object.entries(counts)) sourceCount.set(k, Math.max(sourceCount.get(k) ?? 0, n));
  }
  const classSet = new Set<string>();
  for (const [, counts] of all) for (const k of Object.keys(counts)) classSet.add(k);
  const fallback = new Map<string, number>();
  for (const [, counts] of after) for (const [k, n] of Object.entries(counts)) fallback.set(k, Math.max(fallback.get(k) ?? 0, n));
  const key = (k: string) => sourceCount.get(k) ?? fallback.get(k) ?? 0;
  const classes = [...classSet].sort((a, b) => key(b) - key(a) || (a < b ? -1 : a > b ? 1 : 0));

  const rows: Row[] = [];
  for (const [series, counts] of all) for (const k of classes) rows.push({ class: k, series, count: counts[k] ?? 0 });
  const colours = [
    ...plain.map((_, i) => PLAIN[i % PLAIN.length]),
    ...befores.map((_, i) => GREYS[i % GREYS.length]),
    ...after.map((_, i) => COLOURS[i % COLOURS.length]),
  ];
  return { rows, series: all.map((s) => s[0]), colours, classes };
}

/** The vega-lite spec of the chart (exported for tests and for callers who want SVG). */
export function statsChartSpec(entries: readonly StatsEntry[], opts: ChartOptions = {}): VegaLiteSpec {
  const { rows, series, colours, classes } = chartData(entries);
  const values = opts.log ? rows.filter((r) => r.count > 0) : rows;
  const perClass = Math.max(28, series.length * 9 + 10);
  const width = Math.min(2400, Math.max(480, classes.length * perClass));
  // vega measures text headless by estimate (~0.8 em a character): size legend columns to fit the width
  const labelWidth = Math.max(...series.map((s) => s.length)) * 0.8 * 12 + 30;
  const legendColumns = Math.max(1, Math.min(series.length, Math.floor(width / labelWidth)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: opts.title ?? 'Images per class',
      subtitle: `${entries.map((e) => e.name).join(', ')}${opts.log ? ' (log scale)' : ''}; classes ordered by source count`,
      anchor: 'start',
    },
    width,
    height: 360,
    padding: 12,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'class', type: 'nominal', sort: classes, title: null, axis: { labelAngle: -40, labelFontSize: 12, labelLimit: 160 } },
      xOffset: { field: 'series', type: 'nominal', sort: series },
      y: {
        field: 'count',
        type: 'quantitative',
        title: 'images',
        stack: null,
        scale: opts.log ? { type: 'log' } : { type: 'linear', zero: true },
        axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
      },
      color: {
        field: 'series',
        type: 'nominal',
        sort: series,
        scale: { domain: series, range: colours },
        legend: { orient: 'top', direction: 'horizontal', columns: legendColumns, title: null, labelFontSize: 12, labelLimit: 0 },
      },
    },
    config: { view: { stroke: null }, axis: { domainColor: '#888', tickColor: '#888' } },
  };
}

/** Writes the grouped bar chart of `entries` to `file` (PNG; temp name, then rename). */
export async function renderStatsChart(entries: readonly StatsEntry[], file: string, opts: ChartOptions = {}): Promise<void> {
  await renderVegaLitePng(statsChartSpec(entries, opts), file);
}
