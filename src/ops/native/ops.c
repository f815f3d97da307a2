/*
 * The ops' pixel loops, compiled to WebAssembly SIMD by scripts/build-ops-wasm.sh into ops.wasm
 * (committed; loaded by ../native.ts). Images are 8-bit interleaved RGB (3 bytes a pixel).
 *
 * Determinism: every result is a function of the inputs alone, the same on every machine. The
 * integer kernels are exact; the f64 ones do the JS reference's arithmetic (the .ts files of src/ops)
 * operation for operation (wasm has no scalar fused multiply-add, and -ffp-contract=off keeps
 * clang from forming one anyway), so they give its bytes. The bilinear warp is fixed point:
 * 1/2048-pixel weights, integer arithmetic, within one level of the f64 JS loops.
 *
 * Buffers may be read up to 16 bytes past their end and written up to 4 bytes past it: the
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

/** dst[i] = table[src[i]] for n bytes (in place allowed). */
EXPORT(lut) void lut(const u8 *src, u8 *dst, u32 n, const u8 *table) {
  u32 i = 0;
  for (; i + 4 <= n; i += 4) {
    u32 a = table[src[i]], b = table[src[i + 1]], c = table[src[i + 2]], d = table[src[i + 3]];
    dst[i] = a; dst[i + 1] = b; dst[i + 2] = c; dst[i + 3] = d;
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

/** Per-channel histograms (3 x 256 counts) of npix RGB pixels. */
EXPORT(hist3) void hist3(const u8 *src, u32 npix, u32 *hist) {
  for (u32 i = 0; i < 768; i++) hist[i] = 0;
  for (u32 p = 0; p < npix; p++, src += 3) {
    hist[src[0]]++;
    hist[256 + src[1]]++;
    hist[512 + src[2]]++;
  }
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
 * warp_*(src, dst, w, h, spans, m, fill, projective): for each row y, pixels outside
 * [spans[2y], spans[2y+1]) get the fill colour; inside, the inverse map m (f64[9], output px ->
 * input px) gives the source position, read nearest or bilinear. The position arithmetic is
 * ../warp.ts's (sampleRowNearest / sampleRowBilinear).
 */

static inline void put_fill(u8 *o, const u8 *fill) {
  o[0] = fill[0];
  o[1] = fill[1];
  o[2] = fill[2];
}

static void fill_range(u8 *row, u32 from, u32 to, const u8 *fill) {
  for (u32 x = from; x < to; x++) put_fill(row + x * 3, fill);
}

/** Copy one source pixel (a 4-byte load and store: the 4th byte is the next pixel's, rewritten after). */
static inline void copy_px(u8 *o, const u8 *p) { wasm_v128_store32_lane(o, wasm_v128_load32_zero(p), 0); }

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
 */
static inline int affine_row_fits(const double *m, double yd, i32 xs, i32 xe) {
  const double lim = 8192; // |u(0)| < 2^14 and every |U|, |x dU| < 2^29: no i32 overflow
  const double u0 = m[0] * xs + m[1] * yd + m[2], u1 = m[0] * (xe - 1) + m[1] * yd + m[2];
  const double v0 = m[3] * xs + m[4] * yd + m[5], v1 = m[3] * (xe - 1) + m[4] * yd + m[5];
  const double a0 = __builtin_fabs(m[0]) * xe, a3 = __builtin_fabs(m[3]) * xe;
  return __builtin_fabs(u0) < lim && __builtin_fabs(u1) < lim && __builtin_fabs(v0) < lim && __builtin_fabs(v1) < lim && a0 < lim && a3 < lim;
}

static void nearest_row_fixed(const u8 *src, u8 *row, i32 w, i32 h, const double *m, double yd, i32 xs, i32 xe, const u8 *fill) {
  const double one = 65536;
  const i32 du = (i32)__builtin_floor(m[0] * one + 0.5), dv = (i32)__builtin_floor(m[3] * one + 0.5);
  const i32 u0 = (i32)__builtin_floor((m[1] * yd + m[2] + 0.5) * one + 0.5), v0 = (i32)__builtin_floor((m[4] * yd + m[5] + 0.5) * one + 0.5);
  const v128_t steps = wasm_i32x4_make(0, 1, 2, 3);
  const v128_t duv = wasm_i32x4_splat(du), dvv = wasm_i32x4_splat(dv), wv = wasm_i32x4_splat(w), hv = wasm_i32x4_splat(h), three = wasm_i32x4_splat(3);
  for (i32 x = xs; x < xe; x += 4) {
    const v128_t xv = wasm_i32x4_add(wasm_i32x4_splat(x), steps);
    const v128_t U = wasm_i32x4_add(wasm_i32x4_splat(u0), wasm_i32x4_mul(xv, duv));
    const v128_t V = wasm_i32x4_add(wasm_i32x4_splat(v0), wasm_i32x4_mul(xv, dvv));
    const v128_t ix = wasm_i32x4_shr(U, 16), iy = wasm_i32x4_shr(V, 16);
    const v128_t in = wasm_v128_and(wasm_u32x4_lt(ix, wv), wasm_u32x4_lt(iy, hv));
    const v128_t idx = wasm_i32x4_mul(wasm_i32x4_add(wasm_i32x4_mul(iy, wv), ix), three);
    u8 *o = row + x * 3;
    const i32 n = xe - x < 4 ? xe - x : 4;
#define NEAREST_LANE(L) \
    if (L < n) { if (wasm_i32x4_extract_lane(in, L)) copy_px(o + 3 * L, src + wasm_i32x4_extract_lane(idx, L)); else put_fill(o + 3 * L, fill); }
    NEAREST_LANE(0) NEAREST_LANE(1) NEAREST_LANE(2) NEAREST_LANE(3)
#undef NEAREST_LANE
  }
}

EXPORT(warp_nearest) void warp_nearest(const u8 *src, u8 *dst, i32 w, i32 h, const i32 *spans, const double *m, const u8 *fill, i32 projective) {
  const v128_t m0v = wasm_f64x2_splat(m[0]), m3v = wasm_f64x2_splat(m[3]), m6v = wasm_f64x2_splat(m[6]);
  const v128_t half = wasm_f64x2_splat(0.5), zero = wasm_f64x2_splat(0), dw = wasm_f64x2_splat(w), dh = wasm_f64x2_splat(h);
  for (i32 y = 0; y < h; y++) {
    u8 *row = dst + y * w * 3;
    const i32 xs = spans[2 * y], xe = spans[2 * y + 1];
    const double yd = y;
    const v128_t bxv = wasm_f64x2_splat(m[1] * yd + m[2]), byv = wasm_f64x2_splat(m[4] * yd + m[5]), bzv = wasm_f64x2_splat(m[7] * yd + m[8]);
    fill_range(row, 0, xs, fill);
    if (!projective && xs < xe && affine_row_fits(m, yd, xs, xe)) {
      nearest_row_fixed(src, row, w, h, m, yd, xs, xe, fill);
      fill_range(row, xe, w, fill);
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
      if (wasm_i64x2_extract_lane(in, 0)) copy_px(o, src + wasm_i32x4_extract_lane(idx, 0));
      else put_fill(o, fill);
      if (x + 1 < xe) {
        if (wasm_i64x2_extract_lane(in, 1)) copy_px(o + 3, src + wasm_i32x4_extract_lane(idx, 1));
        else put_fill(o + 3, fill);
      }
    }
    // After the samples: their 4-byte stores may have run one byte into this range.
    fill_range(row, xe, w, fill);
  }
}

#define WBITS 11
#define WONE (1 << WBITS)

/**
 * Bilinear read at source pixel (x0 + wx / 2048, y0 + wy / 2048), neighbours outside the image
 * reading as `fill`; 4 bytes stored at o (the 4th is the next pixel's, rewritten after).
 */
static inline void bilinear_px(const u8 *src, i32 w, i32 h, i32 x0, i32 y0, i32 wx, i32 wy, const u8 *fill, u8 *o) {
  const i32 stride = w * 3;
  if ((u32)x0 < (u32)(w - 1) && (u32)y0 < (u32)(h - 1)) {
    // Interior: one 8-byte load per row holds both neighbours (3 + 3 bytes).
    const u8 *p = src + y0 * stride + x0 * 3;
    const v128_t r = wasm_v128_load64_lane(p + stride, wasm_v128_load64_zero(p), 1);
    // pairs (left, right) per channel: row 0 in bytes 0-5, row 1 in bytes 8-13
    const v128_t pairs = wasm_i8x16_shuffle(r, r, 0, 3, 1, 4, 2, 5, 6, 7, 8, 11, 9, 12, 10, 13, 14, 15); // lane 3: unused
    const v128_t wxs = wasm_i32x4_splat((wx << 16) | (WONE - wx)); // i16 pairs (1 - fx, fx)
    const v128_t top = wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(pairs), wxs);
    const v128_t bot = wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(pairs), wxs);
    v128_t s = wasm_i32x4_add(wasm_i32x4_mul(top, wasm_i32x4_splat(WONE - wy)), wasm_i32x4_mul(bot, wasm_i32x4_splat(wy)));
    s = wasm_u32x4_shr(wasm_i32x4_add(s, wasm_i32x4_splat(1 << (2 * WBITS - 1))), 2 * WBITS);
    s = wasm_u16x8_narrow_i32x4(s, s);
    s = wasm_u8x16_narrow_i16x8(s, s);
    wasm_v128_store32_lane(o, s, 0);
    return;
  }
  if (!(x0 >= -1 && x0 < w && y0 >= -1 && y0 < h)) {
    put_fill(o, fill); // all four neighbours outside
    return;
  }
  const int inX0 = x0 >= 0, inX1 = x0 + 1 < w, inY0 = y0 >= 0, inY1 = y0 + 1 < h;
  const u8 *p00 = inX0 && inY0 ? src + y0 * stride + x0 * 3 : fill;
  const u8 *p01 = inX1 && inY0 ? src + y0 * stride + (x0 + 1) * 3 : fill;
  const u8 *p10 = inX0 && inY1 ? src + (y0 + 1) * stride + x0 * 3 : fill;
  const u8 *p11 = inX1 && inY1 ? src + (y0 + 1) * stride + (x0 + 1) * 3 : fill;
  for (int c = 0; c < 3; c++) {
    const i32 top = p00[c] * (WONE - wx) + p01[c] * wx, bot = p10[c] * (WONE - wx) + p11[c] * wx;
    o[c] = (u8)((u32)(top * (WONE - wy) + bot * wy + (1 << (2 * WBITS - 1))) >> (2 * WBITS));
  }
}

/*
 * Positions in 1/2048 px: round(u * 2048) as i32 (saturating: far-off positions stay far off),
 * whose high bits are the left neighbour and low 11 bits its weight; within 1/4096 px of the
 * f64 position.
 */
EXPORT(warp_bilinear) void warp_bilinear(const u8 *src, u8 *dst, i32 w, i32 h, const i32 *spans, const double *m, const u8 *fill, i32 projective) {
  const v128_t m0v = wasm_f64x2_splat(m[0]), m3v = wasm_f64x2_splat(m[3]), m6v = wasm_f64x2_splat(m[6]);
  const v128_t scale = wasm_f64x2_splat(WONE), half = wasm_f64x2_splat(0.5);
  for (i32 y = 0; y < h; y++) {
    u8 *row = dst + y * w * 3;
    const i32 xs = spans[2 * y], xe = spans[2 * y + 1];
    const double yd = y;
    const v128_t bxv = wasm_f64x2_splat(m[1] * yd + m[2]), byv = wasm_f64x2_splat(m[4] * yd + m[5]), bzv = wasm_f64x2_splat(m[7] * yd + m[8]);
    fill_range(row, 0, xs, fill);
    for (i32 x = xs; x < xe; x += 2) {
      ROW_POSITIONS(u, v, ok)
      const v128_t U = wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_floor(wasm_f64x2_add(wasm_f64x2_mul(u, scale), half)));
      const v128_t V = wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_floor(wasm_f64x2_add(wasm_f64x2_mul(v, scale), half)));
      const v128_t X0 = wasm_i32x4_shr(U, WBITS), Y0 = wasm_i32x4_shr(V, WBITS);
      const v128_t WX = wasm_v128_and(U, wasm_i32x4_splat(WONE - 1)), WY = wasm_v128_and(V, wasm_i32x4_splat(WONE - 1));
      u8 *o = row + x * 3;
      if (wasm_i64x2_extract_lane(ok, 0))
        bilinear_px(src, w, h, wasm_i32x4_extract_lane(X0, 0), wasm_i32x4_extract_lane(Y0, 0), wasm_i32x4_extract_lane(WX, 0), wasm_i32x4_extract_lane(WY, 0), fill, o);
      else put_fill(o, fill); // behind the map's horizon: nothing to read
      if (x + 1 < xe) {
        if (wasm_i64x2_extract_lane(ok, 1))
          bilinear_px(src, w, h, wasm_i32x4_extract_lane(X0, 1), wasm_i32x4_extract_lane(Y0, 1), wasm_i32x4_extract_lane(WX, 1), wasm_i32x4_extract_lane(WY, 1), fill, o + 3);
        else put_fill(o + 3, fill);
      }
    }
    // After the samples: their 4-byte stores may have run one byte into this range.
    fill_range(row, xe, w, fill);
  }
}

/* ---- the Gaussian blur ------------------------------------------------------------------------ */
/*
 * blur(src, dst, w, h, kx, kw, ky, kh, tmp): separable blur, reflect padding (d c b | a b c d |
 * c b a, repeated for kernels wider than the image), in 16-bit fixed point. kx and ky are
 * symmetric i16 weights in 1/32768ths summing to 32768 (32767 for a one-tap kernel; see
 * quantiseKernel in ../gaussianBlur.ts). The vertical pass runs first, on the u8 rows: the two
 * rows at the same distance from the centre are added (<= 510), scaled to 6 fractional bits and
 * multiplied by their weight with i16x8.q15mulr_sat_s (a rounded Q15 product); its sums (6
 * fractional bits, <= 16320 + rounding) go to tmp, a row of i16 with kw/2 reflected pixels on
 * each side; the horizontal pass does the same along the row and rounds once at the end.
 * Integer throughout: exact, the same on every machine.
 * tmp: (w + kw - 1) * 3 + 8 i16 (one padded row).
 */

static inline i32 reflect_index(i32 i, i32 n) {
  if (n == 1) return 0;
  const i32 period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

EXPORT(blur) void blur(const u8 *src, u8 *dst, i32 w, i32 h, const short *kx, i32 kw, const short *ky, i32 kh, short *tmp) {
  const i32 stride = w * 3, rx = kw >> 1, ry = kh >> 1;
  const v128_t wyc = wasm_i16x8_splat(ky[ry]), wxc = wasm_i16x8_splat(kx[rx]);
  for (i32 y = 0; y < h; y++) {
    const u8 *rows[kh];
    for (i32 k = 0; k < kh; k++) rows[k] = src + reflect_index(y + k - ry, h) * stride;
    short *t = tmp + rx * 3;
    // Vertical: row y's 3w values into t[0, 3w) (8 at a time; up to 7 past the end).
    for (i32 i = 0; i < stride; i += 8) {
      v128_t acc = wasm_i16x8_q15mulr_sat(wasm_i16x8_shl(wasm_u16x8_load8x8(rows[ry] + i), 6), wyc);
      for (i32 k = 0; k < ry; k++) {
        const v128_t pair = wasm_i16x8_add(wasm_u16x8_load8x8(rows[k] + i), wasm_u16x8_load8x8(rows[kh - 1 - k] + i));
        acc = wasm_i16x8_add(acc, wasm_i16x8_q15mulr_sat(wasm_i16x8_shl(pair, 6), wasm_i16x8_splat(ky[k])));
      }
      wasm_v128_store(t + i, acc);
    }
    // Reflected pixels on both sides (after the vertical pass, which may run past the row).
    for (i32 q = 0; q < rx; q++) {
      const short *a = t + reflect_index(q - rx, w) * 3, *b = t + reflect_index(w + q, w) * 3;
      short *pa = tmp + q * 3, *pb = t + (w + q) * 3;
      pa[0] = a[0]; pa[1] = a[1]; pa[2] = a[2];
      pb[0] = b[0]; pb[1] = b[1]; pb[2] = b[2];
    }
    // Horizontal: tap k of value i is tmp[i + 3k]; pairs summed (<= 32640 + rounding).
    u8 *o = dst + y * stride;
    for (i32 i = 0; i < stride; i += 8) {
      v128_t acc = wasm_i16x8_q15mulr_sat(wasm_v128_load(tmp + i + 3 * rx), wxc);
      for (i32 k = 0; k < rx; k++) {
        const v128_t pair = wasm_i16x8_add(wasm_v128_load(tmp + i + 3 * k), wasm_v128_load(tmp + i + 3 * (kw - 1 - k)));
        acc = wasm_i16x8_add(acc, wasm_i16x8_q15mulr_sat(pair, wasm_i16x8_splat(kx[k])));
      }
      const v128_t r = wasm_i16x8_shr(wasm_i16x8_add(acc, wasm_i16x8_splat(32)), 6);
      wasm_v128_store64_lane(o + i, wasm_u8x16_narrow_i16x8(r, r), 0); // may run 7 bytes into the next row
    }
  }
}
