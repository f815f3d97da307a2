/**
 * `augment preview`: a contact sheet of train originals next to the augmented copies a build
 * of the recipe would make from them (same seeds, so the very same pixels), each copy
 * labelled with its ops and sampled parameters.
 */
import { existsSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { AugmentError } from '../errors.ts';
import { existingFolder, outputFile, wholeNumber } from '../commands/flags.ts';
import { rngFor, createRng } from '../rng.ts';
import { loadRecipe, type Recipe } from '../recipe/load.ts';
import { scanCacheFile, scanSource } from '../dataset/scan.ts';
import { defaultVariantDir } from '../variant/build.ts';
import { splitFiles } from '../dataset/split.ts';
import { planBuild, type SourceJob } from '../variant/plan.ts';
import { decodeImage } from '../image/decode.ts';
import type { RawImage } from '../image/raw.ts';
import { applyOps, describeOps, sampleOps } from '../ops/compose.ts';

export interface PreviewOptions {
  out: string;
  /** Only this class (default: any class that gets copies). */
  class?: string;
  /** Number of source images (rows). */
  n?: number;
  /** Copies shown per source (columns after the original). */
  copies?: number;
  /** Tile size in pixels. */
  tile?: number;
  source?: string;
  cwd?: string;
}

export interface PreviewResult {
  file: string;
  rows: number;
  columns: number;
}

export async function previewRecipe(recipeRef: string | Recipe, opts: PreviewOptions): Promise<PreviewResult> {
  const cwd = opts.cwd ?? process.cwd();
  // every flag and path is checked before the scan (a typo costs nothing and writes nothing)
  const n = wholeNumber('-n', opts.n ?? 8, { min: 1 });
  const copies = wholeNumber('--copies', opts.copies ?? 6, { min: 1 });
  const tile = wholeNumber('tile', opts.tile ?? 128, { min: 16, max: 1024 });
  const recipe = typeof recipeRef === 'string' ? await loadRecipe(recipeRef, cwd) : recipeRef;
  const sourceRoot = await existingFolder(opts.source === undefined ? `${recipe.file}: source` : '--source', opts.source ?? recipe.source, cwd);
  const out = await outputFile('--out', opts.out, { extensions: ['.png'], outside: [{ path: sourceRoot, what: 'the source' }], cwd });
  // the build's scan cache speeds a preview up where builds ran; a preview alone makes no folders
  const variantsRoot = defaultVariantDir('', cwd);
  const scan = await scanSource(sourceRoot, { cacheFile: existsSync(variantsRoot) ? scanCacheFile(variantsRoot, sourceRoot) : undefined });
  if (opts.class !== undefined && !scan.classes.includes(opts.class))
    throw new AugmentError('BAD_ARGUMENT', `--class ${opts.class.trim() ? opts.class : JSON.stringify(opts.class)}: no such class in ${sourceRoot} (classes: ${scan.classes.join(', ')})`);
  const plan = planBuild(recipe, splitFiles(scan.files, recipe.split));
  let jobs = plan.jobs.filter((j) => j.split === 'train' && (!opts.class || j.class === opts.class));
  const withCopies = jobs.filter((j) => j.outputs.length > 1);
  if (withCopies.length) jobs = withCopies;
  if (jobs.length === 0) throw new AugmentError('BAD_DATASET', `${sourceRoot}: no train images${opts.class ? ` in class ${opts.class}` : ''} to preview`);
  const rows = rngFor(recipe.seed, 'preview', opts.class ?? '').shuffle(jobs).slice(0, n).sort((a, b) => (a.source < b.source ? -1 : 1));
  const label = 34;
  const cells: Array<{ img: RawImage; text: string }[]> = [];
  for (const job of rows) cells.push(await rowFor(recipe, sourceRoot, job, copies));
  const columns = Math.max(1, ...cells.map((r) => r.length));
  const header = 28;
  const W = columns * tile + (columns + 1) * 6;
  const H = header + cells.length * (tile + label + 6) + 6;
  const composites: OverlayOptions[] = [
    { input: Buffer.from(svgText(W, header, `${recipe.name}: originals (left) and the copies a build makes from them`, 14, 'start')), left: 6, top: 4 },
  ];
  for (let r = 0; r < cells.length; r++) {
    for (let c = 0; c < cells[r].length; c++) {
      const { img, text } = cells[r][c];
      const left = 6 + c * (tile + 6);
      const top = header + r * (tile + label + 6);
      const small = Math.max(img.width, img.height) < tile;
      const png = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
        .resize(tile, tile, { fit: 'contain', background: '#ddd', kernel: small ? 'nearest' : 'lanczos3' })
        .png()
        .toBuffer();
      composites.push({ input: png, left, top });
      composites.push({ input: Buffer.from(svgText(tile, label, text, 10, 'middle')), left, top: top + tile });
    }
  }
  const buf = await sharp({ create: { width: W, height: H, channels: 3, background: 'white' } }).composite(composites).png().toBuffer();
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, buf);
    await rename(tmp, out);
  } catch (e) {
    await unlink(tmp).catch(() => {}); // never a half-written sheet left beside it
    throw e;
  }
  return { file: out, rows: cells.length, columns };
}

async function rowFor(recipe: Recipe, sourceRoot: string, job: SourceJob, copies: number) {
  const src = await decodeImage(join(sourceRoot, ...job.source.split('/')), { background: recipe.background });
  const row = [{ img: src, text: `${job.source}` }];
  for (const o of job.outputs.filter((x) => x.copy > 0).slice(0, copies)) {
    const applied = sampleOps(recipe.ops!, createRng(o.seed), { width: src.width, height: src.height }, o.copy);
    row.push({ img: applyOps(src, applied, { fill: recipe.fill }), text: `#${o.copy} ${describeOps(applied) || 'no-op'}` });
  }
  return row;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Text in a box, wrapped onto up to three lines at ' · ' or spaces. */
function svgText(width: number, height: number, text: string, size: number, anchor: 'start' | 'middle'): string {
  const maxChars = Math.max(8, Math.floor(width / (size * 0.58)));
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/(?<= ·) | (?=·)|\s+/)) {
    const next = cur ? `${cur} ${word}` : word;
    if (next.length > maxChars && cur) {
      lines.push(cur);
      cur = word;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  const shown = lines.slice(0, Math.max(1, Math.floor(height / (size + 1))));
  const x = anchor === 'middle' ? width / 2 : 0;
  const tspans = shown.map((l, i) => `<tspan x="${x}" y="${(i + 1) * (size + 1)}">${escapeXml(l.slice(0, maxChars + 4))}</tspan>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text font-family="DejaVu Sans, sans-serif" font-size="${size}" text-anchor="${anchor}" fill="#222">${tspans}</text></svg>`;
}
