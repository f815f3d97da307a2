/**
 * The bundled sample dataset: the largest categories of `@tabler/icons` rendered to
 * `<out>/<Category>/<icon>.png` (and `<icon>-filled.png` where the package has a filled
 * style), 8-bit RGB, black on white, the same bytes on every run.
 *
 * The category of each icon comes from the package's `icons.json` (`{ name: { category,
 * styles: { outline?, filled? } } }`); the SVGs from `icons/outline/*.svg` and
 * `icons/filled/*.svg`. Categories are ranked by icon count (icons.json entries; a
 * filled style is a second file of the same icon, not a second icon), ties by name.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AugmentError, invalidParameter } from '../errors.ts';
import { renderJobs, safeClassName, type RenderJob, type SampleResult, type SampleOptions } from './render.ts';

/**
 * Group key of a tabler file's base name (no extension): the first capture group is the
 * name without a trailing `-off` and/or `-filled`, so `bell`, `bell-off`, `bell-filled`
 * and `bell-off-filled` form one group and never straddle splits.
 */
export const TABLER_GROUP_PATTERN = '^(.+?)(?:-off)?(?:-filled)?$';

/** The group key of a file base name (no directory, no extension) under TABLER_GROUP_PATTERN. */
export function tablerGroupKey(baseName: string): string {
  const m = new RegExp(TABLER_GROUP_PATTERN).exec(baseName);
  return m?.[1] ?? baseName;
}

interface IconMeta {
  name: string;
  category?: string;
  styles?: { outline?: unknown; filled?: unknown };
}

export interface TablerCategory {
  /** Category as written in icons.json, e.g. `Version control`. */
  category: string;
  /** Filesystem-safe folder name, e.g. `Version-control`. */
  folder: string;
  /** Icon names (sorted). */
  icons: IconMeta[];
}

/** The directory of the installed `@tabler/icons` package. */
export function tablerPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('@tabler/icons/package.json'));
  } catch (e) {
    throw new AugmentError('NOT_FOUND', '@tabler/icons is not installed: run npm install', { cause: e });
  }
}

/** Every category of the package, largest first (ties by name). */
export async function tablerCategories(pkgDir = tablerPackageDir()): Promise<TablerCategory[]> {
  const file = join(pkgDir, 'icons.json');
  let meta: Record<string, IconMeta>;
  try {
    meta = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new AugmentError('NOT_FOUND', `${file}: cannot read the icon list (${(e as Error).message})`, { cause: e });
  }
  const byCat = new Map<string, IconMeta[]>();
  for (const [key, m] of Object.entries(meta)) {
    const cat = typeof m?.category === 'string' ? m.category.trim() : '';
    if (!cat) continue;
    const list = byCat.get(cat) ?? [];
    list.push({ ...m, name: m.name ?? key });
    byCat.set(cat, list);
  }
  const cats = [...byCat.entries()].map(([category, icons]) => ({
    category,
    folder: safeClassName(category),
    icons: icons.sort((a, b) => cmp(a.name, b.name)),
  }));
  cats.sort((a, b) => b.icons.length - a.icons.length || cmp(a.category, b.category));
  return cats;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Colour the icon black and draw it at `size` px (librsvg renders the vector at that size). */
export function prepareTablerSvg(svg: string, size: number): string {
  return svg
    .replace(/currentColor/g, '#000000')
    .replace(/(<svg\b[^>]*?\s)width="[^"]*"/, `$1width="${size}"`)
    .replace(/(<svg\b[^>]*?\s)height="[^"]*"/, `$1height="${size}"`);
}

/**
 * Renders the top `top` (default 20) categories at `size` px (default 64) into `out`.
 * Files that already hold the same bytes are left alone (`skipped`); others are written
 * to a temp name and renamed.
 */
export async function renderTablerSample(opts: SampleOptions): Promise<SampleResult> {
  const size = opts.size ?? 64;
  const top = opts.top ?? 20;
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw invalidParameter('--size', 'an integer from 8 to 1024', size);
  const pkgDir = tablerPackageDir();
  const cats = await tablerCategories(pkgDir);
  if (!Number.isInteger(top) || top < 1 || top > cats.length) {
    throw invalidParameter('--top', `an integer from 1 to ${cats.length} (the number of tabler categories)`, top);
  }
  const chosen = cats.slice(0, top);
  const folders = new Set<string>();
  const jobs: RenderJob[] = [];
  for (const c of chosen) {
    if (folders.has(c.folder)) throw new AugmentError('BAD_DATASET', `two tabler categories map to folder ${c.folder}`);
    folders.add(c.folder);
    const names = new Set<string>();
    const add = (name: string, svgFile: string) => {
      if (names.has(name)) throw new AugmentError('BAD_DATASET', `${c.folder}/${name}.png would be written twice`);
      names.add(name);
      jobs.push({
        className: c.folder,
        fileName: `${name}.png`,
        svg: async () => prepareTablerSvg(await readFile(svgFile, 'utf8'), size),
      });
    };
    for (const icon of c.icons) {
      if (icon.styles?.outline) add(icon.name, join(pkgDir, 'icons', 'outline', `${icon.name}.svg`));
      if (icon.styles?.filled) add(`${icon.name}-filled`, join(pkgDir, 'icons', 'filled', `${icon.name}.svg`));
    }
  }
  return renderJobs(jobs, { out: opts.out, size, onProgress: opts.onProgress });
}
