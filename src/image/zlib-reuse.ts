/**
 * Sync zlib deflate/inflate over one reused zlib stream per thread, instead of a new one per call.
 *
 * Why: `zlib.deflateSync`/`inflateSync` build a whole `zlib.Deflate`/`Inflate` per call (a
 * stream.Transform, a native handle, zlib's own init, a 16 KB output chunk) and close it again.
 * A build worker at 64 px encodes ~5,400 and decodes ~5,600 PNGs, where the compression itself
 * is tiny, so that set-up is a large share of each call; measured on this (slow, shared) machine
 * over real 64 px pixels (see the commit that added this module for the figures): construction
 * + close ~24 us per call against ~70 us for a whole level-0 deflate of 12 KB.
 * Node has no public API to reuse a sync zlib handle, so this drives the handle of one
 * `zlib.Deflate` per (level, strategy) and one `zlib.Inflate` per window size the way Node's
 * own `processChunkSync` (lib/zlib.js, v20) does: `_handle.writeSync(flush, in, inOff, inLen,
 * out, outOff, outLen)`, the counts left in `_writeState`, then `_handle.reset()` for the next
 * stream (deflateReset/inflateReset: the next stream's bytes are those of a fresh one; tested
 * byte for byte against the public calls in test/image-encode.test.ts and image-decode.test.ts).
 *
 * Safety: the internal shape is checked once per thread (the methods and the `_writeState`
 * there, and a round trip that must give the public calls' bytes); when it is not there, or
 * anything throws that is not a zlib error reported by the handle, this module falls back to
 * the public `zlib.deflateSync`/`inflateSync` for good (on this thread). A zlib error (a corrupt
 * or truncated stream) is thrown as Node would throw it (an Error with `code` and `errno`), and
 * the stream that reported it is dropped (closed; the next call makes a new one). Set
 * AUGMENT_ZLIB_REUSE=0 to use the public calls only (or `setZlibReuse(false)` in tests).
 */
import { kMaxLength } from 'node:buffer';
import * as zlib from 'node:zlib';

const { Z_FINISH } = zlib.constants;

/** The parts of a zlib stream's internals that this module drives. */
interface Handle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  close(): void;
  onerror: unknown;
}

interface Engine {
  handle: Handle;
  state: Uint32Array;
  /** the zlib error the handle reported during the current call, if any */
  error: Error | undefined;
}

let enabled: boolean | undefined; // undefined: not checked yet on this thread
const deflaters = new Map<number, Engine>(); // key: level * 16 + strategy
const inflaters: Array<Engine | undefined> = []; // index: window bits (8-15)
let outScratch: Buffer = Buffer.allocUnsafeSlow(0);

function makeEngine(stream: zlib.Deflate | zlib.Inflate): Engine {
  const s = stream as unknown as { _handle?: Handle; _writeState?: Uint32Array };
  const handle = s._handle;
  const state = s._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || typeof handle.reset !== 'function' || typeof handle.close !== 'function' || !('onerror' in handle)) {
    throw new Error('zlib internals not there');
  }
  if (!(state instanceof Uint32Array) || state.length !== 2) throw new Error('zlib internals not there');
  const engine: Engine = { handle, state, error: undefined };
  // Node's own onerror destroys the stream (and emits 'error' later); this one keeps the error
  // for the call to throw, as processChunkSync does, and the call then drops the engine.
  handle.onerror = (message: string, errno: number, code: string) => {
    engine.error = Object.assign(new Error(message), { errno, code });
  };
  return engine;
}

function drop(engine: Engine): void {
  try {
    engine.handle.close();
  } catch {
    // already closed: nothing to free
  }
}

/** A deflater for (level, strategy), made the first time it is asked for. */
function deflater(level: number, strategy: number): Engine {
  const key = level * 16 + strategy;
  let e = deflaters.get(key);
  if (!e) {
    e = makeEngine(new zlib.Deflate({ level, strategy }));
    deflaters.set(key, e);
  }
  return e;
}

function inflater(windowBits: number): Engine {
  let e = inflaters[windowBits];
  if (!e) inflaters[windowBits] = e = makeEngine(new zlib.Inflate({ windowBits }));
  return e;
}

/** Node's zlib output chunk (Z_DEFAULT_CHUNK): processChunkSync gives each writeSync this much room. */
const CHUNK = 16 * 1024;

/**
 * Run one whole stream (Z_FINISH) through `engine` into `out` from offset 0, growing it (a new
 * buffer, the bytes so far copied) when it is full. `chunked`: give each writeSync exactly
 * CHUNK bytes of room, as Node does (deflate's stored blocks, level 0, are cut to the room
 * there is, so the same room is what makes the same bytes); else all the room `out` has.
 * Returns the output buffer and its length; throws the zlib error the handle reported, or a
 * RangeError (ERR_BUFFER_TOO_LARGE) when the output passes `max` bytes. Resets the engine
 * for the next call when it succeeds; drops it (and `forget`s it) when it does not.
 */
function run(engine: Engine, input: Uint8Array, out: Buffer, max: number, chunked: boolean, forget: () => void): { out: Buffer; length: number } {
  const { handle, state } = engine;
  let inOff = 0;
  let availIn = input.byteLength;
  let offset = 0;
  let ok = false;
  try {
    while (true) {
      if (out.length - offset < (chunked ? CHUNK : 1)) {
        const bigger = Buffer.allocUnsafeSlow(Math.min(Math.max(out.length * 2, offset + (chunked ? CHUNK : 1024)), chunked ? Infinity : max + 1));
        if (bigger.length <= offset) throw tooLarge(max);
        out.copy(bigger, 0, 0, offset);
        out = bigger;
      }
      const availOut = chunked ? CHUNK : out.length - offset;
      engine.error = undefined;
      handle.writeSync(Z_FINISH, input, inOff, availIn, out, offset, availOut);
      if (engine.error) throw engine.error;
      const availOutAfter = state[0];
      const availInAfter = state[1];
      if (availOutAfter > availOut || availInAfter > availIn) throw new Error('zlib internals: bad write state');
      inOff += availIn - availInAfter;
      availIn = availInAfter;
      offset += availOut - availOutAfter;
      if (offset > max) throw tooLarge(max);
      if (availOutAfter !== 0) break; // zlib had room left: the stream is finished
    }
    handle.reset();
    ok = true;
    return { out, length: offset };
  } finally {
    if (!ok) {
      forget();
      drop(engine);
    }
  }
}

function tooLarge(max: number): RangeError {
  return Object.assign(new RangeError(`Cannot create a Buffer larger than ${max} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' });
}

/** A zlib error as the handle reports it (thrown on to the caller, the fast path stays on). */
function isZlibError(err: unknown, engine: Engine | undefined): boolean {
  return (
    err instanceof Error &&
    ((engine !== undefined && err === engine.error) || (err instanceof RangeError && (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'))
  );
}

/**
 * `zlib.deflateSync(input, { level, strategy })`, same bytes. The answer is a view of a buffer
 * this module reuses: valid until the next `deflateReuse` call on this thread (copy it out).
 */
export function deflateReuse(input: Uint8Array, level: number, strategy: number): Buffer {
  if (fastPath()) {
    let engine: Engine | undefined;
    try {
      engine = deflater(level, strategy);
      const key = level * 16 + strategy;
      // room for the input stored (5 bytes a 16 KB block) and a chunk more, so that a call
      // rarely grows it
      const guess = input.byteLength + (input.byteLength >> 10) + CHUNK;
      if (outScratch.length < guess) outScratch = Buffer.allocUnsafeSlow(Math.max(guess, outScratch.length * 2));
      const r = run(engine, input, outScratch, Number.MAX_SAFE_INTEGER, true, () => deflaters.delete(key));
      outScratch = r.out;
      return r.out.subarray(0, r.length);
    } catch (err) {
      if (isZlibError(err, engine)) throw err;
      enabled = false; // unexpected: the internals are not what they were; the public call from now on
    }
  }
  return zlib.deflateSync(input, { level, strategy });
}

/**
 * `zlib.inflateSync(input, { maxOutputLength })`: the inflated bytes in a buffer of their own
 * (fresh, never reused: callers may keep it), or the same kind of error (a zlib Error with its
 * code, or ERR_BUFFER_TOO_LARGE past `maxOutputLength`; when a stream is both too long and
 * corrupt further on, which of the two is thrown may differ from Node's). `sizeHint`: the
 * expected size, so that the output buffer is allocated once at that size (+1, to see the end).
 */
export function inflateReuse(input: Uint8Array, maxOutputLength?: number, sizeHint = 16384): Buffer {
  // The zlib header's window size picks the inflater: made with that window, it behaves as
  // Node's (windowBits 0: the header's). Anything not a plain zlib header: the public call.
  const cmf = input[0], flg = input[1];
  const max = maxOutputLength ?? kMaxLength;
  if (fastPath() && max >= 1 && max <= kMaxLength && input.byteLength >= 2 && (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0) {
    const bits = (cmf >> 4) + 8;
    let engine: Engine | undefined;
    try {
      engine = inflater(bits);
      const first = Buffer.allocUnsafeSlow(Math.max(1, Math.min(sizeHint + 1, max + 1)));
      const r = run(engine, input, first, max, false, () => (inflaters[bits] = undefined));
      return r.length === r.out.length ? r.out : r.out.subarray(0, r.length);
    } catch (err) {
      if (isZlibError(err, engine)) throw err;
      enabled = false;
    }
  }
  return maxOutputLength === undefined ? zlib.inflateSync(input) : zlib.inflateSync(input, { maxOutputLength } as zlib.ZlibOptions);
}

/** Whether the reused streams are in use on this thread (checks the internals the first time). */
export function zlibReuseActive(): boolean {
  return fastPath();
}

/**
 * Tests: turn the reused streams off (the public calls only) or back on (checked again).
 * Returns whether they are active now.
 */
export function setZlibReuse(on: boolean): boolean {
  enabled = on ? undefined : false;
  return fastPath();
}

function fastPath(): boolean {
  if (enabled === undefined) enabled = process.env.AUGMENT_ZLIB_REUSE !== '0' && selfCheck();
  return enabled;
}

/** The internals are there and give the public calls' bytes on a small stream. */
function selfCheck(): boolean {
  enabled = true; // for the calls below
  try {
    const sample = Buffer.alloc(3000);
    for (let i = 0; i < sample.length; i++) sample[i] = (i * 7) % 13 < 5 ? 0 : (i * 31) & 0xff;
    const level = 1, strategy = zlib.constants.Z_RLE;
    const want = zlib.deflateSync(sample, { level, strategy });
    for (let k = 0; k < 2; k++) {
      // twice: the second time through a reset stream
      const got = deflateReuse(sample, level, strategy);
      if (enabled !== true || !got.equals(want)) return false;
      const back = inflateReuse(got, sample.length, sample.length);
      if (enabled !== true || !back.equals(sample)) return false;
    }
    return true;
  } catch {
    return false;
  }
}
