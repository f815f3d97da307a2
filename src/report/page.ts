/**
 * The report page: one self-contained HTML document (inline CSS, inline SVG charts, thumbnails
 * as data URIs, no script, no external reference), laid out for a desktop column of 1240 px
 * and for a phone (~390 px). Every chart is a `<figure class="chart" data-chart="...">` holding
 * one SVG per width; the browser test counts the drawn marks in each.
 */
import { HALF, NARROW, WIDE, classByVariantSpec, confusionSpec, curvesSpec, histogramSpec, intervalSpec, perClassSpec, STATUS_COLOURS, type ClassByVariantInput, type IntervalInput, type PerClassInput } from './charts.ts';
import type { RecordLine } from './record.ts';
import type { EpochRow, LeaderRow, RunMetrics, RunRow } from './run.ts';
import { renderAtWidths } from './svg.ts';
import type { VariantRecord } from './variant.ts';
import type { VegaLiteSpec } from '../charts/vega.ts';

export interface PageInput {
  metrics: RunMetrics;
  epochs: EpochRow[];
  variants: VariantRecord[];
  record: RecordLine[];
  title?: string;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const f4 = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '–');

/** An anchor id for a variant name. */
export function variantAnchor(name: string): string {
  return `v-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** "1=", "2", or "–" for rows without a rank. */
export function rankText(row: LeaderRow, all: LeaderRow[]): string {
  if (row.rank === null) return '–';
  return `${row.rank}${all.filter((r) => r.rank === row.rank).length > 1 ? '=' : ''}`;
}

function statusText(row: LeaderRow): string {
  // racedOutAtRung counts from 0, as evaluate's notes say "raced out after rung <n + 1>"
  if (row.status === 'raced-out') return row.racedOutAtRung !== undefined ? `raced out after rung ${row.racedOutAtRung + 1}` : 'raced out';
  if (row.status === 'not-learned') return 'not learned';
  return 'ranked';
}

/** A chart figure; a chart that cannot be drawn becomes a note (the rest of the page still gets written). */
async function chart(id: string, spec: (w: number) => VegaLiteSpec, widths: [number, number], caption: string): Promise<string> {
  let svgs: Map<number, string>;
  try {
    svgs = await renderAtWidths(spec, widths);
  } catch (e) {
    return `<p class="note chart-failed" data-chart-failed="${esc(id)}">The chart ${esc(id)} could not be drawn: ${esc((e as Error).message)}</p>`;
  }
  return `<figure class="chart" data-chart="${esc(id)}"><div class="w-wide" style="max-width:${widths[0]}px">${svgs.get(widths[0])}</div><div class="w-narrow">${svgs.get(widths[1])}</div><figcaption>${caption}</figcaption></figure>`;
}

function leaderTable(m: RunMetrics): string {
  const hasCI = m.leaderboard.some((r) => r.testMacroF1CI);
  const head = ['rank', 'variant', 'status', 'test macro-F1 (mean ± sd)', ...(hasCI ? ['test bootstrap CI'] : []), 'seeds', 'valid macro-F1', 'test accuracy', 'train images', 'tied with'];
  const body = m.leaderboard.map((r) => {
    const cells = [
      rankText(r, m.leaderboard),
      `<a href="#${variantAnchor(r.variant)}">${esc(r.variant)}</a>`,
      `<span class="status" style="--c:${STATUS_COLOURS[r.status]}">${esc(statusText(r))}</span>`,
      r.seeds > 1 ? `${f4(r.meanTestMacroF1)} ± ${f4(r.sdTestMacroF1)}` : f4(r.meanTestMacroF1),
      ...(hasCI ? [r.testMacroF1CI ? `${f4(r.testMacroF1CI[0])} – ${f4(r.testMacroF1CI[1])}` : '–'] : []),
      String(r.seeds),
      f4(r.meanValidMacroF1),
      f4(r.meanTestAccuracy),
      r.trainSize !== undefined ? String(r.trainSize) : '–',
      r.tiedWith.length ? r.tiedWith.map(esc).join(', ') : '–',
    ];
    return `<tr>${cells.map((c, i) => `<td${i === 0 || (i >= 3 && i !== cells.length - 1) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`;
  });
  return `<div class="scroll"><table class="leaderboard"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

function seedScores(runs: RunRow[], variant: string): Array<{ seed: number; score: number }> {
  return runs.filter((r) => r.variant === variant && typeof r.testMacroF1 === 'number').map((r) => ({ seed: r.seed, score: r.testMacroF1! }));
}

function sheetHtml(v: VariantRecord): string {
  if (!v.sheet.length) return `<p class="note">No contact sheet${v.note ? `: ${esc(v.note)}` : ''}.</p>`;
  const rows = v.sheet.map(
    (row) =>
      `<div class="sheet-row"><div class="sheet-head">${esc(row.class)}${row.source ? ` · <span class="path">${esc(row.source)}</span>` : ''}</div><div class="cells">${row.cells
        .map((c) => `<figure class="thumb${c.original ? ' orig' : ''}"><img src="${c.src}" alt="${esc(c.caption)}" title="${esc(c.title)}" width="80" height="80"><figcaption>${esc(c.caption)}</figcaption></figure>`)
        .join('')}</div></div>`,
  );
  const intro = v.hasCopies
    ? 'Train originals (framed) and the augmented copies made from them, with the ops and sampled parameters recorded in manifest.jsonl (hover a copy for every parameter).'
    : 'This variant has no augmented copies: train originals of a few classes.';
  return `<p class="note">${intro}</p><div class="sheet">${rows.join('')}</div>`;
}

function recipeHtml(v: VariantRecord): string {
  if (!v.recipeText) return '';
  return `<details class="recipe"><summary>recipe${v.recipeFile ? `: <span class="path">${esc(v.recipeFile)}</span>` : ''}</summary><pre>${esc(v.recipeText)}</pre></details>`;
}

async function variantSection(m: RunMetrics, row: LeaderRow, v: VariantRecord | undefined, epochs: EpochRow[]): Promise<string> {
  const name = row.variant;
  const parts: string[] = [];
  const classes = m.classes;
  const summary = `${rankText(row, m.leaderboard) === '–' ? '' : `rank ${rankText(row, m.leaderboard)} · `}${statusText(row)} · test macro-F1 ${row.seeds > 1 ? `${f4(row.meanTestMacroF1)} ± ${f4(row.sdTestMacroF1)} over ${row.seeds} seeds` : f4(row.meanTestMacroF1)}${row.testMacroF1CI ? ` · bootstrap ${f4(row.testMacroF1CI[0])}–${f4(row.testMacroF1CI[1])}` : ''}${row.tiedWith.length ? ` · tied with ${row.tiedWith.map(esc).join(', ')}` : ''}`;
  parts.push(`<h3><span class="dot" style="--c:${STATUS_COLOURS[row.status]}"></span>${esc(name)}</h3><p class="summary">${summary}</p>`);
  const counted = v && v.countsFrom !== 'none' ? v : undefined;
  if (v?.note) parts.push(`<p class="note">${esc(v.note)}</p>`);
  if (counted) {
    const c = counted;
    parts.push(
      await chart(
        `histogram:${name}`,
        (w) => histogramSpec({ classes, before: c.before, train: c.train, valid: c.valid, test: c.test }, w),
        [WIDE, NARROW],
        `Images per class: the source's train split before the build${c.before ? '' : ' (not known for this variant)'}, the variant's train split after it, and the valid and test splits (never augmented). Counts from ${c.countsFrom === 'variant.json' ? 'variant.json' : 'the files'}.`,
      ),
    );
  }
  if (v?.sheet.length) parts.push(`<h4>Contact sheet</h4>${sheetHtml(v)}`);
  const mine = epochs.filter((e) => e.variant === name);
  const runs = m.runs.filter((r) => r.variant === name);
  if (mine.length) {
    const selected = runs.filter((r) => typeof r.bestEpoch === 'number').map((r) => ({ seed: r.seed, epoch: r.bestEpoch! }));
    parts.push(await chart(`curves:${name}`, (w) => curvesSpec(mine, selected, w), [WIDE, NARROW], 'Per epoch, one line per seed (epochs.csv); ◆ marks the epoch each seed selected on the valid split.'));
  }
  const pair: string[] = [];
  const confusions = runs.map((r) => r.testConfusion).filter((c): c is number[][] => Array.isArray(c) && c.length === classes.length);
  if (confusions.length) {
    const sum = classes.map((_, t) => classes.map((__, p) => confusions.reduce((a, c) => a + (c[t]?.[p] ?? 0), 0)));
    pair.push(await chart(`confusion:${name}`, (w) => confusionSpec(sum, classes, w), [HALF, NARROW], `Test confusion matrix of the selected weights, summed over ${confusions.length} seed${confusions.length === 1 ? '' : 's'}.`));
  }
  const perClass = runs.map((r) => r.testPerClassF1).filter((f): f is number[] => Array.isArray(f) && f.length === classes.length);
  if (perClass.length && counted) {
    const v = counted;
    const points: PerClassInput[] = classes.map((c, i) => ({
      class: c,
      train: v.train[c] ?? 0,
      before: v.before?.[c],
      f1: perClass.reduce((a, f) => a + f[i], 0) / perClass.length,
      seeds: perClass.map((f) => f[i]),
    }));
    pair.push(
      await chart(
        `perclass:${name}`,
        (w) => perClassSpec(points, w),
        [HALF, NARROW],
        `Test F1 of each class against its train images after the build (mean over seeds; small dots: each seed; hollow and dashed: the count before the build)${classes.length > 12 ? '; the six weakest classes are named' : ''}. Does oversampling a class help it?`,
      ),
    );
  }
  if (pair.length) parts.push(`<div class="pair">${pair.join('')}</div>`);
  if (!runs.length) parts.push(`<p class="note">No finished run of this variant in metrics.json.</p>`);
  if (v) parts.push(recipeHtml(v));
  return `<section class="variant" id="${variantAnchor(name)}">${parts.join('\n')}</section>`;
}

/** Every variant's per-class test F1 side by side, classes rarest first (by the source's train counts). */
async function classByVariantChart(m: RunMetrics, records: VariantRecord[]): Promise<string> {
  const points: ClassByVariantInput[] = [];
  const variants: string[] = [];
  for (const row of m.leaderboard) {
    const f = m.runs.filter((r) => r.variant === row.variant).map((r) => r.testPerClassF1).filter((x): x is number[] => Array.isArray(x) && x.length === m.classes.length);
    if (!f.length) continue;
    variants.push(row.variant);
    m.classes.forEach((c, i) => points.push({ class: c, variant: row.variant, f1: f.reduce((a, x) => a + x[i], 0) / f.length }));
  }
  if (variants.length < 2) return '';
  const before = records.find((r) => r.before)?.before;
  const classes = [...m.classes].sort((a, b) => (before ? (before[a] ?? 0) - (before[b] ?? 0) : 0) || (a < b ? -1 : 1));
  return `<h3>Per class</h3>${await chart(
    'classes',
    (w) => classByVariantSpec(points, classes, variants, w),
    [WIDE, NARROW],
    `Test F1 of each class for every variant (mean over seeds), ${before ? 'rarest class (in the source\'s train split) at the top' : 'classes by name'}: where oversampling or undersampling helps or hurts a class.`,
  )}`;
}

function settingsTable(settings: Record<string, unknown>): string {
  const rows = Object.entries(settings)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(typeof v === 'object' ? JSON.stringify(v) : String(v))}</code></td></tr>`);
  return `<table class="kv">${rows.join('')}</table>`;
}

const CSS = `
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1240px;margin:0 auto;padding:16px 20px 48px}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.25rem;margin:1.6em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.12rem;margin:1.2em 0 .2em}h4{font-size:1rem;margin:1em 0 .3em}
.lede,.note,figcaption,.summary{color:var(--muted)}.note,figcaption{font-size:.86rem}
ul.notes{margin:.6em 0;padding-left:1.2em;font-size:.9rem}
nav{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.9rem;margin:.6em 0}
a{color:#1a5fb4}
.chart{margin:.6em 0 1em;padding:0}.chart svg{display:block;max-width:100%;height:auto}
.w-narrow{display:none}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:8px 24px;align-items:start}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.leaderboard th{white-space:nowrap;background:var(--soft)}
.kv th{font-weight:600;white-space:nowrap;color:var(--muted)}.kv td{word-break:break-word}
code,pre,.path{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:.85em}
pre{background:var(--soft);padding:10px;overflow-x:auto;border-radius:6px}
.status{white-space:nowrap}.status::before,.dot{content:"";display:inline-block;width:.7em;height:.7em;border-radius:50%;background:var(--c);margin-right:.35em}
.variant{border-top:1px solid var(--line);margin-top:1.4em}
.sheet-row{margin:.5em 0}.sheet-head{font-size:.85rem;font-weight:600;margin-bottom:2px;word-break:break-all}
.cells{display:flex;flex-wrap:wrap;gap:6px}
.thumb{margin:0;width:92px}.thumb img{display:block;width:80px;height:80px;image-rendering:pixelated;border:1px solid var(--line);background:#eee}
.thumb.orig img{outline:2px solid #1f77b4;outline-offset:1px}
.thumb figcaption{font-size:10px;line-height:1.25;word-break:break-word;margin-top:2px}
details.recipe{margin:.6em 0}
@media (max-width:760px){
 main{padding:10px 12px 40px}body{font-size:14px}
 .w-wide{display:none}.w-narrow{display:block}
 .thumb{width:76px}.thumb img{width:64px;height:64px}
}`;

/** The whole page. */
export async function renderPage(p: PageInput): Promise<string> {
  const m = p.metrics;
  const runName = m.runDir.split(/[\\/]/).pop() ?? m.runDir;
  const title = p.title ?? `augment report: ${runName}`;
  const byName = new Map(p.variants.map((v) => [v.name, v]));
  const inputs: IntervalInput[] = m.leaderboard.map((r) => ({
    row: r,
    label: r.status === 'ranked' ? `${rankText(r, m.leaderboard)} ${r.variant}` : `– ${r.variant} (${r.status === 'raced-out' ? 'raced out' : 'not learned'})`,
    seeds: seedScores(m.runs, r.variant),
  }));
  const hasCI = m.leaderboard.some((r) => r.testMacroF1CI);
  const model = m.settings.model !== undefined ? `${m.settings.model}${m.settings.width !== undefined ? ` ×${m.settings.width}` : ''}${m.settings.imageSize !== undefined ? `, ${m.settings.imageSize} px` : ''}` : 'model not recorded';
  const seeds = m.settings.seeds !== undefined ? `${m.settings.seeds} seed${m.settings.seeds === 1 ? '' : 's'}` : '';
  const interval = await chart(
    'leaderboard',
    (w) => intervalSpec(inputs, w),
    [WIDE, NARROW],
    `Each variant's test macro-F1: dots are single seeds, the thin line is mean ± sd over the seeds${hasCI ? ', the thick pale bar the test bootstrap interval' : ''}${
      m.leaderboard.some((r) => r.status === 'ranked' && Number.isFinite(r.meanTestMacroF1))
        ? `; the shaded band is the top variant's ${hasCI ? 'bootstrap interval' : 'mean ± sd'}: a variant whose interval reaches into it is not clearly behind`
        : '; no variant is ranked, so no band is drawn'
    }. ${esc(m.tieRule ?? '')}`,
  );
  const notes = Array.isArray(m.raw.notes) ? m.raw.notes.map(String) : [];
  const byClass = await classByVariantChart(m, p.variants);
  const sections: string[] = [];
  for (const row of m.leaderboard) sections.push(await variantSection(m, row, byName.get(row.variant), p.epochs));
  const record = p.record.map((l) => `<tr><th>${esc(l.name)}</th><td>${l.code ? `<code>${esc(l.value)}</code>` : esc(l.value)}</td></tr>`).join('');
  const recipes = p.variants
    .filter((v) => v.recipeFile || v.source)
    .map((v) => `<tr><th>${esc(v.name)}</th><td>${v.recipeFile ? `<code>${esc(v.recipeFile)}</code>` : ''}${v.source ? `<br><span class="note">source ${esc(v.source)}</span>` : ''}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>
<header><h1>${esc(title)}</h1>
<p class="lede">${esc(model)} · ${esc(seeds)} · ${m.leaderboard.length} variant${m.leaderboard.length === 1 ? '' : 's'} · ${m.classes.length} classes${m.finishedAt ? ` · finished ${esc(m.finishedAt)}` : ''}${m.backend ? ` · ${esc(m.backend.split(' (')[0])}` : ''}</p>
<nav><a href="#leaderboard">Leaderboard</a>${m.leaderboard.map((r) => `<a href="#${variantAnchor(r.variant)}">${esc(r.variant)}</a>`).join('')}<a href="#record">Record</a></nav></header>
<section id="leaderboard"><h2>Leaderboard</h2>${interval}${leaderTable(m)}${notes.length ? `<ul class="notes">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}${byClass}</section>
<section id="variants"><h2>Variants</h2>${sections.join('\n')}</section>
<section id="record"><h2>Record of the experiment</h2>
<table class="kv">${record}</table>
<h4>Settings</h4>${settingsTable(m.settings)}
${recipes ? `<h4>Recipes</h4><table class="kv">${recipes}</table>` : ''}
<p class="note">Classes: ${m.classes.map(esc).join(', ')}.</p>
</section>
</main></body></html>
`;
}
