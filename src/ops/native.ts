/**
 * The ops' pixel loops compiled from C (`./native/ops.c`, built by scripts/build-ops-wasm.sh
 * into the committed `./native/ops.wasm`): colour jitter (table, saturation, hue), invert,
 * hflip, the warp (nearest and bilinear) and the Gaussian blur; and the scan's perceptual hash
 * (`phashNative`, for ../dataset/phash.ts).
 *
 * An op's kernel is a `NativeStep` (what `AugmentOp.native` returns); `runNative` copies an
 * image into the module's memory once, runs any number of steps on it there (two image slots,
 * each step reading one and writing the other) and copies the result out once, so a chain of
 * ops (`applyOps`) pays one copy in and one allocation, not one per op.
 *
 * Determinism: the module's integer kernels are exact and its f64 kernels do the JS loops'
 * arithmetic step for step (no fused multiply-adds), so they give the JS loops' bytes; the
 * bilinear warp reads f32 positions (1/2048 px) with integer weights, within one level of the
 * f64 JS loop and the same on every machine. Every wrapper returns undefined where the module cannot load
 * (no WebAssembly SIMD) or its memory cannot grow; the callers then run their JS loops.
 * One instance (and one memory) per thread, sized by the largest image and scratch seen.
 */
import { readFileSync } from 'node:fs';
import { createRaw, type RawImage, type Rgb } from '../image/raw.ts';

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  lut(src: number, dst: number, n: number, table: number): void;
  hist3(src: number, npix: number, hist: number): void;
  sums3(src: number, npix: number, out: number): void;
  saturate(src: number, dst: number, npix: number, f: number): void;
  hue(src: number, dst: number, npix: number, shift: number): void;
  invert(src: number, dst: number, n: number): void;
  hflip(src: number, dst: number, w: number, h: number): void;
  warp_nearest(src: number, dst: number, w: number, h: number, spans: number, m: number, fill: number, projective: number, invert: number): void;
  blur(src: number, dst: number, w: number, h: number, kx: number, kw: number, ky: number, kh: number, tmp: number): void;
  warp_bilinear(src: number, dst: number, w: number, h: number, spans: number, m: number, fill: number, projective: number, invert: number, pad: number): void;
  phash(src: number, w: number, h: number, xs: number, xi: number, xw: number, ys: number, yc: number, yw: number, cos: number, grey: number, thumb: number, d: number, hex: number): void;
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
/** Slack after every buffer: the kernels read and write up to 16 bytes past an end. */
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

/** Where a step runs: the image's size, its two slots (read `src`, write `dst`) and its scratch. */
export interface Run {
  readonly e: Exports;
  readonly w: number;
  readonly h: number;
  readonly src: number;
  readonly dst: number;
  /** `NativeStep.scratch` bytes (with slack), 64-byte aligned. */
  readonly scratch: number;
}

/** One op's kernel(s) on a resident image: reads `src`, writes all of `dst`. */
export interface NativeStep {
  /** Scratch bytes it needs, given the image size it was made for. */
  readonly scratch: number;
  run(r: Run): void;
  /** True for a step that changes nothing (the runner skips it). */
  readonly identity?: boolean;
  /** This step followed by `invertStep`, as one step (the runner fuses the two). */
  readonly thenInvert?: () => NativeStep;
}

export const IDENTITY_STEP: NativeStep = { scratch: 0, run: () => {}, identity: true };

/**
 * Copy `img` in, run `steps` in order on it in the module's memory, copy the result out: into
 * `into` where it is given and has the image's size (the result's data is then `into`), else
 * into a fresh buffer. Undefined where the module cannot load or grow (the caller runs its JS
 * loops instead).
 */
export function runNative(img: RawImage, steps: readonly NativeStep[], into?: Uint8Array): RawImage | undefined {
  const m = load();
  if (!m) return undefined;
  const n = img.data.length;
  const slot = align(n + SLACK);
  const scratch = Math.max(0, ...steps.map((s) => s.scratch));
  const A = m.base, B = A + slot, S = B + slot;
  const mem = memory(m.e, S + align(scratch + SLACK));
  if (!mem) return undefined;
  new Uint8Array(mem).set(img.data, A);
  let src = A, dst = B;
  for (let i = 0; i < steps.length; i++) {
    let step = steps[i];
    if (step.identity) continue;
    if (step.thenInvert && steps[i + 1] === invertStep) {
      step = step.thenInvert();
      i++;
    }
    step.run({ e: m.e, w: img.width, h: img.height, src, dst, scratch: S });
    [src, dst] = [dst, src];
  }
  if (into && into.length === n) {
    into.set(new Uint8Array(m.e.memory.buffer, src, n));
    return createRaw(img.width, img.height, into);
  }
  return createRaw(img.width, img.height, new Uint8Array(m.e.memory.buffer).slice(src, src + n));
}

/** Offsets of consecutive scratch areas of `sizes` bytes, each 64-byte aligned, from `base`. */
function areas(base: number, sizes: number[]): number[] {
  const at: number[] = [];
  for (const s of sizes) {
    at.push(base);
    base = align(base + s + SLACK);
  }
  return at;
}
const areasSize = (sizes: number[]) => sizes.reduce((t, s) => t + align(s + SLACK), 0);

/** 255 - v on every byte. */
export const invertStep: NativeStep = { scratch: 0, run: (r) => r.e.invert(r.src, r.dst, r.w * r.h * 3) };

/** Mirror left-right. */
export const hflipStep: NativeStep = { scratch: 0, run: (r) => r.e.hflip(r.src, r.dst, r.w, r.h) };

export const invertNative = (img: RawImage) => runNative(img, [invertStep]);
export const hflipNative = (img: RawImage) => runNative(img, [hflipStep]);

/** One step of colorJitter, as `./colorJitter.ts` runs them. */
export type JitterStep =
  | { kind: 'table'; table: (sums: () => [number, number, number]) => Uint8Array }
  | { kind: 'saturation'; factor: number }
  | { kind: 'hue'; shift: number };

/**
 * Colour steps on one image: the first kernel reads `src` and writes `dst`, the rest run in
 * place on `dst`. A `table` step builds its 256-entry table from the current image's channel
 * sums (asked for only when needed: contrast's mean). A run of consecutive table steps becomes
 * one table and one pass: their sums come from the histogram of the run's input through the
 * tables so far, which is exactly the sum over the image they would have been applied to.
 */
export function jitterStep(steps: readonly JitterStep[]): NativeStep {
  if (steps.length === 0) return IDENTITY_STEP;
  const sizes = [256, 5 * 768 * 4, 24]; // table; histograms (the result, then hist3's four sub-histograms); sums
  return {
    scratch: areasSize(sizes),
    run: (r) => {
      const [T, H, S] = areas(r.scratch, sizes);
      const { e, w, h } = r;
      const npix = w * h;
      let from = r.src;
      for (let i = 0; i < steps.length; ) {
        const s = steps[i];
        if (s.kind !== 'table') {
          if (s.kind === 'saturation') e.saturate(from, r.dst, npix, s.factor);
          else e.hue(from, r.dst, npix, s.shift);
          from = r.dst;
          i++;
          continue;
        }
        let composed: Uint8Array | undefined; // undefined: the identity so far
        let hist: Uint32Array | undefined;
        const at = from;
        const sums = (): [number, number, number] => {
          if (!composed && !hist) {
            // no table yet: the sums of the image itself, one SIMD pass (no histogram)
            e.sums3(at, npix, S);
            const f = new Float64Array(e.memory.buffer, S, 3);
            return [f[0], f[1], f[2]];
          }
          if (!hist) {
            e.hist3(at, npix, H);
            hist = new Uint32Array(e.memory.buffer, H, 768).slice();
          }
          const out: [number, number, number] = [0, 0, 0];
          for (let c = 0; c < 3; c++) {
            let t = 0;
            for (let v = 0; v < 256; v++) t += hist[c * 256 + v] * (composed ? composed[v] : v);
            out[c] = t;
          }
          return out;
        };
        for (; i < steps.length && steps[i].kind === 'table'; i++) {
          const t = (steps[i] as Extract<JitterStep, { kind: 'table' }>).table(sums);
          composed = composed ? composed.map((v) => t[v]) : t;
        }
        new Uint8Array(e.memory.buffer).set(composed!, T);
        e.lut(from, r.dst, w * h * 3, T);
        from = r.dst;
      }
    },
  };
}

export const jitterNative = (img: RawImage, steps: readonly JitterStep[]) => runNative(img, [jitterStep(steps)]);

/**
 * Resample through inverse map `m`; pixels of row y outside [spans[2y], spans[2y+1]) get
 * `fill`. Nearest: the bytes of `resampleJs` in `./warp.ts`; bilinear: fixed point, within one
 * level of it. `invert`: 255 - v on every output byte (the invert op fused in).
 */
export function warpStep(m: readonly number[], spans: Int32Array, bilinear: boolean, fill: Rgb, width: number, invert = false): NativeStep {
  const h = spans.length >> 1;
  const sizes = [4 * spans.length, 72, 4, bilinear ? (width + 4) * (h + 4) * 6 + 36 * (width + 8) + 128 : 0];
  return {
    scratch: areasSize(sizes),
    run: (r) => {
      const [SPANS, MAT, FILL, PAD] = areas(r.scratch, sizes);
      const mem = r.e.memory.buffer;
      new Int32Array(mem, SPANS, spans.length).set(spans);
      const mat = new Float64Array(mem, MAT, 9);
      for (let i = 0; i < 9; i++) mat[i] = m[i];
      const u8 = new Uint8Array(mem, FILL, 3);
      u8[0] = fill[0];
      u8[1] = fill[1];
      u8[2] = fill[2];
      const projective = m[6] !== 0 || m[7] !== 0 || m[8] !== 1 ? 1 : 0;
      if (bilinear) r.e.warp_bilinear(r.src, r.dst, r.w, r.h, SPANS, MAT, FILL, projective, invert ? 1 : 0, PAD);
      else r.e.warp_nearest(r.src, r.dst, r.w, r.h, SPANS, MAT, FILL, projective, invert ? 1 : 0);
    },
    thenInvert: invert ? undefined : () => warpStep(m, spans, bilinear, fill, width, true),
  };
}

export const warpNative = (img: RawImage, m: readonly number[], spans: Int32Array, bilinear: boolean, fill: Rgb) => runNative(img, [warpStep(m, spans, bilinear, fill, img.width)]);

/** A symmetric kernel without its outer taps of weight 0 (they add nothing: the same bytes, less work). */
function trimKernel(k: Int16Array): Int16Array {
  let a = 0;
  while (2 * a + 1 < k.length && k[a] === 0) a++;
  return k.subarray(a, k.length - a);
}

/**
 * Separable blur, reflect padding, with symmetric i16 weights `kx`, `ky` in 1/32768ths (see
 * `quantiseKernel` in `./gaussianBlur.ts`), for images `width` wide. Integer fixed point, exact.
 * Outer taps of weight 0 are dropped; where only the centre is left in both (sigma below ~0.2
 * for 5 x 9) the blur is the identity and the step is skipped.
 */
export function blurStep(kx: Int16Array, ky: Int16Array, width: number): NativeStep {
  kx = trimKernel(kx);
  ky = trimKernel(ky);
  if (kx.length === 1 && ky.length === 1 && kx[0] === 32767 && ky[0] === 32767) return IDENTITY_STEP;
  const sizes = [2 * kx.length, 2 * ky.length, 2 * ((width + kx.length) * 3 + 16)];
  return {
    scratch: areasSize(sizes),
    run: (r) => {
      const [KX, KY, TMP] = areas(r.scratch, sizes);
      new Int16Array(r.e.memory.buffer, KX, kx.length).set(kx);
      new Int16Array(r.e.memory.buffer, KY, ky.length).set(ky);
      r.e.blur(r.src, r.dst, r.w, r.h, KX, kx.length, KY, ky.length, TMP);
    },
  };
}

export const blurNative = (img: RawImage, kx: Int16Array, ky: Int16Array) => runNative(img, [blurStep(kx, ky, img.width)]);

/** The area weights `phashNative` reads (../dataset/phash.ts `areaWeights` of the width and of the height). */
export interface PhashTables {
  /** Along x: cell k is grey pixels index[start[k]] .. index[start[k + 1] - 1], times weight[e]. */
  xStart: Int32Array;
  xIndex: Int32Array;
  xWeight: Float64Array;
  /** Along y: source row i goes into thumbnail rows cell[start[i]] .. cell[start[i + 1] - 1], times weight[e]. */
  yStart: Int32Array;
  yCell: Int32Array;
  yWeight: Float64Array;
  /** cos(pi (2x + 1) u / 64) as cos[u * 32 + x], u < 8. */
  cos: Float64Array;
}

/**
 * The scan's 8 dihedral pHashes of `img` (128 hex digits), computed by ops.c `phash`: the bits
 * of ../dataset/phash.ts `perceptualHash`, which is its JS form (the same f64 sums in the same
 * order). `thumb`, where given (1024 values), receives the 32 x 32 grey thumbnail. Undefined
 * where the module cannot load or grow.
 */
export function phashNative(img: RawImage, t: PhashTables, thumb?: Float64Array): string | undefined {
  const m = load();
  if (!m) return undefined;
  const { width: w, height: h } = img;
  const sizes = [img.data.length, 4 * t.xStart.length, 4 * t.xIndex.length, 8 * t.xWeight.length, 4 * t.yStart.length, 4 * t.yCell.length, 8 * t.yWeight.length, 8 * t.cos.length, 8 * (w + 32), 8 * 1024, 8 * 64, 128];
  const [SRC, XS, XI, XW, YS, YC, YW, COS, GREY, THUMB, D, HEX] = areas(m.base, sizes);
  const mem = memory(m.e, HEX + align(128 + SLACK));
  if (!mem) return undefined;
  new Uint8Array(mem, SRC, img.data.length).set(img.data);
  new Int32Array(mem, XS, t.xStart.length).set(t.xStart);
  new Int32Array(mem, XI, t.xIndex.length).set(t.xIndex);
  new Float64Array(mem, XW, t.xWeight.length).set(t.xWeight);
  new Int32Array(mem, YS, t.yStart.length).set(t.yStart);
  new Int32Array(mem, YC, t.yCell.length).set(t.yCell);
  new Float64Array(mem, YW, t.yWeight.length).set(t.yWeight);
  new Float64Array(mem, COS, t.cos.length).set(t.cos);
  m.e.phash(SRC, w, h, XS, XI, XW, YS, YC, YW, COS, GREY, THUMB, D, HEX);
  if (thumb) thumb.set(new Float64Array(m.e.memory.buffer, THUMB, 1024));
  return Buffer.from(m.e.memory.buffer, HEX, 128).toString('latin1');
}
