/**
 * Build worker (a worker thread): decodes each source image ONCE, then makes all of its outputs
 * from the raw pixels (ops are pure JS over typed arrays, so they run here, off the main
 * thread), encodes, writes each file under a hidden temp name and renames it into place.
 * Everything random comes from each output's own seed: scheduling never changes a byte.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { decodeImage, decodeImageBuffer } from '../image/decode.ts';
import { encodeImage } from '../image/encode.ts';
import type { RawImage, Rgb } from '../image/raw.ts';
import { applyOps, sampleOps, type OpsSpec } from '../ops/compose.ts';
import { createRng } from '../rng.ts';
import type { ManifestEntry } from './manifest.ts';
import type { SourceJob } from './plan.ts';

export interface WorkerConfig {
  sourceRoot: string;
  variantDir: string;
  ops: OpsSpec | null;
  fill: Rgb;
  background: Rgb;
  format: 'png' | 'jpeg' | 'webp';
  quality?: number;
  pixelLimit: number;
}

export interface WorkerRequest {
  id: number;
  jobs: Array<SourceJob & { keys: string[] }>;
}

export interface WorkerReply {
  id: number;
  entries: ManifestEntry[];
  failures: Array<{ source: string; reason: string }>;
}

/** Makes one source's outputs; pure apart from the files it writes. Exported for in-thread use. */
export async function runJob(cfg: WorkerConfig, job: SourceJob & { keys: string[] }): Promise<ManifestEntry[]> {
  const path = join(cfg.sourceRoot, ...job.source.split('/'));
  const decodeOpts = { limitInputPixels: cfg.pixelLimit, background: cfg.background };
  // One synchronous read (open, fstat, read, close on this thread) instead of fs/promises'
  // trips through libuv's thread pool; a read that fails goes through decodeImage, which
  // words the error as ever.
  let bytes: Buffer | undefined;
  try {
    bytes = readFileSync(path);
  } catch {
    bytes = undefined;
  }
  const src = bytes ? await decodeImageBuffer(bytes, path, decodeOpts) : await decodeImage(path, decodeOpts);
  const entries: ManifestEntry[] = [];
  const dirsMade = new Set<string>();
  for (let i = 0; i < job.outputs.length; i++) {
    const o = job.outputs[i];
    let img: RawImage = src;
    let applied: ManifestEntry['ops'] = [];
    if (o.copy > 0 && cfg.ops) {
      applied = sampleOps(cfg.ops, createRng(o.seed), { width: src.width, height: src.height }, o.copy);
      img = applyOps(src, applied, { fill: cfg.fill });
    }
    const buf = await encodeImage(img, cfg.format, cfg.quality === undefined ? undefined : { quality: cfg.quality });
    const file = join(cfg.variantDir, ...o.out.split('/'));
    const dir = dirname(file);
    if (!dirsMade.has(dir)) {
      mkdirSync(dir, { recursive: true });
      dirsMade.add(dir);
    }
    // Synchronous on purpose: this is a worker thread, and a sync write + rename costs one
    // syscall each instead of two trips through libuv's small thread pool per file.
    const tmp = join(dir, `.${o.out.slice(o.out.lastIndexOf('/') + 1)}.${process.pid}.${threadId}.tmp`);
    try {
      writeFileSync(tmp, buf);
      renameSync(tmp, file);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
      throw e;
    }
    entries.push({
      out: o.out,
      split: job.split,
      class: job.class,
      source: job.source,
      copy: o.copy,
      seed: o.seed,
      ops: applied,
      width: img.width,
      height: img.height,
      bytes: buf.length,
      sha256: createHash('sha256').update(buf).digest('hex'),
      key: job.keys[i],
    });
  }
  return entries;
}

if (parentPort) {
  const cfg = workerData as WorkerConfig;
  sharp.concurrency(1); // one libvips thread per worker: the pool is the parallelism
  sharp.cache(false);
  const port = parentPort;
  // The pool keeps two chunks here (see ./pool.ts): they run one after the other, so the next
  // one starts the moment a reply is posted.
  let queue: Promise<void> = Promise.resolve();
  const handle = async (req: WorkerRequest) => {
    const reply: WorkerReply = { id: req.id, entries: [], failures: [] };
    for (const job of req.jobs) {
      try {
        reply.entries.push(...(await runJob(cfg, job)));
      } catch (e: any) {
        reply.failures.push({ source: job.source, reason: String(e?.message ?? e) });
      }
    }
    port.postMessage(reply);
  };
  port.on('message', (req: WorkerRequest) => {
    queue = queue.then(() => handle(req));
  });
}
