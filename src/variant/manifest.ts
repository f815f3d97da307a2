/**
 * The build manifest: `manifest.jsonl` in the variant folder, one JSON object per output file,
 * recording its source, split, copy number, seed, the ops actually applied with their sampled
 * parameters, and its SHA-256. During a build it is an append-only journal (a line is written
 * only after its file was renamed into place; a torn last line after a kill is ignored); at the
 * end it is rewritten sorted by output path, so it is byte-identical at any concurrency.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { AppliedOp } from '../ops/types.ts';
import type { SplitName } from './format.ts';

export interface ManifestEntry {
  out: string;
  split: SplitName;
  class: string;
  source: string;
  copy: number;
  seed: string;
  ops: AppliedOp[];
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  /** Fingerprint of everything that determines this file's bytes; a change means rebuild. */
  key: string;
}


export async function readManifest(file: string): Promise<Map<string, ManifestEntry>> {
  const entries = new Map<string, ManifestEntry>();
  let stream;
  try {
    stream = createReadStream(file, 'utf8');
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as ManifestEntry;
        if (e && typeof e.out === 'string') entries.set(e.out, e);
      } catch {
        /* a torn line from a killed build: ignore it, its file gets rebuilt */
      }
    }
  } catch (e: any) {
    if (e.code !== 'ENOENT') throw e;
  }
  return entries;
}

export class ManifestJournal {
  private constructor(private readonly fh: FileHandle) {}
  static async open(file: string): Promise<ManifestJournal> {
    return new ManifestJournal(await open(file, 'a'));
  }
  async append(entries: readonly ManifestEntry[]): Promise<void> {
    if (entries.length) await this.fh.write(entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Replaces the manifest by `entries` sorted by output path (temp name, then rename). */
export async function writeManifest(file: string, entries: Iterable<ManifestEntry>): Promise<void> {
  const sorted = [...entries].sort((a, b) => (a.out < b.out ? -1 : a.out > b.out ? 1 : 0));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`; // unique across machines (containers are all pid 1)
  await writeFile(tmp, sorted.map((e) => JSON.stringify(e)).join('\n') + (sorted.length ? '\n' : ''));
  await rename(tmp, file);
}
