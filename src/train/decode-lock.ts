/**
 * The fill lock of a decoded-image cache folder: one process at a time decodes into a folder,
 * so that two evaluate processes sharing it (two shards of a cluster job) decode each image
 * once; the second waits, then finds the first one's images.
 *
 * The lock is a file `<dir>/.fill.lock` created with O_EXCL holding `{ host, pid, token }`; its
 * holder touches it every few seconds. It is stale, and broken, when its holder is a dead
 * process on this host, or when it was not touched for `staleMs` (a holder on another host that
 * died). Correctness never depends on the lock (packs are immutable and renamed into place,
 * see decode-pack.ts); a lock broken by mistake only costs decoding twice.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AugmentError } from '../errors.ts';
import { hostTag } from './decode-pack.ts';

export const LOCK_NAME = '.fill.lock';
const DEFAULT_STALE_MS = 30_000;

export interface LockOptions {
  /** A lock not touched for this long is stale (default 30 s; the holder touches it every staleMs / 6). */
  staleMs?: number;
  /** Called once when another process holds the lock and this one starts waiting. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
}

interface Holder {
  host?: string;
  pid?: number;
  token?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === 'EPERM';
  }
}

/** Runs `fn` holding the fill lock of `dir` (which must exist). */
export async function withFillLock<T>(dir: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const file = join(dir, LOCK_NAME);
  const staleMs = o.staleMs ?? DEFAULT_STALE_MS;
  const me: Holder = { host: hostTag(), pid: process.pid, token: randomBytes(8).toString('hex') };
  let waited = false;
  for (let attempt = 0; ; attempt++) {
    if (o.signal?.aborted) throw new AugmentError('INTERRUPTED', `interrupted while waiting for the decode cache lock ${file}`);
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      break;
    } catch (e: any) {
      if (e?.code !== 'EEXIST') throw e;
    }
    const st = await stat(file).catch(() => undefined);
    if (!st) continue; // released meanwhile
    let holder: Holder = {};
    try {
      holder = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      /* being written, or torn by a crash: judged by its age */
    }
    const deadHere = holder.host === me.host && typeof holder.pid === 'number' && holder.pid !== process.pid && !alive(holder.pid);
    if (deadHere || Date.now() - st.mtimeMs > staleMs) {
      // move it aside first, so that of two processes breaking it only one removes it
      const aside = `${file}.${me.token}.stale`;
      await rename(file, aside).then(
        () => rm(aside, { force: true }),
        () => undefined,
      );
      continue;
    }
    if (!waited) {
      waited = true;
      o.onWait?.(holder.host ? `pid ${holder.pid} on ${holder.host}` : 'another process');
    }
    await sleep(Math.min(500, 50 + attempt * 25));
  }
  const beat = setInterval(() => {
    const t = new Date();
    utimes(file, t, t).catch(() => undefined);
  }, Math.max(50, Math.floor(staleMs / 6)));
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    // remove it only while it is still ours (a holder judged stale may have lost it)
    let now: Holder = {};
    try {
      now = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      /* gone, or another process's lock being written */
    }
    if (now.token === me.token) await rm(file, { force: true });
  }
}
