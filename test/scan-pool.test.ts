/**
 * The worker pool (src/variant/pool.ts) that runs the scan's decode checks and the build: all its
 * workers start when it is made, before any chunk (so their start-up overlaps the source walk),
 * chunks spread over them, and a worker that dies is replaced. A pre-started pool (the CLI's,
 * before its config is known) is configured by its first message, handed over once, resized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { BroadcastChannel } from 'node:worker_threads';
import { discardPrestarted, WorkerPool } from '../src/variant/pool.ts';

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

/** The thread ids announced on `channel` until `n` have started (or the wait runs out). */
function started(n: number, channel = CHANNEL, ms = 60_000): { done: Promise<number[]>; close: () => void } {
  const bc = new BroadcastChannel(channel);
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

// A pre-started pool (WorkerPool.prestart, as the CLI starts the build's threads): its workers
// start with no workerData and take their config as their first message; each announces its
// thread on CHANNEL2 as it starts, and answers { id, thread, tag } with its config's tag.
const CHANNEL2 = `scan-pool-prestart-${process.pid}`;
const ENTRY2 = new URL(
  `data:text/javascript,${encodeURIComponent(`
    import { parentPort, threadId, BroadcastChannel, workerData } from 'node:worker_threads';
    const bc = new BroadcastChannel(${JSON.stringify(CHANNEL2)});
    bc.postMessage(threadId);
    bc.close();
    let cfg = workerData ?? undefined;
    // as src/variant/worker.ts: the config is the first message (a request before it throws here)
    parentPort.on('message', (m) => {
      if ('config' in m) cfg = m.config;
      else parentPort.postMessage({ id: m.id, thread: threadId, tag: cfg.tag });
    });
  `)}`,
);
type Rep2 = Rep & { tag: string };

/** `n` chunks of the pool's: the threads that answered and the tags they had. */
async function answers(pool: WorkerPool<Req, Rep2>, n: number) {
  const reps = await Promise.all(Array.from({ length: n }, () => pool.run({})));
  return { threads: new Set(reps.map((r) => r!.thread)), tags: new Set(reps.map((r) => r!.tag)) };
}

test('prestart: the workers start before any config; take hands them over, configured by their first message', async () => {
  const watch = started(2, CHANNEL2);
  WorkerPool.prestart(ENTRY2, 2);
  const ids = await watch.done; // started, nobody has taken them yet
  watch.close();
  const pool = WorkerPool.take<Req, Rep2>(ENTRY2, 2, { tag: 'a' }, { depth: 2 });
  try {
    const { threads, tags } = await answers(pool, 8);
    assert.deepEqual([...tags], ['a']);
    assert.ok([...threads].every((t) => ids.includes(t)), 'the pre-started threads answer');
    // taken once: the next take makes its own pool
    const other = WorkerPool.take<Req, Rep2>(ENTRY2, 1, { tag: 'b' });
    try {
      const o = await answers(other, 2);
      assert.deepEqual([...o.tags], ['b']);
      assert.ok([...o.threads].every((t) => !ids.includes(t)));
    } finally {
      await other.close();
    }
  } finally {
    await pool.close();
  }
});

test('take resizes a pre-started pool: extra workers ended, missing ones started with the config', async () => {
  WorkerPool.prestart(ENTRY2, 3);
  const small = WorkerPool.take<Req, Rep2>(ENTRY2, 1, { tag: 's' });
  try {
    const { threads, tags } = await answers(small, 6);
    assert.equal(threads.size, 1);
    assert.deepEqual([...tags], ['s']);
  } finally {
    await small.close();
  }
  WorkerPool.prestart(ENTRY2, 1);
  const big = WorkerPool.take<Req, Rep2>(ENTRY2, 3, { tag: 'g' });
  try {
    const reps = await Promise.all(Array.from({ length: 6 }, () => big.run({ wait: 0 })));
    assert.deepEqual([...new Set(reps.map((r) => r!.tag))], ['g']);
  } finally {
    await big.close();
  }
});

test('take of another entry, or after discardPrestarted, makes a new pool', async () => {
  const watch = started(1, CHANNEL2);
  WorkerPool.prestart(ENTRY2, 1);
  const [pre] = await watch.done;
  watch.close();
  const elsewhere = WorkerPool.take<Req, Rep>(ENTRY, 1, { channel: CHANNEL });
  await elsewhere.close();
  await discardPrestarted();
  const pool = WorkerPool.take<Req, Rep2>(ENTRY2, 1, { tag: 'n' });
  try {
    const { threads, tags } = await answers(pool, 2);
    assert.deepEqual([...tags], ['n']);
    assert.ok(!threads.has(pre), 'the discarded thread is not reused');
  } finally {
    await pool.close();
  }
});

test('a pre-started pool nobody takes does not keep the process alive', async () => {
  const code = `import { WorkerPool } from ${JSON.stringify(new URL('../src/variant/pool.ts', import.meta.url).href)};
    WorkerPool.prestart(new URL(${JSON.stringify(ENTRY2.href)}), 2);`;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 60_000 }, (e) => (e ? reject(e) : resolve()));
  });
  assert.ok(performance.now() - t0 < 30_000);
});
