import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import {
  renderStreamlineSample,
  renderTablerSample,
  streamlineCategories,
  safeClassName,
  tablerCategories,
  tablerGroupKey,
  TABLER_GROUP_PATTERN,
  type SampleResult,
} from '../src/sample/index.ts';
import { formatSampleSummary } from '../src/sample/report.ts';

describe('TABLER_GROUP_PATTERN', () => {
  it('puts x, x-off, x-filled and x-off-filled in one group', () => {
    for (const n of ['bell', 'bell-off', 'bell-filled', 'bell-off-filled']) assert.equal(tablerGroupKey(n), 'bell');
  });
  it('keeps distinct icons apart', () => {
    assert.equal(tablerGroupKey('bell-ringing'), 'bell-ringing');
    assert.equal(tablerGroupKey('bell-ringing-filled'), 'bell-ringing');
    assert.equal(tablerGroupKey('arrow-up-2'), 'arrow-up-2');
    assert.equal(tablerGroupKey('off'), 'off');
    assert.equal(tablerGroupKey('filled'), 'filled');
    assert.equal(tablerGroupKey('coffee'), 'coffee');
    assert.equal(tablerGroupKey('coffee-off'), 'coffee');
  });
  it('is a plain regex string whose first capture group is the key', () => {
    const m = new RegExp(TABLER_GROUP_PATTERN).exec('device-tv-off-filled');
    assert.equal(m?.[1], 'device-tv');
    // the split compiles recipe patterns with the unicode flag
    assert.equal(new RegExp(TABLER_GROUP_PATTERN, 'u').exec('bell-off')?.[1], 'bell');
  });
});

describe('safeClassName', () => {
  it('makes category names filesystem-safe and stable', () => {
    assert.equal(safeClassName('Arrows'), 'Arrows');
    assert.equal(safeClassName('Version control'), 'Version-control');
    assert.equal(safeClassName('E-commerce'), 'E-commerce');
    assert.equal(safeClassName('a / b'), 'a-b');
    assert.equal(safeClassName('../x'), 'x');
    assert.equal(safeClassName('Café'), 'Cafe');
  });
});

describe('tablerCategories', () => {
  it('ranks categories by icon count, largest first', async () => {
    const cats = await tablerCategories();
    assert.ok(cats.length >= 20);
    for (let i = 1; i < cats.length; i++) assert.ok(cats[i - 1].icons.length >= cats[i].icons.length);
    for (const c of cats) assert.match(c.folder, /^[A-Za-z0-9._-]+$/);
  });
});

describe('renderTablerSample', () => {
  let dir: string;
  let first: SampleResult;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'augment-sample-'));
    first = await renderTablerSample({ out: join(dir, 'a'), size: 16, top: 3 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the top 3 categories as class folders', async () => {
    const cats = (await tablerCategories()).slice(0, 3).map((c) => c.folder).sort();
    assert.deepEqual(Object.keys(first.classes), cats);
    assert.deepEqual((await readdir(join(dir, 'a'))).sort(), cats);
    for (const c of cats) {
      const files = await readdir(join(dir, 'a', c));
      assert.equal(files.length, first.classes[c]);
      assert.ok(files.every((f) => f.endsWith('.png')));
    }
    assert.equal(first.written, Object.values(first.classes).reduce((a, b) => a + b, 0));
    assert.equal(first.skipped, 0);
  });

  it('includes filled variants next to their outline icons', async () => {
    const cls = Object.keys(first.classes)[0];
    const files = new Set(await readdir(join(dir, 'a', cls)));
    const filled = [...files].filter((f) => f.endsWith('-filled.png'));
    assert.ok(filled.length > 0);
    assert.ok(filled.some((f) => files.has(f.replace(/-filled\.png$/, '.png'))));
  });

  it('writes 8-bit RGB PNGs of the requested size, dark ink on white', async () => {
    const cls = Object.keys(first.classes)[0];
    const f = (await readdir(join(dir, 'a', cls)))[0];
    const img = sharp(join(dir, 'a', cls, f));
    const meta = await img.metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 16);
    assert.equal(meta.height, 16);
    assert.equal(meta.channels, 3);
    assert.equal(meta.depth, 'uchar');
    const { data } = await img.raw().toBuffer({ resolveWithObject: true });
    assert.equal(Math.max(...data), 255); // white background
    assert.ok(Math.min(...data) < 128); // black strokes
  });

  it('is deterministic and idempotent: a re-run reproduces every byte, skipping identical files', async () => {
    const before = new Map<string, Buffer>();
    for (const c of Object.keys(first.classes)) {
      for (const f of await readdir(join(dir, 'a', c))) before.set(`${c}/${f}`, await readFile(join(dir, 'a', c, f)));
    }
    const damaged = [...before.keys()].sort()[0];
    await writeFile(join(dir, 'a', damaged), 'damaged');
    const again = await renderTablerSample({ out: join(dir, 'a'), size: 16, top: 3 });
    assert.deepEqual(again.classes, first.classes);
    assert.equal(again.written, 1);
    assert.equal(again.skipped, first.written - 1);
    for (const [rel, bytes] of before) assert.ok((await readFile(join(dir, 'a', rel))).equals(bytes), `${rel} differs`);
    for (const c of Object.keys(first.classes)) {
      assert.ok((await readdir(join(dir, 'a', c))).every((n) => !n.endsWith('.tmp')));
    }
  });

  it('prints a summary with classes, files and the imbalance ratio', () => {
    const s = formatSampleSummary('out', { classes: { A: 10, B: 40 }, written: 50, skipped: 0, stale: [] });
    assert.equal(s, 'out: 2 classes, 50 files (50 written, 0 unchanged); imbalance 4.0x (B 40 / A 10)');
  });

  it('refuses a bad --top or --size in one line', async () => {
    await assert.rejects(renderTablerSample({ out: join(dir, 'c'), top: 0 }), /--top/);
    await assert.rejects(renderTablerSample({ out: join(dir, 'c'), top: 1000 }), /--top/);
    await assert.rejects(renderTablerSample({ out: join(dir, 'c'), size: 2.5 }), /--size/);
  });
});

describe('renderStreamlineSample', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'augment-streamline-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders the largest categories with a licence note, reproducibly', async () => {
    const cats = await streamlineCategories();
    assert.equal(cats.length, 15);
    const first = await renderStreamlineSample({ out: dir, size: 16, top: 2 });
    assert.deepEqual(Object.keys(first.classes), cats.slice(0, 2).map((c) => c.folder).sort());
    assert.equal(first.written, cats[0].icons.length + cats[1].icons.length);
    assert.match(await readFile(join(dir, 'LICENSE.txt'), 'utf8'), /CC BY 4\.0/);
    const cls = cats[0].folder;
    const f = `${cats[0].icons[0]}.png`;
    const meta = await sharp(join(dir, cls, f)).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [16, 16, 3]);
    const bytes = await readFile(join(dir, cls, f));
    await rm(join(dir, cls, f));
    const again = await renderStreamlineSample({ out: dir, size: 16, top: 2 });
    assert.equal(again.written, 1);
    assert.equal(again.skipped, first.written - 1);
    assert.ok((await readFile(join(dir, cls, f))).equals(bytes));
  });
});
