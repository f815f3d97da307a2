/**
 * Shards: which share of a job this process does, and which share an item belongs to.
 *
 * A scheduler (Slurm array, Kubernetes Indexed Job, AWS Batch array) starts N copies of one
 * command and gives each its index in an environment variable. `parseShardFlags` turns
 * `--shard K/N` (0-based) or `--shards N` plus that variable into `{ index, count }`;
 * `shardOf` puts an item in a shard by a stable hash of its identity (an output path, a
 * (variant, seed) unit), so the split never depends on listing order or on the machine, and
 * adding one item moves only that item.
 */
import { createHash } from 'node:crypto';
import { AugmentError } from '../errors.ts';

export interface Shard {
  /** 0-based index of this shard. */
  index: number;
  /** How many shards the work is split into (>= 1). */
  count: number;
}

/** The environment variables a scheduler sets, in the order they are read. */
export const SHARD_INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const;

const NON_NEGATIVE = /^\d+$/;

function parseCount(flag: string, raw: string): number {
  const n = Number(raw);
  if (!NON_NEGATIVE.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    throw new AugmentError('BAD_ARGUMENT', `${flag}: expected a whole number of shards of at least 1 but received ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseIndex(where: string, raw: string, count: number): number {
  const n = Number(raw);
  if (!NON_NEGATIVE.test(raw) || !Number.isSafeInteger(n)) {
    throw new AugmentError('BAD_ARGUMENT', `${where}: expected a shard index from 0 to ${count - 1} but received ${JSON.stringify(raw)}`);
  }
  if (n >= count) {
    throw new AugmentError('BAD_ARGUMENT', `${where}: shard index ${n} is out of range for ${count} shards (0-based: 0 to ${count - 1})`);
  }
  return n;
}

/** Reads this task's index from the scheduler's environment variable, or explains which to set. */
function indexFromEnv(count: number, env: NodeJS.ProcessEnv): number {
  const k8s = env.JOB_COMPLETION_INDEX?.trim();
  if (k8s) return parseIndex('--shards (JOB_COMPLETION_INDEX)', k8s, count);
  const slurm = env.SLURM_ARRAY_TASK_ID?.trim();
  if (slurm) {
    const minRaw = env.SLURM_ARRAY_TASK_MIN?.trim() || '0';
    if (!NON_NEGATIVE.test(slurm) || !NON_NEGATIVE.test(minRaw)) {
      throw new AugmentError(
        'BAD_ARGUMENT',
        `--shards (SLURM_ARRAY_TASK_ID): expected whole numbers but received SLURM_ARRAY_TASK_ID=${JSON.stringify(slurm)} SLURM_ARRAY_TASK_MIN=${JSON.stringify(minRaw)}`,
      );
    }
    const idx = Number(slurm) - Number(minRaw);
    if (idx < 0) {
      throw new AugmentError('BAD_ARGUMENT', `--shards (SLURM_ARRAY_TASK_ID): task ${slurm} is below SLURM_ARRAY_TASK_MIN=${minRaw}`);
    }
    return parseIndex('--shards (SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN)', String(idx), count);
  }
  const aws = env.AWS_BATCH_JOB_ARRAY_INDEX?.trim();
  if (aws) return parseIndex('--shards (AWS_BATCH_JOB_ARRAY_INDEX)', aws, count);
  throw new AugmentError(
    'BAD_ARGUMENT',
    `--shards ${count}: no shard index in the environment (set JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX, or give --shard K/${count})`,
  );
}

/**
 * `--shard K/N` (0-based) or `--shards N` (K from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID
 * minus SLURM_ARRAY_TASK_MIN, or AWS_BATCH_JOB_ARRAY_INDEX). Returns null when neither flag
 * is given. Throws a one-line AugmentError naming the flag for anything else.
 *
 * @example parseShardFlags({ shard: '1/3' })            // { index: 1, count: 3 }
 * @example parseShardFlags({ shards: 4 }, { JOB_COMPLETION_INDEX: '2' }) // { index: 2, count: 4 }
 */
export function parseShardFlags(
  flags: { shard?: string; shards?: string | number },
  env: NodeJS.ProcessEnv = process.env,
): Shard | null {
  const shard = flags.shard;
  const shards = flags.shards;
  const hasShard = shard !== undefined && shard !== null && String(shard) !== '';
  const hasShards = shards !== undefined && shards !== null && String(shards) !== '';
  if (!hasShard && !hasShards) return null;
  if (hasShard && hasShards) {
    throw new AugmentError('BAD_ARGUMENT', '--shard and --shards: give one of them (--shard K/N, or --shards N with the index from the scheduler)');
  }
  if (hasShard) {
    const raw = String(shard).trim();
    const m = /^([^/]*)\/([^/]*)$/.exec(raw);
    if (!m) {
      throw new AugmentError('BAD_ARGUMENT', `--shard: expected K/N (0-based shard K of N, e.g. 0/3) but received ${JSON.stringify(raw)}`);
    }
    const countRaw = m[2]!.trim();
    const indexRaw = m[1]!.trim();
    if (!NON_NEGATIVE.test(countRaw) || !NON_NEGATIVE.test(indexRaw) || Number(countRaw) < 1) {
      throw new AugmentError('BAD_ARGUMENT', `--shard: expected K/N with whole numbers, N >= 1 and 0 <= K < N but received ${JSON.stringify(raw)}`);
    }
    const count = Number(countRaw);
    const index = parseIndex('--shard', indexRaw, count);
    return { index, count };
  }
  const count = parseCount('--shards', String(shards).trim());
  return { index: indexFromEnv(count, env), count };
}

/**
 * Which of `count` shards an item belongs to: the first 8 hex digits of the sha256 of its
 * identity, modulo count. Stable across machines, Node versions and listing order.
 */
export function shardOf(identity: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`shardOf: count must be a whole number >= 1, got ${count}`);
  if (count === 1) return 0;
  const h = createHash('sha256').update(identity, 'utf8').digest('hex');
  return parseInt(h.slice(0, 8), 16) % count;
}

/** `K-of-N`, the label used in file names (`manifest.K-of-N.jsonl`) and messages. */
export function shardLabel(s: Shard): string {
  return `${s.index}-of-${s.count}`;
}
