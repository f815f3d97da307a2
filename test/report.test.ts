/**
 * `augment report` on a tiny real run: a real build (buildVariant, sharp) of a generated
 * 3-class dataset into two variants, a real evaluate of a tiny model on wasm, then the report:
 * its HTML (self-contained, every section), an older metrics.json (no status), statuses and
 * bootstrap intervals, the CLI, and the page in headless chromium at 1280 px and 390 px,
 * offline, with every chart's marks counted and every image loaded; plus a screenshot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { buildVariant } from '../src/variant/build.ts';
import { AugmentError } from '../src/errors.ts';
import { findChromium, latestFinishedRun, openReport, writeReport } from '../src/report/index.ts';
import { esc } from '../src/report/page.ts';
import { csvLine } from '../src/report/run.ts';
import { pickSheetRows } from '../src/report/variant.ts';
import { thisCommand } from '../src/report/record.ts';
import { prefixSvgIds } from '../src/report/svg.ts';
import { rngFor } from '../src/rng.ts';
import { evaluate, type ModelFactory } from '../src/train/evaluate.ts';
import { tf } from '../src/train/tf.ts';
import { patternImage, tempDir, useWasm } from './helpers/variants.ts';

const execFileP = promisify(execFile);
const SOURCE_COUNTS: Record<string, number> = { red: 20, green: 10, blue: 5 };
const SEEDS = 2;
const EPOCHS = 3;
let root: string;
let runDir: string;
let metrics: any;

const tinyModel: ModelFactory = (_name, o) =>
  tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [o.imageSize, o.imageSize, 3] }),
      tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed }) }),
      tf.layers.dense({ units: o.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 100 }) }),
    ],
  });

before(async () => {
  root = await tempDir('augment-report-');
  const src = join(root, 'source');
  for (const [cls, n] of Object.entries(SOURCE_COUNTS)) {
    await mkdir(join(src, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const png = await sharp(patternImage(cls, 16, rngFor('report-src', cls, i)), { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer();
      await writeFile(join(src, cls, `${cls}_${i}.png`), png);
    }
  }
  const recipe = (extra: object) => JSON.stringify({ source: src, seed: 1, split: { ratios: [0.6, 0.2, 0.2], seed: 42 }, fill: 'black', ...extra });
  await writeFile(join(root, 'baseline.yaml'), recipe({}));
  await writeFile(
    join(root, 'random.yaml'),
    recipe({ oversample: { maxFactor: 4, target: 'largest' }, ops: { sequence: [{ op: 'rotate', degrees: [0, 180] }, { op: 'invert', p: 0.5 }, { op: 'colorJitter', brightness: 0.3 }] } }),
  );
  for (const n of ['baseline', 'random']) await buildVariant(join(root, `${n}.yaml`), { out: join(root, 'variants', n), concurrency: 1 });
  await useWasm();
  runDir = join(root, 'runs', '2026-01-01T00-00-00');
  await evaluate({
    variantsRoot: join(root, 'variants'),
    runDir,
    cacheDir: join(root, 'cache'),
    createModel: tinyModel,
    modelNames: ['tiny'],
    charts: false,
    backend: 'wasm (report test)',
    settings: { model: 'tiny', imageSize: 12, epochs: EPOCHS, batchSize: 8, lr: 2e-3, patience: 0, seeds: SEEDS },
  });
  metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the run folder with metrics.json changed by `edit`. */
async function runWith(name: string, edit: (m: any) => void): Promise<string> {
  const dir = join(root, 'runs', name);
  await mkdir(dir, { recursive: true });
  await copyFile(join(runDir, 'epochs.csv'), join(dir, 'epochs.csv'));
  const m = structuredClone(metrics);
  edit(m);
  await writeFile(join(dir, 'metrics.json'), JSON.stringify(m));
  return dir;
}

const chartIds = (html: string) => [...html.matchAll(/<figure class="chart" data-chart="([^"]+)"/g)].map((x) => x[1]);

test('report.html: self-contained, every section of the run', async () => {
  const r = await writeReport(runDir);
  assert.equal(r.file, join(runDir, 'report.html'));
  const html = await readFile(r.file, 'utf8');
  // nothing to fetch: no script, no external src/href/url(), images are data URIs
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\s(src|href)="(?!data:|#)/i, 'every src/href is a data: URI or an in-page anchor');
  assert.doesNotMatch(html, /url\((?!#)/i, 'CSS/SVG url() only points inside the page');
  const imgs = [...html.matchAll(/<img src="([^"]+)"/g)].map((x) => x[1]);
  assert.ok(imgs.length >= 6, `contact sheets hold thumbnails (${imgs.length})`);
  for (const src of imgs) assert.match(src, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  // the interval plot and the per-class comparison, then per variant: histogram, curves, confusion, per-class F1
  const variants = metrics.leaderboard.map((l: any) => l.variant);
  assert.deepEqual(chartIds(html), ['leaderboard', 'classes', ...variants.flatMap((v: string) => [`histogram:${v}`, `curves:${v}`, `confusion:${v}`, `perclass:${v}`])]);
  // the record of the experiment
  for (const s of ['wasm (report test)', join(root, 'random.yaml'), join(root, 'baseline.yaml'), 'augment version', 'command line', 'batchSize', metrics.tieRule]) {
    assert.ok(html.includes(esc(s)), `report mentions ${s}`);
  }
  // the contact sheet of the oversampled variant labels copies with their sampled ops
  assert.match(html, /<figcaption>#1 rot \d+°/);
  // the newest finished run is the default
  assert.equal(await latestFinishedRun(join(root, 'runs')), runDir);
});

test('an older metrics.json (no status, no intervals) renders every variant as ranked', async () => {
  const dir = await runWith('old', (m) => {
    for (const l of m.leaderboard) {
      delete l.status;
      delete l.testMacroF1CI;
    }
    delete m.backend;
  });
  const html = await readFile((await writeReport(dir)).file, 'utf8');
  assert.equal((html.match(/<span class="status"[^>]*>ranked<\/span>/g) ?? []).length, metrics.leaderboard.length);
  assert.doesNotMatch(html, /bootstrap CI/);
  assert.match(html, /the shaded band is the top variant's mean ± sd/);
});

test('nothing learned: statuses shown, no leader band', async () => {
  const dir = await runWith('not-learned', (m) => {
    for (const l of m.leaderboard) Object.assign(l, { status: 'not-learned', rank: null });
  });
  const html = await readFile((await writeReport(dir)).file, 'utf8');
  assert.equal((html.match(/<span class="status"[^>]*>not learned<\/span>/g) ?? []).length, metrics.leaderboard.length);
  assert.match(html, /no variant is ranked, so no band is drawn/);
  assert.match(html, /<td class="num">–<\/td><td><a href="#v-/, 'no rank');
});

test('variant folders that moved away: the report says so and keeps the run\'s own charts', async () => {
  const dir = await runWith('moved', (m) => {
    for (const v of m.variants) v.dir = join(root, 'gone', v.name);
  });
  const html = await readFile((await writeReport(dir)).file, 'utf8');
  const variants = metrics.leaderboard.map((l: any) => l.variant);
  assert.deepEqual(chartIds(html), ['leaderboard', 'classes', ...variants.flatMap((v: string) => [`curves:${v}`, `confusion:${v}`])]);
  for (const v of variants) assert.ok(html.includes(esc(`no variant.json in ${join(root, 'gone', v)}`)), v);
  assert.doesNotMatch(html, /could not be drawn/);
});

test('a missing or unfinished run folder is one line naming the file', async () => {
  await assert.rejects(writeReport(join(root, 'nowhere')), (e: unknown) => e instanceof AugmentError && e.code === 'NOT_FOUND' && /nowhere[/\\]metrics\.json not found/.test(e.message));
  const unfinished = join(root, 'unfinished');
  await mkdir(unfinished, { recursive: true });
  await writeFile(join(unfinished, 'config.json'), '{}');
  await assert.rejects(writeReport(unfinished), (e: unknown) => e instanceof AugmentError && /has not finished .*--resume/.test(e.message));
  await assert.rejects(latestFinishedRun(join(root, 'no-runs')), (e: unknown) => e instanceof AugmentError && /no finished run under/.test(e.message));
  const cli = await execFileP(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'report', join(root, 'nowhere')]).catch((e) => e);
  assert.equal(cli.code, 2);
  assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  assert.match(cli.stderr, /^augment: .*metrics\.json not found/);
});

test('--screenshot without a browser: one line naming the binary, the report itself still written', async () => {
  const out = join(root, 'no-browser.html');
  const env = { ...process.env, AUGMENT_CHROMIUM: join(root, 'no-such-chromium') };
  const cli = await execFileP(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'report', runDir, '--out', out, '--screenshot', join(root, 'x.png')], { env }).catch((e) => e);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /^augment: chromium not found at .*no-such-chromium \(AUGMENT_CHROMIUM\): apt-get install chromium/);
  assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
  assert.ok((await stat(out)).isFile());
  await assert.rejects(stat(join(root, 'x.png')), /ENOENT/);
});

test('augment report RUN --out FILE (the CLI)', async () => {
  const out = join(root, 'cli-report.html');
  const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'report', runDir, '--out', out]);
  assert.equal(stdout.trim(), `report: ${out}`);
  const html = await readFile(out, 'utf8');
  assert.ok(html.includes(`<code>augment report ${runDir} --out ${out}</code>`), 'the record names the command that wrote the report');
});

test('epochs.csv cells with commas and quotes; contact-sheet rows rarest class first', () => {
  assert.deepEqual(csvLine('a,"b,c","d""e",'), ['a', 'b,c', 'd"e', '']);
  const e = (cls: string, source: string, copy: number) => ({ out: `train/${cls}/${source}-${copy}.png`, split: 'train', class: cls, source, copy, ops: [] }) as any;
  const entries = [e('big', 'b1', 0), e('big', 'b1', 1), e('small', 's1', 0), e('small', 's1', 2), e('small', 's1', 1), e('small', 's2', 0), e('small', 's2', 1), e('plain', 'p1', 0)];
  const rows = pickSheetRows(entries, 3, { big: 10, small: 2, plain: 1 });
  // "plain" has no copies; "small" is rarer than "big": one source each in turn, then a second of "small"
  assert.deepEqual(
    rows.map((r) => [r.cls, r.source, r.copies.map((c) => c.copy)]),
    [
      ['small', 's1', [1, 2]],
      ['small', 's2', [1]],
      ['big', 'b1', [1]],
    ],
  );
});

test('the command line of the process that writes the report', () => {
  assert.equal(thisCommand(['node', '/x/src/cli.ts', 'evaluate', '--quick', 'a b']), "augment evaluate --quick 'a b'");
  assert.equal(thisCommand(['node', '/x/bin/augment.js', 'report']), 'augment report');
  assert.equal(thisCommand(['node', 'script.mjs', '--x']), 'script.mjs --x');
});

test('svg ids are made unique per chart', () => {
  const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"></g><use href="#clip1"/><a href="#other"/></svg>';
  assert.equal(prefixSvgIds(svg, 'c7-'), '<svg><defs><clipPath id="c7-clip1"><rect/></clipPath></defs><g clip-path="url(#c7-clip1)"></g><use href="#c7-clip1"/><a href="#other"/></svg>');
});

interface ChartSeen {
  id: string;
  visible: string[];
  width: number;
  marks: Record<string, number>;
}

/** What the page shows: per chart, which rendering is visible, its width and its drawn marks by type. */
async function inspect(page: import('playwright-core').Page) {
  return page.evaluate(() => {
    const charts = [...document.querySelectorAll<HTMLElement>('figure.chart')].map((f) => {
      const shown = [...f.querySelectorAll<HTMLElement>(':scope > .w-wide, :scope > .w-narrow')].filter((d) => getComputedStyle(d).display !== 'none');
      const svg = shown[0]?.querySelector('svg');
      const marks: Record<string, number> = {};
      for (const g of svg ? [...svg.querySelectorAll('g.role-mark')] : []) {
        const type = [...g.classList].find((c) => c.startsWith('mark-'))!.slice(5);
        const drawn = [...g.children].filter((c) => c.tagName !== 'g' || c.children.length > 0).length;
        marks[type] = (marks[type] ?? 0) + drawn;
      }
      return { id: f.dataset.chart!, visible: shown.map((d) => d.className), width: svg ? svg.getBoundingClientRect().width : 0, marks };
    });
    const images = [...document.images].map((i) => ({ ok: i.complete && i.naturalWidth > 0, w: i.getBoundingClientRect().width }));
    return { charts, images, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
  });
}

test('in headless chromium, offline, at 1280 px and 390 px: every chart drawn, every image loaded', async (t) => {
  if (!findChromium()) {
    t.skip('chromium not found at /usr/bin/chromium: apt-get install chromium');
    return;
  }
  // statuses and bootstrap intervals as a racing, bootstrapping evaluate writes them
  const dir = await runWith('statuses', (m) => {
    m.leaderboard[0].testMacroF1CI = [Math.max(0, m.leaderboard[0].meanTestMacroF1 - 0.1), Math.min(1, m.leaderboard[0].meanTestMacroF1 + 0.05)];
    m.leaderboard[1].status = 'raced-out';
    m.leaderboard[1].racedOutAtRung = 1;
    m.leaderboard[1].rank = null;
    m.notes = ['baseline-or-random: a note from evaluate'];
  });
  const withCI = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')).leaderboard.filter((l: any) => l.testMacroF1CI).length;
  assert.ok(withCI >= 1);
  const shot = join(root, 'report-1280.png');
  const written = await writeReport(dir, { screenshot: shot });
  assert.equal(written.screenshot, shot);
  const meta = await sharp(shot).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 1280);
  assert.ok(meta.height! > 2000, `a full-page screenshot (${meta.height} px high)`);

  const classes = metrics.classes.length;
  const runsOf = (v: string) => metrics.runs.filter((r: any) => r.variant === v).length;
  for (const width of [1280, 390]) {
    const opened = await openReport(written.file, { width });
    try {
      const seen = await inspect(opened.page);
      assert.deepEqual(opened.requests, [], 'the page fetched nothing');
      assert.deepEqual(opened.errors, [], 'no console errors');
      assert.equal(seen.charts.length, 2 + 4 * metrics.leaderboard.length);
      const byId = new Map<string, ChartSeen>(seen.charts.map((c) => [c.id, c]));
      for (const c of seen.charts) {
        assert.deepEqual(c.visible, [width >= 1000 ? 'w-wide' : 'w-narrow'], `${c.id} at ${width}: one rendering shown`);
        assert.ok(c.width > 100 && c.width <= width, `${c.id} at ${width}: ${c.width} px wide`);
        assert.ok(Object.values(c.marks).reduce((a, b) => a + b, 0) > 0, `${c.id} at ${width}: marks drawn ${JSON.stringify(c.marks)}`);
      }
      // the interval plot: a dot per (variant, seed), a mean ± sd rule per variant plus a bar per bootstrap CI
      const lead = byId.get('leaderboard')!;
      assert.equal(lead.marks.symbol, metrics.runs.length, JSON.stringify(lead.marks));
      assert.equal(lead.marks.rule, metrics.leaderboard.length + withCI, JSON.stringify(lead.marks));
      assert.equal(lead.marks.rect, 1 + metrics.leaderboard.length, 'the top variant\'s band and a mean tick per variant');
      assert.equal(byId.get('classes')!.marks.symbol, classes * metrics.leaderboard.length, 'a dot per (class, variant)');
      for (const v of metrics.leaderboard.map((l: any) => l.variant)) {
        assert.equal(byId.get(`histogram:${v}`)!.marks.rect, classes * 4, `histogram:${v}: train before/after, valid, test per class`);
        assert.equal(byId.get(`curves:${v}`)!.marks.line, 3 * runsOf(v), `curves:${v}: 3 curves per seed`);
        assert.ok(byId.get(`curves:${v}`)!.marks.symbol >= 3 * runsOf(v) * EPOCHS, `curves:${v}: a point per epoch`);
        assert.ok(byId.get(`confusion:${v}`)!.marks.rect === classes * classes, `confusion:${v}: ${classes}x${classes} cells`);
        assert.ok(byId.get(`perclass:${v}`)!.marks.symbol >= classes, `perclass:${v}: a point per class`);
      }
      assert.ok(seen.images.length >= 6);
      assert.ok(seen.images.every((i) => i.ok && i.w > 0), 'every thumbnail decoded and shown');
      assert.ok(seen.scrollWidth <= seen.innerWidth, `no sideways scrolling at ${width} px (${seen.scrollWidth})`);
      const text = await opened.page.locator('body').innerText();
      assert.match(text, /raced out after rung 2/);
      assert.match(text, /baseline-or-random: a note from evaluate/);
      assert.match(text, /test bootstrap CI/);
      if (width === 390) await opened.page.screenshot({ path: join(root, 'report-390.png'), fullPage: true });
    } finally {
      await opened.close();
    }
  }
  if (process.env.AUGMENT_KEEP_SCREENSHOTS) {
    for (const f of ['report-1280.png', 'report-390.png']) await copyFile(join(root, f), join(process.env.AUGMENT_KEEP_SCREENSHOTS, f));
  }
});
