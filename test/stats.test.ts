import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import stringWidth from 'string-width';
import {
  bar,
  chartData,
  collectStats,
  countDataset,
  discoverDatasets,
  formatStatsTable,
  imbalanceRatio,
  renderStatsChart,
  statsChartSpec,
  statsJson,
} from '../src/stats/index.ts';
import { tempDir, writeImages, writeTree } from './helpers/tree.ts';

let root: string;
let data: string;

/** data/src: Big 10, Mid 5, Small 2 (+ noise); data/variants/v1 built from it with a split file. */
before(async () => {
  root = await tempDir('augment-stats-');
  data = join(root, 'data');
  const src = join(data, 'src');
  const srcFiles: Record<string, string[]> = {};
  for (const [c, n] of [['Big', 10], ['Mid', 5], ['Small', 2]] as const) srcFiles[c] = await writeImages(src, c, n, 'i');
  await writeTree(src, {
    'Big/.hidden.png': null, // hidden file
    '.cache/x.png': null, // hidden folder: not a class
    'Mid/.thumbs/y.png': null, // hidden folder inside a class
    'Mid/notes.txt': 'not an image',
    'Small/readme.md': '# no',
    'Small/sub/deep.JPG': null, // nested, upper-case extension
    'Small/photo.jpeg': null,
    'Small/anim.GIF': null,
    'Big/a.webp': null,
    'Big/b.tiff': null,
    'Big/c.avif': null,
    'top-level.png': null, // not in a class folder
  });
  await mkdir(join(src, 'Empty'));

  const splits = join(data, 'variants', '.splits');
  await mkdir(splits, { recursive: true });
  const splitFile = join(splits, 'src.seed1.abc.json');
  await writeFile(
    splitFile,
    JSON.stringify({
      source: src,
      seed: 1,
      ratios: [0.6, 0.2, 0.2],
      files: {
        train: { Big: srcFiles.Big.slice(0, 6), Mid: srcFiles.Mid.slice(0, 3), Small: srcFiles.Small.slice(0, 1) },
        valid: { Big: srcFiles.Big.slice(6, 8), Mid: srcFiles.Mid.slice(3, 4), Small: [] },
        test: { Big: srcFiles.Big.slice(8), Mid: srcFiles.Mid.slice(4), Small: srcFiles.Small.slice(1) },
      },
    }),
  );
  const v1 = join(data, 'variants', 'v1');
  await writeImages(join(v1, 'train'), 'Big', 6);
  await writeImages(join(v1, 'train'), 'Mid', 6);
  await writeImages(join(v1, 'train'), 'Small', 7);
  await writeImages(join(v1, 'valid'), 'Big', 2);
  await writeImages(join(v1, 'valid'), 'Mid', 1);
  await writeImages(join(v1, 'test'), 'Big', 2);
  await writeImages(join(v1, 'test'), 'Mid', 2);
  await writeImages(join(v1, 'test'), 'Small', 1);
  await writeTree(v1, { 'manifest.jsonl': '{}\n', 'train/Big/.tmp.png': null });
  await writeFile(join(v1, 'variant.json'), JSON.stringify({ name: 'v1', source: src, splitFile }));

  // a variant without variant.json (train/valid/test only), and folders that are not datasets
  const v2 = join(data, 'variants', 'v2');
  await writeImages(join(v2, 'train'), 'A', 3);
  await writeImages(join(v2, 'valid'), 'A', 1);
  await writeImages(join(v2, 'test'), 'B', 1);
  await writeTree(data, { 'runs/r1/Cls/x.png': null, 'notes/readme.txt': 'hi', 'variants/.splits/stray/x.png': null });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('countDataset', () => {
  it('counts a plain folder per class: images by extension, any depth, hidden and non-image files ignored', async () => {
    const c = await countDataset(join(data, 'src'));
    assert.deepEqual(c, { kind: 'plain', all: { Big: 13, Empty: 0, Mid: 5, Small: 5 } });
  });

  it('detects a variant and reads "before" from its split file', async () => {
    const c = await countDataset(join(data, 'variants', 'v1'));
    assert.equal(c.kind, 'variant');
    if (c.kind !== 'variant') return;
    assert.deepEqual(c.train, { Big: 6, Mid: 6, Small: 7 });
    assert.deepEqual(c.valid, { Big: 2, Mid: 1, Small: 0 });
    assert.deepEqual(c.test, { Big: 2, Mid: 2, Small: 1 });
    assert.deepEqual(c.before, { Big: 6, Mid: 3, Small: 1 });
    assert.equal(c.source, join(data, 'src'));
  });

  it('detects a variant from train/valid/test alone and fills missing classes with 0', async () => {
    const c = await countDataset(join(data, 'variants', 'v2'));
    assert.equal(c.kind, 'variant');
    if (c.kind !== 'variant') return;
    assert.deepEqual(c.train, { A: 3, B: 0 });
    assert.deepEqual(c.test, { A: 0, B: 1 });
    assert.equal(c.before, undefined);
  });

  it('names a missing folder, a file, and a folder without class images in one line', async () => {
    await assert.rejects(countDataset(join(root, 'nope')), (e: any) => e.code === 'NOT_FOUND' && e.message.includes('nope') && !e.message.includes('\n'));
    await assert.rejects(countDataset(join(data, 'notes', 'readme.txt')), (e: any) => e.code === 'BAD_DATASET' && e.message.includes('readme.txt'));
    await assert.rejects(countDataset(join(data, 'notes')), (e: any) => e.code === 'BAD_DATASET' && /notes: no class folders with images/.test(e.message));
  });

  it('reports an unreadable split file as a note, not a failure', async () => {
    const v = join(root, 'broken');
    await writeImages(join(v, 'train'), 'A', 1);
    await writeFile(join(v, 'variant.json'), JSON.stringify({ name: 'broken', source: '/x', splitFile: join(root, 'missing.json') }));
    const c = await countDataset(v);
    assert.equal(c.kind, 'variant');
    if (c.kind !== 'variant') return;
    assert.equal(c.before, undefined);
    assert.match(c.note ?? '', /missing\.json/);
  });
});

describe('discoverDatasets', () => {
  it('finds plain datasets under data/ and variants under data/variants/, skipping runs, hidden and non-datasets', async () => {
    const found = await discoverDatasets(data);
    assert.deepEqual(
      found.map((f) => [f.name, f.kind]),
      [
        ['src', 'plain'],
        ['v1', 'variant'],
        ['v2', 'variant'],
      ],
    );
  });

  it('finds nothing in a missing folder', async () => {
    assert.deepEqual(await discoverDatasets(join(root, 'absent')), []);
  });
});

describe('--json shape', () => {
  it('is exactly {name: {all}} for plain and {name: {train, valid, test}} for variants', async () => {
    const json = statsJson(await collectStats([], data));
    assert.deepEqual(json, {
      src: { all: { Big: 13, Empty: 0, Mid: 5, Small: 5 } },
      v1: { train: { Big: 6, Mid: 6, Small: 7 }, valid: { Big: 2, Mid: 1, Small: 0 }, test: { Big: 2, Mid: 2, Small: 1 } },
      v2: { train: { A: 3, B: 0 }, valid: { A: 1, B: 0 }, test: { A: 0, B: 1 } },
    });
  });

  it('uses folder names for given folders and keeps repeated names apart', async () => {
    const entries = await collectStats([join(data, 'src'), join(data, 'src')]);
    assert.equal(entries[0].name, 'src');
    assert.notEqual(entries[1].name, 'src');
    assert.equal(Object.keys(statsJson(entries)).length, 2);
  });
});

describe('formatStatsTable', () => {
  it('shows classes as rows, splits as columns, before and growth for variants, totals and imbalance', async () => {
    const text = formatStatsTable(await collectStats([], data));
    const lines = text.split('\n');
    for (const l of lines) assert.ok([...l].length <= 100, `too wide: ${l}`);
    assert.match(text, /^src · plain · 4 classes · 23 images · /m);
    assert.match(text, /^  imbalance ∞ \(Big 13 \/ Empty 0\)$/m);
    assert.match(text, /^ {2}class +before +train +growth +valid +test$/m);
    assert.match(text, /^ {2}Small +1 +7 +7\.00x +0 +1 +█+/m);
    assert.match(text, /^ {2}total +10 +19 +1\.90x +3 +5$/m);
    assert.match(text, /imbalance: train 1\.2x \(Small 7 \/ Big 6\); before 6\.0x/);
    // plain: classes sorted by count, largest first
    const src = text.split('\n\n')[0].split('\n').slice(2, 6).map((l) => l.trim().split(/\s+/)[0]);
    assert.deepEqual(src, ['Big', 'Mid', 'Small', 'Empty']);
  });

  it('aligns columns for wide (CJK) class names and cuts over-long ones to the column', async () => {
    const cjk = join(root, 'cjk');
    for (const [c, n] of [['사과', 3], ['고양이', 2], ['dog', 1], ['아주아주아주아주아주아주아주긴이름', 1]] as const) await writeImages(cjk, c, n, 'i');
    const text = formatStatsTable(await collectStats([cjk]));
    const rows = text.split('\n').filter((l) => /^ {2}\S/.test(l) && !/^ {2}(class|imbalance)/.test(l));
    assert.equal(rows.length, 5); // 4 classes + total
    // the count column ends at the same terminal column on every row (wide characters count 2)
    const ends = rows.map((l) => {
      const m = /^(.*?\d+)(\s|$)/.exec(l)!;
      return stringWidth(m[1]);
    });
    assert.ok(ends.every((e) => e === ends[0]), `count column ends at ${ends.join(', ')}`);
    assert.ok(rows.some((l) => l.includes('…')), 'the over-long name is cut');
  });

  it('draws proportional bars with eighth-cell resolution', () => {
    assert.equal(bar(10, 10, 4), '████');
    assert.equal(bar(5, 10, 4), '██');
    assert.equal(bar(1, 16, 2), '▏');
    assert.equal(bar(0, 10, 4), '');
  });

  it('computes max/min imbalance', () => {
    assert.equal(imbalanceRatio({ a: 10, b: 2 }), 5);
    assert.equal(imbalanceRatio({ a: 10, b: 0 }), Infinity);
    assert.ok(Number.isNaN(imbalanceRatio({})));
  });
});

describe('renderStatsChart', () => {
  it('puts before (source train split) and after series side by side, classes by source count', async () => {
    const entries = await collectStats([join(data, 'variants', 'v1'), join(data, 'src')]);
    const d = chartData(entries);
    assert.deepEqual(d.series, ['src all', 'src train split (before)', 'v1 train (after)']);
    assert.deepEqual(d.classes, ['Big', 'Mid', 'Small', 'Empty']);
    assert.deepEqual(
      d.rows.filter((r) => r.class === 'Small').map((r) => r.count),
      [5, 1, 7],
    );
    const spec = statsChartSpec(entries, { log: true }) as any;
    assert.equal(spec.encoding.y.scale.type, 'log');
    assert.ok(spec.data.values.every((r: any) => r.count > 0));
  });

  it('writes a valid PNG of plausible size', async () => {
    const file = join(root, 'chart.png');
    await renderStatsChart(await collectStats([], data), file);
    const bytes = await readFile(file);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const meta = await sharp(file).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! >= 600 && meta.width! <= 6000, `width ${meta.width}`);
    assert.ok(meta.height! >= 400 && meta.height! <= 3000, `height ${meta.height}`);
    assert.ok((await stat(file)).size > 5000);
    // not blank: the bars put dark and coloured pixels on the white background
    const { data: px, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let dark = 0;
    for (let i = 0; i < px.length; i += info.channels) if (px[i] + px[i + 1] + px[i + 2] < 300) dark++;
    assert.ok(dark > 1000, `dark pixels ${dark}`);
  });
});
