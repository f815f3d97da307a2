/**
 * Build worker (a worker thread): decodes each source image ONCE, then makes all of its outputs
 * from the raw pixels (ops are pure JS over typed arrays, so they run here, off the main
 * thread), encodes, writes each file under a hidden temp name and renames it into place.
 * Everything random comes from each output's own seed: scheduling never changes a byte.
 * The same workers also run the source scan's decode check (`check` requests, see
 * ../dataset/scan.ts `checkBatch`), so a cold build hashes its sources in parallel and the
 * threads are started once.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { decodeSourceReadSync } from '../image/decode.ts';
import { encodeImage } from '../image/encode.ts';
import type { RawImage, Rgb } from '../image/raw.ts';
import { configureSharp } from '../image/sharp.ts';
import { applyOps, sampleOps, type OpsSpec } from '../ops/compose.ts';
import { createRng } from '../rng.ts';
import { decodeCheck, type CheckResult, type CheckTask } from '../dataset/scan.ts';
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

/** Make these jobs' outputs, or (`check`) decode-check these source files for the scan. */
export type WorkerRequest = { id: number; jobs: Array<SourceJob & { keys: string[] }> } | { id: number; check: CheckTask[]; pixelLimit: number };

export type WorkerReply = BuildReply | CheckReply;

export interface BuildReply {
  id: number;
  /** The outputs made, in the chunk's order, and each one's manifest line (JSON, made here, off the main thread). */
  outs: string[];
  lines: string[];
  failures: Array<{ source: string; reason: string }>;
}

export interface CheckReply {
  id: number;
  checked: CheckResult[];
}

/** Folders this thread made or found: one mkdir per output folder per build, not one per source. */
const dirsMade = new Set<string>();

/** Makes one source's outputs; pure apart from the files it writes. Exported for in-thread use. */
export async function runJob(cfg: WorkerConfig, job: SourceJob & { keys: string[] }): Promise<ManifestEntry[]> {
  const path = join(cfg.sourceRoot, ...job.source.split('/'));
  const decodeOpts = { limitInputPixels: cfg.pixelLimit, background: cfg.background };
  const { image: src, png: srcPng } = await decodeSourceReadSync(path, decodeOpts);
  // An output with the source's pixels unchanged (the original, or a copy without ops) of a plain
  // 8-bit RGB PNG source is written as the source's own bytes: the same pixels (decoded here
  // without a fault) without a second encode (see ../image/png.ts plainRgbPng).
  const keepSource = cfg.format === 'png' ? srcPng : undefined;
  const entries: ManifestEntry[] = [];
  // One result buffer for this source's copies: each copy is encoded (awaited) and written
  // before the next one's ops run, so it is free again by then (~0.04 ms per copy at 224 px
  // over a fresh allocation). Per job, not per thread: the job lanes interleave at the awaits.
  let into: Uint8Array | undefined;
  for (let i = 0; i < job.outputs.length; i++) {
    const o = job.outputs[i];
    let img: RawImage = src;
    let applied: ManifestEntry['ops'] = [];
    if (o.copy > 0 && cfg.ops) {
      applied = sampleOps(cfg.ops, createRng(o.seed), { width: src.width, height: src.height }, o.copy);
      into ??= new Uint8Array(src.width * src.height * 3);
      img = applyOps(src, applied, { fill: cfg.fill }, { into });
    }
    const buf = img === src && keepSource ? keepSource : await encodeImage(img, cfg.format, cfg.quality === undefined ? undefined : { quality: cfg.quality });
    const file = join(cfg.variantDir, ...o.out.split('/'));
    const dir = dirname(file);
    if (!dirsMade.has(dir)) {
      mkdirSync(dir, { recursive: true });
      dirsMade.add(dir);
    }
    // Temp name + rename: a file is either absent or whole under its real name. Synchronous:
    // open, write, close and rename are four syscalls on this thread, where fs/promises made
    // them four trips through libuv's thread pool, each a futex wake and an event-loop wake-up
    // (~24 futex calls per file, 2-3 s of system time in a 16,405-file build; BENCHMARKS.md).
    writeAtomicallySync(join(dir, `.${o.out.slice(o.out.lastIndexOf('/') + 1)}.${process.pid}.${threadId}.tmp`), file, buf);
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

function writeAtomicallySync(tmp: string, file: string, buf: Buffer): void {
  try {
    try {
      writeFileSync(tmp, buf);
    } catch (e: any) {
      if (e?.code !== 'ENOENT') throw e;
      mkdirSync(dirname(file), { recursive: true }); // the folder went since this thread made it
      writeFileSync(tmp, buf);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

const JOB_LANES = 3;

if (parentPort) {
  // The config comes as workerData, or, in a pool started before it was known (the CLI's
  // pre-start, ./pool.ts), as the first message `{ config }`: `WorkerPool.take` posts it before
  // any request, and one port's messages arrive in order.
  let cfg = (workerData ?? undefined) as WorkerConfig | undefined;
  // One libvips thread per worker (the pool is the parallelism), no operation cache: applied
  // when sharp loads, which a build of plain PNGs into PNGs never does (../image/sharp.ts).
  configureSharp({ concurrency: 1, cache: false });
  const port = parentPort;
  // The pool keeps two requests here (see ./pool.ts): they run one after the other, so the
  // next one starts the moment a reply is posted.
  let queue: Promise<void> = Promise.resolve();
  const check = async (req: Extract<WorkerRequest, { check: unknown }>) => {
    const checked: CheckResult[] = [];
    for (const t of req.check) checked.push(await decodeCheck(t.abs, t.size, t.mtimeMs, req.pixelLimit));
    const reply: CheckReply = { id: req.id, checked };
    port.postMessage(reply);
  };
  // Within a chunk, JOB_LANES jobs at a time: while one waits for sharp (a JPEG or WebP source
  // or output), the next one's pixels are made. Results keep the chunk's job order.
  const build = async (req: Extract<WorkerRequest, { jobs: unknown }>) => {
    const results: Array<{ entries: ManifestEntry[] } | { failure: { source: string; reason: string } }> = [];
    let next = 0;
    const lane = async () => {
      while (next < req.jobs.length) {
        const k = next++;
        const job = req.jobs[k];
        try {
          results[k] = { entries: await runJob(cfg!, job) };
        } catch (e: any) {
          results[k] = { failure: { source: job.source, reason: String(e?.message ?? e) } };
        }
      }
    };
    await Promise.all(Array.from({ length: JOB_LANES }, lane));
    const reply: BuildReply = { id: req.id, outs: [], lines: [], failures: [] };
    for (const r of results) {
      if ('entries' in r)
        for (const e of r.entries) {
          reply.outs.push(e.out);
          reply.lines.push(JSON.stringify(e));
        }
      else reply.failures.push(r.failure);
    }
    port.postMessage(reply);
  };
  port.on('message', (msg: WorkerRequest | { config: WorkerConfig }) => {
    if ('config' in msg) cfg = msg.config;
    else queue = queue.then(() => ('check' in msg ? check(msg) : build(msg)));
  });
}
