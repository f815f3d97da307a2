/**
 * Build throughput, side by side in one run, on the same images:
 *   - augment build of the `random` recipe (7x) with all cores,
 *   - the seed's own torchvision pipeline (../shared/bench/anchors/torchvision_random_build.py),
 *   - the OpenCV (Albumentations-style) peer (opencv_random_build.py), 1 and N processes,
 *   - a plain sharp decode+encode pass over the outputs' count of files (the floor).
 * All build the seed's random_augmented_dataset over the WHOLE source (split 1:0:0, so every
 * image is in train, as the anchors do), at 64 px and 224 px. Files written per second.
 *
 * usage: node --import tsx scripts/bench-build.ts [--sizes 64,224] [--top 20] [--write-doc]
 * needs Debian's python3-torch python3-torchvision python3-opencv for the anchors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import fg from 'fast-glob';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { parse } from 'yaml';
import { buildVariant } from '../src/build/build.ts';
import { parseRecipe, SHIPPED_RECIPES_DIR } from '../src/recipe/load.ts';
import { renderTablerSample } from '../src/sample/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const sizes = opt('sizes', '64,224').split(',').map(Number);
const top = Number(opt('top', '20'));
const writeDoc = args.includes('--write-doc');
const anchors = resolve(opt('anchors', process.env.AUGMENT_ANCHORS ?? join(import.meta.dirname, '..', '..', 'shared', 'bench', 'anchors')));
const work = resolve(opt('work', 'data/bench'));
const cores = availableParallelism();
const python = '/usr/bin/python3';

interface Row {
  size: number;
  what: string;
  files: number;
  seconds: number;
  perS: number;
}

async function floorPass(src: string, out: string, inFlight: number, files: string[]): Promise<Row['seconds']> {
  sharp.concurrency(1);
  const limit = pLimit(inFlight);
  await mkdir(out, { recursive: true });
  const t0 = performance.now();
  await Promise.all(files.map((f, i) => limit(() => sharp(join(src, f)).removeAlpha().png().toFile(join(out, `${i}.png`)))));
  return (performance.now() - t0) / 1000;
}

function runAnchor(script: string, argv: string[]): { files: number; seconds: number } {
  const out = execFileSync(python, [join(anchors, script), ...argv], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  const m = /written=(\d+) seconds=([\d.]+)/.exec(out);
  if (!m) throw new Error(`${script}: unexpected output: ${out}`);
  return { files: Number(m[1]), seconds: Number(m[2]) };
}

/** Flush pending writes and let the file system settle, so no case pays for the previous one's I/O. */
async function settle(): Promise<void> {
  execFileSync('sync');
  await new Promise((r) => setTimeout(r, 3000));
}

const rows: Row[] = [];
const add = (size: number, what: string, files: number, seconds: number) => {
  const r = { size, what, files, seconds, perS: files / seconds };
  rows.push(r);
  console.log(`size=${size} case="${what}" files=${files} seconds=${seconds.toFixed(2)} files_per_s=${r.perS.toFixed(0)}`);
};

const haveTorch = existsSync(python) && (() => { try { execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const haveCv = existsSync(python) && (() => { try { execFileSync(python, ['-c', 'import cv2'], { stdio: 'ignore' }); return true; } catch { return false; } })();

for (const size of sizes) {
  const src = join(work, `tabler${size}`);
  if (!existsSync(src)) await renderTablerSample({ out: src, size, top });
  const srcFiles = (await fg('*/*.png', { cwd: src })).sort();
  const doc = parse(await readFile(join(SHIPPED_RECIPES_DIR, 'random.yaml'), 'utf8'));
  const recipe = parseRecipe({ ...doc, name: `bench${size}`, source: src, split: { ratios: [1, 0, 0], seed: 42 } }, 'bench-random.yaml');
  const outRoot = join(work, `out${size}`);
  await rm(outRoot, { recursive: true, force: true });
  await settle();

  // augment, cold: no scan cache, no previous outputs
  const r = await buildVariant(recipe, { out: join(outRoot, 'augment', 'v'), concurrency: cores });
  add(size, `augment build random (${cores} workers)`, r.written, r.seconds);
  const n = r.written;

  // the floor: plain sharp decode + encode of as many files as augment wrote, `cores` in flight
  const floorFiles = Array.from({ length: n }, (_, i) => srcFiles[i % srcFiles.length]);
  await settle();
  add(size, `sharp decode+encode floor (${cores} in flight)`, n, await floorPass(src, join(outRoot, 'floor'), cores, floorFiles));

  if (haveTorch) {
    await settle();
    const t = runAnchor('torchvision_random_build.py', [src, join(outRoot, 'torchvision'), '7', '1']);
    add(size, 'torchvision anchor (1 thread, as the seed)', t.files, t.seconds);
  } else console.log('skip torchvision anchor: apt-get install python3-torch python3-torchvision');
  if (haveCv) {
    for (const p of [1, cores]) {
      await settle();
      const t = runAnchor('opencv_random_build.py', [src, join(outRoot, `opencv${p}`), '7', String(p)]);
      add(size, `OpenCV peer (${p} process${p > 1 ? 'es' : ''})`, t.files, t.seconds);
    }
  } else console.log('skip OpenCV peer: apt-get install python3-opencv');
}
for (const size of sizes) await rm(join(work, `out${size}`), { recursive: true, force: true });

// ratios, per size, of augment against each other case
const lines: string[] = [];
for (const size of sizes) {
  const mine = rows.find((r) => r.size === size && r.what.startsWith('augment'))!;
  lines.push(`| ${size} px | ${mine.files} | ${mine.perS.toFixed(0)} |` + ['torchvision', 'OpenCV peer (1', 'OpenCV peer (' + cores, 'sharp'].map((k) => {
    const o = rows.find((r) => r.size === size && r.what.startsWith(k));
    return o ? ` ${o.perS.toFixed(0)} (${(mine.perS / o.perS).toFixed(2)}x) |` : ' — |';
  }).join(''));
}
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const table = [
  `| images | files | augment files/s | torchvision anchor, 1 thread (ratio) | OpenCV peer, 1 process (ratio) | OpenCV peer, ${cores} processes (ratio) | sharp decode+encode floor (ratio) |`,
  '|---|---|---|---|---|---|---|',
  ...lines,
].join('\n');
console.log('\n' + table);
if (writeDoc) {
  const docFile = resolve('docs/BENCHMARKS.md');
  const section = [
    '## Build throughput',
    '',
    `Command: \`node --import tsx scripts/bench-build.ts --sizes ${sizes.join(',')} --top ${top} --write-doc\``,
    `Machine: ${cores} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, measured ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `The seed's \`random\` recipe (each image once plus min(7, max/n) - 1 six-transform copies) over the`,
    `top-${top} tabler icon categories, split 1:0:0 so that all three tools build the same set of files.`,
    'Files written per second, cold (no scan cache, empty output); ratio = augment / that case.',
    '',
    table,
    '',
    'Raw rows:',
    '',
    '```',
    ...rows.map((r) => `size=${r.size} case="${r.what}" files=${r.files} seconds=${r.seconds.toFixed(2)} files_per_s=${r.perS.toFixed(0)}`),
    '```',
    '',
  ].join('\n');
  let doc = existsSync(docFile) ? await readFile(docFile, 'utf8') : '# Benchmarks\n\n';
  const re = /## Build throughput\n[\s\S]*?(?=\n## |$)/;
  doc = re.test(doc) ? doc.replace(re, section.trimEnd() + '\n') : doc.trimEnd() + '\n\n' + section;
  await writeFile(docFile, doc);
  console.log(`updated ${docFile}`);
}
