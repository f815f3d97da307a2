/**
 * The ops' pixel loops compiled from C (`./native/ops.c`, built by scripts/build-ops-wasm.sh
 * into the committed `./native/ops.wasm`): colour jitter (table, saturation, hue), invert,
 * hflip, the warp (nearest and bilinear) and the Gaussian blur. Each wrapper copies the image into the module's
 * memory, runs one kernel (or a few, in place) and copies the result out.
 *
 * Determinism: the module's integer kernels are exact and its f64 kernels do the JS loops'
 * arithmetic step for step (no fused multiply-adds), so they give the JS loops' bytes; the
 * bilinear warp is fixed point (1/2048-pixel weights), within one level of the f64 JS loop
 * and the same on every machine. Every wrapper returns undefined where the module cannot load
 * (no WebAssembly SIMD) or its memory cannot grow; the callers then run their JS loops.
 * One instance (and one memory) per thread, sized by the largest image seen.
 */
import { readFileSync } from 'node:fs';
import { createRaw, type RawImage, type Rgb } from '../image/raw.ts';

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  lut(src: number, dst: number, n: number, table: number): void;
  sums3(src: number, npix: number, out: number): void;
  hist3(src: number, npix: number, hist: number): void;
  saturate(src: number, dst: number, npix: number, f: number): void;
  hue(src: number, dst: number, npix: number, shift: number): void;
  invert(src: number, dst: number, n: number): void;
  hflip(src: number, dst: number, w: number, h: number): void;
  warp_nearest(src: number, dst: number, w: number, h: number, spans: number, m: number, fill: number, projective: number): void;
  blur(src: number, dst: number, w: number, h: number, kx: number, kw: number, ky: number, kh: number, tmp: number): void;
  warp_bilinear(src: number, dst: number, w: number, h: number, spans: number, m: number, fill: number, projective: number): void;
}

let mod: { e: Exports; base: number } | null | undefined;

function load(): { e: Exports; base: number } | null {
  if (mod !== undefined) return mod;
  try {
    if (process.env.AUGMENT_NO_NATIVE_OPS) throw new Error('AUGMENT_NO_NATIVE_OPS is set');
    const bytes = readFileSync(new URL('./native/ops.wasm', import.meta.url));
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const e = inst.exports as unknown as Exports;
    mod = { e, base: align(e.__heap_base.value as number) };
  } catch (err) {
    if (process.env.AUGMENT_DEBUG_WASM) console.error(err);
    mod = null;
  }
  return mod;
}

/** Whether the compiled kernels loaded (false: the JS loops run). */
export const hasNativeOps = () => load() !== null;

const align = (n: number) => (n + 63) & ~63;
/** Slack after every buffer: the kernels read up to 16 bytes and write up to 4 past an end. */
const SLACK = 64;

/** The memory, grown to hold `bytes` past the heap base; undefined if it cannot grow. */
function memory(e: Exports, bytes: number): ArrayBuffer | undefined {
  const need = Math.ceil(bytes / 65536) - e.memory.buffer.byteLength / 65536;
  try {
    if (need > 0) e.memory.grow(need);
  } catch {
    return undefined;
  }
  return e.memory.buffer;
}

/**
 * Lay out `sizes` (bytes) from the heap base, each aligned with slack; copy `img` into the
 * first. Returns the offsets and the memory, or undefined.
 */
function layout(img: RawImage, sizes: number[]): { at: number[]; mem: ArrayBuffer; e: Exports } | undefined {
  const m = load();
  if (!m) return undefined;
  const at: number[] = [];
  let p = m.base;
  for (const s of [img.data.length, ...sizes]) {
    at.push(p);
    p = align(p + s + SLACK);
  }
  const mem = memory(m.e, p);
  if (!mem) return undefined;
  new Uint8Array(mem).set(img.data, at[0]);
  return { at, mem, e: m.e };
}

const out = (mem: ArrayBuffer, at: number, img: RawImage) => createRaw(img.width, img.height, new Uint8Array(mem).slice(at, at + img.data.length));

/** 255 - v on every byte. */
export function invertNative(img: RawImage): RawImage | undefined {
  const L = layout(img, [img.data.length]);
  if (!L) return undefined;
  L.e.invert(L.at[0], L.at[1], img.data.length);
  return out(L.mem, L.at[1], img);
}

/** Mirror left-right. */
export function hflipNative(img: RawImage): RawImage | undefined {
  const L = layout(img, [img.data.length]);
  if (!L) return undefined;
  L.e.hflip(L.at[0], L.at[1], img.width, img.height);
  return out(L.mem, L.at[1], img);
}

/** One step of colorJitter, as `./colorJitter.ts` runs them. */
export type JitterStep =
  | { kind: 'table'; table: (sums: () => [number, number, number]) => Uint8Array }
  | { kind: 'saturation'; factor: number }
  | { kind: 'hue'; shift: number };

/**
 * Run colour steps in place on one copy of `img`. A `table` step builds its 256-entry table
 * from the current image's channel sums (asked for only when needed: contrast's mean).
 */
export function jitterNative(img: RawImage, steps: readonly JitterStep[]): RawImage | undefined {
  const L = layout(img, [256, 24]);
  if (!L) return undefined;
  const [A, T, S] = L.at;
  const npix = img.width * img.height;
  const e = L.e;
  for (const s of steps) {
    if (s.kind === 'table') {
      const table = s.table(() => {
        e.sums3(A, npix, S);
        const f = new Float64Array(e.memory.buffer, S, 3);
        return [f[0], f[1], f[2]];
      });
      new Uint8Array(e.memory.buffer).set(table, T);
      e.lut(A, A, img.data.length, T);
    } else if (s.kind === 'saturation') e.saturate(A, A, npix, s.factor);
    else e.hue(A, A, npix, s.shift);
  }
  return out(e.memory.buffer, A, img);
}

/**
 * Resample `img` through inverse map `m`; pixels of row y outside [spans[2y], spans[2y+1])
 * get `fill`. Nearest: the bytes of `resampleJs` in `./warp.ts`; bilinear: fixed point,
 * within one level of it.
 */
export function warpNative(img: RawImage, m: readonly number[], spans: Int32Array, bilinear: boolean, fill: Rgb): RawImage | undefined {
  const { width: w, height: h } = img;
  const L = layout(img, [img.data.length, 8 * h, 72, 4]);
  if (!L) return undefined;
  const [SRC, DST, SPANS, MAT, FILL] = L.at;
  new Int32Array(L.mem, SPANS, 2 * h).set(spans);
  new Float64Array(L.mem, MAT, 9).set(m);
  new Uint8Array(L.mem).set(fill, FILL);
  const projective = m[6] !== 0 || m[7] !== 0 || m[8] !== 1 ? 1 : 0;
  (bilinear ? L.e.warp_bilinear : L.e.warp_nearest)(SRC, DST, w, h, SPANS, MAT, FILL, projective);
  return out(L.mem, DST, img);
}

/**
 * Separable blur, reflect padding, with symmetric i16 weights `kx`, `ky` in 1/32768ths (see
 * `quantiseKernel` in `./gaussianBlur.ts`). Integer fixed point, exact.
 */
export function blurNative(img: RawImage, kx: Int16Array, ky: Int16Array): RawImage | undefined {
  const { width: w, height: h } = img;
  const L = layout(img, [img.data.length, 2 * kx.length, 2 * ky.length, 2 * ((w + kx.length) * 3 + 16)]);
  if (!L) return undefined;
  const [SRC, DST, KX, KY, TMP] = L.at;
  new Int16Array(L.mem, KX, kx.length).set(kx);
  new Int16Array(L.mem, KY, ky.length).set(ky);
  L.e.blur(SRC, DST, w, h, KX, kx.length, KY, ky.length, TMP);
  return out(L.mem, DST, img);
}
