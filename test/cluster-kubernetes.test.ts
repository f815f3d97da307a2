/**
 * examples/kubernetes/: every manifest validates against the Kubernetes OpenAPI schema
 * (kubernetes-models, offline: no cluster here), and the Jobs do what docs/CLUSTER.md says:
 * Indexed completions matching `--shards N` (every index a valid shard), podFailurePolicy
 * acting on augment's exit codes, merges reading the folders the shards wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { PersistentVolumeClaim } from 'kubernetes-models/v1';
import { parseShardFlags } from '../src/cluster/shard.ts';
import { EXIT } from '../src/errors.ts';

const dir = new URL('../examples/kubernetes/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

function load(file: string): any[] {
  return parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return d.toJS();
  });
}

const docs = files.flatMap((f) => load(f).map((doc) => ({ file: f, doc })));
const jobs = docs.filter((d) => d.doc.kind === 'Job');

/** What podFailurePolicy does with a container exit code (the first matching rule; else Count). */
function actionFor(spec: any, exitCode: number): string {
  for (const r of spec.podFailurePolicy?.rules ?? []) {
    const on = r.onExitCodes;
    if (!on) continue;
    const hit = on.values.includes(exitCode);
    if ((on.operator === 'In' && hit) || (on.operator === 'NotIn' && !hit)) return r.action;
  }
  return 'Count';
}

test('the examples hold the build and evaluate Indexed Jobs, their merges and the shared volume', () => {
  assert.deepEqual(files, ['build-job.yaml', 'evaluate-job.yaml', 'evaluate-merge-job.yaml', 'merge-job.yaml', 'shared-volume.yaml']);
  assert.equal(jobs.length, 4);
});

test('every manifest validates against the Kubernetes schema', () => {
  for (const { file, doc } of docs) {
    const model = doc.kind === 'Job' ? new Job(doc) : doc.kind === 'PersistentVolumeClaim' ? new PersistentVolumeClaim(doc) : null;
    assert.ok(model, `${file}: unexpected kind ${doc.kind}`);
    assert.doesNotThrow(() => model.validate(), `${file} is a valid ${doc.kind}`);
  }
});

test('the validator does reject a broken Job (so the test above can fail)', () => {
  const doc = structuredClone(jobs.find((j) => j.file === 'build-job.yaml')!.doc);
  doc.spec.completionMode = 'Indexd';
  assert.throws(() => new Job(doc).validate(), /completionMode|must be equal to one of the allowed values/);
  const noImage = structuredClone(jobs[0]!.doc);
  noImage.spec.template.spec.containers = [{ image: 'x' }]; // a container needs a name
  assert.throws(() => new Job(noImage).validate(), /name/);
  const badAction = structuredClone(jobs[0]!.doc);
  badAction.spec.podFailurePolicy.rules[0].action = 'Retry';
  assert.throws(() => new Job(badAction).validate(), /action|allowed values/);
});

test('Indexed Jobs: completions = --shards N, one retry budget per index, restartPolicy Never', () => {
  for (const { file, doc } of jobs.filter((j) => j.doc.spec.completionMode === 'Indexed')) {
    const spec = doc.spec;
    const c = spec.template.spec.containers[0];
    const args: string[] = c.args;
    const n = Number(args[args.indexOf('--shards') + 1]);
    assert.equal(spec.completions, n, `${file}: completions equals --shards`);
    assert.ok(spec.parallelism >= 1 && spec.parallelism <= n, file);
    assert.ok(spec.backoffLimitPerIndex >= 1, `${file}: retries per index`);
    assert.equal(spec.template.spec.restartPolicy, 'Never', `${file}: podFailurePolicy needs restartPolicy Never`);
    assert.ok(spec.template.spec.terminationGracePeriodSeconds >= 30, `${file}: time to stop cleanly on SIGTERM`);
    // every index the Job hands out is a valid shard of N
    for (let k = 0; k < n; k++) assert.deepEqual(parseShardFlags({ shards: String(n) }, { JOB_COMPLETION_INDEX: String(k) }), { index: k, count: n });
    assert.throws(() => parseShardFlags({ shards: String(n) }, { JOB_COMPLETION_INDEX: String(n) }), /out of range/);
  }
});

test('podFailurePolicy follows the exit codes: fatal fails, retryable is retried, evictions are free', () => {
  for (const { file, doc } of jobs) {
    const spec = doc.spec;
    const indexed = spec.completionMode === 'Indexed';
    assert.ok(['FailJob', 'FailIndex'].includes(actionFor(spec, EXIT.FATAL)), `${file}: exit 2 (bad recipe/flags) is not retried`);
    assert.equal(actionFor(spec, EXIT.RETRYABLE), 'Count', `${file}: exit 75 is retried (counted)`);
    assert.equal(actionFor(spec, 137), 'Count', `${file}: a pod killed by the OOM killer is retried`);
    assert.equal(actionFor(spec, 0), 'Count', `${file}: exit 0 matches no failure rule`);
    if (indexed) assert.equal(actionFor(spec, EXIT.FATAL), 'FailJob', `${file}: a bad recipe fails every index alike: fail the Job`);
    if (!indexed) assert.ok(!JSON.stringify(spec.podFailurePolicy).includes('FailIndex'), `${file}: FailIndex needs backoffLimitPerIndex`);
    const disruption = spec.podFailurePolicy.rules.find((r: any) => r.onPodConditions?.some((p: any) => p.type === 'DisruptionTarget'));
    assert.equal(disruption?.action, 'Ignore', `${file}: evicted or preempted pods are retried without counting`);
    for (const r of spec.podFailurePolicy.rules) if (r.onExitCodes) assert.equal(r.onExitCodes.containerName, spec.template.spec.containers[0].name, file);
  }
});

test('the containers run augment commands the CLI knows, on the shared volume', () => {
  const cmds = Object.fromEntries(jobs.map(({ doc }) => [doc.metadata.name, doc.spec.template.spec.containers[0].args.slice(0, 2).join(' ')]));
  assert.deepEqual(cmds, {
    'augment-build': 'build random_v3',
    'augment-merge': 'merge /shared/variants/random_v3',
    'augment-evaluate': 'evaluate /shared/variants/baseline',
    'augment-evaluate-merge': 'evaluate --merge',
  });
  const argsOf = (name: string) => jobs.find((j) => j.doc.metadata.name === name)!.doc.spec.template.spec.containers[0].args as string[];
  const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after(argsOf('augment-build'), '--out'), argsOf('augment-merge')[1], 'the merge reads the folder the shards wrote');
  assert.equal(after(argsOf('augment-evaluate'), '--run'), after(argsOf('augment-evaluate-merge'), '--run'));
  for (const { file, doc } of jobs) {
    const pod = doc.spec.template.spec;
    assert.equal(pod.volumes[0].persistentVolumeClaim.claimName, 'augment-shared', file);
    assert.equal(pod.containers[0].volumeMounts[0].mountPath, '/shared', file);
  }
});

test("every container's arguments parse in augment's CLI (it gets as far as the missing /shared paths)", async () => {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const hadShared = existsSync('/shared');
  for (const { file, doc } of jobs) {
    const c = doc.spec.template.spec.containers[0];
    assert.deepEqual(c.command, ['augment'], file);
    const env: NodeJS.ProcessEnv = { ...process.env, JOB_COMPLETION_INDEX: '0' };
    delete env.SLURM_ARRAY_TASK_ID;
    delete env.AWS_BATCH_JOB_ARRAY_INDEX;
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...c.args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    // No such folder here: a one-line error about a /shared path, never a flag the CLI does not know.
    assert.equal(r.code, EXIT.FATAL, `${file}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Unknown argument|Not enough|Invalid values|--shards?:/, file);
    assert.match(r.stderr.trim().split('\n').at(-1)!, /^augment: .*\/shared\//, `${file}: ${r.stderr}`);
  }
  if (!hadShared) assert.ok(!existsSync('/shared'), 'a shard whose source is missing writes nothing');
});
