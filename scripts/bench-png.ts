/**
 * PNG encoding choices for build outputs: bytes and encode time per file for each zlib level,
 * strategy and row filter, on what a build of the `random` recipe writes (each sampled tabler
 * source once as it is and twice through the recipe's six ops), at 64 and 224 px. The row
 * "Sub, level 1, Z_RLE" is what OpenCV's `cv2.imwrite` does by default (libpng with
 * PNG_FILTER_SUB, Z_BEST_SPEED, Z_RLE: the OpenCV peer of bench-build).
 * Every encoding is decoded back and checked against the pixels (lossless).
 *
 * usage: node --import tsx scripts/bench-png.ts [--sizes 64,224] [--files 300] [--rounds 3]
 * (sources: the tabler sample rendered into the OS temp folder, shared with bench-build)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImage } from '../src/image/decode.ts';
import { decodePngFast, encodePng, type PngEncoding } from '../src/image/png.ts';
import type { RawImage } from '../src/image/raw.ts';
import { applyOps, sampleOps } from '../src/ops/compose.ts';
import { loadRecipe } from '../src/recipe/load.ts';
import { createRng } from '../src/rng.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const repo = resolve(import.meta.dirname, '..');
const sizes = opt('sizes', '64,224').split(',').map(Number);
const nFiles = Number(opt('files', '300'));
const rounds = Number(opt('rounds', '3'));
const work = resolve(opt('work', join(tmpdir(), 'augment-bench-build')));

const cases: Array<[string, PngEncoding]> = [
  ['auto, level 2 (augment before)', { filter: 'auto', level: 2 }],
  ['auto, level 1, Z_RLE (augment now: the default)', {}],
  ['Up, level 3 (augment at first)', { filter: 'up', level: 3 }],
  ['Up, level 1', { filter: 'up', level: 1 }],
  ['Up, level 6', { filter: 'up', level: 6 }],
  ['Up, level 1, Z_RLE', { filter: 'up', level: 1, strategy: 'rle' }],
  ['Sub, level 1, Z_RLE (OpenCV default)', { filter: 'sub', level: 1, strategy: 'rle' }],
  ['Sub, level 3', { filter: 'sub', level: 3 }],
  ['None, level 1', { filter: 'none', level: 1 }],
  ['None, level 2', { filter: 'none', level: 2 }],
  ['None, level 3', { filter: 'none', level: 3 }],
  ['None, level 1, Z_RLE', { filter: 'none', level: 1, strategy: 'rle' }],
];

const recipe = await loadRecipe(join(repo, 'recipes', 'random.yaml'));
console.log('| images | encoding | bytes per file (mean) | vs OpenCV default | encode CPU ms per file (best of rounds) | vs augment before |');
console.log('|---|---|---|---|---|---|');
for (const size of sizes) {
  const src = join(work, `tabler${size}`);
  if (!existsSync(src)) execFileSync(process.execPath, [join(repo, 'bin', 'augment.js'), 'sample', 'tabler', '--size', String(size), '--out', src], { stdio: 'inherit' });
  const all = readdirSync(src).sort().flatMap((c) => readdirSync(join(src, c)).sort().map((f) => join(src, c, f)));
  const picked = Array.from({ length: Math.min(nFiles, all.length) }, (_, i) => all[Math.floor((i * all.length) / Math.min(nFiles, all.length))]);
  const images: RawImage[] = [];
  for (const [i, f] of picked.entries()) {
    const img = await decodeImage(f);
    images.push(img);
    for (let k = 1; k <= 2; k++) images.push(applyOps(img, sampleOps(recipe.ops!, createRng(i * 10 + k), { width: img.width, height: img.height }, k), { fill: recipe.fill }));
  }
  // CPU time of this thread (the machine is shared), rounds interleaved over the cases
  const rows = cases.map(([name]) => ({ name, bytes: 0, ms: Infinity }));
  for (let r = -1; r < rounds; r++) {
    for (const [k, [, enc]] of cases.entries()) {
      let bytes = 0;
      const t0 = process.cpuUsage();
      for (const img of images) bytes += encodePng(img, enc).length;
      const d = process.cpuUsage(t0);
      if (r < 0) continue; // a warm-up round: every case compiled before any is timed
      rows[k].bytes = bytes / images.length;
      rows[k].ms = Math.min(rows[k].ms, (d.user + d.system) / 1000 / images.length);
    }
  }
  for (const [name, enc] of cases) {
    for (const img of images.slice(0, 30)) {
      const back = decodePngFast(encodePng(img, enc), [255, 255, 255]);
      if (!back || Buffer.compare(Buffer.from(back.data), Buffer.from(img.data)) !== 0) throw new Error(`${name}: does not decode back to the same pixels`);
    }
  }
  const cv = rows.find((r) => r.name.includes('OpenCV'))!;
  const base = rows[0];
  for (const r of rows)
    console.log(`| ${size} px | ${r.name} | ${r.bytes.toFixed(0)} | ${(r.bytes / cv.bytes).toFixed(2)}x | ${r.ms.toFixed(3)} | ${(r.ms / base.ms).toFixed(2)}x |`);
}

