// A helper thread of augment's wasm kernel pool (see ./native-pool.ts): instantiates the
// kernels module on the tfjs backend's shared memory and runs each job alongside the caller
// (the kernels share the work out themselves, through a counter in that memory).
// Protocol over `ctrl` (Int32Array on a SharedArrayBuffer): [0] job sequence number, [1] helpers
// finished, [2] kernel index, [3] argument count, [4] stop flag, [5] the open job's word:
// (sequence & 0x3ffffff) * 16 + helpers joined, or -1 once the caller has closed it, [7] a helper
// failed (a trap in the kernel: reported, never a hang); arguments in
// `args` (Float64Array on the same buffer). A helper joins by incrementing the word while it
// still names its job (compare-and-swap), runs the kernel and reports done (1); the caller closes
// the job once its own share is done and waits only for the helpers that joined, so a helper
// waking up late costs nothing and never touches a later job's arguments.
// Plain JavaScript: worker_threads load it as is.
import { workerData } from 'node:worker_threads';

const { module, memory, sab, names, spin } = workerData;
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
  const tag = (seq & 0x3ffffff) * 16;
  let joined = false;
  for (;;) {
    const word = Atomics.load(ctrl, 5);
    if (word < 0 || word - (word & 15) !== tag) break;
    if (Atomics.compareExchange(ctrl, 5, word, word + 1) === word) {
      joined = true;
      break;
    }
  }
  if (!joined) continue;
  try {
    const n = ctrl[3];
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = args[i];
    fns[ctrl[2]](...a);
  } catch {
    Atomics.store(ctrl, 7, 1); // the caller throws; done is still reported below
  }
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
