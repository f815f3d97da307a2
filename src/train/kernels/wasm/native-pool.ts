/**
 * Threads for augment's own wasm kernels. When the tfjs backend runs its threaded module, its
 * memory is a SharedArrayBuffer: helper threads (`./native-worker.mjs`) instantiate the same
 * kernels module on it, and a splittable kernel (the convolutions) runs on the JavaScript thread
 * and every helper at once, each claiming chunks of the work from a counter in that memory (an
 * argument of the kernel, zeroed by the caller). Hand-off over a small
 * shared control block: the caller bumps a sequence number and wakes the helpers
 * (Atomics.notify), runs part 0 itself, then waits (Atomics.wait) until every helper has
 * finished its part. Helpers spin briefly before sleeping, since a training step calls
 * hundreds of kernels back to back. Helpers are unref'ed: they never keep the process alive.
 */
import { Worker } from 'node:worker_threads';

export interface KernelPool {
  readonly threads: number;
  /** exports[name](...args) on every thread at once; returns when all have returned. */
  run(name: string, args: number[]): void;
  close(): void;
}

const SPIN = 20_000;

export function startKernelPool(opts: {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  exports: Record<string, unknown>;
  names: readonly string[];
  threads: number;
}): KernelPool {
  const { module, memory, exports, names, threads } = opts;
  if (threads > 16) throw new Error('kernel pool: at most 16 threads');
  const sab = new SharedArrayBuffer(64 + 32 * 8);
  const ctrl = new Int32Array(sab, 0, 8);
  ctrl[5] = -1;
  const args = new Float64Array(sab, 64, 32);
  const workers: Worker[] = [];
  for (let part = 1; part < threads; part++) {
    const w = new Worker(new URL('./native-worker.mjs', import.meta.url), {
      workerData: { module, memory, sab, names: [...names], spin: SPIN },
    });
    w.unref();
    workers.push(w);
  }
  const index = new Map(names.map((n, i) => [n, i]));
  const fns = names.map((n) => exports[n] as (...a: number[]) => void);
  let closed = false;
  return {
    threads,
    run(name, a) {
      const fi = index.get(name);
      if (fi === undefined) throw new Error(`kernel pool: no kernel ${name}`);
      if (closed || threads === 1) {
        fns[fi](...a);
        return;
      }
      for (let i = 0; i < a.length; i++) args[i] = a[i];
      ctrl[2] = fi;
      ctrl[3] = a.length;
      Atomics.store(ctrl, 1, 0);
      const seq = (Atomics.load(ctrl, 0) + 1) | 0;
      Atomics.store(ctrl, 5, (seq & 0x3ffffff) * 16);
      Atomics.store(ctrl, 0, seq);
      Atomics.notify(ctrl, 0);
      let failure: unknown = null;
      try {
        fns[fi](...a);
      } catch (e) {
        failure = e; // thrown after the helpers are done with this job's arguments
      }
      // Close the job, then wait for the helpers that joined it (see ./native-worker.mjs).
      const want = Atomics.exchange(ctrl, 5, -1) & 15;
      let done = Atomics.load(ctrl, 1);
      for (let i = 0; done < want && i < SPIN; i++) done = Atomics.load(ctrl, 1);
      while (done < want) {
        Atomics.wait(ctrl, 1, done);
        done = Atomics.load(ctrl, 1);
      }
      const helperFailed = Atomics.exchange(ctrl, 7, 0) !== 0;
      if (failure) throw failure;
      if (helperFailed) throw new Error(`wasm kernel ${name} failed on a helper thread`);
    },
    close() {
      if (closed) return;
      closed = true;
      Atomics.store(ctrl, 4, 1);
      Atomics.store(ctrl, 0, (Atomics.load(ctrl, 0) + 1) | 0);
      Atomics.notify(ctrl, 0);
    },
  };
}
