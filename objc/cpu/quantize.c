/*
 * quantize.c — CPU quantize_ternary, quantize_act_int8 and dequantize_ternary.
 *
 * Bit-exact rules (other backends must produce the same bytes):
 * - Ternary scale: the |W| are summed in double in fixed chunks of QT_CHUNK consecutive
 *   elements of the flattened n·k matrix. Inside a chunk element e goes to lane e mod 8
 *   (lane = offset from the chunk start), lanes combine as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)),
 *   chunk sums add in chunk order; scale = (float)(sum / (double)(n·k)). The result does
 *   not depend on the thread count or the SIMD level.
 * - q = clamp(roundEven(W / scale), -1, 1) with an f32 division is computed as
 *   (v > 0.5) - (v < -0.5) for v = W / scale: the same for every finite or infinite v, and
 *   NaN gives 0. scale 0 gives q = 0 everywhere (also for the W that would divide to ±inf).
 * - Activations: amax = max|x|, where a NaN wins (so a row with a NaN gets xq = 0 and a
 *   NaN scale; an Inf gives inv = 0 and an Inf scale); inv = 127.0f / amax;
 *   xq = clamp(roundEven(x · inv), -127, 127) with an f32 multiply (no FMA; the build uses
 *   -ffp-contract=off); a NaN product gives 0. Rounding is done on the clamped value by
 *   adding and subtracting 1.5·2^23, which is roundEven in the default rounding mode for
 *   |v| <= 127 and needs no SSE4.1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend.h"
#include "cpu/cpu_internal.h"

#define QT_CHUNK 65536u
#define ROUND_MAGIC 12582912.0f /* 1.5 · 2^23 */

#if defined(__x86_64__)
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl")))
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Rows per parallel item so that an item handles at least ~16K elements. */
static uint32_t rows_per_item(uint64_t n, uint64_t k) {
  uint64_t r = k >= 16384 ? 1 : 16384 / k;
  if (r > n) r = n;
  return (uint32_t)(r ? r : 1);
}

/* ---- quantize_ternary --------------------------------------------------------------- */

typedef struct {
  const float* w;
  uint64_t total;
  double* part;
} qsum_ctx_t;

static ALWAYS_INLINE double abs_sum_chunk(const float* w, uint64_t len) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t i = 0;
  for (; i + 8 <= len; i += 8) {
    for (int l = 0; l < 8; l++) a[l] += fabs((double)w[i + l]);
  }
  for (int l = 0; i < len; i++, l++) a[l] += fabs((double)w[i]);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

static double abs_sum_chunk_base(const float* w, uint64_t len) { return abs_sum_chunk(w, len); }
#if defined(__x86_64__)
TARGET_AVX2 static double abs_sum_chunk_avx2(const float* w, uint64_t len) {
  return abs_sum_chunk(w, len);
}
#endif

static void qsum_task(void* vc, uint32_t c) {
  const qsum_ctx_t* x = vc;
  uint64_t start = (uint64_t)c * QT_CHUNK;
  uint64_t len = x->total - start < QT_CHUNK ? x->total - start : QT_CHUNK;
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    x->part[c] = abs_sum_chunk_avx2(x->w + start, len);
    return;
  }
#endif
  x->part[c] = abs_sum_chunk_base(x->w + start, len);
}

typedef struct {
  const float* w;
  uint8_t* out;
  uint64_t n, k, row_bytes;
  float scale;
  uint32_t rpi; /* rows per item */
} qpack_ctx_t;

/* Packs one 128-weight block; w has 128 readable floats. */
static ALWAYS_INLINE void pack_block(const float* w, float scale, uint8_t* out) {
  for (int j = 0; j < 32; j++) {
    uint32_t b = 0;
    for (int p = 0; p < 4; p++) {
      float v = w[32 * p + j] / scale;
      uint32_t c = 1u + (uint32_t)(v > 0.5f) - (uint32_t)(v < -0.5f);
      b |= c << (2 * p);
    }
    out[j] = (uint8_t)b;
  }
}

static ALWAYS_INLINE void pack_rows(const qpack_ctx_t* x, uint64_t r0, uint64_t r1) {
  const uint64_t k = x->k, full = k / 128, rb = x->row_bytes;
  for (uint64_t r = r0; r < r1; r++) {
    const float* w = x->w + r * k;
    uint8_t* o = x->out + r * rb;
    if (x->scale == 0.0f) {
      memset(o, 0x55, (size_t)rb); /* every code 01 */
      continue;
    }
    for (uint64_t b = 0; b < full; b++) pack_block(w + 128 * b, x->scale, o + 32 * b);
    if (k % 128) {
      float tail[128] = {0}; /* 0 / scale packs as code 01, like the padding must */
      memcpy(tail, w + 128 * full, (size_t)(k % 128) * sizeof(float));
      pack_block(tail, x->scale, o + 32 * full);
    }
  }
}

static void pack_rows_base(const qpack_ctx_t* x, uint64_t r0, uint64_t r1) { pack_rows(x, r0, r1); }
#if defined(__x86_64__)
TARGET_AVX512 static void pack_rows_avx512(const qpack_ctx_t* x, uint64_t r0, uint64_t r1) {
  pack_rows(x, r0, r1);
}
TARGET_AVX2 static void pack_rows_avx2(const qpack_ctx_t* x, uint64_t r0, uint64_t r1) {
  pack_rows(x, r0, r1);
}
#endif

static void qpack_task(void* vc, uint32_t it) {
  const qpack_ctx_t* x = vc;
  uint64_t r0 = (uint64_t)it * x->rpi, r1 = r0 + x->rpi < x->n ? r0 + x->rpi : x->n;
#if defined(__x86_64__)
  uint32_t isa = bn_cpu_isa();
  if (isa >= BN_ISA_AVX512) {
    pack_rows_avx512(x, r0, r1);
    return;
  }
  if (isa >= BN_ISA_AVX2) {
    pack_rows_avx2(x, r0, r1);
    return;
  }
#endif
  pack_rows_base(x, r0, r1);
}

int32_t bn_cpu_quantize_ternary(const bn_quantize_ternary_params_t* p, void* const* bufs) {
  const uint64_t n = p->n, k = p->k, total = n * k;
  if (total == 0) return BN_OK;
  uint64_t nchunks = (total + QT_CHUNK - 1) / QT_CHUNK;
  if (nchunks > UINT32_MAX) return bn_fail(BN_ERR_SIZE, "[quantize_ternary] matrix too large");
  double stack_part[64];
  double* part = nchunks <= 64 ? stack_part : malloc((size_t)nchunks * sizeof(double));
  if (!part) return bn_fail(BN_ERR_OUT_OF_MEMORY, "[quantize_ternary] no memory for partial sums");
  qsum_ctx_t sc = {.w = bufs[0], .total = total, .part = part};
  bn_parallel_for((uint32_t)nchunks, qsum_task, &sc);
  double sum = 0.0;
  for (uint64_t c = 0; c < nchunks; c++) sum += part[c];
  if (part != stack_part) free(part);
  float scale = (float)(sum / (double)total);

  qpack_ctx_t pc = {.w = bufs[0], .out = bufs[1], .n = n, .k = k,
                    .row_bytes = bn_kp(k) / 4, .scale = scale, .rpi = rows_per_item(n, k)};
  bn_parallel_for((uint32_t)((n + pc.rpi - 1) / pc.rpi), qpack_task, &pc);
  *(float*)bufs[2] = scale;
  return BN_OK;
}

/* ---- quantize_act_int8 -------------------------------------------------------------- */

typedef struct {
  const float* x;
  int8_t* xq;
  float* scale;
  uint64_t k, kp;
} qact_ctx_t;

static ALWAYS_INLINE void quant_act_row(const float* x, uint64_t k, int8_t* q, uint64_t kp,
                                        float* scale_out) {
  /* max where a NaN wins and stays (a > NaN is false), so a NaN in the row makes amax NaN.
   * Lanes make it vectorisable; the result does not depend on the order. */
  float m[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int l = 0; l < 8; l++) {
      float a = fabsf(x[i + l]);
      m[l] = (a > m[l] || a != a) ? a : m[l];
    }
  }
  for (; i < k; i++) {
    float a = fabsf(x[i]);
    m[0] = (a > m[0] || a != a) ? a : m[0];
  }
  float amax = m[0];
  for (int l = 1; l < 8; l++) amax = (m[l] > amax || m[l] != m[l]) ? m[l] : amax;
  if (amax == 0.0f) {
    memset(q, 0, (size_t)kp);
    *scale_out = 0.0f;
    return;
  }
  const float inv = 127.0f / amax;
  for (i = 0; i < k; i++) {
    float v = x[i] * inv;
    v = v > 127.0f ? 127.0f : v;
    v = v < -127.0f ? -127.0f : v;
    v = v == v ? v : 0.0f;
    v = (v + ROUND_MAGIC) - ROUND_MAGIC;
    q[i] = (int8_t)(int32_t)v;
  }
  memset(q + k, 0, (size_t)(kp - k));
  *scale_out = amax / 127.0f;
}

static void quant_act_row_base(const float* x, uint64_t k, int8_t* q, uint64_t kp, float* s) {
  quant_act_row(x, k, q, kp, s);
}
#if defined(__x86_64__)
TARGET_AVX512 static void quant_act_row_avx512(const float* x, uint64_t k, int8_t* q, uint64_t kp,
                                               float* s) {
  quant_act_row(x, k, q, kp, s);
}
TARGET_AVX2 static void quant_act_row_avx2(const float* x, uint64_t k, int8_t* q, uint64_t kp,
                                           float* s) {
  quant_act_row(x, k, q, kp, s);
}
#endif

static void qact_task(void* vc, uint32_t r) {
  const qact_ctx_t* c = vc;
  const float* x = c->x + (uint64_t)r * c->k;
  int8_t* q = c->xq + (uint64_t)r * c->kp;
#if defined(__x86_64__)
  uint32_t isa = bn_cpu_isa();
  if (isa >= BN_ISA_AVX512) {
    quant_act_row_avx512(x, c->k, q, c->kp, c->scale + r);
    return;
  }
  if (isa >= BN_ISA_AVX2) {
    quant_act_row_avx2(x, c->k, q, c->kp, c->scale + r);
    return;
  }
#endif
  quant_act_row_base(x, c->k, q, c->kp, c->scale + r);
}

int32_t bn_cpu_quantize_act_int8(const bn_quantize_act_params_t* p, void* const* bufs) {
  if (p->m == 0 || p->k == 0) return BN_OK;
  qact_ctx_t c = {.x = bufs[0], .xq = bufs[1], .scale = bufs[2], .k = p->k, .kp = bn_kp(p->k)};
  if ((uint64_t)p->m * p->k < 65536) { /* too small to be worth waking the pool */
    for (uint32_t r = 0; r < p->m; r++) qact_task(&c, r);
  } else {
    bn_parallel_for(p->m, qact_task, &c);
  }
  return BN_OK;
}

/* ---- dequantize_ternary ------------------------------------------------------------- */

typedef struct {
  const uint8_t* packed;
  float* w;
  uint64_t n, k, row_bytes;
  float scale;
  uint32_t rpi;
} deq_ctx_t;

static ALWAYS_INLINE void deq_rows(const deq_ctx_t* c, uint64_t r0, uint64_t r1) {
  const uint64_t k = c->k, full = k / 128;
  const float s = c->scale;
  for (uint64_t r = r0; r < r1; r++) {
    const uint8_t* b = c->packed + r * c->row_bytes;
    float* w = c->w + r * k;
    for (uint64_t blk = 0; blk < full; blk++, b += 32, w += 128) {
      for (int p = 0; p < 4; p++) {
        for (int j = 0; j < 32; j++) {
          w[32 * p + j] = (float)((int32_t)((b[j] >> (2 * p)) & 3) - 1) * s;
        }
      }
    }
    for (uint64_t t = 0; t < k % 128; t++) {
      w[t] = (float)((int32_t)((b[t & 31] >> (2 * (t >> 5))) & 3) - 1) * s;
    }
  }
}

static void deq_rows_base(const deq_ctx_t* c, uint64_t r0, uint64_t r1) { deq_rows(c, r0, r1); }
#if defined(__x86_64__)
TARGET_AVX2 static void deq_rows_avx2(const deq_ctx_t* c, uint64_t r0, uint64_t r1) {
  deq_rows(c, r0, r1);
}
#endif

static void deq_task(void* vc, uint32_t it) {
  const deq_ctx_t* c = vc;
  uint64_t r0 = (uint64_t)it * c->rpi, r1 = r0 + c->rpi < c->n ? r0 + c->rpi : c->n;
#if defined(__x86_64__)
  if (bn_cpu_isa() >= BN_ISA_AVX2) {
    deq_rows_avx2(c, r0, r1);
    return;
  }
#endif
  deq_rows_base(c, r0, r1);
}

int32_t bn_cpu_dequantize_ternary(const bn_dequantize_ternary_params_t* p, void* const* bufs) {
  if (p->n == 0 || p->k == 0) return BN_OK;
  deq_ctx_t c = {.packed = bufs[0], .w = bufs[2], .n = p->n, .k = p->k,
                 .row_bytes = bn_kp(p->k) / 4, .scale = *(const float*)bufs[1],
                 .rpi = rows_per_item(p->n, p->k)};
  bn_parallel_for((uint32_t)((c.n + c.rpi - 1) / c.rpi), deq_task, &c);
  return BN_OK;
}
