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
 */
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';

/** `Omit` over each member of a union (requests of several kinds): the pool adds the id. */
export type Payload<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (rep: any) => void; reject: (e: Error) => void }>;
}

export class WorkerPool<Req extends { id: number }, Rep extends { id: number }> {
  private readonly slots: Slot[] = [];
  private readonly limit;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly entry: URL,
    private readonly size: number,
    private readonly workerData: unknown,
    opts: { depth?: number } = {},
  ) {
    this.limit = pLimit(size * Math.max(1, opts.depth ?? 1));
    for (let i = 0; i < size; i++) this.spawn();
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
    worker.unref();
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
      p.resolve(rep);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`build worker exited (code ${code})`)));
    this.slots.push(slot);
    return slot;
  }

  private dispatch(payload: Payload<Req>): Promise<Rep> {
    const slot = this.slot();
    const id = this.nextId++;
    return new Promise<Rep>((resolve, reject) => {
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
