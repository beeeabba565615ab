/*
 * gpu_plan.c — which shaders a GPU op runs, over which grids (shared by Vulkan and Metal).
 *
 * The workgroup geometry comes from shaders/bn_plan.h, the header the shaders themselves
 * include, so a plan and the shader it dispatches cannot disagree. Every stage binds the op's
 * buffers at 0..n_buffers-1 and gets the op's params as push constants; scratch, when a plan
 * asks for it, is bound at BN_SCRATCH_BINDING.
 *
 * Shader choice:
 *   quantize_ternary   quantize_ternary_partial → quantize_ternary_scale → quantize_ternary_pack
 *   quantize_act_int8  quantize_act_int8 (one workgroup per row)
 *   bitlinear          m == 1: bitlinear_gemv; 2..8: bitlinear_gemv_m8; else bitlinear_gemm;
 *                      the _dot4 variant when caps has BN_CAP_INT_DOT; the GEMV shaders need
 *                      subgroup arithmetic, so without BN_CAP_SUBGROUP_ARITH every m takes
 *                      bitlinear_gemm (which uses none).
 *   dequantize_ternary dequantize_ternary
 *   matmul_f32         m == 1, b_trans: matmul_f32_gemv; m == 1, !b_trans: matmul_f32_gemv_kn →
 *                      matmul_f32_gemv_kn_reduce (split k); else matmul_f32 (tiled)
 *   read_probe         read_probe_partial → read_probe_reduce
 *   mps_matmul         BN_ERR_UNSUPPORTED (Metal runs it through MPS, outside these plans)
 *
 * Ops with no work (an empty grid) get a plan of zero stages, except quantize_ternary, whose
 * scale stage still writes scale = 0 for an empty tensor.
 */
#include <string.h>

#include "core/backend.h"
#include "../../shaders/bn_plan.h"

/* Shader indices are 32-bit: element offsets in units of at least 4 bytes. */
#define BN_GPU_MAX_BUFFER_BYTES (4ull << 32)

static uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static int32_t add_stage(bn_gpu_plan_t* plan, const char* name, uint64_t gx, uint64_t gy,
                         uint64_t gz) {
  if (plan->n_stages >= BN_MAX_STAGES) return bn_fail(BN_ERR_INTERNAL, "gpu plan: too many stages");
  if (gx > BN_GRID_MAX || gy > BN_GRID_MAX || gz > BN_GRID_MAX)
    return bn_fail(BN_ERR_UNSUPPORTED,
                   "gpu plan: %s needs a grid of %llu x %llu x %llu workgroups (max %u per dimension)",
                   name, (unsigned long long)gx, (unsigned long long)gy, (unsigned long long)gz,
                   (unsigned)BN_GRID_MAX);
  const bn_shader_blob_t* shader = bn_shader_find(name);
  if (!shader) return bn_fail(BN_ERR_INTERNAL, "gpu plan: shader '%s' is not embedded", name);
  bn_gpu_stage_t* st = &plan->stages[plan->n_stages++];
  st->shader = shader;
  st->groups[0] = (uint32_t)gx;
  st->groups[1] = (uint32_t)gy;
  st->groups[2] = (uint32_t)gz;
  return BN_OK;
}

/* A 1-D grid of `groups` workgroups, folded to 2-D as bn_plan.h describes. */
static int32_t add_stage_1d(bn_gpu_plan_t* plan, const char* name, uint64_t groups) {
  if (groups == 0) return BN_OK;
  uint64_t gx = groups < BN_GRID_MAX ? groups : BN_GRID_MAX;
  return add_stage(plan, name, gx, ceil_div(groups, gx), 1);
}

static int32_t plan_quantize_ternary(const bn_quantize_ternary_params_t* p, bn_gpu_plan_t* out) {
  uint64_t total = (uint64_t)p->n * p->k;
  if (total >= (1ull << 31))
    return bn_fail(BN_ERR_UNSUPPORTED, "quantize_ternary: n*k = %llu is too large for the GPU (max 2^31 - 1)",
                   (unsigned long long)total);
  uint64_t partials = ceil_div(total, BN_QT_CHUNK);
  int32_t st = add_stage_1d(out, "quantize_ternary_partial", partials);
  if (st == BN_OK) st = add_stage(out, "quantize_ternary_scale", 1, 1, 1);
  if (st == BN_OK) st = add_stage_1d(out, "quantize_ternary_pack", ceil_div((uint64_t)p->n * (bn_kp(p->k) / 16), BN_QT_WG));
  /* At least 16 bytes so that the scratch binding is always a valid buffer. */
  out->scratch_bytes = (partials < 2 ? 2 : partials) * BN_QT_SCRATCH_PER_GROUP;
  return st;
}

static int32_t plan_quantize_act(const bn_quantize_act_params_t* p, bn_gpu_plan_t* out) {
  return add_stage_1d(out, "quantize_act_int8", p->m);
}

static int32_t plan_bitlinear(const bn_bitlinear_params_t* p, uint32_t caps, bn_gpu_plan_t* out) {
  if (p->m == 0 || p->n == 0) return BN_OK;
  if (p->k > BN_MAX_K) return bn_fail(BN_ERR_UNSUPPORTED, "bitlinear: k = %u > 2^24", p->k);
  const bool dot = (caps & BN_CAP_INT_DOT) != 0;
  const bool subgroups = (caps & BN_CAP_SUBGROUP_ARITH) != 0;
  if (subgroups && p->m == 1)
    return add_stage_1d(out, dot ? "bitlinear_gemv_dot4" : "bitlinear_gemv", ceil_div(p->n, BN_BL_GEMV_ROWS));
  if (subgroups && p->m <= BN_BL_GEMV_MAX_M)
    return add_stage_1d(out, dot ? "bitlinear_gemv_m8_dot4" : "bitlinear_gemv_m8",
                        ceil_div(p->n, BN_BL_GEMV_ROWS));
  return add_stage(out, dot ? "bitlinear_gemm_dot4" : "bitlinear_gemm", ceil_div(p->n, BN_BL_GEMM_TILE),
                   ceil_div(p->m, BN_BL_GEMM_TILE), 1);
}

static int32_t plan_dequantize(const bn_dequantize_ternary_params_t* p, bn_gpu_plan_t* out) {
  return add_stage_1d(out, "dequantize_ternary", ceil_div((uint64_t)p->n * (bn_kp(p->k) / 16), BN_DQ_WG));
}

static int32_t plan_matmul(const bn_matmul_f32_params_t* p, bn_gpu_plan_t* out) {
  if (p->m == 0 || p->n == 0) return BN_OK;
  if (p->m == 1 && p->b_trans) return add_stage_1d(out, "matmul_f32_gemv", ceil_div(p->n, BN_MM_GEMV_ROWS));
  if (p->m == 1) {
    uint64_t slices = ceil_div(p->k, BN_MM_KN_KSLICE);
    int32_t st = BN_OK;
    if (slices > 0) st = add_stage(out, "matmul_f32_gemv_kn", ceil_div(p->n, BN_MM_KN_COLS), slices, 1);
    if (st == BN_OK) st = add_stage_1d(out, "matmul_f32_gemv_kn_reduce", ceil_div(p->n, BN_MM_KN_REDUCE_WG));
    uint64_t bytes = slices * p->n * 4;
    out->scratch_bytes = bytes < 16 ? 16 : bytes;
    return st;
  }
  return add_stage(out, "matmul_f32", ceil_div(p->n, BN_MM_TILE), ceil_div(p->m, BN_MM_TILE), 1);
}

static int32_t plan_read_probe(const bn_read_probe_params_t* p, bn_gpu_plan_t* out) {
  uint64_t partials = ceil_div(p->words, BN_RP_CHUNK_WORDS);
  int32_t st = add_stage_1d(out, "read_probe_partial", partials);
  if (st == BN_OK) st = add_stage(out, "read_probe_reduce", 1, 1, 1);
  out->scratch_bytes = (partials < 4 ? 4 : partials) * 4;
  return st;
}

int32_t bn_gpu_plan(const bn_cmd_t* cmd, uint32_t caps, bn_gpu_plan_t* out) {
  if (!cmd || !out) return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_gpu_plan: null argument");
  bn_gpu_plan_t plan;
  memset(&plan, 0, sizeof plan);
  for (uint32_t i = 0; i < cmd->n_buffers && i < 8; i++) {
    if (cmd->bytes[i] > BN_GPU_MAX_BUFFER_BYTES)
      return bn_fail(BN_ERR_UNSUPPORTED, "buffer %u of this op needs %llu bytes; GPU kernels index at most 16 GiB",
                     i, (unsigned long long)cmd->bytes[i]);
  }
  int32_t st;
  switch (cmd->op) {
    case BN_OP_QUANTIZE_TERNARY: {
      bn_quantize_ternary_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_quantize_ternary(&p, &plan);
      break;
    }
    case BN_OP_QUANTIZE_ACT_INT8: {
      bn_quantize_act_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_quantize_act(&p, &plan);
      break;
    }
    case BN_OP_BITLINEAR: {
      bn_bitlinear_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_bitlinear(&p, caps, &plan);
      break;
    }
    case BN_OP_DEQUANTIZE_TERNARY: {
      bn_dequantize_ternary_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_dequantize(&p, &plan);
      break;
    }
    case BN_OP_MATMUL_F32: {
      bn_matmul_f32_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_matmul(&p, &plan);
      break;
    }
    case BN_OP_READ_PROBE: {
      bn_read_probe_params_t p;
      memcpy(&p, cmd->params, sizeof p);
      st = plan_read_probe(&p, &plan);
      break;
    }
    case BN_OP_MPS_MATMUL:
      return bn_fail(BN_ERR_UNSUPPORTED, "mps_matmul runs only on the Metal backend (MPS)");
    case BN_OP_MATMUL:
      st = bn_gpu_plan_matmul(cmd, caps, &plan);
      break;
    case BN_OP_BINARY:
    case BN_OP_UNARY:
      st = bn_gpu_plan_elementwise(cmd, caps, &plan);
      break;
    case BN_OP_REDUCE:
    case BN_OP_SOFTMAX:
    case BN_OP_RMSNORM:
    case BN_OP_ROPE:
    case BN_OP_RMSNORM_QUANT:
      st = bn_gpu_plan_rows(cmd, caps, &plan);
      break;
    default:
      return bn_fail(BN_ERR_INVALID_ARGUMENT, "bn_gpu_plan: unknown op %u", cmd->op);
  }
  if (st != BN_OK) return st;
  *out = plan;
  return BN_OK;
}
