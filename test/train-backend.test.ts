/**
 * Backend selection: the run-time pick (here: wasm, as tfjs-node is not installed and there is
 * no hardware GPU adapter), forced choices, refusals, and the wasm set-up (SIMD, threads).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { tf } from '../src/train/tf.ts';
import { AugmentError } from '../src/errors.ts';
import { BACKENDS, initBackend, parseBackend } from '../src/train/backend/select.ts';
import { cgroupCpuLimit, defaultWasmThreads } from '../src/train/backend/wasm.ts';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelThreads, split } from '../src/train/kernels/wasm/native.ts';
import type { WasmBackendLike } from '../src/train/kernels/wasm/call.ts';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const installed = (pkg: string) => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

test('unknown --backend is one line listing the valid names', () => {
  assert.throws(
    () => parseBackend('tpu'),
    (e: unknown) => e instanceof AugmentError && e.code === 'BAD_ARGUMENT' && e.message.includes(BACKENDS.join(', ')) && !e.message.includes('\n'),
  );
  assert.equal(parseBackend(' WASM '), 'wasm');
});

test('the cpu backend is refused for training, saying why and how to get wasm', async () => {
  await assert.rejects(
    initBackend({ force: 'cpu' }),
    (e: unknown) => e instanceof AugmentError && e.code === 'BACKEND' && /300x slower/.test(e.message) && /--backend wasm/.test(e.message),
  );
});

test('a forced tfjs-node that is not installed fails with one line saying so', { skip: installed('@tensorflow/tfjs-node') }, async () => {
  await assert.rejects(
    initBackend({ force: 'node' }),
    (e: unknown) => e instanceof AugmentError && e.code === 'BACKEND' && /tfjs-node is not installed/.test(e.message) && !e.message.includes('\n'),
  );
});

test('forced wasm with 2 threads: SIMD, the threaded module running in Node, 2 kernel threads on its shared memory, one log line', async () => {
  const lines: string[] = [];
  // tfjs-backend-wasm disables threads in Node; initWasm's workaround must start its threaded
  // module (shared memory), on which augment's kernel pool runs the 2 threads asked for.
  const info = await initBackend({ force: 'wasm', threads: 2, log: (l) => lines.push(l) });
  assert.equal(info.choice, 'wasm');
  assert.equal(info.tfBackend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount(): number };
  assert.equal(wasm.getThreadsCount(), 1, "XNNPACK's own pool stays at one thread");
  assert.equal(info.threads, 2);
  const backend = tf.backend() as unknown as WasmBackendLike & { wasm: { wasmMemory?: WebAssembly.Memory } };
  assert.ok(backend.wasm.wasmMemory?.buffer instanceof SharedArrayBuffer, 'the threaded module (shared memory) is running');
  assert.equal(kernelThreads(backend), 2);
  assert.match(info.description, /^wasm \(SIMD( \+ FMA)?, 2 threads; custom kernels: Conv2DBackpropFilter, Conv2DBackpropInput/);
  assert.deepEqual(lines, [`backend: ${info.description}`]);
  // It computes: a conv's filter gradient runs on wasm (it throws with the stock kernels).
  const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
  const g = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 2, 1]));
  // Centre tap sees all 16 positions, corners 9 (3x3 window inside the 4x4 image).
  const v = await g.data();
  assert.equal(v[4 * 2], 16);
  assert.equal(v[0], 9);
});

test('a kernel that traps on the 2-thread pool throws (no hang), and the pool keeps working', async () => {
  await initBackend({ force: 'wasm', threads: 2, log: () => {} });
  const backend = tf.backend() as unknown as WasmBackendLike;
  assert.equal(kernelThreads(backend), 2);
  const bad = 0x7ffffff0; // far outside the memory: every thread's first access traps
  assert.throws(() => split(backend, 'conv_fwd', [bad, bad, bad, bad, 64, 8, 8, 64, 8, 8, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1]), /out of bounds|failed on a helper/);
  const y = tf.conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 8]) as tf.Tensor4D, 1, 'same');
  const v = await y.data();
  assert.equal(v[0], 8); // corner: 2x2 taps x 2 channels
  assert.equal(v[(1 * 4 + 1) * 8], 18); // inside: 3x3 taps x 2 channels
});

test('cgroupCpuLimit reads cgroup v2 cpu.max and v1 cfs quota/period', () => {
  const root = mkdtempSync(join(os.tmpdir(), 'augment-cgroup-'));
  try {
    assert.equal(cgroupCpuLimit(root), undefined); // no cgroup files
    writeFileSync(join(root, 'cpu.max'), 'max 100000\n');
    assert.equal(cgroupCpuLimit(root), undefined); // unlimited
    writeFileSync(join(root, 'cpu.max'), '150000 100000\n');
    assert.equal(cgroupCpuLimit(root), 2); // 1.5 CPUs: 2 threads
    rmSync(join(root, 'cpu.max'));
    mkdirSync(join(root, 'cpu'));
    writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '-1\n');
    writeFileSync(join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    assert.equal(cgroupCpuLimit(root), undefined);
    writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '400000\n');
    assert.equal(cgroupCpuLimit(root), 4);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * The machine's CPU budget, read here without the module under test: cores from coreutils'
 * `nproc` (scheduler affinity; OMP_* cleared, which nproc would honour), the quota straight from
 * the cgroup files (v2 cpu.max "quota period", else v1 cpu.cfs_quota_us / cpu.cfs_period_us).
 */
function machineCpus(): { cores: number; quota: number | undefined } {
  const env = { ...process.env };
  delete env.OMP_NUM_THREADS;
  delete env.OMP_THREAD_LIMIT;
  const cores = Number(execFileSync('nproc', { env, encoding: 'utf8' }).trim());
  const text = (f: string) => {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      return '';
    }
  };
  let quota: number | undefined;
  const v2 = text('/sys/fs/cgroup/cpu.max').match(/^(\d+) (\d+)$/);
  if (v2) quota = Math.ceil(Number(v2[1]) / Number(v2[2]));
  else if (!text('/sys/fs/cgroup/cpu.max')) {
    const q = Number(text('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
    const p = Number(text('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
    if (q > 0 && p > 0) quota = Math.ceil(q / p);
  }
  return { cores, quota };
}

test('the default wasm thread count is every core, 1 to 8, within the cgroup CPU quota', (t) => {
  const { cores, quota } = machineCpus();
  assert.ok(Number.isInteger(cores) && cores >= 1, `nproc said ${cores}`);
  const expected = Math.max(1, Math.min(8, cores, quota ?? cores));
  t.diagnostic(`nproc ${cores}, cgroup quota ${quota ?? 'none'}: expect ${expected} threads`);
  const saved = process.env.AUGMENT_WASM_THREADS;
  delete process.env.AUGMENT_WASM_THREADS;
  try {
    assert.equal(defaultWasmThreads(), expected);
    process.env.AUGMENT_WASM_THREADS = '3';
    assert.equal(defaultWasmThreads(), 3);
  } finally {
    if (saved === undefined) delete process.env.AUGMENT_WASM_THREADS;
    else process.env.AUGMENT_WASM_THREADS = saved;
  }
});

test('the automatic pick starts the first available backend of the pick order', async () => {
  const info = await initBackend({});
  assert.ok(BACKENDS.includes(info.choice));
  if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) {
    // webgpu only with a hardware adapter; this project's CI machines have none.
    assert.ok(info.choice === 'wasm' || info.choice === 'webgpu', info.description);
  }
  assert.equal(tf.getBackend(), info.tfBackend);
});

test('AUGMENT_WASM_FMA=0 runs the plain SIMD kernels (what runtimes without relaxed SIMD get), 1 and 2 threads, equal to cpu', async () => {
  for (const threads of ['1', '2']) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/wasm-conv-check.ts'], {
      cwd: new URL('..', import.meta.url),
      env: { ...process.env, AUGMENT_WASM_FMA: '0', T: threads },
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { description: string; worst: number };
    assert.match(r.description, new RegExp(`^wasm \\(SIMD, ${threads} threads?;`), r.description);
    assert.ok(r.worst < 1e-4, `relative error ${r.worst}`);
  }
});
