/**
 * Content keys of a variant's images for the decoded-image cache: the SHA-256 of each file's
 * bytes, found without reading the file where possible.
 *
 * 1. The variant's build manifest (`manifest.jsonl`, written by `augment build`, format owned by
 *    src/variant/manifest.ts) records every output's sha256 and size. An entry is trusted when the
 *    file still has that size and was last modified before the manifest (the build rewrites the
 *    manifest after every file it lists; a file edited since is newer than it).
 * 2. Else a hash memo in the cache folder, `<root>/hashes/<dir-hash>.json`, one per variant
 *    folder: `{ version: 1, dir, files: { "<split>/<rel>": [size, mtimeMs, sha256] } }`, trusted
 *    while size and mtime (ms) are unchanged. Written to a temp name and renamed; concurrent
 *    writers only lose each other's additions, which costs a re-hash, never a wrong key.
 * 3. Else the file is read and hashed (and the memo updated).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { readManifest } from '../variant/manifest.ts';
import { MANIFEST_NAME } from '../variant/format.ts';
import { AugmentError } from '../errors.ts';
import { deriveSeed } from '../rng.ts';
import type { Split, Variant } from './data.ts';

export interface KeySources {
  manifest: number;
  memo: number;
  hashed: number;
}

type MemoEntry = [size: number, mtimeMs: number, sha256: string];
interface Memo {
  version: 1;
  dir: string;
  files: Record<string, MemoEntry>;
}

const SHA = /^[0-9a-f]{64}$/;

export const sha256Hex = (buf: Uint8Array): string => createHash('sha256').update(buf).digest('hex');

/** The memo file of a variant folder. */
export function memoFile(root: string, variantDir: string): string {
  return join(root, 'hashes', `${deriveSeed('variant-dir', variantDir).slice(0, 16)}.json`);
}

async function readMemo(file: string, dir: string): Promise<Memo> {
  try {
    const m = JSON.parse(await readFile(file, 'utf8')) as Memo;
    if (m?.version === 1 && m.dir === dir && m.files && typeof m.files === 'object') return m;
  } catch {
    /* absent or torn: start again */
  }
  return { version: 1, dir, files: {} };
}

async function trustedManifest(v: Variant): Promise<{ entries: Map<string, { bytes: number; sha256: string }>; mtimeMs: number } | null> {
  const file = join(v.dir, MANIFEST_NAME);
  const st = await stat(file).catch(() => undefined);
  if (!st) return null;
  const entries = await readManifest(file);
  return { entries, mtimeMs: Math.trunc(st.mtimeMs) };
}

/**
 * The sha256 of every image of the given splits, in each split's file order.
 * AugmentError BAD_IMAGE naming a file that cannot be read.
 */
export async function contentKeys(v: Variant, splits: readonly Split[], root: string): Promise<{ keys: Record<string, string[]>; sources: KeySources }> {
  const sources: KeySources = { manifest: 0, memo: 0, hashed: 0 };
  const manifest = await trustedManifest(v);
  const mfile = memoFile(root, v.dir);
  const memo = await readMemo(mfile, v.dir);
  let memoChanged = false;
  const keys: Record<string, string[]> = {};
  const limit = pLimit(16);
  for (const split of splits) {
    const files = v.splits[split];
    const out = new Array<string>(files.length);
    const todo: number[] = [];
    files.forEach((f, i) => {
      const id = `${split}/${f.rel}`;
      const m = manifest?.entries.get(id);
      if (m && m.bytes === f.size && f.mtimeMs < manifest!.mtimeMs && SHA.test(m.sha256)) {
        out[i] = m.sha256;
        sources.manifest++;
        return;
      }
      const e = memo.files[id];
      if (e && e[0] === f.size && e[1] === f.mtimeMs && SHA.test(e[2])) {
        out[i] = e[2];
        sources.memo++;
        return;
      }
      todo.push(i);
    });
    await Promise.all(
      todo.map((i) =>
        limit(async () => {
          const f = files[i];
          let buf: Buffer;
          try {
            buf = await readFile(f.path);
          } catch (e: any) {
            throw new AugmentError('BAD_IMAGE', `${f.path}: cannot read it (${e?.code ?? e?.message ?? e})`);
          }
          out[i] = sha256Hex(buf);
          // remembered under the size and mtime readVariant saw; a file rewritten since then
          // has another mtime, so its next lookup misses and hashes it again
          if (buf.length === f.size) {
            memo.files[`${split}/${f.rel}`] = [f.size, f.mtimeMs, out[i]];
            memoChanged = true;
          }
          sources.hashed++;
        }),
      ),
    );
    keys[split] = out;
  }
  if (memoChanged) {
    await mkdir(join(root, 'hashes'), { recursive: true });
    const tmp = `${mfile}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(memo));
    await rename(tmp, mfile);
  }
  return { keys, sources };
}
