/*
 * matmul.c — CPU f32 matmul: C[m][n] = A[m][k] · Bᵀ (b_trans = 1, B [n][k]) or A · B
 * (b_trans = 0, B [k][n]). The dense baseline the ternary kernels are compared with, so it
 * is meant to be as fast as the memory allows, not a strawman.
 *
 * Three schemes, each with AVX-512, AVX2+FMA and plain-C kernels:
 * - m <= 8, b_trans = 1 ("dot"): each item takes a run of B rows; a register tile of
 *   m A rows × 1-4 B rows accumulates dot products in vector lanes (k tail masked), so B
 *   streams through once at memory speed (this is the GEMV baseline). With AVX-512, runs
 *   of 16 B rows are swept in k segments that keep the A pieces in L1, and A is copied to
 *   an unaliased row stride when k·4 is near a multiple of 4 KiB (L1 bank conflicts).
 * - m <= 8, b_trans = 0 ("axpy"): C rows += A[i][kk] · B[kk][·] over column chunks, four
 *   k rows at a time; k is split into slices when there are too few column chunks, each
 *   slice summing into its own partial C, added up in slice order afterwards.
 * - m > 8 ("gemm"): items are (row block × column panel); per KC-deep slice the panel of
 *   B is packed into per-thread scratch as NR-wide micro-panels [kc][NR] (a transpose when
 *   b_trans = 1), and an MR × NR register micro-kernel broadcasts A and accumulates C.
 * Every C element is computed by one item; its summation order depends on the shape (and,
 * for the axpy k slices, on the thread count), never on timing.
 */
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "cpu/cpu_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET_512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))
/* For loops over register-tile arrays: left rolled, clang keeps the array in memory. */
#define UNROLL _Pragma("clang loop unroll(full)")

#define KC 512u /* depth of a packed B slice                                    */
#define NC 128u /* columns of a packed B panel (multiple of any NR); KC·NC·4 = 256 KB */
#define SMALL_M 8u /* up to this many A rows: the dot / axpy schemes (B read once) */

typedef struct mm_ctx {
  const float* a;
  const float* b;
  float* c;
  uint64_t m, n, k;
  uint64_t lda; /* A row stride; the dot scheme may use a padded copy of A */
  uint32_t b_trans, isa;
  /* dot: B rows per item. axpy: column chunk width, k slices, partial sums. */
  uint64_t rows, cw, kslice;
  uint32_t chunks, slices;
  float* partial;
  /* gemm */
  uint64_t mb; /* A rows per item */
  uint32_t panels;
  float* scratch;
  uint64_t scratch_floats; /* per thread */
} mm_ctx_t;

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ====================================================================================== */
/* dot: m <= 8, B [n][k]                                                                 */

/* Plain C: 8 lanes per dot product so the compiler can vectorise without reassociating. */
static void dot_rows_c(const mm_ctx_t* c, uint64_t j0, uint64_t j1) {
  const uint64_t k = c->k;
  for (uint64_t j = j0; j < j1; j++) {
    const float* b = c->b + j * k;
    for (uint64_t i = 0; i < c->m; i++) {
      const float* a = c->a + i * c->lda;
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      uint64_t kk = 0;
      for (; kk + 8 <= k; kk += 8) {
        for (int l = 0; l < 8; l++) s[l] += a[kk + l] * b[kk + l];
      }
      for (int l = 0; kk < k; kk++, l++) s[l] += a[kk] * b[kk];
      c->c[i * c->n + j] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    }
  }
}

#if defined(__x86_64__)
/* Accumulates k in [k0, k1) of MR A rows (row stride lda) × NR B rows (row stride ld) into
 * accp[(i·NR + r)·S + s] (overwritten when `first`). The accumulators stay in registers
 * for the whole range; MR, NR, S are constants after inlining (MR·NR·S <= 16). */
static ALWAYS_INLINE TARGET_512 void dot512_run(const float* a, uint64_t lda, const float* b,
                                                uint64_t ld, uint64_t k0, uint64_t k1, const int MR,
                                                const int NR, const int S, __m512* accp,
                                                int first) {
  /* Local accumulators, added to accp at the end. The zero goes through an empty asm so
   * that clang does not turn the initialisation into a memset, which would pin acc[] to
   * the stack and store it on every step. */
  __m512 zero = _mm512_setzero_ps();
  __asm__("" : "+v"(zero));
  __m512 acc[16];
  UNROLL for (int t = 0; t < MR * NR * S; t++) acc[t] = zero;
  uint64_t kk = k0;
  for (; kk + 16 * S <= k1; kk += 16 * S) {
    UNROLL for (int s = 0; s < S; s++) {
      __m512 bv[4];
      UNROLL for (int r = 0; r < NR; r++) bv[r] = _mm512_loadu_ps(b + r * ld + kk + 16 * s);
      UNROLL for (int i = 0; i < MR; i++) {
        __m512 av = _mm512_loadu_ps(a + i * lda + kk + 16 * s);
        UNROLL for (int r = 0; r < NR; r++) {
          int t = (i * NR + r) * S + s;
          acc[t] = _mm512_fmadd_ps(av, bv[r], acc[t]);
        }
      }
    }
  }
  /* Fewer than 16·S left: S masked steps, unrolled and branch-free (a loop or an early
   * exit here makes clang keep acc[] in memory throughout). */
  UNROLL for (int s = 0; s < S; s++) {
    const uint64_t rem = k1 > kk ? k1 - kk : 0;
    __mmask16 mk = rem >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << rem) - 1);
    __m512 bv[4];
    UNROLL for (int r = 0; r < NR; r++) bv[r] = _mm512_maskz_loadu_ps(mk, b + r * ld + kk);
    UNROLL for (int i = 0; i < MR; i++) {
      __m512 av = _mm512_maskz_loadu_ps(mk, a + i * lda + kk);
      UNROLL for (int r = 0; r < NR; r++) {
        int t = (i * NR + r) * S + s;
        acc[t] = _mm512_fmadd_ps(av, bv[r], acc[t]);
      }
    }
    kk += 16;
  }
  UNROLL for (int t = 0; t < MR * NR * S; t++) accp[t] = first ? acc[t] : _mm512_add_ps(accp[t], acc[t]);
}

/* C[i][j + r] = Σ of the S accumulators of (i, r), lanes summed. */
static ALWAYS_INLINE TARGET_512 void dot512_store(const mm_ctx_t* c, uint64_t j, const __m512* acc,
                                                  const int MR, const int NR, const int S) {
  UNROLL for (int i = 0; i < MR; i++) {
    UNROLL for (int r = 0; r < NR; r++) {
      const int t = (i * NR + r) * S;
      __m512 v = acc[t];
      UNROLL for (int s = 1; s < S; s++) v = _mm512_add_ps(v, acc[t + s]);
      c->c[i * c->n + j + r] = _mm512_reduce_add_ps(v);
    }
  }
}

/* B rows [j0, j1) against all MR = m rows of A. Runs of 16 B rows are swept one k segment
 * at a time, the segment sized so that the MR A row pieces (<= 16 KB) stay in L1 while the
 * 16 rows go by; each tile's vector accumulators wait in `part` between segments. Rows
 * past the last full NR tile get a full-k single-row tile. */
#define MM_SEG_BYTES 16384u
#define DOT512_ROWS(M_, NR_, S_)                                                             \
  static TARGET_512 void dot512_rows_##M_(const mm_ctx_t* c, uint64_t j0, uint64_t j1) {     \
    const uint64_t k = c->k;                                                                 \
    uint64_t seg = (MM_SEG_BYTES / 4 / M_) & ~63ull; /* whole steps: no masks mid-row */     \
    seg = seg < 256 ? 256 : seg;                                                             \
    __m512 part[(16 / NR_) * M_ * NR_ * S_];                                                 \
    for (uint64_t js = j0; js < j1; js += 16) {                                              \
      const uint64_t je = j1 - js < 16 ? j1 : js + 16;                                       \
      const uint64_t jt = js + (je - js) / NR_ * NR_;                                        \
      for (uint64_t k0 = 0; k0 < k; k0 += seg) {                                             \
        const uint64_t k1 = k - k0 < seg ? k : k0 + seg;                                     \
        for (uint64_t j = js; j < jt; j += NR_)                                              \
          dot512_run(c->a, c->lda, c->b + j * k, k, k0, k1, M_, NR_, S_,                     \
                     part + (j - js) / NR_ * (M_ * NR_ * S_), k0 == 0);                      \
      }                                                                                      \
      for (uint64_t j = js; j < jt; j += NR_)                                                \
        dot512_store(c, j, part + (j - js) / NR_ * (M_ * NR_ * S_), M_, NR_, S_);            \
      for (uint64_t j = jt; j < je; j++) {                                                   \
        dot512_run(c->a, c->lda, c->b + j * k, k, 0, k, M_, 1, 1, part, 1);                  \
        dot512_store(c, j, part, M_, 1, 1);                                                  \
      }                                                                                      \
    }                                                                                        \
  }
DOT512_ROWS(1, 4, 2)
DOT512_ROWS(2, 4, 2)
DOT512_ROWS(3, 4, 1)
DOT512_ROWS(4, 4, 1)
DOT512_ROWS(5, 2, 1)
DOT512_ROWS(6, 2, 1)
DOT512_ROWS(7, 2, 1)
DOT512_ROWS(8, 2, 1)
static void (*const dot512_rows[SMALL_M + 1])(const mm_ctx_t*, uint64_t, uint64_t) = {
    NULL,          dot512_rows_1, dot512_rows_2, dot512_rows_3, dot512_rows_4,
    dot512_rows_5, dot512_rows_6, dot512_rows_7, dot512_rows_8};

static ALWAYS_INLINE TARGET_AVX2 float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* MR A rows (stride lda) × NR B rows (stride k), full k, S accumulators each; out[i·NR + r]. */
static ALWAYS_INLINE TARGET_AVX2 void dot256_tile(const float* a, uint64_t lda, const float* b,
                                                  uint64_t k, const int MR, const int NR,
                                                  const int S, float* out) {
  __m256 acc[8];
  UNROLL for (int t = 0; t < MR * NR * S; t++) acc[t] = _mm256_setzero_ps();
  uint64_t kk = 0;
  for (; kk + 8 * S <= k; kk += 8 * S) {
    UNROLL for (int s = 0; s < S; s++) {
      __m256 bv[4];
      UNROLL for (int r = 0; r < NR; r++) bv[r] = _mm256_loadu_ps(b + r * k + kk + 8 * s);
      UNROLL for (int i = 0; i < MR; i++) {
        __m256 av = _mm256_loadu_ps(a + i * lda + kk + 8 * s);
        UNROLL for (int r = 0; r < NR; r++) {
          int t = (i * NR + r) * S + s;
          acc[t] = _mm256_fmadd_ps(av, bv[r], acc[t]);
        }
      }
    }
  }
  UNROLL for (int s = 0; s < S; s++) { /* the k tail, as in dot512_run */
    const int rem = kk >= k ? 0 : k - kk >= 8 ? 8 : (int)(k - kk);
    __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 bv[4];
    UNROLL for (int r = 0; r < NR; r++) bv[r] = _mm256_maskload_ps(b + r * k + kk, mk);
    UNROLL for (int i = 0; i < MR; i++) {
      __m256 av = _mm256_maskload_ps(a + i * lda + kk, mk);
      UNROLL for (int r = 0; r < NR; r++) {
        int t = (i * NR + r) * S + s;
        acc[t] = _mm256_fmadd_ps(av, bv[r], acc[t]);
      }
    }
    kk += 8;
  }
  UNROLL for (int t = 0; t < MR * NR; t++) {
    __m256 v = acc[t * S];
    UNROLL for (int s = 1; s < S; s++) v = _mm256_add_ps(v, acc[t * S + s]);
    out[t] = hsum256(v);
  }
}

#define DOT256_ROWS(M_, NR_, S_)                                                             \
  static TARGET_AVX2 void dot256_rows_##M_(const mm_ctx_t* c, uint64_t j0, uint64_t j1) {    \
    float out[8];                                                                            \
    uint64_t j = j0;                                                                         \
    for (; j + NR_ <= j1; j += NR_) {                                                        \
      dot256_tile(c->a, c->lda, c->b + j * c->k, c->k, M_, NR_, S_, out);                    \
      for (int i = 0; i < M_; i++)                                                           \
        for (int r = 0; r < NR_; r++) c->c[i * c->n + j + r] = out[i * NR_ + r];             \
    }                                                                                        \
    for (; j < j1; j++) {                                                                    \
      dot256_tile(c->a, c->lda, c->b + j * c->k, c->k, M_, 1, M_ <= 4 ? 2 : 1, out);         \
      for (int i = 0; i < M_; i++) c->c[i * c->n + j] = out[i];                              \
    }                                                                                        \
  }
DOT256_ROWS(1, 4, 2)
DOT256_ROWS(2, 4, 1)
DOT256_ROWS(3, 2, 1)
DOT256_ROWS(4, 2, 1)
DOT256_ROWS(5, 1, 1)
DOT256_ROWS(6, 1, 1)
DOT256_ROWS(7, 1, 1)
DOT256_ROWS(8, 1, 1)
static void (*const dot256_rows[SMALL_M + 1])(const mm_ctx_t*, uint64_t, uint64_t) = {
    NULL,          dot256_rows_1, dot256_rows_2, dot256_rows_3, dot256_rows_4,
    dot256_rows_5, dot256_rows_6, dot256_rows_7, dot256_rows_8};
#endif

static void dot_task(void* vc, uint32_t it) {
  const mm_ctx_t* c = vc;
  uint64_t j0 = (uint64_t)it * c->rows, j1 = min_u64(j0 + c->rows, c->n);
#if defined(__x86_64__)
  if (c->isa >= BN_ISA_AVX512) {
    dot512_rows[c->m](c, j0, j1);
    return;
  }
  if (c->isa >= BN_ISA_AVX2) {
    dot256_rows[c->m](c, j0, j1);
    return;
  }
#endif
  dot_rows_c(c, j0, j1);
}

/* ====================================================================================== */
/* axpy: m <= 8, B [k][n]                                                                */

/* dst_i[0..w) = Σ_{kk in [k0,k1)} A[i][kk] · B[kk][j0 ..], i < m; dst row stride ldd. */
static ALWAYS_INLINE void axpy_body_c(const mm_ctx_t* c, float* dst, uint64_t ldd, uint64_t k0,
                                      uint64_t k1, uint64_t j0, uint64_t w) {
  const uint64_t n = c->n, k = c->k, m = c->m;
  for (uint64_t i = 0; i < m; i++) memset(dst + i * ldd, 0, (size_t)w * sizeof(float));
  uint64_t kk = k0;
  for (; kk + 4 <= k1; kk += 4) {
    const float* b0 = c->b + kk * n + j0;
    const float *b1 = b0 + n, *b2 = b1 + n, *b3 = b2 + n;
    for (uint64_t i = 0; i < m; i++) {
      const float* a = c->a + i * k + kk;
      const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
      float* d = dst + i * ldd;
      for (uint64_t j = 0; j < w; j++) d[j] = (((d[j] + a0 * b0[j]) + a1 * b1[j]) + a2 * b2[j]) + a3 * b3[j];
    }
  }
  for (; kk < k1; kk++) {
    const float* b0 = c->b + kk * n + j0;
    for (uint64_t i = 0; i < m; i++) {
      const float a0 = c->a[i * k + kk];
      float* d = dst + i * ldd;
      for (uint64_t j = 0; j < w; j++) d[j] = d[j] + a0 * b0[j];
    }
  }
}

static void axpy_c(const mm_ctx_t* c, float* dst, uint64_t ldd, uint64_t k0, uint64_t k1,
                   uint64_t j0, uint64_t w) {
  axpy_body_c(c, dst, ldd, k0, k1, j0, w);
}

#if defined(__x86_64__)
static TARGET_512 void axpy512(const mm_ctx_t* c, float* dst, uint64_t ldd, uint64_t k0,
                               uint64_t k1, uint64_t j0, uint64_t w) {
  const uint64_t n = c->n, k = c->k, m = c->m;
  for (uint64_t i = 0; i < m; i++) memset(dst + i * ldd, 0, (size_t)w * sizeof(float));
  uint64_t kk = k0;
  for (; kk < k1; kk += 4) {
    const int u = k1 - kk >= 4 ? 4 : (int)(k1 - kk);
    const float* b[4];
    __m512 av[SMALL_M][4];
    for (int t = 0; t < 4; t++) b[t] = c->b + (kk + (t < u ? t : 0)) * n + j0;
    for (uint64_t i = 0; i < m; i++)
      for (int t = 0; t < 4; t++) av[i][t] = _mm512_set1_ps(t < u ? c->a[i * k + kk + t] : 0.0f);
    for (uint64_t j = 0; j < w; j += 16) {
      __mmask16 mk = w - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (w - j)) - 1);
      __m512 bv[4];
      for (int t = 0; t < 4; t++) bv[t] = _mm512_maskz_loadu_ps(mk, b[t] + j);
      for (uint64_t i = 0; i < m; i++) {
        float* d = dst + i * ldd + j;
        __m512 v = _mm512_maskz_loadu_ps(mk, d);
        for (int t = 0; t < u; t++) v = _mm512_fmadd_ps(av[i][t], bv[t], v);
        _mm512_mask_storeu_ps(d, mk, v);
      }
    }
  }
}

static TARGET_AVX2 void axpy256(const mm_ctx_t* c, float* dst, uint64_t ldd, uint64_t k0,
                                uint64_t k1, uint64_t j0, uint64_t w) {
  const uint64_t n = c->n, k = c->k, m = c->m;
  for (uint64_t i = 0; i < m; i++) memset(dst + i * ldd, 0, (size_t)w * sizeof(float));
  uint64_t kk = k0;
  for (; kk < k1; kk += 4) {
    const int u = k1 - kk >= 4 ? 4 : (int)(k1 - kk);
    const float* b[4];
    for (int t = 0; t < 4; t++) b[t] = c->b + (kk + (t < u ? t : 0)) * n + j0;
    uint64_t j = 0;
    for (; j + 8 <= w; j += 8) {
      __m256 bv[4];
      for (int t = 0; t < 4; t++) bv[t] = _mm256_loadu_ps(b[t] + j);
      for (uint64_t i = 0; i < m; i++) {
        float* d = dst + i * ldd + j;
        const float* a = c->a + i * k + kk;
        __m256 v = _mm256_loadu_ps(d);
        for (int t = 0; t < u; t++) v = _mm256_fmadd_ps(_mm256_broadcast_ss(a + t), bv[t], v);
        _mm256_storeu_ps(d, v);
      }
    }
    for (; j < w; j++) {
      for (uint64_t i = 0; i < m; i++) {
        float* d = dst + i * ldd + j;
        const float* a = c->a + i * k + kk;
        float v = *d;
        for (int t = 0; t < u; t++) v = __builtin_fmaf(a[t], b[t][j], v);
        *d = v;
      }
    }
  }
}
#endif

static void axpy_task(void* vc, uint32_t it) {
  const mm_ctx_t* c = vc;
  uint32_t s = it / c->chunks, ch = it % c->chunks;
  uint64_t j0 = (uint64_t)ch * c->cw, w = min_u64(c->cw, c->n - j0);
  uint64_t k0 = (uint64_t)s * c->kslice, k1 = min_u64(k0 + c->kslice, c->k);
  float* dst = c->slices == 1 ? c->c + j0 : c->partial + (uint64_t)s * c->m * c->n + j0;
#if defined(__x86_64__)
  if (c->isa >= BN_ISA_AVX512) {
    axpy512(c, dst, c->n, k0, k1, j0, w);
    return;
  }
  if (c->isa >= BN_ISA_AVX2) {
    axpy256(c, dst, c->n, k0, k1, j0, w);
    return;
  }
#endif
  axpy_c(c, dst, c->n, k0, k1, j0, w);
}

/* C = Σ_s partial[s], in slice order, over column chunks. */
static void axpy_sum_task(void* vc, uint32_t ch) {
  const mm_ctx_t* c = vc;
  uint64_t j0 = (uint64_t)ch * c->cw, w = min_u64(c->cw, c->n - j0);
  const uint64_t plane = c->m * c->n;
  for (uint64_t i = 0; i < c->m; i++) {
    float* d = c->c + i * c->n + j0;
    const float* p = c->partial + i * c->n + j0;
    memcpy(d, p, (size_t)w * sizeof(float));
    for (uint32_t s = 1; s < c->slices; s++) {
      const float* q = p + s * plane;
      for (uint64_t j = 0; j < w; j++) d[j] += q[j];
    }
  }
}

/* ====================================================================================== */
/* gemm: m > 8                                                                            */

#if defined(__x86_64__)
/* b_trans = 1 packing of one micro-panel: dst[kk·NR + jj] = src[jj·lds + kk] for jj < nr,
 * kk < kc, by 8×8 register transposes (the scalar loop is limited by strided stores). */
static TARGET_AVX2 void pack_bt_avx2(const float* src, uint64_t lds, uint64_t kc, uint64_t nr,
                                     uint32_t NR, float* dst) {
  uint64_t jj = 0;
  for (; jj + 8 <= nr; jj += 8) {
    const float* s0 = src + jj * lds;
    uint64_t kk = 0;
    for (; kk + 8 <= kc; kk += 8) {
      __m256 r[8], t[8], u[8];
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s0 + i * lds + kk);
      for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
      }
      for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
      }
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + (kk + i) * NR + jj, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(dst + (kk + i + 4) * NR + jj, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
      }
    }
    for (; kk < kc; kk++)
      for (int i = 0; i < 8; i++) dst[kk * NR + jj + i] = s0[i * lds + kk];
  }
  for (; jj < nr; jj++)
    for (uint64_t kk = 0; kk < kc; kk++) dst[kk * NR + jj] = src[jj * lds + kk];
}
#endif

/* Packs B[k0 .. k0+kc) × columns [j0, j0+w) as micro-panels of NR columns: panel p holds
 * bp[p·kc·NR + kk·NR + jj] = B(k0+kk, j0 + p·NR + jj), zero past w. */
static void pack_b(const mm_ctx_t* c, uint64_t k0, uint64_t kc, uint64_t j0, uint64_t w,
                   uint32_t NR, float* bp) {
  for (uint64_t p0 = 0; p0 < w; p0 += NR) {
    const uint64_t nr = min_u64(NR, w - p0);
    float* dst = bp + (p0 / NR) * kc * NR;
    if (c->b_trans) { /* B [n][k]: row j0+p0+jj is contiguous in k */
      if (nr < NR) memset(dst, 0, (size_t)(kc * NR) * sizeof(float));
      const float* src = c->b + (j0 + p0) * c->k + k0;
#if defined(__x86_64__)
      if (c->isa >= BN_ISA_AVX2) {
        pack_bt_avx2(src, c->k, kc, nr, NR, dst);
        continue;
      }
#endif
      for (uint64_t jj = 0; jj < nr; jj++)
        for (uint64_t kk = 0; kk < kc; kk++) dst[kk * NR + jj] = src[jj * c->k + kk];
    } else { /* B [k][n]: row k0+kk holds the NR columns contiguously */
      for (uint64_t kk = 0; kk < kc; kk++) {
        const float* src = c->b + (k0 + kk) * c->n + j0 + p0;
        memcpy(dst + kk * NR, src, (size_t)nr * sizeof(float));
        if (nr < NR) memset(dst + kk * NR + nr, 0, (size_t)(NR - nr) * sizeof(float));
      }
    }
  }
}

/* Micro-kernels: C[0..mr)[0..nr) (+)= A[0..mr)[0..kc) · bp[kc][NR]; `first` overwrites. */
#define MR_C 4
#define NR_C 16
static ALWAYS_INLINE void ukr_c_body(uint64_t kc, const float* a, uint64_t lda, const float* bp,
                                     float* c, uint64_t ldc, const int MR, uint64_t nr, int first) {
  float acc[MR_C][NR_C];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR_C; j++) acc[i][j] = 0.0f;
  for (uint64_t kk = 0; kk < kc; kk++) {
    const float* b = bp + kk * NR_C;
    for (int i = 0; i < MR; i++) {
      const float av = a[i * lda + kk];
      for (int j = 0; j < NR_C; j++) acc[i][j] += av * b[j];
    }
  }
  for (int i = 0; i < MR; i++) {
    for (uint64_t j = 0; j < nr; j++) c[i * ldc + j] = first ? acc[i][j] : c[i * ldc + j] + acc[i][j];
  }
}
static void ukr_c(uint64_t kc, const float* a, uint64_t lda, const float* bp, float* c,
                  uint64_t ldc, uint32_t mr, uint64_t nr, int first) {
  switch (mr) {
    case 1: ukr_c_body(kc, a, lda, bp, c, ldc, 1, nr, first); break;
    case 2: ukr_c_body(kc, a, lda, bp, c, ldc, 2, nr, first); break;
    case 3: ukr_c_body(kc, a, lda, bp, c, ldc, 3, nr, first); break;
    default: ukr_c_body(kc, a, lda, bp, c, ldc, 4, nr, first); break;
  }
}

#if defined(__x86_64__)
#define MR_512 8
#define NR_512 32
static ALWAYS_INLINE TARGET_512 void ukr512_body(uint64_t kc, const float* a, uint64_t lda,
                                                 const float* bp, float* c, uint64_t ldc,
                                                 const int MR, uint64_t nr, int first) {
  __m512 acc[2 * MR_512];
  for (int t = 0; t < 2 * MR; t++) acc[t] = _mm512_setzero_ps();
  for (uint64_t kk = 0; kk < kc; kk++) {
    __m512 b0 = _mm512_loadu_ps(bp + kk * NR_512), b1 = _mm512_loadu_ps(bp + kk * NR_512 + 16);
    for (int i = 0; i < MR; i++) {
      __m512 av = _mm512_set1_ps(a[i * lda + kk]);
      acc[2 * i] = _mm512_fmadd_ps(av, b0, acc[2 * i]);
      acc[2 * i + 1] = _mm512_fmadd_ps(av, b1, acc[2 * i + 1]);
    }
  }
  __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    __m512 v0 = acc[2 * i], v1 = acc[2 * i + 1];
    if (!first) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
    }
    _mm512_mask_storeu_ps(ci, m0, v0);
    _mm512_mask_storeu_ps(ci + 16, m1, v1);
  }
}
static TARGET_512 void ukr512(uint64_t kc, const float* a, uint64_t lda, const float* bp,
                              float* c, uint64_t ldc, uint32_t mr, uint64_t nr, int first) {
  switch (mr) {
    case 1: ukr512_body(kc, a, lda, bp, c, ldc, 1, nr, first); break;
    case 2: ukr512_body(kc, a, lda, bp, c, ldc, 2, nr, first); break;
    case 3: ukr512_body(kc, a, lda, bp, c, ldc, 3, nr, first); break;
    case 4: ukr512_body(kc, a, lda, bp, c, ldc, 4, nr, first); break;
    case 5: ukr512_body(kc, a, lda, bp, c, ldc, 5, nr, first); break;
    case 6: ukr512_body(kc, a, lda, bp, c, ldc, 6, nr, first); break;
    case 7: ukr512_body(kc, a, lda, bp, c, ldc, 7, nr, first); break;
    default: ukr512_body(kc, a, lda, bp, c, ldc, 8, nr, first); break;
  }
}

#define MR_256 6
#define NR_256 16
static ALWAYS_INLINE TARGET_AVX2 void ukr256_body(uint64_t kc, const float* a, uint64_t lda,
                                                  const float* bp, float* c, uint64_t ldc,
                                                  const int MR, uint64_t nr, int first) {
  __m256 acc[2 * MR_256];
  for (int t = 0; t < 2 * MR; t++) acc[t] = _mm256_setzero_ps();
  for (uint64_t kk = 0; kk < kc; kk++) {
    __m256 b0 = _mm256_loadu_ps(bp + kk * NR_256), b1 = _mm256_loadu_ps(bp + kk * NR_256 + 8);
    for (int i = 0; i < MR; i++) {
      __m256 av = _mm256_broadcast_ss(a + i * lda + kk);
      acc[2 * i] = _mm256_fmadd_ps(av, b0, acc[2 * i]);
      acc[2 * i + 1] = _mm256_fmadd_ps(av, b1, acc[2 * i + 1]);
    }
  }
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (nr == NR_256) {
      __m256 v0 = acc[2 * i], v1 = acc[2 * i + 1];
      if (!first) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(ci), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), v1);
      }
      _mm256_storeu_ps(ci, v0);
      _mm256_storeu_ps(ci + 8, v1);
    } else {
      float t[NR_256];
      _mm256_storeu_ps(t, acc[2 * i]);
      _mm256_storeu_ps(t + 8, acc[2 * i + 1]);
      for (uint64_t j = 0; j < nr; j++) ci[j] = first ? t[j] : ci[j] + t[j];
    }
  }
}
static TARGET_AVX2 void ukr256(uint64_t kc, const float* a, uint64_t lda, const float* bp,
                               float* c, uint64_t ldc, uint32_t mr, uint64_t nr, int first) {
  switch (mr) {
    case 1: ukr256_body(kc, a, lda, bp, c, ldc, 1, nr, first); break;
    case 2: ukr256_body(kc, a, lda, bp, c, ldc, 2, nr, first); break;
    case 3: ukr256_body(kc, a, lda, bp, c, ldc, 3, nr, first); break;
    case 4: ukr256_body(kc, a, lda, bp, c, ldc, 4, nr, first); break;
    case 5: ukr256_body(kc, a, lda, bp, c, ldc, 5, nr, first); break;
    default: ukr256_body(kc, a, lda, bp, c, ldc, 6, nr, first); break;
  }
}
#endif

typedef void (*ukr_fn)(uint64_t, const float*, uint64_t, const float*, float*, uint64_t, uint32_t,
                       uint64_t, int);

static void gemm_geometry(uint32_t isa, uint32_t* mr, uint32_t* nr, ukr_fn* fn) {
#if defined(__x86_64__)
  if (isa >= BN_ISA_AVX512) {
    *mr = MR_512, *nr = NR_512, *fn = ukr512;
    return;
  }
  if (isa >= BN_ISA_AVX2) {
    *mr = MR_256, *nr = NR_256, *fn = ukr256;
    return;
  }
#endif
  (void)isa;
  *mr = MR_C, *nr = NR_C, *fn = ukr_c;
}

static void gemm_task(void* vc, uint32_t it) {
  const mm_ctx_t* c = vc;
  uint32_t MR, NR;
  ukr_fn ukr;
  gemm_geometry(c->isa, &MR, &NR, &ukr);
  const uint32_t blk = it / c->panels, pan = it % c->panels;
  const uint64_t i0 = (uint64_t)blk * c->mb, i1 = min_u64(i0 + c->mb, c->m);
  const uint64_t j0 = (uint64_t)pan * NC, w = min_u64(NC, c->n - j0);
  float* bp = c->scratch + (uint64_t)bn_cpu_thread_index() * c->scratch_floats;
  for (uint64_t k0 = 0; k0 < c->k; k0 += KC) {
    const uint64_t kc = min_u64(KC, c->k - k0);
    pack_b(c, k0, kc, j0, w, NR, bp);
    for (uint64_t i = i0; i < i1; i += MR) {
      const uint32_t mr = (uint32_t)min_u64(MR, i1 - i);
      for (uint64_t p0 = 0; p0 < w; p0 += NR) {
        ukr(kc, c->a + i * c->k + k0, c->k, bp + (p0 / NR) * kc * NR, c->c + i * c->n + j0 + p0,
            c->n, mr, min_u64(NR, w - p0), k0 == 0);
      }
    }
  }
}

/* ====================================================================================== */

int32_t bn_cpu_matmul_f32(const bn_matmul_f32_params_t* p, void* const* bufs) {
  if (p->m == 0 || p->n == 0) return BN_OK;
  mm_ctx_t c = {.a = bufs[0], .b = bufs[1], .c = bufs[2], .m = p->m, .n = p->n, .k = p->k,
                .b_trans = p->b_trans, .isa = bn_cpu_isa()};
  if (p->k == 0) { /* an empty sum */
    memset(c.c, 0, (size_t)(c.m * c.n) * sizeof(float));
    return BN_OK;
  }
  const uint64_t threads = bn_cpu_threads();

  c.lda = c.k;
  if (c.m <= SMALL_M && c.b_trans) {
    /* The A rows are read together; at a stride near 4 KiB·j (k = 1024, 4096, …) they
     * would share L1 banks and halve the load rate: use a copy at an unaliased stride. */
    float* acopy = NULL;
    if (c.m > 1 && bn_cpu_unaliased_stride(c.k * 4) != c.k * 4) {
      c.lda = bn_cpu_unaliased_stride(c.k * 4) / 4;
      acopy = malloc((size_t)(c.lda * c.m) * sizeof(float));
      if (!acopy) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[matmul_f32] no memory for a copy of A");
      for (uint64_t i = 0; i < c.m; i++) memcpy(acopy + i * c.lda, c.a + i * c.k, (size_t)c.k * sizeof(float));
      c.a = acopy;
    }
    /* ~128 KB of B per item, at least 4 items per thread when n allows. */
    uint64_t rows = (131072 / 4) / c.k;
    uint64_t cap = (c.n + 4 * threads - 1) / (4 * threads);
    rows = min_u64(rows, cap);
    rows = (rows + 7) & ~7ull;
    if (rows == 0) rows = 8;
    c.rows = rows;
    bn_parallel_for((uint32_t)((c.n + rows - 1) / rows), dot_task, &c);
    free(acopy);
    return BN_OK;
  }

  if (c.m <= SMALL_M) {
    /* Column chunks of 2048 (8 KB of each B row, the C chunk stays in L1); k slices when
     * there are fewer chunks than 4 per thread, each slice at least 64 rows of B. */
    c.cw = min_u64(2048, c.n);
    c.chunks = (uint32_t)((c.n + c.cw - 1) / c.cw);
    uint64_t slices = 1;
    if (c.chunks < 4 * threads) {
      slices = (4 * threads + c.chunks - 1) / c.chunks;
      slices = min_u64(slices, (c.k + 63) / 64);
      if (slices == 0) slices = 1;
    }
    c.kslice = (c.k + slices - 1) / slices;
    c.slices = (uint32_t)((c.k + c.kslice - 1) / c.kslice);
    if (c.slices > 1) {
      c.partial = malloc((size_t)(c.slices * c.m * c.n) * sizeof(float));
      if (!c.partial) {
        c.slices = 1, c.kslice = c.k; /* no memory for slices: one slice, fewer items */
      }
    }
    bn_parallel_for(c.slices * c.chunks, axpy_task, &c);
    if (c.slices > 1) {
      bn_parallel_for(c.chunks, axpy_sum_task, &c);
      free(c.partial);
    }
    return BN_OK;
  }

  uint32_t MR, NR;
  ukr_fn ukr;
  gemm_geometry(c.isa, &MR, &NR, &ukr);
  c.panels = (uint32_t)((c.n + NC - 1) / NC);
  uint64_t blocks = 1;
  if (c.panels < 4 * threads) blocks = (4 * threads + c.panels - 1) / c.panels;
  uint64_t mb = (c.m + blocks - 1) / blocks;
  mb = (mb + MR - 1) / MR * MR;
  if (mb < 4ull * MR) mb = 4ull * MR; /* packing a panel is only worth it for >= 4 tiles */
  c.mb = mb;
  blocks = (c.m + mb - 1) / mb;
  c.scratch_floats = (uint64_t)min_u64(KC, c.k) * min_u64(NC, (c.n + NR - 1) / NR * NR);
  c.scratch = malloc((size_t)(c.scratch_floats * threads) * sizeof(float));
  if (!c.scratch) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[matmul_f32] no memory for packing B");
  bn_parallel_for((uint32_t)(blocks * c.panels), gemm_task, &c);
  free(c.scratch);
  return BN_OK;
}
