/**
 * Decoding many images for the cache, either on a pool of worker threads
 * (./decode-worker.ts: read + hash + decode + resize there, pixels transferred back) or from
 * this thread (PNG inflate in JS here, sharp's resize on libuv's threads). docs/BENCHMARKS.md
 * ("Decode throughput") has the measurement that picks the default.
 *
 * The worker pool is kept for the process (its threads are unref'ed, so it never keeps the
 * process alive) and closed after a short idle time, so that the many small fills of one
 * evaluate (3 splits x every variant) start its threads once.
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { WorkerPool } from '../build/pool.ts';
import { AugmentError, type ErrorCode } from '../errors.ts';
import { decodeChunk } from './decode-image.ts';
import type { DecodeReply, DecodeRequest } from './decode-worker.ts';

export type DecodeWhere = 'workers' | 'main';

/** Fewer images than this are decoded on the main thread (starting threads costs more). */
export const WORKER_MIN_IMAGES = 64;
const CHUNK = 32;
const IDLE_CLOSE_MS = 2000;

/**
 * Decode threads: the available cores, at most the cgroup's CPU quota (containers see the
 * host's cores), at most 8; env AUGMENT_DECODE_THREADS overrides. The same rule as the wasm
 * backend's default threads (src/train/backend/wasm.ts).
 */
export function defaultDecodeThreads(): number {
  const env = Number(process.env.AUGMENT_DECODE_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(8, availableParallelism(), cgroupCpus() ?? Infinity));
}

function cgroupCpus(root = '/sys/fs/cgroup'): number | undefined {
  const read = (f: string) => {
    try {
      return readFileSync(join(root, f), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read('cpu.max');
  if (v2) {
    const [quota, period] = v2.split(/\s+/);
    const q = Number(quota);
    const p = Number(period);
    return quota !== 'max' && q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
  }
  const q = Number(read('cpu/cpu.cfs_quota_us'));
  const p = Number(read('cpu/cpu.cfs_period_us'));
  return q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
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

let shared: { pool: WorkerPool<DecodeRequest, DecodeReply>; threads: number; users: number; timer?: NodeJS.Timeout } | undefined;

function acquirePool(threads: number): WorkerPool<DecodeRequest, DecodeReply> {
  if (shared && shared.threads !== threads && shared.users === 0) {
    void shared.pool.close();
    shared = undefined;
  }
  if (!shared || shared.threads !== threads) {
    shared = { pool: new WorkerPool<DecodeRequest, DecodeReply>(new URL('./decode-worker-entry.mjs', import.meta.url), threads, null), threads, users: 0 };
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
  }, IDLE_CLOSE_MS);
  s.timer.unref();
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

/** Decodes `paths` to `imageSize` px RGB, reporting each result through the callbacks. */
export async function decodeFiles(paths: readonly string[], imageSize: number, o: DecodeFilesOptions): Promise<void> {
  if (o.where === 'main' || o.threads < 1) return decodeHere(paths, imageSize, o);
  const pool = acquirePool(o.threads);
  const rb = imageSize * imageSize * 3;
  try {
    const chunks: number[][] = [];
    for (let s = 0; s < paths.length; s += CHUNK) chunks.push(Array.from({ length: Math.min(CHUNK, paths.length - s) }, (_, k) => s + k));
    await Promise.all(
      chunks.map(async (idx) => {
        const rep = await pool.run({ imageSize, paths: idx.map((i) => paths[i]) }, o.signal);
        if (!rep) return; // aborted before it was sent
        const px = new Uint8Array(rep.pixels);
        let k = 0;
        rep.outcomes.forEach((r, j) => {
          if ('sha256' in r) o.onDecoded(idx[j], r.sha256, px.subarray(k * rb, ++k * rb));
          else o.onFailed(idx[j], new AugmentError(r.code as ErrorCode, r.error));
        });
      }),
    );
  } finally {
    releasePool(pool);
  }
}

async function decodeHere(paths: readonly string[], imageSize: number, o: DecodeFilesOptions): Promise<void> {
  const limit = pLimit(Math.max(1, o.threads));
  const chunks: number[][] = [];
  for (let s = 0; s < paths.length; s += CHUNK) chunks.push(Array.from({ length: Math.min(CHUNK, paths.length - s) }, (_, k) => s + k));
  await Promise.all(
    chunks.map((idx) =>
      limit(async () => {
        if (o.signal?.aborted) return;
        const got = await decodeChunk(
          idx.map((i) => paths[i]),
          imageSize,
        );
        got.forEach((r, j) => {
          if ('pixels' in r) o.onDecoded(idx[j], r.sha256, r.pixels);
          else o.onFailed(idx[j], new AugmentError(r.code as ErrorCode, r.error));
        });
      }),
    ),
  );
}
