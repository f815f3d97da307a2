/**
 * Exit codes a scheduler can act on, one child process per case: 0 done, 2 the user's mistake
 * (do not retry), 75 retryable (SIGTERM, I/O error: run again, it resumes), 130 Ctrl-C.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildVariant } from '../src/variant/build.ts';
import { describeFailure, EXIT } from '../src/errors.ts';
import { AugmentError } from '../src/errors.ts';
import { makeDataset, tempDir, removeDir, treeHashes } from './helpers/dataset.ts';

let root: string;
let recipe: string;
const SCHEDULER_VARS = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_MIN', 'AWS_BATCH_JOB_ARRAY_INDEX'];

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of SCHEDULER_VARS) delete env[v];
  return { ...env, ...extra };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function augment(args: string[], o: { env?: NodeJS.ProcessEnv; preload?: string } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...(o.preload ? ['--import', o.preload] : []), 'src/cli.ts', ...args], {
    env: childEnv(o.env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<Exit>((r) => child.once('exit', (code, signal) => r({ code, signal, stderr })));
  return { child, exited };
}

const run = (args: string[], o?: { env?: NodeJS.ProcessEnv; preload?: string }) => augment(args, o).exited;

/** One error line on stderr (progress lines aside), starting `augment: `, no stack trace. */
function oneLine(e: Exit, re: RegExp): void {
  const lines = e.stderr.trim().split('\n').filter((l) => !/^build .*: \d+\/\d+ files/.test(l));
  assert.equal(lines.length, 1, `one line on stderr: ${e.stderr}`);
  assert.match(lines[0]!, /^augment: /);
  assert.match(lines[0]!, re);
  assert.ok(!/\n\s+at /.test(e.stderr), 'no stack trace');
}

/** Starts a build, sends `signal` once its journal has a finished file, and returns how it exited. */
async function signalMidBuild(out: string, signal: NodeJS.Signals): Promise<Exit> {
  const { child, exited } = augment(['build', recipe, '--out', out, '-j', '1']);
  let running = true;
  void exited.then(() => (running = false));
  const journalled = () => readFile(join(out, 'manifest.jsonl'), 'utf8').then((t) => t.split('\n').filter((l) => l.trim()).length, () => 0);
  while (running && (await journalled()) < 1) await new Promise((r) => setTimeout(r, 20));
  child.kill(signal);
  return exited;
}

before(async () => {
  root = await tempDir('augment-exit-');
  const src = join(root, 'src');
  await makeDataset(src, { a: 60, b: 16, c: 8 }, 40);
  recipe = join(root, 'r.yaml');
  await writeFile(
    recipe,
    JSON.stringify({ source: src, seed: 1, split: { ratios: [0.6, 0.2, 0.2], seed: 1 }, oversample: { maxFactor: 6, target: 'largest' }, ops: { sequence: [{ op: 'rotate', degrees: [0, 90] }] } }),
  );
});
after(async () => removeDir(root));

test('exit 0: a build that succeeds', async () => {
  const e = await run(['build', recipe, '--out', join(root, 'v', 'ok'), '-j', '2']);
  assert.equal(e.code, EXIT.OK, e.stderr);
});

test('exit 2: an unknown flag or command (the usage is wrong: do not retry)', async () => {
  const e = await run(['build', recipe, '--bogus-flag']);
  assert.equal(e.code, EXIT.FATAL);
  oneLine(e, /Unknown argument.*bogus-flag/);
  assert.equal((await run(['no-such-command'])).code, EXIT.FATAL);
});

test('exit 2: a bad recipe, one line naming the file', async () => {
  const bad = join(root, 'bad.yaml');
  await writeFile(bad, 'source: x\noversample: { maxFactor: -3 }\n');
  const e = await run(['build', bad, '--out', join(root, 'v', 'bad')]);
  assert.equal(e.code, EXIT.FATAL);
  oneLine(e, /bad\.yaml/);
});

test('exit 2: bad shard flags, one line naming the flag', async () => {
  const out = join(root, 'v', 'flags');
  const cases: Array<[string[], RegExp]> = [
    [['--shard', '3/3'], /^augment: --shard: shard index 3 is out of range for 3 shards/],
    [['--shard', 'a/b'], /^augment: --shard: expected K\/N/],
    [['--shards', '0'], /^augment: --shards: expected a whole number of shards of at least 1/],
    [['--shards', '3'], /^augment: --shards 3: no shard index in the environment \(set JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX/],
  ];
  for (const [flags, re] of cases) {
    const e = await run(['build', recipe, '--out', out, ...flags]);
    assert.equal(e.code, EXIT.FATAL, `${flags.join(' ')}: ${e.stderr}`);
    oneLine(e, re);
  }
  const k8s = await run(['build', recipe, '--out', out, '--shards', '3'], { env: { JOB_COMPLETION_INDEX: '5' } });
  assert.equal(k8s.code, EXIT.FATAL);
  oneLine(k8s, /JOB_COMPLETION_INDEX.*out of range for 3 shards/);
});

test('exit 2: merging before every shard finished names the missing shards', async () => {
  const out = join(root, 'v', 'merge');
  assert.equal((await run(['build', recipe, '--out', out, '--shard', '0/3', '-j', '2'])).code, EXIT.OK);
  const e = await run(['merge', out]);
  assert.equal(e.code, EXIT.FATAL);
  oneLine(e, /2 of 3 shards not finished \(shard 1, 2\)/);
});

test('exit 75: SIGTERM (a scheduler preempting the task) stops cleanly; the same command resumes', async () => {
  const out = join(root, 'v', 'term');
  const e = await signalMidBuild(out, 'SIGTERM');
  if (e.code === EXIT.OK) return void assert.ok(true, 'the build finished before the signal landed');
  assert.equal(e.code, EXIT.RETRYABLE, e.stderr);
  oneLine(e, /terminated after \d+ of \d+ files; run the same command again to resume/);
  const journal = await readFile(join(out, 'manifest.jsonl'), 'utf8');
  const resumed = await buildVariant(recipe, { out, concurrency: 2 });
  assert.ok(resumed.unchanged > 0, `finished files were kept (journal: ${journal.split('\n').length - 1} lines; resumed: ${resumed.written} written, ${resumed.unchanged} kept; child: ${e.stderr})`);
  const clean = await buildVariant(recipe, { out: join(root, 'v', 'term-clean'), concurrency: 2 });
  assert.deepEqual([...(await treeHashes(out))], [...(await treeHashes(clean.variantDir))]);
});

test('exit 75: SIGTERM during evaluate (it stops like Ctrl-C, but tells the scheduler to retry)', async () => {
  const variant = join(root, 'v', 'ok'); // built by the first test
  const runDir = join(root, 'runs', 'term');
  const { child, exited } = augment(['evaluate', variant, '--run', runDir, '--cache', join(root, 'cache'), '--model', 'resnet18', '--width', '0.125', '--image-size', '16', '--epochs', '50', '--seeds', '1', '--backend', 'wasm', '--threads', '1', '--no-report']);
  let running = true;
  void exited.then(() => (running = false));
  const { existsSync } = await import('node:fs');
  while (running && !existsSync(join(runDir, 'config.json'))) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const e = await exited;
  assert.equal(e.code, EXIT.RETRYABLE, e.stderr);
});

test('exit 130: Ctrl-C (SIGINT)', async () => {
  const e = await signalMidBuild(join(root, 'v', 'int'), 'SIGINT');
  if (e.code === EXIT.OK) return void assert.ok(true, 'the build finished before the signal landed');
  assert.equal(e.code, EXIT.INTERRUPTED, e.stderr);
  oneLine(e, /interrupted after \d+ of \d+ files/);
});

test('exit 75: an I/O error (EIO from the file system) is retryable, in one line', async () => {
  const preload = new URL('./helpers/cluster-fail-io.mjs', import.meta.url).href;
  const e = await run(['build', recipe, '--out', join(root, 'v', 'eio'), '-j', '1'], { preload });
  assert.equal(e.code, EXIT.RETRYABLE, e.stderr);
  oneLine(e, /EIO: i\/o error, open .*manifest\.jsonl.*run the same command again/);
});

test('describeFailure: which errors are retryable', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: failed`), { code });
  for (const c of ['EIO', 'ENOSPC', 'ETIMEDOUT', 'ESTALE', 'ERR_WORKER_OUT_OF_MEMORY']) assert.equal(describeFailure(errno(c)).exitCode, 75, c);
  assert.equal(describeFailure(new Error('wrapped', { cause: errno('ENOSPC') })).exitCode, 75, 'a cause chain is followed');
  assert.equal(describeFailure(new RangeError('Array buffer allocation failed')).exitCode, 75, 'out of memory');
  assert.equal(describeFailure(new AugmentError('RETRYABLE', 'worker lost')).exitCode, 75);
  assert.equal(describeFailure(new AugmentError('BAD_RECIPE', 'x')).exitCode, 2);
  assert.equal(describeFailure(new AugmentError('INTERRUPTED', 'x')).exitCode, 130);
  assert.equal(describeFailure(errno('ENOENT')).exitCode, 1, 'a missing path is not the machine failing');
  const bug = describeFailure(new TypeError('x is undefined'));
  assert.equal(bug.exitCode, 1);
  assert.match(bug.message, /^unexpected error: TypeError: x is undefined/);
});
