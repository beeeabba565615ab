/*
 * tensor_matmul.c — BN_OP_MATMUL on the CPU: batched C_z = op(A_z) · op(B_z) with f32 or
 * f16 inputs (f16 is converted to f32 exactly while packing), f32 accumulation and output,
 * either operand transposed, and per-operand batch strides (0 broadcasts the operand).
 *
 * Two schemes, each with AVX-512, AVX2 (+FMA, F16C), NEON and plain-C code, chosen at run
 * time (bn_cpu_isa, and CPUID for F16C; code compiled with target attributes, no -march):
 *
 * - GEMV (m == 1 or n == 1): one operand is a contiguous vector v of k elements whatever
 *   its transpose flag, the other a matrix M of R rows (R = n or m) stored either as
 *   M[r][k] ("rows": dot products, M streamed once) or M[k][r] ("cols": axpy over column
 *   chunks, k split into slices summed in slice order when there are fewer than 64 chunks).
 *
 * - GEMM: items are (batch × row block × column panel) over bn_parallel_for. Per KC-deep
 *   slice of k, an item packs its column panel of B into NR-wide micro-panels [kc][NR] and
 *   its row block of A into MR-high micro-panels [kc][MR] (per-thread scratch; transposes
 *   and f16 → f32 conversion happen here, with 8×8 AVX transposes where the source is
 *   contiguous along k), then an MR × NR register micro-kernel accumulates each tile, an A
 *   micro-panel staying in L1 while the B panel streams from L2 (the first slice overwrites
 *   C, later slices add).
 *
 * Every C element is computed with a summation order fixed by the shape and the instruction
 * set, never by the thread count (blocks only decide which item computes what).
 */
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "cpu/cpu_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define TARGET_512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TARGET_F16C __attribute__((target("avx2,fma,f16c")))
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

#define PF_AHEAD 4u /* rows fetched ahead when packing along far-apart source rows */
#define KC 256u    /* depth of a packed slice                              */
#define NC_MAX 256u /* columns of a packed B panel (a multiple of every NR) */
#define MB_MAX 384u /* rows of a packed A block (a multiple of every MR)     */

/* Per-thread packing scratch (floats): every panel of a block with its stride padding. */
#define A_SCRATCH ((uint64_t)MB_MAX * KC + 16 * MB_MAX)
#define B_SCRATCH ((uint64_t)NC_MAX * KC + 16 * NC_MAX)

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t round_up_u64(uint64_t a, uint64_t b) { return ceil_div(a, b) * b; }

/* ---- f16 ---------------------------------------------------------------------------- */

/* IEEE binary16 → binary32, exact (subnormals normalised, NaN stays NaN), the conversion of
 * src/dtype.ts (f16BitsToF32) and of the F16C / NEON instructions. */
static inline float h2f(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
  if (e == 0) {
    if (m == 0) {
      bits = s;
    } else {
      uint32_t sh = 0;
      while (!(m & 0x400u)) m <<= 1, sh++;
      bits = s | ((113u - sh) << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (e == 31) {
    bits = s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u);
  } else {
    bits = s | ((e + 112u) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* Element i of an f32 (f16 = 0) or f16 array. */
static inline float elem(const void* p, int f16, uint64_t i) {
  return f16 ? h2f(((const uint16_t*)p)[i]) : ((const float*)p)[i];
}

/* ---- instruction-set levels --------------------------------------------------------- */

enum { L_SCALAR = 0, L_AVX2 = 1, L_AVX512 = 2, L_NEON = 3 };

typedef struct level {
  int simd;   /* L_* */
  int f16c;   /* x86: F16C usable (AVX2 level and above)  */
} level_t;

static level_t cpu_level(void) {
  level_t l = {L_SCALAR, 0};
  uint32_t isa = bn_cpu_isa();
#if defined(__x86_64__)
  if (isa >= BN_ISA_AVX512) l.simd = L_AVX512;
  else if (isa >= BN_ISA_AVX2) l.simd = L_AVX2;
  if (l.simd != L_SCALAR) {
    unsigned a = 0, b = 0, c = 0, d = 0; /* CPUID.1:ECX bit 29 (no "f16c" in every clang's
                                            __builtin_cpu_supports); the AVX state check is
                                            bn_cpu_isa's */
    l.f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) ? 1 : 0;
    if (l.simd == L_AVX512) l.f16c = 1; /* AVX-512F has the conversions (VCVTPH2PS zmm) */
  }
#elif defined(__aarch64__)
  if (isa >= BN_ISA_NEON) l.simd = L_NEON;
#else
  (void)isa;
#endif
  return l;
}

/* ======================================================================================= */
/* Packing                                                                                  */
/*
 * pack_block: `rows` rows (r = 0 ..) × kc of a source X(r, kk) = element off + r·ld + kk·sk
 * of src become ceil(rows / P) micro-panels [kc][P] (zero past `rows`), panel q at
 * dst + q·ps. One of ld, sk is 1 for every layout of A and B:
 * - ld == 1 (each kk is a contiguous run of rows): walked kk by kk, the source along its
 *   rows, one vector copy (or f16 conversion) per 8 elements;
 * - sk == 1 (each row is a contiguous run of k): panel by panel, 8 × 8 transposes.
 * ps (the panel stride) is kc·P plus a cache line, so that the panels written together in
 * the first walk do not all map to the same L1 sets.
 */
static uint64_t panel_stride(uint64_t kc, uint64_t P) { return kc * P + 16; }

static void pack_block_scalar(float* dst, uint64_t P, uint64_t ps, const void* src, int f16,
                              uint64_t off, uint64_t ld, uint64_t sk, uint64_t rows, uint64_t kc) {
  for (uint64_t q0 = 0; q0 < rows; q0 += P) {
    const uint64_t nr = min_u64(P, rows - q0);
    float* d = dst + (q0 / P) * ps;
    for (uint64_t kk = 0; kk < kc; kk++, d += P) {
      uint64_t r = 0;
      for (; r < nr; r++) d[r] = elem(src, f16, off + (q0 + r) * ld + kk * sk);
      for (; r < P; r++) d[r] = 0.0f;
    }
  }
}

#if defined(__x86_64__)
static ALWAYS_INLINE TARGET_F16C __m256 load8(const void* src, int f16, uint64_t i) {
  if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)((const uint16_t*)src + i)));
  return _mm256_loadu_ps((const float*)src + i);
}

static ALWAYS_INLINE TARGET_F16C void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* dst[0..n) = src[i ..], n <= P, then zeros up to P. */
static ALWAYS_INLINE TARGET_F16C void copy_run(float* d, uint64_t P, const void* src, int f16,
                                               uint64_t i, uint64_t n) {
  uint64_t r = 0;
  for (; r + 8 <= n; r += 8) _mm256_storeu_ps(d + r, load8(src, f16, i + r));
  for (; r < n; r++) d[r] = elem(src, f16, i + r);
  for (; r < P; r++) d[r] = 0.0f;
}

static TARGET_F16C void pack_block_avx(float* dst, uint64_t P, uint64_t ps, const void* src, int f16,
                                       uint64_t off, uint64_t ld, uint64_t sk, uint64_t rows,
                                       uint64_t kc) {
  if (ld == 1) {
    const uint64_t esz = f16 ? 2 : 4, line = 64 / esz;
    for (uint64_t kk = 0; kk < kc; kk++) {
      const uint64_t base = off + kk * sk;
      if (kk + PF_AHEAD < kc) { /* the source rows are far apart: fetch ahead of the walk */
        const char* pf = (const char*)src + (base + PF_AHEAD * sk) * esz;
        for (uint64_t r = 0; r < rows; r += line) __builtin_prefetch(pf + r * esz);
      }
      for (uint64_t q0 = 0; q0 < rows; q0 += P) {
        copy_run(dst + (q0 / P) * ps + kk * P, P, src, f16, base + q0, min_u64(P, rows - q0));
      }
    }
    return;
  }
  if (sk != 1) {
    pack_block_scalar(dst, P, ps, src, f16, off, ld, sk, rows, kc);
    return;
  }
  for (uint64_t q0 = 0; q0 < rows; q0 += P) {
    const uint64_t nr = min_u64(P, rows - q0);
    float* panel = dst + (q0 / P) * ps;
    for (uint64_t g = 0; g < P; g += 8) {
      const uint64_t valid = nr > g ? min_u64(8, nr - g) : 0;
      const uint64_t lanes = min_u64(8, P - g);
      const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)lanes),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const uint64_t rbase = off + (q0 + g) * ld;
      uint64_t kk = 0;
      for (; kk + 8 <= kc; kk += 8) {
        __m256 r[8];
        for (uint64_t i = 0; i < 8; i++) {
          r[i] = i < valid ? load8(src, f16, rbase + i * ld + kk) : _mm256_setzero_ps();
        }
        transpose8(r);
        for (uint64_t t = 0; t < 8; t++) {
          float* d = panel + (kk + t) * P + g;
          if (lanes == 8) _mm256_storeu_ps(d, r[t]);
          else _mm256_maskstore_ps(d, mk, r[t]);
        }
      }
      for (; kk < kc; kk++) {
        float* d = panel + kk * P + g;
        for (uint64_t i = 0; i < lanes; i++) d[i] = i < valid ? elem(src, f16, rbase + i * ld + kk) : 0.0f;
      }
    }
  }
}
#endif

#if defined(__aarch64__)
static ALWAYS_INLINE float32x4_t load4_neon(const void* src, int f16, uint64_t i) {
  if (f16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t*)src + i)));
  return vld1q_f32((const float*)src + i);
}

static void pack_block_neon(float* dst, uint64_t P, uint64_t ps, const void* src, int f16,
                            uint64_t off, uint64_t ld, uint64_t sk, uint64_t rows, uint64_t kc) {
  if (ld == 1) {
    const uint64_t esz = f16 ? 2 : 4, line = 64 / esz;
    for (uint64_t kk = 0; kk < kc; kk++) {
      const uint64_t base = off + kk * sk;
      if (kk + PF_AHEAD < kc) { /* the source rows are far apart: fetch ahead of the walk */
        const char* pf = (const char*)src + (base + PF_AHEAD * sk) * esz;
        for (uint64_t r = 0; r < rows; r += line) __builtin_prefetch(pf + r * esz);
      }
      for (uint64_t q0 = 0; q0 < rows; q0 += P) {
        float* d = dst + (q0 / P) * ps + kk * P;
        const uint64_t n = min_u64(P, rows - q0);
        uint64_t r = 0;
        for (; r + 4 <= n; r += 4) vst1q_f32(d + r, load4_neon(src, f16, base + q0 + r));
        for (; r < n; r++) d[r] = elem(src, f16, base + q0 + r);
        for (; r < P; r++) d[r] = 0.0f;
      }
    }
    return;
  }
  if (sk != 1 || P % 4 != 0) {
    pack_block_scalar(dst, P, ps, src, f16, off, ld, sk, rows, kc);
    return;
  }
  for (uint64_t q0 = 0; q0 < rows; q0 += P) {
    const uint64_t nr = min_u64(P, rows - q0);
    float* panel = dst + (q0 / P) * ps;
    for (uint64_t g = 0; g < P; g += 4) {
      const uint64_t valid = nr > g ? min_u64(4, nr - g) : 0;
      const uint64_t rbase = off + (q0 + g) * ld;
      uint64_t kk = 0;
      for (; kk + 4 <= kc; kk += 4) {
        float32x4_t r[4];
        for (uint64_t i = 0; i < 4; i++) {
          r[i] = i < valid ? load4_neon(src, f16, rbase + i * ld + kk) : vdupq_n_f32(0.0f);
        }
        const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
        const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
        const float64x2_t u0 = vreinterpretq_f64_f32(t0), u1 = vreinterpretq_f64_f32(t1);
        const float64x2_t u2 = vreinterpretq_f64_f32(t2), u3 = vreinterpretq_f64_f32(t3);
        vst1q_f32(panel + (kk + 0) * P + g, vreinterpretq_f32_f64(vtrn1q_f64(u0, u2)));
        vst1q_f32(panel + (kk + 1) * P + g, vreinterpretq_f32_f64(vtrn1q_f64(u1, u3)));
        vst1q_f32(panel + (kk + 2) * P + g, vreinterpretq_f32_f64(vtrn2q_f64(u0, u2)));
        vst1q_f32(panel + (kk + 3) * P + g, vreinterpretq_f32_f64(vtrn2q_f64(u1, u3)));
      }
      for (; kk < kc; kk++) {
        float* d = panel + kk * P + g;
        for (uint64_t i = 0; i < 4; i++) d[i] = i < valid ? elem(src, f16, rbase + i * ld + kk) : 0.0f;
      }
    }
  }
}
#endif

static void pack_block(level_t l, float* dst, uint64_t P, uint64_t ps, const void* src, int f16,
                       uint64_t off, uint64_t ld, uint64_t sk, uint64_t rows, uint64_t kc) {
#if defined(__x86_64__)
  if (l.simd >= L_AVX2 && l.f16c) {
    pack_block_avx(dst, P, ps, src, f16, off, ld, sk, rows, kc);
    return;
  }
#elif defined(__aarch64__)
  if (l.simd == L_NEON) {
    pack_block_neon(dst, P, ps, src, f16, off, ld, sk, rows, kc);
    return;
  }
#endif
  (void)l;
  pack_block_scalar(dst, P, ps, src, f16, off, ld, sk, rows, kc);
}

/* ======================================================================================= */
/* GEMM micro-kernels: C[0..mr)[0..nr) (+)= ap[kc][MR] · bp[kc][NR]; `first` overwrites.     */
/* The packed panels are zero past mr / nr, so the kernels always compute the full tile.   */

typedef void (*ukr_fn)(uint64_t kc, const float* ap, const float* bp, float* c, uint64_t ldc,
                       uint64_t mr, uint64_t nr, int first);

#define MR_C 4
#define NR_C 16
static void ukr_c(uint64_t kc, const float* ap, const float* bp, float* c, uint64_t ldc,
                  uint64_t mr, uint64_t nr, int first) {
  float acc[MR_C][NR_C];
  for (int i = 0; i < MR_C; i++)
    for (int j = 0; j < NR_C; j++) acc[i][j] = 0.0f;
  for (uint64_t kk = 0; kk < kc; kk++) {
    const float* a = ap + kk * MR_C;
    const float* b = bp + kk * NR_C;
    for (int i = 0; i < MR_C; i++)
      for (int j = 0; j < NR_C; j++) acc[i][j] += a[i] * b[j];
  }
  for (uint64_t i = 0; i < mr; i++)
    for (uint64_t j = 0; j < nr; j++) c[i * ldc + j] = first ? acc[i][j] : c[i * ldc + j] + acc[i][j];
}

#if defined(__x86_64__)
#define MR_512 8
#define NR_512 32
static TARGET_512 void ukr512(uint64_t kc, const float* ap, const float* bp, float* c,
                              uint64_t ldc, uint64_t mr, uint64_t nr, int first) {
  __m512 acc[MR_512][2];
  for (int i = 0; i < MR_512; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (uint64_t kk = 0; kk < kc; kk++) {
    const __m512 b0 = _mm512_loadu_ps(bp + kk * NR_512), b1 = _mm512_loadu_ps(bp + kk * NR_512 + 16);
    const float* a = ap + kk * MR_512;
    for (int i = 0; i < MR_512; i++) {
      const __m512 av = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
  }
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
  for (uint64_t i = 0; i < mr; i++) {
    float* ci = c + i * ldc;
    __m512 v0 = acc[i][0], v1 = acc[i][1];
    if (!first) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
    }
    _mm512_mask_storeu_ps(ci, m0, v0);
    _mm512_mask_storeu_ps(ci + 16, m1, v1);
  }
}

#define MR_256 6
#define NR_256 16
static TARGET_AVX2 void ukr256(uint64_t kc, const float* ap, const float* bp, float* c,
                               uint64_t ldc, uint64_t mr, uint64_t nr, int first) {
  __m256 acc[MR_256][2];
  for (int i = 0; i < MR_256; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (uint64_t kk = 0; kk < kc; kk++) {
    const __m256 b0 = _mm256_loadu_ps(bp + kk * NR_256), b1 = _mm256_loadu_ps(bp + kk * NR_256 + 8);
    const float* a = ap + kk * MR_256;
    for (int i = 0; i < MR_256; i++) {
      const __m256 av = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
    }
  }
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)min_u64(nr, 8)), idx);
  const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr > 8 ? (int)(nr - 8) : 0), idx);
  for (uint64_t i = 0; i < mr; i++) {
    float* ci = c + i * ldc;
    __m256 v0 = acc[i][0], v1 = acc[i][1];
    if (nr == NR_256) {
      if (!first) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(ci), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), v1);
      }
      _mm256_storeu_ps(ci, v0);
      _mm256_storeu_ps(ci + 8, v1);
    } else {
      if (!first) {
        v0 = _mm256_add_ps(_mm256_maskload_ps(ci, m0), v0);
        v1 = _mm256_add_ps(_mm256_maskload_ps(ci + 8, m1), v1);
      }
      _mm256_maskstore_ps(ci, m0, v0);
      _mm256_maskstore_ps(ci + 8, m1, v1);
    }
  }
}
#endif

#if defined(__aarch64__)
#define MR_NEON 8
#define NR_NEON 12
static void ukr_neon(uint64_t kc, const float* ap, const float* bp, float* c, uint64_t ldc,
                     uint64_t mr, uint64_t nr, int first) {
  float32x4_t acc[MR_NEON][3];
  for (int i = 0; i < MR_NEON; i++) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0.0f);
  for (uint64_t kk = 0; kk < kc; kk++) {
    const float* b = bp + kk * NR_NEON;
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    const float32x4_t a0 = vld1q_f32(ap + kk * MR_NEON), a1 = vld1q_f32(ap + kk * MR_NEON + 4);
#define BN_ROW(I, AV, L)                                  \
  acc[I][0] = vfmaq_laneq_f32(acc[I][0], b0, AV, L);      \
  acc[I][1] = vfmaq_laneq_f32(acc[I][1], b1, AV, L);      \
  acc[I][2] = vfmaq_laneq_f32(acc[I][2], b2, AV, L);
    BN_ROW(0, a0, 0) BN_ROW(1, a0, 1) BN_ROW(2, a0, 2) BN_ROW(3, a0, 3)
    BN_ROW(4, a1, 0) BN_ROW(5, a1, 1) BN_ROW(6, a1, 2) BN_ROW(7, a1, 3)
#undef BN_ROW
  }
  for (uint64_t i = 0; i < mr; i++) {
    float t[NR_NEON];
    vst1q_f32(t, acc[i][0]);
    vst1q_f32(t + 4, acc[i][1]);
    vst1q_f32(t + 8, acc[i][2]);
    float* ci = c + i * ldc;
    for (uint64_t j = 0; j < nr; j++) ci[j] = first ? t[j] : ci[j] + t[j];
  }
}
#endif

static void gemm_geometry(level_t l, uint32_t* mr, uint32_t* nr, ukr_fn* fn) {
#if defined(__x86_64__)
  if (l.simd == L_AVX512) {
    *mr = MR_512, *nr = NR_512, *fn = ukr512;
    return;
  }
  if (l.simd == L_AVX2) {
    *mr = MR_256, *nr = NR_256, *fn = ukr256;
    return;
  }
#elif defined(__aarch64__)
  if (l.simd == L_NEON) {
    *mr = MR_NEON, *nr = NR_NEON, *fn = ukr_neon;
    return;
  }
#endif
  (void)l;
  *mr = MR_C, *nr = NR_C, *fn = ukr_c;
}

/* ======================================================================================= */
/* The op                                                                                   */

typedef struct tm_ctx {
  const char* a;
  const char* b;
  float* c;
  uint64_t m, n, k, batch, a_bs, b_bs; /* batch strides in elements */
  uint32_t trans_a, trans_b;
  int f16;
  uint64_t esz; /* bytes per input element */
  level_t lv;
  /* gemm */
  uint32_t MR, NR;
  ukr_fn ukr;
  uint64_t mb, nc, blocks, panels;
  float* scratch;
  uint64_t scratch_floats; /* per thread */
  /* gemv: out_z[r] = Σ_kk v_z[kk] · M_z(r, kk), r < R */
  const char* v;
  const char* mat;
  uint64_t v_bs, m_bs, R;
  int rows_layout;        /* M[r][k] (else M[k][r]) */
  uint64_t rows_per_item; /* rows layout */
  uint64_t items_per_z;
  uint64_t cw, chunks, kslice, slices; /* cols layout */
  float* partial;
} tm_ctx_t;

static void gemm_task(void* vc, uint32_t it) {
  const tm_ctx_t* c = vc;
  const uint64_t per_z = c->blocks * c->panels;
  const uint64_t z = it / per_z, rem = it % per_z;
  const uint64_t blk = rem / c->panels, pan = rem % c->panels;
  const uint64_t i0 = blk * c->mb, mrows = min_u64(c->mb, c->m - i0);
  const uint64_t j0 = pan * c->nc, w = min_u64(c->nc, c->n - j0);
  const uint64_t MR = c->MR, NR = c->NR;
  float* ap = c->scratch + (uint64_t)bn_cpu_thread_index() * c->scratch_floats;
  float* bp = ap + A_SCRATCH;
  const char* A = c->a + z * c->a_bs * c->esz;
  const char* B = c->b + z * c->b_bs * c->esz;
  float* C = c->c + z * c->m * c->n;
  /* X(r, kk) = src[off + r·ld + kk·sk]: A rows are i, B rows are j. */
  const uint64_t a_ld = c->trans_a ? 1 : c->k, a_sk = c->trans_a ? c->m : 1;
  const uint64_t b_ld = c->trans_b ? c->k : 1, b_sk = c->trans_b ? 1 : c->n;
  for (uint64_t k0 = 0; k0 < c->k; k0 += KC) {
    const uint64_t kc = min_u64(KC, c->k - k0);
    const uint64_t aps = panel_stride(kc, MR), bps = panel_stride(kc, NR);
    pack_block(c->lv, bp, NR, bps, B, c->f16, j0 * b_ld + k0 * b_sk, b_ld, b_sk, w, kc);
    pack_block(c->lv, ap, MR, aps, A, c->f16, i0 * a_ld + k0 * a_sk, a_ld, a_sk, mrows, kc);
    /* A micro-panel (kc × MR) stays in L1 while the B panel streams from L2. */
    for (uint64_t q0 = 0; q0 < mrows; q0 += MR) {
      const float* app = ap + (q0 / MR) * aps;
      for (uint64_t p0 = 0; p0 < w; p0 += NR) {
        c->ukr(kc, app, bp + (p0 / NR) * bps, C + (i0 + q0) * c->n + j0 + p0, c->n,
               min_u64(MR, mrows - q0), min_u64(NR, w - p0), k0 == 0);
      }
    }
  }
}

/* ---- GEMV, rows layout: out[r] = Σ_kk v[kk] · M[r][kk] --------------------------------- */

static void dot_rows_c(const float* v, const char* M, int f16, uint64_t k, uint64_t r0,
                       uint64_t r1, float* out) {
  for (uint64_t r = r0; r < r1; r++) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const uint64_t base = r * k;
    uint64_t kk = 0;
    for (; kk + 8 <= k; kk += 8)
      for (int l = 0; l < 8; l++) s[l] += v[kk + l] * elem(M, f16, base + kk + l);
    for (int l = 0; kk < k; kk++, l++) s[l] += v[kk] * elem(M, f16, base + kk);
    out[r] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  }
}

#if defined(__x86_64__)
static ALWAYS_INLINE TARGET_512 __m512 load16_512(const char* M, int f16, uint64_t i) {
  if (f16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)((const uint16_t*)M + i)));
  return _mm512_loadu_ps((const float*)M + i);
}
static ALWAYS_INLINE TARGET_512 __m512 load16_512_mask(const char* M, int f16, uint64_t i, __mmask16 mk) {
  if (f16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, (const uint16_t*)M + i));
  return _mm512_maskz_loadu_ps(mk, (const float*)M + i);
}

/* 4 rows at a time, 2 accumulators each over 32-wide steps; masked k tail. */
static TARGET_512 void dot_rows512(const float* v, const char* M, int f16, uint64_t k, uint64_t r0,
                                   uint64_t r1, float* out) {
  uint64_t r = r0;
  for (; r < r1; r += 4) {
    const uint64_t nr = min_u64(4, r1 - r);
    uint64_t base[4];
    for (uint64_t t = 0; t < 4; t++) base[t] = (r + (t < nr ? t : 0)) * k;
    __m512 acc[4][2];
    for (int t = 0; t < 4; t++) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    uint64_t kk = 0;
    for (; kk + 32 <= k; kk += 32) {
      const __m512 v0 = _mm512_loadu_ps(v + kk), v1 = _mm512_loadu_ps(v + kk + 16);
      for (int t = 0; t < 4; t++) {
        acc[t][0] = _mm512_fmadd_ps(v0, load16_512(M, f16, base[t] + kk), acc[t][0]);
        acc[t][1] = _mm512_fmadd_ps(v1, load16_512(M, f16, base[t] + kk + 16), acc[t][1]);
      }
    }
    for (; kk < k; kk += 16) {
      const __mmask16 mk = k - kk >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - kk)) - 1);
      const __m512 v0 = _mm512_maskz_loadu_ps(mk, v + kk);
      for (int t = 0; t < 4; t++) {
        acc[t][0] = _mm512_fmadd_ps(v0, load16_512_mask(M, f16, base[t] + kk, mk), acc[t][0]);
      }
    }
    for (uint64_t t = 0; t < nr; t++) out[r + t] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]));
  }
}

static ALWAYS_INLINE TARGET_AVX2 float hsum256(__m256 x) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* AVX2 (+F16C for f16 rows): 4 rows at a time, 8-wide; scalar k tail into lane sums. */
static TARGET_F16C void dot_rows256(const float* v, const char* M, int f16, uint64_t k, uint64_t r0,
                                    uint64_t r1, float* out) {
  for (uint64_t r = r0; r < r1; r += 4) {
    const uint64_t nr = min_u64(4, r1 - r);
    uint64_t base[4];
    for (uint64_t t = 0; t < 4; t++) base[t] = (r + (t < nr ? t : 0)) * k;
    __m256 acc[4][2];
    for (int t = 0; t < 4; t++) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    uint64_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
      const __m256 v0 = _mm256_loadu_ps(v + kk), v1 = _mm256_loadu_ps(v + kk + 8);
      for (int t = 0; t < 4; t++) {
        acc[t][0] = _mm256_fmadd_ps(v0, load8(M, f16, base[t] + kk), acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(v1, load8(M, f16, base[t] + kk + 8), acc[t][1]);
      }
    }
    for (uint64_t t = 0; t < nr; t++) {
      float s = hsum256(_mm256_add_ps(acc[t][0], acc[t][1]));
      for (uint64_t q = kk; q < k; q++) s = __builtin_fmaf(v[q], elem(M, f16, base[t] + q), s);
      out[r + t] = s;
    }
  }
}
#endif

#if defined(__aarch64__)
static void dot_rows_neon(const float* v, const char* M, int f16, uint64_t k, uint64_t r0,
                          uint64_t r1, float* out) {
  for (uint64_t r = r0; r < r1; r += 4) {
    const uint64_t nr = min_u64(4, r1 - r);
    uint64_t base[4];
    for (uint64_t t = 0; t < 4; t++) base[t] = (r + (t < nr ? t : 0)) * k;
    float32x4_t acc[4][2];
    for (int t = 0; t < 4; t++) acc[t][0] = acc[t][1] = vdupq_n_f32(0.0f);
    uint64_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
      const float32x4_t v0 = vld1q_f32(v + kk), v1 = vld1q_f32(v + kk + 4);
      for (int t = 0; t < 4; t++) {
        acc[t][0] = vfmaq_f32(acc[t][0], v0, load4_neon(M, f16, base[t] + kk));
        acc[t][1] = vfmaq_f32(acc[t][1], v1, load4_neon(M, f16, base[t] + kk + 4));
      }
    }
    for (uint64_t t = 0; t < nr; t++) {
      float s = vaddvq_f32(vaddq_f32(acc[t][0], acc[t][1]));
      for (uint64_t q = kk; q < k; q++) s = __builtin_fmaf(v[q], elem(M, f16, base[t] + q), s);
      out[r + t] = s;
    }
  }
}
#endif

/* The f32 vector of batch z: the operand itself, or its conversion into buf. */
static const float* gemv_vector(const tm_ctx_t* c, uint64_t z, float* buf) {
  const char* v = c->v + z * c->v_bs * c->esz;
  if (!c->f16) return (const float*)v;
  /* buf[r] = v[r], r < k: one contiguous run (a single panel of width k, depth 1). */
  pack_block(c->lv, buf, c->k, 0, v, 1, 0, 1, 0, c->k, 1);
  return buf;
}

static void gemv_rows_task(void* vc, uint32_t it) {
  const tm_ctx_t* c = vc;
  const uint64_t z = it / c->items_per_z, item = it % c->items_per_z;
  const uint64_t r0 = item * c->rows_per_item, r1 = min_u64(r0 + c->rows_per_item, c->R);
  float* buf = c->scratch ? c->scratch + (uint64_t)bn_cpu_thread_index() * c->scratch_floats : NULL;
  const float* v = gemv_vector(c, z, buf);
  const char* M = c->mat + z * c->m_bs * c->esz;
  float* out = c->c + z * c->R;
#if defined(__x86_64__)
  if (c->lv.simd == L_AVX512) {
    dot_rows512(v, M, c->f16, c->k, r0, r1, out);
    return;
  }
  if (c->lv.simd == L_AVX2 && (c->lv.f16c || !c->f16)) {
    dot_rows256(v, M, c->f16, c->k, r0, r1, out);
    return;
  }
#elif defined(__aarch64__)
  if (c->lv.simd == L_NEON) {
    dot_rows_neon(v, M, c->f16, c->k, r0, r1, out);
    return;
  }
#endif
  dot_rows_c(v, M, c->f16, c->k, r0, r1, out);
}

/* ---- GEMV, cols layout: dst[0..w) = Σ_{kk ∈ [k0, k1)} v[kk] · M[kk][j0 + ·] ------------- */

static void axpy_c(const char* v, const char* M, int f16, uint64_t R, uint64_t k0, uint64_t k1,
                   uint64_t j0, uint64_t w, float* dst) {
  memset(dst, 0, (size_t)w * sizeof(float));
  for (uint64_t kk = k0; kk < k1; kk++) {
    const float a = elem(v, f16, kk);
    const uint64_t base = kk * R + j0;
    for (uint64_t j = 0; j < w; j++) dst[j] = dst[j] + a * elem(M, f16, base + j);
  }
}

#if defined(__x86_64__)
static TARGET_512 void axpy512(const char* v, const char* M, int f16, uint64_t R, uint64_t k0,
                               uint64_t k1, uint64_t j0, uint64_t w, float* dst) {
  memset(dst, 0, (size_t)w * sizeof(float));
  for (uint64_t kk = k0; kk < k1; kk += 4) {
    const int u = k1 - kk >= 4 ? 4 : (int)(k1 - kk);
    uint64_t base[4];
    __m512 av[4];
    for (int t = 0; t < 4; t++) {
      base[t] = (kk + (t < u ? (uint64_t)t : 0)) * R + j0;
      av[t] = _mm512_set1_ps(t < u ? elem(v, f16, kk + t) : 0.0f);
    }
    for (uint64_t j = 0; j < w; j += 16) {
      const __mmask16 mk = w - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (w - j)) - 1);
      __m512 x = _mm512_maskz_loadu_ps(mk, dst + j);
      for (int t = 0; t < u; t++) x = _mm512_fmadd_ps(av[t], load16_512_mask(M, f16, base[t] + j, mk), x);
      _mm512_mask_storeu_ps(dst + j, mk, x);
    }
  }
}

static TARGET_F16C void axpy256(const char* v, const char* M, int f16, uint64_t R, uint64_t k0,
                                uint64_t k1, uint64_t j0, uint64_t w, float* dst) {
  memset(dst, 0, (size_t)w * sizeof(float));
  for (uint64_t kk = k0; kk < k1; kk += 4) {
    const int u = k1 - kk >= 4 ? 4 : (int)(k1 - kk);
    uint64_t base[4];
    float a[4];
    __m256 av[4];
    for (int t = 0; t < 4; t++) {
      base[t] = (kk + (t < u ? (uint64_t)t : 0)) * R + j0;
      a[t] = t < u ? elem(v, f16, kk + t) : 0.0f;
      av[t] = _mm256_set1_ps(a[t]);
    }
    uint64_t j = 0;
    for (; j + 8 <= w; j += 8) {
      __m256 x = _mm256_loadu_ps(dst + j);
      for (int t = 0; t < u; t++) x = _mm256_fmadd_ps(av[t], load8(M, f16, base[t] + j), x);
      _mm256_storeu_ps(dst + j, x);
    }
    for (; j < w; j++) {
      float x = dst[j];
      for (int t = 0; t < u; t++) x = __builtin_fmaf(a[t], elem(M, f16, base[t] + j), x);
      dst[j] = x;
    }
  }
}
#endif

#if defined(__aarch64__)
static void axpy_neon(const char* v, const char* M, int f16, uint64_t R, uint64_t k0, uint64_t k1,
                      uint64_t j0, uint64_t w, float* dst) {
  memset(dst, 0, (size_t)w * sizeof(float));
  for (uint64_t kk = k0; kk < k1; kk += 4) {
    const int u = k1 - kk >= 4 ? 4 : (int)(k1 - kk);
    uint64_t base[4];
    float a[4];
    for (int t = 0; t < 4; t++) {
      base[t] = (kk + (t < u ? (uint64_t)t : 0)) * R + j0;
      a[t] = t < u ? elem(v, f16, kk + t) : 0.0f;
    }
    uint64_t j = 0;
    for (; j + 4 <= w; j += 4) {
      float32x4_t x = vld1q_f32(dst + j);
      for (int t = 0; t < u; t++) x = vfmaq_n_f32(x, load4_neon(M, f16, base[t] + j), a[t]);
      vst1q_f32(dst + j, x);
    }
    for (; j < w; j++) {
      float x = dst[j];
      for (int t = 0; t < u; t++) x = __builtin_fmaf(a[t], elem(M, f16, base[t] + j), x);
      dst[j] = x;
    }
  }
}
#endif

static void gemv_cols_task(void* vc, uint32_t it) {
  const tm_ctx_t* c = vc;
  const uint64_t z = it / (c->slices * c->chunks), rem = it % (c->slices * c->chunks);
  const uint64_t s = rem / c->chunks, ch = rem % c->chunks;
  const uint64_t j0 = ch * c->cw, w = min_u64(c->cw, c->R - j0);
  const uint64_t k0 = s * c->kslice, k1 = min_u64(k0 + c->kslice, c->k);
  const char* v = c->v + z * c->v_bs * c->esz;
  const char* M = c->mat + z * c->m_bs * c->esz;
  float* dst = c->slices == 1 ? c->c + z * c->R + j0 : c->partial + (z * c->slices + s) * c->R + j0;
#if defined(__x86_64__)
  if (c->lv.simd == L_AVX512) {
    axpy512(v, M, c->f16, c->R, k0, k1, j0, w, dst);
    return;
  }
  if (c->lv.simd == L_AVX2 && (c->lv.f16c || !c->f16)) {
    axpy256(v, M, c->f16, c->R, k0, k1, j0, w, dst);
    return;
  }
#elif defined(__aarch64__)
  if (c->lv.simd == L_NEON) {
    axpy_neon(v, M, c->f16, c->R, k0, k1, j0, w, dst);
    return;
  }
#endif
  axpy_c(v, M, c->f16, c->R, k0, k1, j0, w, dst);
}

/* out_z[chunk] = Σ_s partial[z][s][chunk], in slice order. */
static void gemv_sum_task(void* vc, uint32_t it) {
  const tm_ctx_t* c = vc;
  const uint64_t z = it / c->chunks, ch = it % c->chunks;
  const uint64_t j0 = ch * c->cw, w = min_u64(c->cw, c->R - j0);
  float* d = c->c + z * c->R + j0;
  const float* p = c->partial + z * c->slices * c->R + j0;
  memcpy(d, p, (size_t)w * sizeof(float));
  for (uint64_t s = 1; s < c->slices; s++) {
    const float* q = p + s * c->R;
    for (uint64_t j = 0; j < w; j++) d[j] += q[j];
  }
}

static int32_t run_gemv(tm_ctx_t* c, uint64_t threads) {
  if (c->m == 1) { /* v = A (contiguous either way), M = B */
    c->v = c->a, c->v_bs = c->a_bs, c->mat = c->b, c->m_bs = c->b_bs;
    c->R = c->n, c->rows_layout = c->trans_b != 0;
  } else { /* n == 1: v = B, M = A */
    c->v = c->b, c->v_bs = c->b_bs, c->mat = c->a, c->m_bs = c->a_bs;
    c->R = c->m, c->rows_layout = c->trans_a == 0;
  }
  if (c->rows_layout) {
    /* ~128 KB of M per item, at least 4 items per thread when R × batch allows. */
    uint64_t rows = max_u64(1, 131072 / (c->k * c->esz));
    const uint64_t want = ceil_div(4 * threads, c->batch);
    rows = min_u64(rows, ceil_div(c->R, want));
    rows = round_up_u64(max_u64(rows, 1), 4);
    c->rows_per_item = rows;
    c->items_per_z = ceil_div(c->R, rows);
    if (c->f16) {
      c->scratch_floats = c->k;
      c->scratch = malloc((size_t)(c->k * threads) * sizeof(float));
      if (!c->scratch) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[matmul] no memory for the f16 vector");
    }
    const uint64_t items = c->items_per_z * c->batch;
    if (items > UINT32_MAX) {
      free(c->scratch);
      return bn_fail(BN_ERR_SIZE, "[matmul] too many work items");
    }
    bn_parallel_for((uint32_t)items, gemv_rows_task, c);
    free(c->scratch);
    return BN_OK;
  }
  /* Column chunks of 2048 (the output chunk stays in L1); k slices when there are fewer
   * than 64 items, each slice at least 64 rows of M. (64, not a multiple of the thread
   * count: the slices set the summation order, which must not depend on the machine.) */
  c->cw = min_u64(2048, c->R);
  c->chunks = ceil_div(c->R, c->cw);
  uint64_t slices = 1;
  const uint64_t items = c->chunks * c->batch;
  if (items < 64) {
    slices = ceil_div(64, items);
    slices = min_u64(slices, ceil_div(c->k, 64));
    if (slices == 0) slices = 1;
  }
  c->kslice = ceil_div(c->k, slices);
  c->slices = ceil_div(c->k, c->kslice);
  if (c->slices > 1) {
    c->partial = malloc((size_t)(c->batch * c->slices * c->R) * sizeof(float));
    if (!c->partial) c->slices = 1, c->kslice = c->k; /* no memory: one slice, fewer items */
  }
  const uint64_t all = c->batch * c->slices * c->chunks;
  if (all > UINT32_MAX) {
    free(c->partial);
    return bn_fail(BN_ERR_SIZE, "[matmul] too many work items");
  }
  bn_parallel_for((uint32_t)all, gemv_cols_task, c);
  if (c->slices > 1) {
    bn_parallel_for((uint32_t)(c->batch * c->chunks), gemv_sum_task, c);
    free(c->partial);
  }
  return BN_OK;
}

static int32_t run_gemm(tm_ctx_t* c, uint64_t threads) {
  gemm_geometry(c->lv, &c->MR, &c->NR, &c->ukr);
  const uint64_t MR = c->MR, NR = c->NR;
  uint64_t mb = min_u64(round_up_u64(c->m, MR), MB_MAX / MR * MR);
  uint64_t nc = min_u64(round_up_u64(c->n, NR), NC_MAX / NR * NR);
  /* Smaller blocks until there are at least 4 items per thread (or blocks are minimal). */
  const uint64_t want = threads > 1 ? 4 * threads : 1;
  for (;;) {
    const uint64_t items = c->batch * ceil_div(c->m, mb) * ceil_div(c->n, nc);
    if (items >= want) break;
    if (nc > 2 * NR) nc = round_up_u64(nc / 2, NR);
    else if (mb > 2 * MR) mb = round_up_u64(mb / 2, MR);
    else break;
  }
  c->mb = mb, c->nc = nc;
  c->blocks = ceil_div(c->m, mb), c->panels = ceil_div(c->n, nc);
  const uint64_t items = c->batch * c->blocks * c->panels;
  if (items > UINT32_MAX) return bn_fail(BN_ERR_SIZE, "[matmul] too many work items");
  c->scratch_floats = A_SCRATCH + B_SCRATCH;
  c->scratch = malloc((size_t)(c->scratch_floats * threads) * sizeof(float));
  if (!c->scratch) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[matmul] no memory for packing");
  bn_parallel_for((uint32_t)items, gemm_task, c);
  free(c->scratch);
  return BN_OK;
}

int32_t bn_cpu_matmul(const bn_matmul_params_t* p, void* const* bufs) {
  tm_ctx_t c;
  memset(&c, 0, sizeof c);
  c.a = bufs[0], c.b = bufs[1], c.c = bufs[2];
  c.m = p->m, c.n = p->n, c.k = p->k, c.batch = p->batch;
  c.a_bs = p->batch > 1 ? p->a_batch_stride : 0;
  c.b_bs = p->batch > 1 ? p->b_batch_stride : 0;
  c.trans_a = (p->flags & BN_MATMUL_TRANS_A) != 0;
  c.trans_b = (p->flags & BN_MATMUL_TRANS_B) != 0;
  c.f16 = ((p->flags >> 8) & 0xff) == BN_DTYPE_F16;
  c.esz = c.f16 ? 2 : 4;
  c.lv = cpu_level();
  if (!c.m || !c.n || !c.k || !c.batch) return BN_OK; /* the validator refuses these */
  const uint64_t threads = bn_cpu_threads();
  if (c.m == 1 || c.n == 1) return run_gemv(&c, threads);
  return run_gemm(&c, threads);
}
