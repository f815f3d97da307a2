/**
 * Resolves the datasets `augment stats` reports on (given folders, or the discovered
 * defaults) and counts them, with unique names.
 */
import { basename, resolve } from 'node:path';
import { countDataset, countsToJson, type ClassCounts } from './count.ts';
import { discoverDatasets } from './discover.ts';
import type { StatsEntry } from './table.ts';

/**
 * Counts each folder in `dirs`, or with none, every dataset `discoverDatasets(dataDir)`
 * finds. Names are folder names; a repeated name falls back to the path as given.
 */
export async function collectStats(dirs: readonly string[], dataDir = 'data'): Promise<StatsEntry[]> {
  const targets = dirs.length > 0 ? dirs.map((d) => ({ dir: d, name: basename(resolve(d)) })) : await discoverDatasets(dataDir);
  const entries: StatsEntry[] = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const counts = await countDataset(t.dir);
    let name = t.name;
    if (seen.has(name)) name = t.dir;
    for (let i = 2; seen.has(name); i++) name = `${t.dir}#${i}`;
    seen.add(name);
    entries.push({ name, dir: t.dir, counts });
  }
  return entries;
}

/** The `--json` document: `{ "<name>": { "all": {...} } | { "train": {...}, "valid": {...}, "test": {...} } }`. */
export function statsJson(entries: readonly StatsEntry[]): Record<string, Record<string, ClassCounts>> {
  const out: Record<string, Record<string, ClassCounts>> = {};
  for (const e of entries) out[e.name] = countsToJson(e.counts);
  return out;
}
