/**
 * The WebAssembly backend (`@tensorflow/tfjs-backend-wasm`) set up for training in Node:
 *
 * - SIMD: the package picks `tfjs-backend-wasm-simd.wasm` by itself when the runtime
 *   validates SIMD (Node 20 does).
 * - Kernels: registers augment's training kernels (see `../kernels/wasm/index.ts`); the heavy
 *   ones (convolutions, their gradients, dense products) are augment's own SIMD code.
 * - Threads: `threads > 1` loads the package's threaded module, for its shared memory: augment's
 *   kernel threads (`../kernels/wasm/native-pool.ts`) work on the tensors in it. XNNPACK's own
 *   pool stays at one thread: it now runs only light kernels (element-wise ops, pooling,
 *   inference's dense layer), and its pool threads spin between kernels, taking the cores from
 *   ours.
 *   The package turns multithreading off in Node (tfjs issue #3830): its pthread worker is
 *   handed over as a `blob:` URL, which Node's `worker_threads` cannot load. `initWasm` writes
 *   the worker script to a temp `.cjs` file, maps the package's worker blob URL to that file and
 *   points the worker at the package's own `tfjs-backend-wasm-threaded-simd.js`.
 *
 * With `threads: 1` the plain SIMD module is used; when the threaded module fails to start,
 * `initWasm` falls back to it (and to one thread).
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { tf } from '../tf.ts';
import { registerWasmKernels, WASM_CUSTOM_KERNELS } from '../kernels/wasm/index.ts';
import { fmaAvailable, setKernelThreads } from '../kernels/wasm/native.ts';
import { cgroupCpuLimit } from '../../cpus.ts';

export { cgroupCpuLimit } from '../../cpus.ts';

const require = createRequire(import.meta.url);

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

export interface WasmInfo {
  threads: number;
  simd: boolean;
  /** Names of the kernels registered by augment on top of the package's own. */
  customKernels: string[];
  description: string;
}

const START_TIMEOUT_MS = 60_000;

/** Threads of the running backend (augment's kernel pool), fixed at its first start. */
let startedThreads = 1;

function sharedMemory(): boolean {
  const em = (tf.backend() as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory } }).wasm;
  return typeof SharedArrayBuffer !== 'undefined' && em?.wasmMemory?.buffer instanceof SharedArrayBuffer;
}

let wasmModule: WasmModule | null = null;
let workerHookInstalled = false;

function loadWasmPackage(): WasmModule {
  if (!wasmModule) wasmModule = require('@tensorflow/tfjs-backend-wasm') as WasmModule;
  return wasmModule;
}

/** Makes the package's pthread worker loadable by Node's worker_threads (see file comment). */
function installWorkerHook(): void {
  if (workerHookInstalled) return;
  const pkgMain = require.resolve('@tensorflow/tfjs-backend-wasm');
  const outDir = join(dirname(pkgMain), '..', 'wasm-out');
  const { wasmWorkerContents } = require(join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const mainScript = join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  // The package escapes newlines the same way before making its Blob (they sit inside string
  // literals of the worker source).
  const escaped = wasmWorkerContents.replace(/\n/g, '\\n');
  const script =
    escaped +
    `\n;{const load=onmessage;onmessage=(e)=>{if(e&&e.data&&e.data.cmd==='load'){e.data.urlOrBlob=${JSON.stringify(mainScript)}}return load(e)}}\n`;
  // One file per distinct script, shared by every process (no temp folder left behind per run).
  const workerPath = join(os.tmpdir(), `augment-wasm-worker-${createHash('sha256').update(script).digest('hex').slice(0, 16)}.cjs`);
  if (!existsSync(workerPath)) {
    const tmp = `${workerPath}.${process.pid}.tmp`;
    writeFileSync(tmp, script);
    renameSync(tmp, workerPath);
  }
  const expectedSize = Buffer.byteLength(escaped);
  const original = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (obj: Blob | unknown) => {
    const b = obj as Blob;
    if (b && typeof b === 'object' && b.type === 'application/javascript' && b.size === expectedSize) return workerPath;
    return original(obj as Blob);
  };
  workerHookInstalled = true;
}

/**
 * Default: every available core, at most 8 (the convolutions split into tiles of 4 positions
 * x 8 channels: at 32 px more threads have little left to share) and at most the cgroup's CPU
 * quota. Override with `threads` (`--threads`) or AUGMENT_WASM_THREADS.
 */
export function defaultWasmThreads(): number {
  const env = Number(process.env.AUGMENT_WASM_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n, cgroupCpuLimit() ?? Infinity));
}

async function trySetBackend(threaded: boolean): Promise<boolean> {
  const wasm = loadWasmPackage();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threaded);
  if (threaded) installWorkerHook();
  wasm.setThreadsCount(1); // XNNPACK's pool (see the file comment)
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([tf.setBackend('wasm'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** XNNPACK's pool threads are ref'ed Node workers that would keep the process alive forever. */
function unrefWorkers(): void {
  const pthread = (tf.backend() as unknown as { wasm?: { PThread?: Record<string, unknown> } }).wasm?.PThread;
  if (!pthread) return;
  for (const key of ['runningWorkers', 'unusedWorkers']) {
    const list = pthread[key];
    if (Array.isArray(list)) for (const w of list) (w as { unref?: () => void }).unref?.();
  }
}

/**
 * Selects the wasm backend with SIMD and `threads` threads (default: `defaultWasmThreads()`)
 * and registers augment's training kernels. Returns null when the backend cannot start.
 */
export async function initWasm(opts: { threads?: number } = {}): Promise<WasmInfo | null> {
  const threads = opts.threads ?? defaultWasmThreads();
  loadWasmPackage(); // registers the backend and its flags
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  let ok = false;
  if (tf.findBackend('wasm') && tf.getBackend() === 'wasm') {
    ok = true; // already initialised (the thread count is fixed at first start)
  } else {
    ok = threads > 1 && simd ? await trySetBackend(true) : false;
    // The factory stays registered after a failed start; init() re-reads the flags.
    if (!ok) ok = await trySetBackend(false);
    if (ok) startedThreads = sharedMemory() ? threads : 1;
  }
  if (!ok) return null;
  unrefWorkers();
  registerWasmKernels();
  const used = startedThreads;
  setKernelThreads(used);
  const customKernels = [...WASM_CUSTOM_KERNELS];
  return {
    threads: used,
    simd,
    customKernels,
    description: `wasm (${simd ? 'SIMD' : 'no SIMD'}${fmaAvailable() ? ' + FMA' : ''}, ${used} thread${used === 1 ? '' : 's'}; custom kernels: ${customKernels.join(', ')})`,
  };
}
