/**
 * augment's own WebAssembly kernels (`./native/kernels.c`, built by
 * `scripts/build-wasm-kernels.sh`), instantiated on the tfjs wasm backend's memory so that they
 * work on tensors in place: arguments are byte offsets into that memory. One instance per
 * backend; `kernels.wasm` for the single-threaded tfjs module (plain memory),
 * `kernels-shared.wasm` for the threaded one (shared memory), and their `kernels-fma*` builds
 * (relaxed-SIMD fused multiply-add in the convolutions) where the runtime has relaxed SIMD:
 * Node 20's V8 has it behind --experimental-wasm-relaxed-simd, which `fmaAvailable` turns on
 * (before anything is compiled with it; AUGMENT_WASM_FMA=0 keeps the plain builds).
 * The splittable kernels (convolutions) run over a pool of threads (./native-pool.ts); the
 * others run on the JavaScript thread, between tfjs's kernels.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { tf } from '../../tf.ts';
import type { Info, WasmBackendLike } from './call.ts';
import { startKernelPool, type KernelPool } from './native-pool.ts';

export interface NativeKernels {
  adam(w: number, m: number, v: number, g: number, wo: number, mo: number, vo: number, n: number, lr: number, b1: number, b2: number, eps: number, ic1: number, ic2: number): void;
  transpose4(src: number, dst: number, d0: number, d1: number, d2: number, d3: number, s0: number, s1: number, s2: number, s3: number): void;
  max_pool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number): void;
  conv_dw(x: number, dy: number, dw: number, n: number, h: number, w: number, ci: number, ho: number, wo: number, co: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, counter: number, chunk: number): void;
  conv_fwd(x: number, w: number, y: number, zeros: number, n: number, h: number, wd: number, ci: number, ho: number, wo: number, co: number, ws: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, counter: number, chunk: number): void;
  rotate_filter(w: number, out: number, kh: number, kw: number, ci: number, co: number): void;
  bias_act(y: number, bias: number, m: number, c: number, relu: number): void;
  copy_rows(src: number, dst: number, rows: number, cols: number, dstride: number): void;
  sum_rows(x: number, m: number, c: number, sum: number): void;
  bn_stats(x: number, m: number, c: number, mean: number, ssd: number): void;
  bn_apply(x: number, y: number, m: number, c: number, mean: number, scale: number, beta: number, relu: number): void;
  bn_grad_sums(dy: number, x: number, y: number, m: number, c: number, mean: number, relu: number, sumD: number, sumDxc: number): void;
  bn_grad_apply(dy: number, x: number, y: number, dx: number, m: number, c: number, mean: number, relu: number, a: number, b: number, cc: number): void;
}

interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

const instances = new WeakMap<object, NativeKernels>();
const pools = new WeakMap<object, KernelPool>();
let poolThreads = 1;

/** Kernels that take (counter, chunk) last and share their work over threads (./native/kernels.c). */
const SPLITTABLE = ['conv_fwd', 'conv_dw'] as const;
type Splittable = (typeof SPLITTABLE)[number];

/**
 * Threads for the splittable kernels (the convolutions), used when the tfjs module's memory is
 * shared (its threaded build); set by `initWasm` from the backend's thread count.
 */
export function setKernelThreads(n: number): void {
  poolThreads = Math.max(1, Math.floor(n));
}

const modules = new Map<string, WebAssembly.Module>();

const bytesOf = (file: string) => readFileSync(new URL(`./native/${file}`, import.meta.url));

function compiled(file: string): WebAssembly.Module {
  let m = modules.get(file);
  if (!m) {
    m = new WebAssembly.Module(bytesOf(file));
    modules.set(file, m);
  }
  return m;
}

let fma: boolean | null = null;

/** Whether the relaxed-SIMD (FMA) builds can run here, turning V8's flag on where needed. */
export function fmaAvailable(): boolean {
  if (fma !== null) return fma;
  if (process.env.AUGMENT_WASM_FMA === '0') return (fma = false);
  const bytes = bytesOf('kernels-fma.wasm');
  if (!WebAssembly.validate(bytes)) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // not settable here: the plain build
    }
  }
  fma = WebAssembly.validate(bytes);
  return fma;
}

function moduleFile(shared: boolean): string {
  return `kernels${fmaAvailable() ? '-fma' : ''}${shared ? '-shared' : ''}.wasm`;
}

/** The kernels bound to `backend`'s memory (instantiated on first use). */
export function native(backend: WasmBackendLike): NativeKernels {
  let k = instances.get(backend);
  if (k) return k;
  const em = (backend as unknown as { wasm: EmscriptenModule }).wasm;
  const memory = em.wasmMemory ?? em.asm?.memory;
  if (!memory) throw new Error('wasm backend: its module exposes no memory for augment kernels');
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const instance = new WebAssembly.Instance(compiled(moduleFile(shared)), { env: { memory } });
  k = instance.exports as unknown as NativeKernels;
  instances.set(backend, k);
  if (shared && poolThreads > 1) {
    pools.set(
      backend,
      startKernelPool({
        module: compiled(moduleFile(true)),
        memory,
        exports: instance.exports as Record<string, unknown>,
        names: SPLITTABLE,
        threads: poolThreads,
      }),
    );
  }
  return k;
}

/** How many threads the splittable kernels of `backend` run on (1 without a pool). */
export function kernelThreads(backend: WasmBackendLike): number {
  native(backend);
  return pools.get(backend)?.threads ?? 1;
}

const counters = new WeakMap<object, Info>();

/** Work items of a splittable kernel (as ./native/kernels.c counts them) from its arguments. */
function workOf(name: Splittable, a: number[]): number {
  const blocks = (c: number, size: number) => Math.ceil(c / size);
  if (name === 'conv_fwd') return blocks(a[4] * a[8] * a[9], 4) * blocks(a[10], 8); // tiles of (n ho wo) x co blocks
  return a[10] * a[11] * blocks(a[6], 4) * blocks(a[9], 8); // taps x ci blocks x co blocks
}

/**
 * Runs a splittable kernel over the backend's kernel threads (or alone on this thread), its
 * work items handed out in chunks through a counter in the backend's memory.
 */
export function split(backend: WasmBackendLike, name: Splittable, args: number[]): void {
  const work = workOf(name, args);
  const k = native(backend);
  const pool = pools.get(backend);
  let counter = counters.get(backend);
  if (!counter) {
    counter = backend.makeOutput([4], 'int32' as tf.DataType);
    counters.set(backend, counter);
  }
  const at = offset(backend, counter);
  const threads = pool?.threads ?? 1;
  const chunk = threads === 1 ? Math.max(1, work) : Math.max(1, Math.ceil(work / (threads * 8)));
  const view = backend.typedArrayFromHeap(counter) as Int32Array;
  if (threads > 1) Atomics.store(view, 0, 0);
  else view[0] = 0;
  if (pool) pool.run(name, [...args, at, chunk]);
  else (k[name] as unknown as (...a: number[]) => void)(...args, at, chunk);
}

/**
 * The geometry arguments the C kernels share, from tfjs's conv/pool info: (n, h, w, ci, ho, wo)
 * and the window (kh, kw, sh, sw, pad top, pad left).
 */
export function geometry(info: tf.backend_util.Conv2DInfo): { shape: number[]; window: number[] } {
  return {
    shape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth],
    window: [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left],
  };
}

/** Byte offset of a tensor in the backend's memory. */
export function offset(backend: WasmBackendLike, t: Info): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('wasm backend: tensor data not found');
  return d.memoryOffset;
}

/** A float32 output of `shape` and its byte offset. */
export function output(backend: WasmBackendLike, shape: number[]): [Info, number] {
  const t = backend.makeOutput(shape, 'float32' as tf.DataType);
  return [t, offset(backend, t)];
}

const zeroRows = new WeakMap<object, { t: Info; n: number }>();

/** Byte offset of at least `n` zero floats, kept per backend (read-only for the kernels). */
export function zeros(backend: WasmBackendLike, n: number): number {
  let z = zeroRows.get(backend);
  if (!z || z.n < n) {
    if (z) backend.disposeData(z.t.dataId);
    const size = Math.max(n, 1024);
    const t = backend.makeOutput([size], 'float32' as tf.DataType);
    (backend.typedArrayFromHeap(t) as Float32Array).fill(0);
    z = { t, n: size };
    zeroRows.set(backend, z);
  }
  return offset(backend, z.t);
}
