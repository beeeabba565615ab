/* ops.c — the op table: names, params sizes, and the size validators that run before
 * anything touches memory. */
#include <string.h>

#include "core/core.h"

static int32_t need_dims(const char* op, const char* names, const uint32_t* d, int count) {
  for (int i = 0; i < count; i++) {
    if (d[i] == 0) {
      return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected %s all >= 1 but received %s = 0",
                     op, names, (const char*[]){"m", "n", "k"}[i]);
    }
  }
  return BN_OK;
}

static int32_t need_zero(const char* op, uint32_t a, uint32_t b) {
  if (a || b) return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] reserved params must be 0", op);
  return BN_OK;
}

/* a·b·c in 64 bits, or BN_ERR_SIZE when the product does not fit (dims are u32, so two
 * factors always fit; the element size can push it over). */
static int32_t mul3(const char* op, uint64_t a, uint64_t b, uint64_t c, uint64_t* out) {
  uint64_t ab;
  if (__builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, out)) {
    return bn_fail(BN_ERR_SIZE, "[%s] expected a buffer size below 2^64 bytes but %llu x %llu x %llu overflows",
                   op, (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
  }
  return BN_OK;
}

static int32_t quantize_ternary_bytes(const void* pv, uint64_t* out) {
  const bn_quantize_ternary_params_t* p = pv;
  int32_t st = need_dims("quantize_ternary", "n, k", (uint32_t[]){1, p->n, p->k}, 3);
  if (st == BN_OK) st = need_zero("quantize_ternary", p->reserved0, p->reserved1);
  if (st != BN_OK) return st;
  if ((st = mul3("quantize_ternary", p->n, p->k, 4, &out[0])) != BN_OK) return st;
  out[1] = (uint64_t)p->n * bn_kp(p->k) / 4;
  out[2] = 4;
  return BN_OK;
}

static int32_t quantize_act_bytes(const void* pv, uint64_t* out) {
  const bn_quantize_act_params_t* p = pv;
  int32_t st = need_dims("quantize_act_int8", "m, k", (uint32_t[]){p->m, 1, p->k}, 3);
  if (st == BN_OK) st = need_zero("quantize_act_int8", p->reserved0, p->reserved1);
  if (st != BN_OK) return st;
  if ((st = mul3("quantize_act_int8", p->m, p->k, 4, &out[0])) != BN_OK) return st;
  out[1] = (uint64_t)p->m * bn_kp(p->k);
  out[2] = (uint64_t)p->m * 4;
  return BN_OK;
}

static int32_t bitlinear_bytes(const void* pv, uint64_t* out) {
  const bn_bitlinear_params_t* p = pv;
  int32_t st = need_dims("bitlinear", "m, n, k", (uint32_t[]){p->m, p->n, p->k}, 3);
  if (st != BN_OK) return st;
  if (p->k > BN_MAX_K) {
    return bn_fail(BN_ERR_SIZE, "[bitlinear] expected k <= %u (exact int32 sums) but received %u",
                   BN_MAX_K, p->k);
  }
  if (p->mode > BN_BITLINEAR_I32) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[bitlinear] expected mode 0 (f32) or 1 (i32) but received %u",
                   p->mode);
  }
  out[0] = (uint64_t)p->n * bn_kp(p->k) / 4;
  out[1] = 4;
  out[2] = (uint64_t)p->m * bn_kp(p->k);
  out[3] = (uint64_t)p->m * 4;
  if ((st = mul3("bitlinear", p->m, p->n, 4, &out[4])) != BN_OK) return st;
  return BN_OK;
}

static int32_t dequantize_bytes(const void* pv, uint64_t* out) {
  const bn_dequantize_ternary_params_t* p = pv;
  int32_t st = need_dims("dequantize_ternary", "n, k", (uint32_t[]){1, p->n, p->k}, 3);
  if (st == BN_OK) st = need_zero("dequantize_ternary", p->reserved0, p->reserved1);
  if (st != BN_OK) return st;
  out[0] = (uint64_t)p->n * bn_kp(p->k) / 4;
  out[1] = 4;
  if ((st = mul3("dequantize_ternary", p->n, p->k, 4, &out[2])) != BN_OK) return st;
  return BN_OK;
}

static int32_t matmul_f32_bytes(const void* pv, uint64_t* out) {
  const bn_matmul_f32_params_t* p = pv;
  int32_t st = need_dims("matmul_f32", "m, n, k", (uint32_t[]){p->m, p->n, p->k}, 3);
  if (st != BN_OK) return st;
  if (p->b_trans > 1) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[matmul_f32] expected b_trans 0 or 1 but received %u",
                   p->b_trans);
  }
  if ((st = mul3("matmul_f32", p->m, p->k, 4, &out[0])) != BN_OK) return st;
  if ((st = mul3("matmul_f32", p->n, p->k, 4, &out[1])) != BN_OK) return st;
  if ((st = mul3("matmul_f32", p->m, p->n, 4, &out[2])) != BN_OK) return st;
  return BN_OK;
}

static int32_t mps_matmul_bytes(const void* pv, uint64_t* out) {
  const bn_mps_matmul_params_t* p = pv;
  int32_t st = need_dims("mps_matmul", "m, n, k", (uint32_t[]){p->m, p->n, p->k}, 3);
  if (st != BN_OK) return st;
  uint32_t dtype = (p->flags >> 8) & 0xff;
  if ((p->flags & ~0xff01u) != 0 || dtype > BN_DTYPE_F16) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT,
                   "[mps_matmul] expected flags = b_trans | dtype << 8 (dtype 0 f32, 1 f16) but received 0x%x",
                   p->flags);
  }
  uint64_t e = dtype == BN_DTYPE_F16 ? 2 : 4;
  if ((st = mul3("mps_matmul", p->m, p->k, e, &out[0])) != BN_OK) return st;
  if ((st = mul3("mps_matmul", p->n, p->k, e, &out[1])) != BN_OK) return st;
  if ((st = mul3("mps_matmul", p->m, p->n, e, &out[2])) != BN_OK) return st;
  return BN_OK;
}

static int32_t read_probe_bytes(const void* pv, uint64_t* out) {
  const bn_read_probe_params_t* p = pv;
  if (p->words == 0) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[read_probe] expected words >= 1 but received 0");
  }
  if (p->reserved0 || p->reserved1 || p->reserved2) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[read_probe] reserved params must be 0");
  }
  out[0] = (uint64_t)p->words * 4; /* < 2^34 */
  out[1] = 4;
  return BN_OK;
}

static const bn_op_desc_t g_ops[BN_OP_COUNT_] = {
    [BN_OP_QUANTIZE_TERNARY] = {"quantize_ternary", sizeof(bn_quantize_ternary_params_t), 3,
                                quantize_ternary_bytes, 0x6},
    [BN_OP_QUANTIZE_ACT_INT8] = {"quantize_act_int8", sizeof(bn_quantize_act_params_t), 3,
                                 quantize_act_bytes, 0x6},
    [BN_OP_BITLINEAR] = {"bitlinear", sizeof(bn_bitlinear_params_t), 5, bitlinear_bytes, 0x10},
    [BN_OP_DEQUANTIZE_TERNARY] = {"dequantize_ternary", sizeof(bn_dequantize_ternary_params_t), 3,
                                  dequantize_bytes, 0x4},
    [BN_OP_MATMUL_F32] = {"matmul_f32", sizeof(bn_matmul_f32_params_t), 3, matmul_f32_bytes, 0x4},
    [BN_OP_MPS_MATMUL] = {"mps_matmul", sizeof(bn_mps_matmul_params_t), 3, mps_matmul_bytes, 0x4},
    [BN_OP_READ_PROBE] = {"read_probe", sizeof(bn_read_probe_params_t), 2, read_probe_bytes, 0x2},
    [BN_OP_MATMUL] = {"matmul", sizeof(bn_matmul_params_t), 3, bn_matmul_bytes, 0x4},
    [BN_OP_BINARY] = {"binary", sizeof(bn_binary_params_t), 3, bn_binary_bytes, 0x4},
    [BN_OP_UNARY] = {"unary", sizeof(bn_unary_params_t), 2, bn_unary_bytes, 0x2},
    [BN_OP_REDUCE] = {"reduce", sizeof(bn_reduce_params_t), 2, bn_reduce_bytes, 0x2},
    [BN_OP_SOFTMAX] = {"softmax", sizeof(bn_softmax_params_t), 2, bn_softmax_bytes, 0x2},
    [BN_OP_RMSNORM] = {"rmsnorm", sizeof(bn_rmsnorm_params_t), 3, bn_rmsnorm_bytes, 0x4},
    [BN_OP_ROPE] = {"rope", sizeof(bn_rope_params_t), 3, bn_rope_bytes, 0x4},
    [BN_OP_RMSNORM_QUANT] = {"rmsnorm_quant", sizeof(bn_rmsnorm_quant_params_t), 4,
                             bn_rmsnorm_quant_bytes, 0xc},
};

const bn_op_desc_t* bn_op_get(uint32_t op) {
  if (op == 0 || op >= BN_OP_COUNT_ || !g_ops[op].name) return NULL;
  return &g_ops[op];
}

BN_API const char* bn_op_name(uint32_t op) {
  const bn_op_desc_t* d = bn_op_get(op);
  return d ? d->name : NULL;
}

BN_API uint32_t bn_op_params_size(uint32_t op) {
  const bn_op_desc_t* d = bn_op_get(op);
  return d ? d->params_size : 0;
}

BN_API uint32_t bn_op_buffer_count(uint32_t op) {
  const bn_op_desc_t* d = bn_op_get(op);
  return d ? d->n_buffers : 0;
}

BN_API int32_t bn_op_buffer_bytes(uint32_t op, const void* params, uint32_t params_size,
                                  uint32_t index, uint64_t* out_bytes) {
  bn_clear_error();
  const bn_op_desc_t* d = bn_op_get(op);
  if (!d) return bn_fail(BN_ERR_INVALID_ARGUMENT, "unknown op %u", op);
  if (!params || params_size != d->params_size) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] expected %u bytes of params but received %u",
                   d->name, d->params_size, params_size);
  }
  if (index >= d->n_buffers || !out_bytes) {
    return bn_fail(BN_ERR_INVALID_ARGUMENT, "[%s] has %u buffers; index %u is out of range",
                   d->name, d->n_buffers, index);
  }
  uint64_t aligned[BN_MAX_PARAMS_BYTES / 8]; /* params copied to an aligned place */
  memcpy(aligned, params, d->params_size);
  uint64_t bytes[8];
  int32_t st = d->buffer_bytes(aligned, bytes);
  if (st == BN_OK) *out_bytes = bytes[index];
  return st;
}
