/**
 * A small worker-thread pool. p-limit bounds the chunks in flight to one per worker; each
 * chunk goes to an idle worker. Workers are started lazily and terminated by `close()`.
 * A chunk still queued when its signal aborts, or when the pool closes, is never sent: its
 * promise resolves to null.
 */
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';

export class WorkerPool<Req extends { id: number }, Rep extends { id: number }> {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly limit;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly entry: URL,
    private readonly size: number,
    private readonly workerData: unknown,
  ) {
    this.limit = pLimit(size);
  }

  run(payload: Omit<Req, 'id'>, signal?: AbortSignal): Promise<Rep | null> {
    return this.limit(() => (this.closed || signal?.aborted ? null : this.dispatch(payload)));
  }

  private worker(): Worker {
    const w = this.idle.pop();
    if (w) return w;
    const fresh = new Worker(this.entry, { workerData: this.workerData });
    fresh.unref();
    this.all.push(fresh);
    return fresh;
  }

  private dispatch(payload: Omit<Req, 'id'>): Promise<Rep> {
    const w = this.worker();
    const id = this.nextId++;
    return new Promise<Rep>((resolve, reject) => {
      const onMessage = (rep: Rep) => {
        if (rep.id !== id) return;
        cleanup();
        this.idle.push(w);
        resolve(rep);
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`build worker exited (code ${code})`));
      };
      const cleanup = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ ...payload, id });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.limit.clearQueue();
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all.length = 0;
    this.idle.length = 0;
  }
}
