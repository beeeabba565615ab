/*
 * bitlinear.c — CPU BitLinear: Y[i][j] from packed ternary weights (TL2) and int8
 * activations, with an exact int32 dot product.
 *
 * x86 paths compute Σ c·x over the 2-bit codes c = q + 1 ∈ {0,1,2} (unsigned bytes) and
 * subtract Σ x, computed once per activation row per call: Σ q·x = Σ c·x − Σ x. The sums
 * run over the padded kp; padding weights have code 01 (q = 0), so padding activations
 * cancel whatever they hold. Every path wraps in 32 bits (VPDPBUSD does, scalar uses
 * unsigned), so the result is exact whenever the true sum fits int32, which the contract
 * guarantees (k <= BN_MAX_K). Codes 11, which the layout never contains, count as q = 2
 * in every path alike.
 *
 * Paths, chosen per call by bn_cpu_isa():
 * - AVX-512 VNNI (VPDPBUSD): a 32-byte block is broadcast to both halves of a zmm and
 *   decoded with one AND per 64 weights (see vnni_tile); activations need no reordering.
 *   Up to 8 activation rows share each decoded block (tiles of NR weight rows × M rows).
 *   One row is bound by memory (or by L3 when the weights are cache-resident); 8 rows are
 *   bound by VPDPBUSD throughput (64 MACs per instruction, 1 per cycle on Zen 4).
 * - AVX2: VPMADDUBSW (u8 codes × s8 x, pairs into int16: |c·x1 + c·x2| <= 2·2·128, far
 *   from saturation), four of them summed in int16 (<= 4·512), then VPMADDWD into int32.
 * - NEON (aarch64): q = c − 1 as s8, SDOT when __ARM_FEATURE_DOTPROD, else widening
 *   multiplies; no Σ x needed.
 * - scalar: decode a block to q bytes, then plain int loops.
 * Work is split into chunks of weight rows (× groups of activation-row tiles when n is
 * small and m large); each item reads a contiguous run of weight rows.
 */
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "cpu/cpu_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET_VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

typedef struct {
  const uint8_t* w;
  uint64_t rb; /* weight row bytes = kp / 4 */
  const int8_t* x;
  uint64_t kp, nblk; /* nblk = kp / 128 */
  const int32_t* xsum; /* Σ x per activation row over kp, or NULL (path uses q directly) */
  const float* xscale;
  float wscale;
  uint32_t m, n, mode;
  void* y;
  uint32_t isa;
  uint32_t mtile;    /* activation rows decoded together (8 VNNI, else 4) */
  uint32_t rows;     /* weight rows per chunk */
  uint32_t m_groups; /* items per weight chunk, each a run of activation tiles */
  uint32_t tiles_per_group;
} bl_ctx_t;

/* Writes raw[r*M + i] (Σ c·x, or Σ q·x when xsum is NULL) for weight rows j.. and
 * activation rows ib.. */
static ALWAYS_INLINE void bl_emit(const bl_ctx_t* c, uint32_t ib, uint64_t j, int M, int NR,
                                  const int32_t* raw) {
  for (int i = 0; i < M; i++) {
    uint32_t sx = c->xsum ? (uint32_t)c->xsum[ib + i] : 0u;
    uint64_t o = (uint64_t)(ib + i) * c->n + j;
    if (c->mode == BN_BITLINEAR_I32) {
      int32_t* y = (int32_t*)c->y + o;
      for (int r = 0; r < NR; r++) y[r] = (int32_t)((uint32_t)raw[r * M + i] - sx);
    } else {
      float* y = (float*)c->y + o;
      const float s = c->wscale * c->xscale[ib + i]; /* the product of the scales first */
      for (int r = 0; r < NR; r++) y[r] = (float)(int32_t)((uint32_t)raw[r * M + i] - sx) * s;
    }
  }
}

/* ---- AVX-512 VNNI ------------------------------------------------------------------- */
#if defined(__x86_64__)

/* Sums of a, b, c, d as the four lanes of an xmm. */
static ALWAYS_INLINE TARGET_VNNI __m128i red4_512(__m512i a, __m512i b, __m512i c, __m512i d) {
  __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
  __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
  __m512i v = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
  __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* NR weight rows (row stride rb) × M activation rows (stride kp) over nblk blocks;
 * raw[r*M + i] = Σ c·x. M, NR, SPLIT are constants after inlining: everything unrolls and
 * the accumulators live in registers.
 *
 * Decoding: the 32-byte block is broadcast to both halves of a zmm and ANDed with
 * 0x03 (low half) | 0x0C (high half), which leaves c_0 in the low 32 bytes and 4·c_1 in the
 * high 32: the codes of weights 0..63 of the block in order, matching 64 consecutive
 * activation bytes (no reordering). Weights 64..127 come from the same broadcast either
 * ANDed with 0x30 | 0xC0 (16·c_2, 64·c_3) into separate accumulators (SPLIT = 1: one op
 * per 64 weights, for the memory-bound small tiles) or shifted right by 4 first and ANDed
 * with the first mask into the same accumulators (SPLIT = 0: fewer registers, for the
 * compute-bound tiles). Each dword lane then holds 4^p × an exact partial sum, and an
 * arithmetic shift right by 2p per lane (exact) removes the factor before the horizontal
 * add. A lane grows by at most 2·4·64·2·128 = 2^17 per block, so lanes are folded into an
 * unscaled accumulator every FOLD_BLOCKS blocks, long before they could reach 2^31. */
#define FOLD_BLOCKS 8192u
static ALWAYS_INLINE TARGET_VNNI void vnni_tile(const uint8_t* w, uint64_t rb, const int8_t* x,
                                                uint64_t kp, uint64_t nblk, const int M,
                                                const int NR, const int SPLIT, uint64_t pfd,
                                                int32_t* raw) {
  const __m512i lo = _mm512_inserti64x4(_mm512_set1_epi8(0x03), _mm256_set1_epi8(0x0c), 1);
  const __m512i hi = _mm512_inserti64x4(_mm512_set1_epi8(0x30), _mm256_set1_epi8((char)0xc0), 1);
  const __m512i sh_lo = _mm512_inserti64x4(_mm512_set1_epi32(0), _mm256_set1_epi32(2), 1);
  const __m512i sh_hi = _mm512_inserti64x4(_mm512_set1_epi32(4), _mm256_set1_epi32(6), 1);
  /* pfd: software prefetch distance in bytes, 0 for none (harmless past the end of the
   * weights: prefetches never fault). */

  const int T = NR * M;
  __m512i sum[32];
  for (int t = 0; t < T; t++) sum[t] = _mm512_setzero_si512();
  for (uint64_t b0 = 0; b0 < nblk; b0 += FOLD_BLOCKS) {
    const uint64_t b1 = nblk - b0 < FOLD_BLOCKS ? nblk : b0 + FOLD_BLOCKS;
    __m512i acc[32], acc_hi[32]; /* acc_hi: SPLIT only */
    for (int t = 0; t < T; t++) acc[t] = acc_hi[t] = _mm512_setzero_si512();
    for (uint64_t b = b0; b < b1; b++) {
      __m512i c01[16], c23[16];
      for (int r = 0; r < NR; r++) {
        const uint8_t* wp = w + r * rb + 32 * b;
        if (pfd && (b & 1) == 0) _mm_prefetch((const char*)(wp + pfd), _MM_HINT_T0);
        __m512i wb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)wp));
        c01[r] = _mm512_and_si512(wb, lo);
        c23[r] = SPLIT ? _mm512_and_si512(wb, hi) : _mm512_and_si512(_mm512_srli_epi64(wb, 4), lo);
      }
      for (int i = 0; i < M; i++) {
        const int8_t* xi = x + (uint64_t)i * kp + 128 * b;
        __m512i x01 = _mm512_loadu_si512(xi), x23 = _mm512_loadu_si512(xi + 64);
        for (int r = 0; r < NR; r++) {
          const int t = r * M + i;
          acc[t] = _mm512_dpbusd_epi32(acc[t], c01[r], x01);
          if (SPLIT) acc_hi[t] = _mm512_dpbusd_epi32(acc_hi[t], c23[r], x23);
          else acc[t] = _mm512_dpbusd_epi32(acc[t], c23[r], x23);
        }
      }
    }
    for (int t = 0; t < T; t++) {
      __m512i v = _mm512_srav_epi32(acc[t], sh_lo);
      if (SPLIT) v = _mm512_add_epi32(v, _mm512_srav_epi32(acc_hi[t], sh_hi));
      sum[t] = _mm512_add_epi32(sum[t], v);
    }
  }
  for (int t = T; t < ((T + 3) & ~3); t++) sum[t] = _mm512_setzero_si512();
  int32_t tmp[32];
  for (int t = 0; t < T; t += 4) {
    _mm_storeu_si128((__m128i*)(tmp + t), red4_512(sum[t], sum[t + 1], sum[t + 2], sum[t + 3]));
  }
  for (int t = 0; t < T; t++) raw[t] = tmp[t];
}

/* One weight row against M activation rows (stride kp), U blocks per step, with the
 * decoding of vnni_tile (SPLIT): 2·M·U accumulators. raw[i] = Σ c·x for row i. Weight rows
 * are processed one after another, so the weight loads form one long sequential stream
 * through the chunk that the hardware prefetchers follow from DRAM; with several 1 KB rows
 * interleaved (vnni_tile) each load's stream is too short and a cold GEMV runs at half
 * the speed. */
static ALWAYS_INLINE TARGET_VNNI void vnni_row(const uint8_t* w, const int8_t* x, uint64_t kp,
                                               uint64_t nblk, const int M, const int U,
                                               int32_t* raw) {
  const __m512i lo = _mm512_inserti64x4(_mm512_set1_epi8(0x03), _mm256_set1_epi8(0x0c), 1);
  const __m512i hi = _mm512_inserti64x4(_mm512_set1_epi8(0x30), _mm256_set1_epi8((char)0xc0), 1);
  const __m512i sh_lo = _mm512_inserti64x4(_mm512_set1_epi32(0), _mm256_set1_epi32(2), 1);
  const __m512i sh_hi = _mm512_inserti64x4(_mm512_set1_epi32(4), _mm256_set1_epi32(6), 1);
  __m512i sum[8];
  for (int i = 0; i < M; i++) sum[i] = _mm512_setzero_si512();
  for (uint64_t b0 = 0; b0 < nblk; b0 += FOLD_BLOCKS) {
    const uint64_t b1 = nblk - b0 < FOLD_BLOCKS ? nblk : b0 + FOLD_BLOCKS;
    __m512i a[16], h[16]; /* [u·M + i] */
    for (int t = 0; t < M * U; t++) a[t] = h[t] = _mm512_setzero_si512();
    uint64_t b = b0;
    for (; b + U <= b1; b += U) {
      for (int u = 0; u < U; u++) {
        __m512i wb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(w + 32 * (b + u))));
        __m512i c01 = _mm512_and_si512(wb, lo), c23 = _mm512_and_si512(wb, hi);
        for (int i = 0; i < M; i++) {
          const int8_t* xi = x + (uint64_t)i * kp + 128 * (b + u);
          a[u * M + i] = _mm512_dpbusd_epi32(a[u * M + i], c01, _mm512_loadu_si512(xi));
          h[u * M + i] = _mm512_dpbusd_epi32(h[u * M + i], c23, _mm512_loadu_si512(xi + 64));
        }
      }
    }
    for (; b < b1; b++) {
      __m512i wb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(w + 32 * b)));
      __m512i c01 = _mm512_and_si512(wb, lo), c23 = _mm512_and_si512(wb, hi);
      for (int i = 0; i < M; i++) {
        const int8_t* xi = x + (uint64_t)i * kp + 128 * b;
        a[i] = _mm512_dpbusd_epi32(a[i], c01, _mm512_loadu_si512(xi));
        h[i] = _mm512_dpbusd_epi32(h[i], c23, _mm512_loadu_si512(xi + 64));
      }
    }
    for (int i = 0; i < M; i++) {
      __m512i va = a[i], vh = h[i];
      for (int u = 1; u < U; u++) {
        va = _mm512_add_epi32(va, a[u * M + i]);
        vh = _mm512_add_epi32(vh, h[u * M + i]);
      }
      sum[i] = _mm512_add_epi32(sum[i], _mm512_add_epi32(_mm512_srav_epi32(va, sh_lo),
                                                         _mm512_srav_epi32(vh, sh_hi)));
    }
  }
  for (int i = M; i < ((M + 3) & ~3); i++) sum[i] = _mm512_setzero_si512();
  int32_t tmp[8];
  for (int i = 0; i < M; i += 4) {
    _mm_storeu_si128((__m128i*)(tmp + i), red4_512(sum[i], sum[i + 1], sum[i + 2], sum[i + 3]));
  }
  for (int i = 0; i < M; i++) raw[i] = tmp[i];
}

static ALWAYS_INLINE void acc_out(int32_t* o, int32_t v, int add) {
  *o = add ? (int32_t)((uint32_t)*o + (uint32_t)v) : v;
}

/* Sums blocks [b0, b0+nb) of weight rows [j0, j1) against the M activation rows at x, into
 * out[(j - j0)·M + i] (overwriting, or adding when add != 0): tiles of NR rows while they
 * fill, the rest row by row. */

static ALWAYS_INLINE TARGET_VNNI void vnni_range(const bl_ctx_t* c, const int8_t* x, uint64_t j0,
                                                 uint64_t j1, uint64_t b0, uint64_t nb, const int M,
                                                 const int NR, const int P, int32_t* out, int add) {
  int32_t raw[32];
  const uint8_t* w = c->w + 32 * b0;
  x += 128 * b0;
  uint64_t j = j0;
  if (NR > 1) {
    /* Lane r of a tile walks rows j0 + r·L, j0 + r·L + 1, …: each weight load follows one
     * contiguous run of L rows, which the prefetchers track from DRAM (NR adjacent 1 KB
     * rows per tile would give each load a 1 KB stream, and a cold GEMV half the speed).
     * Software prefetch 4 rows ahead in each lane helps the multi-row tiles (measured);
     * one row streams best on the hardware prefetchers alone. */
    const uint64_t L = (j1 - j0) / NR;
    for (uint64_t t = 0; t < L; t++) {
      vnni_tile(w + (j0 + t) * c->rb, L * c->rb, x, c->kp, nb, M, NR, P, M > 1 ? 4 * c->rb : 0, raw);
      for (int r = 0; r < NR; r++)
        for (int i = 0; i < M; i++) acc_out(out + (t + r * L) * M + i, raw[r * M + i], add);
    }
    j = j0 + NR * L;
  }
  for (; j < j1; j++) { /* row by row (vnni_row); P = blocks per step */
    vnni_row(w + j * c->rb, x, c->kp, nb, M, NR == 1 ? P : 1, raw);
    for (int i = 0; i < M; i++) acc_out(out + (j - j0) * M + i, raw[i], add);
  }
}

/* Activation bytes a tile may keep hot: when M rows of kp bytes exceed it, k is cut into
 * equal segments so the activations stay in L1 while BL_SUBR weight rows pass by. */
#define BL_X_BUDGET 32768u
/* Weight rows swept together (lanes, k segments): longer lanes stream better from DRAM. */
#define BL_SUBR 256

/* Weight rows [j0, j1) × activation rows ib .. ib+M-1. */
#define VNNI_ROWS(M_, NR_, P_)                                                               \
  static TARGET_VNNI void vnni_rows_##M_(const bl_ctx_t* c, uint32_t ib, uint64_t j0,       \
                                         uint64_t j1) {                                     \
    const int8_t* x = c->x + (uint64_t)ib * c->kp;                                           \
    const uint64_t nseg = (M_ * c->kp + BL_X_BUDGET - 1) / BL_X_BUDGET;                      \
    const uint64_t segb = (c->nblk + nseg - 1) / nseg;                                       \
    int32_t acc[BL_SUBR * M_];                                                               \
    for (uint64_t js = j0; js < j1; js += BL_SUBR) {                                         \
      const uint64_t je = j1 - js < BL_SUBR ? j1 : js + BL_SUBR;                             \
      for (uint64_t b0 = 0; b0 < c->nblk; b0 += segb) {                                      \
        const uint64_t nb = c->nblk - b0 < segb ? c->nblk - b0 : segb;                       \
        vnni_range(c, x, js, je, b0, nb, M_, NR_, P_, acc, b0 != 0);                         \
      }                                                                                      \
      bl_emit(c, ib, js, M_, (int)(je - js), acc);                                           \
    }                                                                                        \
  }
/* Per number of activation rows: (NR, P). NR > 1: tiles of NR weight rows (lanes), P =
 * SPLIT. NR = 1: one weight row at a time (vnni_row), P = blocks per step. Measured on
 * Zen 4, hot (L3) and cold (DRAM): one row streams best row by row; 2-4 rows want the
 * activation loads shared by 4 weight rows; 5-8 rows are bound by VPDPBUSD throughput. */
#define BL_M1 4, 1
#define BL_M2 4, 1
#define BL_M3 4, 0
#define BL_M4 4, 0
#define BL_M5 2, 0
#define BL_M6 2, 0
#define BL_M7 2, 0
#define BL_M8 2, 0
#define VNNI_ROWS_(M_, cfg) VNNI_ROWS(M_, cfg)
VNNI_ROWS_(1, BL_M1)
VNNI_ROWS_(2, BL_M2)
VNNI_ROWS_(3, BL_M3)
VNNI_ROWS_(4, BL_M4)
VNNI_ROWS_(5, BL_M5)
VNNI_ROWS_(6, BL_M6)
VNNI_ROWS_(7, BL_M7)
VNNI_ROWS_(8, BL_M8)

static void (*const vnni_rows[9])(const bl_ctx_t*, uint32_t, uint64_t, uint64_t) = {
    NULL, vnni_rows_1, vnni_rows_2, vnni_rows_3, vnni_rows_4,
    vnni_rows_5, vnni_rows_6, vnni_rows_7, vnni_rows_8};

TARGET_VNNI static void vnni_xsum(const int8_t* x, uint64_t kp, uint32_t m, int32_t* out) {
  const __m512i ones = _mm512_set1_epi8(1);
  for (uint32_t i = 0; i < m; i++) {
    const int8_t* xi = x + (uint64_t)i * kp;
    __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
    for (uint64_t o = 0; o < kp; o += 128) {
      a = _mm512_dpbusd_epi32(a, ones, _mm512_loadu_si512(xi + o));
      b = _mm512_dpbusd_epi32(b, ones, _mm512_loadu_si512(xi + o + 64));
    }
    out[i] = _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
  }
}

/* ---- AVX2 --------------------------------------------------------------------------- */

static ALWAYS_INLINE TARGET_AVX2 __m128i red4_256(__m256i a, __m256i b, __m256i c, __m256i d) {
  __m256i v = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

static ALWAYS_INLINE TARGET_AVX2 void avx2_tile(const uint8_t* w, uint64_t rb, const int8_t* x,
                                                uint64_t kp, uint64_t nblk, const int M,
                                                const int NR, int32_t* raw) {
  const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  __m256i acc[8];
  for (int t = 0; t < NR * M; t++) acc[t] = _mm256_setzero_si256();
  for (uint64_t b = 0; b < nblk; b++) {
    __m256i cd[2][4];
    for (int r = 0; r < NR; r++) {
      __m256i wb = _mm256_loadu_si256((const __m256i*)(w + r * rb + 32 * b));
      cd[r][0] = _mm256_and_si256(wb, m3);
      cd[r][1] = _mm256_and_si256(_mm256_srli_epi16(wb, 2), m3);
      cd[r][2] = _mm256_and_si256(_mm256_srli_epi16(wb, 4), m3);
      cd[r][3] = _mm256_and_si256(_mm256_srli_epi16(wb, 6), m3);
    }
    for (int i = 0; i < M; i++) {
      const __m256i* xi = (const __m256i*)(x + (uint64_t)i * kp + 128 * b);
      __m256i x0 = _mm256_loadu_si256(xi), x1 = _mm256_loadu_si256(xi + 1);
      __m256i x2 = _mm256_loadu_si256(xi + 2), x3 = _mm256_loadu_si256(xi + 3);
      for (int r = 0; r < NR; r++) {
        __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(cd[r][0], x0),
                                       _mm256_maddubs_epi16(cd[r][1], x1));
        __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(cd[r][2], x2),
                                       _mm256_maddubs_epi16(cd[r][3], x3));
        acc[r * M + i] = _mm256_add_epi32(acc[r * M + i],
                                          _mm256_madd_epi16(_mm256_add_epi16(s01, s23), ones));
      }
    }
  }
  const int T = NR * M;
  __m256i v[8];
  for (int t = 0; t < T; t++) v[t] = acc[t];
  for (int t = T; t < ((T + 3) & ~3); t++) v[t] = _mm256_setzero_si256();
  int32_t tmp[8];
  for (int t = 0; t < T; t += 4) {
    _mm_storeu_si128((__m128i*)(tmp + t), red4_256(v[t], v[t + 1], v[t + 2], v[t + 3]));
  }
  for (int t = 0; t < T; t++) raw[t] = tmp[t];
}

#define AVX2_ROWS(M_, NR_)                                                                   \
  static TARGET_AVX2 void avx2_rows_##M_(const bl_ctx_t* c, uint32_t ib, uint64_t j0,       \
                                         uint64_t j1) {                                     \
    int32_t raw[8];                                                                          \
    const int8_t* x = c->x + (uint64_t)ib * c->kp;                                           \
    uint64_t j = j0;                                                                         \
    for (; j + NR_ <= j1; j += NR_) {                                                        \
      avx2_tile(c->w + j * c->rb, c->rb, x, c->kp, c->nblk, M_, NR_, raw);                   \
      bl_emit(c, ib, j, M_, NR_, raw);                                                       \
    }                                                                                        \
    for (; j < j1; j++) {                                                                    \
      avx2_tile(c->w + j * c->rb, c->rb, x, c->kp, c->nblk, M_, 1, raw);                     \
      bl_emit(c, ib, j, M_, 1, raw);                                                         \
    }                                                                                        \
  }
AVX2_ROWS(1, 2)
AVX2_ROWS(2, 1)
AVX2_ROWS(3, 1)
AVX2_ROWS(4, 1)

static void (*const avx2_rows[5])(const bl_ctx_t*, uint32_t, uint64_t, uint64_t) = {
    NULL, avx2_rows_1, avx2_rows_2, avx2_rows_3, avx2_rows_4};

TARGET_AVX2 static void avx2_xsum(const int8_t* x, uint64_t kp, uint32_t m, int32_t* out) {
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (uint32_t i = 0; i < m; i++) {
    const int8_t* xi = x + (uint64_t)i * kp;
    __m256i a = _mm256_setzero_si256();
    for (uint64_t o = 0; o < kp; o += 32) {
      __m256i p = _mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i*)(xi + o)));
      a = _mm256_add_epi32(a, _mm256_madd_epi16(p, ones16));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    out[i] = _mm_cvtsi128_si32(s);
  }
}
#endif /* __x86_64__ */

/* ---- NEON --------------------------------------------------------------------------- */
#if defined(__aarch64__)
static void neon_rows(const bl_ctx_t* c, uint32_t ib, int M, uint64_t j0, uint64_t j1) {
  const uint8x16_t m3 = vdupq_n_u8(3), one = vdupq_n_u8(1);
  const int8_t* x = c->x + (uint64_t)ib * c->kp;
  for (uint64_t j = j0; j < j1; j++) {
    const uint8_t* wr = c->w + j * c->rb;
    int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (uint64_t b = 0; b < c->nblk; b++) {
      uint8x16_t w0 = vld1q_u8(wr + 32 * b), w1 = vld1q_u8(wr + 32 * b + 16);
      /* q[h] holds weights 16h .. 16h+15 of the block (h = 2p + half). */
      int8x16_t q[8];
      q[0] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(w0, m3), one));
      q[1] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(w1, m3), one));
      q[2] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(w0, 2), m3), one));
      q[3] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(w1, 2), m3), one));
      q[4] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(w0, 4), m3), one));
      q[5] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(w1, 4), m3), one));
      q[6] = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(w0, 6), one));
      q[7] = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(w1, 6), one));
      for (int i = 0; i < M; i++) {
        const int8_t* xi = x + (uint64_t)i * c->kp + 128 * b;
        for (int h = 0; h < 8; h++) {
          int8x16_t xv = vld1q_s8(xi + 16 * h);
#if defined(__ARM_FEATURE_DOTPROD)
          acc[i] = vdotq_s32(acc[i], q[h], xv);
#else
          acc[i] = vpadalq_s16(acc[i], vmull_s8(vget_low_s8(q[h]), vget_low_s8(xv)));
          acc[i] = vpadalq_s16(acc[i], vmull_high_s8(q[h], xv));
#endif
        }
      }
    }
    int32_t raw[4];
    for (int i = 0; i < M; i++) raw[i] = vaddvq_s32(acc[i]);
    bl_emit(c, ib, j, M, 1, raw);
  }
}
#endif

/* ---- scalar ------------------------------------------------------------------------- */
static void scalar_rows(const bl_ctx_t* c, uint32_t ib, int M, uint64_t j0, uint64_t j1) {
  const int8_t* x = c->x + (uint64_t)ib * c->kp;
  for (uint64_t j = j0; j < j1; j++) {
    const uint8_t* wr = c->w + j * c->rb;
    uint32_t acc[4] = {0, 0, 0, 0};
    for (uint64_t b = 0; b < c->nblk; b++) {
      int8_t q[128];
      for (int p = 0; p < 4; p++) {
        for (int t = 0; t < 32; t++) q[32 * p + t] = (int8_t)(((wr[32 * b + t] >> (2 * p)) & 3) - 1);
      }
      for (int i = 0; i < M; i++) {
        const int8_t* xi = x + (uint64_t)i * c->kp + 128 * b;
        int32_t s = 0; /* |s| <= 128 · 2 · 128: no overflow inside a block */
        for (int t = 0; t < 128; t++) s += (int32_t)q[t] * (int32_t)xi[t];
        acc[i] += (uint32_t)s;
      }
    }
    int32_t raw[4];
    for (int i = 0; i < M; i++) raw[i] = (int32_t)acc[i];
    bl_emit(c, ib, j, M, 1, raw);
  }
}

/* ---- driver ------------------------------------------------------------------------- */

static void bl_task(void* vc, uint32_t t) {
  const bl_ctx_t* c = vc;
  uint32_t chunk = t / c->m_groups, g = t % c->m_groups;
  uint64_t j0 = (uint64_t)chunk * c->rows;
  uint64_t j1 = j0 + c->rows < c->n ? j0 + c->rows : c->n;
  uint64_t i0 = (uint64_t)g * c->tiles_per_group * c->mtile;
  uint64_t i1 = i0 + (uint64_t)c->tiles_per_group * c->mtile;
  if (i1 > c->m) i1 = c->m;
  for (uint64_t ib = i0; ib < i1; ib += c->mtile) {
    int M = (int)(i1 - ib < c->mtile ? i1 - ib : c->mtile);
#if defined(__x86_64__)
    if (c->isa >= BN_ISA_AVX512_VNNI) {
      vnni_rows[M](c, (uint32_t)ib, j0, j1);
      continue;
    }
    if (c->isa >= BN_ISA_AVX2) {
      avx2_rows[M](c, (uint32_t)ib, j0, j1);
      continue;
    }
#elif defined(__aarch64__)
    if (c->isa >= BN_ISA_NEON) {
      neon_rows(c, (uint32_t)ib, M, j0, j1);
      continue;
    }
#endif
    scalar_rows(c, (uint32_t)ib, M, j0, j1);
  }
}

int32_t bn_cpu_bitlinear(const bn_bitlinear_params_t* p, void* const* bufs) {
  if (p->m == 0 || p->n == 0 || p->k == 0) return BN_OK;
  bl_ctx_t c = {
      .w = bufs[0],
      .rb = bn_kp(p->k) / 4,
      .x = bufs[2],
      .kp = bn_kp(p->k),
      .nblk = bn_kp(p->k) / 128,
      .xscale = bufs[3],
      .wscale = *(const float*)bufs[1],
      .m = p->m,
      .n = p->n,
      .mode = p->mode,
      .y = bufs[4],
      .isa = bn_cpu_isa(),
  };
  c.mtile = c.isa >= BN_ISA_AVX512_VNNI ? 8 : 4;

  int32_t xs_stack[64];
  int32_t* xs = NULL;
#if defined(__x86_64__)
  if (c.isa >= BN_ISA_AVX2) {
    xs = p->m <= 64 ? xs_stack : malloc((size_t)p->m * sizeof(int32_t));
    if (!xs) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[bitlinear] no memory for %u row sums", p->m);
    if (c.isa >= BN_ISA_AVX512_VNNI) vnni_xsum(c.x, c.kp, p->m, xs);
    else avx2_xsum(c.x, c.kp, p->m, xs);
  }
#endif
  c.xsum = xs;

  /* Chunks of ~256 KB of weights (~5-10 µs of work each), at least ~4 per thread when n
   * allows, in multiples of 16 rows. */
  const uint32_t threads = bn_cpu_threads();
  uint64_t rows = 262144 / c.rb;
  uint64_t cap = (c.n + 4ull * threads - 1) / (4ull * threads);
  if (rows > cap) rows = cap;
  rows = (rows + 15) & ~15ull;
  if (rows == 0) rows = 16;
  uint64_t chunks = (c.n + rows - 1) / rows;
  uint64_t tiles = (c.m + c.mtile - 1) / c.mtile;
  uint64_t groups = 1;
  if (chunks < 4ull * threads && tiles > 1) {
    groups = (4ull * threads + chunks - 1) / chunks;
    if (groups > tiles) groups = tiles;
  }
  uint64_t per = (tiles + groups - 1) / groups;
  groups = (tiles + per - 1) / per;
  c.rows = (uint32_t)rows;
  c.tiles_per_group = (uint32_t)per;
  c.m_groups = (uint32_t)groups;
  bn_parallel_for((uint32_t)(chunks * groups), bl_task, &c);

  if (xs && xs != xs_stack) free(xs);
  return BN_OK;
}
