/**
 * Duplicate detection: how well the split's near-duplicate test finds transformed copies, how
 * often it joins different pictures, what it costs per image, and how large groups get.
 *
 * 1. Recall / precision per transformation. N originals drawn (seeded) from a sample dataset,
 *    each with 5 copies: resized to 75%, re-encoded as JPEG (quality 75), mirrored, rotated by
 *    90 degrees, and cropped by 6% on every side; written to a temp folder (the sample is only
 *    read). Every image is decoded and hashed as the scan does it (src/image/decode.ts,
 *    src/dataset/phash.ts), then all pairs within T bits are found (src/dataset/dedupe.ts).
 *    A pair is true when both images come from one original. Per transformation: recall = the
 *    share of (original, copy) pairs found; precision = the share of found pairs with such a
 *    copy that are true. Both for augment's hash (the best of 8 flips/rotations) and for plain
 *    pHash (the untransformed hash only, as imagededup and imagehash compare).
 * 2. Time per image: decode + both hashes (median of 3 passes over all images), and the
 *    search at each threshold.
 * 3. Group sizes on the whole sample (what a split sees): with the recipes' name pattern, at
 *    each threshold, with the giant-group guard (maxGroup auto) and without it; the largest
 *    group, and the worst distance of a class's valid or test share from 20 %.
 *
 * usage: node --import tsx scripts/bench-dedupe.ts [--source data/tabler] [--n 400]
 *          [--thresholds 0,2,4,6,8,10] [--no-groups]
 * (`npx augment sample tabler` renders data/tabler first.)
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { decodeImage } from '../src/image/decode.ts';
import { perceptualHash } from '../src/dataset/phash.ts';
import { nearPairs } from '../src/dataset/dedupe.ts';
import { scanSource } from '../src/dataset/scan.ts';
import { splitWithGroups } from '../src/dataset/split.ts';
import { TABLER_GROUP_PATTERN } from '../src/sample/index.ts';
import { rngFor } from '../src/rng.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const source = resolve(opt('source', 'data/tabler'));
const n = Number(opt('n', '400'));
const thresholds = opt('thresholds', '0,2,4,6,8,10').split(',').map(Number);

const TRANSFORMS: Record<string, (png: Buffer, w: number, h: number) => Sharp> = {
  resized: (b, w) => sharp(b).resize(Math.round(w * 0.75)).png(),
  jpeg: (b) => sharp(b).flatten({ background: '#ffffff' }).jpeg({ quality: 75 }),
  hflip: (b) => sharp(b).flop().png(),
  rot90: (b) => sharp(b).rotate(90).png(),
  cropped: (b, w, h) => sharp(b).extract({ left: Math.round(w * 0.06), top: Math.round(h * 0.06), width: w - 2 * Math.round(w * 0.06), height: h - 2 * Math.round(h * 0.06) }).png(),
};
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const classes = (await readdir(source, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
const all: string[] = [];
for (const c of classes) for (const f of (await readdir(join(source, c))).sort()) if (/\.(png|jpe?g|webp)$/i.test(f)) all.push(join(c, f));
const picked = rngFor('bench-dedupe').shuffle(all).slice(0, n).sort();
console.log(`# bench-dedupe: ${picked.length} originals of ${all.length} in ${source}, x ${Object.keys(TRANSFORMS).length + 1} images; ${cpus().length} x ${cpus()[0]?.model}; machine shared with other jobs`);

const work = await mkdtemp(join(tmpdir(), 'augment-bench-dedupe-'));
try {
  // the benchmark images: original + one copy per transformation
  const images: Array<{ file: string; group: number; transform: string }> = [];
  for (const [g, rel] of picked.entries()) {
    const png = await sharp(join(source, rel)).png().toBuffer();
    const meta = await sharp(png).metadata();
    const orig = join(work, `${g}-original.png`);
    await sharp(png).toFile(orig);
    images.push({ file: orig, group: g, transform: 'original' });
    for (const [name, f] of Object.entries(TRANSFORMS)) {
      const file = join(work, `${g}-${name}.${name === 'jpeg' ? 'jpg' : 'png'}`);
      await f(png, meta.width!, meta.height!).toFile(file);
      images.push({ file, group: g, transform: name });
    }
  }

  // decode + hash, 3 passes, median time per image
  let hashes: string[] = [];
  const passes: number[] = [];
  for (let p = 0; p < 3; p++) {
    const t0 = performance.now();
    const hs: string[] = [];
    for (const im of images) hs.push(perceptualHash(await decodeImage(im.file)));
    passes.push((performance.now() - t0) / images.length);
    hashes = hs;
  }
  const plain = hashes.map((h) => h.slice(0, 16).repeat(8)); // identity hash only: plain pHash
  console.log(`decode + hash: ${median(passes).toFixed(2)} ms per image (median of 3 passes; ${passes.map((x) => x.toFixed(2)).join(', ')})`);

  console.log('\n| threshold (bits) | hash | ' + Object.keys(TRANSFORMS).map((t) => `${t} R / P`).join(' | ') + ' | all R / P | search ms/image |');
  console.log('|---|---|' + Object.keys(TRANSFORMS).map(() => '---|').join('') + '---|---|');
  for (const t of thresholds)
    for (const [label, hs] of [['augment (8 flips/rotations)', hashes], ['plain pHash', plain]] as const) {
      const t0 = performance.now();
      const pairs = nearPairs(hs, t);
      const ms = (performance.now() - t0) / images.length;
      const cells: string[] = [];
      let tpAll = 0;
      for (const name of Object.keys(TRANSFORMS)) {
        const withT = pairs.filter((p) => images[p.a].transform === name || images[p.b].transform === name);
        const truth = withT.filter((p) => images[p.a].group === images[p.b].group);
        const found = new Set(truth.filter((p) => images[p.a].transform === 'original' || images[p.b].transform === 'original').map((p) => images[p.a].group));
        cells.push(`${(found.size / picked.length).toFixed(3)} / ${withT.length ? (truth.length / withT.length).toFixed(3) : '-'}`);
      }
      for (const p of pairs) if (images[p.a].group === images[p.b].group) tpAll++;
      const possible = picked.length * 15; // 6 images per group: 15 pairs
      cells.push(`${(tpAll / possible).toFixed(3)} / ${pairs.length ? (tpAll / pairs.length).toFixed(3) : '-'}`);
      console.log(`| ${t} | ${label} | ${cells.join(' | ')} | ${ms.toFixed(3)} |`);
    }

  if (!args.includes('--no-groups')) {
    const scan = await scanSource(source, { cacheFile: join(work, 'scan-cache.json') });
    const perClass = new Map<string, number>();
    for (const f of scan.files) perClass.set(f.class, (perClass.get(f.class) ?? 0) + 1);
    console.log(`\nGroups over the whole sample (${scan.files.length} files, ${perClass.size} classes; ${scan.skipped.filter((s) => s.kind === 'label-conflict').length} label conflicts left out), split 6:2:2, the recipes' name pattern:`);
    console.log('\n| duplicates | threshold | maxGroup | groups | files in groups | largest groups | groups over classes | worst valid/test share vs 20 % | split ms |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    const row = (duplicates: 'off' | 'exact' | 'near', t: number, maxGroup: number | 'auto') => {
      const t0 = performance.now();
      const r = splitWithGroups(scan.files, { ratios: [0.6, 0.2, 0.2], seed: 42, group: TABLER_GROUP_PATTERN, duplicates, nearDistance: t, maxGroup });
      const ms = performance.now() - t0;
      const sizes = r.groups.map((g) => g.length).sort((a, b) => b - a);
      const cross = r.groups.filter((g) => new Set(g.map((x) => x.split('/')[0])).size > 1).length;
      let worst = 0;
      let where = '';
      for (const [c, k] of perClass)
        for (const s of ['valid', 'test'] as const) {
          const got = r.files[s][c]?.length ?? 0;
          if (Math.abs(got / k - 0.2) > worst) [worst, where] = [Math.abs(got / k - 0.2), `${c} ${s} ${got}/${k}`];
        }
      console.log(`| ${duplicates} | ${duplicates === 'near' ? t : '-'} | ${duplicates === 'near' ? maxGroup : '-'} | ${r.groups.length} | ${sizes.reduce((a, b) => a + b, 0)} | ${sizes.slice(0, 3).join(', ')} | ${cross} | ${(worst * 100).toFixed(1)} pts (${where}) | ${ms.toFixed(0)} |`);
    };
    row('off', 0, 'auto');
    row('exact', 0, 'auto');
    for (const t of thresholds) for (const m of ['auto', Infinity] as const) row('near', t, m === Infinity ? Number.MAX_SAFE_INTEGER : m);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
