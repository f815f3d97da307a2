/**
 * The on-disk format of a sharded build, inside the variant folder:
 *
 *   .shards/manifest.K-of-N.jsonl   shard K's manifest part (a journal while it runs, then
 *                                   rewritten sorted, the same lines a one-machine build writes)
 *   .shards/done.K-of-N.json        written last, when shard K finished: the plan fingerprint
 *                                   every shard must agree on, and the variant.json it computed
 *
 * `augment merge` reads these, writes manifest.jsonl and variant.json, and removes `.shards/`.
 * Which shard owns an output: `shardOf(output path, N)` (src/cluster/shard.ts); a file's
 * hidden temp name (`.<name>.<pid>.<thread>.tmp`) belongs to the shard of the file it becomes.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { join } from 'node:path';
import { shardLabel, shardOf, type Shard } from './shard.ts';

import { SHARDS_DIR } from '../variant/format.ts';
export const SHARD_DONE_FORMAT = 'augment-shard-done';
export const SHARD_DONE_VERSION = 1;

export interface ShardDone {
  format: typeof SHARD_DONE_FORMAT;
  version: number;
  shard: Shard;
  /** sha256 of every planned (output, key) pair of the whole build: equal in every shard of one build. */
  planFingerprint: string;
  /** Outputs this shard was to make, and how many of them are in its manifest part. */
  planned: number;
  made: number;
  /** Sources whose outputs failed in this shard (the merge joins them). */
  failed: Array<{ source: string; reason: string }>;
  /** The variant.json this shard computed; `failed` is replaced by the merge with everyone's. */
  variant: Record<string, unknown>;
}

export function partManifestFile(variantDir: string, shard: Shard): string {
  return join(variantDir, SHARDS_DIR, `manifest.${shardLabel(shard)}.jsonl`);
}

export function doneFile(variantDir: string, shard: Shard): string {
  return join(variantDir, SHARDS_DIR, `done.${shardLabel(shard)}.json`);
}

const DONE_NAME = /^done\.(\d+)-of-(\d+)\.json$/;
const PART_NAME = /^manifest\.(\d+)-of-(\d+)\.jsonl$/;

/** What `.shards/` holds: the finished markers (parsed) and the part files present, by label. */
export async function listShardFiles(variantDir: string): Promise<{ done: ShardDone[]; parts: Shard[]; exists: boolean }> {
  let names: string[];
  try {
    names = (await readdir(join(variantDir, SHARDS_DIR))).sort();
  } catch (e: any) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { done: [], parts: [], exists: false };
    throw e;
  }
  const done: ShardDone[] = [];
  const parts: Shard[] = [];
  for (const n of names) {
    const p = PART_NAME.exec(n);
    if (p) parts.push({ index: Number(p[1]), count: Number(p[2]) });
    const d = DONE_NAME.exec(n);
    if (!d) continue;
    try {
      const v = JSON.parse(await readFile(join(variantDir, SHARDS_DIR, n), 'utf8')) as ShardDone;
      if (v?.format === SHARD_DONE_FORMAT && v.shard?.index === Number(d[1]) && v.shard?.count === Number(d[2])) done.push(v);
    } catch {
      /* a marker is written by rename, so an unreadable one is not ours: ignore it */
    }
  }
  return { done, parts, exists: true };
}

/** Removes the finished markers of builds split another way (a new `--shards N` starts over). */
export async function removeOtherCountMarkers(variantDir: string, count: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(variantDir, SHARDS_DIR));
  } catch {
    return;
  }
  for (const n of names) {
    const d = DONE_NAME.exec(n);
    if (d && Number(d[2]) !== count) await unlink(join(variantDir, SHARDS_DIR, n)).catch(() => {});
  }
}

/**
 * The output path a variant-relative file stands for: itself, or the file its temp name
 * (`.<name>.<pid>.<thread>.tmp`, src/variant/worker.ts) becomes; null for any other temp file,
 * whose owner cannot be told (no shard deletes it; the merge does).
 */
export function outputOfPath(rel: string): string | null {
  const dir = posix.dirname(rel);
  const base = posix.basename(rel);
  const m = /^\.(.+)\.\d+\.\d+\.tmp$/.exec(base);
  if (!m) return base.endsWith('.tmp') ? null : rel;
  return dir === '.' ? m[1]! : `${dir}/${m[1]}`;
}

/** Does this shard own the (output or temp) file at `rel`? */
export function shardOwns(shard: Shard, rel: string): boolean {
  const out = outputOfPath(rel);
  return out !== null && shardOf(out, shard.count) === shard.index;
}

/** sha256 over every planned output and its key, in output order: identical in every shard of one build. */
export function planFingerprint(outputs: Iterable<{ out: string; key: string }>): string {
  const sorted = [...outputs].sort((a, b) => (a.out < b.out ? -1 : a.out > b.out ? 1 : 0));
  const h = createHash('sha256');
  for (const o of sorted) h.update(`${o.out}\u0000${o.key}\n`);
  return h.digest('hex');
}
