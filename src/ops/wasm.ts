/**
 * The hot loops of the blur and the warp in WebAssembly, assembled here from a few dozen
 * instructions: no toolchain, no binary blob, no dependency.
 *
 * - `blurSimd`: the Gaussian blur's two passes in SIMD (f32x4). The blur is the costliest op
 *   of the seed chain (5 x 9 taps on every channel value); as scalar JS it takes ~5x longer
 *   at 224 px. Float32 throughout (wasm never fuses multiply-adds), so the result is the
 *   same on every machine; it may differ from `blurJs` by one level on a rounding tie.
 * - `warpWasm`: the resampling loop of `./warp.ts`, scalar f64 with the JS path's arithmetic
 *   step for step, so the bytes are identical (tested); ~1.5x faster nearest-neighbour,
 *   about even bilinear.
 *
 * Both return undefined where WebAssembly (SIMD) is missing; callers then run the JS loops.
 * One module and one growable memory per thread (worker), sized by the largest image seen.
 */
import { createRaw, type RawImage } from '../image/raw.ts';

// ---- a minimal assembler ------------------------------------------------------------------

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;

/** Instruction emitters; memory immediates are (align log2, offset). */
const op = {
  block: () => [0x02, 0x40],
  loop: () => [0x03, 0x40],
  end: () => [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32Load: () => [0x28, 2, 0],
  f32Load: () => [0x2a, 2, 0],
  i32Load8u: () => [0x2d, 0, 0],
  f32Store: () => [0x38, 2, 0],
  i32Store8: () => [0x3a, 0, 0],
  i32: (v: number) => [0x41, ...sleb(v)],
  f32: (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  i32GeU: () => [0x4f],
  i32GtU: () => [0x4b],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Mul: () => [0x6c],
  f32Add: () => [0x92],
  f32Mul: () => [0x94],
  f32ConvertI32U: () => [0xb3],
  i32TruncSatF32U: () => [0xfc, 0x01],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const V = {
  load: () => op.simd(0x00, 4, 0),
  load8x8u: () => op.simd(0x02, 3, 0),
  store: () => op.simd(0x0b, 4, 0),
  store32lane0: () => op.simd(0x5a, 2, 0, 0),
  f32x4Splat: () => op.simd(0x13),
  i32x4ExtendLowI16x8U: () => op.simd(0xa9),
  i32x4ExtendHighI16x8U: () => op.simd(0xaa),
  f32x4ConvertI32x4U: () => op.simd(0xfb),
  i32x4TruncSatF32x4U: () => op.simd(0xf9),
  f32x4Add: () => op.simd(0xe4),
  f32x4Mul: () => op.simd(0xe6),
  i16x8NarrowI32x4U: () => op.simd(0x86),
  i8x16NarrowI16x8U: () => op.simd(0x66),
};

/** `for (i = from; i < to(); i += step) body` as block/loop (to and from are code). */
function forLoop(i: number, from: number[], to: number[], step: number, body: number[]): number[] {
  return [
    ...from, ...op.set(i),
    ...op.block(), ...op.loop(),
    ...op.get(i), ...to, ...op.i32GeU(), ...op.brIf(1),
    ...body,
    ...op.get(i), ...op.i32(step), ...op.i32Add(), ...op.set(i),
    ...op.br(0),
    ...op.end(), ...op.end(),
  ];
}

// ---- the kernels ----------------------------------------------------------------------------
//
// Memory layout, all offsets in bytes, chosen by the caller:
//   hpass(src, tmp, len, kx, kw, nrows, srcStride, tmpStride)   for each of nrows rows:
//       tmp[i] = sum_k src[i + 3k] * kx[k] for i in [0, len), len a multiple of 8; src rows
//       are reflect-padded copies, so element i's first tap is src[i]. May write up to 7
//       floats past a row (the next row overwrites them; the buffer has slack).
//   vpass(tmp, dst, len, rows, ky, kh, nrows, dstStride)        for each output row:
//       dst[i] = round(sum_k tmp[rows[k] + i] * ky[k]) for i in [0, len), len a multiple of 4;
//       rows holds kh byte offsets into tmp per row. May write up to 3 bytes past a row.

function hpass(): Func {
  // params: src, tmp, len, kx, kw, nrows, srcStride, tmpStride; locals: i, k, p, r, acc0, acc1, v, w
  const [src, tmp, len, kx, kw, nrows, srcStride, tmpStride, i, k, p, r, acc0, acc1, v, w] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const body = [
    ...op.f32(0), ...V.f32x4Splat(), ...op.tee(acc0), ...op.set(acc1),
    ...forLoop(k, op.i32(0), op.get(kw), 1, [
      // w = splat(kx[k]); p = src + i + 3k
      ...op.get(kx), ...op.get(k), ...op.i32(4), ...op.i32Mul(), ...op.i32Add(), ...op.f32Load(), ...V.f32x4Splat(), ...op.set(w),
      ...op.get(src), ...op.get(i), ...op.i32Add(), ...op.get(k), ...op.i32(3), ...op.i32Mul(), ...op.i32Add(), ...op.set(p),
      ...op.get(p), ...V.load8x8u(), ...op.set(v),
      ...op.get(acc0), ...op.get(v), ...V.i32x4ExtendLowI16x8U(), ...V.f32x4ConvertI32x4U(), ...op.get(w), ...V.f32x4Mul(), ...V.f32x4Add(), ...op.set(acc0),
      ...op.get(acc1), ...op.get(v), ...V.i32x4ExtendHighI16x8U(), ...V.f32x4ConvertI32x4U(), ...op.get(w), ...V.f32x4Mul(), ...V.f32x4Add(), ...op.set(acc1),
    ]),
    // tmp[i..i+8) = acc0, acc1
    ...op.get(tmp), ...op.get(i), ...op.i32(4), ...op.i32Mul(), ...op.i32Add(), ...op.tee(p), ...op.get(acc0), ...V.store(),
    ...op.get(p), ...op.i32(16), ...op.i32Add(), ...op.get(acc1), ...V.store(),
  ];
  const row = [
    ...forLoop(i, op.i32(0), op.get(len), 8, body),
    ...op.get(src), ...op.get(srcStride), ...op.i32Add(), ...op.set(src),
    ...op.get(tmp), ...op.get(tmpStride), ...op.i32Add(), ...op.set(tmp),
  ];
  return fn([I32, I32, I32, I32, I32, I32, I32, I32], [[4, I32], [4, V128]], forLoop(r, op.i32(0), op.get(nrows), 1, row));
}

function vpass(): Func {
  // params: tmp, dst, len, rows, ky, kh, nrows, dstStride; locals: i, k, y, acc, half
  const [tmp, dst, len, rows, ky, kh, nrows, dstStride, i, k, y, acc, half] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const body = [
    ...op.f32(0), ...V.f32x4Splat(), ...op.set(acc),
    ...forLoop(k, op.i32(0), op.get(kh), 1, [
      // acc += load(tmp + rows[k] + 4i) * splat(ky[k])
      ...op.get(acc),
      ...op.get(tmp), ...op.get(rows), ...op.get(k), ...op.i32(4), ...op.i32Mul(), ...op.i32Add(), ...op.i32Load(), ...op.i32Add(),
      ...op.get(i), ...op.i32(4), ...op.i32Mul(), ...op.i32Add(), ...V.load(),
      ...op.get(ky), ...op.get(k), ...op.i32(4), ...op.i32Mul(), ...op.i32Add(), ...op.f32Load(), ...V.f32x4Splat(),
      ...V.f32x4Mul(), ...V.f32x4Add(), ...op.set(acc),
    ]),
    // dst[i..i+4) = u8(trunc(acc + 0.5)), saturating
    ...op.get(dst), ...op.get(i), ...op.i32Add(),
    ...op.get(acc), ...op.get(half), ...V.f32x4Add(), ...V.i32x4TruncSatF32x4U(),
    ...op.tee(acc), ...op.get(acc), ...V.i16x8NarrowI32x4U(), ...op.tee(acc), ...op.get(acc), ...V.i8x16NarrowI16x8U(),
    ...V.store32lane0(),
  ];
  const row = [
    ...forLoop(i, op.i32(0), op.get(len), 4, body),
    ...op.get(rows), ...op.get(kh), ...op.i32(4), ...op.i32Mul(), ...op.i32Add(), ...op.set(rows),
    ...op.get(dst), ...op.get(dstStride), ...op.i32Add(), ...op.set(dst),
  ];
  return fn([I32, I32, I32, I32, I32, I32, I32, I32], [[3, I32], [2, V128]], [
    ...op.f32(0.5), ...V.f32x4Splat(), ...op.set(half),
    ...forLoop(y, op.i32(0), op.get(nrows), 1, row),
  ]);
}

// The warp: one call resamples a whole image through a 3x3 inverse map, row spans given.
//   warp(src, dst, w, h, spans, mat, fill, mode): for each row y, pixels outside
//   [spans[2y], spans[2y+1]) get the fill colour; inside, the map (f64[9] at mat) gives the
//   source position, read nearest (mode bit 1 clear) or bilinear (set); mode bit 0 = the map
//   is projective. The f64 arithmetic is the JS path's (`./warp.ts`) step for step, so both
//   give the same bytes.

type Code = number[];
const cat = (...c: Code[]): Code => c.flat();
const bin = (opc: Code) => (a: Code, b: Code): Code => cat(a, b, opc);
const I = {
  c: (v: number) => op.i32(v),
  add: bin([0x6a]), sub: bin([0x6b]), mul: bin([0x6c]), and: bin([0x71]),
  ltS: bin([0x48]), ltU: bin([0x49]), geS: bin([0x4e]),
  load: (a: Code) => cat(a, [0x28, 2, 0]),
  load8: (a: Code, offset = 0) => cat(a, [0x2d, 0, ...uleb(offset)]),
  store8: (a: Code, v: Code, offset = 0) => cat(a, v, [0x3a, 0, ...uleb(offset)]),
  truncS: (a: Code) => cat(a, [0xfc, 0x02]),
  truncU: (a: Code) => cat(a, [0xfc, 0x03]),
};
const F = {
  c: (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)],
  add: bin([0xa0]), sub: bin([0xa1]), mul: bin([0xa2]), div: bin([0xa3]),
  gt: bin([0x64]), le: bin([0x65]), ge: bin([0x66]),
  floor: (a: Code) => cat(a, [0x9c]),
  fromI: (a: Code) => cat(a, [0xb7]),
  fromU: (a: Code) => cat(a, [0xb8]),
  load: (a: Code) => cat(a, [0x2b, 3, 0]),
};
const g = (i: number) => op.get(i);
const put = (i: number, v: Code) => cat(v, op.set(i));
const when = (cond: Code, then: Code, otherwise?: Code) => cat(cond, [0x04, 0x40], then, otherwise ? cat([0x05], otherwise) : [], [0x0b]);
const select = (a: Code, b: Code, cond: Code) => cat(a, b, cond, [0x1b]);
/** An i32-valued if/else. */
const choose = (cond: Code, then: Code, otherwise: Code) => cat(cond, [0x04, I32], then, [0x05], otherwise, [0x0b]);

function warpKernel(): Func {
  const [src, dst, w, h, spans, mat, fill, mode] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [y, x, xs, xe, o, xi, yi, i, j, p00, p01, p10, p11, stride, ok] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  const [m0, m3, m6, bx, by, bz, u, v, z, x0, y0, fx, fy, a, b, w00, w01, w10, w11, sum] = [23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42];
  const m = (k: number) => F.load(I.add(g(mat), I.c(8 * k)));
  /** The three channels, unrolled: `k` is the byte offset of the channel. */
  const rgb = (body: (k: number) => Code) => cat(body(0), body(1), body(2));
  const writeFill = rgb((k) => I.store8(g(o), I.load8(g(fill), k), k));
  const nearest = cat(
    put(xi, I.truncS(F.floor(F.add(g(u), F.c(0.5))))),
    put(yi, I.truncS(F.floor(F.add(g(v), F.c(0.5))))),
    when(
      I.and(I.ltU(g(xi), g(w)), I.ltU(g(yi), g(h))),
      cat(
        put(i, I.add(g(src), I.mul(I.add(I.mul(g(yi), g(w)), g(xi)), I.c(3)))),
        rgb((k) => I.store8(g(o), I.load8(g(i), k), k)),
      ),
      writeFill,
    ),
  );
  const px = (p: number, k: number) => F.fromU(I.load8(g(p), k));
  const lerpRow = (r: number, dstLocal: number, k: number) => cat(
    put(dstLocal, px(r, k)),
    put(dstLocal, F.add(g(dstLocal), F.mul(F.sub(px(r, k + 3), g(dstLocal)), g(fx)))),
  );
  const inside = (xx: Code, yy: Code) => I.and(I.and(I.geS(xx, I.c(0)), I.ltS(xx, g(w))), I.and(I.geS(yy, I.c(0)), I.ltS(yy, g(h))));
  const addr = (xx: Code, yy: Code) => I.add(g(src), I.mul(I.add(I.mul(yy, g(w)), xx), I.c(3)));
  const xi1 = I.add(g(xi), I.c(1)), yi1 = I.add(g(yi), I.c(1));
  const bilinear = cat(
    put(x0, F.floor(g(u))), put(y0, F.floor(g(v))),
    put(fx, F.sub(g(u), g(x0))), put(fy, F.sub(g(v), g(y0))),
    put(xi, I.truncS(g(x0))), put(yi, I.truncS(g(y0))),
    when(
      I.and(I.and(I.geS(g(xi), I.c(0)), I.geS(g(yi), I.c(0))), I.and(I.ltS(g(xi), I.sub(g(w), I.c(1))), I.ltS(g(yi), I.sub(g(h), I.c(1))))),
      cat(
        put(i, addr(g(xi), g(yi))), put(j, I.add(g(i), g(stride))),
        rgb((k) => cat(
          lerpRow(i, a, k), lerpRow(j, b, k),
          I.store8(g(o), I.truncU(F.add(F.add(g(a), F.mul(F.sub(g(b), g(a)), g(fy))), F.c(0.5))), k),
        )),
      ),
      cat(
        put(p00, select(addr(g(xi), g(yi)), g(fill), inside(g(xi), g(yi)))),
        put(p01, select(addr(xi1, g(yi)), g(fill), inside(xi1, g(yi)))),
        put(p10, select(addr(g(xi), yi1), g(fill), inside(g(xi), yi1))),
        put(p11, select(addr(xi1, yi1), g(fill), inside(xi1, yi1))),
        put(w11, F.mul(g(fx), g(fy))), put(w10, F.sub(g(fy), g(w11))), put(w01, F.sub(g(fx), g(w11))),
        put(w00, F.add(F.sub(F.sub(F.c(1), g(fx)), g(fy)), g(w11))),
        rgb((k) => cat(
          put(sum, F.add(F.add(F.add(F.mul(px(p00, k), g(w00)), F.mul(px(p01, k), g(w01))), F.mul(px(p10, k), g(w10))), F.mul(px(p11, k), g(w11)))),
          I.store8(g(o),
            choose(F.ge(g(sum), F.c(255)), I.c(255), choose(F.le(g(sum), F.c(0)), I.c(0), I.truncU(F.add(g(sum), F.c(0.5))))), k),
        )),
      ),
    ),
  );
  const pixel = cat(
    put(o, I.add(g(dst), I.mul(I.add(I.mul(g(y), g(w)), g(x)), I.c(3)))),
    when(
      I.and(I.geS(g(x), g(xs)), I.ltS(g(x), g(xe))),
      cat(
        put(u, F.add(F.mul(g(m0), F.fromI(g(x))), g(bx))),
        put(v, F.add(F.mul(g(m3), F.fromI(g(x))), g(by))),
        put(ok, I.c(1)),
        when(I.and(g(mode), I.c(1)), cat(
          put(z, F.add(F.mul(g(m6), F.fromI(g(x))), g(bz))),
          put(ok, F.gt(g(z), F.c(0))),
          put(u, F.div(g(u), g(z))), put(v, F.div(g(v), g(z))),
        )),
        when(g(ok), when(I.and(g(mode), I.c(2)), bilinear, nearest), writeFill),
      ),
      writeFill,
    ),
  );
  const code = cat(
    put(m0, m(0)), put(m3, m(3)), put(m6, m(6)), put(stride, I.mul(g(w), I.c(3))),
    forLoop(y, I.c(0), g(h), 1, cat(
      put(bx, F.add(F.mul(m(1), F.fromI(g(y))), m(2))),
      put(by, F.add(F.mul(m(4), F.fromI(g(y))), m(5))),
      put(bz, F.add(F.mul(m(7), F.fromI(g(y))), m(8))),
      put(xs, I.load(I.add(g(spans), I.mul(g(y), I.c(8))))),
      put(xe, I.load(I.add(g(spans), I.add(I.mul(g(y), I.c(8)), I.c(4))))),
      forLoop(x, I.c(0), g(w), 1, pixel),
    )),
  );
  return fn([I32, I32, I32, I32, I32, I32, I32, I32], [[15, I32], [20, F64]], code);
}

interface Func {
  params: number[];
  /** The encoded body, size-prefixed, as the code section wants it. */
  body: number[];
}

function fn(params: number[], locals: Array<[count: number, type: number]>, code: number[]): Func {
  const body = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, ...op.end()];
  return { params, body: [...uleb(body.length), ...body] };
}

const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];

/** A module importing memory `m.mem` and exporting `hpass`, `vpass` and `warp`. */
function moduleBytes(): Uint8Array {
  const fns = [hpass(), vpass(), warpKernel()];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]))),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec([[...name('hpass'), 0x00, 0], [...name('vpass'), 0x00, 1], [...name('warp'), 0x00, 2]])),
    ...section(10, vec(fns.map((f) => f.body))),
  ]);
}

// ---- the blur -------------------------------------------------------------------------------

interface Kernels {
  memory: WebAssembly.Memory;
  hpass: (src: number, tmp: number, len: number, kx: number, kw: number, nrows: number, srcStride: number, tmpStride: number) => void;
  vpass: (tmp: number, dst: number, len: number, rows: number, ky: number, kh: number, nrows: number, dstStride: number) => void;
  warp: (src: number, dst: number, w: number, h: number, spans: number, mat: number, fill: number, mode: number) => void;
}

let kernels: Kernels | null | undefined;

function load(): Kernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const bytes = moduleBytes();
    const memory = new WebAssembly.Memory({ initial: 16 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { m: { mem: memory } });
    const e = inst.exports as any;
    kernels = { memory, hpass: e.hpass, vpass: e.vpass, warp: e.warp };
  } catch (e) {
    if (process.env.AUGMENT_DEBUG_WASM) console.error(e);
    kernels = null; // no WebAssembly SIMD here
  }
  return kernels;
}

/** Whether the SIMD blur is available (false: the JS loops run instead). */
export const hasSimd = () => load() !== null;

/**
 * Separable blur with float32 kernels `kx` (width taps) and `ky` (height taps), reflect
 * padding given by `reflect`. Undefined when SIMD is unavailable.
 */
export function blurSimd(img: RawImage, kx: Float32Array, ky: Float32Array, reflect: (i: number, n: number) => number): RawImage | undefined {
  const k = load();
  if (!k) return undefined;
  const { width: w, height: h, data } = img;
  const kw = kx.length, kh = ky.length, rx = kw >> 1, ry = kh >> 1;
  const stride = w * 3, n = stride * h, padded = (w + 2 * rx) * 3;
  // Layout: kx | ky | rows (h x kh) | src rows, reflect-padded | tmp (f32) | dst; each with slack.
  const KX = 0, KY = align(4 * kw), ROWS = KY + align(4 * kh), SRC = ROWS + align(4 * kh * h);
  const TMP = align(SRC + padded * h + 64), DST = align(TMP + 4 * n + 64), END = DST + n + 64;
  const mem = memoryFor(k, END);
  if (!mem) return undefined;
  const u8 = new Uint8Array(mem), i32 = new Int32Array(mem);
  new Float32Array(mem, KX, kw).set(kx);
  new Float32Array(mem, KY, kh).set(ky);
  // Source rows with rx reflected pixels on each side, so the SIMD loop needs no edge cases.
  const cols = Array.from({ length: 2 * rx }, (_, t) => reflect(t < rx ? t - rx : w + t - rx, w) * 3);
  for (let y = 0; y < h; y++) {
    const from = y * stride, to = SRC + y * padded;
    u8.set(data.subarray(from, from + stride), to + rx * 3);
    for (let t = 0; t < 2 * rx; t++) {
      const at = to + (t < rx ? t : w + t) * 3, c = from + cols[t];
      u8[at] = data[c];
      u8[at + 1] = data[c + 1];
      u8[at + 2] = data[c + 2];
    }
  }
  for (let y = 0, at = ROWS / 4; y < h; y++) for (let t = 0; t < kh; t++) i32[at++] = reflect(y + t - ry, h) * stride * 4;
  k.hpass(SRC, TMP, (stride + 7) & ~7, KX, kw, h, padded, stride * 4);
  k.vpass(TMP, DST, (stride + 3) & ~3, ROWS, KY, kh, h, stride);
  return createRaw(w, h, u8.slice(DST, DST + n));
}

const align = (n: number) => (n + 15) & ~15;

/** Grow the shared memory to hold `bytes` and return it; undefined if it cannot grow that far. */
function memoryFor(k: Kernels, bytes: number): ArrayBuffer | undefined {
  const need = Math.ceil(bytes / 65536) - k.memory.buffer.byteLength / 65536;
  try {
    if (need > 0) k.memory.grow(need);
  } catch {
    return undefined; // past wasm32's 4 GiB or out of memory: the JS loops take it
  }
  return k.memory.buffer;
}

/**
 * Resample `img` through inverse map `m`; pixels of row y outside [spans[2y], spans[2y+1])
 * get `fill`. The same bytes as the JS loops of `./warp.ts`. Undefined without WebAssembly.
 */
export function warpWasm(img: RawImage, m: readonly number[], spans: Int32Array, bilinear: boolean, fill: readonly [number, number, number]): RawImage | undefined {
  const k = load();
  if (!k) return undefined;
  const { width: w, height: h, data } = img;
  const n = w * h * 3;
  const SPANS = 0, MAT = align(8 * h), FILL = MAT + 80, SRC = FILL + 16, DST = align(SRC + n);
  const mem = memoryFor(k, DST + n);
  if (!mem) return undefined;
  new Int32Array(mem, SPANS, 2 * h).set(spans);
  new Float64Array(mem, MAT, 9).set(m);
  const u8 = new Uint8Array(mem);
  u8.set(fill, FILL);
  u8.set(data, SRC);
  const projective = m[6] !== 0 || m[7] !== 0 || m[8] !== 1;
  k.warp(SRC, DST, w, h, SPANS, MAT, FILL, (projective ? 1 : 0) | (bilinear ? 2 : 0));
  return createRaw(w, h, u8.slice(DST, DST + n));
}
