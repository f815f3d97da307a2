/**
 * The WebAssembly backend (`@tensorflow/tfjs-backend-wasm`) set up for training in Node:
 *
 * - SIMD: the package picks `tfjs-backend-wasm-simd.wasm` by itself when the runtime
 *   validates SIMD (Node 20 does).
 * - Threads: the package turns multithreading off in Node (tfjs issue #3830): its pthread
 *   worker is handed over as a `blob:` URL, which Node's `worker_threads` cannot load, and
 *   XNNPACK's pool is capped at `os.cpus().length / 2` (it assumes two hyperthreads per core).
 *   `initWasm` works around both: it writes the worker script to a temp `.cjs` file, maps the
 *   package's worker blob URL to that file, points the worker at the package's own
 *   `tfjs-backend-wasm-threaded-simd.js`, and reports `2 * threads` logical cores to the
 *   module while it initialises. The thread count actually used is read back from XNNPACK.
 * - Kernels: registers the kernels the wasm backend lacks for training (see
 *   `../kernels/wasm/index.ts`).
 *
 * With `threads: 1` (the default on 2 cores, see `defaultWasmThreads`) the plain SIMD module is
 * used; when the threaded module fails to start, `initWasm` falls back to it.
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { tf } from '../tf.ts';
import { registerWasmKernels, WASM_CUSTOM_KERNELS } from '../kernels/wasm/index.ts';

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
 * Default: half the available cores (tfjs's own rule), at least 1, at most 8. XNNPACK's pool
 * threads spin between kernels and a training step is hundreds of small kernels: on the 2-core
 * shared machine of docs/BENCHMARKS.md one thread trained 1.4-2.5x faster than two. Override
 * with `threads` (`--threads`) or AUGMENT_WASM_THREADS.
 */
export function defaultWasmThreads(): number {
  const env = Number(process.env.AUGMENT_WASM_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, Math.floor(n / 2)));
}

async function trySetBackend(threaded: boolean, threads: number): Promise<boolean> {
  const wasm = loadWasmPackage();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threaded);
  if (threaded) installWorkerHook();
  wasm.setThreadsCount(threads);
  // XNNPACK caps its pool at os.cpus().length / 2: report 2 * threads while it initialises.
  const cpus = os.cpus;
  if (threaded) {
    (os as { cpus: typeof os.cpus }).cpus = () => {
      const real = cpus();
      const out: os.CpuInfo[] = [];
      for (let i = 0; i < 2 * threads; i++) out.push(real[i % real.length]);
      return out;
    };
  }
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
    (os as { cpus: typeof os.cpus }).cpus = cpus;
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
  const wasm = loadWasmPackage();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  let ok = false;
  if (tf.findBackend('wasm') && tf.getBackend() === 'wasm') {
    ok = true; // already initialised (the thread count is fixed at first start)
  } else {
    ok = threads > 1 && simd ? await trySetBackend(true, threads) : false;
    // The factory stays registered after a failed start; init() re-reads the flags.
    if (!ok) ok = await trySetBackend(false, 1);
  }
  if (!ok) return null;
  unrefWorkers();
  registerWasmKernels();
  const used = wasm.getThreadsCount();
  const customKernels = [...WASM_CUSTOM_KERNELS];
  return {
    threads: used,
    simd,
    customKernels,
    description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${used} thread${used === 1 ? '' : 's'}; custom kernels: ${customKernels.join(', ')})`,
  };
}
