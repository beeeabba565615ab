/*
 * tensor_rows.c — reductions and the transformer row ops on the CPU: BN_OP_REDUCE,
 * BN_OP_SOFTMAX, BN_OP_RMSNORM, BN_OP_ROPE and BN_OP_RMSNORM_QUANT.
 *
 * Numerics (src/reference_rows.ts is the same, in double):
 * - f16 elements are widened exactly; f16 results are rounded to nearest even, NaN keeping
 *   its top payload bits (f32ToF16Bits of src/dtype.ts).
 * - reduce: sums (SUM, MEAN, both passes of VAR) in double, 8 lanes per contiguous run
 *   (lane = offset mod 8, lanes combined pairwise) or one accumulator per column for
 *   strided columns; long runs are cut into fixed chunks whose partials add in chunk
 *   order. The partition depends only on the shape, never on the thread count, so results
 *   are reproducible. MEAN = (float)(Σ/len); VAR = (float)(Σ(x − mean)²/(len − ddof)) with
 *   mean = Σ/len in double (two passes). MAX/MIN propagate NaN; ARGMAX gives the first
 *   index of the maximum, or of the first NaN.
 * - softmax: m = max of the unmasked x (NaN ignored); e = expf(x − m) (our own
 *   polynomial, ~1 ulp, vectorisable); s = Σ e in double; y = (float)(e · (1/s)) in double
 *   (f32 rows keep e in y between the passes).
 *   Masked entries (causal, j > i + cols − rows) are 0.
 * - rmsnorm: ss = Σ x² in double; mean = (float)(ss/cols); v = mean + eps (f32);
 *   r = (float)(1/sqrt(v)); y = (x·r)·w, two f32 products.
 * - rope: inv_i = (float)pow(theta, −2i/d) (double); θ = (float)pos · inv_i (f32 product);
 *   c = (float)cos θ, s = (float)sin θ (double); y = x1·c − x2·s, x1·s + x2·c in f32.
 * - rmsnorm_quant: y exactly as rmsnorm (f32), then quantize_act_int8's rules
 *   (objc/cpu/quantize.c): amax = max|y| where a NaN wins; inv = 127.0f/amax;
 *   xq = clamp(roundEven(y·inv), −127, 127) (NaN → 0); scale = amax/127.0f (a NaN row:
 *   xq = 0 and a NaN scale; amax = 0: xq = 0, scale 0).
 * Hot loops are written as plain lane loops and compiled twice (baseline and AVX2 through
 * target attributes; the arithmetic is the same, so the results are too).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "cpu/cpu_internal.h"

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

#define ROUND_MAGIC 12582912.0f /* 1.5 · 2^23 */
#define BLK 1024u               /* elements converted from f16 at a time */
#define CHUNK 65536u            /* elements per parallel item (about) */
#define COLS_MAX 256u           /* columns per block of a strided reduction */

/* ---- bits and half floats ----------------------------------------------------------- */

static ALWAYS_INLINE uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static ALWAYS_INLINE float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* binary16 bits → f32, exact (subnormals through an exact product, Inf/NaN kept). */
static ALWAYS_INLINE float h2f(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t em = h & 0x7fffu;
  float sub = (float)em * 5.9604644775390625e-8f; /* em · 2^-24 */
  uint32_t b = em < 0x400u ? f2u(sub) : (em >= 0x7c00u ? ((em << 13) | 0x7f800000u)
                                                         : (em << 13) + 0x38000000u);
  return u2f(b | sign);
}

/* f32 → binary16 bits, round to nearest even; NaN → 0x7e00 | top payload bits. */
static ALWAYS_INLINE uint16_t f2h(float v) {
  uint32_t x = f2u(v);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t a = x & 0x7fffffffu;
  uint32_t big = a > 0x7f800000u ? (0x7e00u | ((a & 0x7fffffu) >> 13)) : 0x7c00u;
  /* below 2^-14: adding 0.5 rounds to a multiple of 2^-24 (nearest even) */
  uint32_t sub = f2u(u2f(a < 0x38800000u ? a : 0u) + 0.5f) - 0x3f000000u;
  uint32_t nrm = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;
  uint32_t r = a >= 0x47800000u ? big : (a < 0x38800000u ? sub : nrm);
  return (uint16_t)(r | sign);
}

static ALWAYS_INLINE void h2f_block(const uint16_t* h, float* out, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) out[i] = h2f(h[i]);
}

/* ---- exp ------------------------------------------------------------------------------- */

/* e^x for every f32 x (Cephes' expf polynomial, ~1 ulp); branch-free so that it
 * vectorises. exp(-inf) = 0, exp(+inf) = +inf, NaN → NaN. */
static ALWAYS_INLINE float bn_expf(float x) {
  const float hi = 88.72283935546875f, lo = -103.972084045410156f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  xc = x == x ? xc : 0.0f;
  float n = (xc * 1.44269504088896341f + ROUND_MAGIC) - ROUND_MAGIC;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = (p * (r * r) + r) + 1.0f;
  int32_t ni = (int32_t)n; /* -150 .. 128 */
  int32_t n1 = ni >> 1, n2 = ni - n1;
  y = y * u2f((uint32_t)(n1 + 127) << 23);
  y = y * u2f((uint32_t)(n2 + 127) << 23);
  y = x > hi ? INFINITY : y;
  y = x < lo ? 0.0f : y;
  return x == x ? y : x;
}

/* ---- reductions -------------------------------------------------------------------------- */

static ALWAYS_INLINE double lanes_total(const double a[8]) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* a[l] += x (or (x − mean)²) for a contiguous run; lane = offset mod 8. */
static ALWAYS_INLINE void lanes_sum(const float* x, uint32_t n, double a[8], int sq, double mean) {
  uint32_t i = 0;
  if (sq) {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; l++) {
        double d = (double)x[i + l] - mean;
        a[l] += d * d;
      }
    }
    for (int l = 0; i < n; i++, l++) {
      double d = (double)x[i] - mean;
      a[l] += d * d;
    }
  } else {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; l++) a[l] += (double)x[i + l];
    }
    for (int l = 0; i < n; i++, l++) a[l] += (double)x[i];
  }
}

/* Whether (v2, i2) beats (v1, i1) for ARGMAX: NaN first, then larger, then lower index. */
static ALWAYS_INLINE int arg_better(float v1, uint32_t i1, float v2, uint32_t i2) {
  int n1 = v1 != v1, n2 = v2 != v2;
  if (n1 | n2) return n2 && (!n1 || i2 < i1);
  return v2 > v1 || (v2 == v1 && i2 < i1);
}

/* Combined extreme of two partial MAX/MIN values: NaN propagates. */
static ALWAYS_INLINE float ext2(float a, float b, int is_min) {
  if (a != a) return a;
  if (b != b) return b;
  return is_min ? (b < a ? b : a) : (b > a ? b : a);
}

/* MAX/MIN/ARGMAX of a contiguous run whose first element has index base. */
static ALWAYS_INLINE void lanes_ext(const float* x, uint32_t n, uint32_t base, uint32_t op,
                                    float v[8], uint32_t ix[8]) {
  uint32_t i = 0;
  if (op == BN_REDUCE_ARGMAX) {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; l++) {
        float e = x[i + l];
        int take = e > v[l] || (e != e && v[l] == v[l]) || ix[l] == UINT32_MAX;
        v[l] = take ? e : v[l];
        ix[l] = take ? base + i + (uint32_t)l : ix[l];
      }
    }
    for (int l = 0; i < n; i++, l++) {
      float e = x[i];
      if (e > v[l] || (e != e && v[l] == v[l]) || ix[l] == UINT32_MAX) {
        v[l] = e;
        ix[l] = base + i;
      }
    }
  } else if (op == BN_REDUCE_MIN) {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; l++) {
        float e = x[i + l];
        v[l] = (e < v[l] || e != e) && v[l] == v[l] ? e : v[l];
      }
    }
    for (int l = 0; i < n; i++, l++) {
      float e = x[i];
      v[l] = (e < v[l] || e != e) && v[l] == v[l] ? e : v[l];
    }
  } else {
    for (; i + 8 <= n; i += 8) {
      for (int l = 0; l < 8; l++) {
        float e = x[i + l];
        v[l] = (e > v[l] || e != e) && v[l] == v[l] ? e : v[l];
      }
    }
    for (int l = 0; i < n; i++, l++) {
      float e = x[i];
      v[l] = (e > v[l] || e != e) && v[l] == v[l] ? e : v[l];
    }
  }
}

typedef struct {
  uint32_t op, f16;
  uint64_t outer, len, inner, ddof;
  const void* x;
  void* out;
  uint64_t opi;     /* FINAL: outer indexes per item                            */
  uint64_t cb, nb;  /* columns per block (inner > 1), blocks                     */
  uint64_t rc, nch; /* rows per chunk, chunks; nch > 1: partials, then combine */
  int sq;           /* partial pass of VAR's squared deviations                 */
  double* psum;     /* [outer][nch][inner]                                      */
  float* pval;
  uint32_t* pidx;
  double* mean; /* [outer][inner] (VAR with chunks)                          */
} red_t;

static ALWAYS_INLINE float ext_init(uint32_t op) {
  return op == BN_REDUCE_MIN ? INFINITY : -INFINITY;
}

/* Σ x (or Σ (x − mean)²) of rows [l0, l1) of the contiguous row o (inner == 1). */
static ALWAYS_INLINE double run_sum(const red_t* r, uint64_t o, uint64_t l0, uint64_t l1, int sq,
                                    double mean) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t base = o * r->len;
  if (!r->f16) {
    const float* x = (const float*)r->x + base;
    for (uint64_t l = l0; l < l1; l += CHUNK) {
      uint64_t n = l1 - l < CHUNK ? l1 - l : CHUNK;
      lanes_sum(x + l, (uint32_t)n, a, sq, mean);
    }
  } else {
    const uint16_t* x = (const uint16_t*)r->x + base;
    float tmp[BLK];
    for (uint64_t l = l0; l < l1; l += BLK) {
      uint32_t n = (uint32_t)(l1 - l < BLK ? l1 - l : BLK);
      h2f_block(x + l, tmp, n);
      lanes_sum(tmp, n, a, sq, mean);
    }
  }
  return lanes_total(a);
}

/* MAX/MIN/ARGMAX of rows [l0, l1) of the contiguous row o (inner == 1). */
static ALWAYS_INLINE void run_ext(const red_t* r, uint64_t o, uint64_t l0, uint64_t l1,
                                  float* vout, uint32_t* iout) {
  float v[8];
  uint32_t ix[8];
  for (int l = 0; l < 8; l++) {
    v[l] = ext_init(r->op);
    ix[l] = UINT32_MAX;
  }
  uint64_t base = o * r->len;
  if (!r->f16) {
    const float* x = (const float*)r->x + base;
    for (uint64_t l = l0; l < l1; l += CHUNK) {
      uint64_t n = l1 - l < CHUNK ? l1 - l : CHUNK;
      lanes_ext(x + l, (uint32_t)n, (uint32_t)l, r->op, v, ix);
    }
  } else {
    const uint16_t* x = (const uint16_t*)r->x + base;
    float tmp[BLK];
    for (uint64_t l = l0; l < l1; l += BLK) {
      uint32_t n = (uint32_t)(l1 - l < BLK ? l1 - l : BLK);
      h2f_block(x + l, tmp, n);
      lanes_ext(tmp, n, (uint32_t)l, r->op, v, ix);
    }
  }
  float bv = v[0];
  uint32_t bi = ix[0];
  for (int l = 1; l < 8; l++) {
    if (r->op == BN_REDUCE_ARGMAX) {
      if (arg_better(bv, bi, v[l], ix[l])) {
        bv = v[l];
        bi = ix[l];
      }
    } else {
      bv = ext2(bv, v[l], r->op == BN_REDUCE_MIN);
    }
  }
  *vout = bv;
  *iout = bi;
}

/* Row l, columns [c0, c0 + w) of outer index o, as f32 (a pointer into x, or into tmp). */
static ALWAYS_INLINE const float* col_row(const red_t* r, uint64_t o, uint64_t l, uint64_t c0,
                                          uint32_t w, float* tmp) {
  uint64_t e = (o * r->len + l) * r->inner + c0;
  if (!r->f16) return (const float*)r->x + e;
  h2f_block((const uint16_t*)r->x + e, tmp, w);
  return tmp;
}

/* Column sums (or squared deviations from mean[c]) over rows [l0, l1). */
static ALWAYS_INLINE void cols_sum(const red_t* r, uint64_t o, uint64_t l0, uint64_t l1,
                                   uint64_t c0, uint32_t w, int sq, const double* mean,
                                   double* acc) {
  float tmp[COLS_MAX];
  for (uint32_t c = 0; c < w; c++) acc[c] = 0.0;
  for (uint64_t l = l0; l < l1; l++) {
    const float* x = col_row(r, o, l, c0, w, tmp);
    if (sq) {
      for (uint32_t c = 0; c < w; c++) {
        double d = (double)x[c] - mean[c];
        acc[c] += d * d;
      }
    } else {
      for (uint32_t c = 0; c < w; c++) acc[c] += (double)x[c];
    }
  }
}

static ALWAYS_INLINE void cols_ext(const red_t* r, uint64_t o, uint64_t l0, uint64_t l1,
                                   uint64_t c0, uint32_t w, float* v, uint32_t* ix) {
  float tmp[COLS_MAX];
  for (uint32_t c = 0; c < w; c++) {
    v[c] = ext_init(r->op);
    ix[c] = UINT32_MAX;
  }
  for (uint64_t l = l0; l < l1; l++) {
    const float* x = col_row(r, o, l, c0, w, tmp);
    if (r->op == BN_REDUCE_ARGMAX) {
      for (uint32_t c = 0; c < w; c++) {
        float e = x[c];
        int take = e > v[c] || (e != e && v[c] == v[c]) || ix[c] == UINT32_MAX;
        v[c] = take ? e : v[c];
        ix[c] = take ? (uint32_t)l : ix[c];
      }
    } else if (r->op == BN_REDUCE_MIN) {
      for (uint32_t c = 0; c < w; c++) {
        float e = x[c];
        v[c] = (e < v[c] || e != e) && v[c] == v[c] ? e : v[c];
      }
    } else {
      for (uint32_t c = 0; c < w; c++) {
        float e = x[c];
        v[c] = (e > v[c] || e != e) && v[c] == v[c] ? e : v[c];
      }
    }
  }
}

static ALWAYS_INLINE int is_sum_op(uint32_t op) {
  return op == BN_REDUCE_SUM || op == BN_REDUCE_MEAN || op == BN_REDUCE_VAR;
}

/* Final value of a sum-type reduction from Σ (SUM/MEAN) or Σ(x − mean)² (VAR). */
static ALWAYS_INLINE float finish_sum(const red_t* r, double s) {
  if (r->op == BN_REDUCE_MEAN) return (float)(s / (double)r->len);
  if (r->op == BN_REDUCE_VAR) return (float)(s / (double)(r->len - r->ddof));
  return (float)s;
}

/* Item of the one-pass plan (nch == 1): outer indexes [o0, o0 + opi), column block b. */
static ALWAYS_INLINE void red_final_body(const red_t* r, uint32_t item) {
  uint64_t ob = item / r->nb, b = item % r->nb;
  uint64_t o0 = ob * r->opi, o1 = o0 + r->opi < r->outer ? o0 + r->opi : r->outer;
  uint64_t c0 = b * r->cb;
  uint32_t w = (uint32_t)(r->inner - c0 < r->cb ? r->inner - c0 : r->cb);
  float* outf = r->out;
  int32_t* outi = r->out;
  for (uint64_t o = o0; o < o1; o++) {
    uint64_t q = o * r->inner + c0;
    if (r->inner == 1) {
      if (is_sum_op(r->op)) {
        double s = run_sum(r, o, 0, r->len, 0, 0.0);
        if (r->op == BN_REDUCE_VAR) s = run_sum(r, o, 0, r->len, 1, s / (double)r->len);
        outf[q] = finish_sum(r, s);
      } else {
        float v;
        uint32_t ix;
        run_ext(r, o, 0, r->len, &v, &ix);
        if (r->op == BN_REDUCE_ARGMAX) outi[q] = (int32_t)ix;
        else outf[q] = v;
      }
      continue;
    }
    if (is_sum_op(r->op)) {
      double acc[COLS_MAX], mean[COLS_MAX];
      cols_sum(r, o, 0, r->len, c0, w, 0, NULL, acc);
      if (r->op == BN_REDUCE_VAR) {
        for (uint32_t c = 0; c < w; c++) mean[c] = acc[c] / (double)r->len;
        cols_sum(r, o, 0, r->len, c0, w, 1, mean, acc);
      }
      for (uint32_t c = 0; c < w; c++) outf[q + c] = finish_sum(r, acc[c]);
    } else {
      float v[COLS_MAX];
      uint32_t ix[COLS_MAX];
      cols_ext(r, o, 0, r->len, c0, w, v, ix);
      if (r->op == BN_REDUCE_ARGMAX) {
        for (uint32_t c = 0; c < w; c++) outi[q + c] = (int32_t)ix[c];
      } else {
        for (uint32_t c = 0; c < w; c++) outf[q + c] = v[c];
      }
    }
  }
}

/* Item of a chunked pass: outer index o, chunk ch, column block b → partials. */
static ALWAYS_INLINE void red_partial_body(const red_t* r, uint32_t item) {
  uint64_t b = item % r->nb, rest = item / r->nb;
  uint64_t ch = rest % r->nch, o = rest / r->nch;
  uint64_t l0 = ch * r->rc, l1 = l0 + r->rc < r->len ? l0 + r->rc : r->len;
  uint64_t c0 = b * r->cb;
  uint32_t w = (uint32_t)(r->inner - c0 < r->cb ? r->inner - c0 : r->cb);
  uint64_t pq = (o * r->nch + ch) * r->inner + c0; /* partial index of column c0 */
  const double* mean = r->sq ? r->mean + o * r->inner + c0 : NULL;
  if (r->inner == 1) {
    if (is_sum_op(r->op)) {
      r->psum[pq] = run_sum(r, o, l0, l1, r->sq, r->sq ? mean[0] : 0.0);
    } else {
      run_ext(r, o, l0, l1, &r->pval[pq], &r->pidx[pq]);
    }
    return;
  }
  if (is_sum_op(r->op)) {
    cols_sum(r, o, l0, l1, c0, w, r->sq, mean, r->psum + pq);
  } else {
    cols_ext(r, o, l0, l1, c0, w, r->pval + pq, r->pidx + pq);
  }
}

static void red_final_base(const red_t* r, uint32_t i) { red_final_body(r, i); }
static void red_partial_base(const red_t* r, uint32_t i) { red_partial_body(r, i); }
#if defined(__x86_64__)
TARGET_AVX2 static void red_final_avx2(const red_t* r, uint32_t i) { red_final_body(r, i); }
TARGET_AVX2 static void red_partial_avx2(const red_t* r, uint32_t i) { red_partial_body(r, i); }
#endif

static void red_final_task(void* vc, uint32_t i) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    red_final_avx2(vc, i);
    return;
  }
#endif
  red_final_base(vc, i);
}

static void red_partial_task(void* vc, uint32_t i) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    red_partial_avx2(vc, i);
    return;
  }
#endif
  red_partial_base(vc, i);
}

/* Combines the chunk partials of outer index o (in chunk order) into out, or into the
 * means of VAR's first pass. */
static void red_combine_task(void* vc, uint32_t o) {
  const red_t* r = vc;
  float* outf = r->out;
  int32_t* outi = r->out;
  for (uint64_t c = 0; c < r->inner; c++) {
    uint64_t q = (uint64_t)o * r->inner + c;
    uint64_t p0 = (uint64_t)o * r->nch * r->inner + c;
    if (is_sum_op(r->op)) {
      double s = 0.0;
      for (uint64_t ch = 0; ch < r->nch; ch++) s += r->psum[p0 + ch * r->inner];
      if (r->op == BN_REDUCE_VAR && !r->sq) r->mean[q] = s / (double)r->len;
      else outf[q] = finish_sum(r, s);
    } else {
      float v = r->pval[p0];
      uint32_t ix = r->pidx[p0];
      for (uint64_t ch = 1; ch < r->nch; ch++) {
        float v2 = r->pval[p0 + ch * r->inner];
        uint32_t i2 = r->pidx[p0 + ch * r->inner];
        if (r->op == BN_REDUCE_ARGMAX) {
          if (arg_better(v, ix, v2, i2)) {
            v = v2;
            ix = i2;
          }
        } else {
          v = ext2(v, v2, r->op == BN_REDUCE_MIN);
        }
      }
      if (r->op == BN_REDUCE_ARGMAX) outi[q] = (int32_t)ix;
      else outf[q] = v;
    }
  }
}

int32_t bn_cpu_reduce(const bn_reduce_params_t* p, void* const* bufs) {
  red_t r;
  memset(&r, 0, sizeof r);
  r.op = p->op;
  r.f16 = p->dtype == BN_DTYPE_F16;
  r.outer = p->outer;
  r.len = p->len;
  r.inner = p->inner;
  r.ddof = p->ddof;
  r.x = bufs[0];
  r.out = bufs[1];
  if (!r.outer || !r.len || !r.inner) return BN_OK;
  /* The partition depends on the shape only (reproducible for any thread count). */
  if (r.inner == 1) {
    r.cb = 1;
    r.rc = r.len <= 2 * CHUNK ? r.len : CHUNK;
  } else {
    r.cb = r.inner < COLS_MAX ? r.inner : COLS_MAX;
    uint64_t rows = CHUNK / r.cb;
    r.rc = rows < 64 ? 64 : rows;
    if (r.len <= 2 * r.rc) r.rc = r.len;
  }
  r.nb = (r.inner + r.cb - 1) / r.cb;
  r.nch = (r.len + r.rc - 1) / r.rc;
  if (r.nch == 1) {
    uint64_t per = r.len * r.cb; /* elements of one outer index in one item */
    r.opi = per >= CHUNK ? 1 : CHUNK / per;
    uint64_t items = (r.outer + r.opi - 1) / r.opi * r.nb;
    if (items > UINT32_MAX) return bn_fail(BN_ERR_SIZE, "[reduce] too many work items");
    if (items == 1) red_final_task(&r, 0);
    else bn_parallel_for((uint32_t)items, red_final_task, &r);
    return BN_OK;
  }
  uint64_t parts = r.outer * r.nch * r.inner; /* ≤ elements / 32 */
  uint64_t items = r.outer * r.nch * r.nb;
  if (items > UINT32_MAX || r.outer > UINT32_MAX)
    return bn_fail(BN_ERR_SIZE, "[reduce] too many work items");
  int32_t st = BN_OK;
  if (is_sum_op(r.op)) {
    r.psum = malloc((size_t)parts * sizeof(double));
    if (r.op == BN_REDUCE_VAR) r.mean = malloc((size_t)(r.outer * r.inner) * sizeof(double));
    if (!r.psum || (r.op == BN_REDUCE_VAR && !r.mean)) st = BN_ERR_OUT_OF_MEMORY;
  } else {
    r.pval = malloc((size_t)parts * sizeof(float));
    r.pidx = malloc((size_t)parts * sizeof(uint32_t));
    if (!r.pval || !r.pidx) st = BN_ERR_OUT_OF_MEMORY;
  }
  if (st == BN_OK) {
    bn_parallel_for((uint32_t)items, red_partial_task, &r);
    bn_parallel_for((uint32_t)r.outer, red_combine_task, &r);
    if (r.op == BN_REDUCE_VAR) {
      r.sq = 1;
      bn_parallel_for((uint32_t)items, red_partial_task, &r);
      bn_parallel_for((uint32_t)r.outer, red_combine_task, &r);
    }
  } else {
    st = bn_fail(BN_ERR_OUT_OF_MEMORY, "[reduce] no memory for %llu partial results",
                 (unsigned long long)parts);
  }
  free(r.psum);
  free(r.mean);
  free(r.pval);
  free(r.pidx);
  return st;
}

/* ---- softmax ------------------------------------------------------------------------------ */

typedef struct {
  const void* x;
  void* y;
  uint64_t rows, cols;
  uint32_t causal, f16;
  uint64_t rpi; /* rows per item */
} sm_t;

/* max of x[0..n) ignoring NaN, folded into m (8 lanes). */
static ALWAYS_INLINE void lanes_max_nonan(const float* x, uint32_t n, float m[8]) {
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
  }
  for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
}

/* a[lane] += e = expf(x − mx); e is also stored into y when y is not NULL. */
static ALWAYS_INLINE void lanes_expsum(const float* x, uint32_t n, float mx, double a[8],
                                       float* y) {
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float e[8];
    for (int l = 0; l < 8; l++) e[l] = bn_expf(x[i + l] - mx);
    for (int l = 0; l < 8; l++) a[l] += (double)e[l];
    if (y) memcpy(y + i, e, sizeof e);
  }
  for (int l = 0; i < n; i++, l++) {
    float e = bn_expf(x[i] - mx);
    a[l] += (double)e;
    if (y) y[i] = e;
  }
}

/* y = (float)(y · inv) in place (y holds expf(x − max)). */
static ALWAYS_INLINE void scale_out(float* y, uint32_t n, double inv) {
  for (uint32_t i = 0; i < n; i++) y[i] = (float)((double)y[i] * inv);
}

static ALWAYS_INLINE void softmax_out(const float* x, uint32_t n, float mx, double inv, float* y) {
  for (uint32_t i = 0; i < n; i++) y[i] = (float)((double)bn_expf(x[i] - mx) * inv);
}

static ALWAYS_INLINE void softmax_row(const sm_t* c, uint64_t row) {
  uint64_t cols = c->cols;
  uint64_t valid = cols;
  if (c->causal) {
    uint64_t lim = row + (cols - c->rows); /* last unmasked key */
    valid = lim + 1 < cols ? lim + 1 : cols;
  }
  float m8[8];
  for (int l = 0; l < 8; l++) m8[l] = -INFINITY;
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (!c->f16) {
    const float* x = (const float*)c->x + row * cols;
    float* y = (float*)c->y + row * cols;
    for (uint64_t j = 0; j < valid; j += CHUNK) {
      uint64_t n = valid - j < CHUNK ? valid - j : CHUNK;
      lanes_max_nonan(x + j, (uint32_t)n, m8);
    }
    float mx = m8[0];
    for (int l = 1; l < 8; l++) mx = m8[l] > mx ? m8[l] : mx;
    for (uint64_t j = 0; j < valid; j += CHUNK) {
      uint64_t n = valid - j < CHUNK ? valid - j : CHUNK;
      lanes_expsum(x + j, (uint32_t)n, mx, a, y + j);
    }
    double inv = 1.0 / lanes_total(a);
    for (uint64_t j = 0; j < valid; j += CHUNK) {
      uint64_t n = valid - j < CHUNK ? valid - j : CHUNK;
      scale_out(y + j, (uint32_t)n, inv);
    }
    memset(y + valid, 0, (size_t)(cols - valid) * sizeof(float));
    return;
  }
  const uint16_t* x = (const uint16_t*)c->x + row * cols;
  uint16_t* y = (uint16_t*)c->y + row * cols;
  float tmp[BLK], out[BLK];
  for (uint64_t j = 0; j < valid; j += BLK) {
    uint32_t n = (uint32_t)(valid - j < BLK ? valid - j : BLK);
    h2f_block(x + j, tmp, n);
    lanes_max_nonan(tmp, n, m8);
  }
  float mx = m8[0];
  for (int l = 1; l < 8; l++) mx = m8[l] > mx ? m8[l] : mx;
  for (uint64_t j = 0; j < valid; j += BLK) {
    uint32_t n = (uint32_t)(valid - j < BLK ? valid - j : BLK);
    h2f_block(x + j, tmp, n);
    lanes_expsum(tmp, n, mx, a, NULL);
  }
  double inv = 1.0 / lanes_total(a);
  for (uint64_t j = 0; j < valid; j += BLK) {
    uint32_t n = (uint32_t)(valid - j < BLK ? valid - j : BLK);
    h2f_block(x + j, tmp, n);
    softmax_out(tmp, n, mx, inv, out);
    for (uint32_t i = 0; i < n; i++) y[j + i] = f2h(out[i]);
  }
  memset(y + valid, 0, (size_t)(cols - valid) * sizeof(uint16_t));
}

static ALWAYS_INLINE void sm_body(const sm_t* c, uint32_t it) {
  uint64_t r0 = (uint64_t)it * c->rpi, r1 = r0 + c->rpi < c->rows ? r0 + c->rpi : c->rows;
  for (uint64_t r = r0; r < r1; r++) softmax_row(c, r);
}
static void sm_base(const sm_t* c, uint32_t it) { sm_body(c, it); }
#if defined(__x86_64__)
TARGET_AVX2 static void sm_avx2(const sm_t* c, uint32_t it) { sm_body(c, it); }
#endif
static void sm_task(void* vc, uint32_t it) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    sm_avx2(vc, it);
    return;
  }
#endif
  sm_base(vc, it);
}

/* Rows per item so that an item handles at least ~CHUNK/4 elements. */
static uint64_t rows_per_item(uint64_t rows, uint64_t cols) {
  uint64_t r = cols >= CHUNK / 4 ? 1 : (CHUNK / 4) / cols;
  return r > rows ? rows : (r ? r : 1);
}

static void run_rows(uint64_t rows, uint64_t rpi, void (*fn)(void*, uint32_t), void* ctx) {
  uint64_t items = (rows + rpi - 1) / rpi;
  if (items == 1) fn(ctx, 0);
  else bn_parallel_for((uint32_t)items, fn, ctx);
}

int32_t bn_cpu_softmax(const bn_softmax_params_t* p, void* const* bufs) {
  if (!p->rows || !p->cols) return BN_OK;
  sm_t c = {.x = bufs[0], .y = bufs[1], .rows = p->rows, .cols = p->cols, .causal = p->causal,
            .f16 = p->dtype == BN_DTYPE_F16};
  c.rpi = rows_per_item(c.rows, c.cols);
  run_rows(c.rows, c.rpi, sm_task, &c);
  return BN_OK;
}

/* ---- rmsnorm and rmsnorm_quant ------------------------------------------------------------- */

typedef struct {
  const void* x;
  const float* w;
  void* y;        /* rmsnorm: y (dtype); rmsnorm_quant: xq int8 [rows][kp] */
  float* scale;   /* rmsnorm_quant */
  uint64_t rows, cols, kp, rpi;
  float eps;
  uint32_t f16;
} rn_t;

/* r = 1/sqrt(mean(x²) + eps) of one f32 row (the same for rmsnorm and rmsnorm_quant). */
static ALWAYS_INLINE float rms_scale(double ss, uint64_t cols, float eps) {
  float mean = (float)(ss / (double)cols);
  float v = mean + eps;
  return (float)(1.0 / sqrt((double)v));
}

static ALWAYS_INLINE void lanes_sumsq(const float* x, uint32_t n, double a[8]) {
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) a[l] += (double)x[i + l] * (double)x[i + l];
  }
  for (int l = 0; i < n; i++, l++) a[l] += (double)x[i] * (double)x[i];
}

static ALWAYS_INLINE void rms_apply(const float* x, const float* w, uint32_t n, float r, float* y) {
  for (uint32_t i = 0; i < n; i++) y[i] = (x[i] * r) * w[i];
}

static ALWAYS_INLINE void rmsnorm_row(const rn_t* c, uint64_t row) {
  const uint64_t cols = c->cols;
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (!c->f16) {
    const float* x = (const float*)c->x + row * cols;
    float* y = (float*)c->y + row * cols;
    for (uint64_t j = 0; j < cols; j += CHUNK) {
      uint64_t n = cols - j < CHUNK ? cols - j : CHUNK;
      lanes_sumsq(x + j, (uint32_t)n, a);
    }
    float r = rms_scale(lanes_total(a), cols, c->eps);
    for (uint64_t j = 0; j < cols; j += CHUNK) {
      uint64_t n = cols - j < CHUNK ? cols - j : CHUNK;
      rms_apply(x + j, c->w + j, (uint32_t)n, r, y + j);
    }
    return;
  }
  const uint16_t* x = (const uint16_t*)c->x + row * cols;
  uint16_t* y = (uint16_t*)c->y + row * cols;
  float tmp[BLK], out[BLK];
  for (uint64_t j = 0; j < cols; j += BLK) {
    uint32_t n = (uint32_t)(cols - j < BLK ? cols - j : BLK);
    h2f_block(x + j, tmp, n);
    lanes_sumsq(tmp, n, a);
  }
  float r = rms_scale(lanes_total(a), cols, c->eps);
  for (uint64_t j = 0; j < cols; j += BLK) {
    uint32_t n = (uint32_t)(cols - j < BLK ? cols - j : BLK);
    h2f_block(x + j, tmp, n);
    rms_apply(tmp, c->w + j, n, r, out);
    for (uint32_t i = 0; i < n; i++) y[j + i] = f2h(out[i]);
  }
}

/* amax of y = (x·r)·w folded into m, where a NaN wins and stays (quantize_act_int8). */
static ALWAYS_INLINE float rms_amax(const float* x, const float* w, uint32_t n, float r, float m) {
  float m8[8] = {m, m, m, m, m, m, m, m};
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) {
      float a = fabsf((x[i + l] * r) * w[i + l]);
      m8[l] = (a > m8[l] || a != a) ? a : m8[l];
    }
  }
  for (; i < n; i++) {
    float a = fabsf((x[i] * r) * w[i]);
    m8[0] = (a > m8[0] || a != a) ? a : m8[0];
  }
  for (int l = 1; l < 8; l++) m8[0] = (m8[l] > m8[0] || m8[l] != m8[l]) ? m8[l] : m8[0];
  return m8[0];
}

static ALWAYS_INLINE void rms_quant(const float* x, const float* w, uint32_t n, float r, float inv,
                                    int8_t* q) {
  for (uint32_t i = 0; i < n; i++) {
    float v = ((x[i] * r) * w[i]) * inv;
    v = v > 127.0f ? 127.0f : v;
    v = v < -127.0f ? -127.0f : v;
    v = v == v ? v : 0.0f;
    v = (v + ROUND_MAGIC) - ROUND_MAGIC;
    q[i] = (int8_t)(int32_t)v;
  }
}

static ALWAYS_INLINE void rmsnorm_quant_row(const rn_t* c, uint64_t row) {
  const uint64_t cols = c->cols;
  const float* x = (const float*)c->x + row * cols;
  int8_t* q = (int8_t*)c->y + row * c->kp;
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (uint64_t j = 0; j < cols; j += CHUNK) {
    uint64_t n = cols - j < CHUNK ? cols - j : CHUNK;
    lanes_sumsq(x + j, (uint32_t)n, a);
  }
  float r = rms_scale(lanes_total(a), cols, c->eps);
  float amax = 0.0f;
  for (uint64_t j = 0; j < cols; j += CHUNK) {
    uint64_t n = cols - j < CHUNK ? cols - j : CHUNK;
    amax = rms_amax(x + j, c->w + j, (uint32_t)n, r, amax);
  }
  if (amax == 0.0f) {
    memset(q, 0, (size_t)c->kp);
    c->scale[row] = 0.0f;
    return;
  }
  const float inv = 127.0f / amax;
  for (uint64_t j = 0; j < cols; j += CHUNK) {
    uint64_t n = cols - j < CHUNK ? cols - j : CHUNK;
    rms_quant(x + j, c->w + j, (uint32_t)n, r, inv, q + j);
  }
  memset(q + cols, 0, (size_t)(c->kp - cols));
  c->scale[row] = amax / 127.0f;
}

static ALWAYS_INLINE void rn_body(const rn_t* c, uint32_t it, int quant) {
  uint64_t r0 = (uint64_t)it * c->rpi, r1 = r0 + c->rpi < c->rows ? r0 + c->rpi : c->rows;
  for (uint64_t r = r0; r < r1; r++) {
    if (quant) rmsnorm_quant_row(c, r);
    else rmsnorm_row(c, r);
  }
}
static void rn_base(const rn_t* c, uint32_t it) { rn_body(c, it, 0); }
static void rq_base(const rn_t* c, uint32_t it) { rn_body(c, it, 1); }
#if defined(__x86_64__)
TARGET_AVX2 static void rn_avx2(const rn_t* c, uint32_t it) { rn_body(c, it, 0); }
TARGET_AVX2 static void rq_avx2(const rn_t* c, uint32_t it) { rn_body(c, it, 1); }
#endif
static void rn_task(void* vc, uint32_t it) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    rn_avx2(vc, it);
    return;
  }
#endif
  rn_base(vc, it);
}
static void rq_task(void* vc, uint32_t it) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    rq_avx2(vc, it);
    return;
  }
#endif
  rq_base(vc, it);
}

int32_t bn_cpu_rmsnorm(const bn_rmsnorm_params_t* p, void* const* bufs) {
  if (!p->rows || !p->cols) return BN_OK;
  rn_t c = {.x = bufs[0], .w = bufs[1], .y = bufs[2], .rows = p->rows, .cols = p->cols,
            .eps = p->eps, .f16 = p->dtype == BN_DTYPE_F16};
  c.rpi = rows_per_item(c.rows, c.cols);
  run_rows(c.rows, c.rpi, rn_task, &c);
  return BN_OK;
}

int32_t bn_cpu_rmsnorm_quant(const bn_rmsnorm_quant_params_t* p, void* const* bufs) {
  if (!p->rows || !p->cols) return BN_OK;
  rn_t c = {.x = bufs[0], .w = bufs[1], .y = bufs[2], .scale = bufs[3], .rows = p->rows,
            .cols = p->cols, .kp = bn_kp(p->cols), .eps = p->eps};
  c.rpi = rows_per_item(c.rows, c.cols);
  run_rows(c.rows, c.rpi, rq_task, &c);
  return BN_OK;
}

/* ---- rope ------------------------------------------------------------------------------------ */

typedef struct {
  const void* x;
  const int32_t* pos;
  void* y;
  const float* inv; /* [half] inverse frequencies */
  uint64_t tokens, heads, d, half;
  uint32_t f16;
} rope_t;

static ALWAYS_INLINE void rope_apply(const float* x1, const float* x2, const float* cs,
                                     const float* sn, uint64_t n, float* y1, float* y2) {
  for (uint64_t i = 0; i < n; i++) {
    float a = x1[i], b = x2[i];
    y1[i] = a * cs[i] - b * sn[i];
    y2[i] = a * sn[i] + b * cs[i];
  }
}

static ALWAYS_INLINE void rope_token(const rope_t* c, uint64_t t, float* cs, float* sn) {
  const uint64_t h = c->half, d = c->d;
  const float pos = (float)c->pos[t];
  for (uint64_t i = 0; i < h; i++) {
    float th = pos * c->inv[i];
    cs[i] = (float)cos((double)th);
    sn[i] = (float)sin((double)th);
  }
  for (uint64_t hd = 0; hd < c->heads; hd++) {
    uint64_t base = (t * c->heads + hd) * d;
    if (!c->f16) {
      const float* x = (const float*)c->x + base;
      float* y = (float*)c->y + base;
      rope_apply(x, x + h, cs, sn, h, y, y + h);
      continue;
    }
    const uint16_t* x = (const uint16_t*)c->x + base;
    uint16_t* y = (uint16_t*)c->y + base;
    for (uint64_t i0 = 0; i0 < h; i0 += BLK / 2) {
      uint32_t n = (uint32_t)(h - i0 < BLK / 2 ? h - i0 : BLK / 2);
      float a[BLK / 2], b[BLK / 2], ya[BLK / 2], yb[BLK / 2];
      h2f_block(x + i0, a, n);
      h2f_block(x + h + i0, b, n);
      rope_apply(a, b, cs + i0, sn + i0, n, ya, yb);
      for (uint32_t i = 0; i < n; i++) {
        y[i0 + i] = f2h(ya[i]);
        y[h + i0 + i] = f2h(yb[i]);
      }
    }
  }
}

typedef struct {
  const rope_t* c;
  uint64_t tpi; /* tokens per item */
  int32_t status;
} rope_job_t;

static void rope_task(void* vj, uint32_t it) {
  rope_job_t* j = vj;
  const rope_t* c = j->c;
  float stack[2 * 512];
  float* buf = c->half <= 512 ? stack : malloc((size_t)c->half * 2 * sizeof(float));
  if (!buf) {
    __atomic_store_n(&j->status, BN_ERR_OUT_OF_MEMORY, __ATOMIC_RELAXED);
    return;
  }
  uint64_t t0 = (uint64_t)it * j->tpi, t1 = t0 + j->tpi < c->tokens ? t0 + j->tpi : c->tokens;
  for (uint64_t t = t0; t < t1; t++) rope_token(c, t, buf, buf + c->half);
  if (buf != stack) free(buf);
}

int32_t bn_cpu_rope(const bn_rope_params_t* p, void* const* bufs) {
  if (!p->tokens || !p->heads || !p->head_dim) return BN_OK;
  rope_t c = {.x = bufs[0], .pos = bufs[1], .y = bufs[2], .tokens = p->tokens, .heads = p->heads,
              .d = p->head_dim, .half = p->head_dim / 2, .f16 = p->dtype == BN_DTYPE_F16};
  float* inv = malloc((size_t)c.half * sizeof(float));
  if (!inv) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[rope] no memory for %llu frequencies",
                           (unsigned long long)c.half);
  for (uint64_t i = 0; i < c.half; i++) {
    inv[i] = (float)pow((double)p->theta, -(double)(2 * i) / (double)c.d);
  }
  c.inv = inv;
  uint64_t per = c.heads * c.d; /* elements per token */
  rope_job_t j = {.c = &c, .tpi = per >= CHUNK / 4 ? 1 : (CHUNK / 4) / per, .status = BN_OK};
  uint64_t items = (c.tokens + j.tpi - 1) / j.tpi;
  if (items == 1) rope_task(&j, 0);
  else bn_parallel_for((uint32_t)items, rope_task, &j);
  free(inv);
  if (__atomic_load_n(&j.status, __ATOMIC_RELAXED) != BN_OK)
    return bn_fail(BN_ERR_OUT_OF_MEMORY, "[rope] no memory for the angle table");
  return BN_OK;
}
