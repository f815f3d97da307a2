/*
 * Training kernels for tfjs-backend-wasm that it lacks or runs as scalar loops, in C with
 * WebAssembly SIMD (128-bit). Compiled by `scripts/build-wasm-kernels.sh` (clang + wasm-ld) into
 * a module that imports the tfjs module's own memory, so that these functions read and write
 * tensors where tfjs keeps them: every pointer below is a byte offset into that memory.
 *
 * Rules that keep this safe inside another module's memory: no static data, no stack (no
 * arrays or address-taken locals; the build checks that __stack_pointer is never used), no libc.
 * Single-threaded: called from the JavaScript thread between tfjs kernels.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) 

typedef float f32;
typedef int32_t i32;

/* acc + a * b. The relaxed-SIMD build (-DAUGMENT_FMA -mrelaxed-simd) fuses it where the machine
 * can (one rounding instead of two: results differ from the plain build in the last bits). */
#ifdef AUGMENT_FMA
typedef float f32x4_t __attribute__((vector_size(16)));
#define MADD(acc, a, b) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((f32x4_t)(a), (f32x4_t)(b), (f32x4_t)(acc)))
#else
#define MADD(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#endif

/* ---- Adam -------------------------------------------------------------------------------
 * m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;  w' = w - lr (m' ic1) / (sqrt(v' ic2) + eps)
 * with ic1 = 1 / (1 - b1^t), ic2 = 1 / (1 - b2^t): tfjs's AdamOptimizer update. */
EXPORT(adam)
void adam(const f32* w, const f32* m, const f32* v, const f32* g, f32* wo, f32* mo, f32* vo, i32 n,
          f32 lr, f32 b1, f32 b2, f32 eps, f32 ic1, f32 ic2) {
  const f32 a1 = 1.0f - b1, a2 = 1.0f - b2;
  const v128_t B1 = wasm_f32x4_splat(b1), B2 = wasm_f32x4_splat(b2);
  const v128_t A1 = wasm_f32x4_splat(a1), A2 = wasm_f32x4_splat(a2);
  const v128_t LR = wasm_f32x4_splat(lr), EPS = wasm_f32x4_splat(eps);
  const v128_t IC1 = wasm_f32x4_splat(ic1), IC2 = wasm_f32x4_splat(ic2);
  i32 i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t gi = wasm_v128_load(g + i);
    v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(B1, wasm_v128_load(m + i)), wasm_f32x4_mul(A1, gi));
    v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(B2, wasm_v128_load(v + i)), wasm_f32x4_mul(wasm_f32x4_mul(A2, gi), gi));
    wasm_v128_store(mo + i, mi);
    wasm_v128_store(vo + i, vi);
    v128_t den = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(vi, IC2)), EPS);
    v128_t step = wasm_f32x4_div(wasm_f32x4_mul(LR, wasm_f32x4_mul(mi, IC1)), den);
    wasm_v128_store(wo + i, wasm_f32x4_sub(wasm_v128_load(w + i), step));
  }
  for (; i < n; i++) {
    f32 gi = g[i];
    f32 mi = b1 * m[i] + a1 * gi;
    f32 vi = b2 * v[i] + a2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    wo[i] = w[i] - (lr * (mi * ic1)) / (__builtin_sqrtf(vi * ic2) + eps);
  }
}

/* ---- Transpose ---------------------------------------------------------------------------
 * out[i0, i1, i2, i3] (dims d0..d3, row-major, contiguous) = in[i0 s0 + i1 s1 + i2 s2 + i3 s3]
 * (strides in elements). The caller collapses any permutation to this form. */
static void copy_run(const f32* src, f32* dst, i32 n) {
  i32 i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

/* 2-D transpose of a rows x cols block: dst[c * dstride + r] = src[r * sstride + c]. */
static void transpose_plane(const f32* src, i32 sstride, f32* dst, i32 dstride, i32 rows, i32 cols) {
  i32 r = 0;
  for (; r + 4 <= rows; r += 4) {
    const f32* s = src + r * sstride;
    i32 c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128_t a = wasm_v128_load(s + c);
      v128_t b = wasm_v128_load(s + sstride + c);
      v128_t e = wasm_v128_load(s + 2 * sstride + c);
      v128_t f = wasm_v128_load(s + 3 * sstride + c);
      v128_t ab0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5);
      v128_t ab1 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
      v128_t ef0 = wasm_i32x4_shuffle(e, f, 0, 4, 1, 5);
      v128_t ef1 = wasm_i32x4_shuffle(e, f, 2, 6, 3, 7);
      f32* d = dst + c * dstride + r;
      wasm_v128_store(d, wasm_i64x2_shuffle(ab0, ef0, 0, 2));
      wasm_v128_store(d + dstride, wasm_i64x2_shuffle(ab0, ef0, 1, 3));
      wasm_v128_store(d + 2 * dstride, wasm_i64x2_shuffle(ab1, ef1, 0, 2));
      wasm_v128_store(d + 3 * dstride, wasm_i64x2_shuffle(ab1, ef1, 1, 3));
    }
    for (; c < cols; c++) {
      dst[c * dstride + r] = s[c];
      dst[c * dstride + r + 1] = s[sstride + c];
      dst[c * dstride + r + 2] = s[2 * sstride + c];
      dst[c * dstride + r + 3] = s[3 * sstride + c];
    }
  }
  for (; r < rows; r++)
    for (i32 c = 0; c < cols; c++) dst[c * dstride + r] = src[r * sstride + c];
}

/* For every (a, b) of two outer axes (sizes da, db; input strides sa, sb; output strides oa, ob):
 * out[a, b][k, r] = in[a, b][r, k] over axis k (dk, input stride 1, output stride ok) and axis 3
 * (d3, input stride s3, output stride 1), in 32 x 32 tiles for the cache. */
static void planes(const f32* in, f32* out, i32 da, i32 sa, i32 oa, i32 db, i32 sb, i32 ob, i32 dk, i32 ok, i32 d3, i32 s3) {
  for (i32 a = 0; a < da; a++)
    for (i32 b = 0; b < db; b++) {
      const f32* s = in + a * sa + b * sb;
      f32* d = out + a * oa + b * ob;
      for (i32 r = 0; r < d3; r += 32)
        for (i32 c = 0; c < dk; c += 32)
          transpose_plane(s + r * s3 + c, s3, d + c * ok + r, ok, d3 - r < 32 ? d3 - r : 32, dk - c < 32 ? dk - c : 32);
    }
}

EXPORT(transpose4)
void transpose4(const f32* in, f32* out, i32 d0, i32 d1, i32 d2, i32 d3, i32 s0, i32 s1, i32 s2, i32 s3) {
  if (s3 == 1) {
    for (i32 a = 0; a < d0; a++)
      for (i32 b = 0; b < d1; b++)
        for (i32 c = 0; c < d2; c++) copy_run(in + a * s0 + b * s1 + c * s2, out + ((a * d1 + b) * d2 + c) * d3, d3);
    return;
  }
  /* The input's innermost axis is one of the first three output axes (k): transpose the planes
   * of (k, axis 3) for every index of the two other axes. */
  const i32 od2 = d3, od1 = d2 * d3, od0 = d1 * d2 * d3;
  if (s2 == 1) {
    planes(in, out, d0, s0, od0, d1, s1, od1, d2, od2, d3, s3);
  } else if (s1 == 1) {
    planes(in, out, d0, s0, od0, d2, s2, od2, d1, od1, d3, s3);
  } else if (s0 == 1) {
    planes(in, out, d1, s1, od1, d2, s2, od2, d0, od0, d3, s3);
  } else {
    for (i32 a = 0; a < d0; a++)
      for (i32 b = 0; b < d1; b++)
        for (i32 c = 0; c < d2; c++)
          for (i32 e = 0; e < d3; e++) out[((a * d1 + b) * d2 + c) * d3 + e] = in[a * s0 + b * s1 + c * s2 + e * s3];
  }
}

/* ---- Max-pool gradient -------------------------------------------------------------------
 * NHWC. Each output position sends dy to the first maximum of its window (row-major), as
 * tfjs's cpu MaxPoolGrad does; positions outside the input (padding) never win. */
EXPORT(max_pool_grad)
void max_pool_grad(const f32* x, const f32* dy, f32* dx, i32 n, i32 h, i32 w, i32 c, i32 ho, i32 wo, i32 kh, i32 kw,
                   i32 sh, i32 sw, i32 pt, i32 pl) {
  const i32 total = n * h * w * c;
  for (i32 i = 0; i < total; i += 4) {
    if (i + 4 <= total) wasm_v128_store(dx + i, wasm_f32x4_splat(0.0f));
    else for (i32 j = i; j < total; j++) dx[j] = 0.0f;
  }
  for (i32 b = 0; b < n; b++) {
    const f32* xb = x + b * h * w * c;
    f32* dxb = dx + b * h * w * c;
    for (i32 oy = 0; oy < ho; oy++) {
      i32 y0 = oy * sh - pt, y1 = y0 + kh;
      if (y0 < 0) y0 = 0;
      if (y1 > h) y1 = h;
      for (i32 ox = 0; ox < wo; ox++) {
        i32 x0 = ox * sw - pl, x1 = x0 + kw;
        if (x0 < 0) x0 = 0;
        if (x1 > w) x1 = w;
        const f32* g = dy + ((b * ho + oy) * wo + ox) * c;
        i32 ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t arg = wasm_i32x4_splat(-1);
          for (i32 yy = y0; yy < y1; yy++)
            for (i32 xx = x0; xx < x1; xx++) {
              const i32 pos = (yy * w + xx) * c + ch;
              v128_t v = wasm_v128_load(xb + pos);
              v128_t gt = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, gt);
              arg = wasm_v128_bitselect(wasm_i32x4_add(wasm_i32x4_splat(pos), wasm_i32x4_make(0, 1, 2, 3)), arg, gt);
            }
          i32 a0 = wasm_i32x4_extract_lane(arg, 0), a1 = wasm_i32x4_extract_lane(arg, 1);
          i32 a2 = wasm_i32x4_extract_lane(arg, 2), a3 = wasm_i32x4_extract_lane(arg, 3);
          if (a0 >= 0) dxb[a0] += g[ch];
          if (a1 >= 0) dxb[a1] += g[ch + 1];
          if (a2 >= 0) dxb[a2] += g[ch + 2];
          if (a3 >= 0) dxb[a3] += g[ch + 3];
        }
        for (; ch < c; ch++) {
          f32 best = -__builtin_inff();
          i32 arg = -1;
          for (i32 yy = y0; yy < y1; yy++)
            for (i32 xx = x0; xx < x1; xx++) {
              const i32 pos = (yy * w + xx) * c + ch;
              if (xb[pos] > best) {
                best = xb[pos];
                arg = pos;
              }
            }
          if (arg >= 0) dxb[arg] += g[ch];
        }
      }
    }
  }
}

/* ---- Batch norm (training), NHWC flattened to m rows of c channels ----------------------
 * Per-channel vectors live in memory the caller allocates (c floats each). */

/* sum[k] = sum over rows of x[., k] */
static void channel_sums(const f32* x, i32 m, i32 c, f32* sum) {
  for (i32 k = 0; k < c; k++) sum[k] = 0.0f;
  if ((c & 3) == 0) {
    for (i32 r = 0; r < m; r++) {
      const f32* row = x + r * c;
      for (i32 k = 0; k < c; k += 4) wasm_v128_store(sum + k, wasm_f32x4_add(wasm_v128_load(sum + k), wasm_v128_load(row + k)));
    }
  } else {
    for (i32 r = 0; r < m; r++)
      for (i32 k = 0; k < c; k++) sum[k] += x[r * c + k];
  }
}

/* sum[k] = sum over the m rows of x[., k]: a reduction over every axis but the last. */
EXPORT(sum_rows)
void sum_rows(const f32* x, i32 m, i32 c, f32* sum) { channel_sums(x, m, c, sum); }

/* mean[k] = sum / m, ssd[k] = sum of (x - mean)^2 (two passes: stable in float32). */
EXPORT(bn_stats)
void bn_stats(const f32* x, i32 m, i32 c, f32* mean, f32* ssd) {
  channel_sums(x, m, c, mean);
  const f32 inv = 1.0f / (f32)m;
  for (i32 k = 0; k < c; k++) {
    mean[k] *= inv;
    ssd[k] = 0.0f;
  }
  if ((c & 3) == 0) {
    for (i32 r = 0; r < m; r++) {
      const f32* row = x + r * c;
      for (i32 k = 0; k < c; k += 4) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(row + k), wasm_v128_load(mean + k));
        wasm_v128_store(ssd + k, wasm_f32x4_add(wasm_v128_load(ssd + k), wasm_f32x4_mul(d, d)));
      }
    }
  } else {
    for (i32 r = 0; r < m; r++)
      for (i32 k = 0; k < c; k++) {
        f32 d = x[r * c + k] - mean[k];
        ssd[k] += d * d;
      }
  }
}

/* y = (x - mean) * scale + beta, then max(y, 0) if relu. */
EXPORT(bn_apply)
void bn_apply(const f32* x, f32* y, i32 m, i32 c, const f32* mean, const f32* scale, const f32* beta, i32 relu) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  if ((c & 3) == 0) {
    for (i32 r = 0; r < m; r++) {
      const f32* xr = x + r * c;
      f32* yr = y + r * c;
      for (i32 k = 0; k < c; k += 4) {
        v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + k), wasm_v128_load(mean + k)), wasm_v128_load(scale + k)),
                                  wasm_v128_load(beta + k));
        if (relu) v = wasm_f32x4_max(v, zero);
        wasm_v128_store(yr + k, v);
      }
    }
  } else {
    for (i32 r = 0; r < m; r++)
      for (i32 k = 0; k < c; k++) {
        f32 v = (x[r * c + k] - mean[k]) * scale[k] + beta[k];
        y[r * c + k] = relu && v < 0.0f ? 0.0f : v;
      }
  }
}

/* With d = dy (or dy where y > 0 if relu): sum_d[k] = sum of d, sum_dxc[k] = sum of d (x - mean). */
EXPORT(bn_grad_sums)
void bn_grad_sums(const f32* dy, const f32* x, const f32* y, i32 m, i32 c, const f32* mean, i32 relu, f32* sum_d, f32* sum_dxc) {
  for (i32 k = 0; k < c; k++) sum_d[k] = sum_dxc[k] = 0.0f;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  if ((c & 3) == 0) {
    for (i32 r = 0; r < m; r++) {
      const i32 o = r * c;
      for (i32 k = 0; k < c; k += 4) {
        v128_t d = wasm_v128_load(dy + o + k);
        if (relu) d = wasm_v128_and(d, wasm_f32x4_gt(wasm_v128_load(y + o + k), zero));
        v128_t xc = wasm_f32x4_sub(wasm_v128_load(x + o + k), wasm_v128_load(mean + k));
        wasm_v128_store(sum_d + k, wasm_f32x4_add(wasm_v128_load(sum_d + k), d));
        wasm_v128_store(sum_dxc + k, wasm_f32x4_add(wasm_v128_load(sum_dxc + k), wasm_f32x4_mul(d, xc)));
      }
    }
  } else {
    for (i32 r = 0; r < m; r++)
      for (i32 k = 0; k < c; k++) {
        const i32 o = r * c + k;
        f32 d = relu && !(y[o] > 0.0f) ? 0.0f : dy[o];
        sum_d[k] += d;
        sum_dxc[k] += d * (x[o] - mean[k]);
      }
  }
}

/* dx = d * a[k] + (x - mean) * b[k] + cc[k]. */
EXPORT(bn_grad_apply)
void bn_grad_apply(const f32* dy, const f32* x, const f32* y, f32* dx, i32 m, i32 c, const f32* mean, i32 relu, const f32* a,
                   const f32* b, const f32* cc) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  if ((c & 3) == 0) {
    for (i32 r = 0; r < m; r++) {
      const i32 o = r * c;
      for (i32 k = 0; k < c; k += 4) {
        v128_t d = wasm_v128_load(dy + o + k);
        if (relu) d = wasm_v128_and(d, wasm_f32x4_gt(wasm_v128_load(y + o + k), zero));
        v128_t xc = wasm_f32x4_sub(wasm_v128_load(x + o + k), wasm_v128_load(mean + k));
        v128_t v = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(d, wasm_v128_load(a + k)), wasm_f32x4_mul(xc, wasm_v128_load(b + k))),
                                  wasm_v128_load(cc + k));
        wasm_v128_store(dx + o + k, v);
      }
    }
  } else {
    for (i32 r = 0; r < m; r++)
      for (i32 k = 0; k < c; k++) {
        const i32 o = r * c + k;
        f32 d = relu && !(y[o] > 0.0f) ? 0.0f : dy[o];
        dx[o] = d * a[k] + (x[o] - mean[k]) * b[k] + cc[k];
      }
  }
}

/* ---- Work sharing ------------------------------------------------------------------------
 * The splittable kernels take (counter, chunk) last: every thread running the kernel claims
 * `chunk` work items at a time from the shared counter (an atomic add in the threaded build; the
 * caller zeroes it first) until all are taken, so that a thread that started late or was
 * descheduled does less, and nobody waits for it. */
static inline i32 claim(i32* counter, i32 chunk) { return __atomic_fetch_add(counter, chunk, __ATOMIC_RELAXED); }

/* ---- Convolution weight gradient ---------------------------------------------------------
 * dw[i, j, ci, co] = sum over (b, oy, ox) of x[b, oy sh + i - pt, ox sw + j - pl, ci] dy[b, oy, ox, co]
 * (NHWC, positions outside x count as zero). Straight from the tensors, no transposes, no
 * packing: register tiles of 4 input x 8 output channels accumulated over every output
 * position. Work items: (i, j, channel block). */
static inline void dw_tile(const f32* x, const f32* dy, f32* dw, i32 n, i32 h, i32 w, i32 ci, i32 ho, i32 wo, i32 co, i32 sh,
                           i32 sw, i32 i, i32 j, i32 pt, i32 pl, i32 c0, i32 k0, i32 nc, i32 nk) {
  /* valid output rows/cols for this tap */
  i32 oy0 = 0, oy1 = ho, ox0 = 0, ox1 = wo;
  while (oy0 < ho && oy0 * sh + i - pt < 0) oy0++;
  while (oy1 > oy0 && (oy1 - 1) * sh + i - pt >= h) oy1--;
  while (ox0 < wo && ox0 * sw + j - pl < 0) ox0++;
  while (ox1 > ox0 && (ox1 - 1) * sw + j - pl >= w) ox1--;
  if (nc == 4 && nk == 8) {
    v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (i32 b = 0; b < n; b++)
      for (i32 oy = oy0; oy < oy1; oy++) {
        const f32* xr = x + ((b * h + oy * sh + i - pt) * w + ox0 * sw + j - pl) * ci + c0;
        const f32* gr = dy + ((b * ho + oy) * wo + ox0) * co + k0;
        for (i32 ox = ox0; ox < ox1; ox++, xr += sw * ci, gr += co) {
          v128_t g0 = wasm_v128_load(gr), g1 = wasm_v128_load(gr + 4);
          v128_t x0 = wasm_f32x4_splat(xr[0]), x1 = wasm_f32x4_splat(xr[1]), x2 = wasm_f32x4_splat(xr[2]), x3 = wasm_f32x4_splat(xr[3]);
          a00 = MADD(a00, x0, g0);
          a01 = MADD(a01, x0, g1);
          a10 = MADD(a10, x1, g0);
          a11 = MADD(a11, x1, g1);
          a20 = MADD(a20, x2, g0);
          a21 = MADD(a21, x2, g1);
          a30 = MADD(a30, x3, g0);
          a31 = MADD(a31, x3, g1);
        }
      }
    f32* o = dw + c0 * co + k0;
    wasm_v128_store(o, a00);
    wasm_v128_store(o + 4, a01);
    wasm_v128_store(o + co, a10);
    wasm_v128_store(o + co + 4, a11);
    wasm_v128_store(o + 2 * co, a20);
    wasm_v128_store(o + 2 * co + 4, a21);
    wasm_v128_store(o + 3 * co, a30);
    wasm_v128_store(o + 3 * co + 4, a31);
    return;
  }
  /* edges: one input channel at a time, four output channels at a time, then one */
  for (i32 c = c0; c < c0 + nc; c++) {
    i32 k = k0;
    for (; k + 4 <= k0 + nk; k += 4) {
      v128_t acc = wasm_f32x4_splat(0);
      for (i32 b = 0; b < n; b++)
        for (i32 oy = oy0; oy < oy1; oy++) {
          const f32* xr = x + ((b * h + oy * sh + i - pt) * w + ox0 * sw + j - pl) * ci + c;
          const f32* gr = dy + ((b * ho + oy) * wo + ox0) * co + k;
          for (i32 ox = ox0; ox < ox1; ox++, xr += sw * ci, gr += co)
            acc = MADD(acc, wasm_f32x4_splat(xr[0]), wasm_v128_load(gr));
        }
      wasm_v128_store(dw + c * co + k, acc);
    }
    for (; k < k0 + nk; k++) {
      f32 acc = 0;
      for (i32 b = 0; b < n; b++)
        for (i32 oy = oy0; oy < oy1; oy++) {
          const f32* xr = x + ((b * h + oy * sh + i - pt) * w + ox0 * sw + j - pl) * ci + c;
          const f32* gr = dy + ((b * ho + oy) * wo + ox0) * co + k;
          for (i32 ox = ox0; ox < ox1; ox++, xr += sw * ci, gr += co) acc += xr[0] * gr[0];
        }
      dw[c * co + k] = acc;
    }
  }
}

EXPORT(conv_dw)
void conv_dw(const f32* x, const f32* dy, f32* dw, i32 n, i32 h, i32 w, i32 ci, i32 ho, i32 wo, i32 co, i32 kh, i32 kw,
             i32 sh, i32 sw, i32 pt, i32 pl, i32* counter, i32 chunk) {
  const i32 cblocks = (ci + 3) / 4, kblocks = (co + 7) / 8;
  const i32 tiles = kh * kw * cblocks * kblocks;
  for (i32 t0 = claim(counter, chunk); t0 < tiles; t0 = claim(counter, chunk))
  for (i32 t = t0; t < t0 + chunk && t < tiles; t++) {
    const i32 kb = t % kblocks, cb = (t / kblocks) % cblocks, tap = t / (kblocks * cblocks);
    const i32 i = tap / kw, j = tap % kw;
    const i32 c0 = cb * 4, k0 = kb * 8;
    const i32 nc = ci - c0 < 4 ? ci - c0 : 4, nk = co - k0 < 8 ? co - k0 : 8;
    dw_tile(x, dy, dw + tap * ci * co, n, h, w, ci, ho, wo, co, sh, sw, i, j, pt, pl, c0, k0, nc, nk);
  }
}

/* ---- Direct convolution ------------------------------------------------------------------
 * y[b, oy, ox, k] = sum over (i, j, c) of xv[b, oy sh + i - pt, ox sw + j - pl, c] w[i, j, c, k]
 * where xv is x (n x h x w x ci, NHWC) virtually dilated by (dh, dw) (xv[.., v, u, ..] =
 * x[.., v / dh, u / dw, ..] where they divide, else 0) and zero outside: dh = dw = 1 is the forward
 * convolution, the forward strides give the input gradient (transposed convolution) without
 * materialising the zero-upsampled tensor. Register tiles of 4 output positions x 8 output channels; a tap whose
 * input is zero for all 4 positions is skipped (positions are visited by phase modulo dw, so
 * that a tile's positions share their phase). A tile whose window rows lie inside x runs each
 * row as one loop of kw * ci. `zeros` points at kw * ci zero floats. The filter's rows (one per
 * (i, j, c)) are `ws` floats apart (ws >= co: a padded stride keeps a power-of-two row length
 * from mapping every row to the same cache sets).
 * Work items: (channel block, tile). */
#define TILE_POS 4

static inline void pos_of(i32 idx, i32 ho, i32 wo, i32 dil, i32* b, i32* oy, i32* ox) {
  /* idx enumerates (b, oy, phase, k) with ox = phase + k * dil */
  const i32 per_row = wo;
  const i32 row = idx / per_row, r = idx % per_row;
  *b = row / ho;
  *oy = row % ho;
  if (dil == 1) {
    *ox = r;
    return;
  }
  /* phases 0..dil-1 hold ceil((wo - p) / dil) positions each */
  i32 p = 0, start = 0;
  for (;;) {
    const i32 cnt = (wo - p + dil - 1) / dil;
    if (r < start + cnt) {
      *ox = p + (r - start) * dil;
      return;
    }
    start += cnt;
    p++;
  }
}

static inline const f32* tap_ptr(const f32* x, const f32* zeros, i32 b, i32 vy, i32 vx, i32 h, i32 w, i32 ci, i32 dh, i32 dw) {
  if (dh != 1) {
    if (vy % dh != 0) return zeros;
    vy /= dh;
  }
  if (dw != 1) {
    if (vx % dw != 0) return zeros;
    vx /= dw;
  }
  if (vy < 0 || vy >= h || vx < 0 || vx >= w) return zeros;
  return x + ((b * h + vy) * w + vx) * ci;
}

/* Start of position (b, vy, vx0)'s window row of kw taps when it lies inside x; zeros when the
 * whole row is outside (or between samples of a dilated x); 0 when only part of it is inside. */
static inline const f32* row_ptr(const f32* x, const f32* zeros, i32 b, i32 vy, i32 vx0, i32 h, i32 w, i32 ci, i32 kw, i32 dh) {
  if (dh != 1) {
    if (vy % dh != 0) return zeros;
    vy /= dh;
  }
  if (vy < 0 || vy >= h) return zeros;
  if (vx0 < 0 || vx0 + kw > w) return 0;
  return x + ((b * h + vy) * w + vx0) * ci;
}

/* acc (4 positions x nk <= 8 channels) += sum over c < len of p_r[c] * wbase[c * ws + 0..nk) */
#define ACCUMULATE()                                                                 \
  do { \
    const f32* wr = wbase; \
  if (nk == 8) { \
    for (i32 c = 0; c < len; c++, wr += ws) { \
      v128_t w0 = wasm_v128_load(wr), w1 = wasm_v128_load(wr + 4); \
      v128_t x0 = wasm_f32x4_splat(p0[c]), x1 = wasm_f32x4_splat(p1[c]), x2 = wasm_f32x4_splat(p2[c]), x3 = wasm_f32x4_splat(p3[c]); \
      a00 = MADD(a00, x0, w0); \
      a01 = MADD(a01, x0, w1); \
      a10 = MADD(a10, x1, w0); \
      a11 = MADD(a11, x1, w1); \
      a20 = MADD(a20, x2, w0); \
      a21 = MADD(a21, x2, w1); \
      a30 = MADD(a30, x3, w0); \
      a31 = MADD(a31, x3, w1); \
    } \
  } else if (nk >= 4) { \
    for (i32 c = 0; c < len; c++, wr += ws) { \
      v128_t w0 = wasm_v128_load(wr); \
      a00 = MADD(a00, wasm_f32x4_splat(p0[c]), w0); \
      a10 = MADD(a10, wasm_f32x4_splat(p1[c]), w0); \
      a20 = MADD(a20, wasm_f32x4_splat(p2[c]), w0); \
      a30 = MADD(a30, wasm_f32x4_splat(p3[c]), w0); \
    } \
    if (nk > 4) { \
      /* 5..7 channels: the rest one at a time into lanes of a01.. */ \
      wr = wbase + 4; \
      for (i32 c = 0; c < len; c++, wr += ws) { \
        f32 l0 = wr[0], l1 = nk > 5 ? wr[1] : 0.0f, l2 = nk > 6 ? wr[2] : 0.0f; \
        v128_t w1 = wasm_f32x4_make(l0, l1, l2, 0.0f); \
        a01 = MADD(a01, wasm_f32x4_splat(p0[c]), w1); \
        a11 = MADD(a11, wasm_f32x4_splat(p1[c]), w1); \
        a21 = MADD(a21, wasm_f32x4_splat(p2[c]), w1); \
        a31 = MADD(a31, wasm_f32x4_splat(p3[c]), w1); \
      } \
    } \
  } else { \
    for (i32 c = 0; c < len; c++, wr += ws) { \
      f32 l0 = wr[0], l1 = nk > 1 ? wr[1] : 0.0f, l2 = nk > 2 ? wr[2] : 0.0f; \
      v128_t w0 = wasm_f32x4_make(l0, l1, l2, 0.0f); \
      a00 = MADD(a00, wasm_f32x4_splat(p0[c]), w0); \
      a10 = MADD(a10, wasm_f32x4_splat(p1[c]), w0); \
      a20 = MADD(a20, wasm_f32x4_splat(p2[c]), w0); \
      a30 = MADD(a30, wasm_f32x4_splat(p3[c]), w0); \
    } \
  } \
  } while (0)

EXPORT(conv_fwd)
void conv_fwd(const f32* x, const f32* wt, f32* y, const f32* zeros, i32 n, i32 h, i32 w, i32 ci, i32 ho, i32 wo, i32 co, i32 ws,
              i32 kh, i32 kw, i32 sh, i32 sw, i32 pt, i32 pl, i32 dh, i32 dw, i32* counter, i32 chunk) {
  const i32 npos = n * ho * wo;
  const i32 tiles = (npos + TILE_POS - 1) / TILE_POS;
  const i32 kblocks = (co + 7) / 8;
  const i32 work = tiles * kblocks;
  for (i32 t0 = claim(counter, chunk); t0 < work; t0 = claim(counter, chunk))
  for (i32 t = t0; t < t0 + chunk && t < work; t++) {
    const i32 kb = t / tiles, tile = t % tiles;
    const i32 k0 = kb * 8, nk = co - k0 < 8 ? co - k0 : 8;
    i32 pb0, py0, px0, pb1 = 0, py1 = 0, px1 = 0, pb2 = 0, py2 = 0, px2 = 0, pb3 = 0, py3 = 0, px3 = 0;
    const i32 first = tile * TILE_POS;
    const i32 np = npos - first < TILE_POS ? npos - first : TILE_POS;
    pos_of(first, ho, wo, dw, &pb0, &py0, &px0);
    if (np > 1) pos_of(first + 1, ho, wo, dw, &pb1, &py1, &px1);
    if (np > 2) pos_of(first + 2, ho, wo, dw, &pb2, &py2, &px2);
    if (np > 3) pos_of(first + 3, ho, wo, dw, &pb3, &py3, &px3);
    v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (i32 i = 0; i < kh; i++) {
      if (dw == 1) {
        /* every position's window row inside x (or wholly zero): one run of kw * ci */
        const f32* p0 = row_ptr(x, zeros, pb0, py0 * sh + i - pt, px0 * sw - pl, h, w, ci, kw, dh);
        const f32* p1 = np > 1 ? row_ptr(x, zeros, pb1, py1 * sh + i - pt, px1 * sw - pl, h, w, ci, kw, dh) : zeros;
        const f32* p2 = np > 2 ? row_ptr(x, zeros, pb2, py2 * sh + i - pt, px2 * sw - pl, h, w, ci, kw, dh) : zeros;
        const f32* p3 = np > 3 ? row_ptr(x, zeros, pb3, py3 * sh + i - pt, px3 * sw - pl, h, w, ci, kw, dh) : zeros;
        if (p0 && p1 && p2 && p3) {
          if (p0 == zeros && p1 == zeros && p2 == zeros && p3 == zeros) continue;
          const f32* wbase = wt + i * kw * ci * ws + k0;
          const i32 len = kw * ci;
          ACCUMULATE();
          continue;
        }
      }
      for (i32 j = 0; j < kw; j++) {
        const f32* p0 = tap_ptr(x, zeros, pb0, py0 * sh + i - pt, px0 * sw + j - pl, h, w, ci, dh, dw);
        const f32* p1 = np > 1 ? tap_ptr(x, zeros, pb1, py1 * sh + i - pt, px1 * sw + j - pl, h, w, ci, dh, dw) : zeros;
        const f32* p2 = np > 2 ? tap_ptr(x, zeros, pb2, py2 * sh + i - pt, px2 * sw + j - pl, h, w, ci, dh, dw) : zeros;
        const f32* p3 = np > 3 ? tap_ptr(x, zeros, pb3, py3 * sh + i - pt, px3 * sw + j - pl, h, w, ci, dh, dw) : zeros;
        if (p0 == zeros && p1 == zeros && p2 == zeros && p3 == zeros) continue;
        const f32* wbase = wt + (i * kw + j) * ci * ws + k0;
        const i32 len = ci;
        ACCUMULATE();
      }
    }
    /* store the np x nk results */
    f32* o0 = y + ((pb0 * ho + py0) * wo + px0) * co + k0;
    f32* o1 = y + ((pb1 * ho + py1) * wo + px1) * co + k0;
    f32* o2 = y + ((pb2 * ho + py2) * wo + px2) * co + k0;
    f32* o3 = y + ((pb3 * ho + py3) * wo + px3) * co + k0;
    if (nk == 8) {
      wasm_v128_store(o0, a00);
      wasm_v128_store(o0 + 4, a01);
      if (np > 1) { wasm_v128_store(o1, a10); wasm_v128_store(o1 + 4, a11); }
      if (np > 2) { wasm_v128_store(o2, a20); wasm_v128_store(o2 + 4, a21); }
      if (np > 3) { wasm_v128_store(o3, a30); wasm_v128_store(o3 + 4, a31); }
    } else {
      /* partial channel block: lane by lane */
#define LANE(v, l) ((l) == 0 ? wasm_f32x4_extract_lane(v, 0) : (l) == 1 ? wasm_f32x4_extract_lane(v, 1) : (l) == 2 ? wasm_f32x4_extract_lane(v, 2) : wasm_f32x4_extract_lane(v, 3))
      for (i32 k = 0; k < nk; k++) {
        const i32 l = k & 3;
        o0[k] = k < 4 ? LANE(a00, l) : LANE(a01, l);
        if (np > 1) o1[k] = k < 4 ? LANE(a10, l) : LANE(a11, l);
        if (np > 2) o2[k] = k < 4 ? LANE(a20, l) : LANE(a21, l);
        if (np > 3) o3[k] = k < 4 ? LANE(a30, l) : LANE(a31, l);
      }
#undef LANE
    }
  }
}

/* y[r, k] += bias[k] (bias may be 0: none), then max(y, 0) if relu; in place, m rows of c. */
EXPORT(bias_act)
void bias_act(f32* y, const f32* bias, i32 m, i32 c, i32 relu) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (i32 r = 0; r < m; r++) {
    f32* row = y + r * c;
    i32 k = 0;
    for (; k + 4 <= c; k += 4) {
      v128_t v = wasm_v128_load(row + k);
      if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + k));
      if (relu) v = wasm_f32x4_max(v, zero);
      wasm_v128_store(row + k, v);
    }
    for (; k < c; k++) {
      f32 v = row[k] + (bias ? bias[k] : 0.0f);
      row[k] = relu && v < 0.0f ? 0.0f : v;
    }
  }
}

/* dst rows of `cols` floats, `dstride` apart, from src's contiguous rows. */
EXPORT(copy_rows)
void copy_rows(const f32* src, f32* dst, i32 rows, i32 cols, i32 dstride) {
  for (i32 r = 0; r < rows; r++) copy_run(src + r * cols, dst + r * dstride, cols);
}

/* [kh, kw, ci, co] -> [kh, kw, co, ci] rotated by 180 degrees (the transposed convolution's filter). */
EXPORT(rotate_filter)
void rotate_filter(const f32* w, f32* out, i32 kh, i32 kw, i32 ci, i32 co) {
  const i32 taps = kh * kw, sz = ci * co;
  for (i32 t = 0; t < taps; t++) {
    const f32* s = w + (taps - 1 - t) * sz;
    f32* d = out + t * sz;
    for (i32 r = 0; r < ci; r += 32)
      for (i32 c = 0; c < co; c += 32)
        transpose_plane(s + r * co + c, co, d + c * ci + r, ci, ci - r < 32 ? ci - r : 32, co - c < 32 ? co - c : 32);
  }
}
