/*
 * tensor_elementwise.c — BN_OP_BINARY / BN_OP_UNARY on the CPU.
 *
 * Semantics (the same on every backend; shaders/ew_common.glsl mirrors this file):
 * - f32 math throughout. f16 operands are converted exactly to f32, the result is rounded
 *   to f16 to nearest even (bn_f32_to_f16 is bit-for-bit src/dtype.ts's f32ToF16Bits).
 * - COPY, NEG, ABS are bit operations (copy, flip, clear the sign bit): exact, NaN payloads
 *   included, no f16 round trip.
 * - ADD, SUB, MUL, DIV: one IEEE operation. MAX/MIN propagate NaN (either operand) and
 *   otherwise give (a > b ? a : b) / (a < b ? a : b), so max(±0, ∓0) is b. POW follows C99
 *   Annex F (powf): pow(x, ±0) = 1, pow(1, y) = 1, pow(x < 0, non-integer) = NaN, …
 * - RELU = x > 0 ? x : +0 (NaN stays NaN); RELU2 = relu(x)²; SIGMOID = 1/(1 + e^−x) for
 *   x ≥ 0, e^x/(1 + e^x) below (no overflow); SILU = x · sigmoid(x); TANH and GELU's erf
 *   are the polynomials of shaders/ew_plan.h; RSQRT = 1/sqrtf(x); LOG/SQRT are libm's;
 *   EXP (and the exp inside TANH/SIGMOID/SILU) is ew_expf below, ~1.5 ulp and
 *   vectorisable (GPUs use their exp built-in).
 *
 * Layout: the operands' strides are simplified first (size-1 dims dropped, dims that are
 * contiguous for every operand merged), so a dense or broadcast operand becomes one long
 * inner run. Work is split into chunks of EW_CHUNK output elements over bn_parallel_for;
 * each chunk walks its inner runs with loops specialised for strides 1 and 0 (clang
 * vectorises them). COPY of a batched 2-D transpose (inner source stride != 1, next stride
 * 1) runs as a blocked transpose instead.
 */
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "core/backend.h"
#include "cpu/cpu_internal.h"
#include "../../shaders/ew_plan.h"

#define EW_CHUNK 32768u /* output elements per parallel item */
#define EW_BLOCK 256u   /* f16 elements converted per step (stack buffers) */
#define EW_TILE 128u    /* CPU transpose: rows per parallel item, columns per block */
#define EW_MICRO 8u     /* CPU transpose micro-tile */

/* ---- bits and f16 ---------------------------------------------------------------------- */

static inline uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static inline float bitsf(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline int is_nan(float x) { return (fbits(x) & 0x7fffffffu) > 0x7f800000u; }

/* IEEE binary16 bits → f32 (exact). */
static inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    float v = (float)m * 5.9604644775390625e-8f; /* m · 2^-24, exact */
    return bitsf(fbits(v) | sign);
  }
  if (e == 31) return bitsf(sign | 0x7f800000u | (m << 13));
  return bitsf(sign | ((e + 112u) << 23) | (m << 13));
}

/* f32 → binary16 bits, round to nearest even; exactly src/dtype.ts's f32ToF16Bits. */
static inline uint16_t f32_to_f16(float f) {
  uint32_t x = fbits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
  int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* may carry into the exponent */
  return (uint16_t)(sign | h);
}

/* ---- scalar math (ew_common.glsl has the same sequences) --------------------------------- */

static const float ERF_A[BN_ERF_A_N] = {BN_ERF_A};
static const float ERF_B[BN_ERF_B_N] = {BN_ERF_B};
static const float ERF_C[BN_ERF_C_N] = {BN_ERF_C};
static const float TANH_P[BN_TANH_N] = {BN_TANH};

static inline float horner(const float* c, int n, float t) {
  float p = c[0];
  for (int i = 1; i < n; i++) p = p * t + c[i];
  return p;
}

/* e^x within ~1.5 ulp (below libm's 0.5, far inside the 3 + 2|x| ulp every backend is held
 * to), branch-free so that clang vectorises the loops calling it: n = round(x·log2 e),
 * r = x − n·ln2 (Cody–Waite, exact n·ln2_hi), e^r = 1 + r + r²·P(r) (P: degree-4 minimax
 * fitted for this project on |r| <= ln2/2), times 2^n as 2^(n/2)·2^(n − n/2) so that
 * results near overflow and in the subnormal range are rounded once. */
static const float EXP_P[5] = {0.0013941407669335604f, 0.008363348431885242f,
                               0.04166637361049652f, 0.16666576266288757f, 0.5f};

static inline float ew_expf(float x) {
  float xc = x > 88.8f ? 88.8f : x < -104.0f ? -104.0f : x;
  xc = x == x ? xc : 0.0f; /* NaN: compute anything, return x below */
  const float nf = (xc * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = xc - nf * 0.693145751953125f;
  r = r - nf * 1.428606765330187e-06f;
  const float y = 1.0f + (r + (r * r) * horner(EXP_P, 5, r));
  const int32_t n = (int32_t)nf, s1 = n / 2, s2 = n - s1;
  const float res = y * bitsf((uint32_t)(s1 + 127) << 23) * bitsf((uint32_t)(s2 + 127) << 23);
  return x == x ? res : x;
}

/* Branch-free (all pieces evaluated, one selected): the same values as the branches of
 * ew_common.glsl. */
static inline float ew_erf(float x) {
  const float a = fabsf(x);
  const float ra = a + a * horner(ERF_A, BN_ERF_A_N, a * a);
  const float rb = 1.0f - horner(ERF_B, BN_ERF_B_N, a - BN_ERF_B_MID);
  const float rc = 1.0f - horner(ERF_C, BN_ERF_C_N, a - BN_ERF_C_MID);
  const float r = a < BN_ERF_AB ? ra : a < BN_ERF_BC ? rb : a < BN_ERF_ONE ? rc : 1.0f;
  return bitsf(fbits(r) | (fbits(x) & 0x80000000u));
}

static inline float ew_tanh(float x) {
  const float a = fabsf(x), s = a * a;
  const float small = a + a * (s * horner(TANH_P, BN_TANH_N, s));
  const float e = ew_expf(-2.0f * a);
  const float big = (1.0f - e) / (1.0f + e);
  const float r = a < BN_TANH_SMALL ? small : big;
  return bitsf(fbits(r) | (fbits(x) & 0x80000000u));
}

/* x >= 0: 1/(1 + e^−x); x < 0: e^x/(1 + e^x) — one exp of −|x| and one division, no
 * branch (the numerator is selected). */
static inline float ew_sigmoid(float x) {
  float e = ew_expf(-fabsf(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

static inline float ew_relu(float x) { return (x > 0.0f || is_nan(x)) ? x : 0.0f; }

static inline float ew_gelu(float x) {
  float e = ew_erf(x * BN_SQRT1_2);
  return (0.5f * x) * (1.0f + e);
}

/* ---- f32 inner loops ------------------------------------------------------------------- */

/* o[i] = EXPR(x = a[i·sa], y = b[i·sb]) with the strides 1/0 specialised. */
#define BIN_LOOPS(EXPR)                                                              \
  do {                                                                               \
    if (sa == 1 && sb == 1) {                                                        \
      for (uint64_t i = 0; i < n; i++) {                                             \
        float x = a[i], y = b[i];                                                    \
        o[i] = (EXPR);                                                               \
      }                                                                              \
    } else if (sa == 1 && sb == 0) {                                                 \
      const float y = b[0];                                                          \
      for (uint64_t i = 0; i < n; i++) {                                             \
        float x = a[i];                                                              \
        o[i] = (EXPR);                                                               \
      }                                                                              \
    } else if (sa == 0 && sb == 1) {                                                 \
      const float x = a[0];                                                          \
      for (uint64_t i = 0; i < n; i++) {                                             \
        float y = b[i];                                                              \
        o[i] = (EXPR);                                                               \
      }                                                                              \
    } else {                                                                         \
      for (uint64_t i = 0; i < n; i++) {                                             \
        float x = a[i * sa], y = b[i * sb];                                          \
        o[i] = (EXPR);                                                               \
      }                                                                              \
    }                                                                                \
  } while (0)

static inline __attribute__((always_inline)) void binary_f32_body(
    uint32_t op, uint64_t n, const float* restrict a, uint64_t sa, const float* restrict b,
    uint64_t sb, float* restrict o) {
  switch (op) {
    case BN_BINARY_ADD: BIN_LOOPS(x + y); break;
    case BN_BINARY_SUB: BIN_LOOPS(x - y); break;
    case BN_BINARY_MUL: BIN_LOOPS(x * y); break;
    case BN_BINARY_DIV: BIN_LOOPS(x / y); break;
    case BN_BINARY_MAX: BIN_LOOPS((x > y || x != x) ? x : y); break;
    case BN_BINARY_MIN: BIN_LOOPS((x < y || x != x) ? x : y); break;
    case BN_BINARY_POW: BIN_LOOPS(powf(x, y)); break;
    default: break;
  }
}

/* sqrt (recip: 1/sqrt) — the hardware's IEEE square root, 4 at a time where the baseline ISA
 * has one (sqrtf's errno keeps clang 14 from vectorising the libm call). */
static void sqrt_f32(uint64_t n, const float* restrict a, uint64_t sa, float* restrict o,
                     int recip) {
  uint64_t i = 0;
#if defined(__SSE2__)
  if (sa == 1) {
    const __m128 one = _mm_set1_ps(1.0f);
    for (; i + 4 <= n; i += 4) {
      __m128 r = _mm_sqrt_ps(_mm_loadu_ps(a + i));
      _mm_storeu_ps(o + i, recip ? _mm_div_ps(one, r) : r);
    }
  }
#elif defined(__aarch64__)
  if (sa == 1) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    for (; i + 4 <= n; i += 4) {
      float32x4_t r = vsqrtq_f32(vld1q_f32(a + i));
      vst1q_f32(o + i, recip ? vdivq_f32(one, r) : r);
    }
  }
#endif
  for (; i < n; i++) {
    float r = sqrtf(a[i * sa]);
    o[i] = recip ? 1.0f / r : r;
  }
}

/* o[i] = EXPR(x = a[i·sa]). */
#define UN_LOOPS(EXPR)                                                               \
  do {                                                                               \
    if (sa == 1) {                                                                   \
      for (uint64_t i = 0; i < n; i++) {                                             \
        float x = a[i];                                                              \
        o[i] = (EXPR);                                                               \
      }                                                                              \
    } else {                                                                         \
      for (uint64_t i = 0; i < n; i++) {                                             \
        float x = a[i * sa];                                                         \
        o[i] = (EXPR);                                                               \
      }                                                                              \
    }                                                                                \
  } while (0)

static inline __attribute__((always_inline)) void unary_f32_body(
    uint32_t op, uint64_t n, const float* restrict a, uint64_t sa, float* restrict o) {
  switch (op) {
    case BN_UNARY_EXP: UN_LOOPS(ew_expf(x)); break;
    case BN_UNARY_SIGMOID: UN_LOOPS(ew_sigmoid(x)); break;
    case BN_UNARY_SILU: UN_LOOPS(x * ew_sigmoid(x)); break;
    case BN_UNARY_TANH: UN_LOOPS(ew_tanh(x)); break;
    case BN_UNARY_GELU: UN_LOOPS(ew_gelu(x)); break;
    case BN_UNARY_LOG: UN_LOOPS(logf(x)); break;
    case BN_UNARY_SQRT: sqrt_f32(n, a, sa, o, 0); break;
    case BN_UNARY_RSQRT: sqrt_f32(n, a, sa, o, 1); break;
    case BN_UNARY_RELU: UN_LOOPS(ew_relu(x)); break;
    case BN_UNARY_RELU2: UN_LOOPS(ew_relu(x) * ew_relu(x)); break;
    default: break; /* COPY/NEG/ABS: bits32 / bits16 */
  }
}

/* The loops above, compiled for the baseline ISA and (x86-64) for AVX2: 8 lanes instead of
 * 4 for the math-heavy ops (the choice never changes a result: same operations, no FMA). */
static void binary_f32_base(uint32_t op, uint64_t n, const float* a, uint64_t sa,
                            const float* b, uint64_t sb, float* o) {
  binary_f32_body(op, n, a, sa, b, sb, o);
}

static void unary_f32_base(uint32_t op, uint64_t n, const float* a, uint64_t sa, float* o) {
  unary_f32_body(op, n, a, sa, o);
}

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2")))
static TARGET_AVX2 void binary_f32_avx2(uint32_t op, uint64_t n, const float* a, uint64_t sa,
                                        const float* b, uint64_t sb, float* o) {
  binary_f32_body(op, n, a, sa, b, sb, o);
}

static TARGET_AVX2 void unary_f32_avx2(uint32_t op, uint64_t n, const float* a, uint64_t sa,
                                       float* o) {
  unary_f32_body(op, n, a, sa, o);
}
#endif

static void binary_f32(uint32_t op, uint64_t n, const float* a, uint64_t sa, const float* b,
                       uint64_t sb, float* o) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    binary_f32_avx2(op, n, a, sa, b, sb, o);
    return;
  }
#endif
  binary_f32_base(op, n, a, sa, b, sb, o);
}

static void unary_f32(uint32_t op, uint64_t n, const float* a, uint64_t sa, float* o) {
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    unary_f32_avx2(op, n, a, sa, o);
    return;
  }
#endif
  unary_f32_base(op, n, a, sa, o);
}

/* COPY / NEG / ABS on 32-bit patterns. */
static void bits32(uint32_t op, uint64_t n, const uint32_t* restrict a, uint64_t sa,
                   uint32_t* restrict o) {
  const uint32_t xor_ = op == BN_UNARY_NEG ? 0x80000000u : 0u;
  const uint32_t and_ = op == BN_UNARY_ABS ? 0x7fffffffu : 0xffffffffu;
  if (sa == 1) {
    for (uint64_t i = 0; i < n; i++) o[i] = (a[i] & and_) ^ xor_;
  } else {
    for (uint64_t i = 0; i < n; i++) o[i] = (a[i * sa] & and_) ^ xor_;
  }
}

static void bits16(uint32_t op, uint64_t n, const uint16_t* restrict a, uint64_t sa,
                   uint16_t* restrict o) {
  const uint16_t xor_ = op == BN_UNARY_NEG ? 0x8000u : 0u;
  const uint16_t and_ = op == BN_UNARY_ABS ? 0x7fffu : 0xffffu;
  if (sa == 1) {
    for (uint64_t i = 0; i < n; i++) o[i] = (uint16_t)((a[i] & and_) ^ xor_);
  } else {
    for (uint64_t i = 0; i < n; i++) o[i] = (uint16_t)((a[i * sa] & and_) ^ xor_);
  }
}

static inline int is_bit_op(uint32_t op) {
  return op == BN_UNARY_COPY || op == BN_UNARY_NEG || op == BN_UNARY_ABS;
}

/* f16: convert a block to f32, run the f32 loop, round back. */
static void binary_f16(uint32_t op, uint64_t n, const uint16_t* a, uint64_t sa, const uint16_t* b,
                       uint64_t sb, uint16_t* o) {
  float fa[EW_BLOCK], fb[EW_BLOCK], fo[EW_BLOCK];
  for (uint64_t s = 0; s < n; s += EW_BLOCK) {
    uint64_t m = n - s < EW_BLOCK ? n - s : EW_BLOCK;
    const uint16_t* pa = a + s * sa;
    const uint16_t* pb = b + s * sb;
    for (uint64_t i = 0; i < m; i++) fa[i] = f16_to_f32(pa[i * sa]);
    for (uint64_t i = 0; i < m; i++) fb[i] = f16_to_f32(pb[i * sb]);
    binary_f32(op, m, fa, 1, fb, 1, fo);
    for (uint64_t i = 0; i < m; i++) o[s + i] = f32_to_f16(fo[i]);
  }
}

static void unary_f16(uint32_t op, uint64_t n, const uint16_t* a, uint64_t sa, uint16_t* o) {
  if (is_bit_op(op)) {
    bits16(op, n, a, sa, o);
    return;
  }
  float fa[EW_BLOCK], fo[EW_BLOCK];
  for (uint64_t s = 0; s < n; s += EW_BLOCK) {
    uint64_t m = n - s < EW_BLOCK ? n - s : EW_BLOCK;
    const uint16_t* pa = a + s * sa;
    for (uint64_t i = 0; i < m; i++) fa[i] = f16_to_f32(pa[i * sa]);
    unary_f32(op, m, fa, 1, fo);
    for (uint64_t i = 0; i < m; i++) o[s + i] = f32_to_f16(fo[i]);
  }
}

/* ---- layout ------------------------------------------------------------------------------ */

typedef struct ew_layout {
  uint32_t rank; /* >= 1 */
  uint32_t n_in; /* 1 or 2 operands */
  uint64_t shape[BN_MAX_RANK];
  uint64_t stride[2][BN_MAX_RANK];
  uint64_t off[2];
  uint64_t numel;
} ew_layout_t;

/* Drops size-1 dims and merges dims contiguous for every operand (innermost first). */
static void simplify(ew_layout_t* L, uint32_t rank, const uint32_t* shape,
                     const uint32_t* const* strides) {
  uint64_t sh[BN_MAX_RANK], st[2][BN_MAX_RANK];
  uint32_t r = 0; /* dims collected, innermost first */
  for (int d = (int)rank - 1; d >= 0; d--) {
    if (shape[d] == 1) continue;
    if (r > 0) {
      int merge = 1;
      for (uint32_t k = 0; k < L->n_in; k++) {
        if ((uint64_t)strides[k][d] != st[k][r - 1] * sh[r - 1]) merge = 0;
      }
      if (merge) {
        sh[r - 1] *= shape[d];
        continue;
      }
    }
    sh[r] = shape[d];
    for (uint32_t k = 0; k < L->n_in; k++) st[k][r] = strides[k][d];
    r++;
  }
  if (r == 0) { /* one element */
    sh[0] = 1;
    for (uint32_t k = 0; k < L->n_in; k++) st[k][0] = 0;
    r = 1;
  }
  L->rank = r;
  L->numel = 1;
  for (uint32_t i = 0; i < r; i++) { /* back to outermost first */
    L->shape[i] = sh[r - 1 - i];
    for (uint32_t k = 0; k < L->n_in; k++) L->stride[k][i] = st[k][r - 1 - i];
    L->numel *= sh[i];
  }
}

/* ---- parallel driver --------------------------------------------------------------------- */

typedef struct ew_job {
  ew_layout_t L;
  uint32_t binary; /* 1: BINARY, 0: UNARY */
  uint32_t op, dtype;
  const void* in[2];
  void* out;
} ew_job_t;

static void run_span(const ew_job_t* j, uint64_t n, uint64_t pos, const uint64_t* off) {
  const uint32_t r = j->L.rank - 1;
  const uint64_t sa = j->L.stride[0][r];
  if (j->dtype == BN_DTYPE_F32) {
    const float* a = (const float*)j->in[0] + off[0];
    float* o = (float*)j->out + pos;
    if (j->binary) {
      binary_f32(j->op, n, a, sa, (const float*)j->in[1] + off[1], j->L.stride[1][r], o);
    } else if (is_bit_op(j->op)) {
      bits32(j->op, n, (const uint32_t*)a, sa, (uint32_t*)o);
    } else {
      unary_f32(j->op, n, a, sa, o);
    }
  } else {
    const uint16_t* a = (const uint16_t*)j->in[0] + off[0];
    uint16_t* o = (uint16_t*)j->out + pos;
    if (j->binary) {
      binary_f16(j->op, n, a, sa, (const uint16_t*)j->in[1] + off[1], j->L.stride[1][r], o);
    } else {
      unary_f16(j->op, n, a, sa, o);
    }
  }
}

static void ew_item(void* ctx, uint32_t item) {
  const ew_job_t* j = ctx;
  const ew_layout_t* L = &j->L;
  uint64_t pos = (uint64_t)item * EW_CHUNK;
  uint64_t end = pos + EW_CHUNK < L->numel ? pos + EW_CHUNK : L->numel;
  uint64_t idx[BN_MAX_RANK];
  uint64_t rem = pos;
  for (int d = (int)L->rank - 1; d >= 0; d--) {
    idx[d] = rem % L->shape[d];
    rem /= L->shape[d];
  }
  const uint32_t in = L->rank - 1;
  while (pos < end) {
    uint64_t off[2] = {L->off[0], L->off[1]};
    for (uint32_t d = 0; d < L->rank; d++) {
      for (uint32_t k = 0; k < L->n_in; k++) off[k] += idx[d] * L->stride[k][d];
    }
    uint64_t run = L->shape[in] - idx[in];
    if (run > end - pos) run = end - pos;
    run_span(j, run, pos, off);
    pos += run;
    idx[in] += run;
    for (uint32_t d = in; d > 0 && idx[d] == L->shape[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

/* Blocked batched transpose for COPY: out[z][r][c] = a[base(z) + r + c·S]. */
typedef struct tr_job {
  const ew_layout_t* L;
  uint32_t esize; /* 4 or 2 */
  uint64_t R, C, S, row_tiles;
  const void* in;
  void* out;
} tr_job_t;

/* Row band [r0, r1) of one batch: EW_TILE x EW_TILE blocks, each moved as EW_MICRO x
 * EW_MICRO micro-tiles (few enough lines per cache set for power-of-two strides). */
#define TR_BAND(T)                                                                           \
  do {                                                                                       \
    const T* a = (const T*)j->in + base;                                                     \
    T* o = (T*)j->out + obase;                                                               \
    for (uint64_t C0 = 0; C0 < C; C0 += EW_TILE) {                                           \
      const uint64_t C1 = C0 + EW_TILE < C ? C0 + EW_TILE : C;                               \
      for (uint64_t rr = r0; rr < r1; rr += EW_MICRO) {                                      \
        const uint64_t re = rr + EW_MICRO < r1 ? rr + EW_MICRO : r1;                         \
        for (uint64_t cc = C0; cc < C1; cc += EW_MICRO) {                                    \
          const uint64_t ce = cc + EW_MICRO < C1 ? cc + EW_MICRO : C1;                       \
          if (re - rr == EW_MICRO && ce - cc == EW_MICRO) { /* constant trip counts */     \
            for (uint64_t r = 0; r < EW_MICRO; r++) {                                        \
              for (uint64_t c = 0; c < EW_MICRO; c++) {                                      \
                o[(rr + r) * C + cc + c] = a[rr + r + (cc + c) * S];                         \
              }                                                                              \
            }                                                                                \
            continue;                                                                        \
          }                                                                                  \
          for (uint64_t r = rr; r < re; r++) {                                               \
            for (uint64_t c = cc; c < ce; c++) o[r * C + c] = a[r + c * S];                  \
          }                                                                                  \
        }                                                                                    \
      }                                                                                      \
    }                                                                                        \
  } while (0)

static void tr_item(void* ctx, uint32_t item) {
  const tr_job_t* j = ctx;
  const ew_layout_t* L = j->L;
  uint64_t z = item / j->row_tiles, rt = item % j->row_tiles;
  uint64_t base = L->off[0], rem = z;
  for (int d = (int)L->rank - 3; d >= 0; d--) {
    base += (rem % L->shape[d]) * L->stride[0][d];
    rem /= L->shape[d];
  }
  const uint64_t R = j->R, C = j->C, S = j->S;
  const uint64_t r0 = rt * EW_TILE, r1 = r0 + EW_TILE < R ? r0 + EW_TILE : R;
  const uint64_t obase = z * R * C;
  if (j->esize == 4) {
    TR_BAND(uint32_t);
  } else {
    TR_BAND(uint16_t);
  }
}

static int32_t run_job(ew_job_t* j) {
  const ew_layout_t* L = &j->L;
  if (!j->binary && j->op == BN_UNARY_COPY && L->rank >= 2 && L->stride[0][L->rank - 1] != 1 &&
      L->stride[0][L->rank - 2] == 1) {
    tr_job_t t = {.L = L, .esize = j->dtype == BN_DTYPE_F32 ? 4u : 2u, .in = j->in[0],
                  .out = j->out};
    t.R = L->shape[L->rank - 2];
    t.C = L->shape[L->rank - 1];
    t.S = L->stride[0][L->rank - 1];
    t.row_tiles = (t.R + EW_TILE - 1) / EW_TILE;
    uint64_t items = L->numel / (t.R * t.C) * t.row_tiles;
    if (items <= UINT32_MAX) {
      bn_parallel_for((uint32_t)items, tr_item, &t);
      return BN_OK;
    }
  }
  uint64_t items = (L->numel + EW_CHUNK - 1) / EW_CHUNK; /* numel < 2^32: fits */
  bn_parallel_for((uint32_t)items, ew_item, j);
  return BN_OK;
}

int32_t bn_cpu_binary(const bn_binary_params_t* p, void* const* bufs) {
  ew_job_t j;
  memset(&j, 0, sizeof j);
  j.L.n_in = 2;
  simplify(&j.L, p->rank, p->shape, (const uint32_t* const[]){p->a_strides, p->b_strides});
  j.L.off[0] = p->a_offset;
  j.L.off[1] = p->b_offset;
  j.binary = 1;
  j.op = p->op;
  j.dtype = p->dtype;
  j.in[0] = bufs[0];
  j.in[1] = bufs[1];
  j.out = bufs[2];
  return run_job(&j);
}

int32_t bn_cpu_unary(const bn_unary_params_t* p, void* const* bufs) {
  ew_job_t j;
  memset(&j, 0, sizeof j);
  j.L.n_in = 1;
  simplify(&j.L, p->rank, p->shape, (const uint32_t* const[]){p->a_strides});
  j.L.off[0] = p->a_offset;
  j.op = p->op;
  j.dtype = p->dtype;
  j.in[0] = bufs[0];
  j.out = bufs[1];
  return run_job(&j);
}
