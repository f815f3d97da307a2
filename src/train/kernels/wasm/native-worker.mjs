// A helper thread of augment's wasm kernel pool (see ./native-pool.ts): instantiates the
// kernels module on the tfjs backend's shared memory and runs its share of each job.
// Protocol over `ctrl` (Int32Array on a SharedArrayBuffer): [0] job sequence number, [1] parts
// finished, [2] kernel index, [3] argument count, [4] stop flag; arguments in `args`
// (Float64Array on the same buffer). Plain JavaScript: worker_threads load it as is.
import { workerData } from 'node:worker_threads';

const { module, memory, sab, names, part, parts, spin } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((n) => exports[n]);
const ctrl = new Int32Array(sab, 0, 8);
const args = new Float64Array(sab, 64, 32);
let seen = 0;
for (;;) {
  let seq = Atomics.load(ctrl, 0);
  for (let i = 0; seq === seen && i < spin; i++) seq = Atomics.load(ctrl, 0);
  while (seq === seen) {
    Atomics.wait(ctrl, 0, seen);
    seq = Atomics.load(ctrl, 0);
  }
  seen = seq;
  if (Atomics.load(ctrl, 4) !== 0) break;
  const n = ctrl[3];
  const a = new Array(n + 2);
  for (let i = 0; i < n; i++) a[i] = args[i];
  a[n] = part;
  a[n + 1] = parts;
  fns[ctrl[2]](...a);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
