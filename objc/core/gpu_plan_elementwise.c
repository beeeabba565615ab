/*
 * gpu_plan_elementwise.c — GPU plans of BN_OP_BINARY and BN_OP_UNARY (shared by Vulkan and
 * Metal). Geometry from shaders/ew_plan.h, which the shaders include too.
 *
 * Shader choice (one stage each):
 *   binary  ew_binary_{f32,f16} when each operand is dense (row-major strides over its
 *           dims > 1) or a scalar broadcast (all strides 0): index = offset + e·{1|0};
 *           otherwise ew_binary_{f32,f16}_strided (index math over up to 6 dims).
 *   unary   COPY whose two innermost dims (R, C) read the source with strides (1, S ≠ 1),
 *           i.e. a batched 2-D transpose, with grid dims within 65535 (f16: C even) →
 *           ew_transpose_{f32,f16} (32×32 tiles in shared memory);
 *           else ew_unary_{f32,f16} / ew_unary_{f32,f16}_strided as for binary.
 * Grids of the elementwise kernels: ceil(words / BN_EW_CHUNK) groups folded to 2-D (a word
 * is one f32 or two f16 elements), so every size below 2^32 elements fits.
 * GPU indices are 32-bit element indices: operands whose extent exceeds 2^32 elements are
 * refused with BN_ERR_UNSUPPORTED (f32 is already capped at 16 GiB by gpu_plan.c).
 */
#include <string.h>

#include "core/backend.h"
#include "../../shaders/bn_plan.h"
#include "../../shaders/ew_plan.h"

_Static_assert(BN_EW_MAX_RANK == BN_MAX_RANK, "ew_plan.h rank");
_Static_assert(BN_EW_CHUNK == BN_EW_WG * BN_EW_PER_THREAD, "ew_plan.h chunk");
_Static_assert(BN_EW_ADD == BN_BINARY_ADD && BN_EW_SUB == BN_BINARY_SUB &&
                   BN_EW_MUL == BN_BINARY_MUL && BN_EW_DIV == BN_BINARY_DIV &&
                   BN_EW_MAX == BN_BINARY_MAX && BN_EW_MIN == BN_BINARY_MIN &&
                   BN_EW_POW == BN_BINARY_POW && BN_BINARY_COUNT_ == 7,
               "ew_plan.h binary op ids");
_Static_assert(BN_EW_COPY == BN_UNARY_COPY && BN_EW_NEG == BN_UNARY_NEG &&
                   BN_EW_ABS == BN_UNARY_ABS && BN_EW_EXP == BN_UNARY_EXP &&
                   BN_EW_LOG == BN_UNARY_LOG && BN_EW_SQRT == BN_UNARY_SQRT &&
                   BN_EW_RSQRT == BN_UNARY_RSQRT && BN_EW_TANH == BN_UNARY_TANH &&
                   BN_EW_SIGMOID == BN_UNARY_SIGMOID && BN_EW_RELU == BN_UNARY_RELU &&
                   BN_EW_RELU2 == BN_UNARY_RELU2 && BN_EW_SILU == BN_UNARY_SILU &&
                   BN_EW_GELU == BN_UNARY_GELU && BN_UNARY_COUNT_ == 13,
               "ew_plan.h unary op ids");


/* The elementwise grid: words / BN_EW_CHUNK groups, folded to 2-D. */
static int32_t ew_stage_words(bn_gpu_plan_t* plan, const char* name, uint64_t words) {
  uint64_t groups = (words + BN_EW_CHUNK - 1) / BN_EW_CHUNK;
  uint64_t gx = groups < BN_GRID_MAX ? groups : BN_GRID_MAX;
  if (gx == 0) return BN_OK;
  return bn_gpu_add_stage(plan, name, gx, (groups + gx - 1) / gx, 1);
}

/* 0: scalar broadcast (every stride of a dim > 1 is 0); 1: dense row-major over the dims
 * > 1; 2: anything else. */
static int operand_kind(uint32_t rank, const uint32_t* shape, const uint32_t* strides) {
  int zero = 1, dense = 1;
  uint64_t expect = 1;
  for (int d = (int)rank - 1; d >= 0; d--) {
    if (shape[d] == 1) continue;
    if (strides[d] != 0) zero = 0;
    if (strides[d] != expect) dense = 0;
    expect *= shape[d];
  }
  return zero ? 0 : dense ? 1 : 2;
}

/* Element extents of the operands must be below 2^32 (32-bit shader indices). */
static int32_t check_extent(const bn_cmd_t* cmd, uint32_t dtype, uint32_t n_in) {
  for (uint32_t i = 0; i < n_in; i++) {
    uint64_t elems = dtype == BN_DTYPE_F16 ? cmd->bytes[i] / 2 : cmd->bytes[i] / 4;
    if (elems > (1ull << 32)) {
      return bn_fail(BN_ERR_UNSUPPORTED,
                     "operand %u reaches element %llu; GPU kernels index below 2^32 elements", i,
                     (unsigned long long)elems - 1);
    }
  }
  return BN_OK;
}

static uint64_t words_of(uint32_t dtype, uint32_t numel) {
  return dtype == BN_DTYPE_F16 ? ((uint64_t)numel + 1) / 2 : numel;
}

static int32_t plan_binary(const bn_cmd_t* cmd, bn_gpu_plan_t* out) {
  bn_binary_params_t p;
  memcpy(&p, cmd->params, sizeof p);
  int32_t st = check_extent(cmd, p.dtype, 2);
  if (st != BN_OK) return st;
  bool fast = operand_kind(p.rank, p.shape, p.a_strides) <= 1 &&
              operand_kind(p.rank, p.shape, p.b_strides) <= 1;
  const bool f16 = p.dtype == BN_DTYPE_F16;
  const char* name = f16 ? (fast ? "ew_binary_f16" : "ew_binary_f16_strided")
                         : (fast ? "ew_binary_f32" : "ew_binary_f32_strided");
  return ew_stage_words(out, name, words_of(p.dtype, p.numel));
}

static int32_t plan_unary(const bn_cmd_t* cmd, bn_gpu_plan_t* out) {
  bn_unary_params_t p;
  memcpy(&p, cmd->params, sizeof p);
  int32_t st = check_extent(cmd, p.dtype, 1);
  if (st != BN_OK) return st;
  const bool f16 = p.dtype == BN_DTYPE_F16;
  if (p.op == BN_UNARY_COPY && p.rank >= 2) {
    uint32_t R = p.shape[p.rank - 2], C = p.shape[p.rank - 1];
    if (R > 1 && C > 1 && p.a_strides[p.rank - 2] == 1 && p.a_strides[p.rank - 1] != 1 &&
        (!f16 || C % 2 == 0)) {
      uint64_t gx = (C + BN_EW_TILE - 1) / BN_EW_TILE, gy = (R + BN_EW_TILE - 1) / BN_EW_TILE;
      uint64_t batch = p.numel / ((uint64_t)R * C);
      if (gx <= BN_GRID_MAX && gy <= BN_GRID_MAX && batch <= BN_GRID_MAX) {
        return bn_gpu_add_stage(out, f16 ? "ew_transpose_f16" : "ew_transpose_f32", gx, gy, batch);
      }
    }
  }
  bool fast = operand_kind(p.rank, p.shape, p.a_strides) <= 1;
  const char* name = f16 ? (fast ? "ew_unary_f16" : "ew_unary_f16_strided")
                         : (fast ? "ew_unary_f32" : "ew_unary_f32_strided");
  return ew_stage_words(out, name, words_of(p.dtype, p.numel));
}

int32_t bn_gpu_plan_elementwise(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out) {
  (void)caps;
  if (cmd->op == BN_OP_BINARY) return plan_binary(cmd, out);
  if (cmd->op == BN_OP_UNARY) return plan_unary(cmd, out);
  return bn_fail(BN_ERR_INTERNAL, "gpu plan: op %u is not elementwise", cmd->op);
}
