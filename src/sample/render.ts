/**
 * Shared machinery of the sample sets: SVG text -> 8-bit RGB PNG on white, written
 * idempotently (same bytes: skipped; otherwise temp name + rename), several at a time.
 */
import { availableParallelism } from 'node:os';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';

export interface SampleOptions {
  /** Output root; class folders are created under it. */
  out: string;
  /** Edge length in px (default 64). */
  size?: number;
  /** How many categories, largest first (default 20 for tabler). */
  top?: number;
  /** Called after every file, with files done and files in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface SampleResult {
  /** Files per class folder. */
  classes: Record<string, number>;
  /** Files written (new or changed). */
  written: number;
  /** Files already present with the same bytes. */
  skipped: number;
  /** Folders already in `out` that are not classes of this sample (left alone). */
  stale: string[];
}

export interface RenderJob {
  className: string;
  fileName: string;
  /** The SVG to draw, already sized and coloured. */
  svg: () => Promise<string>;
}

/** Folder name for a category: ASCII letters, digits, `.`, `_`, `-`; anything else becomes `-`. */
export function safeClassName(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/&/g, 'and')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return s || 'unnamed';
}

/** Rasterises an SVG (its own width/height) to an 8-bit RGB PNG, flattened onto white. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

async function sameBytes(file: string, data: Buffer): Promise<boolean> {
  try {
    const old = await readFile(file);
    return old.equals(data);
  } catch {
    return false;
  }
}

export async function renderJobs(
  jobs: RenderJob[],
  opts: { out: string; size: number; onProgress?: (done: number, total: number) => void; concurrency?: number },
): Promise<SampleResult> {
  const classes: Record<string, number> = {};
  for (const j of jobs) classes[j.className] = (classes[j.className] ?? 0) + 1;
  await mkdir(opts.out, { recursive: true });
  for (const c of Object.keys(classes)) await mkdir(join(opts.out, c), { recursive: true });

  const limit = pLimit(opts.concurrency ?? Math.max(2, availableParallelism()));
  let done = 0;
  let written = 0;
  let skipped = 0;
  await Promise.all(
    jobs.map((job) =>
      limit(async () => {
        const png = await svgToPng(await job.svg());
        const file = join(opts.out, job.className, job.fileName);
        if (await sameBytes(file, png)) {
          skipped++;
        } else {
          const tmp = `${file}.${process.pid}.tmp`;
          await writeFile(tmp, png);
          await rename(tmp, file);
          written++;
        }
        done++;
        opts.onProgress?.(done, jobs.length);
      }),
    ),
  );

  const stale = (await readdir(opts.out, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !(d.name in classes))
    .map((d) => d.name)
    .sort();
  const sorted: Record<string, number> = {};
  for (const c of Object.keys(classes).sort()) sorted[c] = classes[c];
  return { classes: sorted, written, skipped, stale };
}
