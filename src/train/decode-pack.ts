/**
 * The decoded-image cache on disk: append-only pack files of fixed-size RGB records, keyed by
 * content. This module owns the format.
 *
 *   <root>/<size>px-v<DECODE_VERSION>/<host>-<pid>-<rand>.pack     immutable once visible
 *   <root>/<size>px-v<DECODE_VERSION>/<host>-<pid>-<rand>.pack.tmp being written (never read)
 *
 * A pack is written under a `.tmp` name and renamed when complete, so a reader sees whole packs
 * or nothing; a process killed while writing leaves only a `.tmp`, which the next fill removes
 * (at once when its writer is a dead process on this host, else after an hour untouched).
 * Packs are never modified after the rename, so any number of processes may read them while
 * others add new ones; two processes that decode the same image both store it, and the reader
 * takes the first (by pack name): identical bytes either way.
 *
 * Layout (little-endian): a 32-byte header `AUGDPK01`, u32 format version (1), u32 image size,
 * u32 record count, 12 bytes zero; then `count` records of size * size * 3 bytes (RGB, row-major);
 * then `count` 32-byte keys (the SHA-256 of each record's source file). The count is written
 * last, and the file size must equal 32 + count * (record + 32) or the pack is ignored.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Bump when the decoded bytes of a given file would change (decode, flatten or resize rule). */
export const DECODE_VERSION = 1;
const MAGIC = Buffer.from('AUGDPK01', 'latin1');
const FORMAT = 1;
const HEADER = 32;
const KEY = 32;
/** A `.tmp` pack untouched this long is abandoned (its writer would have written to it since). */
const ABANDONED_MS = 60 * 60 * 1000;

/** The folder of one image size's packs. */
export function packDir(root: string, imageSize: number): string {
  return join(root, `${imageSize}px-v${DECODE_VERSION}`);
}

export const recordBytes = (imageSize: number): number => imageSize * imageSize * 3;

/** A host name safe in a file name (the first label, [A-Za-z0-9_-] only). */
export function hostTag(): string {
  return (hostname().split('.')[0] || 'host').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
}

/** Where each content key's record lies in the packs of one folder. */
export interface PackIndex {
  /** Absolute pack paths; `Location.pack` indexes this. */
  packs: string[];
  get(key: string): Location | undefined;
  size: number;
}
export interface Location {
  pack: number;
  offset: number;
}

interface ParsedPack {
  size: number;
  mtimeMs: number;
  keys: string[];
}
/** Packs are immutable: parsed once per process. */
const parsed = new Map<string, ParsedPack>();

function parsePack(file: string, imageSize: number, st: { size: number; mtimeMs: number }): string[] | null {
  const hit = parsed.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.keys;
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const h = Buffer.alloc(HEADER);
    if (readSync(fd, h, 0, HEADER, 0) !== HEADER || !h.subarray(0, 8).equals(MAGIC)) return null;
    if (h.readUInt32LE(8) !== FORMAT || h.readUInt32LE(12) !== imageSize) return null;
    const count = h.readUInt32LE(16);
    const rb = recordBytes(imageSize);
    if (st.size !== HEADER + count * (rb + KEY)) return null;
    const raw = Buffer.alloc(count * KEY);
    if (count > 0 && readSync(fd, raw, 0, raw.length, HEADER + count * rb) !== raw.length) return null;
    const keys = new Array<string>(count);
    for (let i = 0; i < count; i++) keys[i] = raw.toString('hex', i * KEY, (i + 1) * KEY);
    parsed.set(file, { size: st.size, mtimeMs: st.mtimeMs, keys });
    return keys;
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Reads every complete pack of `dir` (missing folder: an empty index). Foreign or damaged files are skipped. */
export async function loadPackIndex(dir: string, imageSize: number): Promise<PackIndex> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.pack')).sort();
  const packs: string[] = [];
  const where = new Map<string, Location>();
  const rb = recordBytes(imageSize);
  for (const name of names) {
    const file = join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const keys = parsePack(file, imageSize, st);
    if (!keys) continue;
    const p = packs.push(file) - 1;
    keys.forEach((k, i) => {
      if (!where.has(k)) where.set(k, { pack: p, offset: HEADER + i * rb });
    });
  }
  return { packs, get: (k) => where.get(k), size: where.size };
}

/** One new pack: records go in at positions fixed when `add` is called; `publish` makes it visible. */
export class PackWriter {
  private count = 0;
  private readonly keys: Buffer[] = [];
  private readonly pending: Promise<unknown>[] = [];
  private failed: unknown;

  private constructor(
    private readonly fh: FileHandle,
    readonly tmp: string,
    readonly file: string,
    private readonly imageSize: number,
  ) {}

  static async create(dir: string, imageSize: number): Promise<PackWriter> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${hostTag()}-${process.pid}-${Date.now().toString(36)}${randomBytes(4).toString('hex')}.pack`);
    const tmp = `${file}.tmp`;
    return new PackWriter(await open(tmp, 'wx'), tmp, file, imageSize);
  }

  get records(): number {
    return this.count;
  }

  /** Queues one record; returns its byte offset in the finished pack. */
  add(key: string, data: Uint8Array): number {
    const rb = recordBytes(this.imageSize);
    if (data.length !== rb) throw new Error(`pack record of ${data.length} bytes, expected ${rb}`);
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`pack key ${key} is not a SHA-256 hex digest`);
    const offset = HEADER + this.count * rb;
    this.count++;
    this.keys.push(Buffer.from(key, 'hex'));
    this.pending.push(this.fh.write(data, 0, rb, offset).catch((e) => (this.failed ??= e)));
    return offset;
  }

  /** Writes keys and header, renames into place; returns the pack's path, or null when empty (nothing is kept). */
  async publish(): Promise<string | null> {
    try {
      await Promise.all(this.pending);
      if (this.failed) throw this.failed;
      if (this.count === 0) {
        await this.fh.close();
        await rm(this.tmp, { force: true });
        return null;
      }
      const rb = recordBytes(this.imageSize);
      await this.fh.write(Buffer.concat(this.keys), 0, this.count * KEY, HEADER + this.count * rb);
      const h = Buffer.alloc(HEADER);
      MAGIC.copy(h, 0);
      h.writeUInt32LE(FORMAT, 8);
      h.writeUInt32LE(this.imageSize, 12);
      h.writeUInt32LE(this.count, 16);
      await this.fh.write(h, 0, HEADER, 0);
      await this.fh.close();
      await rename(this.tmp, this.file);
      return this.file;
    } catch (e) {
      await this.discard();
      throw e;
    }
  }

  /** Drops the pack (nothing becomes visible). */
  async discard(): Promise<void> {
    await Promise.allSettled(this.pending);
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === 'EPERM';
  }
}

/**
 * Removes `.tmp` packs left by killed writers: those of a dead process on this host, and any
 * untouched for an hour. Returns how many were removed.
 */
export async function removeAbandoned(dir: string, now = Date.now()): Promise<number> {
  const host = hostTag();
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.pack.tmp')) continue;
    const m = /^(.*)-(\d+)-[0-9a-z]+\.pack\.tmp$/.exec(name);
    const file = join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (!st) continue;
    const deadHere = m !== null && m[1] === host && Number(m[2]) !== process.pid && !processAlive(Number(m[2]));
    if (deadHere || now - st.mtimeMs > ABANDONED_MS) {
      await rm(file, { force: true });
      removed++;
    }
  }
  return removed;
}
