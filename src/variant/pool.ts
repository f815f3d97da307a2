/**
 * A small worker-thread pool of `size` workers, all started at construction (so that their
 * start-up, loading sharp and the wasm kernels, overlaps whatever the caller does before its
 * first `run`: the build's walk of the source), terminated by `close()`. A worker that dies is
 * replaced when a chunk next needs one.
 * Each worker holds up to `depth` chunks at once (default 1): with 2, the next chunk is already
 * waiting in the worker's queue when it posts a reply, so it never sits idle while the main
 * thread handles that reply and sends more (the worker must then take its messages one at a
 * time, as src/variant/worker.ts does, or be safe with two in progress). A chunk goes to the
 * worker with the fewest in hand.
 * A chunk still queued when its signal aborts, or when the pool closes, is never sent: its
 * promise resolves to null.
 *
 * Pre-start (`WorkerPool.prestart`, used by the CLI before it loads yargs and the build's
 * modules): a pool's threads started before anyone knows their `workerData`, so that their
 * module loading overlaps the main thread's. Such a worker gets no `workerData`; its first
 * message is `{ config }` (see `WorkerPool.take`), and it must hold any request until that has
 * come (src/variant/worker.ts does). `take` hands the pre-started pool over to the first caller
 * with the same entry, resized to its `size`; without one (the library, any other command) it
 * makes a pool as the constructor does. Pre-started workers are unref'd, like all the pool's:
 * one nobody takes never keeps the process alive, and `discardPrestarted` ends it.
 */
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';

/** `Omit` over each member of a union (requests of several kinds): the pool adds the id. */
export type Payload<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (rep: any) => void; reject: (e: Error) => void }>;
}

/** The pool `prestart` made, until `take` hands it over or `discardPrestarted` ends it. */
let prestarted: WorkerPool<any, any> | undefined;

export class WorkerPool<Req extends { id: number }, Rep extends { id: number }> {
  private readonly slots: Slot[] = [];
  private limit;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly entry: URL,
    private size: number,
    private workerData: unknown,
    opts: { depth?: number } = {},
  ) {
    this.limit = pLimit(size * Math.max(1, opts.depth ?? 1));
    for (let i = 0; i < size; i++) this.spawn();
  }

  /**
   * Starts `size` workers of `entry` now, without their `workerData` (see the file's comment),
   * for a later `take`. Any earlier pre-started pool is discarded.
   */
  static prestart(entry: URL, size: number): void {
    discardPrestarted();
    prestarted = new WorkerPool(entry, Math.max(1, size), undefined);
  }

  /**
   * The pre-started pool of `entry`, configured with `workerData` (posted as each worker's first
   * message) and resized to `size` (extra workers ended, missing ones started), when there is
   * one; else a new pool, as `new WorkerPool(entry, size, workerData, opts)`.
   */
  static take<Req extends { id: number }, Rep extends { id: number }>(entry: URL, size: number, workerData: unknown, opts: { depth?: number } = {}): WorkerPool<Req, Rep> {
    const pool = prestarted;
    if (!pool || pool.entry.href !== entry.href) return new WorkerPool<Req, Rep>(entry, size, workerData, opts);
    prestarted = undefined;
    pool.workerData = workerData;
    pool.size = size;
    pool.limit = pLimit(size * Math.max(1, opts.depth ?? 1));
    for (const s of pool.slots.splice(size)) void s.worker.terminate();
    for (const s of pool.slots) s.worker.postMessage({ config: workerData });
    while (pool.slots.length < size) pool.spawn(); // these get workerData, as any respawn does
    return pool;
  }

  run(payload: Payload<Req>, signal?: AbortSignal): Promise<Rep | null> {
    return this.limit(() => (this.closed || signal?.aborted ? null : this.dispatch(payload)));
  }

  /** The worker with the fewest chunks in hand; a new one while fewer than `size` are alive (one died). */
  private slot(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.pending.size < best.pending.size) best = s;
    if (best && (best.pending.size === 0 || this.slots.length >= this.size)) return best;
    return this.spawn();
  }

  private spawn(): Slot {
    const worker = new Worker(this.entry, { workerData: this.workerData });
    const slot: Slot = { worker, pending: new Map() };
    const failAll = (e: Error) => {
      for (const p of slot.pending.values()) p.reject(e);
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
    };
    worker.on('message', (rep: Rep) => {
      const p = slot.pending.get(rep.id);
      if (!p) return;
      slot.pending.delete(rep.id);
      if (slot.pending.size === 0) worker.unref();
      p.resolve(rep);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`build worker exited (code ${code})`)));
    // Referenced only while it has chunks in hand (see dispatch): an idle worker, or a pre-started
    // one nobody took, never keeps the process alive. After the listeners: adding a 'message'
    // listener refs the worker again.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private dispatch(payload: Payload<Req>): Promise<Rep> {
    const slot = this.slot();
    const id = this.nextId++;
    return new Promise<Rep>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...payload, id });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.limit.clearQueue();
    const workers = this.slots.map((s) => s.worker);
    await Promise.all(workers.map((w) => w.terminate()));
    this.slots.length = 0;
  }
}

/** Ends the pre-started pool nobody took, if any (the CLI does, when its command is done). */
export function discardPrestarted(): Promise<void> {
  const pool = prestarted;
  prestarted = undefined;
  return pool ? pool.close() : Promise.resolve();
}
