/**
 * The datasets `augment stats` shows with no argument: every plain folder-per-class
 * dataset directly under `data/` (not `data/variants`, `data/runs` or hidden folders)
 * and every built variant under `data/variants/*`.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { countClasses } from './count.ts';
import { isVariantDir } from '../variant/format.ts';

export interface DiscoveredDataset {
  /** Folder name: the key in `--json`. */
  name: string;
  /** Path as found (`<dataDir>/<name>` or `<dataDir>/variants/<name>`). */
  dir: string;
  kind: 'plain' | 'variant';
}

const RESERVED = new Set(['variants', 'runs']);

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function hasImages(dir: string): Promise<boolean> {
  try {
    return Object.values(await countClasses(dir)).some((n) => n > 0);
  } catch {
    return false;
  }
}

/** Plain datasets first, then variants, each sorted by name. Missing `dataDir`: none. */
export async function discoverDatasets(dataDir = 'data'): Promise<DiscoveredDataset[]> {
  const found: DiscoveredDataset[] = [];
  for (const name of await subdirs(dataDir)) {
    if (RESERVED.has(name)) continue;
    const dir = join(dataDir, name);
    if (await isVariantDir(dir)) found.push({ name, dir, kind: 'variant' });
    else if (await hasImages(dir)) found.push({ name, dir, kind: 'plain' });
  }
  const variantsDir = join(dataDir, 'variants');
  for (const name of await subdirs(variantsDir)) {
    const dir = join(variantsDir, name);
    if (await isVariantDir(dir)) found.push({ name: basename(dir), dir, kind: 'variant' });
  }
  return found;
}
