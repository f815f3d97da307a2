/**
 * Sharded evaluate on real tiny training runs (wasm): two shards train their units into one
 * run folder, the merge ranks them, and the numbers equal a one-process run's; a merge with a
 * shard missing names the missing units (library and CLI, one line).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { shardOf } from '../src/cluster/shard.ts';
import { AugmentError } from '../src/errors.ts';
import { evaluate, gridUnits, mergeEvaluate, type EvaluateOptions } from '../src/train/evaluate.ts';
import { unitIdentity } from '../src/train/units.ts';
import { tempDir, useWasm, writeVariant } from './helpers/variants.ts';
import { tinyEvaluateOptions } from './helpers/tiny-model.ts';

const run = promisify(execFile);
let root: string;
let variantsRoot: string;

const RATES = { trainImagesPerSecond: 100, evalImagesPerSecond: 1000, decodeSecondsPerImage: 0.001 };

const base = (o: Partial<EvaluateOptions>): EvaluateOptions => tinyEvaluateOptions({ variantsRoot, cacheDir: join(root, 'cache'), rates: RATES }, o, { epochs: 2 });

before(async () => {
  await useWasm();
  root = await tempDir('augment-shard-');
  variantsRoot = join(root, 'variants');
  await writeVariant(variantsRoot, 'many', { train: 10, valid: 5, test: 5, size: 12 });
  await writeVariant(variantsRoot, 'few', { train: 2, valid: 5, test: 5, size: 12 });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('two shards + merge give the one-process leaderboard and runs', async () => {
  const one = await evaluate(base({ runDir: join(root, 'runs', 'one') }));
  const shared = join(root, 'runs', 'sharded');
  const s0 = await evaluate(base({ runDir: shared, shard: { index: 0, count: 2 } }));
  const s1 = await evaluate(base({ runDir: shared, shard: { index: 1, count: 2 } }));
  // the shards split the 4 units by the stable hash, every unit once
  const all = gridUnits(['few', 'many'], { seeds: 2, epochs: 2 }).map(unitIdentity).sort();
  assert.deepEqual([...s0.shard!.units, ...s1.shard!.units].sort(), all);
  for (const id of s0.shard!.units) assert.equal(shardOf(id, 2), 0);
  assert.equal(s0.leaderboard.length, 0, 'a shard ranks nothing');
  await assert.rejects(stat(join(shared, 'metrics.json')), /ENOENT/);

  const merged = await mergeEvaluate({ runDir: shared, charts: true });
  const key = (r: { variant: string; seed: number }) => `${r.variant}/${r.seed}`;
  const pick = (rs: typeof one.runs) =>
    [...rs].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((r) => [key(r), r.testMacroF1, r.validMacroF1, r.bestEpoch, r.testConfusion]);
  assert.deepEqual(pick(merged.runs), pick(one.runs));
  assert.deepEqual(
    merged.leaderboard.map((l) => [l.variant, l.rank, l.status, l.meanTestMacroF1, l.testMacroF1CI]),
    one.leaderboard.map((l) => [l.variant, l.rank, l.status, l.meanTestMacroF1, l.testMacroF1CI]),
  );
  const metrics = JSON.parse(await readFile(join(shared, 'metrics.json'), 'utf8'));
  assert.equal(metrics.leaderboard.length, 2);
  const csv = (await readFile(join(shared, 'epochs.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 1 + 4 * 2, 'curves from every unit');
  for (const f of ['curves.png', 'confusion-many.png', 'confusion-few.png']) await stat(join(shared, f));
});

test('a merge with a shard missing names the missing units and their shard', async () => {
  const dir = join(root, 'runs', 'half');
  const s1 = await evaluate(base({ runDir: dir, shard: { index: 1, count: 2 } }));
  const missing = gridUnits(['few', 'many'], { seeds: 2, epochs: 2 })
    .map(unitIdentity)
    .filter((id) => !s1.shard!.units.includes(id));
  assert.ok(missing.length > 0);
  await assert.rejects(
    mergeEvaluate({ runDir: dir }),
    (e: unknown) => e instanceof AugmentError && e.code === 'NOT_FOUND' && missing.every((m) => e.message.includes(m)) && e.message.includes('shard 0/2') && !e.message.includes('\n'),
  );
  // a shard joining with other settings is refused
  await assert.rejects(evaluate(base({ runDir: dir, shard: { index: 0, count: 2 }, settings: { epochs: 3 } })), /--epochs 3 differs from the run in the shared folder/);
  const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
  const p = await run(process.execPath, ['--import', 'tsx', cli, 'evaluate', '--merge', '--run', dir]).then(
    () => null,
    (e) => e as { code: number; stderr: string },
  );
  assert.ok(p);
  assert.notEqual(p.code, 0);
  assert.match(p.stderr, new RegExp(`^augment: --merge: ${missing.length} of 4 unit\\(s\\) not finished in .*${missing[0]}.*\\n$`));
});
