/* ops_tensor.c — size validators of the tensor ops (see the header for their contracts).
 * Every operand's byte extent is computed in 64 bits with overflow checks before any
 * kernel runs; strided operands are checked at their largest reachable element. */
#include <string.h>

#include "core/core.h"

static uint64_t elem_bytes(uint32_t dtype, uint64_t elems) {
  return dtype == BN_DTYPE_F16 ? bn_round_up(elems * 2, 4) : elems * 4;
}

static int32_t check_dtype(const char* op, uint32_t dtype) {
  if (dtype > BN_DTYPE_F16) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected dtype 0 (f32) or 1 (f16) but received %u",
                   op, dtype);
  }
  return BN_OK;
}

static int32_t check_reserved(const char* op, const uint32_t* r, int n) {
  for (int i = 0; i < n; i++) {
    if (r[i]) return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] reserved params must be 0", op);
  }
  return BN_OK;
}

/* rank, shape and numel of an elementwise op; entries past rank must be 0. */
static int32_t check_shape(const char* op, uint32_t rank, const uint32_t* shape, uint32_t numel) {
  if (rank < 1 || rank > BN_MAX_RANK) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected rank 1..%d but received %u", op,
                   BN_MAX_RANK, rank);
  }
  uint64_t n = 1;
  for (uint32_t i = 0; i < BN_MAX_RANK; i++) {
    if (i >= rank) {
      if (shape[i]) return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] shape[%u] past rank must be 0", op, i);
      continue;
    }
    if (shape[i] == 0) {
      return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected every dimension >= 1 but shape[%u] = 0",
                     op, i);
    }
    n *= shape[i];
    if (n > UINT32_MAX) {
      return bn_fail(BN_ERR_SIZE, "[%s] expected fewer than 2^32 elements", op);
    }
  }
  if (n != numel) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected numel = %llu (the product of shape) but received %u",
                   op, (unsigned long long)n, numel);
  }
  return BN_OK;
}

/* Bytes a strided operand must hold: element offset + Σ (shape[i] − 1)·stride[i] + 1. */
static int32_t strided_bytes(const char* op, const char* name, uint32_t dtype, uint32_t rank,
                             const uint32_t* shape, const uint32_t* strides, uint32_t offset,
                             uint64_t* out) {
  uint64_t last = offset;
  for (uint32_t i = 0; i < BN_MAX_RANK; i++) {
    if (i >= rank) {
      if (strides[i]) {
        return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] %s strides past rank must be 0", op, name);
      }
      continue;
    }
    last += (uint64_t)(shape[i] - 1) * strides[i]; /* < 2^32 · 2^32 each; ≤ 6 terms */
  }
  if (last >= (1ull << 60)) return bn_fail(BN_ERR_SIZE, "[%s] %s extent overflows", op, name);
  *out = elem_bytes(dtype, last + 1);
  return BN_OK;
}

int32_t bn_binary_bytes(const void* pv, uint64_t* out) {
  const bn_binary_params_t* p = pv;
  const char* op = "binary";
  int32_t st = check_dtype(op, p->dtype);
  if (st == BN_OK && p->op >= BN_BINARY_COUNT_) {
    st = bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] unknown binary op %u", op, p->op);
  }
  if (st == BN_OK) st = check_reserved(op, (uint32_t[]){p->reserved0, p->reserved1}, 2);
  if (st == BN_OK) st = check_shape(op, p->rank, p->shape, p->numel);
  if (st == BN_OK) st = strided_bytes(op, "a", p->dtype, p->rank, p->shape, p->a_strides, p->a_offset, &out[0]);
  if (st == BN_OK) st = strided_bytes(op, "b", p->dtype, p->rank, p->shape, p->b_strides, p->b_offset, &out[1]);
  if (st == BN_OK) out[2] = elem_bytes(p->dtype, p->numel);
  return st;
}

int32_t bn_unary_bytes(const void* pv, uint64_t* out) {
  const bn_unary_params_t* p = pv;
  const char* op = "unary";
  int32_t st = check_dtype(op, p->dtype);
  if (st == BN_OK && p->op >= BN_UNARY_COUNT_) {
    st = bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] unknown unary op %u", op, p->op);
  }
  if (st == BN_OK) st = check_reserved(op, (uint32_t[]){p->reserved0, p->reserved1, p->reserved2}, 3);
  if (st == BN_OK) st = check_shape(op, p->rank, p->shape, p->numel);
  if (st == BN_OK) st = strided_bytes(op, "a", p->dtype, p->rank, p->shape, p->a_strides, p->a_offset, &out[0]);
  if (st == BN_OK) out[1] = elem_bytes(p->dtype, p->numel);
  return st;
}

int32_t bn_matmul_bytes(const void* pv, uint64_t* out) {
  const bn_matmul_params_t* p = pv;
  const char* op = "matmul";
  if (!p->m || !p->n || !p->k || !p->batch) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected m, n, k, batch >= 1 but received %u, %u, %u, %u",
                   op, p->m, p->n, p->k, p->batch);
  }
  uint32_t dtype = (p->flags >> 8) & 0xff;
  if ((p->flags & ~0xff03u) != 0) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] unknown flags 0x%x", op, p->flags);
  }
  int32_t st = check_dtype(op, dtype);
  if (st == BN_OK) st = check_reserved(op, &p->reserved0, 1);
  if (st != BN_OK) return st;
  uint64_t mk = (uint64_t)p->m * p->k, nk = (uint64_t)p->n * p->k, mn = (uint64_t)p->m * p->n;
  uint64_t b1 = (uint64_t)p->batch - 1;
  if (p->a_batch_stride && p->a_batch_stride < mk && p->batch > 1) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] a_batch_stride %u is smaller than m·k = %llu", op,
                   p->a_batch_stride, (unsigned long long)mk);
  }
  if (p->b_batch_stride && p->b_batch_stride < nk && p->batch > 1) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] b_batch_stride %u is smaller than n·k = %llu", op,
                   p->b_batch_stride, (unsigned long long)nk);
  }
  uint64_t c;
  if (__builtin_mul_overflow(mn, (uint64_t)p->batch, &c) || c >= (1ull << 60)) {
    return bn_fail(BN_ERR_SIZE, "[%s] output size overflows", op);
  }
  out[0] = elem_bytes(dtype, b1 * p->a_batch_stride + mk); /* each term < 2^64 / 4 */
  out[1] = elem_bytes(dtype, b1 * p->b_batch_stride + nk);
  out[2] = c * 4;
  return BN_OK;
}

int32_t bn_reduce_bytes(const void* pv, uint64_t* out) {
  const bn_reduce_params_t* p = pv;
  const char* op = "reduce";
  int32_t st = check_dtype(op, p->dtype);
  if (st == BN_OK && p->op >= BN_REDUCE_COUNT_) {
    st = bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] unknown reduction %u", op, p->op);
  }
  if (st == BN_OK) st = check_reserved(op, (uint32_t[]){p->reserved0, p->reserved1}, 2);
  if (st != BN_OK) return st;
  if (!p->outer || !p->len || !p->inner) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected outer, len, inner >= 1 but received %u, %u, %u",
                   op, p->outer, p->len, p->inner);
  }
  if (p->op == BN_REDUCE_VAR ? p->ddof >= p->len : p->ddof != 0) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected ddof < len for var (0 otherwise) but received %u",
                   op, p->ddof);
  }
  uint64_t oi = (uint64_t)p->outer * p->inner, all = oi * p->len;
  if (all > UINT32_MAX) return bn_fail(BN_ERR_SIZE, "[%s] expected fewer than 2^32 elements", op);
  out[0] = elem_bytes(p->dtype, all);
  out[1] = oi * 4;
  return BN_OK;
}

static int32_t rows_cols(const char* op, uint32_t rows, uint32_t cols) {
  if (!rows || !cols) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected rows, cols >= 1 but received %u, %u", op,
                   rows, cols);
  }
  if ((uint64_t)rows * cols > UINT32_MAX) {
    return bn_fail(BN_ERR_SIZE, "[%s] expected fewer than 2^32 elements", op);
  }
  return BN_OK;
}

int32_t bn_softmax_bytes(const void* pv, uint64_t* out) {
  const bn_softmax_params_t* p = pv;
  int32_t st = check_dtype("softmax", p->dtype);
  if (st == BN_OK) st = rows_cols("softmax", p->rows, p->cols);
  if (st != BN_OK) return st;
  if (p->causal > 1 || (p->causal && p->cols < p->rows)) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT,
                   "[softmax] expected causal 0, or 1 with cols >= rows, but received causal %u with %u rows and %u cols",
                   p->causal, p->rows, p->cols);
  }
  out[0] = out[1] = elem_bytes(p->dtype, (uint64_t)p->rows * p->cols);
  return BN_OK;
}

static int32_t check_eps(const char* op, float eps) {
  if (!(eps >= 0.0f) || eps > 1.0f) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected 0 <= eps <= 1 but received %g", op, (double)eps);
  }
  return BN_OK;
}

int32_t bn_rmsnorm_bytes(const void* pv, uint64_t* out) {
  const bn_rmsnorm_params_t* p = pv;
  int32_t st = check_dtype("rmsnorm", p->dtype);
  if (st == BN_OK) st = rows_cols("rmsnorm", p->rows, p->cols);
  if (st == BN_OK) st = check_eps("rmsnorm", p->eps);
  if (st != BN_OK) return st;
  out[0] = out[2] = elem_bytes(p->dtype, (uint64_t)p->rows * p->cols);
  out[1] = (uint64_t)p->cols * 4;
  return BN_OK;
}

int32_t bn_rope_bytes(const void* pv, uint64_t* out) {
  const bn_rope_params_t* p = pv;
  const char* op = "rope";
  int32_t st = check_dtype(op, p->dtype);
  if (st == BN_OK) st = check_reserved(op, (uint32_t[]){p->reserved0, p->reserved1, p->reserved2}, 3);
  if (st != BN_OK) return st;
  if (!p->tokens || !p->heads || !p->head_dim || p->head_dim % 2) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT,
                   "[%s] expected tokens, heads >= 1 and an even head_dim >= 2 but received %u, %u, %u",
                   op, p->tokens, p->heads, p->head_dim);
  }
  if (!(p->theta > 1.0f) || p->theta != p->theta || p->theta > 3.0e38f) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected a finite theta > 1 but received %g", op,
                   (double)p->theta);
  }
  uint64_t n = (uint64_t)p->tokens * p->heads * p->head_dim;
  if (n > UINT32_MAX) return bn_fail(BN_ERR_SIZE, "[%s] expected fewer than 2^32 elements", op);
  out[0] = out[2] = elem_bytes(p->dtype, n);
  out[1] = (uint64_t)p->tokens * 4;
  return BN_OK;
}

int32_t bn_rmsnorm_quant_bytes(const void* pv, uint64_t* out) {
  const bn_rmsnorm_quant_params_t* p = pv;
  int32_t st = rows_cols("rmsnorm_quant", p->rows, p->cols);
  if (st == BN_OK) st = check_eps("rmsnorm_quant", p->eps);
  if (st == BN_OK) st = check_reserved("rmsnorm_quant", &p->reserved0, 1);
  if (st != BN_OK) return st;
  if (p->cols > BN_MAX_K) {
    return bn_fail(BN_ERR_SIZE, "[rmsnorm_quant] expected cols <= %u but received %u", BN_MAX_K, p->cols);
  }
  out[0] = (uint64_t)p->rows * p->cols * 4;
  out[1] = (uint64_t)p->cols * 4;
  out[2] = (uint64_t)p->rows * bn_kp(p->cols);
  out[3] = (uint64_t)p->rows * 4;
  return BN_OK;
}

/* ---- typical params, for backends that decide bn_device_supports_op by planning ------
 * Each set is valid for its op's validator and, together, they make the plans choose every
 * shader family the op has (f32 and f16, dense and strided, one-stage and multi-stage). */
static void put(void* out, const void* p, size_t n) {
  memset(out, 0, BN_MAX_PARAMS_BYTES);
  memcpy(out, p, n);
}

int bn_op_probe_params(uint32_t op, uint32_t index, void* out) {
  const uint32_t f16 = BN_DTYPE_F16;
  switch (op) {
    case BN_OP_QUANTIZE_TERNARY: {
      static const bn_quantize_ternary_params_t v[] = {{64, 256, 0, 0}, {1024, 4096, 0, 0}};
      if (index >= 2) return 0;
      put(out, &v[index], sizeof v[0]);
      return 1;
    }
    case BN_OP_QUANTIZE_ACT_INT8: {
      static const bn_quantize_act_params_t v[] = {{1, 256, 0, 0}, {64, 4096, 0, 0}};
      if (index >= 2) return 0;
      put(out, &v[index], sizeof v[0]);
      return 1;
    }
    case BN_OP_BITLINEAR: {
      static const bn_bitlinear_params_t v[] = {{1, 64, 256, 0}, {1, 64, 256, 1}, {4, 64, 256, 0},
                                                {4, 64, 256, 1}, {64, 256, 512, 0}, {64, 256, 512, 1}};
      if (index >= 6) return 0;
      put(out, &v[index], sizeof v[0]);
      return 1;
    }
    case BN_OP_DEQUANTIZE_TERNARY: {
      static const bn_dequantize_ternary_params_t v = {64, 256, 0, 0};
      if (index >= 1) return 0;
      put(out, &v, sizeof v);
      return 1;
    }
    case BN_OP_MATMUL_F32: {
      static const bn_matmul_f32_params_t v[] = {{1, 64, 256, 1}, {1, 64, 256, 0}, {64, 64, 256, 0},
                                                 {64, 64, 256, 1}};
      if (index >= 4) return 0;
      put(out, &v[index], sizeof v[0]);
      return 1;
    }
    case BN_OP_READ_PROBE: {
      static const bn_read_probe_params_t v = {1u << 20, 0, 0, 0};
      if (index >= 1) return 0;
      put(out, &v, sizeof v);
      return 1;
    }
    case BN_OP_MATMUL: {
      /* small tiles, split-k, 128-tiles, GEMV in both layouts; f32 and f16 */
      static const uint32_t shapes[][5] = {
          {64, 64, 64, 1, 0}, {64, 64, 8192, 1, 0}, {2048, 1024, 64, 1, 0}, {1, 64, 64, 1, 0},
          {1, 64, 64, 1, BN_MATMUL_TRANS_B}};
      if (index >= 10) return 0;
      const uint32_t* s = shapes[index % 5];
      bn_matmul_params_t p = {s[0], s[1], s[2], s[3], s[4] | (index >= 5 ? f16 << 8 : 0), 0, 0, 0};
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_BINARY: {
      if (index >= 4) return 0;
      bn_binary_params_t p;
      memset(&p, 0, sizeof p);
      p.op = BN_BINARY_ADD;
      p.dtype = index & 1 ? f16 : BN_DTYPE_F32;
      if (index < 2) { /* dense */
        p.rank = 1, p.numel = 64, p.shape[0] = 64, p.a_strides[0] = 1, p.b_strides[0] = 1;
      } else { /* strided: b broadcast along rows */
        p.rank = 2, p.numel = 64 * 8, p.shape[0] = 8, p.shape[1] = 64;
        p.a_strides[0] = 64, p.a_strides[1] = 1, p.b_strides[1] = 1;
      }
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_UNARY: {
      if (index >= 6) return 0;
      bn_unary_params_t p;
      memset(&p, 0, sizeof p);
      p.dtype = index & 1 ? f16 : BN_DTYPE_F32;
      if (index < 2) { /* dense exp */
        p.op = BN_UNARY_EXP, p.rank = 1, p.numel = 64, p.shape[0] = 64, p.a_strides[0] = 1;
      } else if (index < 4) { /* 2-D transpose copy of a 64×64 matrix */
        p.op = BN_UNARY_COPY, p.rank = 2, p.numel = 64 * 64, p.shape[0] = 64, p.shape[1] = 64;
        p.a_strides[0] = 1, p.a_strides[1] = 64;
      } else { /* generic strided gather */
        p.op = BN_UNARY_COPY, p.rank = 3, p.numel = 2 * 3 * 5, p.shape[0] = 2, p.shape[1] = 3;
        p.shape[2] = 5, p.a_strides[0] = 1, p.a_strides[1] = 10, p.a_strides[2] = 2;
      }
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_REDUCE: {
      /* {op, outer, len, inner} over f32 and f16: short rows, long rows (multi-stage),
       * columns, argmax, variance */
      static const uint32_t v[][4] = {{BN_REDUCE_SUM, 4, 64, 1},     {BN_REDUCE_SUM, 1, 1u << 22, 1},
                                      {BN_REDUCE_MAX, 4, 64, 32},    {BN_REDUCE_ARGMAX, 4, 64, 1},
                                      {BN_REDUCE_VAR, 4, 64, 1},     {BN_REDUCE_VAR, 1, 1u << 22, 1}};
      if (index >= 12) return 0;
      const uint32_t* s = v[index % 6];
      bn_reduce_params_t p = {s[0], index >= 6 ? f16 : BN_DTYPE_F32, s[1], s[2], s[3], 0, 0, 0};
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_SOFTMAX: {
      if (index >= 4) return 0;
      bn_softmax_params_t p = {4, 64, index & 1, index >= 2 ? f16 : BN_DTYPE_F32};
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_RMSNORM: {
      if (index >= 2) return 0;
      bn_rmsnorm_params_t p = {4, 64, index ? f16 : BN_DTYPE_F32, 1e-6f};
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_ROPE: {
      if (index >= 2) return 0;
      bn_rope_params_t p = {2, 2, 64, index ? f16 : BN_DTYPE_F32, 10000.0f, 0, 0, 0};
      put(out, &p, sizeof p);
      return 1;
    }
    case BN_OP_RMSNORM_QUANT: {
      if (index >= 1) return 0;
      bn_rmsnorm_quant_params_t p = {4, 64, 1e-6f, 0};
      put(out, &p, sizeof p);
      return 1;
    }
    default:
      return 0;
  }
}
