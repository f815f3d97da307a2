/**
 * The build manifest: `manifest.jsonl` in the variant folder, one JSON object per output file,
 * recording its source, split, copy number, seed, the ops actually applied with their sampled
 * parameters, and its SHA-256. During a build it is an append-only journal (a line is written
 * only after its file was renamed into place; a torn last line after a kill is ignored); at the
 * end it is rewritten sorted by output path, so it is byte-identical at any concurrency.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
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

/** Where one manifest line lies: in which of the build's manifest files, from which byte, how many bytes (no newline). */
export interface LineRef {
  file: number;
  at: number;
  length: number;
}

/** A manifest line's place, and what a build compares to decide it is still good. */
export interface IndexedLine extends LineRef {
  key: string;
  bytes: number;
}

/**
 * The last valid line of each output in `files` (a later file's line wins, as a later line of
 * one file does: a resumed build appended it), without keeping the entries: the build holds a
 * place and two fields per file, not the parsed entry, so its memory does not grow with the
 * manifest (docs/BENCHMARKS.md, the 100,000-file build). Torn lines are ignored, as in
 * `readManifest`; a missing file is empty.
 */
export async function indexManifests(files: readonly string[]): Promise<Map<string, IndexedLine>> {
  const index = new Map<string, IndexedLine>();
  for (let file = 0; file < files.length; file++) {
    const take = (buf: Buffer, start: number, end: number, at: number) => {
      if (end <= start) return;
      try {
        const e = JSON.parse(buf.toString('utf8', start, end)) as ManifestEntry;
        if (e && typeof e.out === 'string') index.set(e.out, { file, at, length: end - start, key: e.key, bytes: e.bytes });
      } catch {
        /* a torn line from a killed build (or blank): ignore it, its file gets rebuilt */
      }
    };
    let carry: Buffer | null = null;
    let base = 0; // file offset of carry's (or the chunk's) first byte
    try {
      for await (const chunk of createReadStream(files[file]) as AsyncIterable<Buffer>) {
        const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
        let start = 0;
        for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
          take(buf, start, nl, base + start);
          start = nl + 1;
        }
        carry = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
        base += start;
      }
    } catch (e: any) {
      if (e.code !== 'ENOENT') throw e;
    }
    if (carry) take(carry, 0, carry.length, base);
  }
  return index;
}

/**
 * The append-only journal of a build: lines go to the end of the file, synchronously and in
 * call order, and `append` says where each one landed, so the sorted manifest can be copied
 * from the journal at the end instead of kept in memory. A file that does not end with a
 * newline (a killed build's torn line) gets one first, so no new line is glued to it.
 */
export class ManifestJournal {
  private constructor(
    private readonly fd: number,
    private size: number,
  ) {}

  static async open(file: string): Promise<ManifestJournal> {
    const fd = openSync(file, 'a+');
    let size = fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 10) size += writeSync(fd, '\n');
    }
    return new ManifestJournal(fd, size);
  }

  /** Appends `lines` (JSON, no newlines); returns the offset of each in the file. */
  append(lines: readonly string[]): number[] {
    if (!lines.length) return [];
    const at: number[] = [];
    let pos = this.size;
    for (const l of lines) {
      at.push(pos);
      pos += Buffer.byteLength(l) + 1;
    }
    const buf = Buffer.from(lines.join('\n') + '\n');
    for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off);
    this.size += buf.length;
    return at;
  }

  async close(): Promise<void> {
    closeSync(this.fd);
  }
}

/**
 * Writes `target` (temp name, then rename) from lines of `files`, in the order given: the
 * sorted manifest of a build, copied a buffer at a time from the journals that hold its lines.
 * Each file is read through a window of WINDOW bytes (one read per window, not one per line):
 * a journal's lines come nearly in output order (chunks are planned in it), so the next line
 * is mostly in the window already. Memory stays two buffers, whatever the manifest's size.
 */
export function writeManifestFrom(target: string, files: readonly string[], refs: Iterable<LineRef>): void {
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`; // unique across machines (containers are all pid 1)
  const fds: Array<number | undefined> = files.map(() => undefined); // opened when a line is read from it (a shard's merged manifest may not exist)
  const fd = (file: number) => (fds[file] ??= openSync(files[file], 'r'));
  const windows = files.map(() => ({ buf: null as Buffer | null, start: 0, end: 0 }));
  // Copies line r into dst at `at`; returns the bytes it had (fewer than r.length: the file is shorter).
  const readLine = (r: LineRef, dst: Buffer, at: number): number => {
    if (r.length > WINDOW >> 2) return readSync(fd(r.file), dst, at, r.length, r.at);
    const w = windows[r.file];
    if (!w.buf || r.at < w.start || r.at + r.length > w.end) {
      w.buf ??= Buffer.allocUnsafe(WINDOW);
      w.start = Math.max(0, r.at - (WINDOW >> 3)); // a little before: lines a few chunks back come later too
      w.end = w.start;
      for (let n; w.end - w.start < WINDOW && (n = readSync(fd(r.file), w.buf, w.end - w.start, WINDOW - (w.end - w.start), w.end)) > 0; ) w.end += n;
    }
    const n = Math.max(0, Math.min(r.length, w.end - r.at));
    w.buf.copy(dst, at, r.at - w.start, r.at - w.start + n);
    return n;
  };
  let out: number | undefined = openSync(tmp, 'w');
  try {
    let buf = Buffer.allocUnsafe(1 << 20);
    let used = 0;
    const flush = () => {
      for (let off = 0; off < used; ) off += writeSync(out!, buf, off, used - off);
      used = 0;
    };
    for (const r of refs) {
      if (used + r.length + 1 > buf.length) {
        flush();
        if (r.length + 1 > buf.length) buf = Buffer.allocUnsafe(r.length + 1);
      }
      const n = readLine(r, buf, used);
      if (n !== r.length) throw new Error(`${files[r.file]}: manifest line at byte ${r.at} is shorter than journalled (${n} of ${r.length} bytes)`);
      used += n;
      buf[used++] = 10;
    }
    flush();
    closeSync(out);
    out = undefined;
    renameSync(tmp, target);
  } catch (e) {
    if (out !== undefined) closeSync(out);
    try {
      unlinkSync(tmp);
    } catch {
      // gone
    }
    throw e;
  } finally {
    for (const f of fds) if (f !== undefined) closeSync(f);
  }
}

const WINDOW = 1 << 20;

/** Replaces the manifest by `entries` sorted by output path (temp name, then rename). */
export async function writeManifest(file: string, entries: Iterable<ManifestEntry>): Promise<void> {
  const sorted = [...entries].sort((a, b) => (a.out < b.out ? -1 : a.out > b.out ? 1 : 0));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`; // unique across machines (containers are all pid 1)
  await writeFile(tmp, sorted.map((e) => JSON.stringify(e)).join('\n') + (sorted.length ? '\n' : ''));
  await rename(tmp, file);
}
