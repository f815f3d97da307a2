/*
 * The ops' pixel loops, compiled to WebAssembly SIMD by scripts/build-ops-wasm.sh into ops.wasm
 * (committed; loaded by ../native.ts). Images are 8-bit interleaved RGB (3 bytes a pixel).
 *
 * Determinism: every result is a function of the inputs alone, the same on every machine. The
 * integer kernels are exact; the f64 ones do the JS reference's arithmetic (the .ts files of src/ops)
 * operation for operation (wasm has no scalar fused multiply-add, and -ffp-contract=off keeps
 * clang from forming one anyway), so they give its bytes. The bilinear warp is fixed point:
 * f32 positions, 1/2048-pixel weights, 16-bit blends, within one level of the f64 JS loops.
 *
 * Buffers may be read up to 16 bytes past their end and written up to 16 bytes past it: the
 * caller (../native.ts) leaves that slack.
 */
#include <wasm_simd128.h>

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(#name)))

static inline int clamp_round(double v) { return v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5); }

/* ---- colour ------------------------------------------------------------------------------ */

/** dst[i] = table[src[i]] for n bytes (in place allowed): 8 at a time, one 8-byte load and store. */
EXPORT(lut) void lut(const u8 *src, u8 *dst, u32 n, const u8 *table) {
  u32 i = 0;
  for (; i + 8 <= n; i += 8) {
    u64 x, r = 0;
    __builtin_memcpy(&x, src + i, 8);
    for (int k = 0; k < 8; k++) r |= (u64)table[(x >> (8 * k)) & 255] << (8 * k);
    __builtin_memcpy(dst + i, &r, 8);
  }
  for (; i < n; i++) dst[i] = table[src[i]];
}

/**
 * Per-channel sums of npix RGB pixels, as doubles (exact: integers below 2^53). 48 bytes (16
 * pixels) a step in u16 lanes, flushed to u64 before they could overflow; byte p of a step is
 * channel p % 3.
 */
EXPORT(sums3) void sums3(const u8 *src, u32 npix, double *out) {
  u64 t[3] = {0, 0, 0};
  u32 p = 0;
  while (p + 16 <= npix) {
    v128_t a[6];
    for (int k = 0; k < 6; k++) a[k] = wasm_i16x8_splat(0);
    // at most 256 steps: 255 * 256 fits in u16
    for (u32 n = 0; n < 256 && p + 16 <= npix; n++, p += 16, src += 48) {
      for (int k = 0; k < 3; k++) {
        const v128_t v = wasm_v128_load(src + 16 * k);
        a[2 * k] = wasm_i16x8_add(a[2 * k], wasm_u16x8_extend_low_u8x16(v));
        a[2 * k + 1] = wasm_i16x8_add(a[2 * k + 1], wasm_u16x8_extend_high_u8x16(v));
      }
    }
    unsigned short lanes[48];
    for (int k = 0; k < 6; k++) wasm_v128_store(lanes + 8 * k, a[k]);
    for (int b = 0; b < 48; b++) t[b % 3] += lanes[b];
  }
  for (; p < npix; p++, src += 3) {
    t[0] += src[0];
    t[1] += src[1];
    t[2] += src[2];
  }
  out[0] = (double)t[0];
  out[1] = (double)t[1];
  out[2] = (double)t[2];
}

/**
 * Per-channel histograms (3 x 256 counts) of npix RGB pixels into hist[0, 768). Counted in four
 * sub-histograms (pixel p into p % 4) at hist[768, 3840), summed at the end: a run of equal
 * pixels (an icon's flat areas) no longer waits on one counter's previous increment.
 */
EXPORT(hist3) void hist3(const u8 *src, u32 npix, u32 *hist) {
  u32 *sub = hist + 768;
  for (u32 i = 0; i < 4 * 768; i++) sub[i] = 0;
  u32 p = 0;
  for (; p + 4 <= npix; p += 4, src += 12) {
    sub[src[0]]++; sub[256 + src[1]]++; sub[512 + src[2]]++;
    sub[768 + src[3]]++; sub[1024 + src[4]]++; sub[1280 + src[5]]++;
    sub[1536 + src[6]]++; sub[1792 + src[7]]++; sub[2048 + src[8]]++;
    sub[2304 + src[9]]++; sub[2560 + src[10]]++; sub[2816 + src[11]]++;
  }
  for (; p < npix; p++, src += 3) {
    sub[src[0]]++; sub[256 + src[1]]++; sub[512 + src[2]]++;
  }
  for (u32 i = 0; i < 768; i++) hist[i] = sub[i] + sub[768 + i] + sub[1536 + i] + sub[2304 + i];
}

/**
 * colorJitter's saturation (blend with grey 0.2989 R + 0.587 G + 0.114 B): the JS arithmetic,
 * two pixels at a time in f64x2 (lane i is pixel i's scalar expression, so the same doubles);
 * clamp_round(v) as trunc(min(max(v, 0), 255) + 0.5), equal for every v.
 */
static inline v128_t round_clamp2(v128_t v) {
  v = wasm_f64x2_pmin(wasm_f64x2_pmax(v, wasm_f64x2_splat(0)), wasm_f64x2_splat(255)); // no NaN here: pmin/pmax (minpd/maxpd) are exact
  return wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_add(v, wasm_f64x2_splat(0.5)));
}

EXPORT(saturate) void saturate(const u8 *src, u8 *dst, u32 npix, double f) {
  const double k = 1 - f;
  const v128_t kv = wasm_f64x2_splat(k), fv = wasm_f64x2_splat(f);
  const v128_t cr = wasm_f64x2_splat(0.2989), cg = wasm_f64x2_splat(0.587), cb = wasm_f64x2_splat(0.114);
  u32 p = 0;
  for (; p + 2 <= npix; p += 2, src += 6, dst += 6) {
    const v128_t r = wasm_f64x2_make(src[0], src[3]), g = wasm_f64x2_make(src[1], src[4]), b = wasm_f64x2_make(src[2], src[5]);
    const v128_t grey = wasm_f64x2_mul(kv, wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_mul(cr, r), wasm_f64x2_mul(cg, g)), wasm_f64x2_mul(cb, b)));
    const v128_t R = round_clamp2(wasm_f64x2_add(wasm_f64x2_mul(fv, r), grey));
    const v128_t G = round_clamp2(wasm_f64x2_add(wasm_f64x2_mul(fv, g), grey));
    const v128_t B = round_clamp2(wasm_f64x2_add(wasm_f64x2_mul(fv, b), grey));
    dst[0] = wasm_i32x4_extract_lane(R, 0); dst[1] = wasm_i32x4_extract_lane(G, 0); dst[2] = wasm_i32x4_extract_lane(B, 0);
    dst[3] = wasm_i32x4_extract_lane(R, 1); dst[4] = wasm_i32x4_extract_lane(G, 1); dst[5] = wasm_i32x4_extract_lane(B, 1);
  }
  for (; p < npix; p++, src += 3, dst += 3) {
    const double r = src[0], g = src[1], b = src[2];
    const double grey = k * (0.2989 * r + 0.587 * g + 0.114 * b);
    dst[0] = clamp_round(f * r + grey);
    dst[1] = clamp_round(f * g + grey);
    dst[2] = clamp_round(f * b + grey);
  }
}

/** colorJitter's hue: RGB -> HSV, h += shift (mod 1), HSV -> RGB; the JS arithmetic. */
EXPORT(hue) void hue(const u8 *src, u8 *dst, u32 npix, double shift) {
  for (u32 p = 0; p < npix; p++, src += 3, dst += 3) {
    const int r = src[0], g = src[1], b = src[2];
    const int max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const int min = r < g ? (r < b ? r : b) : g < b ? g : b;
    const int c = max - min;
    if (c == 0) {
      dst[0] = r; dst[1] = g; dst[2] = b;
      continue;
    }
    const double cd = c;
    double h = max == r ? (double)(g - b) / cd : max == g ? 2 + (double)(b - r) / cd : 4 + (double)(r - g) / cd;
    h = h / 6 + shift;
    h -= __builtin_floor(h);
    const double v = max / 255.0, s = cd / max;
    const double h6 = h * 6;
    const double fl = __builtin_floor(h6);
    const int sector = ((int)fl) % 6;
    const double fr = h6 - fl;
    const double pp = v * (1 - s), q = v * (1 - s * fr), t = v * (1 - s * (1 - fr));
    double R, G, B;
    switch (sector) {
      case 0: R = v; G = t; B = pp; break;
      case 1: R = q; G = v; B = pp; break;
      case 2: R = pp; G = v; B = t; break;
      case 3: R = pp; G = q; B = v; break;
      case 4: R = t; G = pp; B = v; break;
      default: R = v; G = pp; B = q;
    }
    dst[0] = clamp_round(R * 255);
    dst[1] = clamp_round(G * 255);
    dst[2] = clamp_round(B * 255);
  }
}

/* ---- invert, hflip --------------------------------------------------------------------------- */

EXPORT(invert) void invert(const u8 *src, u8 *dst, u32 n) {
  u32 i = 0;
  for (; i + 16 <= n; i += 16) wasm_v128_store(dst + i, wasm_v128_not(wasm_v128_load(src + i)));
  for (; i < n; i++) dst[i] = 255 - src[i];
}

/** Mirror each row of a w x h RGB image. */
EXPORT(hflip) void hflip(const u8 *src, u8 *dst, u32 w, u32 h) {
  const u32 stride = w * 3;
  for (u32 y = 0; y < h; y++) {
    const u8 *s = src + y * stride;
    u8 *d = dst + y * stride;
    u32 x = 0;
    // Five pixels (15 bytes) at a time: reverse their order within one 16-byte load.
    for (; x + 6 <= w; x += 5) {
      const v128_t v = wasm_v128_load(s + (w - 5 - x) * 3);
      const v128_t r = wasm_i8x16_shuffle(v, v, 12, 13, 14, 9, 10, 11, 6, 7, 8, 3, 4, 5, 0, 1, 2, 15);
      wasm_v128_store(d + x * 3, r); // byte 15 is overwritten by the next group or the tail
    }
    for (; x < w; x++) {
      const u8 *p = s + (w - 1 - x) * 3;
      d[x * 3] = p[0];
      d[x * 3 + 1] = p[1];
      d[x * 3 + 2] = p[2];
    }
  }
}

/* ---- the warp ---------------------------------------------------------------------------------- */
/*
 * warp_*(src, dst, w, h, spans, m, fill, projective, ...): for each row y, pixels outside
 * [spans[2y], spans[2y+1]) get the fill colour; inside, the inverse map m (f64[9], output px ->
 * input px) gives the source position, read nearest or bilinear. The position arithmetic is
 * ../warp.ts's (sampleRowNearest / sampleRowBilinear). `inv` (0 or 255) is XORed into every
 * output byte: 255 - v, the invert op fused into the warp (the fill is inverted with the rest).
 */

static inline void put_fill(u8 *o, const u8 *fill) {
  o[0] = fill[0];
  o[1] = fill[1];
  o[2] = fill[2];
}

/** 16 bytes of fill colours, period 3 from fill[0]: four pixels and the first byte of a fifth. */
static inline v128_t fill_pattern(const u8 *fill) {
  return wasm_u8x16_make(fill[0], fill[1], fill[2], fill[0], fill[1], fill[2], fill[0], fill[1], fill[2], fill[0], fill[1], fill[2], fill[0], fill[1], fill[2], fill[0]);
}

/** Pixels [from, to) of a row get the fill colour; may write 4 bytes past `to` (fill values). */
static void fill_range(u8 *row, i32 from, i32 to, v128_t pat, const u8 *fill) {
  u8 *o = row + from * 3;
  i32 n = to - from;
  for (; n >= 4; n -= 4, o += 12) wasm_v128_store(o, pat);
  for (; n > 0; n--, o += 3) put_fill(o, fill);
}

/*
 * The source positions of pixels x and x + 1 of a row, two at a time in f64x2: each lane is the
 * scalar expression of ../warp.ts (m0 * x + bx, then / z if projective), so the same doubles.
 */
#define ROW_POSITIONS(U, V, OK)                                                              \
  const v128_t xv = wasm_f64x2_make((double)x, (double)(x + 1));                             \
  v128_t U = wasm_f64x2_add(wasm_f64x2_mul(m0v, xv), bxv);                                   \
  v128_t V = wasm_f64x2_add(wasm_f64x2_mul(m3v, xv), byv);                                   \
  v128_t OK = wasm_i64x2_splat(-1);                                                          \
  if (projective) {                                                                          \
    const v128_t zv = wasm_f64x2_add(wasm_f64x2_mul(m6v, xv), bzv);                          \
    OK = wasm_f64x2_gt(zv, wasm_f64x2_splat(0));                                             \
    U = wasm_f64x2_div(U, zv);                                                               \
    V = wasm_f64x2_div(V, zv);                                                               \
  }

/*
 * Affine nearest-neighbour rows in 16.16 fixed point, four pixels at a time, as OpenCV's
 * warpAffine: u(x) + 0.5 = U0 + x dU with U0 = round((m1 y + m2 + 0.5) 2^16) and dU = round(m0 2^16)
 * (likewise v), the source pixel (U >> 16, V >> 16). Within 2^-17 (1 + x) px of the f64 position,
 * so it picks the JS loop's pixel except where that position lies within about 0.002 px of a
 * pixel boundary (and exactly so for quarter turns and flips, whose maps are exact in 16.16).
 * Only for rows whose positions and products stay well inside i32 (affine_row_fits).
 * Branch-free: a lane outside the source reads the fill colour (`fill`, 4 readable bytes)
 * instead; the four 4-byte reads are packed into 12 bytes and stored with one 16-byte store
 * (its last 4 bytes, and lanes past xe, are rewritten by what the row writes next).
 */
static inline int affine_row_fits(const double *m, double yd, i32 xs, i32 xe) {
  const double lim = 8192; // |u(0)| < 2^14 and every |U|, |x dU| < 2^29: no i32 overflow
  const double u0 = m[0] * xs + m[1] * yd + m[2], u1 = m[0] * (xe - 1) + m[1] * yd + m[2];
  const double v0 = m[3] * xs + m[4] * yd + m[5], v1 = m[3] * (xe - 1) + m[4] * yd + m[5];
  const double a0 = __builtin_fabs(m[0]) * (xe + 3), a3 = __builtin_fabs(m[3]) * (xe + 3);
  return __builtin_fabs(u0) < lim && __builtin_fabs(u1) < lim && __builtin_fabs(v0) < lim && __builtin_fabs(v1) < lim && a0 < lim && a3 < lim;
}

static void nearest_row_fixed(const u8 *src, u8 *row, i32 w, i32 h, const double *m, double yd, i32 xs, i32 xe, const u8 *fill, v128_t inv) {
  const double one = 65536;
  const i32 du = (i32)__builtin_floor(m[0] * one + 0.5), dv = (i32)__builtin_floor(m[3] * one + 0.5);
  const i32 u0 = (i32)__builtin_floor((m[1] * yd + m[2] + 0.5) * one + 0.5), v0 = (i32)__builtin_floor((m[4] * yd + m[5] + 0.5) * one + 0.5);
  const v128_t du4 = wasm_i32x4_splat(4 * du), dv4 = wasm_i32x4_splat(4 * dv);
  const v128_t wv = wasm_i32x4_splat(w), hv = wasm_i32x4_splat(h), three = wasm_i32x4_splat(3);
  const v128_t srcv = wasm_i32x4_splat((i32)(unsigned long)src), fillv = wasm_i32x4_splat((i32)(unsigned long)fill);
  const v128_t steps = wasm_i32x4_make(xs, xs + 1, xs + 2, xs + 3);
  v128_t U = wasm_i32x4_add(wasm_i32x4_splat(u0), wasm_i32x4_mul(steps, wasm_i32x4_splat(du)));
  v128_t V = wasm_i32x4_add(wasm_i32x4_splat(v0), wasm_i32x4_mul(steps, wasm_i32x4_splat(dv)));
  u8 *o = row + xs * 3;
  for (i32 x = xs; x < xe; x += 4, o += 12) {
    const v128_t ix = wasm_i32x4_shr(U, 16), iy = wasm_i32x4_shr(V, 16);
    const v128_t in = wasm_v128_and(wasm_u32x4_lt(ix, wv), wasm_u32x4_lt(iy, hv));
    const v128_t at = wasm_i32x4_add(srcv, wasm_i32x4_mul(wasm_i32x4_add(wasm_i32x4_mul(iy, wv), ix), three));
    const v128_t p = wasm_v128_bitselect(at, fillv, in);
    v128_t px = wasm_v128_load32_zero((const void *)(unsigned long)(u32)wasm_i32x4_extract_lane(p, 0));
    px = wasm_v128_load32_lane((const void *)(unsigned long)(u32)wasm_i32x4_extract_lane(p, 1), px, 1);
    px = wasm_v128_load32_lane((const void *)(unsigned long)(u32)wasm_i32x4_extract_lane(p, 2), px, 2);
    px = wasm_v128_load32_lane((const void *)(unsigned long)(u32)wasm_i32x4_extract_lane(p, 3), px, 3);
    px = wasm_i8x16_shuffle(px, px, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 15, 15, 15);
    wasm_v128_store(o, wasm_v128_xor(px, inv));
    U = wasm_i32x4_add(U, du4);
    V = wasm_i32x4_add(V, dv4);
  }
}

EXPORT(warp_nearest) void warp_nearest(const u8 *src, u8 *dst, i32 w, i32 h, const i32 *spans, const double *m, const u8 *fill, i32 projective, i32 invert) {
  const v128_t m0v = wasm_f64x2_splat(m[0]), m3v = wasm_f64x2_splat(m[3]), m6v = wasm_f64x2_splat(m[6]);
  const v128_t half = wasm_f64x2_splat(0.5), zero = wasm_f64x2_splat(0), dw = wasm_f64x2_splat(w), dh = wasm_f64x2_splat(h);
  const v128_t inv = wasm_i8x16_splat(invert ? -1 : 0);
  // the colour a pixel outside gets, as written (inverted with the rest)
  u8 out_fill[4] = {(u8)(fill[0] ^ (invert ? 255 : 0)), (u8)(fill[1] ^ (invert ? 255 : 0)), (u8)(fill[2] ^ (invert ? 255 : 0)), 0};
  const v128_t pat = fill_pattern(out_fill);
  for (i32 y = 0; y < h; y++) {
    u8 *row = dst + y * w * 3;
    const i32 xs = spans[2 * y], xe = spans[2 * y + 1];
    const double yd = y;
    const v128_t bxv = wasm_f64x2_splat(m[1] * yd + m[2]), byv = wasm_f64x2_splat(m[4] * yd + m[5]), bzv = wasm_f64x2_splat(m[7] * yd + m[8]);
    fill_range(row, 0, xs, pat, out_fill);
    if (!projective && xs < xe && affine_row_fits(m, yd, xs, xe)) {
      nearest_row_fixed(src, row, w, h, m, yd, xs, xe, fill, inv);
      fill_range(row, xe, w, pat, out_fill);
      continue;
    }
    for (i32 x = xs; x < xe; x += 2) {
      ROW_POSITIONS(u, v, ok)
      const v128_t fx = wasm_f64x2_floor(wasm_f64x2_add(u, half)), fy = wasm_f64x2_floor(wasm_f64x2_add(v, half));
      const v128_t in = wasm_v128_and(wasm_v128_and(ok, wasm_v128_and(wasm_f64x2_ge(fx, zero), wasm_f64x2_lt(fx, dw))),
                                      wasm_v128_and(wasm_f64x2_ge(fy, zero), wasm_f64x2_lt(fy, dh)));
      // lanes 0-1: the pixel index (fy * w + fx) * 3, valid where `in`
      const v128_t ix = wasm_i32x4_trunc_sat_f64x2_zero(fx), iy = wasm_i32x4_trunc_sat_f64x2_zero(fy);
      const v128_t idx = wasm_i32x4_mul(wasm_i32x4_add(wasm_i32x4_mul(iy, wasm_i32x4_splat(w)), ix), wasm_i32x4_splat(3));
      u8 *o = row + x * 3;
      if (wasm_i64x2_extract_lane(in, 0)) wasm_v128_store32_lane(o, wasm_v128_xor(wasm_v128_load32_zero(src + wasm_i32x4_extract_lane(idx, 0)), inv), 0);
      else put_fill(o, out_fill);
      if (x + 1 < xe) {
        if (wasm_i64x2_extract_lane(in, 1)) wasm_v128_store32_lane(o + 3, wasm_v128_xor(wasm_v128_load32_zero(src + wasm_i32x4_extract_lane(idx, 1)), inv), 0);
        else put_fill(o + 3, out_fill);
      }
    }
    // After the samples: their stores may have run past xe into this range.
    fill_range(row, xe, w, pat, out_fill);
  }
}

#define WBITS 11
#define WONE (1 << WBITS)

/*
 * The bilinear warp, four output pixels a step, branch-free.
 *
 * The source is first rewritten into `pairs`: the source with a 2-pixel border of the fill
 * colour ((w + 4) x (h + 4) pixels) stored as horizontal pairs, pixel px of a row being 6 bytes
 * (P(px), P(px + 1)) per channel, so that one 8-byte read at a position holds its left and
 * right neighbours channel by channel, ready for i32x4.dot_i16x8_s. A neighbour outside the
 * source reads the fill colour, and a position further out is clamped to the border (all four
 * of its neighbours read fill, as they should), so no read needs a bounds check.
 * Positions are in 1/2048 px: round(u * 2048) in f32 (the map pre-scaled by 2048), whose
 * high bits are the left neighbour and low 11 bits its weight; within about 1/4000 px of the f64 position (f32 rounding adds < 1e-4 px at 224 px).
 * The four weights are in 1/16384ths, summing to exactly 16384: w11 = round(fx fy / 256),
 * w01 = 8 fx - w11, w10 = 8 fy - w11, w00 = 16384 - 8 fx - 8 fy + w11 (fx, fy in 1/2048ths);
 * each output value is one exact integer sum, rounded once: within 1/32 level of the f64 blend
 * at those positions, so within one level of the f64 JS loop. Integer and f32 arithmetic
 * only, the same on every machine.
 * Each row runs in two passes: positions, weights and read addresses for its pixels (into a
 * row buffer after `pairs`), then the reads and blends (fewer live values per loop: V8 keeps
 * them in registers).
 * pairs: (w + 4) * (h + 4) * 6 + 36 (w + 8) + 128 bytes.
 */

/* an opaque copy: keeps clang from folding a constant back into every use inside a loop (V8
   would then rebuild it there each time) */
static inline v128_t keep(v128_t v) {
  __asm__("" : "+r"(v));
  return v;
}

/** Fill the pair row pr of pw pixels with the fill colour (pat2: f0 f0 f1 f1 f2 f2 repeated); may write 16 bytes past. */
static void pair_row_fill(u8 *pr, i32 pw, v128_t pat2) {
  for (i32 px = 0; px < pw; px += 2) wasm_v128_store(pr + px * 6, pat2);
}

static inline void put_pair(u8 *o, const u8 *a, const u8 *b) {
  o[0] = a[0]; o[1] = b[0]; o[2] = a[1]; o[3] = b[1]; o[4] = a[2]; o[5] = b[2];
}

/** Pair row of source row s (w pixels) with 2 fill pixels on each side. */
static void pair_row_src(u8 *pr, const u8 *s, i32 w, const u8 *fill) {
  i32 px = 2;
  for (; px + 1 <= w; px += 2) {
    const v128_t v = wasm_v128_load(s + (px - 2) * 3);
    wasm_v128_store(pr + px * 6, wasm_i8x16_shuffle(v, v, 0, 3, 1, 4, 2, 5, 3, 6, 4, 7, 5, 8, 6, 9, 7, 10));
  }
  // the ends, pixel by pixel: (F, F), (F, s0) on the left; the last pairs up to (F, F) on the right
  put_pair(pr, fill, fill);
  put_pair(pr + 6, fill, s);
  for (; px < w + 4; px++) put_pair(pr + px * 6, px <= w + 1 ? s + (px - 2) * 3 : fill, px + 1 <= w + 1 ? s + (px - 1) * 3 : fill);
}

static inline __attribute__((always_inline)) void bilinear_rows(u8 *dst, i32 w, i32 h, const i32 *spans, const double *m, const u8 *fill, const i32 projective, const i32 invert, const u8 *pairs, const i32 big) {
  const i32 pw = w + 4, ps = pw * 6, stride = w * 3;
  const v128_t inv = keep(wasm_i8x16_splat(invert ? -1 : 0));
  u8 out_fill[4] = {(u8)(fill[0] ^ (invert ? 255 : 0)), (u8)(fill[1] ^ (invert ? 255 : 0)), (u8)(fill[2] ^ (invert ? 255 : 0)), 0};
  const v128_t pat = fill_pattern(out_fill);
  const v128_t m0v = wasm_f32x4_splat((float)(m[0] * WONE)), m3v = wasm_f32x4_splat((float)(m[3] * WONE)), m6v = wasm_f32x4_splat((float)m[6]);
  const v128_t four = keep(wasm_f32x4_splat(4.0f));
  const v128_t magic = keep(wasm_f32x4_splat(12582912.0f)); // 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer in the low mantissa bits
  const v128_t loU = keep(wasm_f32x4_splat(-2.0f * WONE)), hiU = keep(wasm_f32x4_splat((float)w * WONE + (WONE - 1)));
  const v128_t hiV = keep(wasm_f32x4_splat((float)h * WONE + (WONE - 1)));
  const v128_t two = keep(wasm_i32x4_splat(2)), ones = keep(wasm_i32x4_splat(1)), fmask = keep(wasm_i32x4_splat(WONE - 1));
  const v128_t wv = keep(wasm_i32x4_splat(w)), hv = keep(wasm_i32x4_splat(h));
  const v128_t addr = keep(wasm_i32x4_splat(6 | (ps << 16))), base = keep(wasm_i32x4_splat((i32)(unsigned long)pairs));
  const v128_t r128 = keep(wasm_i32x4_splat(128)), q14 = keep(wasm_i32x4_splat(16384)), r14 = keep(wasm_i32x4_splat(1 << 13));
  const v128_t psv = wasm_i32x4_splat(ps), sixv = wasm_i32x4_splat(6);
  // a row's reads: addresses (w + 8 i32) and weight pairs (2 per pixel), after the pairs
  i32 *ra = (i32 *)(((unsigned long)(pairs + (h + 4) * ps) + 47) & ~15ul);
  v128_t *wt = (v128_t *)(((unsigned long)(ra + w + 8) + 15) & ~15ul);
  for (i32 y = 0; y < h; y++) {
    u8 *row = dst + y * stride;
    const i32 xs = spans[2 * y], xe = spans[2 * y + 1];
    const double yd = y;
    const v128_t bxv = wasm_f32x4_splat((float)((m[1] * yd + m[2]) * WONE)), byv = wasm_f32x4_splat((float)((m[4] * yd + m[5]) * WONE));
    const v128_t bzv = wasm_f32x4_splat((float)(m[7] * yd + m[8]));
    fill_range(row, 0, xs, pat, out_fill);
    v128_t xv = wasm_f32x4_make((float)xs, (float)(xs + 1), (float)(xs + 2), (float)(xs + 3));
    u8 *o = row + xs * 3;
    const i32 nk = xe - xs;
    for (i32 k = 0; k < nk; k += 4, xv = wasm_f32x4_add(xv, four)) {
      v128_t u = wasm_f32x4_add(wasm_f32x4_mul(m0v, xv), bxv), v = wasm_f32x4_add(wasm_f32x4_mul(m3v, xv), byv);
      v128_t ok = wasm_i32x4_splat(-1);
      if (projective) {
        const v128_t z = wasm_f32x4_add(wasm_f32x4_mul(m6v, xv), bzv);
        ok = wasm_f32x4_gt(z, wasm_f32x4_splat(0)); // behind the map's horizon: nothing to read
        u = wasm_f32x4_div(u, z);
        v = wasm_f32x4_div(v, z);
      }
      // clamped to the border: left / top neighbour in [-2, w] / [-2, h] (pmin(a, b) is b < a ? b : a:
      // this order sends a NaN to hi, never inside)
      u = wasm_f32x4_pmax(loU, wasm_f32x4_pmin(hiU, u));
      v = wasm_f32x4_pmax(loU, wasm_f32x4_pmin(hiV, v));
      v128_t U, V;
      if (big) {
        U = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_floor(wasm_f32x4_add(u, wasm_f32x4_splat(0.5f))));
        V = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_floor(wasm_f32x4_add(v, wasm_f32x4_splat(0.5f))));
      } else {
        U = wasm_i32x4_sub(wasm_f32x4_add(u, magic), magic);
        V = wasm_i32x4_sub(wasm_f32x4_add(v, magic), magic);
      }
      // padded pixel of the top-left neighbour; (0, 0) (all fill) where nothing is read
      const v128_t Xp = wasm_v128_and(wasm_i32x4_add(wasm_i32x4_shr(U, WBITS), two), ok);
      const v128_t Yp = wasm_v128_and(wasm_i32x4_add(wasm_i32x4_shr(V, WBITS), two), ok);
      // some neighbour inside the source: Xp in [1, w + 1] and Yp in [1, h + 1]
      const v128_t in = wasm_v128_and(wasm_u32x4_le(wasm_i32x4_sub(Xp, ones), wv), wasm_u32x4_le(wasm_i32x4_sub(Yp, ones), hv));
      if (!wasm_v128_any_true(in)) {
        ra[k] = 0; // nothing to read: fill (0 is never an address of `pairs`)
        continue;
      }
      const v128_t at = big ? wasm_i32x4_add(base, wasm_i32x4_add(wasm_i32x4_mul(Yp, psv), wasm_i32x4_mul(Xp, sixv)))
                            : wasm_i32x4_add(base, wasm_i32x4_dot_i16x8(wasm_v128_or(Xp, wasm_i32x4_shl(Yp, 16)), addr));
      const v128_t fx = wasm_v128_and(U, fmask), fy = wasm_v128_and(V, fmask);
      const v128_t w11 = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_dot_i16x8(fx, fy), r128), 8);
      const v128_t fx8 = wasm_i32x4_shl(fx, 3), fy8 = wasm_i32x4_shl(fy, 3);
      const v128_t w01 = wasm_i32x4_sub(fx8, w11), w10 = wasm_i32x4_sub(fy8, w11);
      const v128_t w00 = wasm_i32x4_add(wasm_i32x4_sub(wasm_i32x4_sub(q14, fx8), fy8), w11);
      const v128_t top = wasm_v128_or(w00, wasm_i32x4_shl(w01, 16)), bot = wasm_v128_or(w10, wasm_i32x4_shl(w11, 16));
      // pass 1 of the row: where and how much to read, for pass 2
      wasm_v128_store(ra + k, at);
      v128_t *rw = wt + 2 * k;
      rw[0] = wasm_i32x4_shuffle(top, top, 0, 0, 0, 0); rw[1] = wasm_i32x4_shuffle(bot, bot, 0, 0, 0, 0);
      rw[2] = wasm_i32x4_shuffle(top, top, 1, 1, 1, 1); rw[3] = wasm_i32x4_shuffle(bot, bot, 1, 1, 1, 1);
      rw[4] = wasm_i32x4_shuffle(top, top, 2, 2, 2, 2); rw[5] = wasm_i32x4_shuffle(bot, bot, 2, 2, 2, 2);
      rw[6] = wasm_i32x4_shuffle(top, top, 3, 3, 3, 3); rw[7] = wasm_i32x4_shuffle(bot, bot, 3, 3, 3, 3);
    }
    // pass 2: the reads and blends
    o = row + xs * 3;
    for (i32 k = 0; k < nk; k += 4, o += 12) {
      if (ra[k] == 0) {
        wasm_v128_store(o, pat);
        continue;
      }
      const v128_t *rw = wt + 2 * k;
#define BILINEAR_LANE(L)                                                                                      \
      const u8 *p##L = (const u8 *)(unsigned long)(u32)ra[k + L];                                            \
      const v128_t s##L = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_add(                                         \
          wasm_i32x4_dot_i16x8(wasm_u16x8_load8x8(p##L), rw[2 * L]),                                          \
          wasm_i32x4_dot_i16x8(wasm_u16x8_load8x8(p##L + ps), rw[2 * L + 1])), r14), 14);
      BILINEAR_LANE(0) BILINEAR_LANE(1) BILINEAR_LANE(2) BILINEAR_LANE(3)
#undef BILINEAR_LANE
      const v128_t px = wasm_u16x8_narrow_i32x4(s0, s1), qx = wasm_u16x8_narrow_i32x4(s2, s3);
      const v128_t bytes = wasm_u8x16_narrow_i16x8(px, qx); // rgb_ four times
      wasm_v128_store(o, wasm_v128_xor(wasm_i8x16_shuffle(bytes, bytes, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 15, 15, 15), inv));
    }
    // After the samples: their stores may have run past xe into this range.
    fill_range(row, xe, w, pat, out_fill);
  }
}

EXPORT(warp_bilinear) void warp_bilinear(const u8 *src, u8 *dst, i32 w, i32 h, const i32 *spans, const double *m, const u8 *fill, i32 projective, i32 invert, u8 *pairs) {
  const i32 pw = w + 4, ps = pw * 6;
  const v128_t pat2 = wasm_u8x16_make(fill[0], fill[0], fill[1], fill[1], fill[2], fill[2], fill[0], fill[0], fill[1], fill[1], fill[2], fill[2], fill[0], fill[0], fill[1], fill[1]);
  for (i32 y = 0; y < 2; y++) pair_row_fill(pairs + y * ps, pw, pat2);
  for (i32 y = 0; y < h; y++) pair_row_src(pairs + (y + 2) * ps, src + y * w * 3, w, fill);
  for (i32 y = h + 2; y < h + 4; y++) pair_row_fill(pairs + y * ps, pw, pat2);
  // small images: f32 -> i32 by the magic-number add (exact below 2^22 units: 2047 px)
  const i32 big = w > 2040 || h > 2040;
  if (big) bilinear_rows(dst, w, h, spans, m, fill, projective, invert, pairs, 1);
  else if (projective) bilinear_rows(dst, w, h, spans, m, fill, 1, invert, pairs, 0);
  else bilinear_rows(dst, w, h, spans, m, fill, 0, invert, pairs, 0);
}

/* ---- the Gaussian blur ------------------------------------------------------------------------ */
/*
 * blur(src, dst, w, h, kx, kw, ky, kh, tmp): separable blur, reflect padding (d c b | a b c d |
 * c b a, repeated for kernels wider than the image), in integer fixed point. kx and ky are
 * symmetric i16 weights in 1/32768ths summing to 32768 (32767 for a one-tap kernel; see
 * quantiseKernel in ../gaussianBlur.ts). The vertical pass runs first, on the u8 rows: the two
 * rows at the same distance from the centre are added (<= 510), and two such terms at a time
 * are interleaved and multiplied by their two weights with i32x4.dot_i16x8_s, exactly; the sum
 * is rounded to 6 fractional bits (<= 16320) into tmp, a row of i16 with kw/2 reflected pixels
 * on each side; the horizontal pass does the same along the row (pairs <= 32640) and rounds once
 * to 8 bits at the end. Within 1/128 level of the exact blend before that last rounding; integer
 * throughout: exact, the same on every machine.
 * tmp: (w + kw - 1) * 3 + 8 i16 (one padded row).
 */

static inline i32 reflect_index(i32 i, i32 n) {
  if ((u32)i < (u32)n) return i; // inside: the common case, no division
  if (n == 1) return 0;
  const i32 period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

/** Weight pairs (k[2g], k[2g + 1]) of the terms 0..r (term r the centre), as i32x4 splats of two i16. */
static void weight_pairs(const short *k, i32 r, v128_t *W) {
  for (i32 g = 0; 2 * g <= r; g++) {
    const i32 a = (unsigned short)k[2 * g], b = 2 * g + 1 <= r ? (unsigned short)k[2 * g + 1] : 0;
    W[g] = wasm_i32x4_splat(a | (b << 16));
  }
}

/* two terms (i16x8 each) times their weight pair, added to the i32 sums lo (values 0-3) and hi (4-7) */
#define DOT_TERMS(A, B, WG)                                                                   \
  do {                                                                                        \
    const v128_t a_ = (A), b_ = (B);                                                          \
    lo = wasm_i32x4_add(lo, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(a_, b_, 0, 8, 1, 9, 2, 10, 3, 11), (WG)));     \
    hi = wasm_i32x4_add(hi, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(a_, b_, 4, 12, 5, 13, 6, 14, 7, 15), (WG)));   \
  } while (0)

/* vertical term j of values i..i+7: rows at distance ry - j added, or the centre row */
#define VTERM(j) ((j) < ry ? wasm_i16x8_add(wasm_u16x8_load8x8(rows[(j)] + i), wasm_u16x8_load8x8(rows[kh - 1 - (j)] + i)) \
                  : (j) == ry ? wasm_u16x8_load8x8(rows[ry] + i) : wasm_i16x8_splat(0))
/* horizontal term j of values i..i+7 of the padded row (tap k of value i is tmp[i + 3k]) */
#define HTERM(j) ((j) < rx ? wasm_i16x8_add(wasm_v128_load(tmp + i + 3 * (j)), wasm_v128_load(tmp + i + 3 * (kw - 1 - (j)))) \
                  : (j) == rx ? wasm_v128_load(tmp + i + 3 * rx) : wasm_i16x8_splat(0))

static inline __attribute__((always_inline)) void blur_vpass(const u8 *const *rows, const i32 ry, const i32 kh, const v128_t *W, short *t, i32 stride) {
  const v128_t rnd = wasm_i32x4_splat(1 << 8);
  for (i32 i = 0; i < stride; i += 8) {
    v128_t lo = wasm_i32x4_splat(0), hi = wasm_i32x4_splat(0);
    for (i32 g = 0; 2 * g <= ry; g++) DOT_TERMS(VTERM(2 * g), VTERM(2 * g + 1), W[g]);
    wasm_v128_store(t + i, wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(wasm_i32x4_add(lo, rnd), 9), wasm_i32x4_shr(wasm_i32x4_add(hi, rnd), 9)));
  }
}

static inline __attribute__((always_inline)) void blur_hpass(const short *tmp, const i32 rx, const i32 kw, const v128_t *W, u8 *o, i32 stride) {
  const v128_t rnd = wasm_i32x4_splat(1 << 20);
  for (i32 i = 0; i < stride; i += 8) {
    v128_t lo = wasm_i32x4_splat(0), hi = wasm_i32x4_splat(0);
    for (i32 g = 0; 2 * g <= rx; g++) DOT_TERMS(HTERM(2 * g), HTERM(2 * g + 1), W[g]);
    const v128_t r = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(wasm_i32x4_add(lo, rnd), 21), wasm_i32x4_shr(wasm_i32x4_add(hi, rnd), 21));
    wasm_v128_store64_lane(o + i, wasm_u8x16_narrow_i16x8(r, r), 0); // may run 7 bytes into the next row
  }
}

EXPORT(blur) void blur(const u8 *src, u8 *dst, i32 w, i32 h, const short *kx, i32 kw, const short *ky, i32 kh, short *tmp) {
  const i32 stride = w * 3, rx = kw >> 1, ry = kh >> 1;
  v128_t WX[rx / 2 + 1], WY[ry / 2 + 1];
  weight_pairs(kx, rx, WX);
  weight_pairs(ky, ry, WY);
  for (i32 y = 0; y < h; y++) {
    const u8 *rows[kh];
    for (i32 k = 0; k < kh; k++) rows[k] = src + reflect_index(y + k - ry, h) * stride;
    short *t = tmp + rx * 3;
    // Vertical: row y's 3w values into t[0, 3w) (8 at a time; up to 7 past the end).
    switch (ry) {
      case 0: blur_vpass(rows, 0, kh, WY, t, stride); break;
      case 1: blur_vpass(rows, 1, kh, WY, t, stride); break;
      case 2: blur_vpass(rows, 2, kh, WY, t, stride); break;
      case 3: blur_vpass(rows, 3, kh, WY, t, stride); break;
      case 4: blur_vpass(rows, 4, kh, WY, t, stride); break;
      default: blur_vpass(rows, ry, kh, WY, t, stride);
    }
    // Reflected pixels on both sides (after the vertical pass, which may run past the row).
    for (i32 q = 0; q < rx; q++) {
      const short *a = t + reflect_index(q - rx, w) * 3, *b = t + reflect_index(w + q, w) * 3;
      short *pa = tmp + q * 3, *pb = t + (w + q) * 3;
      pa[0] = a[0]; pa[1] = a[1]; pa[2] = a[2];
      pb[0] = b[0]; pb[1] = b[1]; pb[2] = b[2];
    }
    u8 *o = dst + y * stride;
    switch (rx) {
      case 0: blur_hpass(tmp, 0, kw, WX, o, stride); break;
      case 1: blur_hpass(tmp, 1, kw, WX, o, stride); break;
      case 2: blur_hpass(tmp, 2, kw, WX, o, stride); break;
      default: blur_hpass(tmp, rx, kw, WX, o, stride);
    }
  }
}

/* ---- perceptual hash (the scan's, ../../dataset/phash.ts) -------------------------------- */

/*
 * The 8 dihedral pHashes of an RGB image as 128 hex digits (`hex`), as `perceptualHash` in
 * phash.ts computes them, bit for bit: grey (r * 0.299 + g * 0.587 + b * 0.114), area-averaged
 * to 32 x 32, 8 x 8 lowest DCT-II coefficients, each bit = coefficient >= the median of the 63
 * non-DC ones. Every f64 sum runs from 0 over the same terms in the same order as the JS loops
 * (no fused multiply-adds: -ffp-contract=off), so the thumbnail, the coefficients and the bits
 * are the JS ones. The area weights come from the JS (phash.ts `areaWeights`): cell x of a row
 * is grey pixels xi[xs[x]] .. xi[xs[x + 1] - 1] times xw[k]; source row y goes into thumbnail
 * rows yc[ys[y]] .. yc[ys[y + 1] - 1] with weights yw[k]. `cosb`: cos(pi (2x + 1) u / 64) as
 * COS[u * 32 + x] (from the JS: Math.cos). grey: w + 32 doubles of scratch. thumb (1024 doubles)
 * and d (64 doubles) are written for the caller too.
 */
static double ph_tmp[8 * 32];
static double ph_sel[63];
static double ph_lut[768];

static double ph_median(const double *t) {
  double *a = ph_sel;
  for (int i = 0; i < 63; i++) a[i] = t[i + 1];
  const int k = 31;
  int lo = 0, hi = 62;
  while (lo < hi) {
    const double pivot = a[(lo + hi) >> 1];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const double x = a[i];
        a[i++] = a[j];
        a[j--] = x;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

EXPORT(phash) void phash(const u8 *src, i32 w, i32 h, const i32 *xs, const i32 *xi, const double *xw, const i32 *ys, const i32 *yc,
                         const double *yw, const double *cosb, double *grey, double *thumb, double *d, char *hex) {
  double row[32];
  for (int i = 0; i < 1024; i++) thumb[i] = 0;
  // v * 0.299, v * 0.587, v * 0.114 for every byte value: the very products the JS forms
  for (int v = ph_lut[1] == 0 ? 0 : 256; v < 256; v++) {
    ph_lut[v] = v * 0.299;
    ph_lut[256 + v] = v * 0.587;
    ph_lut[512 + v] = v * 0.114;
  }
  const double *LR = ph_lut, *LG = ph_lut + 256, *LB = ph_lut + 512;
  // a width that is a multiple of 32: cell x is pixels x m .. x m + m - 1, all of weight xw[0]
  i32 m = w % 32 == 0 ? w / 32 : 0;
  for (int x = 0; x < 32 && m; x++)
    if (xs[x + 1] - xs[x] != m || xi[xs[x]] != x * m) m = 0;
  for (i32 k = 0; k < xs[32] && m; k++)
    if (xw[k] != xw[0]) m = 0;
  const v128_t wm = wasm_f64x2_splat(xw[0]);
  for (i32 y = 0; y < h; y++) {
    const u8 *p = src + (u32)y * (u32)w * 3;
    if (m) {
      // grey[t * 32 + x] = grey of pixel x m + t: then the 32 cells' sums, two lanes at a time,
      // each lane its own cell's sum over t increasing (the JS order)
      for (int x = 0; x < 32; x++)
        for (i32 t = 0; t < m; t++) {
          const u8 *q = p + 3 * (x * m + t);
          grey[t * 32 + x] = LR[q[0]] + LG[q[1]] + LB[q[2]];
        }
      for (int x = 0; x < 32; x += 8) {
        v128_t s0 = wasm_f64x2_splat(0), s1 = s0, s2 = s0, s3 = s0;
        for (i32 t = 0; t < m; t++) {
          const double *g = grey + t * 32 + x;
          s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(wasm_v128_load(g), wm));
          s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(wasm_v128_load(g + 2), wm));
          s2 = wasm_f64x2_add(s2, wasm_f64x2_mul(wasm_v128_load(g + 4), wm));
          s3 = wasm_f64x2_add(s3, wasm_f64x2_mul(wasm_v128_load(g + 6), wm));
        }
        wasm_v128_store(row + x, s0);
        wasm_v128_store(row + x + 2, s1);
        wasm_v128_store(row + x + 4, s2);
        wasm_v128_store(row + x + 6, s3);
      }
    } else {
      for (i32 i = 0; i < w; i++) grey[i] = LR[p[3 * i]] + LG[p[3 * i + 1]] + LB[p[3 * i + 2]];
      for (int x = 0; x < 32; x++) {
        double s = 0;
        for (i32 k = xs[x], e = xs[x + 1]; k < e; k++) s += grey[xi[k]] * xw[k];
        row[x] = s;
      }
    }
    for (i32 e = ys[y], end = ys[y + 1]; e < end; e++) {
      double *o = thumb + yc[e] * 32;
      const double wt = yw[e];
      for (int x = 0; x < 32; x++) o[x] += row[x] * wt;
    }
  }
  // tmp[u][x] = sum over y (increasing, from 0) of cos_u(y) * thumb[y][x]
  for (int u = 0; u < 8; u++) {
    double *t = ph_tmp + u * 32;
    for (int x = 0; x < 32; x++) t[x] = 0;
    for (int y = 0; y < 32; y++) {
      const double c = cosb[u * 32 + y];
      const double *g = thumb + y * 32;
      for (int x = 0; x < 32; x++) t[x] += c * g[x];
    }
  }
  // d[u][v] = sum over x (increasing, from 0) of cos_v(x) * tmp[u][x]
  for (int u = 0; u < 8; u++) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const double *t = ph_tmp + u * 32;
    for (int x = 0; x < 32; x++)
      for (int v = 0; v < 8; v++) s[v] += cosb[v * 32 + x] * t[x];
    for (int v = 0; v < 8; v++) d[u * 8 + v] = s[v];
  }
  // the medians of the 4 flips (none, columns, rows, both); a transpose's are its flip's with 1 <-> 2
  double med[4], f64[64];
  for (int f = 0; f < 4; f++) {
    for (int u = 0; u < 8; u++)
      for (int v = 0; v < 8; v++) f64[u * 8 + v] = ((f & 2) && (u & 1)) != ((f & 1) && (v & 1)) ? -d[u * 8 + v] : d[u * 8 + v];
    med[f] = ph_median(f64);
  }
  static const char HEX[] = "0123456789abcdef";
  for (int t = 0; t < 2; t++)
    for (int f = 0; f < 4; f++) {
      const double m = med[t && (f == 1 || f == 2) ? 3 - f : f];
      char *o = hex + (t * 4 + f) * 16;
      for (int nib = 0; nib < 16; nib++) {
        int q = 0;
        for (int b = 0; b < 4; b++) {
          const int i = nib * 4 + b, u = i >> 3, v = i & 7;
          const double x = t ? d[v * 8 + u] : d[u * 8 + v];
          const double val = ((f & 2) && (u & 1)) != ((f & 1) && (v & 1)) ? -x : x;
          q = (q << 1) | (val >= m);
        }
        o[nib] = HEX[q];
      }
    }
}
