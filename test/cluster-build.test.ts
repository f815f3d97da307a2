/**
 * Sharded builds on real files: `--shard K/N` shards plus `merge` give the tree a one-machine
 * build gives, byte for byte (manifest and variant.json included); shards run at once as
 * separate processes; a shard never removes another's files; a killed shard resumes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildVariant } from '../src/variant/build.ts';
import { mergeShards } from '../src/cluster/merge.ts';
import { shardOf } from '../src/cluster/shard.ts';
import { AugmentError } from '../src/errors.ts';
import { makeDataset, tempDir, removeDir, treeHashes } from './helpers/dataset.ts';

let root: string;
let src: string;

const recipeDoc = (extra: object = {}) => ({
  source: src,
  seed: 5,
  split: { ratios: [0.6, 0.2, 0.2], seed: 7 },
  oversample: { maxFactor: 4, target: 'largest' },
  ops: { sequence: [{ op: 'rotate', degrees: [0, 180] }, { op: 'colorJitter', brightness: 0.3, contrast: 0.3 }, { op: 'invert', p: 0.5 }] },
  ...extra,
});

async function writeRecipe(name: string, extra: object = {}): Promise<string> {
  const f = join(root, `${name}.yaml`);
  await writeFile(f, JSON.stringify(recipeDoc(extra)));
  return f;
}

/** Runs the CLI in a child process; resolves with its exit status and output. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const same = async (a: string, b: string) => assert.deepEqual([...(await treeHashes(a))], [...(await treeHashes(b))]);

before(async () => {
  root = await tempDir('augment-cluster-');
  src = join(root, 'src');
  await makeDataset(src, { apple: 16, banana: 6, cherry: 4 });
});
after(async () => removeDir(root));

test('3 shards + merge hash the same as one build, manifest and variant.json included', async () => {
  const recipe = await writeRecipe('r1');
  const one = await buildVariant(recipe, { out: join(root, 'v', 'one'), concurrency: 2 });
  const out = join(root, 'v', 'sharded');
  const made: number[] = [];
  for (const index of [2, 0, 1]) {
    const r = await buildVariant(recipe, { out, concurrency: index + 1, shard: { index, count: 3 } });
    assert.equal(r.shard?.planned, r.written);
    made.push(r.written);
    assert.ok(!existsSync(join(out, 'manifest.jsonl')) && !existsSync(join(out, 'variant.json')), 'a shard writes only its part');
  }
  assert.equal(made.reduce((a, b) => a + b, 0), one.written, 'the shards together make every output once');
  assert.ok(made.every((n) => n > 0), `every shard has work: ${made.join(', ')}`);
  // each part holds exactly the outputs that hash to its shard
  for (let k = 0; k < 3; k++) {
    const lines = (await readFile(join(out, '.shards', `manifest.${k}-of-3.jsonl`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.every((e) => shardOf(e.out, 3) === k));
  }
  const m = await mergeShards(out);
  assert.deepEqual({ shards: m.shards, files: m.files, alreadyMerged: m.alreadyMerged }, { shards: 3, files: one.written, alreadyMerged: false });
  await same(out, one.variantDir);
  assert.ok(!existsSync(join(out, '.shards')), 'the merge leaves no shard files');
  assert.equal((await mergeShards(out)).alreadyMerged, true, 'merging again is a no-op');
  await same(out, one.variantDir);
  // a sharded rebuild of a merged tree reuses every file
  const again = await buildVariant(recipe, { out, shard: { index: 1, count: 3 } });
  assert.equal(again.written, 0);
  assert.ok(again.unchanged > 0);
});

test('merge names the shards that have not finished, in one line', async () => {
  const recipe = await writeRecipe('r2');
  const out = join(root, 'v', 'partial');
  await buildVariant(recipe, { out, shard: { index: 1, count: 4 } });
  await assert.rejects(mergeShards(out), (e: unknown) => {
    assert.ok(e instanceof AugmentError);
    assert.equal(e.code, 'NOT_FOUND');
    assert.match(e.message, /3 of 4 shards not finished \(shard 0, 2, 3\)/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  await assert.rejects(mergeShards(join(root, 'v', 'nothing-here')), (e: unknown) => e instanceof AugmentError && e.code === 'NOT_FOUND' && /no \.shards\/ folder/.test(e.message));
  await writeFile(join(root, 'a-file'), 'x');
  await assert.rejects(mergeShards(join(root, 'a-file')), (e: unknown) => e instanceof AugmentError && e.code === 'NOT_FOUND');
});

test('shards built from different recipes are refused by the merge', async () => {
  const out = join(root, 'v', 'mixed');
  await buildVariant(await writeRecipe('r3'), { out, shard: { index: 0, count: 2 } });
  await buildVariant(await writeRecipe('r3', { seed: 6 }), { out, shard: { index: 1, count: 2 } });
  await assert.rejects(mergeShards(out), (e: unknown) => e instanceof AugmentError && e.code === 'BAD_DATASET' && /shard 1\/2 was built from another plan/.test(e.message));
});

test('a shard removes only its own stale files; the shards of a smaller recipe + merge equal its one build', async () => {
  const big = await writeRecipe('r4');
  const small = await writeRecipe('r4s', { oversample: { maxFactor: 2, target: 'largest' } });
  const out = join(root, 'v', 'shrink');
  await buildVariant(big, { out, concurrency: 2 });
  const bigFiles = [...(await treeHashes(out, '{train,valid,test}/**')).keys()];
  const r0 = await buildVariant(small, { out, shard: { index: 0, count: 3 } });
  assert.ok(r0.removed > 0, 'shard 0 removed its stale copies');
  const left = new Set((await treeHashes(out, '{train,valid,test}/**')).keys());
  for (const f of bigFiles) if (shardOf(f, 3) !== 0) assert.ok(left.has(f), `${f} belongs to another shard and was kept`);
  await buildVariant(small, { out, shard: { index: 1, count: 3 } });
  await buildVariant(small, { out, shard: { index: 2, count: 3 } });
  await mergeShards(out);
  const one = await buildVariant(small, { out: join(root, 'v', 'shrink-one') });
  await same(out, one.variantDir);
});

test('three shard processes at once (--shards 3 and the scheduler variables) + augment merge = one build', async () => {
  const fresh = join(root, 'fresh'); // a new variants root: the split file is written by the shards at once
  const recipe = await writeRecipe('r5');
  const out = join(fresh, 'sharded');
  const envs = [{ JOB_COMPLETION_INDEX: '0' }, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '3' }, { AWS_BATCH_JOB_ARRAY_INDEX: '2' }];
  const runs = await Promise.all(envs.map((env) => cli(['build', recipe, '--out', out, '--shards', '3', '-j', '1'], env)));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.ok(runs.every((r) => /Shard \d\/3: \d+ of the variant's outputs/.test(r.stdout)));
  assert.deepEqual((await readdir(join(out, '.shards'))).filter((n) => n.startsWith('done.')).sort(), ['done.0-of-3.json', 'done.1-of-3.json', 'done.2-of-3.json']);
  const m = await cli(['merge', out]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^Merged 3 shards into /);
  const one = await buildVariant(recipe, { out: join(fresh, 'one') });
  await same(out, one.variantDir);
});

test('a killed shard, run again, resumes and the merge is still byte-identical', async () => {
  const bigSrc = join(root, 'bigsrc');
  await makeDataset(bigSrc, { a: 60, b: 20, c: 8 }, 40);
  const recipe = await writeRecipe('r6', { source: bigSrc, oversample: { maxFactor: 5, target: 'largest' } });
  const out = join(root, 'v', 'killed');
  const part = join(out, '.shards', 'manifest.1-of-2.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'build', recipe, '--out', out, '--shard', '1/2', '-j', '1'], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
  let running = true;
  void exited.then(() => (running = false));
  const lines = () => readFile(part, 'utf8').then((t) => t.split('\n').filter((l) => l.trim()).length, () => 0);
  while (running && (await lines()) < 1) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  const killed = (await exited) === 'SIGKILL';
  assert.ok(!existsSync(join(out, '.shards', 'done.1-of-2.json')) || !killed, 'a killed shard is not marked finished');
  if (killed) await assert.rejects(mergeShards(out), (e: unknown) => e instanceof AugmentError && /shard 0, 1\)/.test(e.message));
  const resumed = await buildVariant(recipe, { out, shard: { index: 1, count: 2 } });
  if (killed) assert.ok(resumed.unchanged > 0, 'the resumed shard kept its finished files');
  await buildVariant(recipe, { out, shard: { index: 0, count: 2 } });
  await mergeShards(out);
  const one = await buildVariant(recipe, { out: join(root, 'v', 'killed-one') });
  await same(out, one.variantDir);
});

test('--prepare scans and splits once, writing nothing into the variant folder; the shards then reuse the split', async () => {
  const fresh = join(root, 'prep');
  const recipe = await writeRecipe('r7');
  const out = join(fresh, 'v');
  const p = await buildVariant(recipe, { out, prepare: true });
  assert.equal(p.prepared, true);
  assert.equal(p.splitReused, false);
  assert.ok(!existsSync(out), 'nothing in the variant folder');
  assert.ok(existsSync(p.splitFile));
  assert.deepEqual(await readdir(join(fresh, '.cache')).then((n) => n.filter((f) => f.startsWith('scan-')).length), 1, 'the decode-check cache is filled');
  const r = await buildVariant(recipe, { out, shard: { index: 0, count: 2 } });
  assert.equal(r.splitReused, true);
  assert.equal(r.splitFile, p.splitFile);
});
