/**
 * The report's charts as vega-lite specs, each a function of the width it may take (in CSS
 * px), so the page can carry one rendering for a desktop column and one for a phone
 * (src/report/svg.ts renders both to static SVG). Pure: data in, spec out.
 */
import type { VegaLiteSpec } from '../charts/vega.ts';
import type { EpochRow, LeaderRow, VariantStatus } from './run.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export const STATUS_COLOURS: Record<VariantStatus, string> = { ranked: '#1f77b4', 'raced-out': '#e6801a', 'not-learned': '#8c8c8c' };
const SEED_COLOURS = ['#1f77b4', '#e6801a', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const BASE_CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { domainColor: '#888', tickColor: '#888', labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
};

/** Widths at which every chart is drawn: one desktop column, half of it, and a phone. */
export const WIDE = 1180;
export const HALF = 570;
export const NARROW = 350;

export interface IntervalInput {
  row: LeaderRow;
  /** Label on the axis, e.g. "1= random_v3". */
  label: string;
  /** Test macro-F1 of each seed. */
  seeds: Array<{ seed: number; score: number }>;
}

/** The leaderboard as an interval plot: seeds as dots, mean ± sd, bootstrap CI, the leader's band. */
export function intervalSpec(inputs: IntervalInput[], width: number): VegaLiteSpec {
  const rows = inputs
    .filter((i) => Number.isFinite(i.row.meanTestMacroF1))
    .map((i) => ({
      label: i.label,
      status: i.row.status,
      mean: i.row.meanTestMacroF1,
      lo: i.row.meanTestMacroF1 - (i.row.sdTestMacroF1 || 0),
      hi: i.row.meanTestMacroF1 + (i.row.sdTestMacroF1 || 0),
      ciLo: i.row.testMacroF1CI?.[0],
      ciHi: i.row.testMacroF1CI?.[1],
    }));
  const seeds = inputs.flatMap((i) => i.seeds.filter((s) => Number.isFinite(s.score)).map((s) => ({ label: i.label, status: i.row.status, seed: s.seed, score: s.score })));
  const values = [...rows.flatMap((r) => [r.lo, r.hi, r.ciLo, r.ciHi]), ...seeds.map((s) => s.score)].filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const min = Math.min(...values, 1);
  const max = Math.max(...values, 0);
  const pad = Math.max(0.02, (max - min) * 0.08);
  const domain = [Math.max(0, min - pad), Math.min(1, max + pad)];
  const leader = rows.find((r) => r.status === 'ranked'); // no band when nothing is ranked
  const band = leader ? [{ lo: leader.ciLo ?? leader.lo, hi: leader.ciHi ?? leader.hi }] : [];
  const labels = inputs.map((i) => i.label);
  const statuses = (Object.keys(STATUS_COLOURS) as VariantStatus[]).filter((s) => inputs.some((i) => i.row.status === s));
  // on a phone the status in parentheses is left to the colour (and the table), so names fit
  const y = {
    field: 'label',
    type: 'nominal',
    sort: labels,
    title: null,
    axis: width < 500 ? { labelLimit: 150, labelFontSize: 11, labelExpr: "replace(datum.label, / \\(.*\\)$/, '')" } : { labelLimit: 300, labelFontSize: 12 },
  };
  const x = { type: 'quantitative', scale: { domain, zero: false, nice: false }, title: 'test macro-F1' };
  const color = {
    field: 'status',
    type: 'nominal',
    scale: { domain: statuses, range: statuses.map((s) => STATUS_COLOURS[s]) },
    legend: { orient: 'bottom', title: null, direction: 'horizontal', symbolOpacity: 1 },
  };
  return {
    $schema: SCHEMA,
    width,
    height: Math.max(60, rows.length * (width < 500 ? 30 : 34)),
    autosize: { type: 'fit-x', contains: 'padding' },
    padding: 6,
    layer: [
      ...(band.length ? [{ data: { values: band }, mark: { type: 'rect', color: '#f6d96b', opacity: 0.35 }, encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' } } }] : []),
      {
        data: { values: rows.filter((r) => r.ciLo !== undefined) },
        mark: { type: 'rule', size: 12, opacity: 0.3 },
        encoding: { y, x: { ...x, field: 'ciLo' }, x2: { field: 'ciHi' }, color },
      },
      { data: { values: rows }, mark: { type: 'rule', size: 2 }, encoding: { y, x: { ...x, field: 'lo' }, x2: { field: 'hi' }, color } },
      { data: { values: seeds }, mark: { type: 'circle', size: 46, opacity: 0.85, stroke: 'white', strokeWidth: 1 }, encoding: { y, x: { ...x, field: 'score' }, color } },
      { data: { values: rows }, mark: { type: 'tick', thickness: 2, size: 20, color: '#222' }, encoding: { y, x: { ...x, field: 'mean' } } },
    ],
    config: BASE_CONFIG,
  };
}

export interface HistogramInput {
  classes: string[];
  before?: Record<string, number>;
  train: Record<string, number>;
  valid: Record<string, number>;
  test: Record<string, number>;
}

/** Images per class: train before and after, valid and test beside (vertical when wide, horizontal on a phone). */
export function histogramSpec(h: HistogramInput, width: number): VegaLiteSpec {
  const series: Array<[string, Record<string, number> | undefined, string]> = [
    ['train before', h.before, '#b4b4b4'],
    ['train after', h.train, '#1f77b4'],
    ['valid', h.valid, '#74c476'],
    ['test', h.test, '#9e9ac8'],
  ];
  const present = series.filter((s) => s[1]);
  const values = present.flatMap(([name, c]) => h.classes.map((k) => ({ class: k, series: name, count: c![k] ?? 0 })));
  const names = present.map((s) => s[0]);
  const vertical = width >= 500;
  const color = {
    field: 'series',
    type: 'nominal',
    sort: names,
    scale: { domain: names, range: present.map((s) => s[2]) },
    legend: { orient: 'top', title: null, direction: 'horizontal', ...(vertical ? {} : { columns: 2 }) },
  };
  const count = { field: 'count', type: 'quantitative', title: 'images', stack: null };
  const cls = { field: 'class', type: 'nominal', sort: h.classes, title: null, axis: { labelLimit: 110 } };
  return {
    $schema: SCHEMA,
    width,
    height: vertical ? 240 : Math.max(80, h.classes.length * (names.length * 5 + 8)),
    autosize: { type: 'fit-x', contains: 'padding' },
    padding: 6,
    data: { values },
    mark: { type: 'bar' },
    encoding: vertical
      ? { x: { ...cls, axis: { labelAngle: h.classes.length > 6 ? -40 : 0, labelLimit: 110 } }, xOffset: { field: 'series', sort: names }, y: count, color }
      : { y: cls, yOffset: { field: 'series', sort: names }, x: count, color },
    config: BASE_CONFIG,
  };
}

const CURVES: Array<[keyof EpochRow, string]> = [
  ['trainLoss', 'train loss'],
  ['validLoss', 'valid loss'],
  ['validMacroF1', 'valid macro-F1'],
];

/** Loss and macro-F1 per epoch, one line per seed; the selected epoch of each seed marked. */
export function curvesSpec(rows: EpochRow[], selected: Array<{ seed: number; epoch: number }>, width: number): VegaLiteSpec {
  const values = rows.flatMap((r) =>
    CURVES.filter(([k]) => typeof r[k] === 'number' && Number.isFinite(r[k] as number)).map(([k, metric]) => ({ seed: `seed ${r.seed}`, epoch: r.epoch, metric, value: r[k] as number })),
  );
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b).map((s) => `seed ${s}`);
  const picked = selected.flatMap((s) => {
    const r = rows.find((x) => x.seed === s.seed && x.epoch === s.epoch);
    return r && typeof r.validMacroF1 === 'number' ? [{ seed: `seed ${s.seed}`, epoch: s.epoch, value: r.validMacroF1, metric: 'valid macro-F1' }] : [];
  });
  const wide = width >= 700;
  const panelWidth = wide ? Math.floor((width - 3 * 80) / 3) : width - 80;
  const color = { field: 'seed', type: 'nominal', sort: seeds, scale: { domain: seeds, range: SEED_COLOURS }, legend: { orient: 'top', title: null, direction: 'horizontal' } };
  const epochs = Math.max(1, ...rows.map((r) => r.epoch));
  const panel = (metric: string) => ({
    width: panelWidth,
    height: wide ? 190 : 150,
    title: { text: metric, fontSize: 12 },
    layer: [
      {
        data: { values: values.filter((v) => v.metric === metric) },
        mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [1, Math.max(2, epochs)] }, axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
          color,
        },
      },
      ...(metric === 'valid macro-F1' && picked.length
        ? [{ data: { values: picked }, mark: { type: 'point', shape: 'diamond', size: 110, filled: true, stroke: '#222', strokeWidth: 1 }, encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'value', type: 'quantitative' }, color } }]
        : []),
    ],
  });
  const panels = CURVES.map(([, m]) => panel(m)).filter((p) => (p.layer[0] as { data: { values: unknown[] } }).data.values.length > 0);
  return {
    $schema: SCHEMA,
    padding: 6,
    ...(wide ? { hconcat: panels } : { vconcat: panels }),
    resolve: { scale: { color: 'shared' } },
    config: BASE_CONFIG,
  };
}

/** The test confusion matrix (summed over seeds) as a heat map with counts. */
export function confusionSpec(confusion: number[][], classes: string[], width: number): VegaLiteSpec {
  const k = classes.length;
  const cell = Math.max(8, Math.min(44, Math.floor((width - 150) / k)));
  const values = confusion.flatMap((row, t) => row.map((count, p) => ({ true: classes[t], predicted: classes[p], count })));
  const max = Math.max(1, ...confusion.flat());
  return {
    $schema: SCHEMA,
    width: cell * k,
    height: cell * k,
    padding: 6,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: classes, title: 'predicted', axis: { labelLimit: 90, labelAngle: -45 } },
      y: { field: 'true', type: 'ordinal', sort: classes, title: 'true class', axis: { labelLimit: 90 } },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues', domain: [0, max] }, legend: width >= 500 ? { title: 'count' } : null } } },
      ...(cell >= 16
        ? [
            {
              mark: { type: 'text', fontSize: cell >= 28 ? 11 : 8 },
              encoding: { text: { field: 'count', type: 'quantitative' }, color: { condition: { test: `datum.count > ${max / 2}`, value: 'white' }, value: 'black' } },
            },
          ]
        : []),
    ],
    config: BASE_CONFIG,
  };
}

export interface PerClassInput {
  class: string;
  /** Train images after the build. */
  train: number;
  /** Train images of the source split, before the build (when known). */
  before?: number;
  /** Mean test F1 over the seeds, and each seed's. */
  f1: number;
  seeds: number[];
}

const LABEL_ALL = 12;
const LABEL_WEAKEST = 6;

/** Per-class test F1 against the class's train count; a pale line from the count before the build. */
export function perClassSpec(points: PerClassInput[], width: number): VegaLiteSpec {
  const counts = points.flatMap((p) => [p.train, p.before ?? p.train]).filter((n) => n > 0);
  const log = counts.length > 0 && Math.max(...counts) / Math.min(...counts) > 8;
  const lo = Math.min(...counts, Infinity);
  const hi = Math.max(...counts, 1);
  const domain = log ? [lo / 1.3, hi * 1.3] : [Math.max(0, lo - (hi - lo) * 0.08 - 1), hi + (hi - lo) * 0.08 + 1];
  const x = { type: 'quantitative', title: 'train images of the class (after the build)', scale: log ? { type: 'log', domain, nice: false } : { type: 'linear', domain, nice: false, zero: false } };
  const y = { field: 'f1', type: 'quantitative', title: 'test F1', scale: { domain: [0, 1] } };
  const moved = points.filter((p) => p.before !== undefined && p.before !== p.train && p.before > 0);
  const seeds = points.flatMap((p) => p.seeds.map((f1) => ({ class: p.class, train: p.train, f1 })));
  // with many classes only the weakest few are named (the ones oversampling is meant to help)
  const named = points.length <= LABEL_ALL ? points : [...points].sort((a, b) => a.f1 - b.f1).slice(0, LABEL_WEAKEST);
  // greedy placement: a label that would sit on an earlier one moves below, then further away
  const xFrac = (n: number) => (log ? (Math.log(n) - Math.log(domain[0])) / (Math.log(domain[1]) - Math.log(domain[0])) : (n - domain[0]) / (domain[1] - domain[0]));
  const plotWidth = Math.max(100, width - 80);
  const placed: Array<{ x: number; y: number; half: number }> = [];
  const labelled = [...named]
    .sort((a, b) => a.train - b.train || a.f1 - b.f1)
    .map((p) => {
      const x = xFrac(Math.max(p.train, domain[0]));
      const half = (p.class.length * 3.2) / plotWidth; // half a label's width, as a fraction of the plot
      const steps = p.f1 < 0.15 ? [-9, -21, -33, -45, -57] : p.f1 > 0.85 ? [13, 25, 37, 49, -9] : [-9, 13, -21, 25, -33, 37];
      let dy = steps[0];
      for (const step of steps) {
        dy = step;
        const y = p.f1 - step / 220; // ~220 px of plot height per unit of F1
        if (!placed.some((q) => Math.abs(q.x - x) < q.half + half && Math.abs(q.y - y) < 0.05)) break;
      }
      placed.push({ x, y: p.f1 - dy / 220, half });
      return { ...p, dy };
    });
  return {
    $schema: SCHEMA,
    width,
    height: width < 500 ? 220 : 260,
    autosize: { type: 'fit-x', contains: 'padding' },
    padding: 6,
    layer: [
      ...(moved.length
        ? [
            { data: { values: moved }, mark: { type: 'rule', color: '#bbb', strokeDash: [3, 3] }, encoding: { x: { ...x, field: 'before' }, x2: { field: 'train' }, y } },
            { data: { values: moved }, mark: { type: 'point', size: 30, color: '#999', filled: false }, encoding: { x: { ...x, field: 'before' }, y } },
          ]
        : []),
      ...(seeds.length > points.length ? [{ data: { values: seeds }, mark: { type: 'circle', size: 16, color: '#9ecae1' }, encoding: { x: { ...x, field: 'train' }, y } }] : []),
      { data: { values: points }, mark: { type: 'circle', size: 60, color: '#1f77b4', opacity: 0.9 }, encoding: { x: { ...x, field: 'train' }, y } },
      ...labelled.map((p) => ({ data: { values: [p] }, mark: { type: 'text', dy: p.dy, fontSize: 10, color: '#333' }, encoding: { x: { ...x, field: 'train' }, y, text: { field: 'class' } } })),
    ],
    config: BASE_CONFIG,
  };
}

export interface ClassByVariantInput {
  class: string;
  variant: string;
  /** Mean test F1 over the seeds. */
  f1: number;
}

/** Per-class test F1 of every variant side by side: one row per class (rarest first), one colour per variant. */
export function classByVariantSpec(points: ClassByVariantInput[], classes: string[], variants: string[], width: number): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    width,
    height: Math.max(60, classes.length * (width < 500 ? 18 : 20)),
    autosize: { type: 'fit-x', contains: 'padding' },
    padding: 6,
    data: { values: points },
    layer: [
      { mark: { type: 'rule', color: '#ddd' }, encoding: { y: { field: 'class', type: 'nominal', sort: classes }, x: { aggregate: 'min', field: 'f1' }, x2: { aggregate: 'max', field: 'f1' } } },
      {
        mark: { type: 'circle', size: 52, opacity: 0.9 },
        encoding: {
          y: { field: 'class', type: 'nominal', sort: classes, title: null, axis: { labelLimit: 120 } },
          x: { field: 'f1', type: 'quantitative', title: width < 500 ? 'test F1 (mean over seeds)' : 'test F1 of the class (mean over seeds)', scale: { domain: [0, 1] } },
          color: { field: 'variant', type: 'nominal', sort: variants, scale: { domain: variants, range: SEED_COLOURS }, legend: { orient: 'top', title: null, direction: 'horizontal', ...(width < 500 ? { columns: 2 } : {}) } },
        },
      },
    ],
    config: BASE_CONFIG,
  };
}
