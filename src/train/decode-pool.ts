/**
 * Decoding many images for the cache: on a pool of worker threads (./decode-worker.ts: read +
 * sha256 + decode + resize there, pixels transferred back) and/or on this thread (PNG inflate
 * in JS here, sharp's resize on libuv's threads). docs/BENCHMARKS.md ("Decode throughput") has
 * the measurements behind the choices:
 *
 * - Once started, N worker threads decode ~2x faster than this thread (the JS inflate is the
 *   bottleneck here: this thread is ~90% busy; CPU per image is about the same).
 * - Starting them costs seconds (each thread loads sharp; under tsx it also compiles its
 *   TypeScript). So `workers` starts the threads and this thread decodes meanwhile, taking
 *   chunks from the same queue until the first thread is ready; `auto` (data.ts) asks for
 *   workers only for fills large enough to repay the start (WORKER_MIN_IMAGES).
 *
 * The worker pool is kept for the process (its threads are unref'ed, so it never keeps the
 * process alive) and closed after a short idle time, so that successive fills start it once.
 * A worker that cannot start or dies hands its work back to this thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { WorkerPool } from '../variant/pool.ts';
import { AugmentError, type ErrorCode } from '../errors.ts';
import { decodeChunk } from './decode-image.ts';
import type { DecodeReply, DecodeRequest } from './decode-worker.ts';
import { cgroupCpuLimit } from '../cpus.ts';

export type DecodeWhere = 'workers' | 'main';

const ENTRY = new URL('./decode-worker-entry.mjs', import.meta.url);
/** Whether the workers run compiled JavaScript (a package build) rather than TypeScript through tsx. */
const COMPILED = existsSync(new URL('./decode-worker.js', import.meta.url));
/**
 * `auto` starts worker threads only for at least this many images to decode. Measured on the
 * shared 2-core machine (docs/BENCHMARKS.md, "Decode throughput"): started threads decode
 * ~2x faster than this thread (~0.34 ms less per image), but starting them costs ~2 s compiled
 * and ~4 s under tsx, plus the CPU they take from this thread meanwhile; a whole fill of the
 * 5,607-image sample was slower with them, both ways. So: from ~8k images compiled, ~16k
 * under tsx (the start divided by the gain per image, rounded up).
 */
export const WORKER_MIN_IMAGES = COMPILED ? 8192 : 16384;
const CHUNK = 32;
let idleCloseMs = 2000;

/**
 * Decode threads: the available cores, at most the cgroup's CPU quota (containers see the
 * host's cores), at most 8; env AUGMENT_DECODE_THREADS overrides. The same rule as the wasm
 * backend's default threads (src/train/backend/wasm.ts).
 */
export function defaultDecodeThreads(): number {
  const env = Number(process.env.AUGMENT_DECODE_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(8, availableParallelism(), cgroupCpuLimit() ?? Infinity));
}

export interface DecodeFilesOptions {
  where: DecodeWhere;
  threads: number;
  /** Each success, as it comes (the pixels are the caller's). */
  onDecoded: (index: number, sha256: string, pixels: Uint8Array) => void;
  /** Each failure (an AugmentError naming the file); decoding goes on with the other files. */
  onFailed: (index: number, error: AugmentError) => void;
  signal?: AbortSignal;
}

/** The process's pool; `ready`: threads known started (a pool with all of them ready needs no help from this thread). */
let shared: { pool: WorkerPool<DecodeRequest, DecodeReply>; threads: number; users: number; ready: number; timer?: NodeJS.Timeout } | undefined;

function acquirePool(threads: number): WorkerPool<DecodeRequest, DecodeReply> {
  if (shared && shared.threads !== threads && shared.users === 0) {
    clearTimeout(shared.timer);
    void shared.pool.close();
    shared = undefined;
  }
  if (!shared || shared.threads !== threads) {
    shared = { pool: new WorkerPool<DecodeRequest, DecodeReply>(ENTRY, threads, null), threads, users: 0, ready: 0 };
  }
  clearTimeout(shared.timer);
  shared.users++;
  return shared.pool;
}

function releasePool(pool: WorkerPool<DecodeRequest, DecodeReply>): void {
  const s = shared;
  if (!s || s.pool !== pool) {
    void pool.close();
    return;
  }
  if (--s.users > 0) return;
  s.timer = setTimeout(() => {
    if (shared === s && s.users === 0) {
      shared = undefined;
      void s.pool.close();
    }
  }, idleCloseMs);
  s.timer.unref();
}

/** How long the shared worker pool stays up between fills (default 2 s; benchmarks keep it longer). */
export function setDecodePoolIdleMs(ms: number): void {
  idleCloseMs = ms;
}

/**
 * Starts the worker pool's threads and waits until they are ready (a caller that knows it
 * will decode, e.g. while it does something else first). False when they cannot start.
 */
export async function startDecodePool(threads = defaultDecodeThreads()): Promise<boolean> {
  if (workerFailure) return false;
  const s = (acquirePool(threads), shared!);
  try {
    await Promise.all(Array.from({ length: threads }, () => s.pool.run({ imageSize: 1, paths: [] })));
    s.ready = threads;
    return true;
  } catch (e) {
    workerFailure ??= e instanceof Error ? e : new Error(String(e));
    return false;
  } finally {
    releasePool(s.pool);
  }
}

/** Closes the shared worker pool now (tests, benchmarks). */
export async function closeDecodePool(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) {
    clearTimeout(s.timer);
    await s.pool.close();
  }
}

let workerFailure: Error | undefined;

/** Why the decode workers could not run in this process (then decoding runs on this thread), or undefined. */
export function decodeWorkerFailure(): string | undefined {
  return workerFailure?.message;
}

/** How many images each side decoded. */
export interface DecodeSplit {
  workers: number;
  here: number;
}

/** Decodes `paths` to `imageSize` px RGB, reporting each result through the callbacks. */
export async function decodeFiles(paths: readonly string[], imageSize: number, o: DecodeFilesOptions): Promise<DecodeSplit> {
  const split: DecodeSplit = { workers: 0, here: 0 };
  if (o.where === 'main' || o.threads < 1 || workerFailure) {
    await decodeHere(paths, imageSize, o);
    return { workers: 0, here: paths.length };
  }
  const chunks = chunksOf(paths.length);
  if (chunks.length === 0) return split;
  const pool = acquirePool(o.threads);
  const warm = shared!.ready >= o.threads;
  const rb = imageSize * imageSize * 3;
  let next = 0;
  let finished = 0;
  let workersReady = 0;
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // awaited below unless aborted; never an unhandled rejection
  const take = (): number[] | undefined => (o.signal?.aborted ? undefined : chunks[next++]);
  const finish = () => {
    if (++finished === chunks.length) settle.resolve();
  };
  const here = async (idx: number[]) => {
    await decodeHereChunk(paths, idx, imageSize, o);
    split.here += idx.length;
    finish();
  };
  // this thread: until the first worker is ready (or for good, when they cannot start)
  const mainLane = async () => {
    for (let idx = take(); idx; idx = workersReady > 0 && !workerFailure ? undefined : take()) await here(idx);
  };
  const workerLane = async () => {
    try {
      await pool.run({ imageSize, paths: [] }); // started and ready
    } catch (e) {
      workerFailure ??= e instanceof Error ? e : new Error(String(e));
      return;
    }
    workersReady++;
    if (shared?.pool === pool) shared.ready = Math.max(shared.ready, workersReady);
    for (let idx = take(); idx; idx = take()) {
      let rep: DecodeReply | null = null;
      try {
        rep = await pool.run({ imageSize, paths: idx.map((i) => paths[i]) }, o.signal);
      } catch (e) {
        // a worker that died: this thread does the chunk; the other lanes go on
        workerFailure ??= e instanceof Error ? e : new Error(String(e));
        await here(idx);
        return mainLane();
      }
      if (!rep) return; // aborted before it was sent
      const px = new Uint8Array(rep.pixels);
      let k = 0;
      rep.outcomes.forEach((r, j) => {
        if ('sha256' in r) o.onDecoded(idx[j], r.sha256, px.subarray(k * rb, ++k * rb));
        else o.onFailed(idx[j], new AugmentError(r.code as ErrorCode, r.error));
      });
      split.workers += idx.length;
      finish();
    }
  };
  const lanes = [...(warm ? [] : [mainLane()]), ...Array.from({ length: o.threads }, () => workerLane())];
  // a lane that fails fails the whole; lanes still waiting for a thread to start are not waited for
  for (const l of lanes) l.catch((e) => settle.reject(e));
  try {
    await Promise.race([done, Promise.all(lanes).then(() => (o.signal?.aborted || next >= chunks.length ? undefined : mainLane()))]);
    if (o.signal?.aborted) await Promise.allSettled(lanes);
    else await done;
  } finally {
    releasePool(pool);
  }
  return split;
}

function chunksOf(n: number): number[][] {
  const chunks: number[][] = [];
  for (let s = 0; s < n; s += CHUNK) chunks.push(Array.from({ length: Math.min(CHUNK, n - s) }, (_, k) => s + k));
  return chunks;
}

async function decodeHereChunk(paths: readonly string[], idx: number[], imageSize: number, o: DecodeFilesOptions): Promise<void> {
  if (o.signal?.aborted) return;
  const got = await decodeChunk(
    idx.map((i) => paths[i]),
    imageSize,
  );
  got.forEach((r, j) => {
    if ('pixels' in r) o.onDecoded(idx[j], r.sha256, r.pixels);
    else o.onFailed(idx[j], new AugmentError(r.code as ErrorCode, r.error));
  });
}

async function decodeHere(paths: readonly string[], imageSize: number, o: DecodeFilesOptions): Promise<void> {
  const limit = pLimit(Math.max(1, o.threads));
  await Promise.all(chunksOf(paths.length).map((idx) => limit(() => decodeHereChunk(paths, idx, imageSize, o))));
}
