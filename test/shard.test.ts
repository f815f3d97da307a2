/** Shard flags and the stable shard hash (src/cluster/shard.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseShardFlags, shardOf, shardLabel } from '../src/cluster/shard.ts';
import { AugmentError } from '../src/errors.ts';

/** An AugmentError whose one-line message matches `re`. */
function oneLine(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof AugmentError, `expected an AugmentError, got ${String(e)}`);
    assert.equal(e.code, 'BAD_ARGUMENT');
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), `message is one line: ${e.message}`);
    return true;
  };
}

test('no flags: not sharded', () => {
  assert.equal(parseShardFlags({}, {}), null);
  assert.equal(parseShardFlags({ shard: '', shards: '' }, { JOB_COMPLETION_INDEX: '1' }), null);
});

test('--shard K/N is 0-based and ignores the environment', () => {
  assert.deepEqual(parseShardFlags({ shard: '0/3' }, {}), { index: 0, count: 3 });
  assert.deepEqual(parseShardFlags({ shard: '2/3' }, { JOB_COMPLETION_INDEX: '0' }), { index: 2, count: 3 });
  assert.deepEqual(parseShardFlags({ shard: '0/1' }, {}), { index: 0, count: 1 });
});

test('--shards N reads each scheduler variable', () => {
  assert.deepEqual(parseShardFlags({ shards: 4 }, { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
  assert.deepEqual(parseShardFlags({ shards: '4' }, { SLURM_ARRAY_TASK_ID: '2' }), { index: 2, count: 4 });
  assert.deepEqual(
    parseShardFlags({ shards: '4' }, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '5' }),
    { index: 2, count: 4 },
  );
  assert.deepEqual(parseShardFlags({ shards: 2 }, { AWS_BATCH_JOB_ARRAY_INDEX: '1' }), { index: 1, count: 2 });
  // Kubernetes wins over Slurm wins over AWS Batch when several are set.
  assert.deepEqual(
    parseShardFlags({ shards: 5 }, { JOB_COMPLETION_INDEX: '1', SLURM_ARRAY_TASK_ID: '2', AWS_BATCH_JOB_ARRAY_INDEX: '3' }),
    { index: 1, count: 5 },
  );
  assert.deepEqual(parseShardFlags({ shards: 5 }, { SLURM_ARRAY_TASK_ID: '2', AWS_BATCH_JOB_ARRAY_INDEX: '3' }), { index: 2, count: 5 });
});

test('bad flags are one-line errors naming the flag', () => {
  assert.throws(() => parseShardFlags({ shard: '3/3' }, {}), oneLine(/^--shard: shard index 3 is out of range for 3 shards/));
  assert.throws(() => parseShardFlags({ shard: 'a/b' }, {}), oneLine(/^--shard: expected K\/N .*"a\/b"/));
  assert.throws(() => parseShardFlags({ shard: '1' }, {}), oneLine(/^--shard: expected K\/N/));
  assert.throws(() => parseShardFlags({ shard: '0/0' }, {}), oneLine(/^--shard: /));
  assert.throws(() => parseShardFlags({ shard: '-1/3' }, {}), oneLine(/^--shard: /));
  assert.throws(() => parseShardFlags({ shards: 0 }, { JOB_COMPLETION_INDEX: '0' }), oneLine(/^--shards: .*at least 1 .*"0"/));
  assert.throws(() => parseShardFlags({ shards: 'x' }, { JOB_COMPLETION_INDEX: '0' }), oneLine(/^--shards: /));
  assert.throws(() => parseShardFlags({ shards: 2.5 }, { JOB_COMPLETION_INDEX: '0' }), oneLine(/^--shards: /));
  assert.throws(() => parseShardFlags({ shard: '0/2', shards: 2 }, {}), oneLine(/^--shard and --shards/));
});

test('--shards without a scheduler variable names the variables to set', () => {
  assert.throws(
    () => parseShardFlags({ shards: 3 }, {}),
    oneLine(/^--shards 3: no shard index .*JOB_COMPLETION_INDEX.*SLURM_ARRAY_TASK_ID.*AWS_BATCH_JOB_ARRAY_INDEX/),
  );
});

test('--shards with a bad or out-of-range scheduler index names the variable', () => {
  assert.throws(() => parseShardFlags({ shards: 3 }, { JOB_COMPLETION_INDEX: '3' }), oneLine(/JOB_COMPLETION_INDEX.*out of range for 3/));
  assert.throws(() => parseShardFlags({ shards: 3 }, { JOB_COMPLETION_INDEX: 'x' }), oneLine(/JOB_COMPLETION_INDEX/));
  assert.throws(() => parseShardFlags({ shards: 3 }, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '2' }), oneLine(/SLURM_ARRAY_TASK_ID.*below/));
  assert.throws(() => parseShardFlags({ shards: 3 }, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' }), oneLine(/SLURM_ARRAY_TASK_ID.*out of range/));
  assert.throws(() => parseShardFlags({ shards: 2 }, { AWS_BATCH_JOB_ARRAY_INDEX: '9' }), oneLine(/AWS_BATCH_JOB_ARRAY_INDEX.*out of range/));
});

test('shardOf: first 8 hex digits of sha256 modulo the count', () => {
  for (const id of ['train/apple/a.png', 'valid/banana/b-aug-1.png', 'ünïcode/ç.png', '']) {
    const expected = parseInt(createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 8), 16) % 7;
    assert.equal(shardOf(id, 7), expected);
  }
  assert.equal(shardOf('anything', 1), 0);
  assert.throws(() => shardOf('x', 0), RangeError);
});

test('shardOf: every shard gets a share, and adding items moves none of the old ones', () => {
  const ids = Array.from({ length: 300 }, (_, i) => `train/c${i % 5}/f${i}.png`);
  const before = new Map(ids.map((id) => [id, shardOf(id, 3)]));
  const sizes = [0, 0, 0];
  for (const s of before.values()) sizes[s]!++;
  for (const n of sizes) assert.ok(n > 60, `shard sizes ${sizes.join(',')}`);
  const more = [...ids, 'train/c0/new1.png', 'train/c9/new2.png'];
  for (const id of more) if (before.has(id)) assert.equal(shardOf(id, 3), before.get(id));
});

test('shardLabel', () => {
  assert.equal(shardLabel({ index: 1, count: 3 }), '1-of-3');
});

test('a temp file belongs to the shard of the output it becomes; an unknown temp file to none', async () => {
  const { outputOfPath, shardOwns } = await import('../src/cluster/parts.ts');
  assert.equal(outputOfPath('train/apple/a.aug1.png'), 'train/apple/a.aug1.png');
  assert.equal(outputOfPath('train/apple/.a.aug1.png.4242.3.tmp'), 'train/apple/a.aug1.png');
  assert.equal(outputOfPath('train/apple/x.tmp'), null);
  const out = 'valid/pear/p_7.png';
  const k = shardOf(out, 5);
  assert.ok(shardOwns({ index: k, count: 5 }, 'valid/pear/.p_7.png.1.1.tmp'));
  assert.ok(!shardOwns({ index: (k + 1) % 5, count: 5 }, 'valid/pear/.p_7.png.1.1.tmp'));
  for (let i = 0; i < 5; i++) assert.ok(!shardOwns({ index: i, count: 5 }, 'valid/pear/.odd.tmp'));
});

test("the build worker's temp names are the ones a shard recognises (src/variant/worker.ts)", async () => {
  const { readFile } = await import('node:fs/promises');
  const worker = await readFile(new URL('../src/variant/worker.ts', import.meta.url), 'utf8');
  assert.match(worker, /`\.\$\{[^`]+\}\.\$\{process\.pid\}\.\$\{threadId\}\.tmp`/, 'worker temp name: .<name>.<pid>.<thread>.tmp');
});
