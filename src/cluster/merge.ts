/**
 * `augment merge VARIANT_DIR`: joins the shards of a sharded build into the variant a
 * one-machine build makes, byte for byte: manifest.jsonl (every part's lines, sorted),
 * variant.json (the one every shard computed, with everyone's failed sources), no file that
 * the plan does not make, and no `.shards/` left behind.
 *
 * Crash-safe: manifest.jsonl and variant.json are written by rename, and `.shards/` is removed
 * last, so a merge killed half-way is run again. Merging an already merged folder is a no-op.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AugmentError } from '../errors.ts';
import { readManifest, writeManifest, type ManifestEntry } from '../variant/manifest.ts';
import { removeStale } from '../variant/build.ts';
import { MANIFEST_NAME, SHARDS_DIR, VARIANT_FILE, readVariantInfo, stampVariantInfo, writeJsonAtomic } from '../variant/format.ts';
import { listShardFiles, partManifestFile, type ShardDone } from './parts.ts';

export interface MergeResult {
  variantDir: string;
  /** Shards joined (0 when the folder was already merged). */
  shards: number;
  files: number;
  /** Files under train/valid/test that no shard made (left by an earlier build), removed. */
  removed: number;
  alreadyMerged: boolean;
}

/** Checks every shard finished the same plan, then writes manifest.jsonl and variant.json. */
export async function mergeShards(dir: string, o: { cwd?: string } = {}): Promise<MergeResult> {
  const variantDir = resolve(o.cwd ?? process.cwd(), dir);
  const { done, parts, exists } = await listShardFiles(variantDir);
  if (!exists) {
    if (await readVariantInfo(variantDir)) {
      const files = (await readManifest(join(variantDir, MANIFEST_NAME))).size;
      return { variantDir, shards: 0, files, removed: 0, alreadyMerged: true };
    }
    throw new AugmentError('NOT_FOUND', `${variantDir}: no ${SHARDS_DIR}/ folder; build it with augment build RECIPE --out ${dir} --shard K/N first`);
  }
  const counts = [...new Set([...done.map((d) => d.shard.count), ...parts.map((p) => p.count)])].sort((a, b) => a - b);
  const count = done.length ? done[0]!.shard.count : counts[0];
  if (count === undefined) throw new AugmentError('NOT_FOUND', `${variantDir}/${SHARDS_DIR}: no shard has started (no manifest parts, no finished markers)`);
  const byIndex = new Map<number, ShardDone>();
  for (const d of done) if (d.shard.count === count) byIndex.set(d.shard.index, d);
  const missing: number[] = [];
  for (let k = 0; k < count; k++) if (!byIndex.has(k)) missing.push(k);
  if (missing.length) {
    const list = missing.length > 12 ? `${missing.slice(0, 12).join(', ')} and ${missing.length - 12} more` : missing.join(', ');
    throw new AugmentError(
      'NOT_FOUND',
      `${variantDir}: ${missing.length} of ${count} shards not finished (shard ${list}); run augment build RECIPE --out ${dir} --shard K/${count} for each, then merge again`,
    );
  }
  const first = byIndex.get(0)!;
  for (const [k, d] of byIndex) {
    if (d.planFingerprint !== first.planFingerprint)
      throw new AugmentError(
        'BAD_DATASET',
        `${variantDir}: shard ${k}/${count} was built from another plan than shard 0/${count} (the recipe or the source changed between them); build it again, then merge`,
      );
  }

  // Join the parts: each output is owned by exactly one shard.
  const all = new Map<string, ManifestEntry>();
  const failed: ShardDone['failed'] = [];
  for (let k = 0; k < count; k++) {
    const d = byIndex.get(k)!;
    const part = await readManifest(partManifestFile(variantDir, d.shard));
    if (part.size !== d.made)
      throw new AugmentError('BAD_DATASET', `${variantDir}: shard ${k}/${count}'s manifest part has ${part.size} lines, its marker says ${d.made}; build that shard again, then merge`);
    for (const [out, e] of part) all.set(out, e);
    failed.push(...d.failed);
  }
  failed.sort((a, b) => (a.source < b.source ? -1 : 1));

  const removed = await removeStale(variantDir, new Set(all.keys()));
  await writeManifest(join(variantDir, MANIFEST_NAME), all.values());
  await writeJsonAtomic(join(variantDir, VARIANT_FILE), stampVariantInfo({ ...first.variant, failed }));
  await rm(join(variantDir, SHARDS_DIR), { recursive: true, force: true });
  return { variantDir, shards: count, files: all.size, removed, alreadyMerged: false };
}
