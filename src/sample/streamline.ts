/**
 * A second sample set: Streamline "Freehand" icons (1,000 hand-drawn icons in 15
 * categories, CC BY 4.0) from `@iconify-json/streamline-freehand`, rendered like the
 * tabler set: `<out>/<Category>/<icon>.png`, 8-bit RGB, black on white, deterministic.
 * The licence attribution is written to `<out>/LICENSE.txt` (outside every class folder).
 *
 * The iconify JSON holds each icon's SVG body (`icons.json`: `{ icons: { name: { body,
 * width?, height?, left?, top? } }, width, height }`); `metadata.json` maps category ->
 * icon names.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AugmentError, invalidParameter } from '../errors.ts';
import { renderJobs, safeClassName, type RenderJob, type SampleOptions, type SampleResult } from './render.ts';

const PACKAGE = '@iconify-json/streamline-freehand';

interface IconifyIcon {
  body: string;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
}

interface IconifySet {
  prefix: string;
  icons: Record<string, IconifyIcon>;
  width?: number;
  height?: number;
}

export interface StreamlineCategory {
  category: string;
  folder: string;
  icons: string[];
}

function packageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${PACKAGE}/icons.json`));
  } catch (e) {
    throw new AugmentError('NOT_FOUND', `${PACKAGE} is not installed: run npm install ${PACKAGE}`, { cause: e });
  }
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    throw new AugmentError('NOT_FOUND', `${file}: cannot read (${(e as Error).message})`, { cause: e });
  }
}

/** Every category, largest first (ties by name); icons sorted. */
export async function streamlineCategories(dir = packageDir()): Promise<StreamlineCategory[]> {
  const meta = await readJson<{ categories?: Record<string, string[]> }>(join(dir, 'metadata.json'));
  const cats = Object.entries(meta.categories ?? {}).map(([category, icons]) => ({
    category,
    folder: safeClassName(category),
    icons: [...new Set(icons)].sort(),
  }));
  cats.sort((a, b) => b.icons.length - a.icons.length || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0));
  return cats;
}

/** A standalone SVG for one iconify icon, `size` px square, colour black. */
export function iconifySvg(set: IconifySet, name: string, size: number): string {
  const icon = set.icons[name];
  if (!icon) throw new AugmentError('NOT_FOUND', `${set.prefix}: no icon named ${name}`);
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  const body = icon.body.replace(/currentColor/g, '#000000');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="${icon.left ?? 0} ${icon.top ?? 0} ${w} ${h}">${body}</svg>`;
}

export const STREAMLINE_LICENSE = `Streamline Freehand icons
Source: ${PACKAGE} (Iconify JSON), https://github.com/webalys-hq/streamline-vectors
Author: Streamline (https://www.streamlinehq.com)
Licence: CC BY 4.0, https://creativecommons.org/licenses/by/4.0/

The PNG files in this folder were rendered by \`augment sample streamline\` from the
SVG icons above (recoloured black, flattened onto white, resized). Changes were made.
`;

/**
 * Renders the top `top` (default: all 15) Streamline Freehand categories at `size` px
 * (default 64) into `out`, and writes `out/LICENSE.txt` with the attribution.
 */
export async function renderStreamlineSample(opts: SampleOptions): Promise<SampleResult> {
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw invalidParameter('--size', 'an integer from 8 to 1024', size);
  const dir = packageDir();
  const cats = await streamlineCategories(dir);
  const top = opts.top ?? cats.length;
  if (!Number.isInteger(top) || top < 1 || top > cats.length) {
    throw invalidParameter('--top', `an integer from 1 to ${cats.length} (the number of streamline categories)`, top);
  }
  const set = await readJson<IconifySet>(join(dir, 'icons.json'));
  const jobs: RenderJob[] = [];
  const folders = new Set<string>();
  for (const c of cats.slice(0, top)) {
    if (folders.has(c.folder)) throw new AugmentError('BAD_DATASET', `two streamline categories map to folder ${c.folder}`);
    folders.add(c.folder);
    for (const name of c.icons) {
      if (!set.icons[name]) continue; // listed in metadata but absent from the set
      jobs.push({ className: c.folder, fileName: `${name}.png`, svg: async () => iconifySvg(set, name, size) });
    }
  }
  const result = await renderJobs(jobs, { out: opts.out, size, onProgress: opts.onProgress });
  const licence = join(opts.out, 'LICENSE.txt');
  let current = '';
  try {
    current = await readFile(licence, 'utf8');
  } catch {
    /* absent */
  }
  if (current !== STREAMLINE_LICENSE) {
    const tmp = `${licence}.${process.pid}.tmp`;
    await writeFile(tmp, STREAMLINE_LICENSE);
    await rename(tmp, licence);
  }
  return result;
}
