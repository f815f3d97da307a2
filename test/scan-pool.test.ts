/**
 * The worker pool (src/variant/pool.ts) that runs the scan's decode checks and the build: all its
 * workers start when it is made, before any chunk (so their start-up overlaps the source walk),
 * chunks spread over them, and a worker that dies is replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BroadcastChannel } from 'node:worker_threads';
import { WorkerPool } from '../src/variant/pool.ts';

// Each worker announces itself on a channel as it starts, then answers { id, thread }; `die` exits.
const CHANNEL = `scan-pool-test-${process.pid}`;
const ENTRY = new URL(
  `data:text/javascript,${encodeURIComponent(`
    import { parentPort, threadId, BroadcastChannel, workerData } from 'node:worker_threads';
    const bc = new BroadcastChannel(workerData.channel);
    bc.postMessage(threadId);
    bc.close();
    parentPort.on('message', (m) => {
      if (m.die) process.exit(3);
      setTimeout(() => parentPort.postMessage({ id: m.id, thread: threadId }), m.wait ?? 0);
    });
  `)}`,
);

type Req = { id: number; wait?: number; die?: boolean };
type Rep = { id: number; thread: number };

/** The thread ids announced until `n` have started (or the wait runs out). */
function started(n: number, ms = 60_000): { done: Promise<number[]>; close: () => void } {
  const bc = new BroadcastChannel(CHANNEL);
  const seen: number[] = [];
  let timer: NodeJS.Timeout;
  const done = new Promise<number[]>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${n} workers started`)), ms);
    bc.onmessage = (e) => {
      seen.push((e as { data: number }).data);
      if (seen.length === n) resolve(seen);
    };
  });
  return { done, close: () => (clearTimeout(timer), bc.close()) };
}

test('every worker starts when the pool is made, before its first chunk', async () => {
  const watch = started(3);
  const pool = new WorkerPool<Req, Rep>(ENTRY, 3, { channel: CHANNEL }, { depth: 2 });
  try {
    const ids = await watch.done; // no run() yet
    assert.equal(new Set(ids).size, 3);
    // chunks then go to the started workers: no fourth one
    const reps = await Promise.all(Array.from({ length: 6 }, () => pool.run({ wait: 20 })));
    const threads = new Set(reps.map((r) => r!.thread));
    assert.ok([...threads].every((t) => ids.includes(t)), `a chunk ran on a worker that was not announced: ${[...threads]} vs ${ids}`);
    assert.equal(threads.size, 3, 'six chunks of 20 ms on three idle workers use all three');
  } finally {
    watch.close();
    await pool.close();
  }
});

test('a worker that dies fails its chunk and is replaced for the next', async () => {
  const watch = started(2);
  const pool = new WorkerPool<Req, Rep>(ENTRY, 2, { channel: CHANNEL });
  try {
    await watch.done;
    await assert.rejects(pool.run({ die: true }), /exited \(code 3\)/);
    const reps = await Promise.all(Array.from({ length: 4 }, () => pool.run({ wait: 10 })));
    assert.equal(reps.length, 4);
    assert.ok(reps.every((r) => r && typeof r.thread === 'number'));
  } finally {
    watch.close();
    await pool.close();
  }
});

test('a closed pool sends nothing: a chunk after close resolves to null', async () => {
  const pool = new WorkerPool<Req, Rep>(ENTRY, 1, { channel: CHANNEL });
  await pool.close();
  assert.equal(await pool.run({}), null);
});
